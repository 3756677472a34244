"""Activities that talk to the AWS payment participant: each publishes ONE event to the
Event Grid topic routed to AWS, so a retry re-sends only that publish. Replies come back
through the inbound Event Grid trigger (`triggers/aws_events.py`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import azure.durable_functions as df

from ordersaga.event_publisher import publish
from ordersaga.events import AZURE_SOURCE, new_event
from ordersaga.orders import order_total
from ordersaga.outcomes import Succeeded
from ordersaga.telemetry import traced_activity

bp = df.Blueprint()


def _payment_data(request: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
    order = request["order"]
    data = {"orderId": request["orderId"], "sagaId": request["sagaId"], "customerId": order["customerId"],
            "amount": str(order_total(order["items"])), "currency": order["currency"]}
    return data | ({"reason": reason[:1000]} if reason else {})


async def _publish(request: dict[str, Any], event_type: str, step: str, reason: str | None = None) -> dict[str, Any]:
    event = new_event(event_type, AZURE_SOURCE, step, _payment_data(request, reason),
                      traceparent=request.get("traceparent"))
    initiator = request["order"].get("initiator")
    if initiator:  # who placed the order travels with every request to AWS (confused-deputy check there)
        event = replace(event, extensions={"initiatorid": initiator})
    await publish([event])
    return Succeeded({"eventId": event.id, "type": event_type}).to_json()


@bp.activity_trigger(input_name="request")
@traced_activity
async def request_payment(request: dict[str, Any]) -> dict[str, Any]:
    return await _publish(request, "PaymentReservationRequested", "reserve_payment")


@bp.activity_trigger(input_name="request")
@traced_activity
async def request_payment_compensation(request: dict[str, Any]) -> dict[str, Any]:
    """The undo of reserve_payment. AWS releases idempotently and ignores it when nothing was
    reserved, so it is safe to send whatever happened to the request or its reply."""
    reason = request.get("reason") or {}
    return await _publish(request, "PaymentCompensationRequested", "reserve_payment",
                          f"{reason.get('code')}: {reason.get('message')}" if reason else None)


@bp.activity_trigger(input_name="request")
@traced_activity
async def request_payment_capture(request: dict[str, Any]) -> dict[str, Any]:
    return await _publish(request, "PaymentCaptureRequested", "capture_payment")
