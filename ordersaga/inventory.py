"""Stock arithmetic on one SKU document, as pure functions.

A SKU document holds the counters and, under each order id, what that order holds:

    {"id": sku, "sku": sku, "available": 7, "reserved": 3, "sold": 10,
     "reservations": {"<orderId>": {"quantity": 3, "at": "…"}},
     "settled": {"<orderId>": {"outcome": "released" | "sold", "quantity": 3, "at": "…"}}}

`available + reserved + sold` only changes through restocking. Recording reservations and
their settlement by order id is what makes every activity safe to run twice: a second
reserve, release or commit for the same order finds its own record and changes nothing.
`settled` entries are pruned after a retention period so hot SKUs stay small.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class StockChange:
    """What a pure stock function decided: the new document (None = write nothing)."""

    document: dict[str, Any] | None
    applied: bool
    shortage: dict[str, Any] | None = None


def new_sku_document(sku: str, available: int) -> dict[str, Any]:
    return {"id": sku, "sku": sku, "available": available, "reserved": 0, "sold": 0,
            "reservations": {}, "settled": {}}


def _copy(doc: dict[str, Any]) -> dict[str, Any]:
    copied = dict(doc)
    copied["reservations"] = dict(doc.get("reservations") or {})
    copied["settled"] = dict(doc.get("settled") or {})
    return copied


def _prune(doc: dict[str, Any], now: datetime, retention: timedelta) -> None:
    cutoff = (now - retention).isoformat()
    doc["settled"] = {k: v for k, v in doc["settled"].items() if v.get("at", "") >= cutoff}


def reserve(doc: dict[str, Any], order_id: str, quantity: int, now: datetime, retention: timedelta) -> StockChange:
    if order_id in (doc.get("reservations") or {}) or order_id in (doc.get("settled") or {}):
        return StockChange(None, applied=False)  # already reserved (or already settled): nothing to do twice
    if doc["available"] < quantity:
        return StockChange(None, applied=False,
                           shortage={"sku": doc["sku"], "requested": quantity, "available": doc["available"]})
    updated = _copy(doc)
    updated["available"] -= quantity
    updated["reserved"] += quantity
    updated["reservations"][order_id] = {"quantity": quantity, "at": now.isoformat()}
    _prune(updated, now, retention)
    return StockChange(updated, applied=True)


def _settle(doc: dict[str, Any], order_id: str, outcome: str, now: datetime, retention: timedelta) -> StockChange:
    held = (doc.get("reservations") or {}).get(order_id)
    if held is None:
        return StockChange(None, applied=False)
    quantity = int(held["quantity"])
    updated = _copy(doc)
    del updated["reservations"][order_id]
    updated["reserved"] -= quantity
    if outcome == "released":
        updated["available"] += quantity
    else:
        updated["sold"] += quantity
    updated["settled"][order_id] = {"outcome": outcome, "quantity": quantity, "at": now.isoformat()}
    _prune(updated, now, retention)
    return StockChange(updated, applied=True)


def release(doc: dict[str, Any], order_id: str, now: datetime, retention: timedelta) -> StockChange:
    """Give back exactly what this order holds; a no-op when it holds nothing."""
    return _settle(doc, order_id, "released", now, retention)


def commit(doc: dict[str, Any], order_id: str, now: datetime, retention: timedelta) -> StockChange:
    """Turn this order's reservation into a sale; a no-op when it holds nothing."""
    return _settle(doc, order_id, "sold", now, retention)


def restock(doc: dict[str, Any] | None, sku: str, available: int) -> dict[str, Any]:
    """Set the units on hand that are free to reserve; reservations and sales are kept."""
    if doc is None:
        return new_sku_document(sku, available)
    updated = _copy(doc)
    updated["available"] = available
    return updated
