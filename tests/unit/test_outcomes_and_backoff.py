from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrators.backoff import backoff_delay, deterministic_fraction
from ordersaga.outcomes import Rejected, Succeeded, outcome_from_json


def test_outcomes_survive_the_json_boundary() -> None:
    assert outcome_from_json(Succeeded({"a": 1}).to_json()) == Succeeded({"a": 1})
    rejected = Rejected("OUT_OF_STOCK", "none left", [{"sku": "S"}])
    assert outcome_from_json(rejected.to_json()) == rejected


@pytest.mark.parametrize("value", [None, "ok", {"ok": "yes"}, {"ok": False}, [1]])
def test_anything_else_is_not_an_outcome(value: object) -> None:
    with pytest.raises(ValueError):
        outcome_from_json(value)


def test_jitter_is_a_pure_function_of_its_inputs() -> None:
    assert deterministic_fraction("i", "s", 1) == deterministic_fraction("i", "s", 1)
    assert deterministic_fraction("i", "s", 1) != deterministic_fraction("i", "s", 2)
    assert 0 <= deterministic_fraction("x") < 1


def test_backoff_doubles_up_to_its_cap_and_jitter_keeps_half_to_all() -> None:
    assert backoff_delay(100, 1, 10_000, 1.0) == timedelta(milliseconds=100)
    assert backoff_delay(100, 3, 10_000, 1.0) == timedelta(milliseconds=400)
    assert backoff_delay(100, 30, 1_000, 1.0) == timedelta(milliseconds=1_000)
    assert backoff_delay(100, 3, 10_000, 0.0) == timedelta(milliseconds=200)
