"""Repair plans for `order_saga_repair`, derived from the step table and what the order
document says: an operator retrying a parked saga, or the sweeper repairing an abandoned one."""

from __future__ import annotations

from typing import Any

from orchestrators.saga_steps import ORDER_SAGA, StepKind

REPAIR_ORCHESTRATOR = "order_saga_repair"


def every_undo() -> list[dict[str, str]]:
    """All undos, top of the stack first: safe when nothing is known, as each is a no-op
    when its step applied nothing."""
    return [{"step": s.name, "activity": str(s.undo)} for s in reversed(ORDER_SAGA) if s.kind is StepKind.COMPENSATABLE]


def plan_for_parked(order: dict[str, Any]) -> dict[str, Any]:
    return _plan_for_parked(order) | {"sagaId": order.get("sagaInstanceId") or order["id"]}


def _plan_for_parked(order: dict[str, Any]) -> dict[str, Any]:
    """Retry what a parked saga could not finish: its remaining undos, or the forward steps
    from the one that kept failing."""
    attention = order.get("attention") or {}
    where = str(attention.get("where") or "")
    last = attention.get("lastError") or {}
    reason = {"code": str(last.get("code") or "OPERATOR_RETRY"), "message": str(last.get("message") or "retry")}
    if where.startswith("undo:") or where == "repair":
        return {"mode": "compensate", "undos": attention.get("remainingUndos") or every_undo(), "reason": reason}
    forward = [s.name for s in ORDER_SAGA if s.kind is StepKind.RETRIABLE]
    if where in forward:
        return {"mode": "forward", "resumeFrom": where, "reason": reason}
    return {"mode": "compensate", "undos": every_undo(), "reason": reason}


def plan_for_abandoned(saga_id: str) -> dict[str, Any]:
    return {"mode": "compensate", "undos": every_undo(), "sagaId": saga_id,
            "reason": {"code": "SAGA_ABANDONED", "message": "no saga was running for this PENDING order"}}
