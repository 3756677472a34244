"""Order documents in the `orders` container; every status change goes through If-Match."""

from __future__ import annotations

from typing import Any

from ordersaga.clock import iso, utc_now
from ordersaga.cosmos_store import CosmosStore, EtagDecision
from ordersaga.orders import OrderStatus, can_transition, new_order_document, with_status
from ordersaga.outcomes import Outcome, Rejected, RejectionCode, Succeeded, TransientError

_IMMUTABLE_FIELDS = ("customerId", "currency", "items")


async def create_order(store: CosmosStore, order: dict[str, Any], saga_instance_id: str) -> Outcome:
    """Create the order PENDING. Running it twice is harmless: an existing order with the same
    content counts as created; one with other content is refused rather than overwritten."""
    doc = new_order_document(order, saga_instance_id, iso(utc_now()))
    if await store.create(store.orders, doc):
        return Succeeded({"orderId": doc["id"], "status": doc["status"], "created": True})
    existing = await store.read(store.orders, doc["id"])
    if existing is None:  # deleted between our create and read: let the retry policy try again
        raise TransientError(f"order {doc['id']} vanished while being created")
    if any(existing.get(f) != doc[f] for f in _IMMUTABLE_FIELDS):
        return Rejected(RejectionCode.ORDER_MISMATCH, f"order {doc['id']} already exists with other content")
    return Succeeded({"orderId": doc["id"], "status": existing["status"], "created": False})


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
) -> Outcome:
    """Move an order to `target` if it is in one of `allowed_from`. Already at `target`
    counts as done (a repeated activity changes nothing)."""

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
    outcome: Outcome = report.result
    return outcome


async def cancel_order(store: CosmosStore, order_id: str, saga_id: str, reason: str) -> Outcome:
    """The undo of create_order: a no-op when the order is absent, already cancelled, or was
    not created by this saga (an id clash must never cancel someone else's order)."""
    outcome = await transition(
        store, order_id, OrderStatus.CANCELLED, reason,
        allowed_from=frozenset({OrderStatus.PENDING, OrderStatus.APPROVED, OrderStatus.NEEDS_ATTENTION}),
        only_for_saga=saga_id,
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
    order, without changing its status. False when the order does not exist."""

    def decide(doc: dict[str, Any] | None) -> EtagDecision:
        if doc is None:
            return EtagDecision(None, False)
        if doc.get(field) == value:
            return EtagDecision(None, True)
        return EtagDecision(dict(doc) | {field: value, "updatedAt": iso(utc_now())}, True)

    report = await store.update_with_etag(store.orders, order_id, decide)
    return bool(report.result)


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
