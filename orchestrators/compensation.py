"""The compensation stack: undos registered before their steps, run last-in first-out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Undo:
    step: str
    activity: str

    def to_json(self) -> dict[str, str]:
        return {"step": self.step, "activity": self.activity}


class CompensationStack:
    def __init__(self) -> None:
        self._undos: list[Undo] = []

    def push(self, undo: Undo) -> None:
        self._undos.append(undo)

    def peek(self) -> Undo | None:
        return self._undos[-1] if self._undos else None

    def pop(self) -> Undo:
        return self._undos.pop()

    def __len__(self) -> int:
        return len(self._undos)

    def to_json(self) -> list[dict[str, Any]]:
        """Top of the stack first: the order in which the undos will run."""
        return [undo.to_json() for undo in reversed(self._undos)]
