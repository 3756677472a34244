"""States of a saga's payment row and what a handler reports back."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class PaymentStatus(StrEnum):
    """LocalPayments.status. PENDING is the only state that can move; the other two are final.

        (none) ──reservation──▶ PENDING_AZURE_CONFIRMATION ──capture──────▶ CAPTURED
           │                           │
           └──compensation─┐           └──compensation──▶ CANCELLED_VIA_COMPENSATION
                           ▼
              CANCELLED_VIA_COMPENSATION (tombstone, amount 0)
    """

    PENDING = "PENDING_AZURE_CONFIRMATION"
    CAPTURED = "CAPTURED"
    CANCELLED = "CANCELLED_VIA_COMPENSATION"


class OutboxStatus(StrEnum):
    UNSENT = "UNSENT"
    SENT = "SENT"
    PARKED = "PARKED"  # PutEvents kept rejecting it: kept for an operator, no longer retried


class Outcome(StrEnum):
    APPLIED = "applied"                # the effect happened (reserved, compensated, captured)
    DECLINED = "declined"              # business rejection, PaymentDeclined emitted
    DUPLICATE = "duplicate"            # already handled (inbox, or the state already reflects it): no effect
    RECONCILIATION = "reconciliation"  # acknowledged but contradicts the state: recorded for an operator
    POISON = "poison"                  # malformed: acknowledged and recorded in PoisonEvents


@dataclass(frozen=True)
class HandlerResult:
    outcome: Outcome
    event_id: str | None = None
    event_type: str | None = None
    saga_id: str | None = None
    emitted: tuple[str, ...] = ()   # types of the events written to the outbox
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"outcome": self.outcome.value}
        for key, item in (("eventId", self.event_id), ("type", self.event_type), ("sagaId", self.saga_id),
                          ("reason", self.reason)):
            if item is not None:
                body[key] = item
        if self.emitted:
            body["emitted"] = list(self.emitted)
        return body


@dataclass
class RelayReport:
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    parked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already sent by an earlier attempt


class TransientFailure(RuntimeError):
    """The event could not be handled now (contention that did not settle): the sender must retry."""
