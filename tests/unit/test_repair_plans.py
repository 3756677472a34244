from __future__ import annotations

from orchestrators.repair_plans import every_undo, plan_for_abandoned, plan_for_parked


def test_every_undo_lists_the_stack_top_first() -> None:
    assert [u["activity"] for u in every_undo()] == ["request_payment_compensation", "release_inventory",
                                                      "cancel_order"]


def test_a_saga_parked_in_compensation_retries_its_remaining_undos_as_its_own_saga() -> None:
    remaining = [{"step": "reserve_inventory", "activity": "release_inventory"},
                 {"step": "create_order", "activity": "cancel_order"}]
    order = {"id": "o-1", "sagaInstanceId": "o-1", "attention": {
        "where": "undo:reserve_inventory", "remainingUndos": remaining,
        "lastError": {"code": "UNDO_FAILED", "message": "store down"}}}
    assert plan_for_parked(order) == {"mode": "compensate", "undos": remaining, "sagaId": "o-1",
                                      "reason": {"code": "UNDO_FAILED", "message": "store down"}}


def test_a_saga_parked_after_the_pivot_goes_forward_from_the_failing_step() -> None:
    order = {"id": "o-2", "sagaInstanceId": "o-2", "attention": {"where": "schedule_shipment", "lastError": None}}
    plan = plan_for_parked(order)
    assert (plan["mode"], plan["resumeFrom"], plan["sagaId"]) == ("forward", "schedule_shipment", "o-2")


def test_an_abandoned_order_is_compensated_with_every_undo() -> None:
    plan = plan_for_abandoned("o-3")
    assert plan["mode"] == "compensate" and plan["undos"] == every_undo() and plan["sagaId"] == "o-3"
