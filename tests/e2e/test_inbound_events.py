"""The inbound Event Grid trigger (events from AWS) over devhost's Event Grid webhook — the
endpoint Event Grid calls in Azure — with Cosmos behind it.

- the same event delivered three times has one effect (inbox);
- malformed or unknown events are acknowledged (2xx, so no retry loop between clouds) and
  recorded as poison with the reason and the raw body; an event for an unknown order or a
  replay of a processed one changes nothing;
- when Cosmos is unavailable the function fails, so Event Grid retries, and the redelivery
  is processed exactly once.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from azure.cosmos.aio import CosmosClient

from devhost.history import EventType
from devhost.worker_loop import on_worker_loop
from ordersaga import cosmos_store, inbox
from ordersaga.config import CosmosSettings
from ordersaga.cosmos_store import CosmosStore
from tests.e2e.conftest import AppClient, StartApp, on_app_loop_store
from tests.e2e.fake_aws import FakePaymentService
from tests.support.cosmos_faults import RefusingTransport, document_requests

pytestmark = pytest.mark.integration


def cloud_event(event_type: str, data: Any, event_id: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "id": event_id or uuid.uuid4().hex, "type": event_type, "source": "saga.payments",
            "subject": f"orders/{data.get('orderId') if isinstance(data, dict) else 'x'}",
            "time": "2026-11-22T10:00:00Z", "datacontenttype": "application/json", "data": data} | extra


async def deliver(app: AppClient, body: Any) -> int:
    """POST to the app's Event Grid webhook as the Azure-bound topic's subscription does."""
    url = (f"{app.base}/runtime/webhooks/eventgrid?functionName=aws_events&code={app.master_key}")
    text = body if isinstance(body, str) else json.dumps(body)
    async with app.http.post(url, data=text, headers={"aeg-event-type": "Notification",
                                                       "Content-Type": "application/cloudevents+json"}) as response:
        return response.status


async def app_store() -> CosmosStore:
    return await on_app_loop_store()


async def poison() -> list[dict[str, Any]]:
    return await on_worker_loop(inbox.poison_records, await app_store())


async def processed(event_id: str) -> dict[str, Any] | None:
    store = await app_store()
    return await on_worker_loop(store.read, store.inbox, event_id)


async def waiting_saga(start_app: StartApp) -> tuple[AppClient, FakePaymentService, str]:
    aws = FakePaymentService(reply=None)  # the saga waits for a reply this test will deliver
    app = await start_app(activity_overrides=aws.overrides())
    aws.host = app.host
    await app.stock("SKU-1", 10)
    order_id = await app.place(("SKU-1", 1))
    await app.host.wait_for_status(order_id, lambda s: "awaiting-reply" in json.dumps(s.get("customStatus")))
    return app, aws, order_id


async def paying_app(start_app: StartApp) -> AppClient:
    aws = FakePaymentService()
    app = await start_app(activity_overrides=aws.overrides())
    aws.host = app.host
    return app


async def test_a_reply_delivered_three_times_has_one_effect(start_app: StartApp) -> None:
    app, aws, order_id = await waiting_saga(start_app)
    reply = cloud_event("PaymentReserved", {"orderId": order_id, "sagaId": order_id, "customerId": "c-1",
                                            "amount": "10.00", "currency": "EUR"})
    assert [await deliver(app, reply) for _ in range(3)] == [202, 202, 202]
    view = await app.finished(order_id)

    assert view["status"] == "COMPLETED"
    raised = [e for e in await app.host.history(order_id) if e["EventType"] == EventType.EventRaised]
    assert [e["Name"] for e in raised] == ["PaymentReserved"], "duplicates never reach the saga"
    record = await processed(reply["id"])
    assert record is not None and record["outcome"] == "raised into the saga"
    assert aws.sent().count("PaymentCaptureRequested") == 1


async def test_a_burst_of_duplicates_still_has_one_effect(start_app: StartApp) -> None:
    """Three copies at the same moment may all pass the inbox check; the saga takes one."""
    app, aws, order_id = await waiting_saga(start_app)
    reply = cloud_event("PaymentReserved", {"orderId": order_id, "sagaId": order_id, "customerId": "c-1",
                                            "amount": "10.00", "currency": "EUR"})
    assert await asyncio.gather(*(deliver(app, reply) for _ in range(3))) == [202, 202, 202]
    view = await app.finished(order_id)
    assert view["status"] == "COMPLETED"
    assert aws.sent().count("PaymentCaptureRequested") == 1
    assert (await app.inventory("SKU-1"))["sold"] == 1


HUGE = "x" * 200_000

MALFORMED: dict[str, Any] = {
    "unknown event type": cloud_event("PaymentRefunded", {"orderId": "o-1", "sagaId": "o-1"}),
    "data missing": cloud_event("PaymentReserved", None),
    "data not an object": cloud_event("PaymentReserved", "hello"),
    "sagaId missing": cloud_event("PaymentReserved", {"orderId": "o-1"}),
    "orderId of the wrong type": cloud_event("PaymentCaptured", {"orderId": 42, "sagaId": "o-1"}),
    "amount not a decimal": cloud_event("PaymentReserved", {"orderId": "o-1", "sagaId": "o-1", "customerId": "c-1",
                                                            "amount": "ten", "currency": "EUR"}),
    "huge payload": cloud_event("PaymentDeclined", {"orderId": "o-1", "sagaId": "o-1", "reason": HUGE}),
    "event grid schema, unknown type": [{"id": uuid.uuid4().hex, "topic": "t", "subject": "orders/o-1",
                                         "eventType": "Something.Else", "eventTime": "2026-11-22T10:00:00Z",
                                         "data": {"orderId": "o-1"}, "dataVersion": "1"}],
    "eventbridge envelope without detail": cloud_event("aws.eventbridge", {"detail-type": "PaymentReserved"}),
}


async def test_malformed_events_are_acknowledged_and_recorded_as_poison(start_app: StartApp) -> None:
    app = await paying_app(start_app)
    await app.stock("SKU-1", 10)
    order_id = await app.place(("SKU-1", 2))
    before = await app.finished(order_id)

    answers = {name: await deliver(app, body) for name, body in MALFORMED.items()}
    assert all(200 <= status < 300 for status in answers.values()), answers

    records = await poison()
    assert len(records) == len(MALFORMED), [r["reason"] for r in records]
    assert all(r["reason"] and r["raw"] and r["receivedAt"] for r in records)
    huge = [r for r in records if r["truncated"]]
    assert len(huge) == 1 and len(huge[0]["raw"]) <= inbox.MAX_RAW_CHARS
    after = await app.order(order_id)
    assert after["status"] == before["status"] == "COMPLETED"
    assert after["statusHistory"] == before["statusHistory"] and after.get("payment") is None
    assert (await app.inventory("SKU-1"))["sold"] == 2


async def test_events_for_unknown_orders_and_replays_change_nothing(start_app: StartApp) -> None:
    app = await paying_app(start_app)
    await app.stock("SKU-1", 10)
    order_id = await app.place(("SKU-1", 1))
    await app.finished(order_id)

    stranger = cloud_event("PaymentCaptured", {"orderId": "ord-nobody", "sagaId": "ord-nobody"})
    assert await deliver(app, stranger) == 202
    assert (await processed(stranger["id"]))["outcome"] == "order unknown; nothing to record"
    status, _, _ = await app.call("GET", "/api/orders/ord-nobody")
    assert status == 404, "an event never creates an order"

    captured = cloud_event("PaymentCaptured", {"orderId": order_id, "sagaId": order_id})
    assert await deliver(app, captured) == 202
    first = await app.order(order_id)
    assert first["payment"]["eventId"] == captured["id"]
    # The same event replayed a day later, and an older compensation for the finished saga.
    assert await deliver(app, captured) == 202
    assert (await app.order(order_id))["timestamps"]["updatedAt"] == first["timestamps"]["updatedAt"]
    stale = cloud_event("OrderCompensationRequested", {"orderId": order_id, "sagaId": order_id, "reason": "old"})
    assert await deliver(app, stale) == 202
    after = await app.order(order_id)
    assert after["status"] == "COMPLETED" and after["reconciliation"]["reason"] == "old"
    assert await poison() == []


async def test_cosmos_unavailable_fails_the_delivery_and_the_retry_lands_once(
    start_app: StartApp, cosmos_settings: CosmosSettings
) -> None:
    app, _, order_id = await waiting_saga(start_app)
    # From here on the app's Cosmos answers 503 to every document request (retry-after 20 ms).
    outage = RefusingTransport(503, refusals=10_000, matches=document_requests)

    async def swap_in_failing_store() -> None:
        client = CosmosClient(cosmos_settings.endpoint, credential=cosmos_settings.key,
                              connection_verify=cosmos_settings.verify_tls, transport=outage, retry_total=1)
        loop = asyncio.get_running_loop()
        await cosmos_store._stores[loop].close()
        cosmos_store._stores[loop] = CosmosStore(cosmos_settings, client)

    await on_worker_loop(swap_in_failing_store)
    reply = cloud_event("PaymentReserved", {"orderId": order_id, "sagaId": order_id, "customerId": "c-1",
                                            "amount": "10.00", "currency": "EUR"})
    assert await deliver(app, reply) == 500, "a transient failure must reach Event Grid so it retries"
    assert outage.refused > 0

    outage.remaining = 0  # Cosmos is back; Event Grid redelivers (twice, as at-least-once allows)
    assert [await deliver(app, reply) for _ in range(2)] == [202, 202]
    view = await app.finished(order_id)
    assert view["status"] == "COMPLETED"
    raised = [e for e in await app.host.history(order_id) if e["EventType"] == EventType.EventRaised]
    assert len(raised) == 1
