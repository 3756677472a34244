from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ordersaga import inventory

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEEP = timedelta(days=7)


def units(doc: dict) -> int:
    return doc["available"] + doc["reserved"] + doc["sold"]


def test_reserve_moves_units_and_records_them_under_the_order() -> None:
    doc = inventory.new_sku_document("SKU-1", 10)
    change = inventory.reserve(doc, "o1", 3, NOW, KEEP)
    assert change.applied and change.document is not None
    assert (change.document["available"], change.document["reserved"]) == (7, 3)
    assert change.document["reservations"]["o1"]["quantity"] == 3
    assert doc["available"] == 10, "the input document is not modified"


def test_reserving_twice_for_one_order_changes_nothing() -> None:
    doc = inventory.reserve(inventory.new_sku_document("S", 10), "o1", 3, NOW, KEEP).document
    again = inventory.reserve(doc, "o1", 3, NOW, KEEP)
    assert again.document is None and not again.applied


def test_shortage_is_reported_and_writes_nothing() -> None:
    change = inventory.reserve(inventory.new_sku_document("S", 2), "o1", 3, NOW, KEEP)
    assert change.document is None
    assert change.shortage == {"sku": "S", "requested": 3, "available": 2}


def test_release_gives_back_exactly_what_was_held_and_is_then_a_no_op() -> None:
    held = inventory.reserve(inventory.new_sku_document("S", 10), "o1", 4, NOW, KEEP).document
    released = inventory.release(held, "o1", NOW, KEEP).document
    assert (released["available"], released["reserved"], released["sold"]) == (10, 0, 0)
    assert inventory.release(released, "o1", NOW, KEEP).document is None
    assert inventory.release(inventory.new_sku_document("S", 5), "never", NOW, KEEP).document is None


def test_a_settled_order_cannot_reserve_again() -> None:
    held = inventory.reserve(inventory.new_sku_document("S", 10), "o1", 4, NOW, KEEP).document
    released = inventory.release(held, "o1", NOW, KEEP).document
    assert inventory.reserve(released, "o1", 4, NOW, KEEP).document is None


def test_commit_turns_the_reservation_into_sold_and_conserves_units() -> None:
    held = inventory.reserve(inventory.new_sku_document("S", 10), "o1", 4, NOW, KEEP).document
    sold = inventory.commit(held, "o1", NOW, KEEP).document
    assert (sold["available"], sold["reserved"], sold["sold"]) == (6, 0, 4)
    assert units(sold) == 10
    assert inventory.release(sold, "o1", NOW, KEEP).document is None, "a sold reservation cannot be released"


def test_settled_records_are_pruned_after_retention() -> None:
    held = inventory.reserve(inventory.new_sku_document("S", 10), "old", 1, NOW, KEEP).document
    released = inventory.release(held, "old", NOW, KEEP).document
    later = NOW + KEEP + timedelta(hours=1)
    after = inventory.reserve(released, "new", 1, later, KEEP).document
    assert "old" not in after["settled"]
