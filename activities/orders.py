"""Activities on the order document: create, cancel (undo), confirm (pivot), complete, park."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from ordersaga import inventory_repository, order_repository
from ordersaga.cosmos_store import get_store
from ordersaga.orders import OrderStatus
from ordersaga.outcomes import Succeeded
from ordersaga.telemetry import traced_activity

bp = df.Blueprint()


def _reason(request: dict[str, Any], default: str) -> str:
    reason = request.get("reason") or {}
    return f"{reason['code']}: {reason['message']}" if reason else default


@bp.activity_trigger(input_name="request")
@traced_activity
async def create_order(request: dict[str, Any]) -> dict[str, Any]:
    store = await get_store()
    return (await order_repository.create_order(store, request["order"], request["sagaId"])).to_json()


@bp.activity_trigger(input_name="request")
@traced_activity
async def cancel_order(request: dict[str, Any]) -> dict[str, Any]:
    store = await get_store()
    outcome = await order_repository.cancel_order(store, request["orderId"], request["sagaId"],
                                                  _reason(request, "compensated"), request.get("orderVersion"))
    return outcome.to_json()


@bp.activity_trigger(input_name="request")
@traced_activity
async def confirm_order(request: dict[str, Any]) -> dict[str, Any]:
    """The pivot. Refuses an order the customer asked to cancel: the If-Match write here and
    the cancel endpoint's If-Match write cannot both succeed."""
    store = await get_store()
    outcome = await order_repository.transition(
        store, request["orderId"], OrderStatus.APPROVED, "payment reserved; order confirmed",
        allowed_from=frozenset({OrderStatus.PENDING}), refuse_if_cancel_requested=True,
        known=request.get("orderVersion"),
    )
    return outcome.to_json()


@bp.activity_trigger(input_name="request")
@traced_activity
async def complete_order(request: dict[str, Any]) -> dict[str, Any]:
    """Reservations become sales first, then the order completes: if the worker dies in
    between, the retry finds the sales already made and only completes the order."""
    store = await get_store()
    skus = [item["sku"] for item in request["order"]["items"]]
    sold = await inventory_repository.settle_items(store, request["orderId"], skus, "sold", request.get("holdings"))
    outcome = await order_repository.transition(
        store, request["orderId"], OrderStatus.COMPLETED, "shipped; reservations sold",
        # NEEDS_ATTENTION only when parked after the pivot and retried by an operator.
        allowed_from=frozenset({OrderStatus.APPROVED, OrderStatus.NEEDS_ATTENTION}),
        requires_past=OrderStatus.APPROVED, known=request.get("orderVersion"),
    )
    if isinstance(outcome, Succeeded) and isinstance(sold, Succeeded):
        return Succeeded(outcome.data | {"sold": sold.data["sold"]}).to_json()
    return outcome.to_json()


@bp.activity_trigger(input_name="request")
@traced_activity
async def park_order(request: dict[str, Any]) -> dict[str, Any]:
    """NEEDS_ATTENTION, with the undos still to run and the last error, for an operator."""
    store = await get_store()
    attention = {"where": request["step"], "remainingUndos": request["remainingUndos"],
                 "lastError": request["lastError"]}
    outcome = await order_repository.transition(
        store, request["orderId"], OrderStatus.NEEDS_ATTENTION, f"parked at {request['step']}",
        allowed_from=frozenset({OrderStatus.PENDING, OrderStatus.APPROVED}), extra={"attention": attention},
        known=request.get("orderVersion"),
    )
    return outcome.to_json()
