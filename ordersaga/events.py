"""The cross-cloud event contract (CloudEvents 1.0, JSON), shared by both sides.

Azure → AWS: PaymentReservationRequested, PaymentCompensationRequested, PaymentCaptureRequested.
AWS → Azure: PaymentReserved, PaymentDeclined, PaymentCompensated, PaymentCaptured,
             OrderCompensationRequested.

- `id` is deterministic per (saga, type, step), so a re-sent event deduplicates.
- `subject` is `orders/{orderId}`; `source` names the side that sent it.
- `data` carries orderId, sagaId, amounts as decimal strings, currency, reason.
- Trace context travels as the `traceparent` extension attribute.

Inbound events are normalised from any of the three envelopes seen between the clouds —
CloudEvents, the Event Grid schema, and the EventBridge envelope (`detail-type`/`detail`) —
and validated; anything malformed raises `PoisonEvent` with the reason, to be acknowledged
and recorded, never retried.

This module depends only on the standard library and pydantic: the AWS Lambda handlers
package it too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

AZURE_SOURCE = "/azure/ordersaga"
AWS_SOURCE = "saga.payments"

OUTBOUND_TO_AWS = frozenset({"PaymentReservationRequested", "PaymentCompensationRequested", "PaymentCaptureRequested"})
INBOUND_FROM_AWS = frozenset({"PaymentReserved", "PaymentDeclined", "PaymentCompensated", "PaymentCaptured",
                              "OrderCompensationRequested"})
MAX_EVENT_BYTES = 1024 * 1024  # Event Grid's per-event limit

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
Amount = Annotated[str, StringConstraints(pattern=r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,4})?$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class PaymentEventData(BaseModel):
    """`data` of every payment event, whichever way it travels."""

    model_config = ConfigDict(extra="allow", strict=True)

    orderId: Id
    sagaId: Id
    customerId: Id | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    reason: Annotated[str, StringConstraints(max_length=1000)] | None = None
    paymentId: Id | None = None


class PoisonEvent(ValueError):
    """An event that can never be processed: acknowledge it, record it, do not retry."""

    def __init__(self, reason: str, raw: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw


@dataclass(frozen=True)
class SagaEvent:
    id: str
    type: str
    source: str
    subject: str
    time: str
    data: dict[str, Any]
    traceparent: str | None = None
    extensions: dict[str, Any] = field(default_factory=dict)

    @property
    def order_id(self) -> str:
        return str(self.data["orderId"])

    def to_cloudevent(self) -> dict[str, Any]:
        event: dict[str, Any] = {
            "specversion": "1.0", "id": self.id, "type": self.type, "source": self.source,
            "subject": self.subject, "time": self.time, "datacontenttype": "application/json", "data": self.data,
        }
        if self.traceparent:
            event["traceparent"] = self.traceparent
        return event | self.extensions


def event_id(saga_id: str, event_type: str, step: str) -> str:
    """Deterministic per (saga, type, step): retries of the same publish deduplicate."""
    return hashlib.sha256(f"{saga_id}|{event_type}|{step}".encode()).hexdigest()[:32]


def new_event(event_type: str, source: str, step: str, data: dict[str, Any], *, time: str | None = None,
              traceparent: str | None = None) -> SagaEvent:
    checked = validate_data(event_type, data)
    return SagaEvent(
        id=event_id(checked["sagaId"], event_type, step), type=event_type, source=source,
        subject=f"orders/{checked['orderId']}",
        time=time or datetime.now(UTC).isoformat().replace("+00:00", "Z"), data=checked, traceparent=traceparent,
    )


def validate_data(event_type: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PoisonEvent(f"{event_type}: data must be a JSON object, got {type(data).__name__}", data)
    try:
        return PaymentEventData.model_validate(data).model_dump(exclude_none=True)
    except ValidationError as error:
        fields = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise PoisonEvent(f"{event_type}: invalid data ({fields})", data) from None


def normalise(raw: Any, accepted_types: frozenset[str]) -> SagaEvent:
    """Read one event in any of the three envelopes; raise PoisonEvent if it is unusable."""
    if isinstance(raw, (bytes, str)):
        if len(raw) > MAX_EVENT_BYTES:
            raise PoisonEvent(f"event larger than {MAX_EVENT_BYTES} bytes", None)
        try:
            raw = json.loads(raw)
        except ValueError as error:
            raise PoisonEvent(f"not JSON: {error}", None) from None
    if not isinstance(raw, dict):
        raise PoisonEvent(f"an event must be a JSON object, got {type(raw).__name__}", raw)
    if "specversion" in raw:
        fields: dict[str, Any] = {k: raw.get(k) for k in ("id", "type", "source", "subject", "time", "data")}
        known = {"specversion", "id", "type", "source", "subject", "time", "data", "datacontenttype", "dataschema"}
        extensions = {k: v for k, v in raw.items() if k not in known and k != "traceparent"}
        traceparent = raw.get("traceparent")
    elif "detail-type" in raw:
        fields = {"id": raw.get("id"), "type": raw.get("detail-type"), "source": raw.get("source"),
                  "subject": None, "time": raw.get("time"), "data": raw.get("detail")}
        detail: dict[str, Any] = raw["detail"] if isinstance(raw.get("detail"), dict) else {}
        # Events relayed from the AWS outbox keep their CloudEvents id and trace in the detail.
        fields["id"] = detail.get("eventId", fields["id"])
        traceparent, extensions = detail.get("traceparent"), {}
        if isinstance(detail.get("data"), dict):
            fields["data"] = detail["data"]
            fields["subject"] = detail.get("subject")
    elif "eventType" in raw:
        fields = {"id": raw.get("id"), "type": raw.get("eventType"), "source": raw.get("topic"),
                  "subject": raw.get("subject"), "time": raw.get("eventTime"), "data": raw.get("data")}
        traceparent, extensions = None, {}
    else:
        raise PoisonEvent("not a CloudEvent, an Event Grid event or an EventBridge envelope", raw)
    event_type = fields["type"]
    if not isinstance(event_type, str) or event_type not in accepted_types:
        raise PoisonEvent(f"unknown event type {event_type!r}", raw)
    if not isinstance(fields["id"], str) or not fields["id"]:
        raise PoisonEvent("missing event id", raw)
    data = validate_data(event_type, fields["data"])
    subject = fields["subject"] or f"orders/{data['orderId']}"
    if subject != f"orders/{data['orderId']}":
        raise PoisonEvent(f"subject {subject!r} does not match orderId {data['orderId']!r}", raw)
    return SagaEvent(id=fields["id"], type=event_type, source=str(fields["source"] or ""), subject=subject,
                     time=str(fields["time"] or ""), data=data,
                     traceparent=traceparent if isinstance(traceparent, str) else None, extensions=extensions)
