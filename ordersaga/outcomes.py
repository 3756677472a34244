"""Typed step outcomes that cross the activity boundary as plain JSON.

Python Durable Functions loses exception types across the activity boundary (a failed
activity reaches the orchestrator as a bare `Exception` whose text embeds the original
name), so business results are *returned*, never raised:

- `Succeeded`  – the step's effect is applied (or already was).
- `Rejected`   – a business refusal (out of stock, declined, invalid transition): the saga
                 compensates. Retrying would not help.

A transient fault (Cosmos unavailable, an ETag race that never settled) is *raised* as a
`TransientError`, which the Durable retry policy retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class TransientError(RuntimeError):
    """A fault worth retrying: raised from activities so Durable's retry policy applies."""


class RejectionCode:
    OUT_OF_STOCK = "OUT_OF_STOCK"
    UNKNOWN_SKU = "UNKNOWN_SKU"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    CANCEL_REQUESTED = "CANCEL_REQUESTED"
    ORDER_MISMATCH = "ORDER_MISMATCH"


@dataclass(frozen=True)
class Succeeded:
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"ok": True, "data": self.data}


@dataclass(frozen=True)
class Rejected:
    code: str
    message: str
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"ok": False, "code": self.code, "message": self.message, "details": self.details}


Outcome = Succeeded | Rejected


def outcome_from_json(value: Any) -> Outcome:
    """Decode what an activity returned. Anything not shaped like an outcome is a bug in
    the activity, reported as such rather than guessed at."""
    if isinstance(value, dict) and value.get("ok") is True:
        return Succeeded(dict(value.get("data") or {}))
    if isinstance(value, dict) and value.get("ok") is False and isinstance(value.get("code"), str):
        return Rejected(value["code"], str(value.get("message", "")), list(value.get("details") or []))
    raise ValueError(f"not a step outcome: {value!r}")
