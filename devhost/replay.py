"""What the Durable extension + DTFx do with an orchestrator's answer, episode by episode.

On the real host, each episode DTFx replays the whole history through the extension's
``OutOfProcOrchestrationShim``: when ``ExecutionStarted`` is processed the Python function
is invoked ONCE (with the full history) and the returned actions are re-invoked, in order,
against a DTFx context. Every DTFx call (schedule task, create timer, create
sub-orchestration, send event) takes the next sequence number and is matched against the
history event with that ``EventId``; completions (``TaskCompleted``, ``TimerFired``, ...)
resume the awaiting code synchronously, which may make further calls (the retry
interceptor's timers and next attempts). Whatever is still unmatched at the end is new
work for this episode. The orchestration completes only when the shim's code finished
AND no DTFx task is open (an uncancelled timer keeps the instance Running).

``replay_episode`` reproduces that with a small callback-based task model, so sequence
numbers, the retry interceptor's extra "dummy" timer and non-determinism checks come out
as on Azure. Sources: extension ``OutOfProcOrchestrationShim`` (v2.13.7: exceptions of
awaited actions are swallowed), DTFx ``TaskOrchestrationExecutor`` / ``TaskOrchestration
Context`` / ``RetryInterceptor`` (v2.17.1: the final failed attempt is followed by a
timer that fires at the current time).
"""
from __future__ import annotations

import datetime as _dt
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .history import EventType, parse_timestamp

# Extension defaults for RetryOptions fields Python does not send.
DEFAULT_MAX_RETRY_INTERVAL_MS = 6 * 24 * 3600 * 1000

ACTION_NAMES = {
    0: "CallActivity", 1: "CallActivityWithRetry", 2: "CallSubOrchestrator",
    3: "CallSubOrchestratorWithRetry", 4: "ContinueAsNew", 5: "CreateTimer",
    6: "WaitForExternalEvent", 7: "CallEntity", 8: "CallHttp", 9: "SignalEntity",
    10: "ScheduledSignalEntity", 11: "WhenAny", 12: "WhenAll",
}


class NonDeterminismError(Exception):
    """DTFx's NonDeterministicOrchestrationException."""

    def __init__(self, details: str):
        super().__init__(f"Non-Deterministic workflow detected: {details}")


class _SimTask:
    """A minimal stand-in for a .NET Task: completes once, runs continuations inline."""

    __slots__ = ("_continuations", "done", "failed")

    def __init__(self) -> None:
        self.done = False
        self.failed = False
        self._continuations: list[Callable[[_SimTask], None]] = []

    def resolve(self, failed: bool = False) -> None:
        if self.done:
            return
        self.done = True
        self.failed = failed
        continuations, self._continuations = self._continuations, []
        for continuation in continuations:
            continuation(self)

    def then(self, continuation: Callable[[_SimTask], None]) -> None:
        if self.done:
            continuation(self)
        else:
            self._continuations.append(continuation)

    @staticmethod
    def completed(failed: bool = False) -> _SimTask:
        task = _SimTask()
        task.resolve(failed)
        return task


@dataclass
class Decision:
    """A DTFx call made during replay (new work if no history event matches it)."""

    sequence: int
    kind: str  # "task" | "timer" | "suborchestration"
    name: str | None = None
    input: str | None = None  # the action's input: JSON text (df_dumps output)
    fire_at: _dt.datetime | None = None
    instance_id: str | None = None


@dataclass
class OpenTask:
    sequence: int
    kind: str
    name: str | None
    fire_at: _dt.datetime | None
    task: _SimTask


@dataclass
class Completion:
    status: str  # "Completed" | "Failed" | "ContinuedAsNew"
    event_id: int
    result: str | None  # ExecutionCompleted.Result / ContinueAsNew input (JSON text or message)
    details: str | None = None


@dataclass
class EpisodeOutcome:
    decisions: list[Decision] = field(default_factory=list)
    completion: Completion | None = None
    custom_status: Any = None
    custom_status_set: bool = False
    open_tasks: list[OpenTask] = field(default_factory=list)
    unknown_functions: list[tuple] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    python_done_but_open: bool = False


@dataclass
class OrchestratorAnswer:
    """What the Python function returned for this episode.

    ``state`` is the OrchestratorState dict (from the return value, or from the JSON after
    ``$OutOfProcData$:`` when the function raised). ``crash_message`` is set when the
    function raised without that marker (the worker reports a plain failure).
    """

    state: dict | None
    crash_message: str | None = None


def compact_json(value: Any) -> str:
    """Newtonsoft's compact serialization of a JToken (no spaces)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class _Replayer:
    def __init__(self, *, orchestrator_name: str, execution_id: str,
                 answer: OrchestratorAnswer,
                 function_exists: Callable[[str, str], bool]) -> None:
        self.orchestrator_name = orchestrator_name
        self.execution_id = execution_id
        self.answer = answer
        self.function_exists = function_exists
        self.outcome = EpisodeOutcome()
        self.sequence = 0
        self.now: _dt.datetime | None = None
        self.pending_decisions: dict[int, Decision] = {}
        self.open_tasks: dict[int, OpenTask] = {}
        # extension-side external events: waiters form a stack per name (newest served
        # first), events nobody waits for are buffered FIFO per name.
        # (names are taken from the JSON as they are: None when absent)
        self.event_waiters: dict[str | None, list[_SimTask]] = {}
        self.buffered_events: dict[str | None, list[str | None]] = {}
        self.program: _SimTask | None = None
        self.program_error: tuple[str, str | None] | None = None  # (result message, details)
        self.continue_as_new_input: str | None = None
        self.continued_as_new = False

    # -- DTFx context calls -----------------------------------------------------------
    def _current_time(self) -> _dt.datetime:
        """DTFx's CurrentUtcDateTime: the time of the episode's OrchestratorStarted.

        Every history starts with OrchestratorStarted before ExecutionStarted, so it is set
        before the orchestrator's actions (and thus any retry timer) are replayed.
        """
        if self.now is None:
            raise RuntimeError("devhost: orchestrator actions replayed before any "
                               "OrchestratorStarted event")
        return self.now

    def _next_sequence(self) -> int:
        sequence = self.sequence
        self.sequence += 1
        return sequence

    def _schedule(self, kind: str, **fields: Any) -> _SimTask:
        sequence = self._next_sequence()
        decision = Decision(sequence=sequence, kind=kind, **fields)
        if kind == "suborchestration" and not decision.instance_id:
            decision.instance_id = f"{self.execution_id}:{sequence}"
        self.pending_decisions[sequence] = decision
        task = _SimTask()
        self.open_tasks[sequence] = OpenTask(sequence, kind, decision.name, decision.fire_at,
                                             task)
        return task

    def _create_timer(self, fire_at: _dt.datetime, cancelled: bool = False) -> _SimTask:
        task = self._schedule("timer", fire_at=fire_at)
        if cancelled:
            # CancellationTokenSource.Cancel(): the task is cancelled and leaves openTasks,
            # but the TimerCreated action stays scheduled (it fires, unobserved).
            self.open_tasks.pop(self.sequence - 1, None)
            task.resolve(failed=True)
        return task

    def _wait_for_event(self, name: str | None) -> _SimTask:
        task = _SimTask()
        self.event_waiters.setdefault(name, []).append(task)
        queue = self.buffered_events.get(name)
        if queue:
            queue.pop(0)
            if not queue:
                del self.buffered_events[name]
            self._raise_event(name)
        return task

    def _raise_event(self, name: str | None) -> None:
        waiters = self.event_waiters.get(name)
        if waiters:
            task = waiters.pop()
            if not waiters:
                del self.event_waiters[name]
            task.resolve()
        else:
            self.buffered_events.setdefault(name, []).append(name)

    def _with_retry(self, call: Callable[[], _SimTask], options: dict) -> _SimTask:
        """DTFx RetryInterceptor (v2.17.1) as continuations."""
        result = _SimTask()
        max_attempts = int(options.get("maxNumberOfAttempts", 1))
        first_ms = float(options.get("firstRetryIntervalInMilliseconds", 0))
        backoff = float(options.get("backoffCoefficient", 1.0))
        max_interval_ms = float(options.get("maxRetryIntervalInMilliseconds",
                                            DEFAULT_MAX_RETRY_INTERVAL_MS))
        timeout_ms = options.get("retryTimeoutInMilliseconds")
        first_attempt = self._current_time()

        def next_delay_ms(attempt: int) -> float:
            if timeout_ms is not None and self._current_time() >= first_attempt + _dt.timedelta(
                    milliseconds=float(timeout_ms)):
                return 0.0
            delay = first_ms * (backoff ** attempt)
            return delay if delay < max_interval_ms else max_interval_ms

        def attempt(retry_count: int) -> None:
            if retry_count >= max_attempts:
                # loop exhausted without an exception recorded (maxNumberOfAttempts <= 0)
                self.outcome.warnings.append(
                    "retry options with maxNumberOfAttempts <= 0: DTFx completes the retry "
                    "task without running anything; the Python orchestrator will wait forever")
                result.resolve(failed=False)
                return
            call().then(lambda t: after_attempt(t, retry_count))

        def after_attempt(task: _SimTask, retry_count: int) -> None:
            if not task.failed:
                result.resolve(failed=False)
                return
            if retry_count + 1 == max_attempts:
                # back-compat "dummy" timer that fires at the current time, then throw
                self._create_timer(self._current_time()).then(
                    lambda _t: result.resolve(failed=True))
                return
            delay_ms = next_delay_ms(retry_count)
            if delay_ms <= 0:
                result.resolve(failed=True)
                return
            fire_at = self._current_time() + _dt.timedelta(milliseconds=delay_ms)
            self._create_timer(fire_at).then(lambda _t: attempt(retry_count + 1))

        attempt(0)
        return result

    # -- actions -> DTFx calls --------------------------------------------------------
    def _invoke(self, action: dict[str, Any]) -> _SimTask:
        action_type = action.get("actionType")
        if action_type in (0, 1):
            name = action.get("functionName")
            if not isinstance(name, str) or not self.function_exists("activity", name):
                # ThrowIfFunctionDoesNotExist faults the task before anything is scheduled;
                # the shim swallows it, so the Python side waits forever.
                self.outcome.unknown_functions.append(("activity", name))
                return _SimTask.completed(failed=True)
            call = lambda: self._schedule("task", name=name, input=action.get("input"))  # noqa
            if action_type == 0:
                return call()
            return self._with_retry(call, action.get("retryOptions") or {})
        if action_type in (2, 3):
            name = action.get("functionName")
            if not isinstance(name, str) or not self.function_exists("orchestrator", name):
                self.outcome.unknown_functions.append(("orchestrator", name))
                return _SimTask.completed(failed=True)
            call = lambda: self._schedule(  # noqa: E731
                "suborchestration", name=name, input=action.get("input"),
                instance_id=action.get("instanceId"))
            if action_type == 2:
                return call()
            return self._with_retry(call, action.get("retryOptions") or {})
        if action_type == 4:
            self.continue_as_new_input = action.get("input")
            self.continued_as_new = True
            return _SimTask.completed()
        if action_type == 5:
            fire_at = parse_timestamp(action["fireAt"])
            return self._create_timer(fire_at, cancelled=bool(action.get("isCanceled")))
        if action_type == 6:
            return self._wait_for_event(action.get("externalEventName"))
        if action_type in (11, 12):
            children = [self._invoke(child) for child in action.get("compoundActions") or []]
            return self._when_any(children) if action_type == 11 else self._when_all(children)
        raise _UnsupportedAction(ACTION_NAMES.get(action_type, str(action_type))
                                 if isinstance(action_type, int) else str(action_type))

    @staticmethod
    def _when_all(children: list[_SimTask]) -> _SimTask:
        result = _SimTask()
        remaining = [len(children)]
        if not children:
            result.resolve()
            return result

        def child_done(_t: _SimTask) -> None:
            remaining[0] -= 1
            if remaining[0] == 0:
                result.resolve(failed=any(c.failed for c in children))

        for child in children:
            child.then(child_done)
        return result

    @staticmethod
    def _when_any(children: list[_SimTask]) -> _SimTask:
        result = _SimTask()
        for child in children:
            child.then(lambda _t: result.resolve())
        return result

    # -- the shim's program -----------------------------------------------------------
    def _start_program(self) -> None:
        self.program = _SimTask()
        answer = self.answer
        if answer.state is None:
            # the worker reported a failure without an OrchestratorState
            self.program_error = (
                f"Orchestrator function '{self.orchestrator_name}' failed: "
                f"{answer.crash_message}", answer.crash_message)
            self.program.resolve(failed=True)
            return
        state = answer.state
        if "customStatus" in state:
            self.outcome.custom_status = state["customStatus"]
            self.outcome.custom_status_set = True
        actions = state.get("actions") or []
        schema = state.get("schemaVersion", 0)
        if schema in (1, 2, "ReplayPatchV1", "V3"):
            if len(actions) != 1:
                self._fail_program(
                    f"With OOProc schema {schema}, expected actions array to be of length 1 "
                    f"in outer layer but got size: {len(actions)}")
                return
            sequence_of_actions = actions[0]
        else:
            # schema V1 ("Original"): one list per yield; devhost flattens it.
            sequence_of_actions = [a for group in actions for a in group]

        def run_from(index: int) -> None:
            while index < len(sequence_of_actions):
                try:
                    task = self._invoke(sequence_of_actions[index])
                except _UnsupportedAction as unsupported:
                    self._fail_program(
                        f"devhost does not support the '{unsupported}' action yet")
                    return
                index += 1
                if not task.done:
                    task.then(functools.partial(resume_at, index))
                    return
            error = state.get("error")
            if error:
                self._fail_program(
                    f"Orchestrator function '{self.orchestrator_name}' failed: {error}",
                    f"Message: {error}, StackTrace: (Python)")
            elif state.get("isDone"):
                self._resolve_program()
            # else: Task.Delay(Infinite) — more work to do.

        def resume_at(index: int, _t: _SimTask) -> None:
            run_from(index)

        run_from(0)

    def _fail_program(self, message: str, details: str | None = None) -> None:
        self.program_error = (message, details)
        self._resolve_program(failed=True)

    def _resolve_program(self, failed: bool = False) -> None:
        assert self.program is not None  # only the run that _start_program began ends it
        self.program.resolve(failed=failed)

    # -- history processing -----------------------------------------------------------
    def _match_created(self, event: dict, kind: str, description: str) -> None:
        sequence = event["EventId"]
        decision = self.pending_decisions.get(sequence)
        if decision is None:
            raise NonDeterminismError(
                f"A previous execution of this orchestration scheduled {description} with "
                f"sequence ID {sequence}, but the current replay execution hasn't (yet?) "
                "scheduled this task. Was a change made to the orchestrator code after this "
                "instance had already started running?")
        name = event.get("Name")
        if decision.kind != kind or (
                name is not None and decision.name is not None
                and name.lower() != decision.name.lower()):
            produced = {"task": "an activity task", "timer": "a timer",
                        "suborchestration": "a sub-orchestration"}[decision.kind]
            raise NonDeterminismError(
                f"A previous execution of this orchestration scheduled {description} with "
                f"sequence number {sequence}, but the current orchestration replay instead "
                f"produced {produced}"
                + (f" named '{decision.name}'" if decision.name else "")
                + ". Was a change made to the orchestrator code after this instance had "
                "already started running?")
        del self.pending_decisions[sequence]

    def _complete_open_task(self, sequence: int, failed: bool) -> None:
        open_task = self.open_tasks.pop(sequence, None)
        if open_task is not None:  # else: duplicate event, DTFx logs and ignores it
            open_task.task.resolve(failed=failed)

    def process(self, history: list[dict]) -> None:
        for event in history:
            event_type = event["EventType"]
            if event_type == EventType.OrchestratorStarted:
                self.now = parse_timestamp(event["Timestamp"])
            elif event_type == EventType.ExecutionStarted:
                self._start_program()
            elif event_type == EventType.TaskScheduled:
                self._match_created(
                    event, "task",
                    f"an activity task named '{event.get('Name')}'")
            elif event_type == EventType.TimerCreated:
                self._match_created(event, "timer", "a durable timer")
            elif event_type == EventType.SubOrchestrationInstanceCreated:
                self._match_created(
                    event, "suborchestration",
                    f"a sub-orchestration named '{event.get('Name')}'")
            elif event_type in (EventType.TaskCompleted,
                                EventType.SubOrchestrationInstanceCompleted):
                self._complete_open_task(event["TaskScheduledId"], failed=False)
            elif event_type in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
                self._complete_open_task(event["TaskScheduledId"], failed=True)
            elif event_type == EventType.TimerFired:
                self._complete_open_task(event["TimerId"], failed=False)
            elif event_type == EventType.EventRaised:
                self._raise_event(event.get("Name"))

    def finish(self) -> EpisodeOutcome:
        outcome = self.outcome
        outcome.decisions = [self.pending_decisions[k] for k in sorted(self.pending_decisions)]
        outcome.open_tasks = list(self.open_tasks.values())
        program = self.program
        if program is not None and program.done:
            if self.open_tasks:
                outcome.python_done_but_open = True
            else:
                event_id = self._next_sequence()
                if program.failed:
                    # every path that resolves the program as failed records its error first
                    assert self.program_error is not None
                    message, details = self.program_error
                    outcome.completion = Completion("Failed", event_id, message, details)
                elif self.continued_as_new:
                    outcome.completion = Completion("ContinuedAsNew", event_id,
                                                    _input_token_text(self.continue_as_new_input))
                else:
                    output = (self.answer.state or {}).get("output")
                    outcome.completion = Completion(
                        "Completed", event_id,
                        None if output is None else compact_json(output))
        return outcome


class _UnsupportedAction(Exception):
    pass


def _input_token_text(action_input: Any) -> str | None:
    """JSON text of an action's ``input`` token (a JSON string holding df_dumps text)."""
    if action_input is None:
        return None
    return compact_json(action_input)


def input_token_text(action_input: Any) -> str | None:
    return _input_token_text(action_input)


def replay_episode(*, history: list[dict], answer: OrchestratorAnswer, orchestrator_name: str,
                   execution_id: str, function_exists: Callable[[str, str], bool]
                   ) -> EpisodeOutcome:
    """Replay ``history`` (past + this episode's events) against the orchestrator's answer."""
    replayer = _Replayer(orchestrator_name=orchestrator_name, execution_id=execution_id,
                         answer=answer, function_exists=function_exists)
    try:
        replayer.process(history)
    except NonDeterminismError as error:
        outcome = EpisodeOutcome(custom_status=replayer.outcome.custom_status,
                                 custom_status_set=replayer.outcome.custom_status_set)
        outcome.completion = Completion("Failed", replayer._next_sequence(), str(error),
                                        str(error))
        return outcome
    return replayer.finish()
