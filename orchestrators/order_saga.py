"""The order saga orchestrator, driven by the step table in `saga_steps`.

Read top to bottom: each step pushes its undo (if any), then runs. Before the pivot a
rejection, a failure that outlived its retries, a timeout or a customer's cancellation
unwinds the compensation stack; after the pivot the saga only goes forward. An undo or a
forward step that cannot finish parks the saga as NEEDS_ATTENTION with what remains.

Determinism: no I/O, clock, randomness or settings here. Time is
`context.current_utc_datetime`, ids derive from the order id and step name, timings come
from the orchestration input, and jitter is a hash of instance id and attempt.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.Task import TaskBase, TaskState

from orchestrators.backoff import backoff_delay, deterministic_fraction
from orchestrators.compensation import CompensationStack, Undo
from orchestrators.progress import Phase, SagaProgress
from orchestrators.saga_steps import (
    AWS_COMPENSATION_EVENT,
    CANCEL_EVENT,
    DEADLINE_EVENT,
    ORDER_SAGA,
    PARK_ACTIVITY,
    Retry,
    SagaStep,
    StepKind,
)
from ordersaga.outcomes import Outcome, Rejected, Succeeded, outcome_from_json
from ordersaga.saga_input import SagaInput

bp = df.Blueprint()

Steps = Generator[TaskBase, Any, Any]


class SagaFailure:
    """Codes for failures that are not an activity's own rejection."""

    STEP_FAILED = "STEP_FAILED"  # every retry attempt raised
    STEP_TIMED_OUT = "STEP_TIMED_OUT"
    REPLY_TIMED_OUT = "REPLY_TIMED_OUT"
    CANCELLED_BY_CUSTOMER = "CANCELLED_BY_CUSTOMER"
    COMPENSATION_REQUESTED_BY_AWS = "COMPENSATION_REQUESTED_BY_AWS"
    SAGA_DEADLINE_EXCEEDED = "SAGA_DEADLINE_EXCEEDED"
    UNDO_FAILED = "UNDO_FAILED"
    FORWARD_STEP_FAILED = "FORWARD_STEP_FAILED"


@bp.orchestration_trigger(context_name="context")
def order_saga(context: df.DurableOrchestrationContext) -> Steps:
    saga = OrderSaga(context, SagaInput.from_json(context.get_input()))
    return (yield from saga.run())


@bp.orchestration_trigger(context_name="context")
def order_saga_repair(context: df.DurableOrchestrationContext) -> Steps:
    """Finishes what another run of the saga could not: an operator's retry of a parked saga,
    or the sweeper's repair of an abandoned one. Same steps, same undos, same rules."""
    saga_input = SagaInput.from_json(context.get_input())
    if saga_input.repair is None:
        raise ValueError("order_saga_repair needs a repair plan in its input")
    saga = OrderSaga(context, saga_input)
    return (yield from saga.repair(saga_input.repair))


ABORT_REASONS = {
    CANCEL_EVENT: (SagaFailure.CANCELLED_BY_CUSTOMER, "the customer cancelled the order"),
    AWS_COMPENSATION_EVENT: (SagaFailure.COMPENSATION_REQUESTED_BY_AWS, "the payment service asked to roll back"),
    DEADLINE_EVENT: (SagaFailure.SAGA_DEADLINE_EXCEEDED, "the saga ran past its deadline (sweeper)"),
}


def event_payload(value: Any) -> dict[str, Any]:
    """Data sent with `raise_event` arrives as a JSON *string* (the client encodes it twice)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {"value": value}
    return value if isinstance(value, dict) else {"value": value}


def first_line(error: BaseException) -> str:
    """A failed activity arrives as a bare Exception whose text embeds the original one."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


class OrderSaga:
    def __init__(self, context: df.DurableOrchestrationContext, saga: SagaInput) -> None:
        self.context = context
        self.order = saga.order
        self.order_id = saga.order_id
        self.policy = saga.policy
        self.traceparent = saga.traceparent
        # A repair acts on behalf of the saga that created the order: undos check that id.
        self.saga_id = str((saga.repair or {}).get("sagaId") or context.instance_id)
        self.progress = SagaProgress(self.order_id)
        self.stack = CompensationStack()
        # Where reserve_inventory put the order's units (SKU buckets), from its result: the
        # release and the sale go straight there. None while unknown (then they look).
        self.holdings: list[dict[str, Any]] | None = None
        # The order document's version (ETag + status) as this saga last wrote it, from the
        # activity results: the next write sends it with If-Match instead of reading first.
        # A stale one costs a 412 and a reread; correctness never depends on it.
        self.order_version: dict[str, Any] | None = None
        # One wait per abort event (customer cancellation, AWS rollback), raced against every
        # step before the pivot.
        self.aborts = {name: context.wait_for_external_event(name) for name in ABORT_REASONS}

    # -- the saga --------------------------------------------------------------------------

    def run(self) -> Steps:
        for step in ORDER_SAGA:
            if step.retry is Retry.UNTIL_DEADLINE:
                failure = yield from self.run_until_deadline(step)
                if failure is not None:
                    return (yield from self.park(step.name, failure))
                continue
            if step.undo is not None:
                self.stack.push(Undo(step.name, step.undo))  # before the step: covers unknown outcomes
            outcome = yield from self.run_bounded(step)
            if isinstance(outcome, Rejected):
                return (yield from self.compensate(step.name, outcome))
            self.step_done(step)
        return self.finish(Phase.COMPLETED, "COMPLETED")

    def repair(self, plan: dict[str, Any]) -> Steps:
        """Compensate with the given undos (listed top of the stack first), or go forward from
        a retriable step after the pivot."""
        reason = Rejected(plan["reason"]["code"], plan["reason"]["message"])
        self.progress.note(self.now(), "repair", "started", f"{plan['mode']}: {reason.message}")
        if plan["mode"] == "compensate":
            for undo in reversed(plan["undos"]):
                self.stack.push(Undo(undo["step"], undo["activity"]))
            return (yield from self.compensate("repair", reason))
        names = [step.name for step in ORDER_SAGA]
        start = names.index(plan["resumeFrom"])
        self.progress.completed_steps = names[:start]
        for step in ORDER_SAGA[start:]:
            failure = yield from self.run_until_deadline(step)
            if failure is not None:
                return (yield from self.park(step.name, failure))
        return self.finish(Phase.COMPLETED, "COMPLETED")

    # -- forward steps ---------------------------------------------------------------------

    def run_bounded(self, step: SagaStep) -> Steps:
        """Run a step with a bounded number of attempts, raced against its timeout and (before
        the pivot) the abort events; then, for a step that expects a reply, wait for it."""
        self.step_started(step)
        timeout = self.policy.step_timeout_seconds
        timer = self.timer_in(timedelta(seconds=timeout)) if step.timed else None
        outcome = yield from self.attempt_bounded(step, timer, f"{step.name}: no answer within {timeout}s")
        self.cancel(timer)
        if step.reply is None or isinstance(outcome, Rejected):
            return outcome
        # The request is out; its answer comes back as one of two external events.
        accepted = self.context.wait_for_external_event(step.reply.accepted)
        rejected = self.context.wait_for_external_event(step.reply.rejected)
        self.progress.note(self.now(), step.name, "awaiting-reply", f"{step.reply.accepted} | {step.reply.rejected}")
        self.publish()
        reply_timeout = self.policy.payment_reply_timeout_seconds
        reply_timer = self.timer_in(timedelta(seconds=reply_timeout))
        answer = yield from self.race(step, [accepted, rejected], reply_timer, SagaFailure.REPLY_TIMED_OUT,
                                      f"{step.name}: no answer within {reply_timeout}s")
        self.cancel(reply_timer)
        if isinstance(answer, Rejected):
            return answer
        if answer is rejected:
            data = event_payload(rejected.result)
            return Rejected(step.reply.rejection_code, str(data.get("reason") or step.reply.rejected), [data])
        self.progress.note(self.now(), step.name, "reply", step.reply.accepted)
        return Succeeded(event_payload(accepted.result))

    def attempt_bounded(self, step: SagaStep, timer: TaskBase | None, timeout_message: str) -> Steps:
        """Up to SAGA_STEP_MAX_ATTEMPTS attempts, a durable backoff timer between them, all
        inside the step's race.

        Not `call_activity_with_retry`: its retry timers and re-attempts are scheduled by the
        extension (DTFx's retry interceptor) while the race is still open, and a race whose
        timer the orchestrator cancelled completes at once when replayed — so the following
        step would replay ahead of those retry timers and the instance fails as
        non-deterministic. Retrying here keeps every timer and attempt in the orchestrator's
        own, replayable sequence.
        """
        attempt = 1
        while True:
            task = self.context.call_activity(step.activity, self.request(step.name))
            finished = yield from self.race(step, [task], timer, SagaFailure.STEP_TIMED_OUT, timeout_message)
            if isinstance(finished, Rejected):
                return finished
            if task.state is not TaskState.FAILED:
                return self.decode(step.name, task.result)
            error = first_line(task.result)
            if attempt >= self.policy.step_max_attempts:
                return Rejected(SagaFailure.STEP_FAILED, error)
            self.progress.fail(step.name, SagaFailure.STEP_FAILED, error)
            self.progress.note(self.now(), step.name, "retry-scheduled", error)
            self.publish()
            delay = backoff_delay(self.policy.step_retry_interval_ms, attempt, self.policy.step_retry_interval_ms * 8,
                                  deterministic_fraction(self.context.instance_id, step.name, attempt))
            pause = self.timer_in(delay)
            waited = yield from self.race(step, [pause], timer, SagaFailure.STEP_TIMED_OUT, timeout_message)
            if isinstance(waited, Rejected):
                self.cancel(pause)
                return waited
            attempt += 1
            self.progress.count_attempt(step.name)

    def race(self, step: SagaStep, work: list[TaskBase], timer: TaskBase | None, timeout_code: str,
             timeout_message: str) -> Steps:
        """Wait for the first of `work`, the timer (if any) and, before the pivot, the abort
        events. Returns the Rejected outcome of a timeout or abort, else the `work` task that
        finished. The caller owns the timer and cancels it when the step is over: an
        uncancelled one keeps the instance Running until it fires."""
        racers = list(work)
        if timer is not None:
            racers.append(timer)
        if step.kind is StepKind.COMPENSATABLE:
            racers.extend(self.aborts.values())
        if len(racers) > 1:
            winner = yield self.context.task_any(racers)
        else:
            winner = work[0]
            try:
                yield winner
            except Exception:  # noqa: BLE001 - the task's state records the failure
                pass
        if winner is timer:
            return Rejected(timeout_code, timeout_message)
        for name, abort in self.aborts.items():
            if winner is abort:
                code, message = ABORT_REASONS[name]
                return Rejected(code, message, [event_payload(abort.result)])
        return winner

    def timer_in(self, delay: timedelta) -> TaskBase:
        return self.context.create_timer(self.now() + delay)

    @staticmethod
    def cancel(timer: TaskBase | None) -> None:
        if timer is not None and not timer.is_completed:
            timer.cancel()

    def run_until_deadline(self, step: SagaStep) -> Steps:
        """After the pivot: retry with backoff until success; never compensate. Returns None
        on success, else the rejection that makes the saga park."""
        self.step_started(step)
        deadline = self.now() + timedelta(seconds=self.policy.forward_deadline_seconds)
        attempt = 0
        while True:
            attempt += 1
            outcome: Outcome
            try:
                result = yield self.context.call_activity(step.activity, self.request(step.name))
                outcome = self.decode(step.name, result)
            except Exception as error:  # noqa: BLE001 - any failure of a forward step is retried
                outcome = Rejected(SagaFailure.FORWARD_STEP_FAILED, first_line(error))
                retry_allowed = True
            else:
                retry_allowed = False  # a business rejection after the pivot will not go away
            if isinstance(outcome, Succeeded):
                self.step_done(step)
                return None
            self.progress.fail(step.name, outcome.code, outcome.message)
            self.progress.note(self.now(), step.name, "attempt-failed", outcome.message)
            if not retry_allowed:
                return outcome
            delay = backoff_delay(self.policy.forward_retry_interval_ms, attempt, self.policy.forward_max_interval_ms,
                                  deterministic_fraction(self.context.instance_id, step.name, attempt))
            if self.now() + delay > deadline:
                return outcome
            self.progress.count_attempt(step.name)
            self.publish()
            yield self.context.create_timer(self.now() + delay)

    # -- compensation ------------------------------------------------------------------------

    def compensate(self, where: str, reason: Rejected) -> Steps:
        self.progress.phase = Phase.COMPENSATING
        self.progress.fail(where, reason.code, reason.message)
        self.progress.note(self.now(), where, "rejected", f"{reason.code}: {reason.message}")
        deadline = self.now() + timedelta(seconds=self.policy.undo_deadline_seconds)
        while (undo := self.stack.peek()) is not None:
            failure = yield from self.run_undo(undo, reason, deadline)
            if failure is not None:
                return (yield from self.park(f"undo:{undo.step}", failure))
            self.stack.pop()
            self.progress.compensated_steps.append(undo.step)
            self.progress.note(self.now(), undo.step, "compensated")
        return self.finish(Phase.COMPENSATED, "CANCELLED", reason)

    def run_undo(self, undo: Undo, reason: Rejected, deadline: Any) -> Steps:
        """Retry one undo with backoff until it succeeds or the deadline passes. Returns None
        on success, else why it could not finish."""
        label = f"undo:{undo.step}"
        attempt = 0
        while True:
            attempt += 1
            self.progress.count_attempt(label)
            self.progress.current_step = label
            self.publish()
            request = self.request(undo.step) | {"reason": {"code": reason.code, "message": reason.message}}
            try:
                outcome = self.decode(label, (yield self.context.call_activity(undo.activity, request)))
            except Exception as error:  # noqa: BLE001 - undo failures are retried, then parked
                outcome = Rejected(SagaFailure.UNDO_FAILED, first_line(error))
            else:
                if isinstance(outcome, Rejected):
                    return outcome  # an undo's own refusal will not change by retrying
            if isinstance(outcome, Succeeded):
                return None
            self.progress.fail(label, outcome.code, outcome.message)
            delay = backoff_delay(self.policy.undo_retry_interval_ms, attempt, self.policy.undo_max_interval_ms,
                                  deterministic_fraction(self.context.instance_id, label, attempt))
            if self.now() + delay > deadline:
                return outcome
            self.progress.note(self.now(), label, "retry-scheduled", outcome.message)
            self.publish()
            yield self.context.create_timer(self.now() + delay)

    def park(self, where: str, failure: Rejected) -> Steps:
        """Record NEEDS_ATTENTION with what is left to undo, in custom status and on the order."""
        self.progress.phase = Phase.NEEDS_ATTENTION
        self.progress.fail(where, failure.code, failure.message)
        self.progress.note(self.now(), where, "parked", failure.message)
        self.progress.undo_stack = self.stack.to_json()
        self.publish()
        request = self.request(where) | {
            "remainingUndos": self.stack.to_json(),
            "lastError": self.progress.last_error,
        }
        retry = df.RetryOptions(self.policy.step_retry_interval_ms, self.policy.step_max_attempts)
        try:
            yield self.context.call_activity_with_retry(PARK_ACTIVITY, retry, request)
        except Exception as error:  # noqa: BLE001 - custom status still shows the parked saga
            self.progress.note(self.now(), where, "park-not-recorded", first_line(error))
        return self.finish(Phase.NEEDS_ATTENTION, "NEEDS_ATTENTION", failure)

    # -- bookkeeping -----------------------------------------------------------------------------

    def request(self, step: str) -> dict[str, Any]:
        """Every activity gets the same request; ids derive from order id + step, so a retried
        or duplicated activity presents the same idempotency key."""
        return {
            "orderId": self.order_id,
            "sagaId": self.saga_id,
            "step": step,
            "idempotencyKey": f"{self.order_id}:{step}",
            "order": self.order,
        } | ({"traceparent": self.traceparent} if self.traceparent else {}) | (
            {"holdings": self.holdings} if self.holdings is not None else {}) | (
            {"orderVersion": self.order_version} if self.order_version is not None else {})

    def decode(self, step: str, value: Any) -> Outcome:
        try:
            outcome = outcome_from_json(value)
        except ValueError as error:
            return Rejected(SagaFailure.STEP_FAILED, f"{step} returned no outcome: {error}")
        reported = [outcome.data] if isinstance(outcome, Succeeded) else list(outcome.details)
        for data in reported:
            if isinstance(data, dict) and isinstance(data.get("holdings"), list):
                self.holdings = data["holdings"]
            if isinstance(data, dict) and isinstance(data.get("orderVersion"), dict):
                self.order_version = data["orderVersion"]
        return outcome

    def now(self) -> Any:
        return self.context.current_utc_datetime

    def step_started(self, step: SagaStep) -> None:
        self.progress.current_step = step.name
        self.progress.count_attempt(step.name)
        self.progress.undo_stack = self.stack.to_json()
        self.progress.note(self.now(), step.name, "started")
        self.publish()

    def step_done(self, step: SagaStep) -> None:
        self.progress.completed_steps.append(step.name)
        self.progress.note(self.now(), step.name, "completed")
        self.publish()

    def publish(self) -> None:
        self.context.set_custom_status(self.progress.to_json())

    def finish(self, phase: str, status: str, reason: Rejected | None = None) -> dict[str, Any]:
        self.progress.phase = phase
        self.progress.current_step = None
        self.progress.undo_stack = self.stack.to_json()
        self.publish()
        return {
            "orderId": self.order_id,
            "status": status,
            "reason": None if reason is None else {"code": reason.code, "message": reason.message},
            "completedSteps": self.progress.completed_steps,
            "compensatedSteps": self.progress.compensated_steps,
        }
