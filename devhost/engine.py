"""The durable engine: episodes, activity work items, timers, sub-orchestrations, events.

It plays the parts of the DTFx dispatchers and the Durable extension:

- an *episode* of an instance takes the messages that are due from its inbox, appends
  ``OrchestratorStarted`` + those message events to the history, invokes the orchestrator
  function once through the SDK's real entry point (the DFApp-registered function fed the
  extension's context JSON), replays its answer (``replay.replay_episode``) and commits
  new history, work items, timers, child instances and messages in one SQLite transaction;
- activity work items run through the same binding path as on the worker; their
  ``TaskCompleted`` / ``TaskFailed`` is posted to the instance's inbox atomically with the
  removal of the work item;
- timers are inbox messages that become visible at their fire time.

All methods run on the host's worker event loop thread.
"""
from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import time
import traceback
import uuid
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from azure.functions import meta

from . import history as h
from .bindings import Invocation, Invoker
from .disabled import disabled_activity_failure, invalid_function_message
from .faults import FaultPlan
from .history import TERMINAL_STATUSES, EventType, utc_now
from .loader import FunctionInfo, LoadedApp
from .replay import OrchestratorAnswer, compact_json, input_token_text, replay_episode
from .status import json_or_raw, status_payload
from .store import InstanceRow, Message, NewMessage, NewWorkItem, Store, WorkItem, _Transaction

log = logging.getLogger("devhost")

_CONTROL_EVENTS = (EventType.ExecutionTerminated, EventType.ExecutionSuspended,
                   EventType.ExecutionResumed)
_OOPROC_MARKER = "\n\n$OutOfProcData$:"


class UnknownOrchestrator(Exception):
    pass


@dataclass(frozen=True)
class _Parent:
    """The orchestration that started a sub-orchestration, and the task it awaits it as."""

    instance_id: str
    execution_id: str
    task_id: int


def _parent_of(row: InstanceRow) -> _Parent | None:
    if row.parent_instance_id is None:
        return None
    # _create_instance stores a child's parent instance, execution and task id together
    assert row.parent_execution_id is not None and row.parent_task_id is not None
    return _Parent(row.parent_instance_id, row.parent_execution_id, row.parent_task_id)


def loud_warning(message: str) -> None:
    """A warning meant to be impossible to miss in test output and console logs."""
    bar = "!" * 78
    log.warning("\n%s\n!! devhost: %s\n%s", bar, message, bar)


def activity_failure_reason(name: str, error: BaseException) -> str:
    # worker: "<ExcType>: <msg>"; host: "Result: Failure\nException: ...\nStack: ...";
    # extension keeps a leading space after cutting the middle -> two spaces.
    return f"Activity function '{name}' failed:  {type(error).__name__}: {error}"


def user_stack(error: BaseException) -> str:
    """The traceback as the worker reports it: the user's frames, not devhost's plumbing."""
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if not f.filename.startswith(here) and "concurrent/futures" not in f.filename]
    return "".join(traceback.format_list(frames)) + "".join(
        traceback.format_exception_only(type(error), error))


def dotnet_exception_details(message: str, error: BaseException) -> str:
    """A Newtonsoft-style dump of the .NET exception the extension puts in ``Details``."""
    stack = user_stack(error)
    remote = f"{type(error).__name__}: {error}"
    inner = {
        "$type": "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException, "
                 "Microsoft.Azure.WebJobs.Script",
        "IsUserException": False, "RemoteStackTrace": stack, "RemoteMessage": remote,
        "RemoteTypeName": None, "ClassName": "Microsoft.Azure.WebJobs.Script.Workers.Rpc."
                                             "RpcException",
        "Message": f"Result: Failure\nException: {remote}\nStack: {stack}",
        "Data": None, "InnerException": None, "HelpURL": None, "StackTraceString": None,
        "RemoteStackTraceString": None, "RemoteStackIndex": 0, "ExceptionMethod": None,
        "HResult": -2146233088, "Source": None, "WatsonBuckets": None,
    }
    outer = {
        "$type": "System.Exception, System.Private.CoreLib", "ClassName": "System.Exception",
        "Message": message, "Data": None, "InnerException": inner, "HelpURL": None,
        "StackTraceString": None, "RemoteStackTraceString": None, "RemoteStackIndex": 0,
        "ExceptionMethod": None, "HResult": -2146233088, "Source": None,
        "WatsonBuckets": None,
    }
    return json.dumps(outer, separators=(",", ":"))


class DurableEngine:
    def __init__(self, *, store: Store, app: LoadedApp, invoker: Invoker,
                 loop: asyncio.AbstractEventLoop, faults: FaultPlan,
                 activity_overrides: dict[str, Callable] | None = None,
                 disabled: Iterable[str] = (),
                 max_concurrent_activities: int | None = None) -> None:
        self.store = store
        self.app = app
        self.invoker = invoker
        self.loop = loop
        self.faults = faults
        self.activity_overrides = {k.lower(): v for k, v in (activity_overrides or {}).items()}
        # function names disabled by AzureWebJobs.<name>.Disabled (see disabled.py)
        self.disabled = frozenset(disabled)
        # host.json durableTask.maxConcurrentActivityFunctions: the extension runs at most this
        # many activities at once per worker and leaves the rest queued (its default is ten
        # per processor). Without the limit every queued activity would start at once.
        self.max_concurrent_activities = max_concurrent_activities or 10 * (os.cpu_count() or 1)
        self._activity_slots = asyncio.Semaphore(self.max_concurrent_activities)
        self._running: set[str] = set()
        self._dirty: set[str] = set()
        self._tasks: set[asyncio.Task] = set()
        self._timer_handles: set[asyncio.TimerHandle] = set()
        self._changed: dict[str, asyncio.Event] = {}
        self._warned: set[tuple] = set()
        self._stopping = False
        self.episode_count = 0
        # (whole episode seconds, seconds inside the orchestrator call) for bench_episode.py
        self.episode_timings: collections.deque[tuple] = collections.deque(maxlen=10000)

    # -- lifecycle --------------------------------------------------------------------
    def recover(self) -> None:
        """Resume everything the store says is in flight (after a restart or crash)."""
        now = time.time()
        items = self.store.all_work_items()
        for item in items:
            self._dispatch_activity(item)
        pending = self.store.instances_with_messages()
        for instance_id, earliest in pending:
            if earliest <= now:
                self._wake(instance_id)
        for instance_id, visible_at in self.store.future_messages(now):
            self._arm(instance_id, visible_at)
        if items or pending:
            log.info("devhost: resumed %d work item(s) and %d instance(s) with pending "
                     "messages from the store", len(items), len(pending))

    async def stop(self) -> None:
        self._stopping = True
        for handle in self._timer_handles:
            handle.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except BaseException:  # noqa: BLE001 - shutting down
                pass

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = self.loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- scheduling -------------------------------------------------------------------
    def _wake(self, instance_id: str) -> None:
        if self._stopping:
            return
        if instance_id in self._running:
            self._dirty.add(instance_id)
            return
        self._running.add(instance_id)
        self._spawn(self._episode_loop(instance_id))

    def _arm(self, instance_id: str, visible_at: float) -> None:
        delay = max(0.0, visible_at - time.time()) + 0.002
        handle = self.loop.call_later(delay, self._wake, instance_id)
        self._timer_handles.add(handle)

    async def _episode_loop(self, instance_id: str) -> None:
        try:
            while not self._stopping:
                self._dirty.discard(instance_id)
                try:
                    progressed = await self._run_episode(instance_id)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("devhost: episode of %s failed inside devhost", instance_id)
                    progressed = False
                if instance_id in self._dirty:
                    continue
                if not progressed or not self.store.messages(instance_id, time.time()):
                    break
        finally:
            self._running.discard(instance_id)

    def _notify_changed(self, instance_id: str) -> None:
        event = self._changed.get(instance_id)
        if event is not None:
            event.set()

    # -- client operations ------------------------------------------------------------
    def ensure_orchestrator(self, name: str) -> FunctionInfo:
        """The orchestrator called ``name``, else the extension's ThrowIfFunctionDoesNotExist."""
        info = self.app.orchestrator(name)
        if info is None:
            raise UnknownOrchestrator(invalid_function_message(self.app, "orchestrationTrigger",
                                                               name))
        return info

    def start_new(self, name: str, instance_id: str | None, input_text: str | None
                  ) -> str:
        self.ensure_orchestrator(name)
        instance_id = instance_id or uuid.uuid4().hex
        self._create_instance(instance_id, name, input_text)
        self._wake(instance_id)
        return instance_id

    def _create_instance(self, instance_id: str, name: str, input_text: str | None,
                         parent: dict[str, Any] | None = None,
                         tx: _Transaction | None = None) -> list[NewMessage]:
        now = utc_now()
        execution_id = uuid.uuid4().hex
        row = InstanceRow(
            instance_id=instance_id, name=name, execution_id=execution_id, status="Pending",
            input=input_text, output=None, failure_details=None, custom_status=None,
            created_time=now.timestamp(), last_updated_time=now.timestamp(),
            parent_instance_id=parent["OrchestrationInstance"]["InstanceId"] if parent else None,
            parent_execution_id=parent["OrchestrationInstance"]["ExecutionId"] if parent else None,
            parent_task_id=parent["TaskScheduleId"] if parent else None, generation=0)
        message = NewMessage(instance_id, h.execution_started(
            now, instance_id=instance_id, execution_id=execution_id, name=name,
            input_text=input_text, parent=parent), now.timestamp(), execution_id)

        def write(transaction: _Transaction) -> None:
            self.store.clear_execution_state(transaction, instance_id)
            self.store.put_instance(transaction, row)
            self.store.add_messages(transaction, [message])

        if tx is None:
            with self.store.transaction() as own:
                write(own)
        else:
            write(tx)
        self._notify_changed(instance_id)
        return [message]

    def _post(self, instance_id: str, event: dict) -> str:
        row = self.store.get_instance(instance_id)
        if row is None:
            return "not_found"
        if row.status in TERMINAL_STATUSES:
            return "gone"
        with self.store.transaction() as tx:
            self.store.add_messages(tx, [NewMessage(instance_id, event, time.time())])
        self._wake(instance_id)
        return "accepted"

    def raise_event(self, instance_id: str, name: str, input_text: str | None) -> str:
        return self._post(instance_id, h.event_raised(utc_now(), name, input_text))

    def terminate(self, instance_id: str, reason: str | None) -> str:
        return self._post(instance_id, h.execution_terminated(utc_now(), reason))

    def suspend(self, instance_id: str, reason: str | None) -> str:
        return self._post(instance_id, h.execution_suspended(utc_now(), reason))

    def resume(self, instance_id: str, reason: str | None) -> str:
        return self._post(instance_id, h.execution_resumed(utc_now(), reason))

    def purge(self, instance_id: str) -> int:
        if self.store.get_instance(instance_id) is None:
            return 0
        with self.store.transaction() as tx:
            self.store.delete_instance(tx, instance_id)
        return 1

    def purge_by(self, *, created_from: float, created_to: float | None,
                 statuses: list[str] | None) -> int:
        rows = self.store.query_instances(statuses=statuses, created_from=created_from,
                                          created_to=created_to)
        with self.store.transaction() as tx:
            for row in rows:
                self.store.delete_instance(tx, row.instance_id)
        return len(rows)

    def status(self, instance_id: str, *, show_history: bool = False,
               show_history_output: bool = False, show_input: bool = True) -> dict | None:
        row = self.store.get_instance(instance_id)
        if row is None:
            return None
        events = self.store.get_history(instance_id) if show_history else None
        return status_payload(row, show_input=show_input, history=events,
                              show_history_output=show_history_output)

    def query(self, *, statuses: list[str] | None = None, created_from: float | None = None,
              created_to: float | None = None, prefix: str | None = None,
              top: int | None = None, show_input: bool = True) -> list[dict]:
        rows = self.store.query_instances(statuses=statuses, created_from=created_from,
                                          created_to=created_to, prefix=prefix, limit=top)
        return [status_payload(r, show_input=show_input) for r in rows]

    async def wait_for_completion(self, instance_id: str, timeout: float) -> dict:
        deadline = self.loop.time() + timeout
        event = self._changed.setdefault(instance_id, asyncio.Event())
        while True:
            event.clear()
            current = self.status(instance_id)
            if current is not None and current["runtimeStatus"] in TERMINAL_STATUSES:
                return current
            remaining = deadline - self.loop.time()
            if remaining <= 0:
                raise TimeoutError(f"devhost: instance {instance_id} did not finish within "
                                   f"{timeout}s; last status: {json.dumps(current)}")
            try:
                await asyncio.wait_for(event.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass

    # -- episodes ---------------------------------------------------------------------
    async def _run_episode(self, instance_id: str) -> bool:
        row = self.store.get_instance(instance_id)
        messages = self.store.messages(instance_id, time.time())
        if not messages:
            return False
        if row is None:
            with self.store.transaction() as tx:
                self.store.delete_messages(tx, [m.message_id for m in messages])
            return False
        stale = [m for m in messages
                 if m.execution_id is not None and m.execution_id != row.execution_id]
        if row.status in TERMINAL_STATUSES or stale:
            dropped = messages if row.status in TERMINAL_STATUSES else stale
            with self.store.transaction() as tx:
                self.store.delete_messages(tx, [m.message_id for m in dropped])
            if dropped:
                log.debug("devhost: discarded %d message(s) for %s (%s)", len(dropped),
                          instance_id, row.status)
            return row.status not in TERMINAL_STATUSES
        control = [m for m in messages if m.event["EventType"] in _CONTROL_EVENTS]
        for message in control:
            event_type = message.event["EventType"]
            if event_type == EventType.ExecutionTerminated:
                self._terminate_now(row, message)
                return True
            if event_type == EventType.ExecutionSuspended:
                if row.status in ("Running", "Pending", "ContinuedAsNew"):  # IsOrchestrationSuspendable
                    self._control_episode(row, message, "Suspended")
                else:
                    self._drop(message)
                return True
            if event_type == EventType.ExecutionResumed:
                if row.status == "Suspended":
                    self._control_episode(row, message, "Running")
                else:
                    self._drop(message)
                return True
        if row.status == "Suspended":
            return False  # messages are held until the instance is resumed
        await self._orchestrator_episode(row, messages)
        return True

    def _drop(self, message: Message) -> None:
        with self.store.transaction() as tx:
            self.store.delete_messages(tx, [message.message_id])

    def _control_episode(self, row: InstanceRow, message: Message, new_status: str) -> None:
        now = utc_now()
        event = dict(message.event, IsPlayed=True)
        with self.store.transaction() as tx:
            self.store.append_history(tx, row.instance_id, [
                h.orchestrator_started(now), event, h.orchestrator_completed(now)])
            self.store.delete_messages(tx, [message.message_id])
            self.store.update_instance(tx, row.instance_id, status=new_status,
                                       last_updated_time=now.timestamp())
        self._notify_changed(row.instance_id)

    def _terminate_now(self, row: InstanceRow, message: Message) -> None:
        now = utc_now()
        reason = message.event.get("Input")
        past = self.store.get_history(row.instance_id)
        sequence = sum(1 for e in past if e["EventType"] in (
            EventType.TaskScheduled, EventType.TimerCreated,
            EventType.SubOrchestrationInstanceCreated, EventType.EventSent))
        with self.store.transaction() as tx:
            self.store.append_history(tx, row.instance_id, [
                h.orchestrator_started(now), dict(message.event, IsPlayed=True),
                h.execution_completed(now, sequence, h.OrchestrationStatus.Terminated, reason),
                h.orchestrator_completed(now)])
            tx.execute("DELETE FROM inbox WHERE instance_id = ?", (row.instance_id,))
            self.store.delete_work_items(tx, row.instance_id)
            self.store.update_instance(tx, row.instance_id, status="Terminated", output=reason,
                                       last_updated_time=now.timestamp())
        log.info("devhost: instance %s terminated (%s)", row.instance_id, reason)
        self._notify_changed(row.instance_id)

    def _function_exists(self, kind: str, name: str) -> bool:
        if kind == "activity":
            return self.app.activity(name) is not None
        return self.app.orchestrator(name) is not None

    async def _invoke_orchestrator(self, info: FunctionInfo, context_json: str,
                                   instance_id: str) -> OrchestratorAnswer:
        invocation = Invocation(trigger=meta.Datum(context_json, "string"),
                                instance_id=instance_id)
        try:
            result = await self.invoker.invoke(info, invocation)
        except Exception as error:  # noqa: BLE001 - user code failure is data here
            text = str(error)
            if _OOPROC_MARKER in text:
                return OrchestratorAnswer(json.loads(text.split(_OOPROC_MARKER, 1)[1]))
            return OrchestratorAnswer(None, crash_message=f"{type(error).__name__}: {error}")
        value = result.return_datum.value if result.return_datum is not None else None
        if isinstance(value, (bytes, bytearray)):
            value = value.decode("utf-8")
        state = json.loads(value) if isinstance(value, str) else value
        return OrchestratorAnswer(state)

    async def _orchestrator_episode(self, row: InstanceRow, messages: list[Message]) -> None:
        episode_started = time.perf_counter()
        sdk_seconds = 0.0
        instance_id = row.instance_id
        info = self.app.orchestrator(row.name)
        past = self.store.get_history(instance_id)
        now = utc_now()
        new_events = [h.orchestrator_started(now)] + [
            dict(m.event, IsPlayed=False) for m in messages]
        context_history = past + new_events
        started = next((e for e in context_history
                        if e["EventType"] == EventType.ExecutionStarted), None)
        if started is None:
            log.warning("devhost: %s has messages but no ExecutionStarted yet", instance_id)
            return
        if info is None:
            answer = OrchestratorAnswer(None, crash_message=(
                f"The function '{row.name}' doesn't exist in the loaded app"))
        elif info.name in self.disabled:
            # OrchestrationMiddleware: registered at indexing but no listener -> the
            # invocation throws OrchestrationFailureException(GetInvalidOrchestratorFunctionMessage)
            answer = OrchestratorAnswer(None, crash_message=invalid_function_message(
                self.app, "orchestrationTrigger", row.name))
        else:
            context = {
                "history": context_history,
                "input": json_or_raw(row.input) if row.input is not None else None,
                "instanceId": instance_id,
                "isReplaying": started["IsPlayed"],
                "parentInstanceId": row.parent_instance_id,
                "upperSchemaVersion": 1,
                "upperSchemaVersionNew": 2,
                "longRunningTimerIntervalDuration": "3.00:00:00",
                "maximumShortTimerDuration": "6.00:00:00",
                "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
            }
            context_json = json.dumps(context)
            sdk_started = time.perf_counter()
            answer = await self._invoke_orchestrator(info, context_json, instance_id)
            sdk_seconds = time.perf_counter() - sdk_started
        self.episode_count += 1
        outcome = replay_episode(history=context_history, answer=answer,
                                 orchestrator_name=row.name, execution_id=row.execution_id,
                                 function_exists=self._function_exists)
        for kind, name in outcome.unknown_functions:
            key = (instance_id, kind, name)
            if key not in self._warned:
                self._warned.add(key)
                loud_warning(
                    f"instance {instance_id} ({row.name}) calls {kind} '{name}', which is not "
                    "registered in this app. The real Durable extension schedules nothing and "
                    "the instance hangs in Running forever; devhost does the same.")
        for warning in outcome.warnings:
            loud_warning(f"instance {instance_id}: {warning}")
        if outcome.python_done_but_open:
            open_desc = ", ".join(
                f"timer #{t.sequence} firing at {h.format_timestamp(t.fire_at)}"
                if t.kind == "timer" and t.fire_at is not None
                else f"{t.kind} '{t.name}' #{t.sequence}"
                for t in outcome.open_tasks)
            loud_warning(
                f"orchestrator {row.name} ({instance_id}) returned, but DTFx tasks are still "
                f"open: {open_desc}. Like the real host, the instance stays Running until "
                "they complete (cancel the timers you no longer need).")

        # -- build everything this episode writes ------------------------------------
        events = [new_events[0]] + [dict(m.event, IsPlayed=True) for m in messages]
        work_items: list[NewWorkItem] = []
        new_messages: list[NewMessage] = []
        children: list[tuple] = []
        for decision in outcome.decisions:
            # replay gives tasks and sub-orchestrations their (existing) function's name,
            # timers their fire time and sub-orchestrations an instance id
            if decision.kind == "task":
                assert decision.name is not None
                events.append(h.task_scheduled(now, decision.sequence, decision.name))
                work_items.append(NewWorkItem(instance_id, row.execution_id, decision.sequence,
                                              decision.name, decision.input))
            elif decision.kind == "timer":
                fire_at = decision.fire_at
                assert fire_at is not None
                events.append(h.timer_created(now, decision.sequence, fire_at))
                new_messages.append(NewMessage(
                    instance_id, h.timer_fired(fire_at, decision.sequence, fire_at),
                    fire_at.timestamp(), row.execution_id))
            elif decision.kind == "suborchestration":
                assert decision.name is not None and decision.instance_id is not None
                events.append(h.sub_orchestration_created(now, decision.sequence, decision.name,
                                                          decision.instance_id))
                children.append((decision.instance_id, decision.name,
                                 input_token_text(decision.input),
                                 h.parent_instance(name=row.name,
                                                   task_schedule_id=decision.sequence,
                                                   instance_id=instance_id,
                                                   execution_id=row.execution_id)))
        changes: dict[str, Any] = {"last_updated_time": now.timestamp()}
        if outcome.custom_status_set:
            changes["custom_status"] = compact_json(outcome.custom_status)
        completion = outcome.completion
        parent = _parent_of(row)
        new_execution: tuple[str, dict[str, Any]] | None = None
        if completion is None:
            changes["status"] = "Running"
        elif completion.status == "ContinuedAsNew":
            events.append(h.continue_as_new(now, completion.event_id, completion.result))
            new_execution_id = uuid.uuid4().hex
            changes.update(status="ContinuedAsNew", execution_id=new_execution_id,
                           input=completion.result, output=None,
                           generation=row.generation + 1)
            new_execution = (new_execution_id, h.execution_started(
                now, instance_id=instance_id, execution_id=new_execution_id, name=row.name,
                input_text=completion.result,
                parent=None if parent is None else h.parent_instance(
                    name="", task_schedule_id=parent.task_id,
                    instance_id=parent.instance_id, execution_id=parent.execution_id),
                generation=row.generation + 1))
        else:
            status_enum = (h.OrchestrationStatus.Completed if completion.status == "Completed"
                           else h.OrchestrationStatus.Failed)
            events.append(h.execution_completed(now, completion.event_id, status_enum,
                                                completion.result))
            changes.update(status=completion.status, output=completion.result,
                           failure_details=completion.details)
            if parent is not None:
                if completion.status == "Completed":
                    parent_event = h.sub_orchestration_completed(now, parent.task_id,
                                                                 completion.result)
                else:
                    parent_event = h.sub_orchestration_failed(
                        now, parent.task_id, completion.result, completion.details)
                new_messages.append(NewMessage(parent.instance_id, parent_event,
                                               now.timestamp(), parent.execution_id))
            if completion.status == "Failed":
                log.warning("devhost: orchestration %s (%s) failed: %s", instance_id, row.name,
                            (completion.result or "")[:2000])
        events.append(h.orchestrator_completed(now))

        # -- one transaction ----------------------------------------------------------
        with self.store.transaction() as tx:
            current = self.store.get_instance(instance_id)
            if current is None or current.execution_id != row.execution_id:
                # purged or restarted while the orchestrator ran: drop this episode
                return
            if new_execution is not None:
                self.store.clear_history(tx, instance_id)
                self.store.delete_work_items(tx, instance_id)
            else:
                self.store.append_history(tx, instance_id, events)
            self.store.delete_messages(tx, [m.message_id for m in messages])
            work_item_ids = self.store.add_work_items(tx, work_items)
            self.store.add_messages(tx, new_messages)
            for child_id, child_name, child_input, parent in children:
                self._create_instance(child_id, child_name, child_input, parent, tx=tx)
            self.store.update_instance(tx, instance_id, **changes)
            if new_execution is not None:
                self.store.add_messages(tx, [NewMessage(instance_id, new_execution[1],
                                                        now.timestamp(), new_execution[0])])

        # -- after commit: start the work -------------------------------------------
        for work_item_id, item in zip(work_item_ids, work_items, strict=True):
            self._dispatch_activity(WorkItem(work_item_id, item.instance_id, item.execution_id,
                                             item.task_scheduled_id, item.name, item.input))
        for message in new_messages:
            if message.visible_at > time.time():
                self._arm(message.instance_id, message.visible_at)
            elif message.instance_id != instance_id:
                self._wake(message.instance_id)
        for child_id, *_ in children:
            self._wake(child_id)
        if new_execution is not None:
            self._dirty.add(instance_id)
        self._notify_changed(instance_id)
        self.episode_timings.append((time.perf_counter() - episode_started, sdk_seconds))

    # -- activities -------------------------------------------------------------------
    def _dispatch_activity(self, item: WorkItem) -> None:
        if self._stopping:
            return
        self._spawn(self._run_work_item(item))

    async def _run_work_item(self, item: WorkItem) -> None:
        faults = self.faults.for_activity(item.name)
        if faults.delay_s:
            log.warning("devhost: fault: delaying %s (%s) by %ss", item.name, item.instance_id,
                        faults.delay_s)
            await asyncio.sleep(faults.delay_s)
        async with self._activity_slots:
            result = await self._execute_activity(item)
        if faults.take_crash():
            log.warning("devhost: fault: %s (%s #%d) ran but its result is dropped, as if the "
                        "host crashed before recording it; it will run again", item.name,
                        item.instance_id, item.task_scheduled_id)
            self.loop.call_later(0.01, self._dispatch_activity, item)
            return
        if faults.take_duplicate():
            log.warning("devhost: fault: delivering %s (%s #%d) a second time", item.name,
                        item.instance_id, item.task_scheduled_id)
            await self._execute_activity(item)
        if self.store.complete_work_item(item.work_item_id, NewMessage(
                item.instance_id, result, time.time(), item.execution_id)):
            self._wake(item.instance_id)
        else:
            log.info("devhost: result of %s (%s #%d) discarded: work item already completed "
                     "or its instance moved on", item.name, item.instance_id,
                     item.task_scheduled_id)

    async def _execute_activity(self, item: WorkItem) -> dict:
        info = self.app.activity(item.name)
        now_factory = utc_now
        if info is None:
            error = RuntimeError(f"activity '{item.name}' is not registered in the loaded app")
            reason = activity_failure_reason(item.name, error)
            return h.task_failed(now_factory(), item.task_scheduled_id, reason,
                                 dotnet_exception_details(reason, error))
        if info.name in self.disabled:
            reason, details = disabled_activity_failure(self.app, item.name)
            log.warning("devhost: %s", reason)
            return h.task_failed(now_factory(), item.task_scheduled_id, reason, details)
        override = (self.activity_overrides.get(info.name.lower())
                    or self.activity_overrides.get(info.durable_name.lower()))
        invocation = Invocation(
            trigger=meta.Datum(item.input if item.input is not None else "null", "string"),
            instance_id=item.instance_id)
        try:
            result = await self.invoker.invoke(info, invocation, override=override)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - user code failure becomes TaskFailed
            reason = activity_failure_reason(item.name, error)
            log.warning("devhost: %s", reason)
            return h.task_failed(now_factory(), item.task_scheduled_id, reason,
                                 dotnet_exception_details(reason, error))
        datum = result.return_datum
        text = datum.value if datum is not None else "null"
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("utf-8")
        return h.task_completed(now_factory(), item.task_scheduled_id, text)

    # -- introspection ----------------------------------------------------------------
    def history(self, instance_id: str) -> list[dict]:
        return self.store.get_history(instance_id)

    def instance_ids(self) -> Iterable[str]:
        return [r.instance_id for r in self.store.query_instances()]
