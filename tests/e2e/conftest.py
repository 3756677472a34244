"""End-to-end fixtures: the app on devhost (the local stand-in for the Functions host and the
Durable extension), in this test's event loop, over real HTTP, against a real Cosmos server.

Activities run for real; a test may swap an activity's body (`activity_overrides`) to play
another system (the AWS payment service) or to inject a failure, while encoding, retries and
the failure text stay exactly as the host makes them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from aws.seed import put_account
from devhost import DevHost
from devhost.worker_loop import on_worker_loop
from local_cloud.invariants import check_orders, check_payments, check_stock
from local_cloud.loop import CrossCloudLoop, LoopOptions
from local_cloud.processes import free_port
from ordersaga import cosmos_store, event_publisher, inventory_repository
from ordersaga.config import CosmosSettings

REPO_ROOT = Path(__file__).resolve().parents[2]

# Saga timings for tests: real code paths, short waits.
FAST_SAGA = {
    "SAGA_STEP_RETRY_INTERVAL_MS": "100",
    "SAGA_STEP_MAX_ATTEMPTS": "3",
    "SAGA_STEP_TIMEOUT_SECONDS": "30",
    "SAGA_UNDO_RETRY_INTERVAL_MS": "100",
    "SAGA_UNDO_MAX_INTERVAL_MS": "400",
    "SAGA_UNDO_DEADLINE_SECONDS": "2",
    "SAGA_FORWARD_RETRY_INTERVAL_MS": "100",
    "SAGA_FORWARD_MAX_INTERVAL_MS": "400",
    "SAGA_FORWARD_DEADLINE_SECONDS": "30",
    "PAYMENT_REPLY_TIMEOUT_SECONDS": "30",
}


class AppClient:
    """The app's HTTP API as a client would call it, with the function and admin keys."""

    def __init__(self, host: DevHost, http: aiohttp.ClientSession, function_key: str, master_key: str) -> None:
        self.host, self.http = host, http
        self.base = host.base_url
        self.function_key, self.master_key = function_key, master_key

    async def call(self, method: str, path: str, *, admin: bool = False, **kwargs: Any) -> tuple[int, Any, Any]:
        headers = {"x-functions-key": self.master_key if admin else self.function_key} | kwargs.pop("headers", {})
        async with self.http.request(method, f"{self.base}{path}", headers=headers, **kwargs) as response:
            text = await response.text()
            try:
                body = await response.json(content_type=None) if text else None
            except ValueError:
                body = text
            return response.status, body, response.headers

    async def stock(self, sku: str, available: int) -> None:
        status, body, _ = await self.call("PUT", f"/api/inventory/{sku}", admin=True, json={"available": available})
        assert status == 200, body

    async def inventory(self, sku: str) -> dict[str, Any]:
        status, body, _ = await self.call("GET", f"/api/inventory/{sku}", admin=True)
        assert status == 200, body
        return body

    async def order(self, order_id: str) -> dict[str, Any]:
        status, body, _ = await self.call("GET", f"/api/orders/{order_id}")
        assert status == 200, body
        return body

    async def place(self, *lines: tuple[str, int], customer: str = "c-1", price: str = "10.00",
                    **headers: str) -> str:
        body = {"customerId": customer, "currency": "EUR",
                "items": [{"sku": sku, "quantity": qty, "unitPrice": price} for sku, qty in lines]}
        status, answer, _ = await self.call("POST", "/api/orders", json=body, headers=headers)
        assert status == 202, answer
        return str(answer["orderId"])

    async def finished(self, order_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait for the orchestration to end, then return the app's view of the order."""
        await self.host.wait_for_completion(order_id, timeout=timeout)
        return await self.order(order_id)


StartApp = Callable[..., Awaitable[AppClient]]


@dataclass(frozen=True)
class AppKeys:
    function: str
    master: str  # also the system key (Event Grid webhook) on devhost


@pytest.fixture
def app_keys() -> AppKeys:
    return AppKeys(secrets.token_urlsafe(16), secrets.token_urlsafe(16))


@pytest.fixture
async def start_app(cosmos_settings: CosmosSettings, app_keys: AppKeys) -> AsyncIterator[StartApp]:
    """Start the app on devhost with this test's Cosmos database; stopped after the test."""
    started: list[tuple[DevHost, aiohttp.ClientSession]] = []
    function_key, master_key = app_keys.function, app_keys.master
    # devhost applies its settings to os.environ, as the worker process would; a test is not
    # a process, so put the environment back afterwards for the tests that follow.
    environment_before = dict(os.environ)

    async def start(activity_overrides: dict[str, Any] | None = None, port: int = 0, **settings: str) -> AppClient:
        host = DevHost(
            app_dir=str(REPO_ROOT), module="function_app", port=port, store=":memory:",
            settings={"DEVHOST_FUNCTION_KEY": function_key, "DEVHOST_MASTER_KEY": master_key,
                      "DEVHOST_SYSTEM_KEY": master_key,
                      "DEVHOST_DISABLE_TIMERS": "1", "EVENTGRID_TOPIC_ENDPOINT": "http://127.0.0.1:9/unused",
                      "EVENTGRID_TOPIC_KEY": "unused"} | FAST_SAGA | settings,
            activity_overrides=activity_overrides or {},
        )
        await host.start()
        http = aiohttp.ClientSession()
        started.append((host, http))
        return AppClient(host, http, function_key, master_key)

    yield start
    for host, http in started:
        await http.close()
        await host.stop()
    # The app's Cosmos client lives on devhost's worker loop, which outlives this test; the
    # next test has a database of its own.
    await on_worker_loop(cosmos_store.close_stores)
    await on_worker_loop(event_publisher.close_publishers)
    os.environ.clear()
    os.environ.update(environment_before)


async def on_app_loop_store() -> cosmos_store.CosmosStore:
    """The store the app's activities use (it lives on devhost's worker loop)."""
    return await on_worker_loop(cosmos_store.get_store)


# -- both clouds: the app on devhost + the local cross-cloud loop ---------------------------

CUSTOMERS = {"c-rich": Decimal("100000.00"), "c-low": Decimal("10.00")}


@dataclass
class Clouds:
    app: AppClient
    aws: CrossCloudLoop
    stocked: dict[str, int]

    @property
    def backend(self) -> Any:
        assert self.aws.backend is not None
        return self.aws.backend

    async def stock(self, sku: str, units: int) -> None:
        await self.app.stock(sku, units)
        self.stocked[sku] = units

    async def views(self, order_ids: list[str]) -> list[dict[str, Any]]:
        return [await self.app.order(order_id) for order_id in order_ids]

    async def assert_invariants(self, order_ids: list[str]) -> list[dict[str, Any]]:
        views = await self.views(order_ids)
        store = await on_app_loop_store()
        docs = {sku: await on_worker_loop(inventory_repository.read_stock, store, sku) for sku in self.stocked}
        terminal = {v["orderId"] for v in views if v["status"] in ("COMPLETED", "CANCELLED")}
        problems = [check_orders(views), check_stock(docs, self.stocked, terminal),
                    await self._settled_payments(views)]
        assert not any(problems), "\n".join(str(p) for p in problems if p)
        return views

    async def _settled_payments(self, views: list[dict[str, Any]], within_s: float = 30.0) -> Any:
        """AWS's side of the payments once it has caught up. The saga completes when the
        capture is published, not when AWS has applied it, so a payment may still be pending
        on AWS for a moment (longer on a loaded machine); only what is still wrong after
        `within_s` counts."""
        deadline = asyncio.get_running_loop().time() + within_s
        while True:
            problems = await asyncio.to_thread(check_payments, self.backend, views, CUSTOMERS)
            if not problems or asyncio.get_running_loop().time() > deadline:
                return problems
            await asyncio.sleep(0.5)


MakeClouds = Any


@pytest.fixture
async def make_clouds(start_app: StartApp, app_keys: AppKeys) -> AsyncIterator[MakeClouds]:
    """`clouds = await make_clouds(**app settings)`: both clouds up, demo customers on AWS."""
    started: list[CrossCloudLoop] = []

    async def make(**settings: str) -> Clouds:
        # The webhook URL needs the app's port and key, the app needs the topic's endpoint and
        # key: fix the port first, start the AWS side and Event Grid, then the app.
        app_port = free_port()
        webhook = (f"http://127.0.0.1:{app_port}/runtime/webhooks/eventgrid"
                   f"?functionName=aws_events&code={app_keys.master}")
        loop = CrossCloudLoop(LoopOptions(app_webhook_url=webhook, retry_schedule_seconds=(0.2, 0.5, 1, 2),
                                          relay_interval=0.02))
        started.append(loop)
        await loop.start()
        for customer, amount in CUSTOMERS.items():
            await asyncio.to_thread(put_account, loop.backend, customer, amount)
        app = await start_app(port=app_port, **(loop.app_settings() | settings))
        return Clouds(app, loop, {})

    yield make
    for loop in started:
        await loop.stop()
