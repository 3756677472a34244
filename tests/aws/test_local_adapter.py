"""The local API Gateway adapter over real HTTP: the Event Grid handshakes, deliveries in
both schemas, 5xx only for transient failures — and the CLI end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from aws.entra_auth import NoTokenCheck
from aws.local_adapter import create_app
from aws.seed import put_account
from aws.settings import Backend
from ordersaga.events import INBOUND_FROM_AWS, normalise
from tests.aws.support import azure_event, credit, outbox_types, reservation
from tests.aws.tenant import AUDIENCE, TestTenant
from tests.aws.test_relay import receive_all
from tests.support.servers import REPO_ROOT, free_port, wait_for_port


async def serve(backend: Backend) -> tuple[web.AppRunner, str]:
    # The webhook contract on its own; who may post is tests/aws/test_entra_auth.py's subject.
    runner = web.AppRunner(create_app(backend, auth=NoTokenCheck("tests of the webhook contract")))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/events"


@pytest.fixture
async def adapter(backend: Backend) -> AsyncIterator[str]:
    runner, url = await serve(backend)
    try:
        yield url
    finally:
        await runner.cleanup()


async def test_cloudevents_abuse_protection_handshake(adapter: str) -> None:
    async with aiohttp.ClientSession() as http, http.options(
            adapter, headers={"WebHook-Request-Origin": "eventgrid.azure.net"}) as answer:
        assert answer.status == 200
        assert answer.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


async def test_event_grid_subscription_validation_handshake(adapter: str) -> None:
    validation = [{"id": "v1", "topic": "t", "subject": "",
                   "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "eventTime": "2026-01-01T00:00:00Z",
                   "data": {"validationCode": "code-123"}, "dataVersion": "2"}]
    async with aiohttp.ClientSession() as http, http.post(
            adapter, json=validation, headers={"aeg-event-type": "SubscriptionValidation"}) as answer:
        assert answer.status == 200
        assert await answer.json() == {"validationResponse": "code-123"}


async def test_a_cloudevent_reservation_is_handled_over_http(adapter: str, backend: Backend) -> None:
    put_account(backend, "c-1", "100")
    # The local Event Grid service delivers CloudEvents one per request in structured mode.
    async with aiohttp.ClientSession() as http, http.post(
            adapter, data=json.dumps(reservation("s1", amount="25")),
            headers={"aeg-event-type": "Notification",
                     "Content-Type": "application/cloudevents+json; charset=utf-8"}) as answer:
        assert answer.status == 200
        assert (await answer.json())["results"][0]["outcome"] == "applied"
    assert credit(backend, "c-1") == Decimal("75")
    assert outbox_types(backend) == ["PaymentReserved"]


async def test_an_event_grid_schema_batch_is_handled_over_http(adapter: str, backend: Backend) -> None:
    put_account(backend, "c-1", "100")
    events = []
    for saga in ("s1", "s2"):
        cloud = azure_event("PaymentReservationRequested", saga, amount="10")
        events.append({"id": cloud.id, "topic": "/local/topics/to-aws", "subject": cloud.subject,
                       "eventType": cloud.type, "eventTime": cloud.time, "data": cloud.data, "dataVersion": "1"})
    async with aiohttp.ClientSession() as http, http.post(
            adapter, json=events, headers={"aeg-event-type": "Notification"}) as answer:
        assert answer.status == 200
        assert [r["outcome"] for r in (await answer.json())["results"]] == ["applied", "applied"]
    assert credit(backend, "c-1") == Decimal("80")


async def test_poison_is_answered_200_so_event_grid_does_not_retry(adapter: str) -> None:
    async with aiohttp.ClientSession() as http, http.post(adapter, data=b"<xml/>") as answer:
        assert answer.status == 200
        assert (await answer.json())["results"][0]["outcome"] == "poison"


async def test_a_transient_failure_is_answered_5xx_so_event_grid_retries(backend: Backend) -> None:
    dead_port = free_port()  # nothing listens there: DynamoDB is "down"
    down = Backend.connect(replace(backend.settings, dynamodb_endpoint=f"http://127.0.0.1:{dead_port}"))
    runner, url = await serve(down)
    try:
        async with aiohttp.ClientSession() as http, http.post(url, json=[reservation("s1")]) as answer:
            assert answer.status == 503
            assert (await answer.json())["results"][0]["outcome"] == "error"
    finally:
        await runner.cleanup()


def test_cli_runs_the_adapter_with_relay_and_forward_queue_end_to_end(
    moto_endpoint: str, sqs: Any, tenant: TestTenant
) -> None:
    """`python -m aws.local_adapter` with its own tables, seed data, relay and SQS forward queue,
    checking tokens against a tenant given by flags: a reservation POSTed over HTTP without a token
    is refused; with the tenant's token it comes out of the queue as PaymentReserved."""
    import urllib.error
    import urllib.request

    port, prefix, queue_name = free_port(), f"cli{uuid.uuid4().hex[:8]}-", f"fwd-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [sys.executable, "-m", "aws.local_adapter", "--port", str(port), "--dynamodb-endpoint", moto_endpoint,
         "--region", "us-east-1", "--table-prefix", prefix, "--event-bus", f"bus-{prefix}", "--create-tables",
         "--seed", "--relay-interval", "0.1", "--forward-queue", queue_name,
         "--entra-issuer", tenant.issuer.issuer, "--entra-audience", AUDIENCE,
         "--entra-jwks-url", tenant.issuer.jwks_url],
        cwd=Path(REPO_ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_without_webhook_settings())
    try:
        wait_for_port(port, timeout=20, process=process)
        request = reservation("cli-1", customer="c-1", amount="39.98")

        def post(headers: dict[str, str]) -> Any:
            return urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{port}/events", data=json.dumps([request]).encode(),
                headers={"Content-Type": "application/json"} | headers, method="POST"), timeout=10)

        with pytest.raises(urllib.error.HTTPError) as refused:
            post({})
        assert refused.value.code == 401
        with post({"Authorization": f"Bearer {tenant.token()}"}) as answer:
            assert answer.status == 200
            assert json.loads(answer.read())["results"][0]["outcome"] == "applied"
        queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        [envelope] = receive_all(sqs, queue_url, expected=1, timeout=10)
        reply = normalise(envelope, INBOUND_FROM_AWS)
        assert (reply.type, reply.data["sagaId"], reply.data["amount"]) == ("PaymentReserved", "cli-1", "39.98")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert b"Traceback" not in stderr, stderr.decode()[-2000:]


def test_cli_will_not_start_without_a_token_check_unless_told_to(moto_endpoint: str) -> None:
    base = [sys.executable, "-m", "aws.local_adapter", "--port", str(free_port()),
            "--dynamodb-endpoint", moto_endpoint]
    refused = subprocess.run(base, cwd=Path(REPO_ROOT), capture_output=True, timeout=60, check=False,
                             env=_without_webhook_settings())
    assert refused.returncode == 2, refused.stderr.decode()[-2000:]
    assert b"--no-auth" in refused.stderr and b"audience" in refused.stderr


def _without_webhook_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("WEBHOOK_", "ENTRA_"))}
