"""Stock operations against the `inventory` container: each SKU changes under If-Match.

A multi-SKU order reserves SKU by SKU in a fixed (sorted) order; on the first shortage it
gives back what it took for that order before answering OUT_OF_STOCK, so a rejected order
leaves no reservation behind. If the worker dies half-way, the saga's undo
(`release_inventory`, registered before the step ran) gives back the rest.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ordersaga import inventory
from ordersaga.clock import utc_now
from ordersaga.cosmos_store import CosmosStore, EtagDecision
from ordersaga.outcomes import Outcome, Rejected, RejectionCode, Succeeded


def _retention(store: CosmosStore) -> timedelta:
    return timedelta(hours=store.settings.settled_retention_hours)


async def _reserve_one(
    store: CosmosStore, order_id: str, sku: str, quantity: int
) -> tuple[dict[str, Any] | None, int]:
    """Returns (shortage or None, conflicts). A missing SKU is a shortage of everything."""

    def decide(doc: dict[str, Any] | None) -> EtagDecision:
        if doc is None:
            return EtagDecision(None, {"sku": sku, "requested": quantity, "available": 0, "unknown": True})
        change = inventory.reserve(doc, order_id, quantity, utc_now(), _retention(store))
        return EtagDecision(change.document, change.shortage)

    report = await store.update_with_etag(store.inventory, sku, decide)
    return report.result, report.conflicts


async def _settle_one(store: CosmosStore, order_id: str, sku: str, outcome: str) -> tuple[bool, int]:
    settle = inventory.release if outcome == "released" else inventory.commit

    def decide(doc: dict[str, Any] | None) -> EtagDecision:
        if doc is None:
            return EtagDecision(None, False)
        change = settle(doc, order_id, utc_now(), _retention(store))
        return EtagDecision(change.document, change.applied)

    report = await store.update_with_etag(store.inventory, sku, decide)
    return bool(report.result), report.conflicts


async def reserve_items(store: CosmosStore, order_id: str, items: list[dict[str, Any]]) -> Outcome:
    conflicts = 0
    taken: list[str] = []
    for item in sorted(items, key=lambda i: i["sku"]):
        shortage, seen = await _reserve_one(store, order_id, item["sku"], int(item["quantity"]))
        conflicts += seen
        if shortage is not None:
            for sku in taken:
                _, seen = await _settle_one(store, order_id, sku, "released")
                conflicts += seen
            unknown = shortage.pop("unknown", False)
            code = RejectionCode.UNKNOWN_SKU if unknown else RejectionCode.OUT_OF_STOCK
            detail = shortage | {"conflictRetries": conflicts}
            return Rejected(code, f"not enough stock for {shortage['sku']}", [detail])
        taken.append(item["sku"])
    return Succeeded({"reserved": [{"sku": i["sku"], "quantity": i["quantity"]} for i in items],
                      "conflictRetries": conflicts})


async def settle_items(store: CosmosStore, order_id: str, skus: list[str], outcome: str) -> Outcome:
    """Release (`released`) or sell (`sold`) whatever this order holds on each SKU."""
    changed: list[str] = []
    conflicts = 0
    for sku in sorted(skus):
        applied, seen = await _settle_one(store, order_id, sku, outcome)
        conflicts += seen
        if applied:
            changed.append(sku)
    return Succeeded({outcome: changed, "conflictRetries": conflicts})


async def set_available(store: CosmosStore, sku: str, available: int) -> dict[str, Any]:
    def decide(doc: dict[str, Any] | None) -> EtagDecision:
        updated = inventory.restock(doc, sku, available)
        return EtagDecision(updated, updated)

    report = await store.update_with_etag(store.inventory, sku, decide)
    return stock_view(report.result)


async def read_stock(store: CosmosStore, sku: str) -> dict[str, Any] | None:
    doc = await store.read(store.inventory, sku)
    return stock_view(doc) if doc is not None else None


def stock_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "sku": doc["sku"],
        "available": doc["available"],
        "reserved": doc["reserved"],
        "sold": doc["sold"],
        "reservations": {k: v["quantity"] for k, v in (doc.get("reservations") or {}).items()},
    }
