"""The order document and its state machine (the saga's semantic lock).

An order is `PENDING` while the saga may still undo it; only the pivot moves it to
`APPROVED`, after which it can only go forward. Every transition is written with If-Match
on the ETag that was read, so two writers can never both win.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    NEEDS_ATTENTION = "NEEDS_ATTENTION"


TERMINAL_STATUSES = frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELLED})

# Allowed moves. APPROVED → CANCELLED exists only for compensation after a pivot whose
# outcome stayed unknown (every attempt raised); the orchestrator never compensates once it
# has seen the pivot succeed. NEEDS_ATTENTION is where a saga parks when an undo or a
# forward step cannot finish; an operator moves it on.
ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.APPROVED, OrderStatus.CANCELLED, OrderStatus.NEEDS_ATTENTION}),
    OrderStatus.APPROVED: frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.NEEDS_ATTENTION}),
    OrderStatus.NEEDS_ATTENTION: frozenset({OrderStatus.CANCELLED, OrderStatus.COMPLETED}),
    OrderStatus.COMPLETED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


def can_transition(current: str, target: OrderStatus) -> bool:
    try:
        return target in ALLOWED_TRANSITIONS[OrderStatus(current)]
    except ValueError:
        return False


def order_total(items: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(item["unitPrice"]) * int(item["quantity"]) for item in items), Decimal("0"))


def new_order_document(order: dict[str, Any], saga_instance_id: str, now: str) -> dict[str, Any]:
    """The document `create_order` writes. `id` is the order id and the partition key."""
    return {
        "id": order["orderId"],
        "orderId": order["orderId"],
        "customerId": order["customerId"],
        "currency": order["currency"],
        "items": order["items"],
        "total": str(order_total(order["items"])),
        "status": OrderStatus.PENDING.value,
        "sagaInstanceId": saga_instance_id,
        "cancelRequested": False,
        "createdAt": now,
        "updatedAt": now,
        "statusHistory": [{"status": OrderStatus.PENDING.value, "at": now, "reason": "order received"}],
    }


def with_status(doc: dict[str, Any], target: OrderStatus, now: str, reason: str) -> dict[str, Any]:
    updated = dict(doc)
    updated["status"] = target.value
    updated["updatedAt"] = now
    updated["statusHistory"] = [*doc.get("statusHistory", []), {"status": target.value, "at": now, "reason": reason}]
    return updated
