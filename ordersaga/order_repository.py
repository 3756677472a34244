"""Order documents in the `orders` container; every status change goes through If-Match."""

from __future__ import annotations

from typing import Any

from ordersaga.clock import iso, utc_now
from ordersaga.cosmos_store import CosmosStore, EtagDecision
from ordersaga.orders import OrderStatus, can_transition, new_order_document, with_status
from ordersaga.outcomes import Outcome, Rejected, RejectionCode, Succeeded, TransientError

_IMMUTABLE_FIELDS = ("customerId", "currency", "items")


def order_version(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """The version of an order document a saga holds on to: its ETag and status. The next
    activity on the order writes against it without reading (If-Match); anyone else's write
    in between changes the ETag, and that activity rereads (`transition`)."""
    if not doc or "_etag" not in doc:
        return None
    return {"etag": doc["_etag"], "status": doc["status"]}


def _with_version(outcome: Outcome, doc: dict[str, Any] | None) -> Outcome:
    version = order_version(doc)
    if isinstance(outcome, Succeeded) and version is not None:
        return Succeeded(outcome.data | {"orderVersion": version})
    return outcome


async def create_order(store: CosmosStore, order: dict[str, Any], saga_instance_id: str) -> Outcome:
    """Create the order PENDING. Running it twice is harmless: an existing order with the same
    content counts as created; one with other content is refused rather than overwritten."""
    doc = new_order_document(order, saga_instance_id, iso(utc_now()))
    created = await store.create_returning(store.orders, doc)
    if created is not None:
        return _with_version(Succeeded({"orderId": doc["id"], "status": doc["status"], "created": True}), created)
    existing = await store.read(store.orders, doc["id"])
    if existing is None:  # deleted between our create and read: let the retry policy try again
        raise TransientError(f"order {doc['id']} vanished while being created")
    if any(existing.get(f) != doc[f] for f in _IMMUTABLE_FIELDS):
        return Rejected(RejectionCode.ORDER_MISMATCH, f"order {doc['id']} already exists with other content")
    return _with_version(Succeeded({"orderId": doc["id"], "status": existing["status"], "created": False}),
                         existing)


async def transition(
    store: CosmosStore,
    order_id: str,
    target: OrderStatus,
    reason: str,
    *,
    allowed_from: frozenset[OrderStatus],
    refuse_if_cancel_requested: bool = False,
    only_for_saga: str | None = None,
    requires_past: OrderStatus | None = None,
    extra: dict[str, Any] | None = None,
    known: dict[str, Any] | None = None,
) -> Outcome:
    """Move an order to `target` if it is in one of `allowed_from`. Already at `target`
    counts as done (a repeated activity changes nothing).

    With `known`, the version this saga last wrote (`order_version`), the change is one
    patch under If-Match and no read: that version is the saga's own write, so its status
    is known and no cancel mark can be on it (the mark would have changed the ETag). When
    the ETag is stale (a 412), the order is read and decided on as below.
    """
    if known is not None and _known_allows(known, target, allowed_from, requires_past):
        now = iso(utc_now())
        operations: list[dict[str, Any]] = [
            {"op": "set", "path": "/status", "value": target.value},
            {"op": "set", "path": "/updatedAt", "value": now},
            {"op": "add", "path": "/statusHistory/-", "value": {"status": target.value, "at": now, "reason": reason}},
        ]
        operations += [{"op": "set", "path": f"/{name}", "value": value} for name, value in (extra or {}).items()]
        written = await store.patch_if_unchanged(store.orders, order_id, operations, str(known["etag"]))
        if written is not None:
            return _with_version(Succeeded({"orderId": order_id, "status": target.value, "changed": True}), written)

    def decide(doc: dict[str, Any] | None) -> EtagDecision:
        if doc is None:
            return EtagDecision(None, Rejected(RejectionCode.ORDER_NOT_FOUND, f"order {order_id} does not exist"))
        current = doc["status"]
        if only_for_saga is not None and doc.get("sagaInstanceId") != only_for_saga:
            return EtagDecision(None, Succeeded({"orderId": order_id, "status": current, "changed": False,
                                                 "note": "the order belongs to another saga; left alone"}))
        if current == target.value:
            return EtagDecision(None, Succeeded({"orderId": order_id, "status": current, "changed": False}))
        if refuse_if_cancel_requested and doc.get("cancelRequested"):
            return EtagDecision(None, Rejected(RejectionCode.CANCEL_REQUESTED, "the customer asked to cancel"))
        been_there = requires_past is None or any(
            h.get("status") == requires_past.value for h in doc.get("statusHistory", []))
        if OrderStatus(current) not in allowed_from or not can_transition(current, target) or not been_there:
            return EtagDecision(None, Rejected(
                RejectionCode.INVALID_TRANSITION, f"order {order_id} is {current}; cannot become {target.value}",
                [{"from": current, "to": target.value}]))
        updated = with_status(doc, target, iso(utc_now()), reason) | (extra or {})
        return EtagDecision(updated, Succeeded({"orderId": order_id, "status": target.value, "changed": True}))

    report = await store.update_with_etag(store.orders, order_id, decide)
    return _with_version(report.result, report.document)


def _known_allows(known: dict[str, Any], target: OrderStatus, allowed_from: frozenset[OrderStatus],
                  requires_past: OrderStatus | None) -> bool:
    status = str(known.get("status"))
    if not known.get("etag") or status == target.value or status not in {s.value for s in allowed_from}:
        return False
    return can_transition(status, target) and (requires_past is None or status == requires_past.value)


async def cancel_order(store: CosmosStore, order_id: str, saga_id: str, reason: str,
                       known: dict[str, Any] | None = None) -> Outcome:
    """The undo of create_order: a no-op when the order is absent, already cancelled, or was
    not created by this saga (an id clash must never cancel someone else's order)."""
    outcome = await transition(
        store, order_id, OrderStatus.CANCELLED, reason,
        allowed_from=frozenset({OrderStatus.PENDING, OrderStatus.APPROVED, OrderStatus.NEEDS_ATTENTION}),
        only_for_saga=saga_id, known=known,
    )
    if isinstance(outcome, Rejected) and outcome.code == RejectionCode.ORDER_NOT_FOUND:
        return Succeeded({"orderId": order_id, "status": None, "changed": False})
    return outcome


async def request_cancellation(
    store: CosmosStore, order_id: str, requested_by: str = "customer", reason: str = "customer request"
) -> tuple[str, dict[str, Any] | None]:
    """Mark the order for cancellation while it is still PENDING (a customer's request, or
    AWS asking Azure to roll back).

    Returns ("requested" | "already-requested" | "too-late" | "already-cancelled" | "not-found", order).
    The mark is what makes this race-free: the pivot refuses a marked order, and the mark can
    only be written while the order is PENDING.
    """

    def decide(doc: dict[str, Any] | None) -> EtagDecision:
        if doc is None:
            return EtagDecision(None, ("not-found", None))
        if doc["status"] == OrderStatus.CANCELLED.value:
            return EtagDecision(None, ("already-cancelled", doc))
        if doc["status"] != OrderStatus.PENDING.value:
            return EtagDecision(None, ("too-late", doc))
        if doc.get("cancelRequested"):
            return EtagDecision(None, ("already-requested", doc))
        updated = dict(doc) | {"cancelRequested": True, "cancelRequestedAt": iso(utc_now()),
                               "cancelRequestedBy": requested_by, "cancelReason": reason[:500]}
        return EtagDecision(updated, ("requested", updated))

    report = await store.update_with_etag(store.orders, order_id, decide)
    result: tuple[str, dict[str, Any] | None] = report.result
    return result


async def annotate(store: CosmosStore, order_id: str, field: str, value: dict[str, Any]) -> bool:
    """Record something another system told us (payment state, a reconciliation need) on the
    order, without changing its status. False when the order does not exist.

    One patch setting the field, no read: the value does not depend on the document, setting
    it twice leaves the same, and the server applies it atomically, so no If-Match is needed."""
    now = iso(utc_now())
    written = await store.patch_existing(store.orders, order_id, [
        {"op": "set", "path": f"/{field}", "value": value}, {"op": "set", "path": "/updatedAt", "value": now}])
    return written is not None


async def read_order(store: CosmosStore, order_id: str) -> dict[str, Any] | None:
    return await store.read(store.orders, order_id)


async def record_operator_action(store: CosmosStore, order_id: str, action: dict[str, Any]) -> None:
    """Append what an operator did (and why) to the order's `operatorActions`."""

    def decide(doc: dict[str, Any] | None) -> EtagDecision:
        if doc is None:
            return EtagDecision(None, None)
        actions = [*doc.get("operatorActions", []), action]
        return EtagDecision(dict(doc) | {"operatorActions": actions, "updatedAt": iso(utc_now())}, None)

    await store.update_with_etag(store.orders, order_id, decide)


async def orders_with_status(store: CosmosStore, status: OrderStatus, limit: int = 100) -> list[dict[str, Any]]:
    found = await store.query(store.orders, "SELECT * FROM c WHERE c.status = @status",
                              [{"name": "@status", "value": status.value}])
    return sorted(found, key=lambda doc: doc.get("updatedAt", ""))[:limit]


async def pending_older_than(store: CosmosStore, cutoff: str) -> list[dict[str, Any]]:
    """PENDING orders created before `cutoff` (ISO-8601 UTC): candidates for the sweeper."""
    return await store.query(
        store.orders, "SELECT * FROM c WHERE c.status = @status AND c.createdAt < @cutoff",
        [{"name": "@status", "value": OrderStatus.PENDING.value}, {"name": "@cutoff", "value": cutoff}],
    )


# -- the console's queries: one page at a time, counts and a histogram by the server --------

# What a row of the console's order list needs; the projection keeps pages small.
LIST_FIELDS = ("id", "status", "customerId", "total", "currency", "createdAt", "updatedAt", "sagaInstanceId",
               "cancelRequested", "attention", "statusHistory")


def _list_filter(status: OrderStatus | None, since: str | None, id_prefix: str | None
                 ) -> tuple[str, list[dict[str, Any]]]:
    clauses, parameters = [], []
    if status is not None:
        clauses.append("c.status = @status")
        parameters.append({"name": "@status", "value": status.value})
    if since is not None:
        clauses.append("c.createdAt >= @since")
        parameters.append({"name": "@since", "value": since})
    if id_prefix:
        clauses.append("STARTSWITH(c.id, @prefix)")
        parameters.append({"name": "@prefix", "value": id_prefix})
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), parameters


async def page_of_orders(
    store: CosmosStore, *, status: OrderStatus | None = None, since: str | None = None, id_prefix: str | None = None,
    page_size: int = 25, continuation: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest orders first, one page per call: Cosmos stops after `page_size` and hands back a
    continuation token for the next page (None after the last)."""
    where, parameters = _list_filter(status, since, id_prefix)
    fields = ", ".join(f"c.{name}" for name in LIST_FIELDS)
    return await store.query_page(store.orders, f"SELECT {fields} FROM c{where} ORDER BY c.createdAt DESC",
                                  parameters, page_size=page_size, continuation=continuation)


async def count_orders(store: CosmosStore, status: OrderStatus, since: str | None = None,
                       id_prefix: str | None = None) -> int:
    """How many orders have `status` (COUNT runs on the server; no documents travel)."""
    where, parameters = _list_filter(status, since, id_prefix)
    found = await store.query(store.orders, f"SELECT VALUE COUNT(1) FROM c{where}", parameters)
    return int(found[0]) if found else 0  # type: ignore[call-overload]


async def creation_times(store: CosmosStore, since: str | None, limit: int,
                         status: OrderStatus | None = None, id_prefix: str | None = None) -> list[dict[str, Any]]:
    """`status` and `createdAt` of the newest `limit` orders in the range, for the histogram
    (two fields per order; GROUP BY is not available on the local Cosmos server)."""
    where, parameters = _list_filter(status, since, id_prefix)
    return await store.query(store.orders,
                             f"SELECT TOP {int(limit)} c.status, c.createdAt FROM c{where} ORDER BY c.createdAt DESC",
                             parameters)
