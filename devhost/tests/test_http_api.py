"""The management API and HTTP triggers over real HTTP, with the SDK's own client."""
from __future__ import annotations

import json
import re

import aiohttp
import pytest
from azure.durable_functions import DurableOrchestrationClient
from azure.durable_functions.models import OrchestrationRuntimeStatus

from .conftest import FUNCTION_KEY, MASTER_KEY

pytestmark = pytest.mark.asyncio

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


async def test_real_client_start_status_event_terminate_purge(make_host, sdk_session):
    host = await make_host()
    binding = json.loads(host.client_binding())
    assert binding["rpcBaseUrl"] == f"{host.base_url}/durabletask/"
    assert binding["baseUrl"] == f"{host.base_url}/runtime/webhooks/durabletask"
    client = DurableOrchestrationClient(host.client_binding())

    iid = await client.start_new("waiter", None, {"a": 1})
    assert re.fullmatch(r"[0-9a-f]{32}", iid)
    await host.wait_for_status(iid, lambda s: s["customStatus"] == {"stage": "waiting"})
    status = await client.get_status(iid, show_history=True)
    assert status.runtime_status == OrchestrationRuntimeStatus.Running
    assert status.input_ == json.dumps({"a": 1})  # double-encoded, shown as a string
    assert status.custom_status == {"stage": "waiting"}

    await client.raise_event(iid, "Go", {"payload": [1, 2]})
    done = await host.wait_for_completion(iid, timeout=5)
    assert done["output"] == json.dumps({"payload": [1, 2]})  # a JSON *string*, as on Azure
    status = await client.get_status(iid)
    assert status.runtime_status == OrchestrationRuntimeStatus.Completed

    with pytest.raises(Exception, match="is gone"):
        await client.raise_event(iid, "Go", 1)
    with pytest.raises(Exception, match="No instance with ID nope found"):
        await client.raise_event("nope", "Go", 1)

    other = await client.start_new("waiter", "fixed-id")
    assert other == "fixed-id"
    await host.wait_for_status(other, lambda s: s["runtimeStatus"] == "Running")
    await client.terminate(other, "stop it")
    terminated = await host.wait_for_completion(other, timeout=5)
    assert terminated["output"] == "stop it"
    await client.terminate(other, "again")  # 410 is accepted by the SDK

    by_status = await client.get_status_by(runtime_status=[OrchestrationRuntimeStatus.Terminated])
    assert [s.instance_id for s in by_status] == ["fixed-id"]
    assert len(await client.get_status_all()) == 2

    assert (await client.purge_instance_history(iid)).instances_deleted == 1
    assert (await client.purge_instance_history(iid)).instances_deleted == 0
    with pytest.raises(Exception, match="doesn't exist"):
        await client.start_new("no_such_orchestrator")


async def test_suspend_resume_via_client(make_host, sdk_session):
    host = await make_host()
    client = DurableOrchestrationClient(host.client_binding())
    iid = await client.start_new("waiter")
    await host.wait_for_status(iid, lambda s: s["runtimeStatus"] == "Running")
    await client.suspend(iid, "pause")
    await host.wait_for_status(iid, lambda s: s["runtimeStatus"] == "Suspended")
    await client.resume(iid, "resume")
    await host.wait_for_status(iid, lambda s: s["runtimeStatus"] == "Running")
    await client.raise_event(iid, "Go", "x")
    assert (await host.wait_for_completion(iid, timeout=5))["output"] == '"x"'


async def test_status_codes_and_json_shape(make_host):
    host = await make_host()
    rpc = f"{host.base_url}/durabletask"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{rpc}/orchestrators/waiter/s1", json={"raw": True}) as r:
            assert r.status == 202
            body = await r.json()
            assert body["id"] == "s1"
            assert r.headers["Location"] == body["statusQueryGetUri"]
            assert "code=" + MASTER_KEY in body["statusQueryGetUri"]
        await host.wait_for_status("s1", lambda s: s["runtimeStatus"] == "Running")
        async with http.get(f"{rpc}/instances/s1") as r:
            assert r.status == 202
            assert r.headers["Retry-After"] == "5"
            assert "Location" in r.headers
            status = await r.json()
        assert set(status) == {"name", "instanceId", "runtimeStatus", "input", "customStatus",
                               "output", "createdTime", "lastUpdatedTime"}
        assert status["input"] == {"raw": True}  # a raw JSON body arrives parsed
        assert TIME.match(status["createdTime"]) and TIME.match(status["lastUpdatedTime"])
        async with http.get(f"{rpc}/instances/unknown") as r:
            assert r.status == 404
            assert await r.read() == b""
        async with http.post(f"{rpc}/instances/s1/raiseEvent/Go", data="x",
                             headers={"Content-Type": "text/plain"}) as r:
            assert r.status == 400
        async with http.post(f"{rpc}/instances/nope/raiseEvent/Go", json=1) as r:
            assert r.status == 404
        async with http.post(f"{rpc}/instances/s1/raiseEvent/Go", json="v") as r:
            assert r.status == 202
        await host.wait_for_completion("s1", timeout=5)
        async with http.get(f"{rpc}/instances/s1?showHistory=true&showHistoryOutput=true") as r:
            assert r.status == 200
            final = await r.json()
        events = [e["EventType"] for e in final["historyEvents"]]
        assert events[0] == "ExecutionStarted" and events[-1] == "ExecutionCompleted"
        assert "OrchestratorStarted" not in events
        assert all("EventId" not in e and "IsPlayed" not in e for e in final["historyEvents"])
        async with http.post(f"{rpc}/instances/s1/terminate?reason=x") as r:
            assert r.status == 410
        async with http.post(f"{rpc}/instances/nope/terminate?reason=x") as r:
            assert r.status == 404
        async with http.post(f"{rpc}/orchestrators/nope") as r:
            assert r.status == 400
            assert "ExceptionMessage" in await r.json()
        hook = f"{host.base_url}/runtime/webhooks/durabletask/instances/s1"
        async with http.get(hook) as r:
            assert r.status == 401  # public webhook needs the system key
        async with http.get(hook, params={"code": MASTER_KEY}) as r:
            assert r.status == 200
        async with http.delete(f"{rpc}/instances/s1") as r:
            assert (r.status, await r.json()) == (200, {"instancesDeleted": 1})
        async with http.delete(f"{rpc}/instances/s1") as r:
            assert r.status == 404


async def test_failed_instance_answers_200(make_host):
    host = await make_host()
    iid = await host.start_orchestration("crashes")
    await host.wait_for_completion(iid, timeout=5)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{host.base_url}/durabletask/instances/{iid}") as r:
            assert r.status == 200
            assert (await r.json())["runtimeStatus"] == "Failed"


async def test_http_trigger_auth_routes_and_starter(make_host):
    host = await make_host()
    api = f"{host.base_url}/api"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api}/hello/ann?x=1") as r:
            assert r.status == 401
        async with http.get(f"{api}/hello/ann?x=1&code=wrong") as r:
            assert r.status == 401
        async with http.get(f"{api}/hello/ann?x=1", headers={"x-functions-key": FUNCTION_KEY}) as r:
            assert (r.status, await r.text()) == (200, "hi ann 1")
        async with http.get(f"{api}/hello/ann", params={"code": MASTER_KEY}) as r:
            assert r.status == 200
        async with http.get(f"{api}/open") as r:
            assert (r.status, await r.json()) == (200, {"ok": True})
        async with http.post(f"{api}/hello/ann", params={"code": FUNCTION_KEY}) as r:
            assert r.status == 404  # method not allowed by the route
        async with http.post(f"{api}/start/sequence", params={"code": FUNCTION_KEY},
                             json={"cities": ["Rome"]}) as r:
            assert r.status == 202
            management = await r.json()
            location = r.headers["Location"]
        assert location == management["statusQueryGetUri"]
        await host.wait_for_completion(management["id"], timeout=5)
        async with http.get(location) as r:
            assert r.status == 200
            assert (await r.json())["output"] == ["Hello Rome!"]


async def test_anonymous_mode_turns_auth_off(make_host):
    host = await make_host(anonymous=True)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{host.base_url}/api/hello/bo") as r:
            assert r.status == 200


async def test_dashboard_escapes_user_data(make_host):
    host = await make_host()
    iid = await host.start_orchestration("waiter", instance_id="<script>x</script>")
    await host.wait_for_status(iid, lambda s: s["runtimeStatus"] == "Running")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{host.base_url}/devhost/") as r:
            page = await r.text()
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
