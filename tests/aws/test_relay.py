"""Outbox relay → a real EventBridge bus (moto) whose rule targets an SQS queue."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import pytest

from aws.dispatch import handle_event
from aws.local_infra import route_bus_to_queue
from aws.relay import handle_stream, relay_once
from aws.seed import put_account
from aws.settings import Backend
from aws.tables import outbox_stream_arn
from ordersaga.events import INBOUND_FROM_AWS, normalise
from tests.aws.support import TRACEPARENT, outbox, outbox_event, reservation


@pytest.fixture
def queue(backend: Backend) -> str:
    return route_bus_to_queue(backend, f"to-azure-{uuid.uuid4().hex[:8]}")


def receive_all(sqs: Any, queue_url: str, expected: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Drain the queue until `expected` messages arrived (or the timeout), then briefly check no more come."""
    bodies: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        for message in answer.get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if len(bodies) >= expected and not answer.get("Messages"):
            break
        if not answer.get("Messages"):
            time.sleep(0.05)
    return bodies


def reserve_sagas(backend: Backend, count: int) -> list[dict[str, Any]]:
    put_account(backend, "c-1", "100000")
    requests = [reservation(f"s{index:02d}", amount="1.00") for index in range(count)]
    for request in requests:
        handle_event(request, backend)
    return requests


class FailingEntries:
    """An EventBridge client that refuses chosen entries the way PutEvents reports a partial
    failure (FailedEntryCount > 0, ErrorCode on those entries) and really sends the rest — moto
    never fails a single entry on its own."""

    def __init__(self, real: Any, refuse: set[str] | None = None) -> None:
        self._real, self.refuse = real, refuse  # refuse=None: refuse everything
        self.calls: list[int] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(len(Entries))
        assert len(Entries) <= 10
        refused = [self.refuse is None or json.loads(e["Detail"])["eventId"] in self.refuse for e in Entries]
        accepted = [e for e, no in zip(Entries, refused, strict=True) if not no]
        real_results = iter(self._real.put_events(Entries=accepted)["Entries"] if accepted else [])
        results = [{"ErrorCode": "InternalFailure", "ErrorMessage": "injected"} if no else next(real_results)
                   for no in refused]
        return {"FailedEntryCount": sum(refused), "Entries": results}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_relayed_event_reaches_sqs_and_normalises_back_to_the_same_event(
        backend: Backend, queue: str, sqs: Any) -> None:
    reserve_sagas(backend, 1)
    [row] = outbox(backend)
    original = outbox_event(row)

    report = relay_once(backend)

    assert report.sent == [original["id"]]
    [envelope] = receive_all(sqs, queue, expected=1)
    assert (envelope["source"], envelope["detail-type"]) == ("saga.payments", "PaymentReserved")
    back = normalise(envelope, INBOUND_FROM_AWS)
    assert (back.id, back.type, back.subject, back.data, back.traceparent) == (
        original["id"], "PaymentReserved", original["subject"], original["data"], TRACEPARENT)
    [sent] = outbox(backend)
    assert sent["status"] == "SENT" and "relayState" not in sent and sent["eventBridgeId"] == envelope["id"]
    assert relay_once(backend).sent == []  # nothing is sent twice
    assert receive_all(sqs, queue, expected=0, timeout=0.3) == []


def test_partial_put_events_failure_keeps_exactly_the_refused_rows_for_the_next_relay(
        backend: Backend, queue: str, sqs: Any) -> None:
    reserve_sagas(backend, 5)
    ids = [row["eventId"] for row in outbox(backend)]
    refused = {ids[1], ids[3]}
    flaky = Backend(backend.settings, backend.dynamodb, FailingEntries(backend.events, refused))

    first = relay_once(flaky)

    assert sorted(first.sent) == sorted(set(ids) - refused) and sorted(first.failed) == sorted(refused)
    unsent = {row["eventId"]: row for row in outbox(backend) if row["status"] == "UNSENT"}
    assert set(unsent) == refused
    assert all(row["attempts"] == 1 and "InternalFailure" in row["lastError"] for row in unsent.values())
    assert {m["detail"]["eventId"] for m in receive_all(sqs, queue, expected=3)} == set(ids) - refused

    second = relay_once(backend)

    assert sorted(second.sent) == sorted(refused)
    assert {m["detail"]["eventId"] for m in receive_all(sqs, queue, expected=2)} == refused
    assert all(row["status"] == "SENT" for row in outbox(backend))


def test_put_events_is_called_with_at_most_ten_entries(backend: Backend, queue: str, sqs: Any) -> None:
    reserve_sagas(backend, 23)
    recording = FailingEntries(backend.events, refuse=set())
    counting = Backend(backend.settings, backend.dynamodb, recording)

    report = relay_once(counting)

    assert recording.calls == [10, 10, 3]
    assert len(report.sent) == 23
    assert len(receive_all(sqs, queue, expected=23)) == 23


def test_an_entry_refused_every_time_is_parked_not_retried_forever(backend: Backend, queue: str, sqs: Any) -> None:
    reserve_sagas(backend, 1)
    refusing = Backend(backend.settings, backend.dynamodb, FailingEntries(backend.events))

    reports = [relay_once(refusing) for _ in range(backend.settings.relay_max_attempts + 1)]

    assert [len(r.failed) for r in reports] == [1] * (backend.settings.relay_max_attempts - 1) + [0, 0]
    assert len(reports[-2].parked) == 1 and reports[-1].parked == []  # parked rows leave the relay's index
    [row] = outbox(backend)
    assert row["status"] == "PARKED" and row["attempts"] == backend.settings.relay_max_attempts
    assert receive_all(sqs, queue, expected=0, timeout=0.3) == []


def test_put_events_unreachable_leaves_every_row_unsent(backend: Backend) -> None:
    reserve_sagas(backend, 2)

    class Down:
        def put_events(self, **kwargs: Any) -> Any:
            raise ConnectionError("EventBridge unreachable")

    with pytest.raises(ConnectionError):
        relay_once(Backend(backend.settings, backend.dynamodb, Down()))
    assert [row["status"] for row in outbox(backend)] == ["UNSENT", "UNSENT"]


def stream_batch(backend: Backend, moto_endpoint: str) -> dict[str, Any]:
    """The Lambda event a DynamoDB stream event-source mapping would deliver, read from moto's
    real stream of the outbox table."""
    streams = boto3.client("dynamodbstreams", region_name=backend.settings.region, endpoint_url=moto_endpoint)
    arn = outbox_stream_arn(backend.dynamodb, backend.settings)
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records.extend(streams.get_records(ShardIterator=iterator, Limit=1000)["Records"])
    return {"Records": records}


def test_stream_handler_relays_inserts_and_reports_only_refused_records(
        backend: Backend, queue: str, sqs: Any, moto_endpoint: str) -> None:
    reserve_sagas(backend, 3)
    ids = [row["eventId"] for row in outbox(backend)]
    batch = stream_batch(backend, moto_endpoint)
    sequence = {r["dynamodb"]["NewImage"]["eventId"]["S"]: r["dynamodb"]["SequenceNumber"] for r in batch["Records"]}
    flaky = Backend(backend.settings, backend.dynamodb, FailingEntries(backend.events, {ids[2]}))

    answer = handle_stream(batch, None, backend=flaky)

    assert answer == {"batchItemFailures": [{"itemIdentifier": sequence[ids[2]]}]}
    assert {m["detail"]["eventId"] for m in receive_all(sqs, queue, expected=2)} == set(ids[:2])

    # The relay's own bookkeeping (MODIFY: SENT marks, the failure count) is in the stream too;
    # reacting to it would turn every refusal into an immediate resend loop.
    seen = {r["dynamodb"]["SequenceNumber"] for r in batch["Records"]}
    bookkeeping = [r for r in stream_batch(backend, moto_endpoint)["Records"]
                   if r["dynamodb"]["SequenceNumber"] not in seen]
    assert bookkeeping and {r["eventName"] for r in bookkeeping} == {"MODIFY"}
    assert handle_stream({"Records": bookkeeping}, None, backend=backend) == {"batchItemFailures": []}
    assert receive_all(sqs, queue, expected=0, timeout=0.3) == []

    # Lambda retries the batch (and the rows' own MODIFY records now follow in the stream):
    # only the refused row is sent, the two already delivered are not sent again.
    retry = stream_batch(backend, moto_endpoint)
    assert handle_stream(retry, None, backend=backend) == {"batchItemFailures": []}
    assert [m["detail"]["eventId"] for m in receive_all(sqs, queue, expected=1)] == [ids[2]]
    assert all(row["status"] == "SENT" for row in outbox(backend))


def test_an_unreadable_outbox_row_is_parked_and_does_not_block_the_others(
        backend: Backend, queue: str, sqs: Any) -> None:
    reserve_sagas(backend, 2)
    first = outbox(backend)[0]["eventId"]
    backend.dynamodb.update_item(TableName=backend.settings.outbox, Key={"eventId": {"S": first}},
                                 UpdateExpression="SET #e = :junk", ExpressionAttributeNames={"#e": "event"},
                                 ExpressionAttributeValues={":junk": {"S": "{truncated"}})

    report = relay_once(backend)

    assert report.parked == [first] and len(report.sent) == 1
    assert {row["eventId"]: row["status"] for row in outbox(backend)}[first] == "PARKED"
    assert len(receive_all(sqs, queue, expected=1)) == 1
