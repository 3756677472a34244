"""Activity after the pivot: record the shipment on the order (idempotent, never compensated)."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from ordersaga.clock import iso, utc_now
from ordersaga.cosmos_store import EtagDecision, get_store
from ordersaga.outcomes import Rejected, RejectionCode, Succeeded
from ordersaga.telemetry import traced_activity

bp = df.Blueprint()


@bp.activity_trigger(input_name="request")
@traced_activity
async def schedule_shipment(request: dict[str, Any]) -> dict[str, Any]:
    store = await get_store()
    order_id = request["orderId"]
    shipment_id = f"shp-{order_id}"  # deterministic: a retry schedules the same shipment

    def decide(doc: dict[str, Any] | None) -> EtagDecision:
        if doc is None:
            return EtagDecision(None, Rejected(RejectionCode.ORDER_NOT_FOUND, f"order {order_id} does not exist"))
        if doc.get("shipment"):
            return EtagDecision(None, Succeeded(doc["shipment"]))
        shipment = {"shipmentId": shipment_id, "scheduledAt": iso(utc_now())}
        return EtagDecision(dict(doc) | {"shipment": shipment}, Succeeded(shipment))

    report = await store.update_with_etag(store.orders, order_id, decide)
    result: dict[str, Any] = report.result.to_json()
    return result
