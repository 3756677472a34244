from __future__ import annotations

import dataclasses

import pytest

from activities import activity_names, inventory, orders, payment, shipping
from orchestrators.saga_steps import ORDER_SAGA, PARK_ACTIVITY, StepKind, validate_step_table

REGISTERED = activity_names(orders, inventory, payment, shipping)


def test_order_saga_runs_the_designed_steps_in_order() -> None:
    assert [s.name for s in ORDER_SAGA] == [
        "create_order", "reserve_inventory", "reserve_payment", "confirm_order", "capture_payment",
        "schedule_shipment", "complete_order"]
    assert [s.kind for s in ORDER_SAGA] == [StepKind.COMPENSATABLE] * 3 + [StepKind.PIVOT] + [StepKind.RETRIABLE] * 3


@pytest.mark.parametrize("step", [s for s in ORDER_SAGA if s.undo], ids=lambda s: s.name)
def test_every_compensatable_step_has_a_registered_undo(step) -> None:
    assert step.undo in REGISTERED


def test_the_app_registers_every_activity_the_table_names() -> None:
    validate_step_table(ORDER_SAGA, REGISTERED)
    assert PARK_ACTIVITY in REGISTERED


def test_an_unregistered_activity_is_refused_at_import() -> None:
    with pytest.raises(ValueError, match=r"not registered.*release_inventory"):
        validate_step_table(ORDER_SAGA, REGISTERED - {"release_inventory"})


def test_a_table_with_a_compensatable_step_after_the_pivot_is_refused() -> None:
    broken = (*ORDER_SAGA[:4], dataclasses.replace(ORDER_SAGA[4], kind=StepKind.COMPENSATABLE, undo="cancel_order"),
              *ORDER_SAGA[5:])
    with pytest.raises(ValueError, match="after the pivot must be retriable"):
        validate_step_table(broken, REGISTERED)


def test_a_table_without_a_pivot_is_refused() -> None:
    no_pivot = tuple(s for s in ORDER_SAGA if s.kind is not StepKind.PIVOT)
    with pytest.raises(ValueError, match="exactly one pivot"):
        validate_step_table(no_pivot, REGISTERED)


def test_only_a_compensatable_step_may_wait_for_a_reply() -> None:
    payment = next(s for s in ORDER_SAGA if s.reply is not None)
    moved = tuple(dataclasses.replace(s, reply=payment.reply) if s.kind is StepKind.PIVOT else s for s in ORDER_SAGA)
    with pytest.raises(ValueError, match="only a compensatable step may wait"):
        validate_step_table(moved, REGISTERED)
