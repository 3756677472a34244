"""Malformed input is acknowledged, recorded in PoisonEvents with its reason, and has no effect."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aws.dispatch import handle_event
from aws.model import Outcome
from aws.seed import put_account
from aws.settings import Backend
from aws.webhook import handle_post
from tests.aws.support import credit, outbox, reservation, scan


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


def amount(value: Any, currency: str = "EUR") -> dict[str, Any]:
    return with_changes(data={"orderId": "o-s1", "sagaId": "s1", "customerId": "c-1", "amount": value,
                              "currency": currency})


HOSTILE = POISON | {
    "negative amount": (amount("-5.00"), "invalid data"),
    "zero amount": (amount("0"), "invalid data"),
    "huge amount": (amount("99999999999999999999999.99"), "invalid data"),
    "amount a number": (amount(25), "invalid data"),
    "amount NaN": (amount("NaN"), "invalid data"),
    "injection in ids": (with_changes(data={"orderId": "o'; DROP TABLE--", "sagaId": "s1", "customerId": "c-1",
                                            "amount": "1", "currency": "EUR"}), "invalid data"),
    # (Unknown extra fields are ignored — a tolerant reader; size is bounded by Event Grid's 1 MB.)
    "huge and invalid": (with_changes(data={"orderId": "o-s1", "sagaId": "s1", "customerId": "c-1",
                                            "amount": "x" * 300_000, "currency": "EUR"}), "invalid data"),
}


def test_a_hostile_corpus_is_all_acknowledged_and_changes_no_money(
    backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    put_account(backend, "c-1", "100")
    outcomes = [handle_event(raw, backend).outcome for raw, _ in HOSTILE.values()]
    # Well-formed but unpayable: a currency the account does not hold is a business decline.
    foreign = handle_event(amount("10.00", currency="XXY") | {"id": "e-foreign"}, backend).outcome
    good = reservation("s-replayed", amount="10")
    replays = [handle_event(good, backend).outcome for _ in range(3)]  # one reservation, then two replays

    assert outcomes == [Outcome.POISON] * len(HOSTILE)
    assert foreign is Outcome.DECLINED
    assert replays[0] is Outcome.APPLIED and all(o is Outcome.DUPLICATE for o in replays[1:]), replays
    assert credit(backend, "c-1") == 90, "only the one genuine reservation moved money"
    assert sorted(row["type"] for row in outbox(backend)) == ["PaymentDeclined", "PaymentReserved"]
    with capsys.disabled():
        print(f"\n[hostile] aws: {len(HOSTILE) + len(replays) + 1} inputs — {len(HOSTILE)} acknowledged as poison, "
              f"1 declined (unknown currency), 1 applied, {len(replays) - 1} replays ignored; credit moved once")
