"""Order activities and state-transition guards against the real Cosmos protocol server."""

from __future__ import annotations

import pytest

from ordersaga import inventory_repository, order_repository
from ordersaga.cosmos_store import CosmosStore
from ordersaga.outcomes import RejectionCode
from tests.support.activities import make_order, run_activity, saga_request

pytestmark = pytest.mark.integration


async def status_of(store: CosmosStore, order_id: str) -> str | None:
    doc = await order_repository.read_order(store, order_id)
    return None if doc is None else doc["status"]


async def test_create_is_idempotent_and_refuses_other_content_under_the_same_id(store: CosmosStore) -> None:
    order = make_order("o-1", ("SKU-A", 2))
    first = await run_activity("create_order", saga_request(order, "create_order"))
    again = await run_activity("create_order", saga_request(order, "create_order"))
    version = first["data"].pop("orderVersion")
    assert first == {"ok": True, "data": {"orderId": "o-1", "status": "PENDING", "created": True}}
    assert version["status"] == "PENDING" and version["etag"], "the saga gets the ETag its create produced"
    assert again["data"]["created"] is False and again["ok"]
    other = await run_activity("create_order", saga_request(make_order("o-1", ("SKU-B", 9)), "create_order"))
    assert (other["ok"], other["code"]) == (False, RejectionCode.ORDER_MISMATCH)
    doc = await order_repository.read_order(store, "o-1")
    assert doc is not None and doc["total"] == "5.00" and doc["items"][0]["sku"] == "SKU-A"


async def test_cancel_is_a_no_op_when_absent_or_already_cancelled(store: CosmosStore) -> None:
    absent = await run_activity("cancel_order", saga_request(make_order("ghost"), "create_order"))
    assert absent["ok"] and absent["data"]["changed"] is False
    order = make_order("o-2", ("SKU-A", 1))
    await run_activity("create_order", saga_request(order, "create_order"))
    reason = {"code": "OUT_OF_STOCK", "message": "none left"}
    first = await run_activity("cancel_order", saga_request(order, "create_order", reason=reason))
    second = await run_activity("cancel_order", saga_request(order, "create_order", reason=reason))
    assert (first["data"]["changed"], second["data"]["changed"]) == (True, False)
    doc = await order_repository.read_order(store, "o-2")
    assert doc is not None and doc["status"] == "CANCELLED"
    assert doc["statusHistory"][-1]["reason"] == "OUT_OF_STOCK: none left"


async def test_the_pivot_only_moves_a_pending_order_and_only_once(store: CosmosStore) -> None:
    order = make_order("o-3", ("SKU-A", 1))
    missing = await run_activity("confirm_order", saga_request(order, "confirm_order"))
    assert missing["code"] == RejectionCode.ORDER_NOT_FOUND
    await run_activity("create_order", saga_request(order, "create_order"))
    assert (await run_activity("confirm_order", saga_request(order, "confirm_order")))["data"]["changed"] is True
    assert (await run_activity("confirm_order", saga_request(order, "confirm_order")))["data"]["changed"] is False
    assert await status_of(store, "o-3") == "APPROVED"


async def test_the_pivot_refuses_an_order_marked_for_cancellation(store: CosmosStore) -> None:
    order = make_order("o-4", ("SKU-A", 1))
    await run_activity("create_order", saga_request(order, "create_order"))
    decision, _ = await order_repository.request_cancellation(store, "o-4")
    assert decision == "requested"
    refused = await run_activity("confirm_order", saga_request(order, "confirm_order"))
    assert (refused["ok"], refused["code"]) == (False, RejectionCode.CANCEL_REQUESTED)
    assert await status_of(store, "o-4") == "PENDING"


async def test_cancellation_cannot_be_requested_past_the_pivot(store: CosmosStore) -> None:
    order = make_order("o-5", ("SKU-A", 1))
    await run_activity("create_order", saga_request(order, "create_order"))
    await run_activity("confirm_order", saga_request(order, "confirm_order"))
    decision, doc = await order_repository.request_cancellation(store, "o-5")
    assert decision == "too-late" and doc is not None and doc["status"] == "APPROVED"
    assert (await order_repository.request_cancellation(store, "nope"))[0] == "not-found"


@pytest.mark.parametrize(("activity", "from_status"), [
    ("complete_order", "PENDING"),
    ("confirm_order", "CANCELLED"),
    ("complete_order", "CANCELLED"),
])
async def test_transitions_from_the_wrong_state_are_typed_rejections(
    store: CosmosStore, activity: str, from_status: str
) -> None:
    order = make_order("o-6", ("SKU-A", 1))
    await run_activity("create_order", saga_request(order, "create_order"))
    if from_status == "CANCELLED":
        await run_activity("cancel_order", saga_request(order, "create_order"))
    result = await run_activity(activity, saga_request(order, activity))
    assert (result["ok"], result["code"]) == (False, RejectionCode.INVALID_TRANSITION)
    assert await status_of(store, "o-6") == from_status


async def test_shipment_and_completion_are_idempotent_and_sell_the_reservation(store: CosmosStore) -> None:
    await inventory_repository.set_available(store, "SKU-A", 5)
    order = make_order("o-7", ("SKU-A", 2))
    for activity in ("create_order", "reserve_inventory", "confirm_order"):
        assert (await run_activity(activity, saga_request(order, activity)))["ok"]
    first = await run_activity("schedule_shipment", saga_request(order, "schedule_shipment"))
    again = await run_activity("schedule_shipment", saga_request(order, "schedule_shipment"))
    assert first == again and first["data"]["shipmentId"] == "shp-o-7"
    done = await run_activity("complete_order", saga_request(order, "complete_order"))
    repeat = await run_activity("complete_order", saga_request(order, "complete_order"))
    assert done["data"]["sold"] == ["SKU-A"] and repeat["data"]["changed"] is False
    view = await inventory_repository.read_stock(store, "SKU-A")
    assert view is not None and (view["available"], view["reserved"], view["sold"]) == (3, 0, 2)
    assert await status_of(store, "o-7") == "COMPLETED"


async def test_parking_records_what_remains_to_undo(store: CosmosStore) -> None:
    order = make_order("o-8", ("SKU-A", 1))
    await run_activity("create_order", saga_request(order, "create_order"))
    remaining = [{"step": "create_order", "activity": "cancel_order"}]
    error = {"step": "undo:reserve_inventory", "code": "UNDO_FAILED", "message": "boom"}
    result = await run_activity("park_order", saga_request(order, "undo:reserve_inventory",
                                                           remainingUndos=remaining, lastError=error))
    assert result["ok"]
    doc = await order_repository.read_order(store, "o-8")
    assert doc is not None and doc["status"] == "NEEDS_ATTENTION"
    assert doc["attention"] == {"where": "undo:reserve_inventory", "remainingUndos": remaining, "lastError": error}


async def test_the_undo_never_cancels_an_order_another_saga_created(store: CosmosStore) -> None:
    order = make_order("o-9", ("SKU-A", 1))
    await run_activity("create_order", saga_request(order, "create_order"))
    clash = saga_request(make_order("o-9", ("SKU-B", 5)), "create_order") | {"sagaId": "another-saga"}
    assert (await run_activity("create_order", clash))["code"] == RejectionCode.ORDER_MISMATCH
    undo = await run_activity("cancel_order", clash)
    assert undo["ok"] and undo["data"]["changed"] is False
    assert await status_of(store, "o-9") == "PENDING"


async def test_a_known_version_is_written_without_a_read_and_a_stale_one_rereads(store: CosmosStore) -> None:
    """The saga hands each order activity the version its last write produced: the write is
    one If-Match patch. A customer's cancel mark in between changes the ETag, so the pivot
    gets a 412, rereads, and refuses the marked order as it always did."""
    order = make_order("o-v", ("SKU-A", 1))
    created = await run_activity("create_order", saga_request(order, "create_order"))
    version = created["data"]["orderVersion"]

    before = store.requests.total
    confirmed = await run_activity("confirm_order", saga_request(order, "confirm_order") | {"orderVersion": version})
    assert confirmed["ok"] and confirmed["data"]["status"] == "APPROVED"
    assert store.requests.total - before == 1 and store.requests.by_kind["patch"] >= 1, "one patch, no read"
    newer = confirmed["data"]["orderVersion"]
    assert newer["status"] == "APPROVED" and newer["etag"] != version["etag"]

    ship = saga_request(order, "schedule_shipment") | {"orderVersion": newer}
    shipped = await run_activity("schedule_shipment", ship)
    assert shipped["ok"] and shipped["data"]["shipmentId"] == "shp-o-v"
    doc = await order_repository.read_order(store, "o-v")
    assert doc is not None and doc["shipment"]["shipmentId"] == "shp-o-v"
    assert [h["status"] for h in doc["statusHistory"]] == ["PENDING", "APPROVED"]

    # A stale version: the customer marked the order for cancellation after the saga's write.
    marked = make_order("o-m", ("SKU-A", 1))
    stale = (await run_activity("create_order", saga_request(marked, "create_order")))["data"]["orderVersion"]
    decision, _ = await order_repository.request_cancellation(store, "o-m")
    assert decision == "requested"
    before = store.requests.total
    refused = await run_activity("confirm_order", saga_request(marked, "confirm_order") | {"orderVersion": stale})
    assert (refused["ok"], refused["code"]) == (False, RejectionCode.CANCEL_REQUESTED)
    assert store.requests.total - before == 2, "the 412 patch, then the reread that finds the mark"
