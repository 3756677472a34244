"""``GET /admin/host/status`` and disabled functions (``AzureWebJobs.<name>.Disabled``).

Sources: azure-functions-host HostController.GetHostStatus / Models/HostStatus.cs and
Middleware/FunctionInvocationMiddleware.cs; azure-webjobs-sdk HostListenerFactory.IsDisabled
and IConfigurationExtensions.IsSettingEnabled; the Durable extension's
DurableTaskExtension (GetInvalid*FunctionMessage, OrchestrationMiddleware) and PR #3472.
"""
from __future__ import annotations

import asyncio
import json
import shutil

import aiohttp
import pytest
from azure.durable_functions import DurableOrchestrationClient

from .conftest import FUNCTION_KEY, MASTER_KEY, app_dir

pytestmark = pytest.mark.asyncio


async def get(url: str, **kwargs) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http:
        async with http.get(url, **kwargs) as response:
            return response.status, await response.text()


# -- host status -----------------------------------------------------------------------

async def test_host_status_reports_running_with_the_hosts_fields(make_host):
    host = await make_host()
    status, body = await get(f"{host.base_url}/admin/host/status",
                             headers={"x-functions-key": MASTER_KEY})
    assert status == 200
    payload = json.loads(body)
    assert list(payload) == ["id", "state", "version", "versionDetails", "platformVersion",
                             "instanceId", "computerName", "processUptime",
                             "functionAppContentEditingState"]
    assert payload["state"] == "Running"
    assert payload["version"].startswith("4.") and payload["version"].count(".") == 3
    assert isinstance(payload["processUptime"], int) and payload["processUptime"] > 0
    assert payload["functionAppContentEditingState"] == "Unknown"
    assert len(payload["id"]) <= 32 and payload["id"] == payload["id"].lower()


async def test_host_status_needs_the_admin_key(make_host):
    host = await make_host()
    url = f"{host.base_url}/admin/host/status"
    assert (await get(url))[0] == 401
    assert (await get(url, params={"code": "wrong"}))[0] == 401
    assert (await get(url, params={"code": FUNCTION_KEY}))[0] == 403
    assert (await get(url, params={"code": MASTER_KEY}))[0] == 200
    anonymous = await make_host(anonymous=True)  # like func start without --enableAuth
    assert (await get(f"{anonymous.base_url}/admin/host/status"))[0] == 200
    assert (await get(f"{anonymous.base_url}/admin/host/ping"))[0] == 200


# -- disabled functions ----------------------------------------------------------------

async def test_orchestration_calling_a_disabled_activity_fails_naming_it(
        make_host, restore_environ, sdk_session):
    host = await make_host(settings={"AzureWebJobs.hello.Disabled": "true"})
    assert host.disabled_functions == {"hello"}
    client = DurableOrchestrationClient(host.client_binding())
    iid = await client.start_new("sequence", None, {"cities": ["Oslo"]})
    done = await host.wait_for_completion(iid, timeout=10)
    assert done["runtimeStatus"] == "Failed"
    assert done["output"].startswith(
        "Orchestrator function 'sequence' failed: Activity function 'hello' failed: The "
        "function 'hello' doesn't exist, is disabled, or is not an activity function.")
    failed = [e for e in await host.history(iid) if e["EventType"] == 6]  # TaskFailed
    assert len(failed) == 1 and "'hello'" in failed[0]["Reason"]


async def test_disabled_setting_names_values_and_case(make_host, restore_environ, monkeypatch):
    monkeypatch.setenv("azurewebjobs_ECHO_ASYNC_disabled", "1")  # Linux form, any case
    monkeypatch.setenv("AzureWebJobs.flaky.Disabled", "TRUE")
    monkeypatch.setenv("AzureWebJobs.hello.Disabled", "yes")  # only 1/true count
    monkeypatch.setenv("AzureWebJobs.always_fails.Disabled", "false")
    host = await make_host()
    assert host.disabled_functions == {"echo_async", "flaky"}
    assert host.function_list()[-2:] == ["Function echo_async is disabled.",
                                         "Function flaky is disabled."]
    assert "\techo_async: activityTrigger" not in host.function_list()


async def test_disabled_setting_from_local_settings_json(make_host, restore_environ, tmp_path):
    app = tmp_path / "basic_copy"
    shutil.copytree(app_dir("basic"), app)
    (app / "local.settings.json").write_text(json.dumps(
        {"IsEncrypted": False, "Values": {"AzureWebJobs.hello.Disabled": "true"}}))
    host = await make_host(str(app))
    assert host.disabled_functions == {"hello"}
    iid = await host.start_orchestration("sequence", {"cities": ["Oslo"]})
    assert (await host.wait_for_completion(iid, timeout=10))["runtimeStatus"] == "Failed"


async def test_disabled_http_function_answers_404_unless_called_with_the_admin_key(
        make_host, restore_environ):
    host = await make_host(settings={"AzureWebJobs.http_hello.Disabled": "1",
                                     "AzureWebJobs.http_open.Disabled": "1"})
    api = f"{host.base_url}/api"
    assert await get(f"{api}/hello/ann", params={"code": FUNCTION_KEY}) == (404, "")
    assert (await get(f"{api}/hello/ann"))[0] == 401  # the key check comes first
    assert (await get(f"{api}/open"))[0] == 404  # anonymous route, disabled
    assert await get(f"{api}/hello/ann", params={"code": MASTER_KEY}) == (200, "hi ann ")
    assert not [line for line in host.function_list() if "http_hello:" in line]


async def test_disabled_timer_never_fires_but_can_be_run_by_hand(make_host, restore_environ):
    host = await make_host("eventgrid", module="eg_app",
                           settings={"AzureWebJobs.every_second.Disabled": "true"})
    import eg_app  # the module devhost imported
    eg_app.TICKS.clear()
    assert "every_second" not in host.timer_triggers.schedules
    await asyncio.sleep(1.5)  # the schedule fires every second when enabled
    assert eg_app.TICKS == []
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{host.base_url}/admin/functions/every_second", json={},
                             headers={"x-functions-key": MASTER_KEY}) as response:
            assert response.status == 202
    for _ in range(100):
        if eg_app.TICKS:
            break
        await asyncio.sleep(0.02)
    assert eg_app.TICKS == [False]


async def test_disabled_orchestrator_starts_then_fails(make_host, restore_environ, sdk_session):
    host = await make_host(settings={"AzureWebJobs.waiter.Disabled": "true"})
    client = DurableOrchestrationClient(host.client_binding())
    iid = await client.start_new("waiter")  # known to the extension: accepted
    done = await host.wait_for_completion(iid, timeout=10)
    assert done["runtimeStatus"] == "Failed"
    assert done["output"].startswith(
        "Orchestrator function 'waiter' failed: The function 'waiter' doesn't exist, is "
        "disabled, or is not an orchestrator function. Additional info: The following are the "
        "known orchestrator functions: 'sequence', ")
    assert "'waiter'" in done["output"].split("known orchestrator functions:")[1]
