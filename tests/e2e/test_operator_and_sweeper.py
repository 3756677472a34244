"""Operator recovery and the zombie sweeper, on devhost over HTTP with Cosmos behind them.

- A parked saga (NEEDS_ATTENTION) is listed for admins, and can be retried (a repair saga
  finishes the undos that were left) or marked compensated; each action and its reason are
  recorded on the order.
- The sweeper (run by hand through the host's admin endpoint, as the timer would) repairs a
  PENDING order whose saga is gone and tells a saga running past the deadline to compensate;
  two overlapping sweeps do the work once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from devhost.worker_loop import on_worker_loop
from ordersaga import order_repository
from tests.e2e.conftest import AppClient, StartApp, on_app_loop_store
from tests.e2e.fake_aws import FakePaymentService
from tests.support.activities import run_activity

pytestmark = pytest.mark.integration


class Outage:
    """An activity that fails while `down` is set, and runs the real one otherwise."""

    def __init__(self, name: str) -> None:
        self.name, self.down, self.calls = name, True, 0

    async def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.down:
            raise RuntimeError(f"{self.name} is unavailable (injected outage)")
        result: dict[str, Any] = await run_activity(self.name, request)
        return result


async def parked_order(start_app: StartApp) -> tuple[AppClient, str, Outage, FakePaymentService]:
    """A declined payment whose inventory release keeps failing: the saga parks."""
    aws = FakePaymentService(reply="PaymentDeclined")
    outage = Outage("release_inventory")
    app = await start_app(activity_overrides=aws.overrides() | {"release_inventory": outage})
    aws.host = app.host
    await app.stock("SKU-1", 10)
    order_id = await app.place(("SKU-1", 3))
    view = await app.finished(order_id)
    assert view["status"] == "NEEDS_ATTENTION", view
    return app, order_id, outage, aws


async def resolve(app: AppClient, order_id: str, body: dict[str, Any], admin: bool = True) -> tuple[int, Any]:
    status, answer, _ = await app.call("POST", f"/api/orders/{order_id}/resolve", admin=admin, json=body)
    return status, answer


async def test_a_parked_saga_is_listed_and_a_retry_finishes_its_undos(start_app: StartApp) -> None:
    app, order_id, outage, _ = await parked_order(start_app)

    status, listed, _ = await app.call("GET", "/api/orders?status=NEEDS_ATTENTION", admin=True)
    assert status == 200 and [o["orderId"] for o in listed["orders"]] == [order_id]
    assert [u["activity"] for u in listed["orders"][0]["attention"]["remainingUndos"]] == [
        "release_inventory", "cancel_order"]

    outage.down = False  # the dependency is back; the operator retries
    status, answer = await resolve(app, order_id, {"action": "retry", "reason": "inventory service restored"})
    assert status == 202, answer
    await app.host.wait_for_completion(answer["repairInstanceId"], timeout=30)

    view = await app.order(order_id)
    assert view["status"] == "CANCELLED"
    stock = await app.inventory("SKU-1")
    assert stock["available"] == 10 and stock["reserved"] == 0
    actions = view["operatorActions"]
    assert [(a["action"], a["reason"]) for a in actions] == [("retry", "inventory service restored")]
    assert actions[0]["repairInstanceId"] == answer["repairInstanceId"]
    status, listed, _ = await app.call("GET", "/api/orders?status=NEEDS_ATTENTION", admin=True)
    assert listed["orders"] == []


async def test_a_parked_saga_can_be_marked_compensated_with_a_reason(start_app: StartApp) -> None:
    app, order_id, _, _ = await parked_order(start_app)
    status, answer = await resolve(app, order_id, {"action": "mark-compensated",
                                                   "reason": "stock released by hand in the warehouse system"})
    assert status == 200 and answer["status"] == "CANCELLED"
    view = await app.order(order_id)
    assert view["status"] == "CANCELLED"
    assert view["operatorActions"][0]["action"] == "mark-compensated"
    assert view["operatorActions"][0]["reason"] == "stock released by hand in the warehouse system"

    again, body = await resolve(app, order_id, {"action": "retry", "reason": "twice"})
    assert again == 409 and body["error"]["code"] == "NOT_PARKED"


async def test_operator_endpoints_need_the_admin_key_and_valid_input(start_app: StartApp) -> None:
    app, order_id, _, _ = await parked_order(start_app)
    status, _, _ = await app.call("GET", "/api/orders?status=NEEDS_ATTENTION")  # function key only
    assert status == 401
    status, _ = await resolve(app, order_id, {"action": "retry", "reason": "x"}, admin=False)
    assert status == 401
    status, body = await resolve(app, order_id, {"action": "delete", "reason": ""})
    assert status == 400 and {d["field"] for d in body["error"]["details"]} == {"action", "reason"}
    status, body, _ = await app.call("GET", "/api/orders?status=BOGUS", admin=True)
    assert status == 400 and body["error"]["details"][0]["field"] == "status"
    status, body = await resolve(app, "ord-does-not-exist", {"action": "retry", "reason": "x"})
    assert status == 404
    assert (await app.order(order_id))["status"] == "NEEDS_ATTENTION", "refused requests change nothing"


async def sweep(app: AppClient, times: int = 1) -> None:
    """Run the timer function by hand through the host's admin API, `times` at once."""
    async def one() -> None:
        status, _, _ = await app.call("POST", "/admin/functions/saga_sweeper", admin=True, json={"input": ""})
        assert status == 202

    await asyncio.gather(*(one() for _ in range(times)))


async def eventually_status(app: AppClient, order_id: str, wanted: str, timeout: float = 20.0) -> dict[str, Any]:
    for _ in range(int(timeout / 0.1)):
        view = await app.order(order_id)
        if view["status"] == wanted:
            return view
        await asyncio.sleep(0.1)
    raise AssertionError(f"{order_id} never reached {wanted}: {view['status']}")


async def test_the_sweeper_repairs_pending_orders_whose_saga_is_gone(start_app: StartApp) -> None:
    aws = FakePaymentService(reply=None)  # sagas wait for a payment reply that never comes
    app = await start_app(activity_overrides=aws.overrides(), SAGA_DEADLINE_SECONDS="1")
    aws.host = app.host
    await app.stock("SKU-1", 10)
    terminated, purged = await app.place(("SKU-1", 2)), await app.place(("SKU-1", 3))
    for order_id in (terminated, purged):
        await app.host.wait_for_status(order_id, lambda s: "reserve_payment" in str(s.get("customStatus")))
    await app.host.terminate(terminated, "host lost it")
    await app.host.wait_for_completion(terminated)
    await app.host.terminate(purged, "about to purge")
    await app.host.wait_for_completion(purged)
    await app.host.purge(purged)
    # And an order whose saga never existed at all (its start was lost).
    lost = {"orderId": "ord-lost-1", "customerId": "c-1", "currency": "EUR",
            "items": [{"sku": "SKU-1", "quantity": 1, "unitPrice": "5.00"}]}
    await on_worker_loop(order_repository.create_order, await on_app_loop_store(), lost, "ord-lost-1")
    assert (await app.inventory("SKU-1"))["reserved"] == 5
    await asyncio.sleep(1.2)  # past SAGA_DEADLINE_SECONDS

    await sweep(app, times=2)  # two overlapping sweeps
    for order_id in (terminated, purged, "ord-lost-1"):
        view = await eventually_status(app, order_id, "CANCELLED")
        repair = await app.host.get_status(f"{order_id}:sweep")
        assert repair is not None and repair["runtimeStatus"] == "Completed", repair
        assert view["statusHistory"][-1]["status"] == "CANCELLED"
    stock = await app.inventory("SKU-1")
    assert stock["available"] == 10 and stock["reserved"] == 0
    # Every repair asked AWS to compensate whatever it may have reserved.
    assert aws.sent().count("PaymentCompensationRequested") >= 3


async def test_the_sweeper_tells_a_saga_past_its_deadline_to_compensate(start_app: StartApp) -> None:
    aws = FakePaymentService(reply=None)
    app = await start_app(activity_overrides=aws.overrides(), SAGA_DEADLINE_SECONDS="1")
    aws.host = app.host
    await app.stock("SKU-1", 10)
    order_id = await app.place(("SKU-1", 4))
    await app.host.wait_for_status(order_id, lambda s: "reserve_payment" in str(s.get("customStatus")))
    await asyncio.sleep(1.2)

    await sweep(app, times=2)  # the second raise finds the saga compensating or done: ignored
    view = await app.finished(order_id)
    assert view["status"] == "CANCELLED"
    assert view["saga"]["output"]["reason"]["code"] == "SAGA_DEADLINE_EXCEEDED"
    assert await app.host.get_status(f"{order_id}:sweep") is None, "a live saga is nudged, not repaired"
    assert (await app.inventory("SKU-1"))["available"] == 10
