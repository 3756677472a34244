"""The three payment handlers, one per event Azure sends.

Each reads the current rows, decides, and writes the decision in ONE TransactWriteItems that
also puts the outbox reply and the inbox row (see `aws.transactions` for the retry rules).
Every handler is idempotent: a redelivery finds the inbox row, and a different event that
asks for something already done finds the payment row in a state that says so.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aws import dynamo
from aws.currencies import ISO_4217
from aws.inbox import put_inbox_row
from aws.model import HandlerResult, Outcome, PaymentStatus
from aws.outbox import put_outbox_row, reply_to
from aws.settings import Backend
from aws.transactions import INBOX, OUTBOX, Plan, duplicate, execute
from ordersaga.events import PoisonEvent, SagaEvent

PAYMENT, CREDIT = "payment", "credit"


# -- PaymentReservationRequested ------------------------------------------------------------------

def handle_reservation(event: SagaEvent, backend: Backend) -> HandlerResult:
    """Reserve `amount` of the customer's credit for the saga, or decline.

    A second reservation for a saga that already has a payment row is a no-op. A reservation
    that finds the compensation tombstone (compensation overtook it) is declined: the saga on
    Azure has already rolled this step back, so nothing may be charged.
    """
    customer_id, amount, currency = _reservation_terms(event)
    saga_id = event.data["sagaId"]
    settings = backend.settings

    def plan() -> Plan | HandlerResult:
        payment = _payment_of(backend, event)
        if payment is not None:
            if payment["status"] == PaymentStatus.CANCELLED:
                return _decline(backend, event, "the saga was compensated before this reservation arrived",
                                payment_must_be=PaymentStatus.CANCELLED)
            return duplicate(event, f"saga already has a payment in state {payment['status']}")
        account = dynamo.get_item(backend.dynamodb, settings.accounts, {"customerId": customer_id})
        if account is None:
            return _decline(backend, event, f"unknown customer {customer_id}")
        # Confused-deputy check: Azure asks on behalf of whoever placed the order (the
        # `initiatorid` extension). An account bound to an owner is charged only for its owner;
        # the saga service cannot spend one customer's credit for another caller.
        owner, initiator = account.get("ownerPrincipalId"), event.extensions.get("initiatorid")
        if owner and owner != initiator:
            return _decline(backend, event, "the order was not placed by the owner of this account")
        if account.get("currency") and account["currency"] != currency:
            return _decline(backend, event, f"account currency is {account['currency']}, not {currency}")
        if Decimal(str(account.get("credit", "0"))) < amount:
            return _decline(backend, event, "insufficient credit")
        now = backend.iso_now()
        reply = reply_to(event, "PaymentReserved", amount=amount)
        return (
            Plan(HandlerResult(Outcome.APPLIED, event.id, event.type, saga_id, emitted=(reply.type,)))
            .add(CREDIT, {"Update": {
                "TableName": settings.accounts,
                "Key": dynamo.to_item({"customerId": customer_id}),
                "UpdateExpression": "SET #credit = #credit - :amount",
                # The check that matters is here, not in the read above: credit can never go below zero.
                "ConditionExpression": "attribute_exists(customerId) AND #credit >= :amount",
                "ExpressionAttributeNames": {"#credit": "credit"},
                "ExpressionAttributeValues": {":amount": dynamo.number(amount)},
            }})
            .add(PAYMENT, {"Put": {
                "TableName": settings.payments,
                "Item": dynamo.to_item({
                    "sagaId": saga_id, "orderId": event.data["orderId"], "customerId": customer_id,
                    "amount": amount, "currency": currency, "status": PaymentStatus.PENDING.value,
                    "reservedBy": event.id, "initiator": event.extensions.get("initiatorid") or "",
                    "createdAt": now, "updatedAt": now}),
                "ConditionExpression": "attribute_not_exists(sagaId)",
            }})
            .add(OUTBOX, put_outbox_row(backend, reply))
            .add(INBOX, put_inbox_row(backend, event, "reserved"))
        )

    return execute(backend, event, plan)


def _decline(backend: Backend, event: SagaEvent, reason: str, *,
             payment_must_be: PaymentStatus | None = None) -> Plan:
    """PaymentDeclined + inbox row, guarded so the payment row is still what the decision saw."""
    reply = reply_to(event, "PaymentDeclined", reason=reason)
    guard: dict[str, Any]
    if payment_must_be is None:
        guard = {"ConditionExpression": "attribute_not_exists(sagaId)"}
    else:
        guard = {"ConditionExpression": "#status = :status", "ExpressionAttributeNames": {"#status": "status"},
                 "ExpressionAttributeValues": {":status": {"S": payment_must_be.value}}}
    return (
        Plan(HandlerResult(Outcome.DECLINED, event.id, event.type, event.data["sagaId"], emitted=(reply.type,),
                           reason=reason))
        .add(PAYMENT, {"ConditionCheck": {"TableName": backend.settings.payments,
                                          "Key": dynamo.to_item({"sagaId": event.data["sagaId"]}), **guard}})
        .add(OUTBOX, put_outbox_row(backend, reply))
        .add(INBOX, put_inbox_row(backend, event, "declined"))
    )


def _reservation_terms(event: SagaEvent) -> tuple[str, Decimal, str]:
    missing = [key for key in ("customerId", "amount", "currency") if key not in event.data]
    if missing:
        raise PoisonEvent(f"{event.type}: data lacks {', '.join(missing)}", event.to_cloudevent())
    amount = Decimal(event.data["amount"])
    if amount <= 0:
        raise PoisonEvent(f"{event.type}: amount must be positive, got {event.data['amount']}", event.to_cloudevent())
    if event.data["currency"] not in ISO_4217:
        raise PoisonEvent(f"{event.type}: {event.data['currency']} is not an ISO 4217 currency", event.to_cloudevent())
    return str(event.data["customerId"]), amount, str(event.data["currency"])


# -- PaymentCompensationRequested -----------------------------------------------------------------

def handle_compensation(event: SagaEvent, backend: Backend) -> HandlerResult:
    """Release the reservation and give the credit back, in one transaction.

    - no payment row yet (the compensation overtook its reservation): write a tombstone
      CANCELLED row with amount 0, so the late reservation is declined, and reply
      PaymentCompensated (nothing was held, nothing is owed);
    - already CANCELLED: ack, no effect;
    - CAPTURED (the saga passed its pivot): nothing can be released — ack, record the request on
      the row under `reconciliation` and log it for an operator; never retried.
    """
    saga_id = event.data["sagaId"]
    settings = backend.settings

    def plan() -> Plan | HandlerResult:
        payment = _payment_of(backend, event)
        now = backend.iso_now()
        if payment is None:
            reply = reply_to(event, "PaymentCompensated", amount=Decimal(0),
                             reason="nothing was reserved for this saga")
            return (
                Plan(HandlerResult(Outcome.APPLIED, event.id, event.type, saga_id, emitted=(reply.type,),
                                   reason="tombstone: compensation arrived before any reservation"))
                .add(PAYMENT, {"Put": {
                    "TableName": settings.payments,
                    "Item": dynamo.to_item({
                        "sagaId": saga_id, "orderId": event.data["orderId"],
                        "customerId": event.data.get("customerId"), "amount": Decimal(0),
                        "currency": event.data.get("currency"), "status": PaymentStatus.CANCELLED.value,
                        "tombstone": True, "cancelledBy": event.id, "createdAt": now, "updatedAt": now}),
                    "ConditionExpression": "attribute_not_exists(sagaId)",
                }})
                .add(OUTBOX, put_outbox_row(backend, reply))
                .add(INBOX, put_inbox_row(backend, event, "tombstoned"))
            )
        status = payment["status"]
        if status == PaymentStatus.CANCELLED:
            return duplicate(event, "payment already cancelled")
        if status == PaymentStatus.CAPTURED:
            return _reconcile(backend, event, payment, "compensation requested after the payment was captured")
        if dynamo.get_item(backend.dynamodb, settings.accounts, {"customerId": payment["customerId"]}) is None:
            # The credit has nowhere to go back to; retrying cannot fix that — an operator must.
            return _reconcile(backend, event, payment, "the customer's account no longer exists")
        amount = Decimal(str(payment["amount"]))
        reply = reply_to(event, "PaymentCompensated", amount=amount)
        return (
            Plan(HandlerResult(Outcome.APPLIED, event.id, event.type, saga_id, emitted=(reply.type,)))
            .add(PAYMENT, _move(settings.payments, saga_id, PaymentStatus.PENDING, PaymentStatus.CANCELLED,
                                now, {"cancelledBy": event.id}))
            .add(CREDIT, {"Update": {
                "TableName": settings.accounts,
                "Key": dynamo.to_item({"customerId": payment["customerId"]}),
                "UpdateExpression": "SET #credit = #credit + :amount",
                "ConditionExpression": "attribute_exists(customerId)",
                "ExpressionAttributeNames": {"#credit": "credit"},
                "ExpressionAttributeValues": {":amount": dynamo.number(amount)},
            }})
            .add(OUTBOX, put_outbox_row(backend, reply))
            .add(INBOX, put_inbox_row(backend, event, "compensated"))
        )

    return execute(backend, event, plan)


# -- PaymentCaptureRequested ----------------------------------------------------------------------

def handle_capture(event: SagaEvent, backend: Backend) -> HandlerResult:
    """Charge the reserved amount: PENDING → CAPTURED, reply PaymentCaptured.

    A capture that finds the payment CANCELLED (a compensation got there first, yet Azure passed
    its pivot) cannot charge anything: it is recorded for reconciliation and AWS asks Azure to
    roll the order back with OrderCompensationRequested. A capture for a saga that never had a
    payment row contradicts the protocol (Azure captures only after PaymentReserved): poison.
    """
    saga_id = event.data["sagaId"]

    def plan() -> Plan | HandlerResult:
        payment = _payment_of(backend, event)
        if payment is None:
            raise PoisonEvent(f"{event.type}: no payment was ever reserved for saga {saga_id}", event.to_cloudevent())
        status = payment["status"]
        if status == PaymentStatus.CAPTURED:
            return duplicate(event, "payment already captured")
        if status == PaymentStatus.CANCELLED:
            return _reconcile(backend, event, payment, "capture requested after the payment was cancelled",
                              ask_azure_to_compensate=True)
        reply = reply_to(event, "PaymentCaptured", amount=Decimal(str(payment["amount"])))
        return (
            Plan(HandlerResult(Outcome.APPLIED, event.id, event.type, saga_id, emitted=(reply.type,)))
            .add(PAYMENT, _move(backend.settings.payments, saga_id, PaymentStatus.PENDING, PaymentStatus.CAPTURED,
                                backend.iso_now(), {"capturedBy": event.id}))
            .add(OUTBOX, put_outbox_row(backend, reply))
            .add(INBOX, put_inbox_row(backend, event, "captured"))
        )

    return execute(backend, event, plan)


# -- shared ---------------------------------------------------------------------------------------

def _payment(backend: Backend, saga_id: str) -> dict[str, Any] | None:
    return dynamo.get_item(backend.dynamodb, backend.settings.payments, {"sagaId": saga_id})


def _payment_of(backend: Backend, event: SagaEvent) -> dict[str, Any] | None:
    """The saga's payment row — which must belong to the order the event names: a request that
    pairs a saga with another order is malformed (poison), whatever it asks for."""
    payment = _payment(backend, event.data["sagaId"])
    if payment is not None and payment.get("orderId") not in (None, event.data["orderId"]):
        raise PoisonEvent(f"{event.type}: saga {event.data['sagaId']} pays for order {payment['orderId']}, "
                          f"not {event.data['orderId']}", event.to_cloudevent())
    return payment


def _move(table: str, saga_id: str, source: PaymentStatus, target: PaymentStatus, now: str,
          extra: dict[str, str]) -> dict[str, Any]:
    """A conditional state transition: fails (and the handler re-reads) if the row moved on."""
    sets = ", ".join(f"#{key} = :{key}" for key in extra)
    return {"Update": {
        "TableName": table,
        "Key": dynamo.to_item({"sagaId": saga_id}),
        "UpdateExpression": f"SET #status = :target, #updatedAt = :now, {sets}",
        "ConditionExpression": "#status = :source",
        "ExpressionAttributeNames": {"#status": "status", "#updatedAt": "updatedAt"} | {f"#{k}": k for k in extra},
        "ExpressionAttributeValues": dynamo.to_item({":target": target.value, ":source": source.value, ":now": now}
                                                    | {f":{k}": v for k, v in extra.items()}),
    }}


def _reconcile(backend: Backend, event: SagaEvent, payment: dict[str, Any], reason: str, *,
               ask_azure_to_compensate: bool = False) -> Plan:
    """Acknowledge a request the payment's final state contradicts: append it to the row's
    `reconciliation` list (guarded on that state); `execute` logs it as RECONCILIATION. Never retried."""
    now = backend.iso_now()
    entry = {"eventId": event.id, "type": event.type, "reason": reason, "at": now}
    reply = reply_to(event, "OrderCompensationRequested", reason=reason) if ask_azure_to_compensate else None
    plan = Plan(HandlerResult(Outcome.RECONCILIATION, event.id, event.type, event.data["sagaId"],
                              emitted=(reply.type,) if reply else (), reason=f"{reason} (was {payment['status']})"))
    plan.add(PAYMENT, {"Update": {
        "TableName": backend.settings.payments,
        "Key": dynamo.to_item({"sagaId": event.data["sagaId"]}),
        "UpdateExpression": "SET #rec = list_append(if_not_exists(#rec, :empty), :entry), #updatedAt = :now",
        "ConditionExpression": "#status = :status",
        "ExpressionAttributeNames": {"#rec": "reconciliation", "#updatedAt": "updatedAt", "#status": "status"},
        "ExpressionAttributeValues": dynamo.to_item({":empty": [], ":entry": [entry], ":now": now,
                                                     ":status": payment["status"]}),
    }})
    if reply is not None:
        plan.add(OUTBOX, put_outbox_row(backend, reply))
    return plan.add(INBOX, put_inbox_row(backend, event, "reconciliation"))
