"""Backoff delays for the orchestrator's own retry loops, with jitter that is a pure
function of (instance id, label, attempt) so every replay computes the same delay."""

from __future__ import annotations

import hashlib
from datetime import timedelta


def deterministic_fraction(*parts: object) -> float:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def backoff_delay(first_interval_ms: int, attempt: int, max_interval_ms: int, jitter: float) -> timedelta:
    """Exponential backoff (×2 per attempt, capped), then scaled into [50 %, 100 %] by jitter
    so that many sagas failing together do not retry together."""
    ceiling = min(first_interval_ms * 2 ** max(attempt - 1, 0), max_interval_ms)
    return timedelta(milliseconds=ceiling * (0.5 + jitter / 2))
