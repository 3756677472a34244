"""One inbound event, in whatever envelope it came (CloudEvent, Event Grid event, EventBridge
envelope, raw JSON bytes), routed to its handler. Anything unusable is recorded as poison and
acknowledged; only transient failures (DynamoDB unreachable, throttled past the SDK's retries,
state that kept moving) raise, so that the caller answers 5xx and the sender retries.

On top of the shared contract (`ordersaga.events.normalise`), this side bounds what it will
store: the event id (a DynamoDB key: 1–256 printable ASCII characters), the `initiatorid`
extension (the same), and the `traceparent` extension (dropped unless W3C-shaped, so junk is
never stored or handed back to Azure). A write DynamoDB refuses for its size limits (an item
over 400 KB, a key over 2 KB) can never succeed either: poison, not a retry.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError
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

log = logging.getLogger("aws.payments.poison")


# Event ids, and principal ids in `initiatorid`: printable ASCII without spaces, 1–256 characters.
BOUNDED_ID = re.compile(r"[\x21-\x7e]{1,256}")
MAX_REASON = 1000  # reasons quote the input: bounded wherever they are stored, logged or answered
TRACEPARENT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")


def handle_event(raw: Any, backend: Backend, *, received_by: str = "webhook") -> HandlerResult:
    event_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    try:
        try:
            event = checked(normalise(raw, OUTBOUND_TO_AWS))
        except RecursionError:  # JSON text nested deeper than the parser's stack
            raise PoisonEvent("not JSON: nested too deeply") from None
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
        return HandlerResult(Outcome.POISON, event_id=event_id if _bounded(event_id) else None,
                             reason=poison.reason[:MAX_REASON])
    except ClientError as error:
        if not _too_large(error):
            raise  # transient, or our configuration (a bad table name…): the sender retries
        # Deterministic: the same request is refused the same way on every retry.
        reason = f"DynamoDB refused the request as invalid: {error.response['Error'].get('Message', '')}"[:500]
        log.error("event %s: %s — recorded as poison", str(event_id)[:80], reason)
        record_poison(backend, reason, raw, where=received_by)
        return HandlerResult(Outcome.POISON, event_id=event_id if _bounded(event_id) else None, reason=reason)


def checked(event: SagaEvent) -> SagaEvent:
    """What this side needs beyond the shared contract (see the module doc)."""
    if not _bounded(event.id):
        raise PoisonEvent("event id must be 1–256 printable ASCII characters without spaces")
    initiator = event.extensions.get("initiatorid")
    if initiator is not None and not _bounded(initiator):
        raise PoisonEvent("initiatorid must be 1–256 printable ASCII characters without spaces")
    if event.traceparent is not None and not TRACEPARENT.fullmatch(event.traceparent):
        return replace(event, traceparent=None)
    return event


def _too_large(error: ClientError) -> bool:
    """DynamoDB's refusal of an item or key over its size limits (400 KB items, 2 KB hash keys)."""
    details = error.response.get("Error", {})
    return details.get("Code") == "ValidationException" and "size" in str(details.get("Message", "")).lower()


def _bounded(value: Any) -> bool:
    return isinstance(value, str) and BOUNDED_ID.fullmatch(value) is not None
