"""Stock operations against the `inventory` container: each SKU changes under If-Match.

A multi-SKU order reserves SKU by SKU in a fixed (sorted) order, each SKU across its buckets
(see `ordersaga.inventory`); on the first shortage it gives back what it took for that order
before answering OUT_OF_STOCK, so a rejected order
leaves no reservation behind. If the worker dies half-way, the saga's undo
(`release_inventory`, registered before the step ran) gives back the rest.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ordersaga import inventory
from ordersaga.clock import utc_now
from ordersaga.cosmos_store import CosmosStore, EtagDecision
from ordersaga.outcomes import Outcome, Rejected, RejectionCode, Succeeded, TransientError


def _retention(store: CosmosStore) -> timedelta:
    return timedelta(hours=store.settings.settled_retention_hours)


# The bucket count each SKU had when this worker last read it. A stale count is safe: every
# bucket carries the current count, and a reservation that reads a different one starts over
# with it; the count only says where to look first.
_bucket_counts: dict[str, int] = {}


@dataclass
class SkuReservation:
    holdings: list[dict[str, Any]] = field(default_factory=list)
    conflicts: int = 0
    shortage: dict[str, Any] | None = None


async def _reserve_sku(store: CosmosStore, order_id: str, sku: str, quantity: int) -> SkuReservation:
    """Reserve `quantity` units of `sku` for the order across its buckets, under If-Match.

    The order starts at the bucket its id picks and moves on to the next one when a bucket
    is short (taking what it has) or contended (a 412: another order wrote it first; it is
    retried after the others, not reread at once). The SKU is short only when a whole round
    of buckets, none of them contended, could not cover the quantity.
    """
    outcome = SkuReservation()
    known: dict[str, dict[str, Any]] = {}
    count = _bucket_counts.get(sku)
    if count is None:
        head = await store.read(store.inventory, sku)
        if head is None:
            outcome.shortage = {"sku": sku, "requested": quantity, "available": 0, "unknown": True}
            return outcome
        count = _bucket_counts[sku] = inventory.bucket_count(head)
        known[sku] = head
    now, retention = utc_now(), _retention(store)
    for _ in range(store.settings.conflict_max_attempts):
        held: dict[str, int] = {}
        contended, seen_available, recount, found = False, 0, None, False
        first = inventory.bucket_start(order_id, count)
        for index in [(first + step) % count for step in range(count)]:
            doc_id = inventory.bucket_id(sku, index)
            doc = known.pop(doc_id, None) or await store.read(store.inventory, doc_id)
            if doc is None:
                continue
            found = True
            if inventory.bucket_count(doc) != count:
                recount = inventory.bucket_count(doc)
                break
            wanted = quantity - sum(held.values())
            decided = inventory.take(doc, order_id, wanted, now, retention)
            if decided.settled:  # a late duplicate of a reservation already given back or sold
                return outcome
            seen_available += int(doc["available"])
            if decided.document is not None:
                if not await store.replace_if_unchanged(store.inventory, decided.document, doc["_etag"]):
                    outcome.conflicts += 1
                    contended = True
                    continue
            if decided.held:
                held[doc_id] = decided.held
            if sum(held.values()) >= quantity:
                break
        outcome.holdings = [{"sku": sku, "bucket": doc_id, "quantity": units} for doc_id, units in held.items()]
        if recount is not None:
            count = _bucket_counts[sku] = recount
            continue
        if sum(held.values()) >= quantity:
            return outcome
        if not contended:
            outcome.shortage = {"sku": sku, "requested": quantity, "available": seen_available} | (
                {} if found else {"unknown": True})
            return outcome
        # Full jitter keeps orders that collided from colliding again in lockstep.
        await asyncio.sleep(random.uniform(0, store.settings.conflict_base_delay_ms * 4) / 1000.0)
    raise TransientError(f"{sku}: buckets still contended after {store.settings.conflict_max_attempts} rounds")


async def _settle_bucket(store: CosmosStore, order_id: str, doc_id: str, outcome: str,
                         bar: bool = False) -> tuple[bool, int]:
    settle = inventory.commit if outcome == "sold" else inventory.release_or_bar if bar else inventory.release

    def decide(doc: dict[str, Any] | None) -> EtagDecision:
        if doc is None:
            return EtagDecision(None, False)
        change = settle(doc, order_id, utc_now(), _retention(store))
        return EtagDecision(change.document, change.applied)

    report = await store.update_with_etag(store.inventory, doc_id, decide)
    return bool(report.result), report.conflicts


async def _bucket_ids(store: CosmosStore, sku: str) -> list[str]:
    """Every bucket of a SKU (for an undo that does not know where the order's units are)."""
    head = await store.read(store.inventory, sku)
    if head is None:
        return []
    return [inventory.bucket_id(sku, index) for index in range(inventory.bucket_count(head))]


async def reserve_items(store: CosmosStore, order_id: str, items: list[dict[str, Any]]) -> Outcome:
    conflicts = 0
    holdings: list[dict[str, Any]] = []
    for item in sorted(items, key=lambda i: i["sku"]):
        reservation = await _reserve_sku(store, order_id, item["sku"], int(item["quantity"]))
        conflicts += reservation.conflicts
        holdings += reservation.holdings
        if reservation.shortage is not None:
            for holding in holdings:  # what this order took so far goes back before it answers
                _, seen = await _settle_bucket(store, order_id, holding["bucket"], "released")
                conflicts += seen
            shortage = reservation.shortage
            unknown = shortage.pop("unknown", False)
            code = RejectionCode.UNKNOWN_SKU if unknown else RejectionCode.OUT_OF_STOCK
            # "holdings": [] tells the saga this order holds nothing now, so its undo writes nothing.
            detail = shortage | {"conflictRetries": conflicts, "holdings": []}
            return Rejected(code, f"not enough stock for {shortage['sku']}", [detail])
    return Succeeded({"reserved": [{"sku": i["sku"], "quantity": i["quantity"]} for i in items],
                      "holdings": holdings, "conflictRetries": conflicts})


async def settle_items(store: CosmosStore, order_id: str, skus: list[str], outcome: str,
                       holdings: list[dict[str, Any]] | None = None) -> Outcome:
    """Release (`released`) or sell (`sold`) whatever this order holds on each SKU: in the
    buckets its reservation reported (`holdings`, carried by the saga), or, when the saga
    does not know them (the reservation's answer was lost), in every bucket of the SKU."""
    changed: list[str] = []
    conflicts = 0
    for sku in sorted(set(skus)):
        known = [h["bucket"] for h in holdings or [] if h.get("sku") == sku]
        doc_ids = known if holdings is not None else await _bucket_ids(store, sku)
        # Not knowing where the units are means the reservation's answer never came: it may
        # still be running, so a release bars the order in every bucket it finds empty.
        bar = holdings is None and outcome == "released"
        for doc_id in doc_ids:
            applied, seen = await _settle_bucket(store, order_id, doc_id, outcome, bar)
            conflicts += seen
            if applied and sku not in changed:
                changed.append(sku)
    return Succeeded({outcome: changed, "conflictRetries": conflicts})


async def set_available(store: CosmosStore, sku: str, available: int, buckets: int | None = None) -> dict[str, Any]:
    """Set the SKU's free units, spread over `buckets` documents (kept as they are when
    None). Buckets beyond a lowered count keep what they hold and get no free units."""
    head = await store.read(store.inventory, sku)
    before = inventory.bucket_count(head) if head is not None else 1
    count = buckets or before
    shares = inventory.shares(available, count)
    # New buckets exist before the head announces them; the head (bucket 0) is written last.
    for index in [*range(1, max(count, before)), 0]:
        units = shares[index] if index < count else 0

        def decide(doc: dict[str, Any] | None, index: int = index, units: int = units) -> EtagDecision:
            if doc is None and index >= count:
                return EtagDecision(None)
            return EtagDecision(inventory.restock(doc, sku, units, index, count))

        await store.update_with_etag(store.inventory, inventory.bucket_id(sku, index), decide)
    _bucket_counts[sku] = count
    view = await read_stock(store, sku)
    assert view is not None
    return view


async def read_stock(store: CosmosStore, sku: str) -> dict[str, Any] | None:
    head = await store.read(store.inventory, sku)
    if head is None:
        return None
    docs = [head]
    for doc_id in (await _bucket_ids(store, sku))[1:]:
        doc = await store.read(store.inventory, doc_id)
        if doc is not None:
            docs.append(doc)
    return stock_view(docs)


def stock_view(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The SKU's totals over its buckets; `reservations` sums what each order holds."""
    reservations: dict[str, int] = {}
    for doc in docs:
        for order_id, held in (doc.get("reservations") or {}).items():
            reservations[order_id] = reservations.get(order_id, 0) + int(held["quantity"])
    return {
        "sku": docs[0]["sku"],
        "available": sum(int(d["available"]) for d in docs),
        "reserved": sum(int(d["reserved"]) for d in docs),
        "sold": sum(int(d["sold"]) for d in docs),
        "buckets": inventory.bucket_count(docs[0]),
        "reservations": reservations,
    }
