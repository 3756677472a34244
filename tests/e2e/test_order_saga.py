"""The order saga end to end on devhost over HTTP, for the happy path and every compensation
path, against a real Cosmos server. AWS is played by `FakePaymentService`; the whole
cross-cloud loop has its own tests."""

from __future__ import annotations

import asyncio
import time

import pytest

from devhost.worker_loop import on_worker_loop
from orchestrators.saga_steps import ORDER_SAGA, StepKind
from ordersaga import order_repository
from tests.e2e.conftest import AppClient, StartApp, on_app_loop_store
from tests.e2e.fake_aws import ActivityRecorder, FakePaymentService
from triggers.http_api import order_id_for

pytestmark = pytest.mark.integration

COMPENSATABLE = [s for s in ORDER_SAGA if s.kind is StepKind.COMPENSATABLE]
UNDOS = [s.undo for s in COMPENSATABLE]


async def start_with(start_app: StartApp, aws: FakePaymentService, recorder: ActivityRecorder | None = None,
                     extra: dict | None = None, **settings: str) -> AppClient:
    overrides = aws.overrides()
    if recorder is not None:
        for undo in UNDOS:
            overrides[undo] = recorder.wrap(undo, overrides[undo]) if undo in overrides else recorder.real(undo)
    overrides |= extra or {}
    app = await start_app(activity_overrides=overrides, **settings)
    aws.host = app.host
    return app


async def cosmos_requests() -> int:
    return (await on_app_loop_store()).requests.total


async def test_happy_path_completes_and_sells_the_stock(
    start_app: StartApp, capsys: pytest.CaptureFixture[str]
) -> None:
    aws = FakePaymentService()
    recorder = ActivityRecorder()
    app = await start_with(start_app, aws, recorder)
    await app.stock("SKU-1", 10)
    await app.stock("SKU-2", 5)
    before = await cosmos_requests()
    order_id = await app.place(("SKU-1", 2), ("SKU-2", 1))
    view = await app.finished(order_id)
    used = await cosmos_requests() - before

    assert view["status"] == "COMPLETED" and view["saga"]["runtimeStatus"] == "Completed"
    assert view["saga"]["completedSteps"] == [s.name for s in ORDER_SAGA]
    assert view["saga"]["compensatedSteps"] == [] and sum(recorder.calls.values()) == 0
    assert view["shipment"]["shipmentId"] == f"shp-{order_id}"
    assert aws.sent() == ["PaymentReservationRequested", "PaymentCaptureRequested"]
    assert [e["step"] for e in view["timeline"] if e["event"] == "completed"] == [s.name for s in ORDER_SAGA]
    assert (await app.inventory("SKU-1"))["sold"] == 2 and (await app.inventory("SKU-2"))["available"] == 4
    with capsys.disabled():
        print(f"\n[cosmos] happy path: {used} Cosmos requests for one 2-SKU saga (incl. the status GET)")


@pytest.mark.parametrize("failing", COMPENSATABLE, ids=lambda s: s.name)
async def test_a_rejection_runs_the_undos_in_reverse_exactly_once(
    start_app: StartApp, failing, capsys: pytest.CaptureFixture[str]
) -> None:
    aws = FakePaymentService(reply="PaymentDeclined" if failing.name == "reserve_payment" else "PaymentReserved")
    recorder = ActivityRecorder()
    app = await start_with(start_app, aws, recorder)
    await app.stock("SKU-1", 10 if failing.name != "reserve_inventory" else 1)
    key = f"key-{failing.name}"
    if failing.name == "create_order":
        # A real rejection: an order with this id already exists with other content.
        store = await on_app_loop_store()
        clash = {"orderId": order_id_for(key), "customerId": "someone-else", "currency": "EUR",
                 "items": [{"sku": "SKU-9", "quantity": 9, "unitPrice": "1"}]}
        await on_worker_loop(order_repository.create_order, store, clash, "another-saga")
    before = await cosmos_requests()
    order_id = await app.place(("SKU-1", 2), **{"Idempotency-Key": key})
    view = await app.finished(order_id)
    used = await cosmos_requests() - before

    done = list(reversed(COMPENSATABLE[: COMPENSATABLE.index(failing) + 1]))
    assert recorder.order == [s.undo for s in done], "undos run last-in first-out, each exactly once"
    assert view["saga"]["compensatedSteps"] == [s.name for s in done]
    assert view["saga"]["output"]["status"] == "CANCELLED"
    assert view["saga"]["undoStack"] == []
    stock = await app.inventory("SKU-1")
    assert stock["reserved"] == 0 and stock["sold"] == 0
    if failing.name == "create_order":
        assert view["status"] == "PENDING" and view["customerId"] == "someone-else", "the other order is untouched"
    else:
        assert view["status"] == "CANCELLED"
    with capsys.disabled():
        print(f"\n[cosmos] rejection at {failing.name}: {used} Cosmos requests (incl. the status GET)")


async def test_an_undo_that_keeps_failing_parks_the_saga(start_app: StartApp) -> None:
    aws = FakePaymentService(reply="PaymentDeclined")
    recorder = ActivityRecorder()
    app = await start_with(start_app, aws, recorder, extra={"release_inventory": recorder.real("release_inventory",
                                                                                               always_fail=True)})
    await app.stock("SKU-1", 10)
    order_id = await app.place(("SKU-1", 3))
    view = await app.finished(order_id)

    assert view["status"] == "NEEDS_ATTENTION" and view["saga"]["phase"] == "needs-attention"
    remaining = [u["activity"] for u in view["attention"]["remainingUndos"]]
    assert remaining == ["release_inventory", "cancel_order"]
    assert [u["activity"] for u in view["saga"]["undoStack"]] == remaining
    assert "release_inventory is unavailable" in view["saga"]["lastError"]["message"]
    assert recorder.calls["release_inventory"] >= 2 and recorder.calls["cancel_order"] == 0
    assert (await app.inventory("SKU-1"))["reserved"] == 3, "what could not be undone is left visible"


async def test_a_failing_step_after_the_pivot_is_retried_and_never_compensated(start_app: StartApp) -> None:
    aws = FakePaymentService()
    recorder = ActivityRecorder()
    app = await start_with(start_app, aws, recorder,
                           extra={"schedule_shipment": recorder.real("schedule_shipment", fail_first=2)})
    await app.stock("SKU-1", 10)
    order_id = await app.place(("SKU-1", 1))
    view = await app.finished(order_id)

    assert view["status"] == "COMPLETED"
    assert recorder.calls["schedule_shipment"] == 3
    assert view["saga"]["attempts"]["schedule_shipment"] == 3
    assert view["saga"]["compensatedSteps"] == [] and all(recorder.calls[u] == 0 for u in UNDOS)


@pytest.mark.parametrize("failing", ["create_order", "reserve_inventory"])
async def test_a_transient_failure_before_the_pivot_is_retried_inside_the_race(
    start_app: StartApp, failing: str
) -> None:
    """Regression: with the Durable retry policy inside a race whose timer is cancelled, the
    replay ran ahead of the extension's retry timers and the saga failed as non-deterministic."""
    aws = FakePaymentService()
    recorder = ActivityRecorder()
    app = await start_with(start_app, aws, recorder, extra={failing: recorder.real(failing, fail_first=2)})
    await app.stock("SKU-1", 10)
    order_id = await app.place(("SKU-1", 1))
    view = await app.finished(order_id)

    assert view["saga"]["runtimeStatus"] == "Completed" and view["status"] == "COMPLETED", view["saga"]
    assert recorder.calls[failing] == 3 and view["saga"]["attempts"][failing] == 3
    assert [e["event"] for e in view["timeline"] if e["step"] == failing].count("retry-scheduled") == 2
    assert view["saga"]["compensatedSteps"] == []


async def test_no_payment_reply_times_out_and_compensates_with_a_request_to_aws(start_app: StartApp) -> None:
    aws = FakePaymentService(reply=None)
    app = await start_with(start_app, aws, PAYMENT_REPLY_TIMEOUT_SECONDS="1")
    await app.stock("SKU-1", 10)
    order_id = await app.place(("SKU-1", 4))
    view = await app.finished(order_id)

    assert view["status"] == "CANCELLED"
    assert view["saga"]["output"]["reason"]["code"] == "REPLY_TIMED_OUT"
    assert aws.sent() == ["PaymentReservationRequested", "PaymentCompensationRequested"]
    assert (await app.inventory("SKU-1"))["available"] == 10


async def test_customer_cancellation_before_the_pivot_compensates(start_app: StartApp) -> None:
    aws = FakePaymentService(reply=None)  # the saga waits for AWS; the customer cancels meanwhile
    app = await start_with(start_app, aws)
    await app.stock("SKU-1", 10)
    order_id = await app.place(("SKU-1", 4))
    await wait_for_step(app, order_id, "reserve_payment")
    status, body, _ = await app.call("POST", f"/api/orders/{order_id}/cancel")
    assert status == 202 and body["status"] == "CANCELLATION_REQUESTED"
    view = await app.finished(order_id)

    assert view["status"] == "CANCELLED" and view["cancelRequested"] is True
    assert view["saga"]["output"]["reason"]["code"] == "CANCELLED_BY_CUSTOMER"
    assert "PaymentCompensationRequested" in aws.sent()
    assert (await app.inventory("SKU-1"))["available"] == 10
    again, body, _ = await app.call("POST", f"/api/orders/{order_id}/cancel")
    assert again == 200 and body["status"] == "CANCELLED"


async def test_cancellation_after_the_pivot_is_refused(start_app: StartApp) -> None:
    app = await start_with(start_app, FakePaymentService())
    await app.stock("SKU-1", 10)
    order_id = await app.place(("SKU-1", 1))
    await app.finished(order_id)
    status, body, _ = await app.call("POST", f"/api/orders/{order_id}/cancel")
    assert status == 409 and body["error"]["code"] == "PAST_POINT_OF_NO_RETURN"
    assert (await app.order(order_id))["status"] == "COMPLETED"


async def wait_for_step(app: AppClient, order_id: str, step: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body, _ = await app.call("GET", f"/api/orders/{order_id}")
        if status == 200 and body["saga"]["currentStep"] == step and body["status"] == "PENDING":
            timeline = [e["event"] for e in body["timeline"] if e["step"] == step]
            if "awaiting-reply" in timeline:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"saga {order_id} never reached {step}")
