"""Histories recorded by devhost, replayed through the SDK again, and their JSON shapes."""
from __future__ import annotations

import json
import re

import azure.functions as func
import pytest

from devhost.history import EventType as T
from devhost.history import orchestrator_started, utc_now
from devhost.replay import OrchestratorAnswer, replay_episode

pytestmark = pytest.mark.asyncio

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,6}[1-9])?Z$")
ACTION_EVENTS = {T.TaskScheduled, T.TimerCreated, T.SubOrchestrationInstanceCreated,
                 T.EventSent, T.ExecutionCompleted, T.ContinueAsNew}
MESSAGE_EVENTS = {T.ExecutionStarted, T.TaskCompleted, T.TaskFailed, T.TimerFired,
                  T.EventRaised, T.SubOrchestrationInstanceCompleted,
                  T.SubOrchestrationInstanceFailed, T.ExecutionTerminated,
                  T.ExecutionSuspended, T.ExecutionResumed}
REQUIRED = {
    T.ExecutionStarted: {"OrchestrationInstance", "ParentInstance", "Name", "Version", "Input",
                         "Tags", "Correlation", "ParentTraceContext", "ScheduledStartTime",
                         "Generation"},
    T.ExecutionCompleted: {"OrchestrationStatus", "Result", "FailureDetails"},
    T.ExecutionTerminated: {"Input"},
    T.TaskScheduled: {"Name", "Version", "Input", "ParentTraceContext"},
    T.TaskCompleted: {"TaskScheduledId", "Result"},
    T.TaskFailed: {"TaskScheduledId", "Reason", "Details", "FailureDetails"},
    T.SubOrchestrationInstanceCreated: {"Name", "Version", "InstanceId", "Input",
                                        "ClientSpanId"},
    T.SubOrchestrationInstanceCompleted: {"TaskScheduledId", "Result"},
    T.SubOrchestrationInstanceFailed: {"TaskScheduledId", "Reason", "Details", "FailureDetails"},
    T.TimerCreated: {"FireAt"},
    T.TimerFired: {"TimerId", "FireAt"},
    T.EventRaised: {"Name", "Input", "ParentTraceContext"},
    T.ContinueAsNew: {"OrchestrationStatus", "Result", "FailureDetails"},
    T.ExecutionSuspended: {"Reason"},
    T.ExecutionResumed: {"Reason"},
}

SCENARIOS = [
    ("sequence", {"cities": ["A", "B"]}, None),
    ("fan_out", None, None),
    ("retry_then_ok", {"key": "fidelity", "fail_times": 1}, None),
    ("retry_exhausted", None, None),
    ("event_or_timeout", {"timeout_s": 30}, ("Approval", "yes")),
    ("event_or_timeout", {"timeout_s": 0.1}, None),
    ("parent", {"name": "Z"}, None),
    ("parent", {"name": "Z", "fail": True}, None),
    ("counter", 1, None),
    ("waiter", None, ("Go", {"k": 1})),
]


async def record(host, name, value, event):
    iid = await host.start_orchestration(name, value)
    if event:
        await host.wait_for_status(iid, lambda s: s["runtimeStatus"] == "Running")
        await host.raise_event(iid, *event)
    status = await host.wait_for_completion(iid, timeout=10)
    return iid, status, await host.history(iid)


def check_shape(history):
    for event in history:
        event_type = T(event["EventType"])
        assert isinstance(event["EventType"], int)
        assert TIMESTAMP.match(event["Timestamp"]), event["Timestamp"]
        for key in event:
            assert key[0].isupper(), key
        assert REQUIRED.get(event_type, set()) <= set(event), (event_type, event)
        if event_type in ACTION_EVENTS:
            assert event["EventId"] >= 0, event
        else:
            assert event["EventId"] == -1, event
        assert event["IsPlayed"] is (event_type in MESSAGE_EVENTS), event
        for key in ("FireAt",):
            if key in event:
                assert TIMESTAMP.match(event[key])
    # every episode is bracketed OrchestratorStarted ... OrchestratorCompleted
    assert T(history[0]["EventType"]) == T.OrchestratorStarted
    assert T(history[-1]["EventType"]) == T.OrchestratorCompleted


@pytest.mark.parametrize("name,value,event", SCENARIOS,
                         ids=[f"{s[0]}-{i}" for i, s in enumerate(SCENARIOS)])
async def test_recorded_history_replays_without_new_actions(make_host, name, value, event):
    host = await make_host()
    iid, status, history = await record(host, name, value, event)
    check_shape(history)

    # Replay the whole recorded history through the SDK's entry point once more.
    replay_history = [*history, orchestrator_started(utc_now())]
    context = {"history": replay_history, "input": json.loads(history[1]["Input"])
               if history[1]["Input"] else None,
               "instanceId": iid, "isReplaying": True, "parentInstanceId": None,
               "upperSchemaVersion": 1, "upperSchemaVersionNew": 2}
    handle = host.loaded.orchestrator(name).user_function
    try:
        state = json.loads(handle(func.OrchestrationContext(json.dumps(context))))
    except Exception as error:  # noqa: BLE001 - a failing orchestrator re-raises on replay
        text = str(error)
        assert "$OutOfProcData$:" in text
        state = json.loads(text.split("$OutOfProcData$:", 1)[1])
    outcome = replay_episode(history=replay_history, answer=OrchestratorAnswer(state),
                             orchestrator_name=name,
                             execution_id=history[1]["OrchestrationInstance"]["ExecutionId"],
                             function_exists=lambda kind, n: True)
    assert outcome.decisions == []  # nothing new: every action matched its history event
    assert outcome.completion is not None
    assert "Non-Deterministic" not in (outcome.completion.result or "")
    if status["runtimeStatus"] == "Completed":
        assert state["isDone"] is True
        assert state.get("output") == status["output"]
