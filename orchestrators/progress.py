"""What the saga shows of itself in custom status: current step, completed steps, the undo
stack, attempts, last error and a timeline. Times come from the orchestration context, so
the status is deterministic across replays."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_TIMELINE_ENTRIES = 60  # custom status is capped at 16 KB by the extension


class Phase:
    RUNNING = "running"
    COMPENSATING = "compensating"
    COMPLETED = "completed"
    COMPENSATED = "compensated"
    NEEDS_ATTENTION = "needs-attention"


@dataclass
class SagaProgress:
    order_id: str
    phase: str = Phase.RUNNING
    current_step: str | None = None
    completed_steps: list[str] = field(default_factory=list)
    compensated_steps: list[str] = field(default_factory=list)
    undo_stack: list[dict[str, Any]] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    last_error: dict[str, Any] | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def note(self, at: datetime, step: str, event: str, detail: str | None = None) -> None:
        entry: dict[str, Any] = {"at": at.isoformat().replace("+00:00", "Z"), "step": step, "event": event}
        if detail:
            entry["detail"] = detail[:300]
        self.timeline.append(entry)
        del self.timeline[:-MAX_TIMELINE_ENTRIES]

    def count_attempt(self, step: str) -> int:
        self.attempts[step] = self.attempts.get(step, 0) + 1
        return self.attempts[step]

    def fail(self, step: str, code: str, message: str) -> None:
        self.last_error = {"step": step, "code": code, "message": message[:500]}

    def to_json(self) -> dict[str, Any]:
        return {
            "orderId": self.order_id,
            "phase": self.phase,
            "currentStep": self.current_step,
            "completedSteps": self.completed_steps,
            "compensatedSteps": self.compensated_steps,
            "undoStack": self.undo_stack,
            "attempts": self.attempts,
            "lastError": self.last_error,
            "timeline": self.timeline,
        }
