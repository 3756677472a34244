"""The order saga as one declarative table.

Each row names the activity that does the step and the activity that undoes it. The
orchestrator, the README's saga table and the parameterised tests are all driven by
`ORDER_SAGA`; adding a step is one row here plus its activity.

Kinds:
- COMPENSATABLE: may be undone. Its undo is pushed on the compensation stack *before* the
  step runs, so a step whose outcome is unknown (crash, timeout) is still covered; every
  undo is a safe no-op when nothing was applied.
- PIVOT: the point of no return. Before it succeeds the saga can still compensate; after
  it, only forward.
- RETRIABLE: after the pivot; retried with backoff until it succeeds, never compensated.
  If it still fails at the forward deadline the saga parks as NEEDS_ATTENTION.

Retry: BOUNDED steps get SAGA_STEP_MAX_ATTEMPTS attempts inside the step's race, then count
as failed; UNTIL_DEADLINE steps retry until SAGA_FORWARD_DEADLINE_SECONDS; every undo until
SAGA_UNDO_DEADLINE_SECONDS. All of them wait between attempts on durable timers with
exponential backoff and deterministic jitter, scheduled by the orchestrator itself — not the
Durable retry policy, whose extension-side retry timers break the replay of a race whose
timer was cancelled (see `OrderSaga.attempt_bounded`). Timings come from `SagaPolicy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class StepKind(StrEnum):
    COMPENSATABLE = "compensatable"
    PIVOT = "pivot"
    RETRIABLE = "retriable"


class Retry(StrEnum):
    BOUNDED = "bounded"  # SAGA_STEP_MAX_ATTEMPTS attempts, backoff from SAGA_STEP_RETRY_INTERVAL_MS
    UNTIL_DEADLINE = "until-deadline"  # own backoff loop up to SAGA_FORWARD_DEADLINE_SECONDS


@dataclass(frozen=True)
class Reply:
    """A step that completes when another system answers: after its activity (the request)
    the saga waits for one of two external events, raced against PAYMENT_REPLY_TIMEOUT_SECONDS.
    Each kind of reply has its own event name (SDK 1.7.0 delivers two early events with one
    name as the second of them)."""

    accepted: str
    rejected: str
    rejection_code: str


@dataclass(frozen=True)
class SagaStep:
    name: str
    kind: StepKind
    activity: str
    undo: str | None
    retry: Retry
    timed: bool  # raced against a durable timer of SAGA_STEP_TIMEOUT_SECONDS
    does: str
    undoes: str = ""
    reply: Reply | None = None


ORDER_SAGA: tuple[SagaStep, ...] = (
    SagaStep("create_order", StepKind.COMPENSATABLE, "create_order", "cancel_order", Retry.BOUNDED, timed=True,
             does="Cosmos orders: create the order PENDING (the semantic lock)",
             undoes="PENDING→CANCELLED under If-Match; no-op if absent or already cancelled"),
    SagaStep("reserve_inventory", StepKind.COMPENSATABLE, "reserve_inventory", "release_inventory", Retry.BOUNDED,
             timed=True,
             does="Cosmos inventory: per SKU read → check → replace under If-Match (412 ⇒ reread, retry)",
             undoes="give back exactly what this order holds on each SKU; no-op if nothing"),
    SagaStep("reserve_payment", StepKind.COMPENSATABLE, "request_payment", "request_payment_compensation",
             Retry.BOUNDED, timed=False,
             does="publish PaymentReservationRequested to AWS; wait for PaymentReserved / PaymentDeclined "
                  "(raced against a durable timer)",
             undoes="publish PaymentCompensationRequested; AWS releases idempotently, no-op if nothing reserved",
             reply=Reply("PaymentReserved", "PaymentDeclined", "PAYMENT_DECLINED")),
    SagaStep("confirm_order", StepKind.PIVOT, "confirm_order", None, Retry.BOUNDED, timed=False,
             does="PENDING→APPROVED under If-Match; refused if the customer asked to cancel"),
    SagaStep("capture_payment", StepKind.RETRIABLE, "request_payment_capture", None, Retry.UNTIL_DEADLINE,
             timed=False, does="publish PaymentCaptureRequested to AWS (the reserved amount is charged)"),
    SagaStep("schedule_shipment", StepKind.RETRIABLE, "schedule_shipment", None, Retry.UNTIL_DEADLINE, timed=False,
             does="record the shipment on the order (deterministic shipment id)"),
    SagaStep("complete_order", StepKind.RETRIABLE, "complete_order", None, Retry.UNTIL_DEADLINE, timed=False,
             does="reservations become sold; APPROVED→COMPLETED (releases the semantic lock)"),
)

# Parks a saga whose undo or forward step could not finish: NEEDS_ATTENTION + what remains.
PARK_ACTIVITY = "park_order"

# Raised into the orchestration before the pivot, each makes the saga compensate: the
# customer's cancellation (cancel endpoint), AWS asking Azure to roll back (inbound trigger),
# and the sweeper finding the saga past its deadline.
CANCEL_EVENT = "CancelRequested"
AWS_COMPENSATION_EVENT = "OrderCompensationRequested"
DEADLINE_EVENT = "SagaDeadlineExceeded"  # raised by the zombie sweeper


def activity_names(steps: tuple[SagaStep, ...] = ORDER_SAGA) -> frozenset[str]:
    names = {PARK_ACTIVITY}
    for step in steps:
        names.add(step.activity)
        if step.undo:
            names.add(step.undo)
    return frozenset(names)


def validate_step_table(steps: tuple[SagaStep, ...], registered_activities: set[str]) -> None:
    """Fail at import when the table and the app disagree.

    The real host hangs an orchestration that calls an unregistered activity name, so a
    typo here must never reach a running saga.
    """
    problems: list[str] = []
    missing = sorted(activity_names(steps) - registered_activities)
    if missing:
        problems.append(f"activities not registered in the function app: {', '.join(missing)}")
    pivots = [s.name for s in steps if s.kind is StepKind.PIVOT]
    if len(pivots) != 1:
        problems.append(f"exactly one pivot step expected, found {pivots or 'none'}")
    else:
        pivot_at = next(i for i, s in enumerate(steps) if s.kind is StepKind.PIVOT)
        for index, step in enumerate(steps):
            if index < pivot_at and step.kind is not StepKind.COMPENSATABLE:
                problems.append(f"{step.name}: steps before the pivot must be compensatable")
            if index > pivot_at and step.kind is not StepKind.RETRIABLE:
                problems.append(f"{step.name}: steps after the pivot must be retriable")
            if (step.kind is StepKind.COMPENSATABLE) != (step.undo is not None):
                problems.append(f"{step.name}: exactly the compensatable steps have an undo")
            if step.reply is not None and step.kind is not StepKind.COMPENSATABLE:
                problems.append(f"{step.name}: only a compensatable step may wait for a reply")
    if len({s.name for s in steps}) != len(steps):
        problems.append("step names must be unique")
    if problems:
        raise ValueError("invalid saga step table: " + "; ".join(problems))
