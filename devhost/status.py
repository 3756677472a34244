"""Instance status JSON as the extension's HTTP API returns it (StatusResponsePayload)."""
from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from .history import EventType, format_status_time
from .store import InstanceRow

_SCHEDULED_BY_COMPLETION = {
    EventType.TaskCompleted: EventType.TaskScheduled,
    EventType.TaskFailed: EventType.TaskScheduled,
    EventType.SubOrchestrationInstanceCompleted: EventType.SubOrchestrationInstanceCreated,
    EventType.SubOrchestrationInstanceFailed: EventType.SubOrchestrationInstanceCreated,
}


def json_or_raw(text: str | None) -> Any:
    """Stored JSON text as a value; text that is not valid JSON comes back as a string."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _time(epoch: float) -> str:
    return format_status_time(_dt.datetime.fromtimestamp(epoch, _dt.UTC))


def history_for_status(events: list[dict], show_output: bool) -> list[dict]:
    """The extension's post-processing of ``historyEvents`` (showHistory=true)."""
    scheduled = {}
    completed_ids = set()
    for event in events:
        event_type = event["EventType"]
        if event_type in (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated):
            scheduled[(event_type, event["EventId"])] = event
        elif event_type in _SCHEDULED_BY_COMPLETION:
            completed_ids.add((_SCHEDULED_BY_COMPLETION[EventType(event_type)],
                               event["TaskScheduledId"]))
    result = []
    for event in events:
        event_type = EventType(event["EventType"])
        if event_type in (EventType.OrchestratorStarted, EventType.OrchestratorCompleted):
            continue
        if (event_type, event.get("EventId")) in completed_ids:
            continue  # folded into its completion below
        item = {k: v for k, v in event.items() if k not in ("EventId", "IsPlayed")}
        item["EventType"] = event_type.name
        if "Name" in item and event_type in (
                EventType.ExecutionStarted, EventType.TaskScheduled,
                EventType.SubOrchestrationInstanceCreated):
            item["FunctionName"] = item.pop("Name")
        if event_type in _SCHEDULED_BY_COMPLETION:
            origin = scheduled.get((_SCHEDULED_BY_COMPLETION[event_type],
                                    event["TaskScheduledId"]))
            if origin is not None:
                item["FunctionName"] = origin.get("Name")
                item["ScheduledTime"] = origin.get("Timestamp")
                item["Input"] = origin.get("Input")
        if "Result" in item:
            if show_output:
                item["Result"] = json_or_raw(item["Result"])
            else:
                item.pop("Result")
        result.append(item)
    return result


def status_payload(row: InstanceRow, *, show_input: bool = True,
                   history: list[dict] | None = None, show_history_output: bool = False
                   ) -> dict:
    payload = {
        "name": row.name,
        "instanceId": row.instance_id,
        "runtimeStatus": row.status,
        "input": json_or_raw(row.input) if show_input else None,
        "customStatus": json_or_raw(row.custom_status),
        "output": json_or_raw(row.output),
        "createdTime": _time(row.created_time),
        "lastUpdatedTime": _time(row.last_updated_time),
    }
    if history is not None:
        payload["historyEvents"] = history_for_status(history, show_history_output)
    return payload
