"""One inbound event, in whatever envelope it came (CloudEvent, Event Grid event, EventBridge
envelope, raw JSON bytes), routed to its handler. Anything unusable is recorded as poison and
acknowledged; only transient failures (DynamoDB unreachable, throttled past the SDK's retries,
state that kept moving) raise, so that the caller answers 5xx and the sender retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws.handlers import handle_capture, handle_compensation, handle_reservation
from aws.model import HandlerResult, Outcome
from aws.poison import record_poison
from aws.settings import Backend
from ordersaga.events import OUTBOUND_TO_AWS, PoisonEvent, SagaEvent, normalise

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
        return HANDLERS[event.type](event, backend)
    except PoisonEvent as poison:
        record_poison(backend, poison.reason, raw, where=received_by)
        return HandlerResult(Outcome.POISON, event_id=event_id, reason=poison.reason)
