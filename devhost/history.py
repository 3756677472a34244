"""History events shaped like DurableTask.Core (DTFx) serializes them.

The Python SDK reads these objects from the orchestration trigger's context JSON, so
the field names (PascalCase), integer ``EventType`` values, the ``EventId`` rule and the
timestamp format must match what the Durable extension sends (see
``shared/reference/durable-protocol.md`` section 1).

Every event carries ``EventType``, ``EventId``, ``IsPlayed`` and ``Timestamp``; members
that DTFx would serialize as ``null`` are present as ``None``.
"""
from __future__ import annotations

import datetime as _dt
from enum import IntEnum
from typing import Any


class EventType(IntEnum):
    """DTFx ``EventType`` values (the Python SDK's ``HistoryEventType`` uses the same numbers)."""

    ExecutionStarted = 0
    ExecutionCompleted = 1
    ExecutionFailed = 2
    ExecutionTerminated = 3
    TaskScheduled = 4
    TaskCompleted = 5
    TaskFailed = 6
    SubOrchestrationInstanceCreated = 7
    SubOrchestrationInstanceCompleted = 8
    SubOrchestrationInstanceFailed = 9
    TimerCreated = 10
    TimerFired = 11
    OrchestratorStarted = 12
    OrchestratorCompleted = 13
    EventSent = 14
    EventRaised = 15
    ContinueAsNew = 16
    GenericEvent = 17
    HistoryState = 18
    ExecutionSuspended = 19
    ExecutionResumed = 20


class OrchestrationStatus(IntEnum):
    """DTFx ``OrchestrationStatus`` (the runtimeStatus names of the HTTP API)."""

    Running = 0
    Completed = 1
    ContinuedAsNew = 2
    Failed = 3
    Canceled = 4
    Terminated = 5
    Pending = 6
    Suspended = 7


TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Terminated", "Canceled"})

# Events that arrive as messages. DTFx marks every processed event IsPlayed=true in memory
# and Azure Storage persists only the events new in each episode, so message events end up
# stored with IsPlayed=true, while events the orchestrator generated (and
# OrchestratorStarted, which DTFx skips) are stored false.
MESSAGE_EVENT_TYPES = frozenset({
    EventType.ExecutionStarted, EventType.TaskCompleted, EventType.TaskFailed,
    EventType.TimerFired, EventType.EventRaised, EventType.SubOrchestrationInstanceCompleted,
    EventType.SubOrchestrationInstanceFailed, EventType.ExecutionTerminated,
    EventType.ExecutionSuspended, EventType.ExecutionResumed,
})


def utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def format_timestamp(moment: _dt.datetime) -> str:
    """ISO-8601 UTC with up to 7 fraction digits, trailing zeros dropped (Newtonsoft style)."""
    moment = moment.astimezone(_dt.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def format_status_time(moment: _dt.datetime) -> str:
    """Times of the status API: no fraction ("s" format) plus Z."""
    return moment.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> _dt.datetime:
    """Parse the ISO timestamps the SDK and DTFx write (Z suffix, 0-7 fraction digits)."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    if "." in value:
        head, rest = value.split(".", 1)
        digits = ""
        for ch in rest:
            if ch.isdigit():
                digits += ch
            else:
                break
        tail = rest[len(digits):]
        value = f"{head}.{(digits + '000000')[:6]}{tail}"
    moment = _dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return moment.astimezone(_dt.UTC)


def _event(event_type: EventType, moment: _dt.datetime, event_id: int = -1,
           **fields: Any) -> dict:
    event = {"EventType": int(event_type), "EventId": event_id, "IsPlayed": False,
             "Timestamp": format_timestamp(moment)}
    event.update(fields)
    return event


def orchestrator_started(moment: _dt.datetime) -> dict:
    return _event(EventType.OrchestratorStarted, moment)


def orchestrator_completed(moment: _dt.datetime) -> dict:
    return _event(EventType.OrchestratorCompleted, moment)


def execution_started(moment: _dt.datetime, *, instance_id: str, execution_id: str,
                      name: str, input_text: str | None,
                      parent: dict | None = None, generation: int = 0) -> dict:
    return _event(
        EventType.ExecutionStarted, moment,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent, Name=name, Version="", Input=input_text, Tags=None,
        Correlation=None, ParentTraceContext=None, ScheduledStartTime=None,
        Generation=generation)


def parent_instance(*, name: str, task_schedule_id: int, instance_id: str,
                    execution_id: str) -> dict:
    return {"Name": name, "Version": "", "TaskScheduleId": task_schedule_id,
            "OrchestrationInstance": {"InstanceId": instance_id, "ExecutionId": execution_id}}


def execution_completed(moment: _dt.datetime, event_id: int, status: OrchestrationStatus,
                        result: str | None) -> dict:
    return _event(EventType.ExecutionCompleted, moment, event_id,
                  OrchestrationStatus=int(status), Result=result, FailureDetails=None)


def continue_as_new(moment: _dt.datetime, event_id: int, result: str | None) -> dict:
    return _event(EventType.ContinueAsNew, moment, event_id,
                  OrchestrationStatus=int(OrchestrationStatus.ContinuedAsNew), Result=result,
                  FailureDetails=None)


def execution_terminated(moment: _dt.datetime, reason: str | None) -> dict:
    return _event(EventType.ExecutionTerminated, moment, Input=reason)


def execution_suspended(moment: _dt.datetime, reason: str | None) -> dict:
    return _event(EventType.ExecutionSuspended, moment, Reason=reason)


def execution_resumed(moment: _dt.datetime, reason: str | None) -> dict:
    return _event(EventType.ExecutionResumed, moment, Reason=reason)


def task_scheduled(moment: _dt.datetime, event_id: int, name: str) -> dict:
    # Input stays null: the extension stores inputs only with storeInputsInOrchestrationHistory.
    return _event(EventType.TaskScheduled, moment, event_id, Name=name, Version="",
                  Input=None, ParentTraceContext=None)


def task_completed(moment: _dt.datetime, task_scheduled_id: int, result: str | None) -> dict:
    return _event(EventType.TaskCompleted, moment, TaskScheduledId=task_scheduled_id,
                  Result=result)


def task_failed(moment: _dt.datetime, task_scheduled_id: int, reason: str,
                details: str | None) -> dict:
    return _event(EventType.TaskFailed, moment, TaskScheduledId=task_scheduled_id,
                  Reason=reason, Details=details, FailureDetails=None)


def sub_orchestration_created(moment: _dt.datetime, event_id: int, name: str,
                              instance_id: str) -> dict:
    return _event(EventType.SubOrchestrationInstanceCreated, moment, event_id, Name=name,
                  Version="", InstanceId=instance_id, Input=None, ClientSpanId=None)


def sub_orchestration_completed(moment: _dt.datetime, task_scheduled_id: int,
                                result: str | None) -> dict:
    return _event(EventType.SubOrchestrationInstanceCompleted, moment,
                  TaskScheduledId=task_scheduled_id, Result=result)


def sub_orchestration_failed(moment: _dt.datetime, task_scheduled_id: int,
                             reason: str | None, details: str | None) -> dict:
    return _event(EventType.SubOrchestrationInstanceFailed, moment,
                  TaskScheduledId=task_scheduled_id, Reason=reason, Details=details,
                  FailureDetails=None)


def timer_created(moment: _dt.datetime, event_id: int, fire_at: _dt.datetime) -> dict:
    return _event(EventType.TimerCreated, moment, event_id, FireAt=format_timestamp(fire_at))


def timer_fired(moment: _dt.datetime, timer_id: int, fire_at: _dt.datetime) -> dict:
    return _event(EventType.TimerFired, moment, TimerId=timer_id,
                  FireAt=format_timestamp(fire_at))


def event_raised(moment: _dt.datetime, name: str, input_text: str | None) -> dict:
    return _event(EventType.EventRaised, moment, Name=name, Input=input_text,
                  ParentTraceContext=None)


def stored_is_played(event: dict) -> bool:
    """IsPlayed as Azure Storage would have persisted it (see MESSAGE_EVENT_TYPES)."""
    return event["EventType"] in MESSAGE_EVENT_TYPES
