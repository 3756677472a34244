"""One inbound event, in whatever envelope it came (CloudEvent, Event Grid event, EventBridge
envelope, raw JSON bytes), routed to its handler. Anything unusable is recorded as poison and
acknowledged; only transient failures (DynamoDB unreachable, throttled past the SDK's retries,
state that kept moving) raise, so that the caller answers 5xx and the sender retries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from opentelemetry.trace import SpanKind

from aws.handlers import handle_capture, handle_compensation, handle_reservation
from aws.model import HandlerResult, Outcome
from aws.poison import record_poison
from aws.settings import Backend
from ordersaga.events import OUTBOUND_TO_AWS, PoisonEvent, SagaEvent, normalise
from ordersaga.telemetry import current_traceparent, saga_span

HANDLERS: dict[str, Callable[[SagaEvent, Backend], HandlerResult]] = {
    "PaymentReservationRequested": handle_reservation,
    "PaymentCompensationRequested": handle_compensation,
    "PaymentCaptureRequested": handle_capture,
}
assert set(HANDLERS) == OUTBOUND_TO_AWS, "every event Azure sends to AWS needs exactly one handler"


def handle_event(raw: Any, backend: Backend, *, received_by: str = "webhook") -> HandlerResult:
    event_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    try:
        event = normalise(raw, OUTBOUND_TO_AWS)
        event_id = event.id
        with saga_span(f"handle {event.type}", event.traceparent, kind=SpanKind.CONSUMER, order_id=event.order_id,
                       instance_id=str(event.data.get("sagaId") or ""), event_id=event.id,
                       attributes={"cloud.provider": "aws", "faas.trigger": received_by}) as span:
            # Replies written to the outbox carry this span's context back to Azure.
            traced = replace(event, traceparent=current_traceparent(event.traceparent))
            result = HANDLERS[event.type](traced, backend)
            span.set_attribute("ordersaga.outcome", str(result.outcome))
            return result
    except PoisonEvent as poison:
        record_poison(backend, poison.reason, raw, where=received_by)
        return HandlerResult(Outcome.POISON, event_id=event_id, reason=poison.reason)
