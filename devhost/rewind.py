"""Rewinding a Failed instance, the way the Azure Storage backend does it.

DurableTask.AzureStorage v1.17.5 (``AzureTableTrackingStore.RewindHistoryAsync`` and
``AzureStorageOrchestrationService.RewindTaskOrchestrationAsync``):

1. in the instance's history, every ``TaskFailed`` and its ``TaskScheduled``, every
   ``SubOrchestrationInstanceFailed`` and the ``ExecutionCompleted`` of the failure become
   ``GenericEvent``s (replay ignores them, so the failed calls are scheduled afresh); the
   ``SubOrchestrationInstanceCreated`` of a failed child stays, and the child is rewound the
   same way, recursively;
2. each rewound instance's runtime status goes back to ``Pending`` (the output is kept until
   the next completion);
3. the deepest failed instances (no failed child of their own) get a ``GenericEvent``
   message carrying the reason, which starts their next episode; a rewound child that then
   completes reports to its parent as usual.

The state checks before this (404 / 410 / 500) are in durable_client.py.
"""
from __future__ import annotations

import time

from .engine import DurableEngine
from .history import EventType, OrchestrationStatus, format_timestamp, utc_now
from .store import NewMessage, _Transaction


def _generic(event: dict, data: str | None = None) -> dict:
    """A GenericEvent in the event's place: only HistoryEvent's members and ``Data``."""
    return {"EventType": int(EventType.GenericEvent), "EventId": event["EventId"],
            "IsPlayed": event["IsPlayed"], "Timestamp": event["Timestamp"], "Data": data}


def _rewind_history(engine: DurableEngine, tx: _Transaction, instance_id: str,
                    leaves: list[str]) -> None:
    store = engine.store
    history = store.get_history(instance_id)
    failed_tasks = {e["TaskScheduledId"] for e in history if e["EventType"] == EventType.TaskFailed}
    failed_children = {e["TaskScheduledId"] for e in history
                       if e["EventType"] == EventType.SubOrchestrationInstanceFailed}
    rewritten: list[dict] = []
    children: list[str] = []
    for event in history:
        event_type = event["EventType"]
        if (event_type in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed)
                or (event_type == EventType.TaskScheduled and event["EventId"] in failed_tasks)
                or (event_type == EventType.ExecutionCompleted
                    and event.get("OrchestrationStatus") == OrchestrationStatus.Failed)):
            rewritten.append(_generic(event))
            continue
        if (event_type == EventType.SubOrchestrationInstanceCreated
                and event["EventId"] in failed_children):
            children.append(event["InstanceId"])
        rewritten.append(event)
    store.clear_history(tx, instance_id)
    store.append_history(tx, instance_id, rewritten)
    store.update_instance(tx, instance_id, status="Pending", last_updated_time=time.time())
    for child in children:
        row = store.get_instance(child)
        if row is not None and row.status == "Failed":
            _rewind_history(engine, tx, child, leaves)
    if not children:
        leaves.append(instance_id)


def rewind_instance(engine: DurableEngine, instance_id: str, reason: str | None) -> None:
    """Rewind a Failed instance (the caller checked the state) and wake the failed leaves."""
    leaves: list[str] = []
    now = utc_now()
    with engine.store.transaction() as tx:
        _rewind_history(engine, tx, instance_id, leaves)
        messages = []
        for leaf in leaves:
            row = engine.store.get_instance(leaf)
            execution_id = row.execution_id if row is not None else None
            event = {"EventType": int(EventType.GenericEvent), "EventId": -1, "IsPlayed": False,
                     "Timestamp": format_timestamp(now), "Data": reason}
            messages.append(NewMessage(leaf, event, now.timestamp(), execution_id))
        engine.store.add_messages(tx, messages)
    for leaf in leaves:
        engine._wake(leaf)
    engine._notify_changed(instance_id)
