"""Driving the app's inbound Event Grid trigger (`aws_events`) as Event Grid does, and reading
back what it left in Cosmos: shared by the inbound e2e tests and the hostile-input corpus.

- `deliver` POSTs to devhost's Event Grid webhook, the endpoint a subscription calls in Azure;
- `LocalEventGrid` runs the local Event Grid service in the test's loop with a topic whose
  subscription is that webhook (retries on the service's schedule, as Event Grid does) and a
  topic for the app's own publishes to AWS, whose deliveries land in a sink the test reads;
- `cosmos_snapshot` is every order and stock document with its `_etag`, to prove that input
  which must change nothing wrote nothing.
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

from aiohttp import web

from devhost.worker_loop import on_worker_loop
from eventgrid_local.config import ServiceConfig
from eventgrid_local.delivery import SubscriptionStats
from eventgrid_local.server import EventGridService
from ordersaga import inbox
from tests.e2e.conftest import AppClient, on_app_loop_store

CLOUDEVENTS = "application/cloudevents+json; charset=utf-8"


def cloud_event(event_type: Any, data: Any, event_id: Any = None, **extra: Any) -> dict[str, Any]:
    """A CloudEvent as the Azure-bound topic delivers it (the subject names the order)."""
    order = data.get("orderId") if isinstance(data, dict) else None
    return {"specversion": "1.0", "id": event_id if event_id is not None else uuid.uuid4().hex,
            "type": event_type, "source": "saga.payments", "subject": f"orders/{order}",
            "time": "2026-11-22T10:00:00Z", "datacontenttype": "application/json", "data": data} | extra


def payment_data(order_id: str, **changes: Any) -> dict[str, Any]:
    return {"orderId": order_id, "sagaId": order_id, "customerId": "c-1", "amount": "10.00",
            "currency": "EUR"} | changes


def webhook_url(base: str, key: str) -> str:
    return f"{base}/runtime/webhooks/eventgrid?functionName=aws_events&code={key}"


async def deliver(app: AppClient, body: Any, *, content_type: str = CLOUDEVENTS, key: str | None = None,
                  event_type_header: str | None = "Notification") -> tuple[int, str]:
    """One delivery to the app's Event Grid webhook; `body` is sent as is when it is bytes or
    str, as JSON otherwise. Returns (status, response text)."""
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    headers = {"Content-Type": content_type}
    if event_type_header is not None:
        headers["aeg-event-type"] = event_type_header
    async with app.http.post(webhook_url(app.base, app.master_key if key is None else key), data=data,
                             headers=headers) as response:
        return response.status, await response.text()


async def poison_records() -> list[dict[str, Any]]:
    return await on_worker_loop(inbox.poison_records, await on_app_loop_store())


async def inbox_records(event_id: str | None = None) -> list[dict[str, Any]]:
    store = await on_app_loop_store()
    if event_id is None:
        return await on_worker_loop(store.query, store.inbox, "SELECT * FROM c", [])
    return await on_worker_loop(store.query, store.inbox, "SELECT * FROM c WHERE c.id = @id",
                                [{"name": "@id", "value": event_id}])


async def order_doc(order_id: str) -> dict[str, Any] | None:
    store = await on_app_loop_store()
    return await on_worker_loop(store.read, store.orders, order_id)


async def cosmos_snapshot() -> dict[str, dict[str, dict[str, Any]]]:
    """{"orders": {id: doc}, "inventory": {id: doc}} with Cosmos' own `_etag`: any write shows."""
    store = await on_app_loop_store()
    snapshot: dict[str, dict[str, dict[str, Any]]] = {}
    for name, container in (("orders", store.orders), ("inventory", store.inventory)):
        docs = await on_worker_loop(store.query, container, "SELECT * FROM c", [])
        snapshot[name] = {doc["id"]: doc for doc in docs}
    return snapshot


class Sink:
    """A webhook that accepts whatever the `to-aws` topic delivers and keeps it."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> Sink:
        app = web.Application()
        app.router.add_post("/", self._receive)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"  # type: ignore[union-attr]
        return self

    async def _receive(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        self.events.extend(body if isinstance(body, list) else [body])
        return web.Response(status=200)

    def types(self) -> list[str]:
        return [str(e.get("type")) for e in self.events]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class LocalEventGrid:
    """The local Event Grid service with two topics: `to-azure` (subscription: the app's
    webhook, retried on a short schedule) and `to-aws` (the app publishes there; deliveries go
    to a sink). Keys are made up per test."""

    def __init__(self, app_port: int, system_key: str, retry_schedule: tuple[float, ...] = (0.2, 0.4, 0.8),
                 max_attempts: int = 10) -> None:
        self.to_azure_key, self.to_aws_key = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.app_port = app_port  # start the app there
        self.app_webhook = webhook_url(f"http://127.0.0.1:{app_port}", system_key)
        self.retry_schedule, self.max_attempts = retry_schedule, max_attempts
        self.sink = Sink()
        self.service: EventGridService | None = None

    async def start(self) -> LocalEventGrid:
        await self.sink.start()
        config = ServiceConfig.from_dict({
            "retryScheduleSeconds": list(self.retry_schedule),
            "topics": {
                "to-azure": {"key": self.to_azure_key, "inputSchema": "CloudEventSchemaV1_0",
                             "subscriptions": [{"name": "order-saga", "endpoint": self.app_webhook,
                                                "validation": "none", "maxDeliveryAttempts": self.max_attempts}]},
                "to-aws": {"key": self.to_aws_key, "inputSchema": "CloudEventSchemaV1_0",
                           "subscriptions": [{"name": "aws-payments", "endpoint": self.sink.url,
                                              "validation": "none"}]},
            },
        })
        self.service = EventGridService(config)
        await self.service.start()
        return self

    def app_settings(self) -> dict[str, str]:
        assert self.service is not None
        return {"EVENTGRID_TOPIC_ENDPOINT": self.service.topic_endpoint("to-aws"),
                "EVENTGRID_TOPIC_KEY": self.to_aws_key}

    @property
    def to_app(self) -> SubscriptionStats:
        assert self.service is not None
        return self.service.workers[("to-azure", "order-saga")].stats

    async def publish(self, app: AppClient, body: Any, content_type: str = CLOUDEVENTS) -> tuple[int, str]:
        """Publish to the `to-azure` topic as the forwarder (EventBridge's API destination) does."""
        assert self.service is not None
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        async with app.http.post(self.service.topic_endpoint("to-azure"), data=data,
                                 headers={"aeg-sas-key": self.to_azure_key, "Content-Type": content_type}) as answer:
            return answer.status, await answer.text()

    async def stop(self) -> None:
        if self.service is not None:
            await self.service.stop()
        await self.sink.stop()
