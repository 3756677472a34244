"""Conformance: every action type and history shape, driven through the real SDK."""
from __future__ import annotations

import asyncio
import json
import logging

import pytest

from devhost.history import EventType as T

pytestmark = pytest.mark.asyncio


def shape(history):
    """Compact notation: (EventType name, EventId, TaskScheduledId/TimerId)."""
    out = []
    for e in history:
        ref = e.get("TaskScheduledId", e.get("TimerId"))
        out.append((T(e["EventType"]).name, e["EventId"], ref))
    return out


def without_brackets(history):
    return [s for s in shape(history)
            if s[0] not in ("OrchestratorStarted", "OrchestratorCompleted")]


async def test_sequence_output_and_history(make_host):
    host = await make_host()
    iid = await host.start_orchestration("sequence", {"cities": ["Tokyo", "Seattle"]})
    status = await host.wait_for_completion(iid, timeout=10)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["Hello Tokyo!", "Hello Seattle!"]
    history = await host.history(iid)
    assert shape(history) == [
        ("OrchestratorStarted", -1, None), ("ExecutionStarted", -1, None),
        ("TaskScheduled", 0, None), ("OrchestratorCompleted", -1, None),
        ("OrchestratorStarted", -1, None), ("TaskCompleted", -1, 0),
        ("TaskScheduled", 1, None), ("OrchestratorCompleted", -1, None),
        ("OrchestratorStarted", -1, None), ("TaskCompleted", -1, 1),
        ("ExecutionCompleted", 2, None), ("OrchestratorCompleted", -1, None)]
    assert history[5]["Result"] == '"Hello Tokyo!"'


async def test_fan_out_with_async_activity(make_host):
    host = await make_host()
    iid = await host.start_orchestration("fan_out")
    status = await host.wait_for_completion(iid, timeout=10)
    assert status["output"] == [{"got": i, "type": "int"} for i in range(3)]
    scheduled = [e["EventId"] for e in await host.history(iid) if e["EventType"] == T.TaskScheduled]
    assert scheduled == [0, 1, 2]


async def test_retry_fails_then_succeeds(make_host):
    host = await make_host()
    iid = await host.start_orchestration("retry_then_ok", {"key": "a", "fail_times": 2})
    status = await host.wait_for_completion(iid, timeout=10)
    assert status["output"] == "ok after 3"
    assert without_brackets(await host.history(iid)) == [
        ("ExecutionStarted", -1, None),
        ("TaskScheduled", 0, None), ("TaskFailed", -1, 0), ("TimerCreated", 1, None),
        ("TimerFired", -1, 1), ("TaskScheduled", 2, None), ("TaskFailed", -1, 2),
        ("TimerCreated", 3, None), ("TimerFired", -1, 3), ("TaskScheduled", 4, None),
        ("TaskCompleted", -1, 4), ("ExecutionCompleted", 5, None)]


async def test_retry_exhausted_has_the_extra_timer(make_host):
    host = await make_host()
    iid = await host.start_orchestration("retry_exhausted")
    status = await host.wait_for_completion(iid, timeout=10)
    history = await host.history(iid)
    assert without_brackets(history) == [
        ("ExecutionStarted", -1, None),
        ("TaskScheduled", 0, None), ("TaskFailed", -1, 0), ("TimerCreated", 1, None),
        ("TimerFired", -1, 1), ("TaskScheduled", 2, None), ("TaskFailed", -1, 2),
        ("TimerCreated", 3, None), ("TimerFired", -1, 3), ("ExecutionCompleted", 4, None)]
    # the dummy timer fires at the time of the episode that saw the last failure
    last_failure_episode_start = [e for e in history[: history.index(
        next(e for e in history if e["EventType"] == T.TimerCreated and e["EventId"] == 3))]
        if e["EventType"] == T.OrchestratorStarted][-1]
    dummy = next(e for e in history if e["EventType"] == T.TimerCreated and e["EventId"] == 3)
    assert dummy["FireAt"] == last_failure_episode_start["Timestamp"]
    caught = status["output"]["caught"]
    assert caught.startswith("Activity function 'always_fails' failed:  ValueError: always \n {")
    failed = next(e for e in history if e["EventType"] == T.TaskFailed)
    assert failed["Reason"] == "Activity function 'always_fails' failed:  ValueError: always"
    assert json.loads(failed["Details"])["InnerException"]["RemoteMessage"] == "ValueError: always"


async def test_failed_activity_fails_orchestration_with_extension_text(make_host):
    host = await make_host()
    iid = await host.start_orchestration("failing_activity")
    status = await host.wait_for_completion(iid, timeout=10)
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith(
        "Orchestrator function 'failing_activity' failed: Activity function 'always_fails' "
        "failed:  ValueError: always \n ")


async def test_orchestrator_exception(make_host):
    host = await make_host()
    iid = await host.start_orchestration("crashes")
    status = await host.wait_for_completion(iid, timeout=10)
    assert status["runtimeStatus"] == "Failed"
    assert status["output"] == "Orchestrator function 'crashes' failed: orchestrator bug"


async def test_event_wins_race_and_payload_is_a_json_string(make_host):
    host = await make_host()
    iid = await host.start_orchestration("event_or_timeout", {"timeout_s": 30})
    await host.wait_for_status(iid, lambda s: s["runtimeStatus"] == "Running")
    await host.raise_event(iid, "Approval", {"ok": 1})
    status = await host.wait_for_completion(iid, timeout=5)  # cancelled timer: no wait
    assert status["output"] == {"winner": "event", "value": json.dumps({"ok": 1})}
    timers = [e for e in await host.history(iid) if e["EventType"] == T.TimerCreated]
    assert [t["EventId"] for t in timers] == [0]


async def test_timer_wins_race(make_host):
    host = await make_host()
    iid = await host.start_orchestration("event_or_timeout", {"timeout_s": 0.2})
    status = await host.wait_for_completion(iid, timeout=5)
    assert status["output"] == {"winner": "timer"}
    assert ("TimerFired", -1, 0) in shape(await host.history(iid))


async def test_uncancelled_timer_keeps_instance_running(make_host, caplog):
    caplog.set_level(logging.WARNING, logger="devhost")
    host = await make_host()
    iid = await host.start_orchestration("event_no_cancel", {"timeout_s": 1.0})
    await host.wait_for_status(iid, lambda s: s["runtimeStatus"] == "Running")
    await host.raise_event(iid, "Approval", "yes")
    await asyncio.sleep(0.4)
    assert (await host.get_status(iid))["runtimeStatus"] == "Running"
    assert any("stays Running" in r.getMessage() for r in caplog.records)
    status = await host.wait_for_completion(iid, timeout=5)
    assert status["output"] == "event"


async def test_early_event_is_buffered(make_host):
    host = await make_host()
    iid = await host.start_orchestration("wait_then_event")
    await host.raise_event(iid, "Early", [1, 2])
    status = await host.wait_for_completion(iid, timeout=5)
    assert status["output"] == "[1, 2]"
    types = [T(e["EventType"]).name for e in await host.history(iid)]
    assert types.index("EventRaised") < types.index("TimerFired")


async def test_two_early_events_with_one_name_sdk_quirk(make_host):
    host = await make_host()
    iid = await host.start_orchestration("two_events_after_timer")
    await host.raise_event(iid, "E", "first")
    await host.raise_event(iid, "E", "second")
    status = await host.wait_for_completion(iid, timeout=5)
    # SDK 1.7.0 keeps early events keyed by name: both waits get the second one
    assert status["output"] == ['"second"', '"second"']


async def test_two_events_in_order_when_waiting(make_host):
    host = await make_host()
    iid = await host.start_orchestration("two_events")
    await host.wait_for_status(iid, lambda s: s["runtimeStatus"] == "Running")
    await host.raise_event(iid, "E", "first")
    await host.raise_event(iid, "E", "second")
    status = await host.wait_for_completion(iid, timeout=5)
    assert status["output"] == ['"first"', '"second"']


async def test_sub_orchestration_success_and_failure(make_host):
    host = await make_host()
    ok = await host.start_orchestration("parent", {"name": "Bob"}, instance_id="p-ok")
    bad = await host.start_orchestration("parent", {"name": "Bob", "fail": True},
                                         instance_id="p-bad")
    assert (await host.wait_for_completion(ok, timeout=10))["output"] == {"child": "Hello Bob!"}
    failed = await host.wait_for_completion(bad, timeout=10)
    assert failed["output"]["child_error"].startswith(
        "Orchestrator function 'child' failed: child failed on purpose")
    child = await host.get_status("p-bad-c")
    assert child["runtimeStatus"] == "Failed"
    parent_history = without_brackets(await host.history(ok))
    assert parent_history[1:3] == [("SubOrchestrationInstanceCreated", 0, None),
                                   ("SubOrchestrationInstanceCompleted", -1, 0)]
    child_started = (await host.history("p-ok-c"))[1]
    assert child_started["ParentInstance"]["OrchestrationInstance"]["InstanceId"] == "p-ok"
    assert child_started["ParentInstance"]["TaskScheduleId"] == 0


async def test_continue_as_new(make_host):
    host = await make_host()
    iid = await host.start_orchestration("counter", 0)
    status = await host.wait_for_completion(iid, timeout=10)
    assert status["output"] == 3
    history = await host.history(iid)
    assert history[1]["Generation"] == 3
    assert json.loads(history[1]["Input"]) == "3"  # df_dumps text inside a JSON string


async def test_terminate_while_waiting(make_host):
    host = await make_host()
    iid = await host.start_orchestration("waiter")
    await host.wait_for_status(iid, lambda s: s["customStatus"] == {"stage": "waiting"})
    assert await host.terminate(iid, "operator said so") == "accepted"
    status = await host.wait_for_completion(iid, timeout=5)
    assert status["runtimeStatus"] == "Terminated"
    assert status["output"] == "operator said so"
    with pytest.raises(RuntimeError, match="gone"):
        await host.raise_event(iid, "Go", 1)
    assert ("ExecutionTerminated", -1, None) in shape(await host.history(iid))


async def test_suspend_and_resume(make_host):
    host = await make_host()
    iid = await host.start_orchestration("waiter")
    await host.wait_for_status(iid, lambda s: s["customStatus"] == {"stage": "waiting"})
    await host.suspend(iid, "pause")
    await host.wait_for_status(iid, lambda s: s["runtimeStatus"] == "Suspended")
    await host.raise_event(iid, "Go", "v")
    await asyncio.sleep(0.2)
    assert (await host.get_status(iid))["runtimeStatus"] == "Suspended"
    await host.resume(iid, "go on")
    status = await host.wait_for_completion(iid, timeout=5)
    assert status["output"] == '"v"'
    names = [T(e["EventType"]).name for e in await host.history(iid)]
    assert names.index("ExecutionSuspended") < names.index("ExecutionResumed") < names.index(
        "EventRaised")


async def test_nondeterministic_orchestrator_fails_clearly(make_host):
    host = await make_host()
    iid = await host.start_orchestration("nondeterministic")
    status = await host.wait_for_completion(iid, timeout=10)
    assert status["runtimeStatus"] == "Failed"
    assert "Non-Deterministic workflow detected" in status["output"]
    assert "sequence number 0" in status["output"]


async def test_unknown_activity_hangs_with_loud_warning(make_host, caplog):
    caplog.set_level(logging.WARNING, logger="devhost")
    host = await make_host()
    iid = await host.start_orchestration("calls_missing")
    await host.wait_for_status(iid, lambda s: s["runtimeStatus"] == "Running")
    await asyncio.sleep(0.2)
    assert (await host.get_status(iid))["runtimeStatus"] == "Running"
    assert any("no_such_activity" in r.getMessage() and "hangs" in r.getMessage()
               for r in caplog.records)
    assert not [e for e in await host.history(iid) if e["EventType"] == T.TaskScheduled]


async def test_activity_overrides_keep_encoding_and_failure_text(make_host):
    seen = []

    async def fake_hello(name):
        seen.append(name)
        return {"fake": name}

    def broken(payload):
        raise KeyError("nope")

    host = await make_host(activity_overrides={"hello": fake_hello, "always_fails": broken})
    iid = await host.start_orchestration("sequence", {"cities": ["Oslo"]})
    assert (await host.wait_for_completion(iid, timeout=10))["output"] == [{"fake": "Oslo"}]
    assert seen == ["Oslo"]
    iid = await host.start_orchestration("failing_activity")
    status = await host.wait_for_completion(iid, timeout=10)
    assert "Activity function 'always_fails' failed:  KeyError: 'nope'" in status["output"]


async def test_unknown_override_name_is_rejected(make_host):
    with pytest.raises(ValueError, match="not an activity"):
        await make_host(activity_overrides={"nope": lambda x: x})


async def test_wait_for_completion_times_out(make_host):
    host = await make_host()
    iid = await host.start_orchestration("waiter")
    with pytest.raises(TimeoutError, match="did not finish"):
        await host.wait_for_completion(iid, timeout=0.2)
