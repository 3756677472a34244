"""Whole saga paths as Azure drives them (events per saga each way), and concurrent delivery."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from aws.dispatch import handle_event
from aws.local_infra import route_bus_to_queue
from aws.model import Outcome
from aws.relay import relay_once
from aws.seed import put_account
from aws.settings import Backend
from tests.aws.support import assert_credit_conserved, capture, compensation, credit, outbox_types, reservation
from tests.aws.test_relay import receive_all

# path: (customer, requests Azure sends in order, replies AWS must send in order)
PATHS = {
    "approved": ("c-1", [reservation, capture], ["PaymentReserved", "PaymentCaptured"]),
    "declined, then the undo runs": ("c-low", [reservation, compensation], ["PaymentDeclined", "PaymentCompensated"]),
    "later step failed before the pivot": ("c-1", [reservation, compensation],
                                           ["PaymentReserved", "PaymentCompensated"]),
    "timed out: undo overtook the request": ("c-1", [compensation, reservation],
                                             ["PaymentCompensated", "PaymentDeclined"]),
}


@pytest.mark.parametrize("customer, requests, replies", list(PATHS.values()), ids=list(PATHS))
def test_events_per_saga_each_way(backend: Backend, sqs: Any, customer: str, requests: list[Any],
                                  replies: list[str]) -> None:
    put_account(backend, "c-1", "100.00")
    put_account(backend, "c-low", "10.00")
    queue = route_bus_to_queue(backend, f"q-{uuid.uuid4().hex[:8]}")

    for build in requests:
        for _ in range(2):  # at-least-once delivery: every request arrives twice
            handle_event(build("s1", customer=customer, amount="39.98"), backend)
    relay_once(backend)

    assert outbox_types(backend, "s1") == replies
    assert [m["detail-type"] for m in receive_all(sqs, queue, expected=len(replies))] == replies
    assert_credit_conserved(backend, {"c-1": "100.00", "c-low": "10.00"})


def test_concurrent_deliveries_never_overdraw_or_double_charge(backend: Backend) -> None:
    """8 threads: the same reservation 8 times plus 20 distinct 10.00 reservations against 100.00."""
    put_account(backend, "c-1", "100.00")
    same = reservation("same", amount="10")
    requests = [same] * 8 + [reservation(f"k{index:02d}", amount="10") for index in range(20)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = Counter(result.outcome for result in pool.map(lambda r: handle_event(r, backend), requests))

    assert outcomes == {Outcome.APPLIED: 10, Outcome.DECLINED: 11, Outcome.DUPLICATE: 7}
    assert credit(backend, "c-1") == 0
    assert Counter(outbox_types(backend)) == {"PaymentReserved": 10, "PaymentDeclined": 11}
    assert_credit_conserved(backend, {"c-1": "100.00"})
