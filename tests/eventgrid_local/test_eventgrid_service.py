"""The local Event Grid service, driven by the real azure-eventgrid publisher client, with a
real webhook receiver and Azurite as the dead-letter destination."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridEvent
from azure.eventgrid.aio import EventGridPublisherClient

from eventgrid_local.config import CLOUD_EVENTS, EVENT_GRID, ServiceConfig
from eventgrid_local.server import EventGridService
from eventgrid_local.token_issuer import EVENT_GRID_APP_ID, EVENT_GRID_ROLE
from tests.support.servers import Azurite, free_port

pytestmark = pytest.mark.integration


class Receiver:
    """A webhook that records what it gets and answers with scripted statuses."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], Any]] = []
        self.statuses: list[int] = []
        self.validations = 0
        self.validation_headers: list[dict[str, str]] = []
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        if request.method == "OPTIONS":
            self.validations += 1
            self.validation_headers.append(dict(request.headers))
            return web.Response(headers={"WebHook-Allowed-Origin": request.headers["WebHook-Request-Origin"]})
        body = await request.json()
        if request.headers.get("aeg-event-type") == "SubscriptionValidation":
            self.validations += 1
            self.validation_headers.append(dict(request.headers))
            return web.json_response({"validationResponse": body[0]["data"]["validationCode"]})
        self.received.append((dict(request.headers), body))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = await Receiver().start()
    yield hook
    await hook.stop()


Started = Callable[..., Any]


@pytest.fixture
async def start_service(azurite: Azurite) -> AsyncIterator[Started]:
    services: list[EventGridService] = []

    async def start(schema: str, endpoint: str, **subscription: Any) -> tuple[EventGridService, str]:
        key = secrets.token_urlsafe(24)
        config = ServiceConfig.from_dict({
            "retryScheduleSeconds": [0.05, 0.05, 0.1],
            "deadLetter": {"connectionString": azurite.connection_string,
                           "container": f"dl-{secrets.token_hex(4)}"},
            "topics": {"orders": {"key": key, "inputSchema": schema,
                                  "subscriptions": [{"name": "app", "endpoint": endpoint} | subscription]}},
        })
        service = EventGridService(config)
        await service.start()
        services.append(service)
        return service, key

    yield start
    for service in services:
        await service.stop()


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def cloud_event(n: int = 1, **extra: Any) -> CloudEvent:
    return CloudEvent(source="/test", type="PaymentReserved", data={"orderId": f"o-{n}"}, id=f"e-{n}", **extra)


async def test_cloudevents_are_delivered_after_the_webhook_handshake(start_service: Started,
                                                                     receiver: Receiver) -> None:
    service, key = await start_service(CLOUD_EVENTS, receiver.url)
    async with EventGridPublisherClient(service.topic_endpoint("orders"), AzureKeyCredential(key)) as client:
        await client.send([cloud_event(1), cloud_event(2)])
    await eventually(lambda: len(receiver.received) == 2)
    assert receiver.validations >= 1
    headers, body = receiver.received[0]
    assert headers["aeg-event-type"] == "Notification"
    assert headers["Content-Type"].startswith("application/cloudevents+json")
    assert body["specversion"] == "1.0" and body["id"] == "e-1" and body["data"] == {"orderId": "o-1"}


async def test_event_grid_schema_is_delivered_as_an_array(start_service: Started, receiver: Receiver) -> None:
    service, key = await start_service(EVENT_GRID, receiver.url)
    event = EventGridEvent(subject="orders/o-1", event_type="PaymentReserved", data={"orderId": "o-1"},
                           data_version="1.0")
    async with EventGridPublisherClient(service.topic_endpoint("orders"), AzureKeyCredential(key)) as client:
        await client.send([event])
    await eventually(lambda: len(receiver.received) == 1)
    _, body = receiver.received[0]
    assert isinstance(body, list) and body[0]["eventType"] == "PaymentReserved"


async def test_a_wrong_key_is_refused(start_service: Started, receiver: Receiver) -> None:
    service, _ = await start_service(CLOUD_EVENTS, receiver.url)
    async with EventGridPublisherClient(service.topic_endpoint("orders"), AzureKeyCredential("wrong")) as client:
        with pytest.raises(HttpResponseError) as caught:
            await client.send([cloud_event()])
    assert caught.value.status_code == 401


async def test_size_and_schema_limits_are_enforced(start_service: Started, receiver: Receiver) -> None:
    service, key = await start_service(CLOUD_EVENTS, receiver.url)
    url = service.topic_endpoint("orders")
    async with aiohttp.ClientSession(headers={"aeg-sas-key": key}) as http:
        huge = {"specversion": "1.0", "id": "x", "source": "/t", "type": "T", "data": "x" * (1024 * 1024)}
        async with http.post(url, json=[huge], headers={"Content-Type": "application/cloudevents-batch+json"}) as r:
            assert r.status == 413
        async with http.post(url, json=[{"id": "x", "type": "T"}],
                             headers={"Content-Type": "application/cloudevents-batch+json"}) as r:
            assert r.status == 400 and "source" in (await r.json())["error"]["message"]
        batch = {"Content-Type": "application/cloudevents-batch+json"}
        async with http.post(url, data=b"{not json", headers=batch) as r:
            assert r.status == 400
        async with http.post(url, data=b"[" * 100_000 + b"]" * 100_000, headers=batch) as r:  # deeper than the parser
            assert r.status == 400


async def test_failures_are_retried_on_the_schedule(start_service: Started, receiver: Receiver) -> None:
    receiver.statuses = [503, 500]
    service, key = await start_service(CLOUD_EVENTS, receiver.url)
    async with EventGridPublisherClient(service.topic_endpoint("orders"), AzureKeyCredential(key)) as client:
        await client.send([cloud_event()])
    worker = service.workers[("orders", "app")]
    await eventually(lambda: worker.stats.delivered == 1)
    assert worker.stats.attempts == 3
    assert [h["aeg-delivery-count"] for h, _ in receiver.received] == ["0", "1", "2"]


@pytest.mark.parametrize(("statuses", "attempts", "reason"), [
    ([400], 1, "NonRetriableHttpStatus"),
    ([500, 500, 500], 3, "MaxDeliveryAttemptsExceeded"),
])
async def test_undeliverable_events_are_dead_lettered_to_blob_storage(
    start_service: Started, receiver: Receiver, statuses: list[int], attempts: int, reason: str
) -> None:
    receiver.statuses = list(statuses)
    service, key = await start_service(CLOUD_EVENTS, receiver.url, maxDeliveryAttempts=3)
    async with EventGridPublisherClient(service.topic_endpoint("orders"), AzureKeyCredential(key)) as client:
        await client.send([cloud_event(7)])
    worker = service.workers[("orders", "app")]
    await eventually(lambda: worker.stats.dead_lettered == 1)
    assert service.dead_letters is not None
    records = await service.dead_letters.read_all()
    assert len(records) == 1
    assert records[0]["id"] == "e-7" and records[0]["deadLetterReason"] == reason
    assert records[0]["deliveryAttempts"] == attempts and records[0]["lastHttpStatusCode"] == statuses[-1]


async def test_events_published_before_the_endpoint_exists_wait_for_it(start_service: Started) -> None:
    late = Receiver()
    port = free_port()
    service, key = await start_service(CLOUD_EVENTS, f"http://127.0.0.1:{port}/hook")
    async with EventGridPublisherClient(service.topic_endpoint("orders"), AzureKeyCredential(key)) as client:
        await client.send([cloud_event(3)])
    await asyncio.sleep(0.2)
    app = web.Application()
    app.router.add_route("*", "/hook", late._handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await eventually(lambda: len(late.received) == 1, timeout=15)
        assert late.received[0][1]["id"] == "e-3"
    finally:
        await runner.cleanup()


# -- webhook delivery with Entra authentication -------------------------------------------------

AUDIENCE = "api://ordersaga-test-webhook"


@pytest.mark.parametrize("schema", [CLOUD_EVENTS, EVENT_GRID])
async def test_entra_deliveries_carry_fresh_tokens_the_tenants_published_keys_verify(
    start_service: Started, receiver: Receiver, schema: str
) -> None:
    service, key = await start_service(schema, receiver.url, entra={"audience": AUDIENCE})
    assert service.token_issuer is not None
    events: list[Any] = [cloud_event(1), cloud_event(2)] if schema == CLOUD_EVENTS else [
        EventGridEvent(subject=f"orders/o-{n}", event_type="PaymentReserved", data={}, data_version="1")
        for n in (1, 2)]
    async with EventGridPublisherClient(service.topic_endpoint("orders"), AzureKeyCredential(key)) as client:
        await client.send(events)
    await eventually(lambda: len(receiver.received) == 2)

    async with aiohttp.ClientSession() as http:  # discovery and keys over HTTP, where Entra serves them
        async with http.get(f"http://127.0.0.1:{service.port}/{service.token_issuer.tenant}"
                            "/v2.0/.well-known/openid-configuration") as answer:
            discovery = await answer.json()
        async with http.get(discovery["jwks_uri"]) as answer:
            keys = {key.key_id: key for key in jwt.PyJWKSet.from_dict(await answer.json()).keys}
    assert discovery["issuer"] == service.token_issuer.issuer
    tokens = [headers["Authorization"].removeprefix("Bearer ")
              for headers in receiver.validation_headers + [h for h, _ in receiver.received]]
    assert len(tokens) == 3 and len(set(tokens)) == 3, "the handshake and each delivery carry their own token"
    for token in tokens:
        assert jwt.get_unverified_header(token)["alg"] == "RS256"
        public = keys[jwt.get_unverified_header(token)["kid"]].key
        claims = jwt.decode(token, public, algorithms=["RS256"], audience=AUDIENCE, issuer=discovery["issuer"])
        assert claims["azp"] == EVENT_GRID_APP_ID and claims["roles"] == [EVENT_GRID_ROLE]
        assert claims["exp"] - claims["iat"] == 300, "short-lived"
        with pytest.raises(jwt.InvalidAudienceError):
            jwt.decode(token, public, algorithms=["RS256"], audience="api://other")


async def test_without_entra_no_token_is_sent(start_service: Started, receiver: Receiver) -> None:
    service, key = await start_service(CLOUD_EVENTS, receiver.url)
    async with EventGridPublisherClient(service.topic_endpoint("orders"), AzureKeyCredential(key)) as client:
        await client.send([cloud_event(1)])
    await eventually(lambda: len(receiver.received) == 1)
    assert all("Authorization" not in headers for headers in receiver.validation_headers)
    assert "Authorization" not in receiver.received[0][0]


@pytest.mark.parametrize("entra", [{}, {"audience": " "}, {"audience": AUDIENCE, "roles": "Admin"},
                                   {"audience": AUDIENCE, "tokenLifetimeSeconds": 5}, "api://x"])
def test_a_malformed_entra_setting_is_refused_at_start(entra: Any) -> None:
    with pytest.raises(ValueError, match="entra"):
        ServiceConfig.from_dict({"topics": {"t": {"key": "k", "subscriptions": [
            {"name": "s", "endpoint": "http://127.0.0.1:1/hook", "entra": entra}]}}})
