"""Inbound Event Grid trigger: events from the AWS payment service, routed into the sagas.

Each event is normalised (CloudEvents, Event Grid schema or an EventBridge envelope),
validated, deduplicated through the Cosmos inbox, then routed:

- PaymentReserved / PaymentDeclined → raised into the waiting saga. A reservation that
  arrives after its saga has ended without it (timed out, compensated) is answered with a
  compensation request to AWS — a late success is compensated, never dropped.
- PaymentCaptured / PaymentCompensated → recorded on the order (`payment`).
- OrderCompensationRequested → before the pivot the order is marked and the saga told to
  compensate; after it, the order is marked for reconciliation (`reconciliation`).

A malformed or unknown event, or one whose sagaId is not its order's saga, is acknowledged
and recorded as poison (no retry loop between clouds). A transient failure (Cosmos, the
Durable API) raises, so Event Grid retries.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus
from opentelemetry.trace import SpanKind

from orchestrators.saga_steps import AWS_COMPENSATION_EVENT
from ordersaga import inbox, order_repository
from ordersaga.clock import iso, utc_now
from ordersaga.cosmos_store import CosmosStore, get_store
from ordersaga.event_publisher import publish
from ordersaga.events import AZURE_SOURCE, INBOUND_FROM_AWS, PoisonEvent, SagaEvent, new_event, normalise
from ordersaga.orders import OrderStatus
from ordersaga.saga_input import SagaInput
from ordersaga.telemetry import saga_span

bp = df.Blueprint()
log = logging.getLogger("ordersaga.aws_events")

LIVE = frozenset({OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Pending,
                  OrchestrationRuntimeStatus.Suspended, OrchestrationRuntimeStatus.ContinuedAsNew})


def raw_event(event: func.EventGridEvent | func.CloudEvent) -> dict[str, Any]:
    """Back to the wire shape, so one normaliser reads every envelope."""
    if isinstance(event, func.CloudEvent):
        return {"specversion": event.specversion, "id": event.id, "type": event.type, "source": event.source,
                "subject": event.subject, "time": event.time.isoformat() if event.time else None,
                "data": event.get_json()} | dict(event.extension_attrs or {})
    return {"id": event.id, "topic": event.topic, "subject": event.subject, "eventType": event.event_type,
            "eventTime": event.event_time.isoformat() if event.event_time else None, "data": event.get_json(),
            "dataVersion": event.data_version}


@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def aws_events(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    store = await get_store()
    raw = raw_event(event)
    try:
        saga_event = normalise(raw, INBOUND_FROM_AWS)
    except PoisonEvent as poison:
        record = await inbox.record_poison(store, poison.reason, raw)
        log.error("poison event %s acknowledged and recorded as %s: %s", raw.get("id"), record, poison.reason)
        return
    with saga_span(f"receive {saga_event.type}", saga_event.traceparent, kind=SpanKind.CONSUMER,
                   order_id=saga_event.order_id, instance_id=str(saga_event.data.get("sagaId") or ""),
                   event_id=saga_event.id, attributes={"messaging.system": "eventgrid"}) as span:
        if await inbox.already_processed(store, saga_event.id):
            span.set_attribute("ordersaga.duplicate", True)
            log.info("event %s (%s) already processed; duplicate ignored", saga_event.id, saga_event.type)
            return
        foreign = await foreign_saga(store, client, saga_event)
        if foreign is not None:
            record = await inbox.record_poison(store, f"{saga_event.type}: {foreign}", raw)
            log.error("poison event %s acknowledged and recorded as %s: %s", saga_event.id, record, foreign)
            return
        outcome = await route(store, client, saga_event)
        await inbox.mark_processed(store, saga_event, outcome)
        span.set_attribute("ordersaga.outcome", outcome)
        log.info("event %s %s for order %s: %s", saga_event.id, saga_event.type, saga_event.order_id, outcome)


async def foreign_saga(store: CosmosStore, client: df.DurableOrchestrationClient, event: SagaEvent) -> str | None:
    """Why the saga the event names is not the order's own, or None when it is. An event must
    never reach (or, naming one order, act for) another order's saga: it would be paid,
    declined or rolled back by a reply that was not for it."""
    saga_id, order_id = str(event.data["sagaId"]), event.order_id
    status = await client.get_status(saga_id)
    if status and status.instance_id:
        try:
            owner = SagaInput.from_json(status.input_).order_id
        except (KeyError, TypeError, ValueError):
            return f"sagaId {saga_id!r} is not an order saga"
        return None if owner == order_id else f"sagaId {saga_id!r} is the saga of another order, not of {order_id!r}"
    order = await order_repository.read_order(store, order_id)
    if order is not None and order.get("sagaInstanceId", order_id) != saga_id:
        return f"order {order_id!r} belongs to another saga, not to sagaId {saga_id!r}"
    return None


async def route(store: CosmosStore, client: df.DurableOrchestrationClient, event: SagaEvent) -> str:
    saga_id, order_id = str(event.data["sagaId"]), event.order_id
    if event.type in ("PaymentReserved", "PaymentDeclined"):
        return await _payment_reply(store, client, event, saga_id)
    if event.type in ("PaymentCaptured", "PaymentCompensated"):
        state = "CAPTURED" if event.type == "PaymentCaptured" else "COMPENSATED"
        found = await order_repository.annotate(store, order_id, "payment",
                                                {"status": state, "eventId": event.id, "at": iso(utc_now())})
        return f"payment {state.lower()} recorded" if found else "order unknown; nothing to record"
    # OrderCompensationRequested
    reason = str(event.data.get("reason") or "requested by the payment service")
    decision, _ = await order_repository.request_cancellation(store, order_id, requested_by="aws", reason=reason)
    if decision in ("requested", "already-requested", "not-found"):
        status = await client.get_status(saga_id)
        if status and status.runtime_status in LIVE:
            await client.raise_event(saga_id, AWS_COMPENSATION_EVENT, event.data)
            return "saga asked to compensate"
        return "no running saga; order " + ("marked" if decision != "not-found" else "unknown")
    if decision == "too-late":
        await order_repository.annotate(store, order_id, "reconciliation",
                                        {"reason": reason, "eventId": event.id, "at": iso(utc_now()),
                                         "note": "AWS asked to roll back after the point of no return"})
        return "past the pivot: marked for reconciliation"
    return "already cancelled"


async def _payment_reply(store: CosmosStore, client: df.DurableOrchestrationClient, event: SagaEvent,
                         saga_id: str) -> str:
    status = await client.get_status(saga_id)
    if status and status.runtime_status in LIVE:
        await client.raise_event(saga_id, event.type, event.data)
        return "raised into the saga"
    if event.type == "PaymentDeclined":
        return "saga no longer running; a decline needs nothing"
    order = await order_repository.read_order(store, event.order_id)
    if order is not None and order["status"] in (OrderStatus.APPROVED.value, OrderStatus.COMPLETED.value):
        return "saga already past the pivot; duplicate reservation ignored"
    # The saga ended without this reservation (timed out, compensated): release it on AWS.
    data = {k: v for k, v in event.data.items() if k in ("orderId", "sagaId", "customerId", "amount", "currency")}
    compensation = new_event("PaymentCompensationRequested", AZURE_SOURCE, f"late-reply:{event.id}",
                             data | {"reason": "reservation arrived after the saga ended"},
                             traceparent=event.traceparent)
    await publish([compensation])
    return "late reservation: compensation requested"
