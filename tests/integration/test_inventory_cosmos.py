"""Stock operations against the real Cosmos protocol server."""

from __future__ import annotations

import asyncio
import threading

import pytest

from ordersaga import cosmos_store, inventory_repository
from ordersaga.cosmos_store import CosmosStore
from ordersaga.outcomes import Rejected, RejectionCode, Succeeded
from tests.support.activities import make_order, run_activity, saga_request

pytestmark = pytest.mark.integration


async def stock(store: CosmosStore, sku: str) -> dict:
    view = await inventory_repository.read_stock(store, sku)
    assert view is not None
    return view


async def test_reserve_and_release_round_trip(store: CosmosStore) -> None:
    await inventory_repository.set_available(store, "SKU-A", 10)
    order = make_order("o-1", ("SKU-A", 3))
    reserved = await run_activity("reserve_inventory", saga_request(order, "reserve_inventory"))
    assert reserved["ok"] is True
    assert await stock(store, "SKU-A") == {"sku": "SKU-A", "available": 7, "reserved": 3, "sold": 0, "buckets": 1,
                                                "reservations": {"o-1": 3}}
    released = await run_activity("release_inventory", saga_request(order, "release_inventory"))
    assert released == {"ok": True, "data": {"released": ["SKU-A"], "conflictRetries": 0}}
    assert (await stock(store, "SKU-A"))["available"] == 10


async def test_every_stock_activity_is_idempotent(store: CosmosStore) -> None:
    await inventory_repository.set_available(store, "SKU-A", 10)
    order = make_order("o-1", ("SKU-A", 4))
    for _ in range(3):
        assert (await run_activity("reserve_inventory", saga_request(order, "reserve_inventory")))["ok"]
    assert (await stock(store, "SKU-A"))["reserved"] == 4
    for _ in range(3):
        await run_activity("release_inventory", saga_request(order, "release_inventory"))
    after = await stock(store, "SKU-A")
    assert (after["available"], after["reserved"]) == (10, 0)
    # a late duplicate of the reservation after its release must not take stock again
    await run_activity("reserve_inventory", saga_request(order, "reserve_inventory"))
    assert (await stock(store, "SKU-A"))["available"] == 10


async def test_release_without_a_reservation_is_a_no_op(store: CosmosStore) -> None:
    await inventory_repository.set_available(store, "SKU-A", 5)
    result = await run_activity("release_inventory", saga_request(make_order("never", ("SKU-A", 1),
                                                                             ("SKU-MISSING", 1)), "release_inventory"))
    assert result["ok"] and result["data"]["released"] == []
    assert (await stock(store, "SKU-A"))["available"] == 5


async def test_a_shortage_on_one_sku_leaves_no_reservation_on_any(store: CosmosStore) -> None:
    await inventory_repository.set_available(store, "SKU-A", 10)
    await inventory_repository.set_available(store, "SKU-B", 10)
    await inventory_repository.set_available(store, "SKU-C", 1)
    order = make_order("o-multi", ("SKU-A", 2), ("SKU-B", 2), ("SKU-C", 2))
    result = await run_activity("reserve_inventory", saga_request(order, "reserve_inventory"))
    assert result["ok"] is False and result["code"] == RejectionCode.OUT_OF_STOCK
    assert result["details"][0].items() >= {"sku": "SKU-C", "requested": 2, "available": 1}.items()
    for sku, available in (("SKU-A", 10), ("SKU-B", 10), ("SKU-C", 1)):
        view = await stock(store, sku)
        assert (view["available"], view["reserved"], view["reservations"]) == (available, 0, {})


async def test_an_unknown_sku_is_a_typed_rejection(store: CosmosStore) -> None:
    result = await run_activity("reserve_inventory",
                                saga_request(make_order("o-x", ("NOPE", 1)), "reserve_inventory"))
    assert (result["ok"], result["code"]) == (False, RejectionCode.UNKNOWN_SKU)


@pytest.mark.parametrize(("buckets", "quantity"), [(1, 1), (8, 1), (8, 3)])
def test_racing_threads_never_oversell_and_every_unit_is_accounted_for(
    store: CosmosStore, cosmos_settings, capsys: pytest.CaptureFixture[str], buckets: int, quantity: int
) -> None:
    """Threads, each with its own event loop and Cosmos client (as separate workers would
    have), race to reserve one hot SKU (in one bucket or several, whole orders or orders a
    single bucket may not cover); then half the winners release and half sell."""
    stocked, threads, orders_per_thread = 40, 6, 12
    asyncio.run(_restock("HOT", stocked, buckets))
    outcomes: list[tuple[str, bool, int]] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        async def run() -> None:
            worker_store = await cosmos_store.get_store()
            for n in range(orders_per_thread):
                order_id = f"t{index}-o{n}"
                outcome = await inventory_repository.reserve_items(
                    worker_store, order_id, [{"sku": "HOT", "quantity": quantity}])
                retries = (outcome.data["conflictRetries"] if isinstance(outcome, Succeeded)
                           else outcome.details[0]["conflictRetries"])
                with lock:
                    outcomes.append((order_id, isinstance(outcome, Succeeded), retries))
            await cosmos_store.close_stores()

        asyncio.run(run())

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()

    winners = [order_id for order_id, ok, _ in outcomes if ok]
    conflicts = sum(retries for *_, retries in outcomes)
    assert len(outcomes) == threads * orders_per_thread
    before = asyncio.run(_read("HOT"))
    assert before["buckets"] == buckets
    assert len(winners) == stocked // quantity or (quantity > 1 and len(winners) * quantity <= stocked), \
        "the stocked units are reserved: no oversell"
    assert before["reserved"] == len(winners) * quantity, "losers hold nothing once they have answered"
    assert before["available"] == stocked - len(winners) * quantity, "no unit lost"
    assert sorted(before["reservations"]) == sorted(winners)

    after = asyncio.run(_settle_half(winners))
    assert after["available"] + after["reserved"] + after["sold"] == stocked
    released, sold = len(winners) // 2 * quantity, (len(winners) - len(winners) // 2) * quantity
    assert (after["available"], after["reserved"], after["sold"]) == (before["available"] + released, 0, sold)
    with capsys.disabled():
        print(f"\n[contention] {len(outcomes)} orders of {quantity} from {threads} threads on 1 SKU with {stocked} "
              f"units in {buckets} bucket(s): "
              f"{len(winners)} reserved, {len(outcomes) - len(winners)} out of stock, "
              f"{conflicts} ETag conflicts retried; units conserved: {after}")


async def _restock(sku: str, units: int, buckets: int = 1) -> None:
    await inventory_repository.set_available(await cosmos_store.get_store(), sku, units, buckets)
    await cosmos_store.close_stores()


async def _read(sku: str) -> dict:
    view = await inventory_repository.read_stock(await cosmos_store.get_store(), sku)
    await cosmos_store.close_stores()
    assert view is not None
    return view


async def _settle_half(winners: list[str]) -> dict:
    store = await cosmos_store.get_store()
    for index, order_id in enumerate(winners):
        outcome = "sold" if index % 2 == 0 else "released"
        assert isinstance(await inventory_repository.settle_items(store, order_id, ["HOT"], outcome), Succeeded)
    view = await inventory_repository.read_stock(store, "HOT")
    await cosmos_store.close_stores()
    assert view is not None and not isinstance(view, Rejected)
    return view


@pytest.mark.parametrize("buckets", [1, 4])
async def test_a_release_before_its_reservation_arrives_bars_it(store: CosmosStore, buckets: int) -> None:
    """The saga gave up waiting for the reservation (timeout) and released without knowing
    where units are; the reservation, still on its way, must then take nothing."""
    await inventory_repository.set_available(store, "SKU-L", 8, buckets)
    released = await inventory_repository.settle_items(store, "late", ["SKU-L"], "released", None)
    assert isinstance(released, Succeeded) and released.data["released"] == []
    late = await inventory_repository.reserve_items(store, "late", [{"sku": "SKU-L", "quantity": 2}])
    assert isinstance(late, Succeeded) and late.data["holdings"] == []
    view = await stock(store, "SKU-L")
    assert (view["available"], view["reserved"], view["reservations"]) == (8, 0, {})
