"""Outbox relay: SagaOutbox rows → EventBridge `PutEvents` → rows marked SENT.

Two ways in, one code path:
- `handle_stream(event)`: the Lambda on the outbox table's DynamoDB stream (production). It
  relays the INSERTed rows and returns `batchItemFailures` for the ones EventBridge refused,
  so Lambda retries exactly those records (configure `ReportBatchItemFailures`).
- `relay_once(backend)`: a poller over the sparse `Unsent` index (local runs, and in
  production a scheduled sweeper that picks up anything the stream path left behind).

Delivery is at-least-once: a row is marked SENT only after EventBridge accepted its entry, so
a crash between the two re-sends it (the deterministic CloudEvent id lets Azure's inbox drop
the copy). When PutEvents partially fails (`FailedEntryCount > 0`) only the refused entries
stay UNSENT; each failure counts towards RELAY_MAX_ATTEMPTS, after which the row is PARKED
(kept, reported, no longer retried) instead of looping forever.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from aws import dynamo
from aws.model import OutboxStatus, RelayReport
from aws.settings import Backend, default_backend
from aws.tables import UNSENT_INDEX

log = logging.getLogger("aws.payments.relay")

PUT_EVENTS_BATCH = 10  # PutEvents accepts at most 10 entries per call


def eventbridge_entry(row: dict[str, Any], bus: str) -> dict[str, Any]:
    """The PutEvents entry for one outbox row.

    `Detail` keeps what the inbound normaliser (`ordersaga.events.normalise`, EventBridge
    branch) reads back on Azure: `eventId` (the CloudEvent id — EventBridge assigns its own
    envelope id), `subject`, `data`, `traceparent`; plus `specversion`, `source`, `time` and
    `datacontenttype` so the CloudEvent can be rebuilt in full.
    """
    cloudevent = json.loads(row["event"])
    detail = {"eventId": cloudevent["id"]}
    detail |= {key: cloudevent[key] for key in ("specversion", "source", "subject", "time", "datacontenttype",
                                                "data", "traceparent") if key in cloudevent}
    entry: dict[str, Any] = {"EventBusName": bus, "Source": cloudevent["source"], "DetailType": cloudevent["type"],
                             "Detail": json.dumps(detail, separators=(",", ":")), "Resources": []}
    occurred = _parse_time(cloudevent.get("time"))
    if occurred is not None:
        entry["Time"] = occurred
    return entry


def relay_rows(backend: Backend, rows: Iterable[dict[str, Any]]) -> RelayReport:
    """PutEvents for `rows` in batches of ≤ 10; mark accepted ones SENT, count the refused ones."""
    report = RelayReport()
    pending = []
    for row in rows:
        try:
            eventbridge_entry(row, backend.settings.event_bus)
            pending.append(row)
        except (ValueError, KeyError, TypeError) as error:
            # A row that cannot even become an entry would fail on every pass: park it now.
            _park(backend, row, f"unreadable outbox row: {type(error).__name__}: {error}")
            report.parked.append(str(row.get("eventId")))
    for start in range(0, len(pending), PUT_EVENTS_BATCH):
        batch = pending[start:start + PUT_EVENTS_BATCH]
        response = backend.events.put_events(
            Entries=[eventbridge_entry(row, backend.settings.event_bus) for row in batch])
        results = response.get("Entries", [])
        if len(results) != len(batch):  # never assume success for an entry EventBridge did not answer
            results = results + [{"ErrorCode": "NoResult", "ErrorMessage": "no result for this entry"}] * (
                len(batch) - len(results))
        for row, result in zip(batch, results, strict=True):
            if result.get("ErrorCode"):
                parked = _mark_failed(backend, row, f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}")
                (report.parked if parked else report.failed).append(row["eventId"])
            else:
                _mark_sent(backend, row, result.get("EventId"))
                report.sent.append(row["eventId"])
    if report.failed or report.parked:
        log.warning("relay: %d sent, %d refused (will retry), %d parked", len(report.sent), len(report.failed),
                    len(report.parked))
    return report


def relay_once(backend: Backend, *, limit: int = 100) -> RelayReport:
    """Relay up to `limit` unsent outbox rows, oldest first."""
    response = backend.dynamodb.query(
        TableName=backend.settings.outbox, IndexName=UNSENT_INDEX,
        KeyConditionExpression="relayState = :unsent",
        ExpressionAttributeValues={":unsent": {"S": OutboxStatus.UNSENT.value}},
        Limit=limit, ScanIndexForward=True,
    )
    rows = [row for row in map(dynamo.from_item, response.get("Items", [])) if row is not None]
    return relay_rows(backend, rows)


def handle_stream(event: dict[str, Any], context: Any = None, *, backend: Backend | None = None) -> dict[str, Any]:
    """DynamoDB stream batch → EventBridge. Returns the Lambda partial-batch response.

    Usable directly as the Lambda handler (`aws.relay.handle_stream`); `backend` defaults to
    one built from the environment."""
    backend = backend or default_backend()
    sequence_by_id: dict[str, str] = {}
    for record in event.get("Records", []):
        if record.get("eventName") != "INSERT":
            continue  # MODIFY is the relay's own bookkeeping; reacting to it would loop
        image = dynamo.from_item(record.get("dynamodb", {}).get("NewImage")) or {}
        if image.get("status") == OutboxStatus.UNSENT and "eventId" in image:
            sequence_by_id[image["eventId"]] = str(record["dynamodb"].get("SequenceNumber", ""))
    # Re-read the rows: a retried stream batch must not re-send what an earlier attempt (or the
    # sweeper) already delivered.
    current = [row for row in _read_rows(backend, list(sequence_by_id)) if row.get("status") == OutboxStatus.UNSENT]
    report = relay_rows(backend, current)
    report.skipped = [event_id for event_id in sequence_by_id if event_id not in {r["eventId"] for r in current}]
    failures = [{"itemIdentifier": sequence_by_id[event_id]} for event_id in report.failed]
    return {"batchItemFailures": failures}


def _read_rows(backend: Backend, event_ids: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    table = backend.settings.outbox
    for start in range(0, len(event_ids), 100):  # BatchGetItem takes at most 100 keys
        request: dict[str, Any] = {table: {"Keys": [dynamo.to_item({"eventId": i}) for i in
                                                    event_ids[start:start + 100]], "ConsistentRead": True}}
        while request:
            response = backend.dynamodb.batch_get_item(RequestItems=request)
            rows.extend(r for r in map(dynamo.from_item, response.get("Responses", {}).get(table, [])) if r)
            request = response.get("UnprocessedKeys") or {}
    order = {event_id: index for index, event_id in enumerate(event_ids)}
    return sorted(rows, key=lambda row: order[row["eventId"]])


def _mark_sent(backend: Backend, row: dict[str, Any], eventbridge_id: str | None) -> None:
    backend.dynamodb.update_item(
        TableName=backend.settings.outbox, Key=dynamo.to_item({"eventId": row["eventId"]}),
        UpdateExpression="SET #status = :sent, sentAt = :now, eventBridgeId = :ebid REMOVE relayState",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=dynamo.to_item({":sent": OutboxStatus.SENT.value, ":now": backend.iso_now(),
                                                  ":ebid": eventbridge_id or ""}),
    )


def _mark_failed(backend: Backend, row: dict[str, Any], error: str) -> bool:
    """Count a refused attempt; park the row once it reaches the limit. Returns True if parked."""
    attempts = int(row.get("attempts", 0)) + 1
    parked = attempts >= backend.settings.relay_max_attempts
    update = "SET attempts = :attempts, lastError = :error, lastAttemptAt = :now"
    values: dict[str, Any] = {":attempts": attempts, ":error": error[:1000], ":now": backend.iso_now()}
    names: dict[str, str] = {}
    if parked:
        update += ", #status = :parked REMOVE relayState"
        values[":parked"] = OutboxStatus.PARKED.value
        names["#status"] = "status"
        log.error("relay: outbox row %s (%s) parked after %d refused attempts: %s", row["eventId"],
                  row.get("type"), attempts, error)
    backend.dynamodb.update_item(
        TableName=backend.settings.outbox, Key=dynamo.to_item({"eventId": row["eventId"]}),
        UpdateExpression=update, ExpressionAttributeValues=dynamo.to_item(values),
        **({"ExpressionAttributeNames": names} if names else {}),
    )
    return parked


def _park(backend: Backend, row: dict[str, Any], error: str) -> None:
    log.error("relay: outbox row %s parked: %s", row.get("eventId"), error)
    backend.dynamodb.update_item(
        TableName=backend.settings.outbox, Key=dynamo.to_item({"eventId": row["eventId"]}),
        UpdateExpression="SET #status = :parked, lastError = :error REMOVE relayState",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=dynamo.to_item({":parked": OutboxStatus.PARKED.value, ":error": error[:1000]}))


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
