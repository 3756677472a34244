"""Malformed input is acknowledged, recorded in PoisonEvents with its reason, and has no effect."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aws import dynamo
from aws.dispatch import handle_event
from aws.model import Outcome
from aws.seed import put_account
from aws.settings import Backend
from aws.webhook import handle_post
from tests.aws.support import capture, compensation, credit, outbox, payment, reservation, scan


def with_changes(**changes: Any) -> dict[str, Any]:
    event = reservation("s1")
    for key, value in changes.items():
        if value is None:
            event.pop(key)
        else:
            event[key] = value
    return event


POISON = {
    "not JSON": (b"{not json", "not JSON"),
    "JSON but not an object": ("[1, 2]", "must be a JSON object"),
    "unknown type": (with_changes(type="PaymentRefundRequested"), "unknown event type"),
    "an AWS → Azure type sent to AWS": (with_changes(type="PaymentReserved"), "unknown event type"),
    "data not an object": (with_changes(data="amount=10"), "data must be a JSON object"),
    "bad amount": (with_changes(data={"orderId": "o-s1", "sagaId": "s1", "customerId": "c-1", "amount": "1e3",
                                      "currency": "EUR"}), "invalid data"),
    "missing id": (with_changes(id=None), "missing event id"),
    "subject for another order": (with_changes(subject="orders/other"), "does not match"),
    "wrong envelope": ({"hello": "world"}, "not a CloudEvent"),
    "reservation without customer": (with_changes(data={"orderId": "o-s1", "sagaId": "s1", "amount": "1",
                                                        "currency": "EUR"}), "lacks customerId"),
}


@pytest.mark.parametrize("raw, reason", list(POISON.values()), ids=list(POISON))
def test_malformed_input_is_acknowledged_and_recorded(backend: Backend, raw: Any, reason: str) -> None:
    put_account(backend, "c-1", "100")

    result = handle_event(raw, backend)

    assert result.outcome is Outcome.POISON and reason in (result.reason or "")
    [row] = scan(backend, backend.settings.poison)
    assert reason in row["reason"] and row["seen"] == 1 and row["body"]
    assert outbox(backend) == [] and scan(backend, backend.settings.inbox) == []
    assert credit(backend, "c-1") == 100


def test_the_same_poison_delivered_again_is_one_record_counted_twice(backend: Backend) -> None:
    raw = with_changes(type="Nonsense")

    handle_event(raw, backend)
    handle_event(raw, backend)

    [row] = scan(backend, backend.settings.poison)
    assert row["seen"] == 2


def test_webhook_acknowledges_a_body_that_is_not_json(backend: Backend) -> None:
    response = handle_post(backend, {"aeg-event-type": "Notification"}, b"\x00\xffjunk")

    assert response.status == 200 and response.body["results"][0]["outcome"] == "poison"
    assert len(scan(backend, backend.settings.poison)) == 1


def test_webhook_batch_with_one_poison_event_still_handles_the_good_one(backend: Backend) -> None:
    put_account(backend, "c-1", "100")
    batch = [reservation("s1", amount="10"), with_changes(type="Nonsense")]

    response = handle_post(backend, {}, json.dumps(batch).encode())

    assert response.status == 200
    assert [r["outcome"] for r in response.body["results"]] == ["applied", "poison"]
    assert credit(backend, "c-1") == 90


def test_a_write_over_dynamodb_size_limits_is_poison_not_a_retry(backend: Backend) -> None:
    """A request DynamoDB refuses for its size limits would be refused the same way on every retry:
    recorded and acknowledged. Here: a captured payment whose row is so close to the 400 KB item
    limit (an operator's note) that the compensation's reconciliation entry no longer fits. The
    exact margin is the server's business, so the note size is searched for, a saga per try."""
    put_account(backend, "c-1", "100")
    fits, too_big = 0, 400 * 1024
    for attempt in range(30):
        saga, size = f"s{attempt}", (fits + too_big) // 2
        assert handle_event(reservation(saga, amount="1"), backend).outcome is Outcome.APPLIED
        assert handle_event(capture(saga), backend).outcome is Outcome.APPLIED
        try:
            backend.dynamodb.update_item(TableName=backend.settings.payments, Key=dynamo.to_item({"sagaId": saga}),
                                         UpdateExpression="SET operatorNote = :n",
                                         ExpressionAttributeValues={":n": {"S": "n" * size}})
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ValidationException"
            too_big = size
            continue
        before, poison_before = payment(backend, saga), len(scan(backend, backend.settings.poison))

        result = handle_event(compensation(saga), backend)

        if result.outcome is Outcome.RECONCILIATION:  # it still fitted
            fits = size
            continue
        assert result.outcome is Outcome.POISON and "size" in (result.reason or ""), result
        assert len(scan(backend, backend.settings.poison)) == poison_before + 1
        assert payment(backend, saga) == before
        return
    raise AssertionError(f"no note size made the reconciliation entry too large ({fits}..{too_big})")
