"""The transactional outbox (SagaOutbox): every event AWS sends to Azure is first a row
written in the same transaction as the state change that caused it; the relay
(`aws.relay`) moves it to EventBridge afterwards.

Outbound ids are deterministic (`ordersaga.events.new_event`: saga | type | step), so the
outbox Put carries `attribute_not_exists(eventId)`: the same reply can never be queued twice.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from aws import dynamo
from aws.model import OutboxStatus
from aws.settings import Backend
from ordersaga.events import AWS_SOURCE, SagaEvent, new_event

# The saga step each reply belongs to (part of the deterministic id), matching the step names
# the Azure side publishes its requests under.
REPLY_STEPS = {
    "PaymentReserved": "reserve_payment",
    "PaymentDeclined": "reserve_payment",
    "PaymentCompensated": "reserve_payment",
    "PaymentCaptured": "capture_payment",
    "OrderCompensationRequested": "capture_payment",
}


def reply_to(inbound: SagaEvent, event_type: str, *, amount: Decimal | None = None, reason: str | None = None,
              time: str | None = None) -> SagaEvent:
    """The AWS → Azure event answering `inbound`, carrying its ids, customer, currency and trace."""
    data: dict[str, Any] = {key: inbound.data[key] for key in ("orderId", "sagaId", "customerId", "currency")
                            if key in inbound.data}
    if amount is not None:
        data["amount"] = format_amount(amount)
    elif "amount" in inbound.data:
        data["amount"] = inbound.data["amount"]
    if reason:
        data["reason"] = reason[:1000]
    return new_event(event_type, AWS_SOURCE, REPLY_STEPS[event_type], data, time=time,
                     traceparent=inbound.traceparent)


def put_outbox_row(backend: Backend, event: SagaEvent) -> dict[str, Any]:
    """A TransactWriteItems entry queueing `event` for the relay."""
    return {"Put": {
        "TableName": backend.settings.outbox,
        "Item": dynamo.to_item({
            "eventId": event.id, "type": event.type, "sagaId": event.data["sagaId"],
            "event": json.dumps(event.to_cloudevent(), separators=(",", ":")),
            "status": OutboxStatus.UNSENT.value,
            "relayState": OutboxStatus.UNSENT.value,  # the sparse `Unsent` index key; removed once sent
            "createdAt": backend.iso_now(), "attempts": 0,
        }),
        "ConditionExpression": "attribute_not_exists(eventId)",
    }}


def format_amount(amount: Decimal) -> str:
    """Decimal → the contract's amount string (no exponent, no trailing zeros beyond the cents given)."""
    text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
