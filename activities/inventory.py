"""Activities on SKU documents: reserve (with If-Match and 412 reread) and release (undo)."""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df

from ordersaga import inventory_repository
from ordersaga.cosmos_store import get_store
from ordersaga.telemetry import traced_activity

bp = df.Blueprint()
log = logging.getLogger("ordersaga.activities.inventory")


@bp.activity_trigger(input_name="request")
@traced_activity
async def reserve_inventory(request: dict[str, Any]) -> dict[str, Any]:
    store = await get_store()
    outcome = await inventory_repository.reserve_items(store, request["orderId"], request["order"]["items"])
    result = outcome.to_json()
    conflicts = (result.get("data") or {}).get("conflictRetries") or next(
        (d.get("conflictRetries", 0) for d in result.get("details", [])), 0)
    if conflicts:
        log.info("order %s: reserve_inventory retried %d ETag conflicts", request["orderId"], conflicts)
    return result


@bp.activity_trigger(input_name="request")
@traced_activity
async def release_inventory(request: dict[str, Any]) -> dict[str, Any]:
    store = await get_store()
    skus = [item["sku"] for item in request["order"]["items"]]
    return (await inventory_repository.settle_items(store, request["orderId"], skus, "released",
                                                    request.get("holdings"))).to_json()
