"""Every state transition of the management API, over real HTTP, with the SDK's own client.

Each case answers what the Durable extension answers (HttpApiHandler.cs, DurableClient.cs,
OverridableStates.cs of Azure/azure-functions-durable-extension; DTFx
AzureStorageOrchestrationService.CreateTaskOrchestrationAsync), and the SDK 1.7.0 client
reacts to it as it does on Azure (azure/durable_functions/models/DurableOrchestrationClient.py).
The table with the sources is in devhost/README.md ("Management API semantics").
"""
from __future__ import annotations

import json
import re
import shutil

import aiohttp
import pytest
from azure.durable_functions import DurableOrchestrationClient

from devhost.durable_client import ClientOperationRefused
from devhost.history import EventType as T
from devhost.worker_loop import on_worker_loop

from .conftest import app_dir

pytestmark = pytest.mark.asyncio

SOMETHING_WENT_WRONG = "Something went wrong while processing your request"


def exactly(text: str) -> str:
    return f"^{re.escape(text)}$"


def refused(exception_type: str, message: str) -> dict:
    """The webhook's 500 body for what DurableClient / DTFx throw (no .NET stack here)."""
    return {"Message": SOMETHING_WENT_WRONG, "ExceptionMessage": message,
            "ExceptionType": exception_type, "StackTrace": None}


def invalid_operation(message: str) -> dict:
    return refused("System.InvalidOperationException", message)


async def instance_in(host, state: str, instance_id: str | None = None) -> str:
    """An instance of the basic app in ``state`` (set up through devhost's own API)."""
    if state == "Completed":
        iid = await host.start_orchestration("sequence", {"cities": ["Oslo"]}, instance_id)
        await host.wait_for_completion(iid, timeout=10)
        return iid
    if state == "Failed":
        iid = await host.start_orchestration("crashes", None, instance_id)
        assert (await host.wait_for_completion(iid, timeout=10))["runtimeStatus"] == "Failed"
        return iid
    iid = await host.start_orchestration("waiter", None, instance_id)
    await host.wait_for_status(iid, lambda s: s["customStatus"] == {"stage": "waiting"})
    if state == "Suspended":
        await host.suspend(iid, "hold")
        await host.wait_for_status(iid, lambda s: s["runtimeStatus"] == "Suspended")
    elif state == "Terminated":
        await host.terminate(iid, "stop")
        await host.wait_for_completion(iid, timeout=10)
    else:
        assert state == "Running"
    return iid


async def post(host, path: str, **kwargs) -> tuple[int, str, str | None]:
    """POST to the RPC endpoint the SDK uses: status, body text, Content-Type."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{host.base_url}/durabletask/{path}", **kwargs) as response:
            return response.status, await response.text(), response.headers.get("Content-Type")


async def call(host, method: str, path: str, **kwargs) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{host.base_url}/durabletask/{path}", **kwargs) as r:
            return r.status, await r.text()


# -- suspend / resume / terminate ------------------------------------------------------

async def test_resume_of_a_running_instance_is_refused(make_host, sdk_session):
    host = await make_host()
    iid = await instance_in(host, "Running")
    status, body, _ = await post(host, f"instances/{iid}/resume?reason=x")
    assert (status, json.loads(body)) == (500, invalid_operation(
        f"Cannot resume the orchestration instance {iid} because instance is in the Running state."))
    client = DurableOrchestrationClient(host.client_binding())
    with pytest.raises(Exception, match=exactly("The operation failed with an unexpected status code 500")):
        await client.resume(iid, "again")
    assert (await host.get_status(iid))["runtimeStatus"] == "Running"


async def test_suspend_of_a_suspended_instance_is_refused(make_host, sdk_session):
    host = await make_host()
    iid = await instance_in(host, "Suspended")
    status, body, _ = await post(host, f"instances/{iid}/suspend?reason=x")
    assert (status, json.loads(body)) == (500, invalid_operation(
        f"Cannot suspend the orchestration instance {iid} because instance is in the Suspended "
        "state."))
    client = DurableOrchestrationClient(host.client_binding())
    with pytest.raises(Exception, match=exactly("The operation failed with an unexpected status code 500")):
        await client.suspend(iid, "again")
    await client.resume(iid, "go on")  # the allowed transitions still work
    await host.wait_for_status(iid, lambda s: s["runtimeStatus"] == "Running")


@pytest.mark.parametrize("state", ["Completed", "Failed", "Terminated"])
async def test_suspend_resume_terminate_of_a_finished_instance_is_410_which_the_sdk_swallows(
        make_host, sdk_session, state):
    host = await make_host()
    iid = await instance_in(host, state)
    for operation in ("suspend", "resume", "terminate"):
        assert await post(host, f"instances/{iid}/{operation}?reason=x") == (410, "", None)
    client = DurableOrchestrationClient(host.client_binding())
    assert await client.suspend(iid, "x") is None
    assert await client.resume(iid, "x") is None
    assert await client.terminate(iid, "x") is None
    assert (await host.get_status(iid))["runtimeStatus"] == state


async def test_terminate_of_a_suspended_instance_terminates_it(make_host, sdk_session):
    host = await make_host()
    iid = await instance_in(host, "Suspended")
    client = DurableOrchestrationClient(host.client_binding())
    assert await client.terminate(iid, "while suspended") is None
    done = await host.wait_for_completion(iid, timeout=10)
    assert (done["runtimeStatus"], done["output"]) == ("Terminated", "while suspended")


async def test_suspend_resume_terminate_of_a_missing_instance_is_404(make_host, sdk_session):
    host = await make_host()
    client = DurableOrchestrationClient(host.client_binding())
    for operation in ("suspend", "resume", "terminate"):
        assert await post(host, f"instances/nope/{operation}?reason=x") == (404, "", None)
        with pytest.raises(Exception, match=exactly("No instance with ID 'nope' found.")):
            await getattr(client, operation)("nope", "x")


async def test_suspend_of_a_pending_instance_is_accepted(make_host):
    # Pending lasts until the first episode, which devhost starts at once: so start and
    # suspend in one step on devhost's loop (over HTTP the window cannot be hit reliably).
    host = await make_host()

    async def start_then_suspend() -> tuple[str | None, str]:
        iid = host.client_ops.start_new("waiter", "pending-1", None)
        before = host.engine.status(iid)["runtimeStatus"]
        return before, host.client_ops.suspend(iid, "early")
    assert await on_worker_loop(start_then_suspend) == ("Pending", "accepted")
    await host.wait_for_status("pending-1", lambda s: s["runtimeStatus"] == "Suspended")


# -- raise event -----------------------------------------------------------------------

@pytest.mark.parametrize("state", ["Completed", "Failed", "Terminated"])
async def test_raise_event_to_a_finished_instance_is_410(make_host, sdk_session, state):
    host = await make_host()
    iid = await instance_in(host, state)
    assert await post(host, f"instances/{iid}/raiseEvent/Go", json=1) == (410, "", None)
    # the state is checked before the content type (HandleRaiseEventRequestAsync)
    assert (await post(host, f"instances/{iid}/raiseEvent/Go", data="x",
                       headers={"Content-Type": "text/plain"}))[0] == 410
    client = DurableOrchestrationClient(host.client_binding())
    with pytest.raises(Exception, match=exactly(f"Instance with ID {iid} is gone: either completed or failed")):
        await client.raise_event(iid, "Go", 1)


async def test_raise_event_to_a_missing_instance_is_404(make_host, sdk_session):
    host = await make_host()
    assert await post(host, "instances/nope/raiseEvent/Go", json=1) == (404, "", None)
    assert (await post(host, "instances/nope/raiseEvent/Go", data="x",
                       headers={"Content-Type": "text/plain"}))[0] == 404
    client = DurableOrchestrationClient(host.client_binding())
    with pytest.raises(Exception, match=exactly("No instance with ID nope found.")):
        await client.raise_event("nope", "Go", 1)


async def test_raise_event_to_a_suspended_instance_waits_for_resume(make_host, sdk_session):
    host = await make_host()
    iid = await instance_in(host, "Suspended")
    client = DurableOrchestrationClient(host.client_binding())
    assert await client.raise_event(iid, "Go", "held") is None
    assert (await host.get_status(iid))["runtimeStatus"] == "Suspended"
    await client.resume(iid, "go on")
    assert (await host.wait_for_completion(iid, timeout=10))["output"] == '"held"'


async def test_raise_event_content_type_and_json_checks(make_host):
    host = await make_host()
    iid = await instance_in(host, "Running")
    status, body, _ = await post(host, f"instances/{iid}/raiseEvent/Go", data="x",
                                 headers={"Content-Type": "text/plain"})
    assert (status, json.loads(body)) == (
        400, {"Message": "Only application/json request content is supported"})
    status, body, _ = await post(host, f"instances/{iid}/raiseEvent/Go", data="{not json",
                                 headers={"Content-Type": "application/json"})
    error = json.loads(body)
    assert status == 400
    assert (error["Message"], error["ExceptionType"]) == (
        "Invalid JSON content", "Newtonsoft.Json.JsonReaderException")
    assert (await host.get_status(iid))["runtimeStatus"] == "Running"  # nothing delivered


# -- purge -----------------------------------------------------------------------------

@pytest.mark.parametrize("state", ["Running", "Suspended", "Completed", "Failed", "Terminated"])
async def test_purge_deletes_an_instance_in_any_state(make_host, sdk_session, state):
    host = await make_host()
    iid = await instance_in(host, state)
    status, body = await call(host, "DELETE", f"instances/{iid}")
    assert (status, json.loads(body)) == (200, {"instancesDeleted": 1})
    assert await call(host, "GET", f"instances/{iid}") == (404, "")
    client = DurableOrchestrationClient(host.client_binding())
    assert (await client.purge_instance_history(iid)).instances_deleted == 0  # 404 -> 0
    assert not await client.get_status(iid)


# -- rewind ----------------------------------------------------------------------------

@pytest.mark.parametrize("state", ["Running", "Suspended"])
async def test_rewind_of_an_instance_that_did_not_fail_is_refused(make_host, sdk_session, state):
    host = await make_host()
    iid = await instance_in(host, state)
    message = "The rewind operation is only supported on failed orchestration instances."
    status, body, _ = await post(host, f"instances/{iid}/rewind?reason=x")
    assert (status, json.loads(body)) == (500, invalid_operation(message))
    client = DurableOrchestrationClient(host.client_binding())
    with pytest.raises(Exception, match="^Received unexpected payload from the durable-extension: "
                                        r"\[500, \{'Message': 'Something went wrong"):
        await client.rewind(iid, "x")


@pytest.mark.parametrize("state", ["Completed", "Terminated"])
async def test_rewind_of_a_completed_or_terminated_instance_is_410(make_host, sdk_session, state):
    host = await make_host()
    iid = await instance_in(host, state)
    assert await post(host, f"instances/{iid}/rewind?reason=x") == (410, "", None)
    client = DurableOrchestrationClient(host.client_binding())
    with pytest.raises(Exception, match=exactly(
            "The rewind operation is only supported on failed orchestration instances.")):
        await client.rewind(iid, "x")


async def test_rewind_of_a_missing_instance_is_404(make_host, sdk_session):
    host = await make_host()
    assert await post(host, "instances/nope/rewind?reason=x") == (404, "", None)
    client = DurableOrchestrationClient(host.client_binding())
    with pytest.raises(Exception, match=exactly("No instance with ID nope found.")):
        await client.rewind("nope", "x")


async def test_rewind_of_a_failed_instance_runs_the_failed_activity_again(make_host, sdk_session):
    host = await make_host()
    iid = await host.start_orchestration("flaky_once", {"key": "rewind-1", "fail_times": 1})
    assert (await host.wait_for_completion(iid, timeout=10))["runtimeStatus"] == "Failed"
    client = DurableOrchestrationClient(host.client_binding())
    assert await client.rewind(iid, "fixed it") is None  # 202
    done = await host.wait_for_completion(iid, timeout=10)
    assert (done["runtimeStatus"], done["output"]) == ("Completed", "ok after 2")
    types = [T(e["EventType"]).name for e in await host.history(iid)
             if e["EventType"] not in (T.OrchestratorStarted, T.OrchestratorCompleted)]
    # the failed call and the failure are GenericEvents now; the call is scheduled afresh
    assert types == ["ExecutionStarted", "GenericEvent", "GenericEvent", "GenericEvent",
                     "GenericEvent", "TaskScheduled", "TaskCompleted", "ExecutionCompleted"]


async def test_rewind_of_a_failed_parent_rewinds_the_failed_child(make_host):
    host = await make_host()
    iid = await host.start_orchestration("parent_of_flaky", {"key": "rewind-2", "fail_times": 1})
    assert (await host.wait_for_completion(iid, timeout=10))["runtimeStatus"] == "Failed"
    assert await post(host, f"instances/{iid}/rewind?reason=again") == (202, "", None)
    done = await host.wait_for_completion(iid, timeout=10)
    assert (done["runtimeStatus"], done["output"]) == ("Completed", "ok after 2")
    child = await host.get_status(f"{iid}-child")
    assert (child["runtimeStatus"], child["output"]) == ("Completed", "ok after 2")


# -- start with an existing instance id ------------------------------------------------

@pytest.mark.parametrize("state", ["Running", "Suspended"])
async def test_start_over_a_running_instance_is_refused(make_host, sdk_session, state):
    host = await make_host()
    iid = await instance_in(host, state)
    expected = refused("DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException",
                       f"An Orchestration instance with the status {state} already exists.")
    status, body, _ = await post(host, f"orchestrators/sequence/{iid}", json=None)
    assert (status, json.loads(body)) == (500, expected)
    client = DurableOrchestrationClient(host.client_binding())
    with pytest.raises(Exception) as raised:
        await client.start_new("sequence", iid, {"cities": ["x"]})
    assert raised.value.args[0] == expected  # the SDK raises the parsed body itself
    with pytest.raises(ClientOperationRefused):
        await host.start_orchestration("sequence", {"cities": ["x"]}, iid)
    current = await host.get_status(iid)
    assert (current["name"], current["runtimeStatus"]) == ("waiter", state)


@pytest.mark.parametrize("state", ["Completed", "Failed", "Terminated"])
async def test_start_over_a_finished_instance_replaces_it(make_host, sdk_session, state):
    host = await make_host()
    iid = await instance_in(host, state)
    client = DurableOrchestrationClient(host.client_binding())
    assert await client.start_new("sequence", iid, {"cities": ["Rome"]}) == iid
    done = await host.wait_for_completion(iid, timeout=10)
    assert (done["name"], done["output"]) == ("sequence", ["Hello Rome!"])


async def test_start_over_a_pending_instance_is_refused(make_host):
    host = await make_host()

    async def start_twice() -> str:
        host.client_ops.start_new("waiter", "pending-2", None)
        try:
            host.client_ops.start_new("waiter", "pending-2", None)
        except ClientOperationRefused as error:
            return error.message
        return "accepted"
    assert await on_worker_loop(start_twice) == (
        "An Orchestration instance with the status Pending already exists.")


async def test_any_state_lets_a_start_replace_a_running_instance(make_host, sdk_session, tmp_path):
    app = tmp_path / "anystate"
    shutil.copytree(app_dir("basic"), app)
    (app / "host.json").write_text(json.dumps({"version": "2.0", "extensions": {"durableTask": {
        "overridableExistingInstanceStates": "AnyState"}}}))
    host = await make_host(str(app))
    iid = await instance_in(host, "Running")
    client = DurableOrchestrationClient(host.client_binding())
    assert await client.start_new("sequence", iid, {"cities": ["Rome"]}) == iid
    done = await host.wait_for_completion(iid, timeout=10)
    assert (done["name"], done["output"]) == ("sequence", ["Hello Rome!"])


async def test_start_of_an_unknown_orchestrator_lists_the_known_ones(make_host, sdk_session):
    host = await make_host()
    status, body, _ = await post(host, "orchestrators/nope")
    error = json.loads(body)
    assert status == 400
    assert error["Message"] == "One or more of the arguments submitted is incorrect"
    assert error["ExceptionType"] == "System.ArgumentException"
    assert error["ExceptionMessage"].startswith(
        "The function 'nope' doesn't exist, is disabled, or is not an orchestrator function. "
        "Additional info: The following are the known orchestrator functions: 'sequence', ")
    client = DurableOrchestrationClient(host.client_binding())
    with pytest.raises(Exception, match=r"^The function 'nope' doesn't exist"):
        await client.start_new("nope")


async def test_start_with_a_body_that_is_not_json_is_400(make_host):
    host = await make_host()
    status, body, _ = await post(host, "orchestrators/waiter/bad-body", data="{oops",
                                 headers={"Content-Type": "application/json"})
    assert (status, json.loads(body)["Message"]) == (400, "Invalid JSON content")
    assert await call(host, "GET", "instances/bad-body") == (404, "")


async def test_a_known_route_with_another_method_is_a_bare_404(make_host):
    host = await make_host()
    iid = await instance_in(host, "Running")
    assert await call(host, "PUT", f"instances/{iid}") == (404, "")
    assert await call(host, "GET", f"instances/{iid}/terminate") == (404, "")
    assert await call(host, "POST", f"instances/{iid}/explode") == (404, "")
    assert await call(host, "GET", "orchestrators/waiter") == (404, "")




# -- restart ---------------------------------------------------------------------------

async def test_restart_starts_the_orchestrator_again_with_its_input(make_host, sdk_session):
    host = await make_host()
    iid = await host.start_orchestration("sequence", {"cities": ["Kyiv"]})
    await host.wait_for_completion(iid, timeout=10)
    client = DurableOrchestrationClient(host.client_binding())
    payload = await client.restart(iid)  # new instance id: the SDK returns the 202 body
    new_id = payload["id"]
    assert new_id != iid and set(payload) >= {"statusQueryGetUri", "terminatePostUri"}
    done = await host.wait_for_completion(new_id, timeout=10)
    assert (done["name"], done["output"]) == ("sequence", ["Hello Kyiv!"])
    same = await client.restart(iid, restart_with_new_instance_id=False)
    assert same["id"] == iid
    assert (await host.wait_for_completion(iid, timeout=10))["output"] == ["Hello Kyiv!"]


async def test_restart_of_a_running_instance_under_its_own_id_is_refused(make_host, sdk_session):
    host = await make_host()
    iid = await instance_in(host, "Running")
    status, body, _ = await post(host, f"instances/{iid}/restart?restartWithNewInstanceId=false")
    assert (status, json.loads(body)) == (500, refused(
        "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException",
        "An Orchestration instance with the status Running already exists."))


async def test_restart_of_a_missing_instance_is_400(make_host, sdk_session):
    host = await make_host()
    status, body, _ = await post(host, "instances/nope/restart?restartWithNewInstanceId=true")
    error = json.loads(body)
    assert status == 400
    assert (error["Message"], error["ExceptionMessage"], error["ExceptionType"]) == (
        "InstanceId does not match a valid orchestration instance.",
        "An orchestrastion with the instanceId nope was not found.", "System.ArgumentException")
    client = DurableOrchestrationClient(host.client_binding())
    with pytest.raises(Exception, match=exactly("The operation failed with an unexpected status code 400")):
        await client.restart("nope")


# -- purge by filter, status while running ---------------------------------------------

async def test_purge_by_filter(make_host, sdk_session):
    host = await make_host()
    running = await instance_in(host, "Running")
    completed = await instance_in(host, "Completed")
    status, body = await call(host, "DELETE", "instances/")
    assert (status, json.loads(body)) == (400, "Please provide value for 'createdTimeFrom' parameter.")
    since = "2000-01-01T00:00:00Z"
    # a status filter keeps only finished states; "Running" alone leaves none, i.e. no filter
    status, body = await call(host, "DELETE", f"instances/?createdTimeFrom={since}"
                                              "&runtimeStatus=Completed,Running")
    assert (status, json.loads(body)) == (200, {"instancesDeleted": 1})
    assert await host.get_status(completed) is None and await host.get_status(running) is not None
    assert await call(host, "DELETE", f"instances/?createdTimeFrom={since}"
                                      "&runtimeStatus=Completed") == (404, "")
    status, body = await call(host, "DELETE", f"instances/?createdTimeFrom={since}"
                                              "&runtimeStatus=Running")
    assert (status, json.loads(body)) == (200, {"instancesDeleted": 1})
    assert await host.get_status(running) is None


async def test_status_of_a_running_instance_points_location_at_the_request(make_host):
    host = await make_host()
    iid = await instance_in(host, "Running")
    url = f"{host.base_url}/durabletask/instances/{iid}?showInput=true"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            assert response.status == 202
            assert (response.headers["Location"], response.headers["Retry-After"]) == (url, "5")
