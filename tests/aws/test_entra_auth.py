"""Only the Azure side gets in. The AWS adapter (playing API Gateway's JWT authorizer; the webhook
Lambda runs the same check, tests/aws/test_lambda_entry.py) accepts a delivery only with an
Entra bearer token signed RS256 by a key of the tenant's key set, for the expected issuer and
audience, within its lifetime, issued to Event Grid and carrying its app role. Keys are the
test's own (tests/aws/tenant.py) or the local Event Grid service's tenant. Every refusal is a
401 JSON error and changes nothing in any DynamoDB table; keys that cannot be fetched are a
503 (Event Grid retries it, where a 401 would be dead-lettered at once)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from aws.entra_auth import AuthUnavailable, EntraTokenValidator, NoTokenCheck, webhook_auth_from
from aws.local_adapter import create_app
from aws.seed import put_account
from aws.settings import Backend, EntraSettings
from eventgrid_local.config import CLOUD_EVENTS, EVENT_GRID, ServiceConfig
from eventgrid_local.server import EventGridService
from eventgrid_local.token_issuer import local_issuer, local_jwks_url
from tests.aws.support import credit, reservation, scan
from tests.aws.tenant import AUDIENCE, TestTenant
from tests.support.servers import free_port

pytestmark = pytest.mark.integration


async def serve(backend: Backend, auth: Any) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(create_app(backend, auth=auth))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/events"


@pytest.fixture
async def adapter(backend: Backend, tenant: TestTenant) -> AsyncIterator[str]:
    runner, url = await serve(backend, EntraTokenValidator(tenant.settings()))
    try:
        yield url
    finally:
        await runner.cleanup()


def state(backend: Backend) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, for 'nothing changed' checks."""
    s = backend.settings
    return {table: sorted(scan(backend, table), key=lambda row: json.dumps(row, default=str, sort_keys=True))
            for table in (s.accounts, s.payments, s.outbox, s.inbox, s.poison)}


async def deliver(url: str, headers: list[tuple[str, str]], saga: str = "s-auth") -> tuple[int, Any]:
    sent = [("aeg-event-type", "Notification"), ("Content-Type", "application/cloudevents+json; charset=utf-8"),
            *headers]
    async with aiohttp.ClientSession() as http, http.post(
            url, data=json.dumps(reservation(saga, amount="25")), headers=sent) as answer:
        return answer.status, await answer.json(content_type=None)


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def other_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def hmac_signed(t: TestTenant, secret: bytes) -> str:
    """HS256 'signed' with a secret — the key-confusion attack uses the tenant's PUBLIC key as it."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": t.issuer.kid}).encode())
    payload = b64url(json.dumps(t.claims()).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def public_pem(t: TestTenant) -> bytes:
    public = RSAAlgorithm.from_jwk(json.dumps(t.issuer.jwks()["keys"][0]))
    assert isinstance(public, rsa.RSAPublicKey)
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def tampered(t: TestTenant) -> str:
    header, _, signature = t.token().split(".")
    return f"{header}.{b64url(json.dumps(t.claims(aud=AUDIENCE, roles=['Admin'])).encode())}.{signature}"


def now() -> int:
    return int(time.time())


REFUSED: dict[str, Callable[[TestTenant], list[tuple[str, str]]]] = {
    # the header
    "no Authorization header": lambda t: [],
    "another scheme": lambda t: [("Authorization", f"Basic {t.token()}")],
    "empty bearer": lambda t: [("Authorization", "Bearer ")],
    "bearer of words": lambda t: [("Authorization", "Bearer let me in")],
    "not a JWT": lambda t: bearer("not-a-jwt"),
    "three segments of junk": lambda t: bearer("not.a.jwt"),
    "two Authorization headers": lambda t: bearer(t.token()) + bearer(t.token()),
    "oversized token": lambda t: bearer("eyJhbGciOiJSUzI1NiJ9." + "A" * 8_100 + ".sig"),  # under HTTP header limits
    # the claims, signed with the tenant's own key
    "wrong issuer": lambda t: bearer(t.issuer.sign(t.claims(iss="https://login.microsoftonline.com/evil/v2.0"))),
    "wrong audience": lambda t: bearer(t.issuer.sign(t.claims(aud="api://another-app"))),
    "expired": lambda t: bearer(t.issuer.sign(t.claims(iat=now() - 7200, nbf=now() - 7200, exp=now() - 3600))),
    "not yet valid": lambda t: bearer(t.issuer.sign(t.claims(nbf=now() + 3600, exp=now() + 7200))),
    "no expiry": lambda t: bearer(t.issuer.sign(t.claims(exp=None))),
    "issued to another application of the tenant": lambda t: bearer(t.issuer.sign(
        t.claims(azp="11111111-2222-3333-4444-555555555555"))),
    "v1 token issued to another application": lambda t: bearer(t.issuer.sign(
        t.claims(azp=None, appid="11111111-2222-3333-4444-555555555555", ver="1.0"))),
    "without Event Grid's app role": lambda t: bearer(t.issuer.sign(t.claims(roles=None))),
    # the signature
    "signed by another key under the tenant's kid": lambda t: bearer(jwt.encode(
        t.claims(), other_key(), algorithm="RS256", headers={"kid": t.issuer.kid})),
    "unknown kid": lambda t: bearer(jwt.encode(t.claims(), other_key(), algorithm="RS256",
                                               headers={"kid": uuid.uuid4().hex})),
    "no kid": lambda t: bearer(jwt.encode(t.claims(), other_key(), algorithm="RS256")),
    "alg none": lambda t: bearer(jwt.encode(t.claims(), None, algorithm="none", headers={"kid": t.issuer.kid})),
    "HS256 with a shared secret": lambda t: bearer(hmac_signed(t, b"a-shared-secret-of-thirty-two-bytes!")),
    "HS256 with the tenant's public key as the secret": lambda t: bearer(hmac_signed(t, public_pem(t))),
    "payload swapped under a valid signature": lambda t: bearer(tampered(t)),
}


async def test_a_token_the_tenant_issued_to_event_grid_for_this_audience_gets_in(
    adapter: str, backend: Backend, tenant: TestTenant
) -> None:
    put_account(backend, "c-1", "100")
    status, body = await deliver(adapter, bearer(tenant.token()))
    assert status == 200 and body["results"][0]["outcome"] == "applied", body
    assert credit(backend, "c-1") == Decimal("75")


async def test_clock_skew_within_the_leeway_is_tolerated(adapter: str, backend: Backend, tenant: TestTenant) -> None:
    put_account(backend, "c-1", "100")
    token = tenant.issuer.sign(tenant.claims(iat=now() - 600, nbf=now() + 20, exp=now() - 20))
    status, body = await deliver(adapter, bearer(token))
    assert status == 200 and body["results"][0]["outcome"] == "applied", body


@pytest.mark.parametrize("case", list(REFUSED))
async def test_anything_else_is_refused_with_401_and_changes_nothing(
    adapter: str, backend: Backend, tenant: TestTenant, case: str
) -> None:
    put_account(backend, "c-1", "100")
    before = state(backend)

    status, body = await deliver(adapter, REFUSED[case](tenant))

    assert status == 401, (case, body)
    assert body["error"]["code"] == "UNAUTHENTICATED" and body["error"]["details"][0]["field"] == "Authorization"
    assert state(backend) == before, f"{case}: a refused delivery changed DynamoDB"


async def test_keys_that_cannot_be_fetched_are_a_503_that_event_grid_retries(
    adapter: str, backend: Backend, tenant: TestTenant
) -> None:
    put_account(backend, "c-1", "100")
    token = tenant.token()
    tenant.stop()  # the tenant's key endpoint is unreachable; nothing was cached yet
    before = state(backend)

    status, body = await deliver(adapter, bearer(token))

    assert status == 503 and body["error"]["code"] == "AUTH_UNAVAILABLE", body
    assert state(backend) == before


async def test_the_check_is_never_skipped_silently(backend: Backend, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(TypeError):
        create_app(backend)  # type: ignore[call-arg]  # there is no default: a caller must choose
    with pytest.raises(ValueError, match="audience"):
        EntraTokenValidator(EntraSettings(issuers=("https://issuer.example/",), jwks_url="http://keys.example/"))
    incomplete = webhook_auth_from(EntraSettings(audiences=("api://x",)))
    with pytest.raises(AuthUnavailable, match="not configured"):
        incomplete.check({"Authorization": "Bearer a.b.c"})
    with caplog.at_level(logging.WARNING, logger="aws.payments.auth"):
        off = webhook_auth_from(EntraSettings(enabled=False))
    assert isinstance(off, NoTokenCheck) and "ANY caller may post" in caplog.text


async def test_the_explicit_off_switch_lets_everyone_in(backend: Backend) -> None:
    put_account(backend, "c-1", "100")
    runner, url = await serve(backend, NoTokenCheck("this test"))
    try:
        status, body = await deliver(url, [])
    finally:
        await runner.cleanup()
    assert status == 200 and body["results"][0]["outcome"] == "applied"


# -- through the local Event Grid service: its tenant mints the tokens, the adapter checks them --

@pytest.fixture
async def grid_and_adapter(backend: Backend) -> AsyncIterator[tuple[EventGridService, str]]:
    grid_port = free_port()
    grid_url = f"http://127.0.0.1:{grid_port}"
    auth = EntraTokenValidator(EntraSettings(issuers=(local_issuer(grid_url),), audiences=(AUDIENCE,),
                                             jwks_url=local_jwks_url(grid_url),
                                             required_role="AzureEventGridSecureWebhookSubscriber"))
    runner, url = await serve(backend, auth)
    key = uuid.uuid4().hex
    subscriptions = {"right audience": {"audience": AUDIENCE}, "wrong audience": {"audience": "api://not-us"},
                     "no token": None}
    service = EventGridService(ServiceConfig.from_dict({
        "retryScheduleSeconds": [0.1],
        "topics": {
            # (Event Grid would not create the other two — their handshake fails —, so they skip it:
            # as if the webhook's audience had changed after the subscription was made.)
            f"{schema}-{index}": {"key": key, "inputSchema": schema, "subscriptions": [
                {"name": "aws", "endpoint": url, **({"entra": entra} if entra else {}),
                 "validation": "handshake" if entra == {"audience": AUDIENCE} else "none"}]}
            for schema in (CLOUD_EVENTS, EVENT_GRID) for index, entra in enumerate(subscriptions.values())
        },
    }))
    await service.start(port=grid_port)
    try:
        yield service, key
    finally:
        await service.stop()
        await runner.cleanup()


async def publish(service: EventGridService, key: str, topic: str, event: dict[str, Any]) -> None:
    if topic.startswith(EVENT_GRID):
        event = {"id": event["id"], "eventType": event["type"], "subject": event["subject"],
                 "eventTime": event["time"], "data": event["data"], "dataVersion": "1"}
    content_type = "application/cloudevents+json" if topic.startswith(CLOUD_EVENTS) else "application/json"
    async with aiohttp.ClientSession() as http, http.post(
            service.topic_endpoint(topic), data=json.dumps(event if topic.startswith(CLOUD_EVENTS) else [event]),
            headers={"aeg-sas-key": key, "Content-Type": content_type}) as answer:
        assert answer.status == 200, await answer.text()


async def settled(service: EventGridService, topic: str) -> dict[str, Any]:
    worker = service.workers[(topic, "aws")]
    for _ in range(200):
        if worker.stats.delivered + worker.stats.dead_lettered >= 1:
            return dict(worker.stats.__dict__)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{topic}: nothing settled: {worker.stats}")


async def test_event_grid_deliveries_carry_tokens_only_the_right_audience_gets_in_and_no_secret_is_logged(
    grid_and_adapter: tuple[EventGridService, str], backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    service, key = grid_and_adapter
    put_account(backend, "c-1", "1000")
    caplog.set_level(logging.DEBUG)
    wrong_key = uuid.uuid4().hex
    async with aiohttp.ClientSession() as http, http.post(
            service.topic_endpoint(f"{CLOUD_EVENTS}-0"), json=[reservation("s-x")],
            headers={"aeg-sas-key": wrong_key}) as answer:
        assert answer.status == 401
    for schema in (CLOUD_EVENTS, EVENT_GRID):
        for index, name in enumerate(("right audience", "wrong audience", "no token")):
            topic = f"{schema}-{index}"
            before = state(backend)
            await publish(service, key, topic, reservation(f"s-{schema[:5]}-{index}", amount="10"))
            stats = await settled(service, topic)
            if name == "right audience":  # handshake (with a token) passed, delivered at once
                assert stats["validated"] and (stats["delivered"], stats["attempts"]) == (1, 1), (topic, stats)
                assert state(backend) != before
            else:  # 401 is final for Event Grid: dead-lettered on the first attempt, nothing changed
                assert (stats["dead_lettered"], stats["attempts"]) == (1, 1), (topic, stats)
                assert state(backend) == before, topic
    assert credit(backend, "c-1") == Decimal("980")
    assert service.token_issuer is not None and service.token_issuer.minted >= 6
    logged = caplog.text
    assert key not in logged and wrong_key not in logged, "a topic key reached the logs"
    assert not re.search(r"eyJ[\w-]+\.[\w-]+\.|Bearer\s+ey", logged), "a bearer token reached the logs"
    assert len(caplog.records) > 5, "the run logged nothing: the check would prove nothing"
