"""The inbound Event Grid trigger (events from AWS) over real HTTP — devhost's Event Grid
webhook, the endpoint Event Grid calls in Azure, and the local Event Grid service in front of
it — with the Cosmos protocol server behind it.

- the same event delivered three times (one after another, at once, or published three times
  to the topic) has one effect: one `EventRaised` in the saga's history, one inbox record,
  one write of a payment annotation;
- malformed or unknown events are acknowledged (2xx, so Event Grid does not retry) and
  recorded as poison with the reason, the raw body and the time; an event for an unknown
  order, or an old one replayed for a finished saga, is ignored; nothing else is written
  (every order and stock document keeps its `_etag`);
- Cosmos unavailable for real (its port closed, through `CosmosGateway`): the function fails,
  the webhook answers 500, Event Grid retries, and the redelivery is processed exactly once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from aiohttp import web

from devhost.history import EventType
from local_cloud.processes import free_port
from ordersaga import inbox
from ordersaga.config import CosmosSettings
from tests.e2e.conftest import AppClient, AppKeys, StartApp
from tests.e2e.fake_aws import FakePaymentService
from tests.support.cosmos_gateway import CosmosGateway, wait_until_refused
from tests.support.inbound import (
    LocalEventGrid,
    cloud_event,
    cosmos_snapshot,
    deliver,
    inbox_records,
    order_doc,
    payment_data,
    poison_records,
)

pytestmark = pytest.mark.integration


async def raised_events(app: AppClient, instance_id: str) -> list[str]:
    return [e["Name"] for e in await app.host.history(instance_id) if e["EventType"] == EventType.EventRaised]


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"not reached within {timeout}s: {what}")
        await asyncio.sleep(0.05)


async def waiting_saga(start_app: StartApp, port: int = 0,
                       **settings: str) -> tuple[AppClient, FakePaymentService, str]:
    """An order whose saga has asked AWS for the payment and waits for the reply."""
    aws = FakePaymentService(reply=None)  # silent: the reply comes from the test, through the trigger
    app = await start_app(activity_overrides=aws.overrides(), port=port, **settings)
    aws.host = app.host
    await app.stock("SKU-1", 10)
    order_id = await app.place(("SKU-1", 1))
    await app.host.wait_for_status(order_id, lambda s: "awaiting-reply" in json.dumps(s.get("customStatus")))
    return app, aws, order_id


async def completed_order(start_app: StartApp, port: int = 0,
                          **settings: str) -> tuple[AppClient, FakePaymentService, str]:
    aws = FakePaymentService()
    app = await start_app(activity_overrides=aws.overrides(), port=port, **settings)
    aws.host = app.host
    await app.stock("SKU-1", 10)
    order_id = await app.place(("SKU-1", 2))
    assert (await app.finished(order_id))["status"] == "COMPLETED"
    return app, aws, order_id


@pytest.fixture
async def gateway(cosmos_settings: CosmosSettings) -> AsyncIterator[CosmosGateway]:
    """The app's only way to the Cosmos server; pass `COSMOS_ENDPOINT=gateway.endpoint`."""
    opened = await CosmosGateway(cosmos_settings.endpoint).start()
    yield opened
    await opened.stop()


@pytest.fixture
async def grid(app_keys: AppKeys) -> AsyncIterator[LocalEventGrid]:
    """The local Event Grid service; start the app on `grid.app_port` with `grid.app_settings()`."""
    service = await LocalEventGrid(free_port(), app_keys.master).start()
    yield service
    await service.stop()


# -- duplicates -------------------------------------------------------------------------------


async def test_a_reply_delivered_three_times_is_raised_into_the_saga_once(start_app: StartApp) -> None:
    app, aws, order_id = await waiting_saga(start_app)
    reply = cloud_event("PaymentReserved", payment_data(order_id))
    assert [(await deliver(app, reply))[0] for _ in range(3)] == [202, 202, 202]

    assert (await app.finished(order_id))["status"] == "COMPLETED"
    assert await raised_events(app, order_id) == ["PaymentReserved"], "duplicates never reach the saga"
    records = await inbox_records(reply["id"])
    assert [r["outcome"] for r in records] == ["raised into the saga"]
    assert aws.sent().count("PaymentCaptureRequested") == 1
    assert (await app.inventory("SKU-1"))["sold"] == 1


async def test_three_copies_at_once_have_one_effect(start_app: StartApp) -> None:
    """Copies delivered in parallel may all pass the inbox check before one is marked; the
    saga takes the first reply and the rest change nothing."""
    app, aws, order_id = await waiting_saga(start_app)
    reply = cloud_event("PaymentReserved", payment_data(order_id))
    answers = await asyncio.gather(*(deliver(app, reply) for _ in range(3)))
    assert [status for status, _ in answers] == [202, 202, 202]

    assert (await app.finished(order_id))["status"] == "COMPLETED"
    assert aws.sent().count("PaymentCaptureRequested") == 1
    assert len(await inbox_records(reply["id"])) == 1
    stock = await app.inventory("SKU-1")
    assert (stock["sold"], stock["reserved"], stock["available"]) == (1, 0, 9)


async def test_a_capture_delivered_three_times_is_written_once(start_app: StartApp) -> None:
    app, _, order_id = await completed_order(start_app)
    captured = cloud_event("PaymentCaptured", payment_data(order_id))

    assert (await deliver(app, captured))[0] == 202
    first = await order_doc(order_id)
    assert first is not None and first["payment"]["status"] == "CAPTURED"
    assert first["payment"]["eventId"] == captured["id"]
    for _ in range(2):
        assert (await deliver(app, captured))[0] == 202
    again = await order_doc(order_id)
    assert again is not None and again["_etag"] == first["_etag"], "a duplicate wrote the order again"
    assert [r["outcome"] for r in await inbox_records(captured["id"])] == ["payment captured recorded"]


async def test_an_event_published_three_times_to_the_topic_has_one_effect(
    start_app: StartApp, grid: LocalEventGrid
) -> None:
    app, aws, order_id = await waiting_saga(start_app, port=grid.app_port, **grid.app_settings())
    reply = cloud_event("PaymentReserved", payment_data(order_id))
    for _ in range(3):  # the forwarder retried its publish twice
        assert (await grid.publish(app, reply))[0] == 200

    async def all_delivered() -> bool:
        return grid.to_app.delivered == 3

    await eventually(all_delivered, "three deliveries of the same event")
    assert (await app.finished(order_id))["status"] == "COMPLETED"
    assert await raised_events(app, order_id) == ["PaymentReserved"]
    assert grid.to_app.delivered_ids == [reply["id"]] * 3 and grid.to_app.dead_lettered == 0
    assert aws.sent().count("PaymentCaptureRequested") == 1
    assert len(await inbox_records(reply["id"])) == 1


# -- malformed, unknown, stale ----------------------------------------------------------------

HUGE = "x" * 200_000

# name -> (event, a phrase the poison reason must contain)
MALFORMED: dict[str, tuple[Any, str]] = {
    "unknown event type": (cloud_event("PaymentRefunded", payment_data("o-1")), "unknown event type"),
    "type of the wrong JSON type": (cloud_event(["PaymentReserved"], payment_data("o-1")), "unknown event type"),
    "outbound type sent back in": (cloud_event("PaymentReservationRequested", payment_data("o-1")),
                                   "unknown event type"),
    "data missing": (cloud_event("PaymentReserved", None), "data must be a JSON object"),
    "data not an object": (cloud_event("PaymentReserved", "hello"), "data must be a JSON object"),
    "data a list": (cloud_event("PaymentCaptured", [payment_data("o-1")]), "data must be a JSON object"),
    "sagaId missing": (cloud_event("PaymentReserved", {"orderId": "o-1"}), "sagaId"),
    "orderId missing": (cloud_event("PaymentCaptured", {"sagaId": "o-1"}), "orderId"),
    "orderId of the wrong type": (cloud_event("PaymentCaptured", {"orderId": 42, "sagaId": "o-1"}), "orderId"),
    "orderId a path": (cloud_event("PaymentCaptured", {"orderId": "../../orders/o-1", "sagaId": "o-1"}), "orderId"),
    "amount not a decimal": (cloud_event("PaymentReserved", payment_data("o-1", amount="ten")), "amount"),
    "amount a float": (cloud_event("PaymentReserved", payment_data("o-1", amount=10.0)), "amount"),
    "currency unknown shape": (cloud_event("PaymentReserved", payment_data("o-1", currency="euro")), "currency"),
    "reason too long": (cloud_event("PaymentDeclined", payment_data("o-1", reason="r" * 5000)), "reason"),
    "subject names another order": (cloud_event("PaymentCaptured", payment_data("o-1"), subject="orders/o-2"),
                                    "subject"),
    "id missing": ({k: v for k, v in cloud_event("PaymentCaptured", payment_data("o-1")).items() if k != "id"},
                   "missing event id"),
    "id not a string": (cloud_event("PaymentCaptured", payment_data("o-1"), event_id=12345), "missing event id"),
    "huge payload": (cloud_event("PaymentDeclined", payment_data("o-1", reason=HUGE)), "reason"),
    "event grid schema, unknown type": ([{"id": "eg-1", "topic": "t", "subject": "orders/o-1",
                                          "eventType": "Something.Else", "eventTime": "2026-11-22T10:00:00Z",
                                          "data": payment_data("o-1"), "dataVersion": "1"}], "unknown event type"),
    "event grid schema, data missing": ([{"id": "eg-2", "topic": "t", "subject": "orders/o-1",
                                          "eventType": "PaymentCaptured", "eventTime": "2026-11-22T10:00:00Z",
                                          "dataVersion": "1"}], "data must be a JSON object"),
    "eventbridge envelope without detail": (cloud_event("aws.eventbridge", {"detail-type": "PaymentReserved"}),
                                            "unknown event type"),
    "neither schema": ({"hello": "world", "orderId": "o-1"}, "unknown event type None"),
}


async def test_malformed_events_are_acknowledged_and_recorded_as_poison(start_app: StartApp) -> None:
    app, _, order_id = await completed_order(start_app)
    before = await cosmos_snapshot()
    history = await app.host.history(order_id)

    answers = {name: (await deliver(app, body))[0] for name, (body, _) in MALFORMED.items()}
    assert all(200 <= status < 300 for status in answers.values()), answers

    records = await poison_records()
    assert len(records) == len(MALFORMED), [r["reason"] for r in records]
    for name, (body, phrase) in MALFORMED.items():
        if name == "huge payload":
            mine = [r for r in records if r["truncated"]]
        else:
            mine = [r for r in records if not r["truncated"] and json.loads(r["raw"]) == as_delivered(body)]
        assert len(mine) == 1, f"{name}: no poison record of its own"
        assert phrase in mine[0]["reason"], f"{name}: reason {mine[0]['reason']!r} does not say {phrase!r}"
        assert datetime.fromisoformat(mine[0]["receivedAt"].replace("Z", "+00:00")), name
    huge = [r for r in records if r["truncated"]]
    assert len(huge) == 1 and len(huge[0]["raw"]) == inbox.MAX_RAW_CHARS
    assert await inbox_records() == [], "a poison event is never marked processed"
    assert await cosmos_snapshot() == before, "a poison event wrote an order or stock document"
    assert await app.host.history(order_id) == history


def as_delivered(body: Any) -> Any:
    """The event as the trigger records it: one element of an Event Grid array, or the
    CloudEvent rebuilt from the binding's fields (every context attribute, no `datacontenttype`)."""
    event = body[0] if isinstance(body, list) else body
    when = "2026-11-22T10:00:00+00:00"
    if "specversion" in event:
        context = ("specversion", "id", "type", "source", "subject", "time", "data")
        extensions = {k: v for k, v in event.items() if k not in (*context, "datacontenttype", "dataschema")}
        return {k: event.get(k) for k in context} | ({"time": when} if event.get("time") else {}) | extensions
    fields = ("id", "topic", "subject", "eventType", "eventTime", "data", "dataVersion")
    return {k: event.get(k) for k in fields} | ({"eventTime": when} if event.get("eventTime") else {})


async def test_bodies_that_are_not_events_are_refused_before_the_function(
    start_app: StartApp, grid: LocalEventGrid
) -> None:
    """Invalid JSON never reaches the trigger: the topic refuses to publish it (400), and the
    webhook called directly refuses it (400, which Event Grid does not retry)."""
    app, _, order_id = await completed_order(start_app, port=grid.app_port, **grid.app_settings())
    before = await cosmos_snapshot()
    for body in (b"{not json", b"", b'{"specversion": "1.0", "id": ', b"\xff\xfe"):
        assert (await grid.publish(app, body))[0] == 400, body
        assert (await deliver(app, body))[0] == 400, body
    assert (await deliver(app, cloud_event("PaymentCaptured", payment_data(order_id)), key="wrong"))[0] == 401
    assert (await deliver(app, cloud_event("PaymentCaptured", payment_data(order_id)),
                          event_type_header=None))[0] == 400
    assert grid.to_app.attempts == 0
    assert await poison_records() == [] and await inbox_records() == []
    assert await cosmos_snapshot() == before


async def test_unknown_orders_and_stale_replays_change_nothing(start_app: StartApp, grid: LocalEventGrid) -> None:
    app, aws, order_id = await completed_order(start_app, port=grid.app_port, **grid.app_settings())
    captured = cloud_event("PaymentCaptured", payment_data(order_id))
    assert (await deliver(app, captured))[0] == 202
    before = await cosmos_snapshot()
    history = await app.host.history(order_id)

    stranger = cloud_event("PaymentCaptured", payment_data("ord-nobody"))
    stale = {
        "the capture replayed": captured,
        "an old reservation under a new id": cloud_event("PaymentReserved", payment_data(order_id)),
        "an old decline": cloud_event("PaymentDeclined", payment_data(order_id, reason="insufficient credit")),
        "a capture for an unknown order": stranger,
        "a compensation for an unknown order": cloud_event("PaymentCompensated", payment_data("ord-nobody-2")),
    }
    for name, event in stale.items():
        assert (await deliver(app, event))[0] == 202, name

    assert await cosmos_snapshot() == before, "a stale or unknown event wrote an order or stock document"
    assert await app.host.history(order_id) == history, "a stale event reached the finished saga"
    outcomes = {r["id"]: r["outcome"] for r in await inbox_records()}
    assert outcomes[stale["an old reservation under a new id"]["id"]] == \
        "saga already past the pivot; duplicate reservation ignored"
    assert outcomes[stale["an old decline"]["id"]] == "saga no longer running; a decline needs nothing"
    assert outcomes[stranger["id"]] == "order unknown; nothing to record"
    for unknown in ("ord-nobody", "ord-nobody-2"):
        status, _, _ = await app.call("GET", f"/api/orders/{unknown}")
        assert status == 404, "an event never creates an order"
    assert await poison_records() == []
    assert grid.sink.events == [] and aws.sent().count("PaymentCompensationRequested") == 0, \
        "nothing is asked of AWS for a saga that completed"


async def test_a_late_roll_back_request_marks_a_finished_order_for_reconciliation_only(start_app: StartApp) -> None:
    app, _, order_id = await completed_order(start_app)
    stock = await app.inventory("SKU-1")
    late = cloud_event("OrderCompensationRequested", payment_data(order_id, reason="fraud check (late)"))
    assert [(await deliver(app, late))[0] for _ in range(2)] == [202, 202]
    view = await app.order(order_id)
    assert view["status"] == "COMPLETED" and view["reconciliation"]["reason"] == "fraud check (late)"
    assert view["reconciliation"]["eventId"] == late["id"]
    assert await app.inventory("SKU-1") == stock, "nothing is undone after the point of no return"


# -- transient failures -----------------------------------------------------------------------


async def test_cosmos_unavailable_fails_the_delivery_and_the_redelivery_lands_once(
    start_app: StartApp, gateway: CosmosGateway
) -> None:
    app, aws, order_id = await waiting_saga(start_app, COSMOS_ENDPOINT=gateway.endpoint)
    reply = cloud_event("PaymentReserved", payment_data(order_id))

    await gateway.cut()
    await wait_until_refused(gateway.port or 0)
    status, text = await deliver(app, reply)
    assert status == 500, f"a transient failure must reach Event Grid so it retries: {status} {text}"
    assert await raised_events(app, order_id) == [], "nothing was routed while Cosmos was away"

    await gateway.restore()  # Cosmos is reachable again; Event Grid redelivers (twice: at least once)
    assert [(await deliver(app, reply))[0] for _ in range(2)] == [202, 202]
    assert (await app.finished(order_id))["status"] == "COMPLETED"
    assert await raised_events(app, order_id) == ["PaymentReserved"]
    assert [r["outcome"] for r in await inbox_records(reply["id"])] == ["raised into the saga"]
    assert aws.sent().count("PaymentCaptureRequested") == 1


async def test_event_grid_retries_through_a_cosmos_outage_and_delivers_once(
    start_app: StartApp, gateway: CosmosGateway, grid: LocalEventGrid
) -> None:
    app, aws, order_id = await waiting_saga(start_app, COSMOS_ENDPOINT=gateway.endpoint,
                                            port=grid.app_port, **grid.app_settings())
    reply = cloud_event("PaymentReserved", payment_data(order_id))
    await gateway.cut()
    await wait_until_refused(gateway.port or 0)
    assert (await grid.publish(app, reply))[0] == 200

    async def failed_twice() -> bool:  # a third attempt starts only after the second failed
        return grid.to_app.attempts >= 3

    await eventually(failed_twice, "two failed delivery attempts while Cosmos is unreachable", timeout=30)
    assert grid.to_app.delivered == 0
    await gateway.restore()

    async def delivered() -> bool:
        return grid.to_app.delivered == 1

    await eventually(delivered, "the delivery after Cosmos came back", timeout=30)
    assert (await app.finished(order_id))["status"] == "COMPLETED"
    assert grid.to_app.dead_lettered == 0 and grid.to_app.attempts >= 3
    assert await raised_events(app, order_id) == ["PaymentReserved"]
    assert len(await inbox_records(reply["id"])) == 1
    assert aws.sent().count("PaymentCaptureRequested") == 1


def inbox_write(request: web.Request) -> bool:
    return request.method == "POST" and "/colls/inbox/docs" in request.path


async def test_a_failure_after_the_reply_was_raised_has_no_second_effect(
    start_app: StartApp, gateway: CosmosGateway
) -> None:
    """Cosmos goes away between routing the event and marking it processed: the delivery
    fails and is redelivered; the saga has its reply already and takes no second one."""
    app, aws, order_id = await waiting_saga(start_app, COSMOS_ENDPOINT=gateway.endpoint)
    reply = cloud_event("PaymentReserved", payment_data(order_id))
    gateway.drop = inbox_write
    assert (await deliver(app, reply))[0] == 500
    assert gateway.dropped >= 1
    gateway.drop = None

    assert (await deliver(app, reply))[0] == 202
    assert (await app.finished(order_id))["status"] == "COMPLETED"
    assert aws.sent().count("PaymentCaptureRequested") == 1
    assert (await app.inventory("SKU-1"))["sold"] == 1
    assert len(await inbox_records(reply["id"])) == 1
    raised = await raised_events(app, order_id)
    assert raised.count("PaymentReserved") in (1, 2), raised  # a second copy may be raised; it is never used
