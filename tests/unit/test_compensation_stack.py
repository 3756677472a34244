from __future__ import annotations

from orchestrators.compensation import CompensationStack, Undo


def test_undos_come_back_last_in_first_out() -> None:
    stack = CompensationStack()
    for step in ("create_order", "reserve_inventory", "reserve_payment"):
        stack.push(Undo(step, f"undo_{step}"))
    assert [u["step"] for u in stack.to_json()] == ["reserve_payment", "reserve_inventory", "create_order"]
    popped = []
    while (top := stack.peek()) is not None:
        assert stack.pop() == top
        popped.append(top.step)
    assert popped == ["reserve_payment", "reserve_inventory", "create_order"]
    assert len(stack) == 0 and stack.to_json() == []
