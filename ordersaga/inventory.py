"""Stock arithmetic on one SKU bucket document, as pure functions.

A SKU's stock lives in one or more *bucket* documents (`buckets`, set through the stock admin
API, default 1). Bucket 0 has the SKU as its id; bucket i > 0 is `<sku>~<i>` (`~` is never
in a SKU). Each bucket has its own ETag, so orders on a hot SKU write different documents
instead of queueing on one. A bucket holds its counters and, under each order id, what that
order holds there:

    {"id": sku, "sku": sku, "bucket": 0, "buckets": 4, "available": 7, "reserved": 3, "sold": 10,
     "reservations": {"<orderId>": {"quantity": 3, "at": "…"}},
     "settled": {"<orderId>": {"outcome": "released" | "sold", "quantity": 3, "at": "…"}}}

`available + reserved + sold` only changes through restocking. Recording reservations and
their settlement by order id is what makes every activity safe to run twice: a second
reserve, release or commit for the same order finds its own record and changes nothing.
`settled` entries are pruned after a retention period and capped in number per bucket, so
a bucket's size is bounded by its stock (open reservations hold at least one unit each)
plus the cap, however many orders touched it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class StockChange:
    """What a pure stock function decided: the new document (None = write nothing)."""

    document: dict[str, Any] | None
    applied: bool
    shortage: dict[str, Any] | None = None


# How many settled markers a bucket keeps at most (newest first), besides the retention.
SETTLED_CAP = 500


def bucket_id(sku: str, index: int) -> str:
    return sku if index == 0 else f"{sku}~{index}"


def bucket_start(order_id: str, buckets: int) -> int:
    """The bucket an order tries first: spread by the order id, the same on every retry
    (so a retried reservation finds what it already holds first)."""
    return zlib.crc32(order_id.encode()) % max(buckets, 1)


def bucket_count(doc: dict[str, Any]) -> int:
    return max(int(doc.get("buckets") or 1), 1)


def new_sku_document(sku: str, available: int, bucket: int = 0, buckets: int = 1) -> dict[str, Any]:
    return {"id": bucket_id(sku, bucket), "sku": sku, "bucket": bucket, "buckets": buckets,
            "available": available, "reserved": 0, "sold": 0, "reservations": {}, "settled": {}}


def shares(total: int, buckets: int) -> list[int]:
    """`total` units spread over `buckets` as evenly as whole units allow."""
    base, extra = divmod(total, buckets)
    return [base + (1 if index < extra else 0) for index in range(buckets)]


@dataclass(frozen=True)
class Take:
    """What `take` decided on one bucket: the new document (None = write nothing), how many
    units this order holds there afterwards, and whether the order was settled already."""

    document: dict[str, Any] | None
    held: int
    settled: bool = False


def take(doc: dict[str, Any], order_id: str, wanted: int, now: datetime, retention: timedelta) -> Take:
    """Reserve up to `wanted` units of this bucket for the order (fewer when it has fewer).
    An order that already holds units here keeps them and takes nothing more; one already
    settled here (a late duplicate of its reservation) takes nothing at all."""
    held = (doc.get("reservations") or {}).get(order_id)
    if held is not None:
        return Take(None, int(held["quantity"]))
    if order_id in (doc.get("settled") or {}):
        return Take(None, 0, settled=True)
    quantity = min(int(doc["available"]), wanted)
    if quantity <= 0:
        return Take(None, 0)
    updated = _copy(doc)
    updated["available"] -= quantity
    updated["reserved"] += quantity
    updated["reservations"][order_id] = {"quantity": quantity, "at": now.isoformat()}
    _prune(updated, now, retention)
    return Take(updated, quantity)


def _copy(doc: dict[str, Any]) -> dict[str, Any]:
    copied = dict(doc)
    copied["reservations"] = dict(doc.get("reservations") or {})
    copied["settled"] = dict(doc.get("settled") or {})
    return copied


def _prune(doc: dict[str, Any], now: datetime, retention: timedelta) -> None:
    cutoff = (now - retention).isoformat()
    kept = [(k, v) for k, v in doc["settled"].items() if v.get("at", "") >= cutoff]
    if len(kept) > SETTLED_CAP:
        kept = sorted(kept, key=lambda item: str(item[1].get("at", "")))[-SETTLED_CAP:]
    doc["settled"] = dict(kept)


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


def release_or_bar(doc: dict[str, Any], order_id: str, now: datetime, retention: timedelta) -> StockChange:
    """Release what the order holds here; when it holds nothing, leave a settled marker of 0
    units instead, so that its reservation, if it is still on its way (the saga gave up
    waiting for it), takes nothing when it arrives."""
    change = release(doc, order_id, now, retention)
    if change.document is not None or order_id in (doc.get("settled") or {}):
        return change
    updated = _copy(doc)
    updated["settled"][order_id] = {"outcome": "released", "quantity": 0, "at": now.isoformat()}
    _prune(updated, now, retention)
    return StockChange(updated, applied=False)


def release(doc: dict[str, Any], order_id: str, now: datetime, retention: timedelta) -> StockChange:
    """Give back exactly what this order holds; a no-op when it holds nothing."""
    return _settle(doc, order_id, "released", now, retention)


def commit(doc: dict[str, Any], order_id: str, now: datetime, retention: timedelta) -> StockChange:
    """Turn this order's reservation into a sale; a no-op when it holds nothing."""
    return _settle(doc, order_id, "sold", now, retention)


def restock(doc: dict[str, Any] | None, sku: str, available: int, bucket: int = 0,
            buckets: int = 1) -> dict[str, Any]:
    """Set the units free to reserve in this bucket and the SKU's bucket count;
    reservations and sales are kept."""
    if doc is None:
        return new_sku_document(sku, available, bucket, buckets)
    updated = _copy(doc)
    updated["available"] = available
    updated["bucket"], updated["buckets"] = bucket, buckets
    return updated
