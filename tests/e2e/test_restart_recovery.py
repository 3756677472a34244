"""kill -9 the host in the middle of each step and each undo of an order saga, start it again on
the same store: the saga resumes where its history says and ends as it would have; the
activity that was running when the host died runs again (at-least-once); both clouds agree
afterwards (the "process killed and restarted" row of the chaos matrix).

The app runs on devhost as its own process (`python -m devhost`, SQLite store), the AWS side
and Event Grid in this process (the whole local loop), Cosmos on the protocol server.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from aws.seed import put_account
from local_cloud.invariants import check_orders, check_payments, check_stock
from local_cloud.loop import CrossCloudLoop, LoopOptions
from local_cloud.processes import REPO_ROOT, DevhostProcess, free_port
from orchestrators.saga_steps import ORDER_SAGA
from ordersaga import inventory_repository
from ordersaga.config import CosmosSettings
from ordersaga.cosmos_store import CosmosStore
from tests.e2e.conftest import FAST_SAGA

pytestmark = pytest.mark.integration

CREDIT = {"c-1": "500.00"}


HostProcess = DevhostProcess  # the app on devhost in its own process (local_cloud.processes)


STEPS = [s.activity for s in ORDER_SAGA]
UNDOS = {s.undo: f"undo:{s.name}" for s in ORDER_SAGA if s.undo}


@pytest.fixture
async def loop_and_env(cosmos_settings: CosmosSettings, tmp_path: Path,
                       request: pytest.FixtureRequest) -> AsyncIterator[tuple[Any, ...]]:
    port = free_port()
    cloud = await CrossCloudLoop(LoopOptions(
        app_webhook_url=f"http://127.0.0.1:{port}/runtime/webhooks/eventgrid?functionName=aws_events",
        retry_schedule_seconds=(0.2, 0.5, 1, 2, 5, 10), relay_interval=0.02)).start()
    try:
        for customer, credit in CREDIT.items():
            await asyncio.to_thread(put_account, cloud.backend, customer, credit)
        # The activity under test takes 1.5 s: the window in which the host is killed.
        env = dict(os.environ) | cloud.app_settings() | FAST_SAGA | {
            "DEVHOST_FAULTS": json.dumps({"activities": {request.param: {"delay_s": 1.5}}}),
            "PYTHONPATH": str(REPO_ROOT)}
        yield cloud, env, port, tmp_path / "devhost.sqlite"
    finally:
        await cloud.stop()


async def view(http: aiohttp.ClientSession, base: str, order_id: str) -> dict[str, Any]:
    async with http.get(f"{base}/api/orders/{order_id}") as response:
        assert response.status == 200
        return dict(await response.json())


async def until(http: aiohttp.ClientSession, base: str, order_id: str, done: Any, timeout: float = 60) -> dict:
    for _ in range(int(timeout / 0.05)):
        current = await view(http, base, order_id)
        if done(current):
            return current
        await asyncio.sleep(0.05)
    raise AssertionError(f"{order_id}: not reached; last {current['status']} {current['saga']}")


@pytest.mark.parametrize("loop_and_env", STEPS + list(UNDOS), indirect=True)
async def test_a_saga_killed_mid_step_resumes_and_ends_consistently(
    loop_and_env: tuple[Any, ...], cosmos_settings: CosmosSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    cloud, env, port, store_file = loop_and_env
    activity = json.loads(env["DEVHOST_FAULTS"])["activities"].popitem()[0]
    is_undo = activity in UNDOS
    current = UNDOS[activity] if is_undo else next(s.name for s in ORDER_SAGA if s.activity == activity)
    # An undo runs in a declined saga (c-1 cannot pay 3 × 400); a step in a paid one.
    price = "400.00" if is_undo else "20.00"
    host = await HostProcess(port, store_file, env).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.put(f"{host.base}/api/inventory/SKU-1", json={"available": 10}) as r:
                assert r.status == 200
            order = {"customerId": "c-1", "currency": "EUR",
                     "items": [{"sku": "SKU-1", "quantity": 3, "unitPrice": price}]}
            async with http.post(f"{host.base}/api/orders", json=order) as r:
                assert r.status == 202
                order_id = (await r.json())["orderId"]
            await until(http, host.base, order_id, lambda v: v["saga"]["currentStep"] == current)
            await host.kill()  # mid-activity: whatever the earlier steps did is on both clouds

            host = await HostProcess(port, store_file, env).start()
            final = await until(http, host.base, order_id, lambda v: v["saga"]["runtimeStatus"] == "Completed")
            final = await until(http, host.base, order_id, lambda v: v.get("payment") is not None)
    finally:
        await host.stop()

    assert final["status"] == ("CANCELLED" if is_undo else "COMPLETED"), final["saga"]
    store = await CosmosStore.open(cosmos_settings)
    try:
        sku = await inventory_repository.read_stock(store, "SKU-1")
    finally:
        await store.close()
    assert sku is not None
    problems = [check_orders([final]), check_stock({"SKU-1": sku}, {"SKU-1": 10}, {order_id}),
                await asyncio.to_thread(check_payments, cloud.backend, [final],
                                        {c: Decimal(v) for c, v in CREDIT.items()})]
    assert not any(problems), "\n".join(str(p) for p in problems if p)
    with capsys.disabled():
        print(f"\n[chaos] host killed during {current} ({activity}), restarted: {final['status']}, invariants hold")
