"""The cross-cloud loop without the function app: events published to the AWS-bound topic
reach the AWS handlers, and their replies come back through EventBridge → SQS → forwarder
→ the Azure-bound topic → the app's webhook (played here by a recording receiver)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from azure.core.credentials import AzureKeyCredential
from azure.eventgrid.aio import EventGridPublisherClient

from aws.seed import put_account
from local_cloud.loop import CrossCloudLoop, LoopOptions
from ordersaga.event_publisher import to_cloud_event
from ordersaga.events import AZURE_SOURCE, INBOUND_FROM_AWS, new_event, normalise
from tests.aws.support import credit
from tests.support.servers import REPO_ROOT

pytestmark = pytest.mark.integration


class AppWebhook:
    """Stands in for the app's Event Grid trigger endpoint and records what arrives."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> AppWebhook:
        app = web.Application()
        app.router.add_post("/runtime/webhooks/eventgrid", self._receive)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/runtime/webhooks/eventgrid?functionName=aws_events"
        return self

    async def _receive(self, request: web.Request) -> web.Response:
        assert request.headers["aeg-event-type"] == "Notification"
        body = await request.json()
        self.events.extend(body if isinstance(body, list) else [body])
        return web.Response(status=202)


@pytest.fixture
async def loop() -> AsyncIterator[tuple[CrossCloudLoop, AppWebhook]]:
    webhook = await AppWebhook().start()
    cloud = await CrossCloudLoop(LoopOptions(app_webhook_url=webhook.url, retry_schedule_seconds=(0.1, 0.2),
                                             relay_interval=0.05)).start()
    try:
        yield cloud, webhook
    finally:
        await cloud.stop()
        assert webhook.runner is not None
        await webhook.runner.cleanup()


async def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("not reached in time")
        await asyncio.sleep(0.05)


async def publish_to_aws(cloud: CrossCloudLoop, event_type: str, saga: str, amount: str, customer: str) -> str:
    event = new_event(event_type, AZURE_SOURCE, "reserve_payment",
                      {"orderId": saga, "sagaId": saga, "customerId": customer, "amount": amount, "currency": "EUR"},
                      traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    settings = cloud.app_settings()
    async with EventGridPublisherClient(settings["EVENTGRID_TOPIC_ENDPOINT"],
                                        AzureKeyCredential(settings["EVENTGRID_TOPIC_KEY"])) as client:
        await client.send([to_cloud_event(event)])
    return event.id


async def test_a_reservation_round_trip_comes_back_as_a_cloud_event(loop) -> None:
    cloud, webhook = loop
    assert cloud.backend is not None
    await asyncio.to_thread(put_account, cloud.backend, "c-1", "100.00")
    await publish_to_aws(cloud, "PaymentReservationRequested", "saga-1", "30.00", "c-1")
    await eventually(lambda: len(webhook.events) == 1)
    reply = normalise(webhook.events[0], INBOUND_FROM_AWS)
    assert reply.type == "PaymentReserved" and reply.order_id == "saga-1"
    assert Decimal(reply.data["amount"]) == Decimal("30.00")
    assert reply.subject == "orders/saga-1"
    assert reply.traceparent is not None and reply.traceparent.startswith("00-0af7651916cd43dd8448eb211c80319c")


async def test_a_declined_reservation_and_a_compensation_come_back_too(loop) -> None:
    cloud, webhook = loop
    assert cloud.backend is not None
    await asyncio.to_thread(put_account, cloud.backend, "c-low", "5.00")
    await publish_to_aws(cloud, "PaymentReservationRequested", "saga-2", "30.00", "c-low")
    await eventually(lambda: len(webhook.events) == 1)
    assert normalise(webhook.events[0], INBOUND_FROM_AWS).type == "PaymentDeclined"


async def test_the_forwarder_deletes_only_what_the_topic_accepted(loop) -> None:
    cloud, webhook = loop
    assert cloud.forwarder is not None
    sqs = cloud.forwarder._sqs
    queue_url = cloud.forwarder._queue_url
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"detail-type": "NoSuchEvent", "detail": {}}))
    await eventually(lambda: cloud.forwarder is not None and cloud.forwarder.stats.refused >= 1)
    assert webhook.events == []


async def test_the_loop_runs_authenticated_and_keeps_keys_and_tokens_out_of_the_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Deliveries to AWS carry the local tenant's tokens and a direct call without one is refused;
    in everything the loop logged at DEBUG there is no topic key, no bearer token, no Cosmos key."""
    caplog.set_level(logging.DEBUG)
    webhook = await AppWebhook().start()
    cloud = await CrossCloudLoop(LoopOptions(app_webhook_url=webhook.url, retry_schedule_seconds=(0.1, 0.2),
                                             relay_interval=0.05)).start()
    try:
        assert cloud.backend is not None and cloud.eventgrid is not None and cloud.eventgrid.token_issuer is not None
        await asyncio.to_thread(put_account, cloud.backend, "c-1", "100.00")
        forged = new_event("PaymentReservationRequested", AZURE_SOURCE, "reserve_payment",
                           {"orderId": "o-forged", "sagaId": "o-forged", "customerId": "c-1", "amount": "99.00",
                            "currency": "EUR"})
        async with aiohttp.ClientSession() as http, http.post(
                cloud.adapter_url, json=[forged.to_cloudevent()], headers={"aeg-event-type": "Notification"}) as answer:
            assert answer.status == 401

        await publish_to_aws(cloud, "PaymentReservationRequested", "saga-auth", "30.00", "c-1")
        await eventually(lambda: len(webhook.events) == 1)

        assert normalise(webhook.events[0], INBOUND_FROM_AWS).type == "PaymentReserved"
        assert cloud.eventgrid.token_issuer.minted >= 2  # the handshake and the delivery
        assert await asyncio.to_thread(credit, cloud.backend, "c-1") == Decimal("70.00")
        keys = {cloud.to_aws_key, cloud.to_azure_key}
    finally:
        await cloud.stop()
        assert webhook.runner is not None
        await webhook.runner.cleanup()
    cosmos_key = json.loads((REPO_ROOT / "local.settings.example.json").read_text())["Values"]["COSMOS_KEY"]
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert len(caplog.records) > 10, "nothing was logged: the check would prove nothing"
    assert not [k for k in keys if k in logged], "a topic key reached the logs"
    assert not re.search(r"eyJ[\w-]+\.[\w-]+\.|Bearer\s+ey", logged), "a bearer token reached the logs"
    assert cosmos_key not in logged
