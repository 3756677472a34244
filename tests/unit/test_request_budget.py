from __future__ import annotations

import pytest

from orchestrators.saga_steps import activity_names
from ordersaga.request_budget import covered_activities, minimum_requests


def test_every_activity_of_the_saga_has_a_cost() -> None:
    """A step added to the saga table without its Cosmos cost would make the floor wrong."""
    assert covered_activities() == activity_names()


@pytest.mark.parametrize(("path", "skus", "buckets", "expected"), [
    # starter 2 + create 1 + reserve 2/SKU + confirm 1 + shipment 1 + complete (2/SKU + 1)
    # + two AWS replies 2 each + the capture recorded 1
    ("completed", 1, 1, 15),
    ("completed", 2, 1, 19),
    ("completed", 1, 8, 15),
    # starter 2 + create 1 + every bucket read + cancel 1
    ("out_of_stock", 1, 1, 5),
    ("out_of_stock", 1, 8, 12),
    # starter 2 + create 1 + reserve 2/SKU + release 2/SKU + cancel 1 + two replies + recorded 1
    ("payment_declined", 2, 1, 17),
])
def test_floor_per_path(path: str, skus: int, buckets: int, expected: int) -> None:
    assert minimum_requests(path, skus, buckets) == expected


def test_unknown_path_and_bad_counts_are_refused() -> None:
    with pytest.raises(KeyError):
        minimum_requests("teleported", 1)
    with pytest.raises(ValueError):
        minimum_requests("completed", 0)
