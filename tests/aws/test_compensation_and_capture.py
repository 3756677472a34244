"""PaymentCompensationRequested and PaymentCaptureRequested on real DynamoDB (moto server):
idempotency, reordered delivery, and the requests a final state contradicts."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from aws.dispatch import handle_event
from aws.model import Outcome
from aws.seed import put_account
from aws.settings import Backend
from tests.aws.support import (
    BeforeFirstTransaction,
    assert_credit_conserved,
    capture,
    compensation,
    credit,
    outbox,
    outbox_event,
    outbox_types,
    payment,
    reservation,
    scan,
)


@pytest.fixture
def funded(backend: Backend) -> Backend:
    put_account(backend, "c-1", "100.00")
    return backend


def test_compensation_releases_the_reservation_and_returns_the_credit(funded: Backend) -> None:
    handle_event(reservation("s1", amount="40"), funded)

    result = handle_event(compensation("s1", amount="40"), funded)

    assert result.outcome is Outcome.APPLIED and result.emitted == ("PaymentCompensated",)
    assert credit(funded, "c-1") == Decimal("100.00")
    row = payment(funded, "s1")
    assert row is not None and row["status"] == "CANCELLED_VIA_COMPENSATION"
    assert outbox_types(funded, "s1") == ["PaymentReserved", "PaymentCompensated"]
    assert outbox_event(outbox(funded, "s1")[1])["data"]["amount"] == "40"
    assert_credit_conserved(funded, {"c-1": "100.00"})


def test_three_deliveries_of_the_same_compensation_return_the_credit_once(funded: Backend) -> None:
    handle_event(reservation("s1", amount="40"), funded)
    request = compensation("s1", amount="40")

    outcomes = [handle_event(request, funded).outcome for _ in range(3)]

    assert outcomes == [Outcome.APPLIED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert credit(funded, "c-1") == Decimal("100.00")
    assert outbox_types(funded, "s1") == ["PaymentReserved", "PaymentCompensated"]
    assert_credit_conserved(funded, {"c-1": "100.00"})


def test_compensation_before_reservation_leaves_a_tombstone_and_nothing_is_ever_charged(funded: Backend) -> None:
    early = handle_event(compensation("s1", amount="40"), funded)
    late = [handle_event(reservation("s1", amount="40"), funded) for _ in range(3)]

    assert early.outcome is Outcome.APPLIED and early.emitted == ("PaymentCompensated",)
    assert [r.outcome for r in late] == [Outcome.DECLINED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert credit(funded, "c-1") == Decimal("100.00")
    row = payment(funded, "s1")
    assert row is not None
    assert (row["status"], row["amount"], row["tombstone"]) == ("CANCELLED_VIA_COMPENSATION", Decimal(0), True)
    assert outbox_types(funded, "s1") == ["PaymentCompensated", "PaymentDeclined"]
    compensated, declined = (outbox_event(r) for r in outbox(funded, "s1"))
    assert compensated["data"]["amount"] == "0"
    assert "compensated before" in declined["data"]["reason"]
    assert_credit_conserved(funded, {"c-1": "100.00"})


def test_capture_moves_the_payment_to_captured_once(funded: Backend) -> None:
    handle_event(reservation("s1", amount="40"), funded)
    request = capture("s1", amount="40")

    outcomes = [handle_event(request, funded).outcome for _ in range(3)]

    assert outcomes == [Outcome.APPLIED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    row = payment(funded, "s1")
    assert row is not None and row["status"] == "CAPTURED"
    assert credit(funded, "c-1") == Decimal("60.00")  # captured money stays charged
    assert outbox_types(funded, "s1") == ["PaymentReserved", "PaymentCaptured"]
    assert outbox_event(outbox(funded, "s1")[1])["data"]["amount"] == "40"
    assert_credit_conserved(funded, {"c-1": "100.00"})


def test_compensation_after_capture_is_acknowledged_and_reported_for_reconciliation(
        funded: Backend, caplog: pytest.LogCaptureFixture) -> None:
    handle_event(reservation("s1", amount="40"), funded)
    handle_event(capture("s1", amount="40"), funded)
    request = compensation("s1", amount="40")

    with caplog.at_level(logging.WARNING, logger="aws.payments"):
        results = [handle_event(request, funded) for _ in range(2)]

    assert [r.outcome for r in results] == [Outcome.RECONCILIATION, Outcome.DUPLICATE]
    assert credit(funded, "c-1") == Decimal("60.00")
    row = payment(funded, "s1")
    assert row is not None and row["status"] == "CAPTURED"
    [entry] = row["reconciliation"]
    assert (entry["eventId"], entry["type"]) == (request["id"], "PaymentCompensationRequested")
    assert outbox_types(funded, "s1") == ["PaymentReserved", "PaymentCaptured"]  # nothing claims a refund
    assert [r for r in caplog.records if "RECONCILIATION" in r.getMessage()], "an operator must see it in the log"
    assert len(scan(funded, funded.settings.inbox)) == 3  # acknowledged: a redelivery is a plain duplicate
    assert_credit_conserved(funded, {"c-1": "100.00"})


def test_capture_after_compensation_asks_azure_to_roll_the_order_back(funded: Backend) -> None:
    handle_event(reservation("s1", amount="40"), funded)
    handle_event(compensation("s1", amount="40"), funded)

    result = handle_event(capture("s1", amount="40"), funded)

    assert result.outcome is Outcome.RECONCILIATION and result.emitted == ("OrderCompensationRequested",)
    row = payment(funded, "s1")
    assert row is not None and row["status"] == "CANCELLED_VIA_COMPENSATION" and len(row["reconciliation"]) == 1
    assert credit(funded, "c-1") == Decimal("100.00")
    assert outbox_types(funded, "s1") == ["PaymentReserved", "PaymentCompensated", "OrderCompensationRequested"]
    assert_credit_conserved(funded, {"c-1": "100.00"})


def test_capture_without_any_reservation_is_poison(funded: Backend) -> None:
    result = handle_event(capture("never-reserved"), funded)

    assert result.outcome is Outcome.POISON and "no payment was ever reserved" in (result.reason or "")
    assert outbox(funded) == []
    [poison] = scan(funded, funded.settings.poison)
    assert "no payment was ever reserved" in poison["reason"]


def test_many_sagas_against_one_account_conserve_credit(funded: Backend) -> None:
    """A mixed run: reserve 12 × 10.00 against 100.00 (10 fit, 2 are declined), then capture
    some, compensate others, and replay everything once more."""
    sagas = [f"m{index:02d}" for index in range(12)]
    reservations = [reservation(saga, amount="10.00") for saga in sagas]
    follow_ups = [capture(saga, amount="10.00") if index % 2 else compensation(saga, amount="10.00")
                  for index, saga in enumerate(sagas[:10])]
    for request in reservations + follow_ups + reservations + follow_ups:
        handle_event(request, funded)

    statuses = {row["sagaId"]: row["status"] for row in scan(funded, funded.settings.payments)}
    declined = [e for e in map(outbox_event, outbox(funded)) if e["type"] == "PaymentDeclined"]
    assert sorted(e["data"]["sagaId"] for e in declined) == ["m10", "m11"]
    assert sorted(statuses.values()) == ["CANCELLED_VIA_COMPENSATION"] * 5 + ["CAPTURED"] * 5
    assert credit(funded, "c-1") == Decimal("50.00")
    assert_credit_conserved(funded, {"c-1": "100.00"})


def test_compensation_whose_account_disappeared_is_reconciled_not_retried(funded: Backend) -> None:
    handle_event(reservation("s1", amount="40"), funded)
    funded.dynamodb.delete_item(TableName=funded.settings.accounts, Key={"customerId": {"S": "c-1"}})

    result = handle_event(compensation("s1", amount="40"), funded)

    assert result.outcome is Outcome.RECONCILIATION and "no longer exists" in (result.reason or "")
    row = payment(funded, "s1")
    assert row is not None and row["status"] == "PENDING_AZURE_CONFIRMATION" and len(row["reconciliation"]) == 1


def test_capture_landing_between_the_compensations_read_and_write_is_reconciled(funded: Backend) -> None:
    """The compensation read PENDING, then a capture committed: its conditional update fails,
    the handler re-reads CAPTURED and acknowledges for reconciliation — credit unchanged."""
    handle_event(reservation("s1", amount="40"), funded)
    racing = Backend(funded.settings, BeforeFirstTransaction(
        funded.dynamodb, lambda: handle_event(capture("s1", amount="40"), funded)), funded.events)

    result = handle_event(compensation("s1", amount="40"), racing)

    assert racing.dynamodb.transactions == 2  # the cancelled one, then the reconciliation
    assert result.outcome is Outcome.RECONCILIATION
    assert credit(funded, "c-1") == Decimal("60.00")
    row = payment(funded, "s1")
    assert row is not None and row["status"] == "CAPTURED" and len(row["reconciliation"]) == 1
    assert outbox_types(funded, "s1") == ["PaymentReserved", "PaymentCaptured"]
    assert_credit_conserved(funded, {"c-1": "100.00"})


def test_reservation_landing_between_an_early_compensations_read_and_write_is_compensated(funded: Backend) -> None:
    """The compensation saw no row (about to tombstone), then the reservation committed: the
    tombstone put fails, the handler re-reads PENDING and compensates it normally."""
    racing = Backend(funded.settings, BeforeFirstTransaction(
        funded.dynamodb, lambda: handle_event(reservation("s1", amount="40"), funded)), funded.events)

    result = handle_event(compensation("s1", amount="40"), racing)

    assert result.outcome is Outcome.APPLIED and racing.dynamodb.transactions == 2
    assert credit(funded, "c-1") == Decimal("100.00")
    row = payment(funded, "s1")
    assert row is not None and row["status"] == "CANCELLED_VIA_COMPENSATION" and "tombstone" not in row
    assert outbox_types(funded, "s1") == ["PaymentReserved", "PaymentCompensated"]
    assert_credit_conserved(funded, {"c-1": "100.00"})
