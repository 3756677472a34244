"""Activity after the pivot: record the shipment on the order (idempotent, never compensated)."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from ordersaga.clock import iso, utc_now
from ordersaga.cosmos_store import EtagDecision, get_store
from ordersaga.order_repository import order_version
from ordersaga.outcomes import Rejected, RejectionCode, Succeeded
from ordersaga.telemetry import traced_activity

bp = df.Blueprint()


@bp.activity_trigger(input_name="request")
@traced_activity
async def schedule_shipment(request: dict[str, Any]) -> dict[str, Any]:
    store = await get_store()
    order_id = request["orderId"]
    shipment_id = f"shp-{order_id}"  # deterministic: a retry schedules the same shipment
    known = request.get("orderVersion")
    if known and known.get("etag") and known.get("status") == "APPROVED":
        # The saga's own last write (the pivot) holds no shipment yet: one patch, no read.
        shipment = {"shipmentId": shipment_id, "scheduledAt": iso(utc_now())}
        written = await store.patch_if_unchanged(store.orders, order_id, [
            {"op": "set", "path": "/shipment", "value": shipment},
            {"op": "set", "path": "/updatedAt", "value": shipment["scheduledAt"]}], str(known["etag"]))
        if written is not None:
            return Succeeded(shipment | {"orderVersion": order_version(written)}).to_json()

    def decide(doc: dict[str, Any] | None) -> EtagDecision:
        if doc is None:
            return EtagDecision(None, Rejected(RejectionCode.ORDER_NOT_FOUND, f"order {order_id} does not exist"))
        if doc.get("shipment"):
            return EtagDecision(None, Succeeded(doc["shipment"]))
        shipment = {"shipmentId": shipment_id, "scheduledAt": iso(utc_now())}
        return EtagDecision(dict(doc) | {"shipment": shipment}, Succeeded(shipment))

    report = await store.update_with_etag(store.orders, order_id, decide)
    outcome = report.result
    version = order_version(report.document)
    if isinstance(outcome, Succeeded) and version is not None:
        outcome = Succeeded(outcome.data | {"orderVersion": version})
    result: dict[str, Any] = outcome.to_json()
    return result
