"""Fault injection for activity work items.

Shape (``faults=`` on DevHost, or JSON in the ``DEVHOST_FAULTS`` setting)::

    {"activities": {"reserve_inventory": {"crash_after": 1, "duplicate": 0, "delay_s": 0}}}

- ``crash_after: n`` — the next n runs of the activity complete their side effects, then the
  result is dropped as if the host died before recording it; the work item is run again
  later, exactly as after a restart (at-least-once delivery).
- ``duplicate: n`` — the next n work items of the activity are delivered twice (the
  activity runs twice; the second result is discarded as a duplicate, like DTFx does).
- ``delay_s: x`` — every work item of the activity waits x seconds before it runs.

Counters live in memory and count down per host instance.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("devhost")


@dataclass
class ActivityFaults:
    crash_after: int = 0
    duplicate: int = 0
    delay_s: float = 0.0

    def take_crash(self) -> bool:
        if self.crash_after > 0:
            self.crash_after -= 1
            return True
        return False

    def take_duplicate(self) -> bool:
        if self.duplicate > 0:
            self.duplicate -= 1
            return True
        return False


class FaultPlan:
    def __init__(self, plan: dict[str, Any] | None = None) -> None:
        self._activities: dict[str, ActivityFaults] = {}
        for name, spec in ((plan or {}).get("activities") or {}).items():
            unknown = set(spec) - {"crash_after", "duplicate", "delay_s"}
            if unknown:
                raise ValueError(f"devhost faults: unknown keys {sorted(unknown)} for {name}")
            self._activities[name.lower()] = ActivityFaults(
                crash_after=int(spec.get("crash_after", 0)),
                duplicate=int(spec.get("duplicate", 0)),
                delay_s=float(spec.get("delay_s", 0)))
        if self._activities:
            log.warning("devhost: FAULT INJECTION active: %s",
                        {k: v.__dict__ for k, v in self._activities.items()})

    @classmethod
    def from_setting(cls, text: str | None) -> FaultPlan:
        return cls(json.loads(text) if text else None)

    def for_activity(self, name: str) -> ActivityFaults:
        return self._activities.get((name or "").lower()) or ActivityFaults()
