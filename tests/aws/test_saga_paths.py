"""Whole saga paths as Azure drives them: events per saga each way, relayed to SQS.

No test here runs handlers in parallel threads against moto: moto 5.2.5's
TransactWriteItems takes no lock and, when a transaction fails, restores a deep copy of every
table it touched — which can undo another thread's committed transaction. Parallel runs on
moto therefore break invariants that real DynamoDB keeps (observed: 11 reservations of 10.00
applied against 100.00). The races that matter are tested deterministically instead, by
interposing the competing write between the handler's read and its transaction
(tests/aws/test_reservation.py: ConcurrentDelivery, DrainCreditBeforeTransaction)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from aws.dispatch import handle_event
from aws.local_infra import route_bus_to_queue
from aws.relay import relay_once
from aws.seed import put_account
from aws.settings import Backend
from tests.aws.support import assert_credit_conserved, capture, compensation, outbox_types, reservation
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
