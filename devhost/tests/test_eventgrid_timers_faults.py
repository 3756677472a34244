"""Event Grid webhook, timer triggers, admin invocation and fault injection."""
from __future__ import annotations

import asyncio
import json
import sys

import aiohttp
import pytest

from .conftest import MASTER_KEY

pytestmark = pytest.mark.asyncio


def app_module():
    return sys.modules["eg_app"]


async def post(host, function, body, event_type="Notification", code=MASTER_KEY):
    headers = {"Content-Type": "application/json"}
    if event_type is not None:
        headers["aeg-event-type"] = event_type
    params = {"functionName": function}
    if code:
        params["code"] = code
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{host.base_url}/runtime/webhooks/eventgrid", params=params,
                             data=json.dumps(body), headers=headers) as r:
            return r.status, await r.text()


EG_EVENT = {"id": "e1", "topic": "/t", "subject": "orders/1", "eventType": "PaymentReserved",
            "eventTime": "2024-01-01T00:00:00Z", "data": {"orderId": "1"},
            "dataVersion": "1.0", "metadataVersion": "1"}
CLOUD_EVENT = {"specversion": "1.0", "type": "PaymentDeclined", "source": "aws", "id": "c1",
               "time": "2024-01-01T00:00:00Z", "subject": "orders/2",
               "datacontenttype": "application/json", "data": {"orderId": "2"},
               "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}


async def test_event_grid_webhook(make_host):
    host = await make_host("eventgrid", module="eg_app", timers=False)
    received = app_module().RECEIVED
    received.clear()
    validation = [{"id": "v", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                   "data": {"validationCode": "abc"}}]
    status, text = await post(host, "on_event", validation, "SubscriptionValidation")
    assert (status, json.loads(text)) == (200, {"validationResponse": "abc"})
    cloud_validation = dict(CLOUD_EVENT, data=json.dumps({"validationCode": "xyz"}))
    status, text = await post(host, "on_cloud_event", cloud_validation, "SubscriptionValidation")
    assert json.loads(text) == {"validationResponse": "xyz"}

    assert (await post(host, "on_event", [EG_EVENT, dict(EG_EVENT, id="e2")]))[0] == 202
    result = await post(host, "on_cloud_event", CLOUD_EVENT)
    assert result[0] == 202, result
    assert ("eg", "e1", "PaymentReserved", "orders/1", {"orderId": "1"}) in received
    assert ("eg", "e2", "PaymentReserved", "orders/1", {"orderId": "1"}) in received
    assert ("ce", "c1", "PaymentDeclined", "aws", {"orderId": "2"}) in received

    status, text = await post(host, "always_throws", [EG_EVENT])
    assert status == 500 and "handler broke" in text
    assert (await post(host, "nope", [EG_EVENT]))[0] == 404
    assert (await post(host, "on_event", [EG_EVENT], event_type=None))[0] == 400
    assert (await post(host, "on_event", [EG_EVENT], event_type="Bogus"))[0] == 400
    assert (await post(host, "on_event", [EG_EVENT], event_type="Unsubscribe"))[0] == 202
    assert (await post(host, "on_event", [EG_EVENT], code=None))[0] == 401


async def test_timer_trigger_runs_on_schedule_and_by_hand(make_host):
    host = await make_host("eventgrid", module="eg_app")
    ticks = app_module().TICKS
    ticks.clear()
    await asyncio.sleep(2.2)
    assert len(ticks) >= 1
    await host.stop()

    host = await make_host("eventgrid", module="eg_app",
                           settings={"DEVHOST_DISABLE_TIMERS": "1"})
    ticks.clear()
    async with aiohttp.ClientSession() as http:
        url = f"{host.base_url}/admin/functions/every_second"
        async with http.post(url, json={}) as r:
            assert r.status == 401
        async with http.post(url, json={}, headers={"x-functions-key": MASTER_KEY}) as r:
            assert r.status == 202
    await asyncio.sleep(0.2)
    assert ticks == [False]  # only the manual run: the schedule is disabled


async def test_fault_crash_after_runs_the_activity_again(make_host):
    host = await make_host("eventgrid", module="eg_app", timers=False,
                           faults={"activities": {"side_effect": {"crash_after": 1}}})
    runs = app_module().RUNS
    iid = await host.start_orchestration("once", "k-crash")
    status = await host.wait_for_completion(iid, timeout=5)
    assert runs["k-crash"] == 2 and status["output"] == 2  # first result was lost
    completed = [e for e in await host.history(iid) if e["EventType"] == 5]
    assert len(completed) == 1


async def test_fault_duplicate_delivery_and_delay(make_host):
    host = await make_host("eventgrid", module="eg_app", timers=False,
                           settings={"DEVHOST_FAULTS": json.dumps(
                               {"activities": {"side_effect": {"duplicate": 1,
                                                               "delay_s": 0.3}}})})
    runs = app_module().RUNS
    loop = asyncio.get_running_loop()
    started = loop.time()
    iid = await host.start_orchestration("once", "k-dup")
    status = await host.wait_for_completion(iid, timeout=5)
    assert loop.time() - started >= 0.3
    assert runs["k-dup"] == 2 and status["output"] == 1  # second delivery discarded


async def test_event_grid_function_with_durable_client(make_host):
    host = await make_host("eventgrid", module="eg_app", timers=False)
    event = dict(EG_EVENT, id="dc1", data={"key": "k-eg"})
    assert (await post(host, "start_from_event", [event]))[0] == 202
    status = await host.wait_for_completion("from-dc1", timeout=5)
    assert status["runtimeStatus"] == "Completed" and status["output"] == 1
