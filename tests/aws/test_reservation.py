"""PaymentReservationRequested on real DynamoDB (moto server)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aws import dynamo
from aws.dispatch import handle_event
from aws.model import Outcome
from aws.seed import put_account
from aws.settings import Backend
from tests.aws.support import (
    TRACEPARENT,
    assert_credit_conserved,
    credit,
    outbox,
    outbox_event,
    outbox_types,
    payment,
    reservation,
    scan,
)


def test_reservation_charges_credit_and_queues_payment_reserved(backend: Backend) -> None:
    put_account(backend, "c-1", "100.00")
    request = reservation("s1", amount="39.98")

    result = handle_event(request, backend)

    assert result.outcome is Outcome.APPLIED and result.emitted == ("PaymentReserved",)
    assert credit(backend, "c-1") == Decimal("60.02")
    row = payment(backend, "s1")
    assert row is not None
    assert (row["status"], row["amount"], row["currency"], row["customerId"], row["orderId"]) == (
        "PENDING_AZURE_CONFIRMATION", Decimal("39.98"), "EUR", "c-1", "o-s1")
    [queued] = outbox(backend, "s1")
    event = outbox_event(queued)
    assert (queued["status"], event["type"], event["source"], event["subject"]) == (
        "UNSENT", "PaymentReserved", "saga.payments", "orders/o-s1")
    assert event["data"] == {"orderId": "o-s1", "sagaId": "s1", "customerId": "c-1", "amount": "39.98",
                             "currency": "EUR"}
    assert event["traceparent"] == TRACEPARENT  # the trace continues across the cloud boundary
    [inbox_row] = scan(backend, backend.settings.inbox)
    assert inbox_row["eventId"] == request["id"] and inbox_row["expiresAt"] > 0
    assert_credit_conserved(backend, {"c-1": "100.00"})


def test_three_deliveries_of_the_same_reservation_charge_once(backend: Backend) -> None:
    put_account(backend, "c-1", "100.00")
    request = reservation("s1", amount="30")

    outcomes = [handle_event(request, backend).outcome for _ in range(3)]

    assert outcomes == [Outcome.APPLIED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert "inbox" in (handle_event(request, backend).reason or "")
    assert credit(backend, "c-1") == Decimal("70")
    assert outbox_types(backend) == ["PaymentReserved"]
    assert len(scan(backend, backend.settings.inbox)) == 1
    assert_credit_conserved(backend, {"c-1": "100.00"})


def test_a_second_reservation_for_the_same_saga_is_a_no_op(backend: Backend) -> None:
    put_account(backend, "c-1", "100.00")
    handle_event(reservation("s1", amount="30"), backend)

    again = handle_event(reservation("s1", amount="30", step="reserve_payment_retry"), backend)

    assert again.outcome is Outcome.DUPLICATE
    assert credit(backend, "c-1") == Decimal("70")
    assert outbox_types(backend) == ["PaymentReserved"]


def test_insufficient_credit_declines_without_charging(backend: Backend) -> None:
    put_account(backend, "c-low", "10.00")

    result = handle_event(reservation("s1", customer="c-low", amount="39.98"), backend)

    assert result.outcome is Outcome.DECLINED and result.reason == "insufficient credit"
    assert credit(backend, "c-low") == Decimal("10.00")
    assert payment(backend, "s1") is None
    [declined] = outbox(backend)
    assert outbox_event(declined)["type"] == "PaymentDeclined"
    assert outbox_event(declined)["data"]["reason"] == "insufficient credit"
    assert len(scan(backend, backend.settings.inbox)) == 1
    assert_credit_conserved(backend, {"c-low": "10.00"})


def test_unknown_customer_and_wrong_currency_are_declined(backend: Backend) -> None:
    put_account(backend, "c-usd", "1000", currency="USD")

    unknown = handle_event(reservation("s1", customer="nobody"), backend)
    wrong_currency = handle_event(reservation("s2", customer="c-usd", currency="EUR"), backend)

    assert (unknown.outcome, wrong_currency.outcome) == (Outcome.DECLINED, Outcome.DECLINED)
    assert "unknown customer" in (unknown.reason or "") and "USD" in (wrong_currency.reason or "")
    assert credit(backend, "c-usd") == Decimal("1000")
    assert outbox_types(backend) == ["PaymentDeclined", "PaymentDeclined"]


class ConcurrentDelivery:
    """A DynamoDB client that, just before the handler's transaction, lets an identical
    delivery of the same event (another Lambda, another webhook retry) be handled first."""

    def __init__(self, real: Any, backend: Backend, raw: dict[str, Any]) -> None:
        self._real, self._backend, self._raw = real, backend, raw
        self.transactions = 0

    def transact_write_items(self, **kwargs: Any) -> Any:
        self.transactions += 1
        if self.transactions == 1:
            assert handle_event(self._raw, self._backend).outcome is Outcome.APPLIED
        return self._real.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_a_concurrent_identical_delivery_loses_inside_the_transaction(backend: Backend) -> None:
    put_account(backend, "c-1", "100.00")
    request = reservation("s1", amount="30")
    racing = Backend(backend.settings, ConcurrentDelivery(backend.dynamodb, backend, request), backend.events)

    result = handle_event(request, racing)

    assert result.outcome is Outcome.DUPLICATE and "lost a race" in (result.reason or "")
    assert racing.dynamodb.transactions == 1  # recognised from the cancellation reasons, not by re-planning
    assert credit(backend, "c-1") == Decimal("70")
    assert outbox_types(backend) == ["PaymentReserved"]


class DrainCreditBeforeTransaction:
    """A DynamoDB client that, once, spends the customer's credit between the handler's read
    and its TransactWriteItems — the race the `credit >= amount` condition exists for."""

    def __init__(self, real: Any, backend: Backend, customer: str) -> None:
        self._real, self._backend, self._customer, self.fired = real, backend, customer, False

    def transact_write_items(self, **kwargs: Any) -> Any:
        if not self.fired:
            self.fired = True
            put_account(self._backend, self._customer, "5.00")
        return self._real.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_credit_spent_between_check_and_write_is_caught_by_the_condition_and_declined(backend: Backend) -> None:
    put_account(backend, "c-1", "100.00")
    racing = Backend(backend.settings, DrainCreditBeforeTransaction(backend.dynamodb, backend, "c-1"),
                     backend.events)

    result = handle_event(reservation("s1", amount="39.98"), racing)

    assert racing.dynamodb.fired
    assert result.outcome is Outcome.DECLINED and result.reason == "insufficient credit"
    assert credit(backend, "c-1") == Decimal("5.00")  # never negative, nothing charged
    assert payment(backend, "s1") is None
    assert outbox_types(backend) == ["PaymentDeclined"]


def test_bad_reservation_data_is_poison_not_a_decline(backend: Backend) -> None:
    request = reservation("s1")
    del request["data"]["amount"]
    zero = reservation("s2", amount="0")

    results = [handle_event(request, backend), handle_event(zero, backend)]

    assert [r.outcome for r in results] == [Outcome.POISON, Outcome.POISON]
    assert outbox(backend) == [] and scan(backend, backend.settings.inbox) == []
    assert len(scan(backend, backend.settings.poison)) == 2


def test_an_owned_account_is_charged_only_for_its_owner(backend: Backend) -> None:
    """The confused-deputy check: Azure asks on behalf of the principal who placed the order (the
    `initiatorid` extension); an account bound to an owner pays only for that owner."""
    backend.dynamodb.put_item(TableName=backend.settings.accounts, Item=dynamo.to_item(
        {"customerId": "c-alice", "credit": Decimal("100"), "currency": "EUR", "ownerPrincipalId": "alice"}))

    someone_else = handle_event(reservation("s1", customer="c-alice", amount="10") | {"initiatorid": "mallory"},
                                backend)
    nobody = handle_event(reservation("s2", customer="c-alice", amount="10"), backend)
    owner = handle_event(reservation("s3", customer="c-alice", amount="10") | {"initiatorid": "alice"}, backend)

    assert someone_else.outcome is Outcome.DECLINED and "owner" in (someone_else.reason or "")
    assert nobody.outcome is Outcome.DECLINED
    assert owner.outcome is Outcome.APPLIED
    assert credit(backend, "c-alice") == Decimal("90")
    assert payment(backend, "s3")["initiator"] == "alice"  # type: ignore[index]
    assert payment(backend, "s1") is None and payment(backend, "s2") is None
