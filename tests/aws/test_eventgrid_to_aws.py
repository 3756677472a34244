"""The local Event Grid service (eventgrid_local) delivering to the AWS adapter over HTTP, in
both topic schemas, with Entra authentication as in Azure (the service's tenant mints the
tokens, the adapter checks them): handshakes pass, requests take effect, poison is acknowledged
(delivered at the first attempt, not dead-lettered)."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from aws.seed import put_account
from aws.settings import Backend
from eventgrid_local.config import CLOUD_EVENTS, EVENT_GRID, ServiceConfig
from eventgrid_local.server import EventGridService
from tests.aws.support import azure_event, credit, start_authenticated_adapter

KEY = secrets.token_urlsafe(24)


AUDIENCE = "api://ordersaga-payments-webhook"


@pytest.fixture
async def grid(backend: Backend) -> AsyncIterator[EventGridService]:
    runner, endpoint, grid_port = await start_authenticated_adapter(backend, AUDIENCE)
    service = EventGridService(ServiceConfig.from_dict({
        "retryScheduleSeconds": [0.2],
        "topics": {
            name: {"key": KEY, "inputSchema": schema,
                   "subscriptions": [{"name": "aws-payments", "endpoint": endpoint, "validation": "handshake",
                                      "entra": {"audience": AUDIENCE}}]}
            for name, schema in (("to-aws-ce", CLOUD_EVENTS), ("to-aws-eg", EVENT_GRID))
        },
    }))
    await service.start(port=grid_port)
    try:
        yield service
    finally:
        await service.stop()
        await runner.cleanup()


async def publish(service: EventGridService, topic: str, events: list[dict[str, Any]]) -> None:
    content_type = "application/cloudevents-batch+json; charset=utf-8" if topic == "to-aws-ce" else "application/json"
    async with aiohttp.ClientSession() as http, http.post(
            service.topic_endpoint(topic), params={"api-version": "2018-01-01"}, data=json.dumps(events),
            headers={"aeg-sas-key": KEY, "Content-Type": content_type}) as answer:
        assert answer.status == 200, await answer.text()


async def settled(service: EventGridService, topic: str, delivered: int, timeout: float = 5.0) -> None:
    stats = service.workers[(topic, "aws-payments")].stats
    deadline = asyncio.get_running_loop().time() + timeout
    while stats.delivered + stats.dead_lettered < delivered:
        assert asyncio.get_running_loop().time() < deadline, f"{topic}: {stats}"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("topic", ["to-aws-ce", "to-aws-eg"])
async def test_event_grid_delivers_reservations_and_poison_to_the_adapter(
        grid: EventGridService, backend: Backend, topic: str) -> None:
    put_account(backend, "c-1", "100")
    cloud = azure_event("PaymentReservationRequested", "s1", amount="25")
    good = cloud.to_cloudevent() if topic == "to-aws-ce" else {
        "id": cloud.id, "subject": cloud.subject, "eventType": cloud.type, "eventTime": cloud.time,
        "data": cloud.data, "dataVersion": "1"}
    bad = dict(good, id="bad-1", data={"orderId": "o-x", "sagaId": "x", "amount": "lots"})

    await publish(grid, topic, [good, bad, good])  # the good one twice: at-least-once

    await settled(grid, topic, delivered=3)
    stats = grid.workers[(topic, "aws-payments")].stats
    assert stats.validated and (stats.delivered, stats.dead_lettered, stats.attempts) == (3, 0, 3)
    assert credit(backend, "c-1") == Decimal("75")
