"""Only the Azure side gets in: the AWS adapter (playing API Gateway's JWT authorizer) accepts a
delivery only with an Entra bearer token that the tenant's keys sign for the expected issuer
and audience and that is within its lifetime. Keys come from the local Event Grid service's
tenant (served as JWKS over HTTP) or are made by the test; every refusal is a 401 JSON error
and changes nothing in DynamoDB."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from aws.entra_auth import EntraSettings, EntraTokenValidator
from aws.local_adapter import create_app
from aws.seed import put_account
from aws.settings import Backend
from eventgrid_local.config import ServiceConfig
from eventgrid_local.server import EventGridService
from eventgrid_local.token_issuer import LocalTokenIssuer
from tests.aws.support import credit, outbox_types, reservation
from tests.support.servers import free_port

pytestmark = pytest.mark.integration

AUDIENCE = "api://ordersaga-payments-webhook"


@pytest.fixture
async def tenant() -> AsyncIterator[LocalTokenIssuer]:
    """A local Entra tenant: the Event Grid service's issuer and its JWKS endpoint."""
    service = EventGridService(ServiceConfig.from_dict({"topics": {}}))
    await service.start()
    assert service.token_issuer is not None
    try:
        yield service.token_issuer
    finally:
        await service.stop()


@pytest.fixture
async def adapter(backend: Backend, tenant: LocalTokenIssuer) -> AsyncIterator[str]:
    auth = EntraTokenValidator(EntraSettings(tenant.issuer, AUDIENCE, tenant.jwks_url))
    runner = web.AppRunner(create_app(backend, auth=auth))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/events"
    finally:
        await runner.cleanup()


def forged(tenant: LocalTokenIssuer, *, key: Any = None, kid: str | None = None, algorithm: str = "RS256",
           **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": tenant.issuer, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 600} | claims
    body = {k: v for k, v in body.items() if v is not None}
    signing_key = key if key is not None else tenant._key
    return jwt.encode(body, signing_key, algorithm=algorithm, headers={"kid": kid or tenant.kid})


async def deliver(adapter: str, authorization: str | None, saga: str) -> tuple[int, Any]:
    headers = {"aeg-event-type": "Notification", "Content-Type": "application/cloudevents+json; charset=utf-8"}
    if authorization is not None:
        headers["Authorization"] = authorization
    async with aiohttp.ClientSession() as http, http.post(
            adapter, data=json.dumps(reservation(saga, amount="25")), headers=headers) as answer:
        return answer.status, await answer.json(content_type=None)


async def test_a_token_from_the_tenant_for_this_audience_gets_in(adapter: str, backend: Backend,
                                                                 tenant: LocalTokenIssuer) -> None:
    put_account(backend, "c-1", "100")
    status, body = await deliver(adapter, f"Bearer {tenant.token(AUDIENCE)}", "s-ok")
    assert status == 200 and body["results"][0]["outcome"] == "applied"
    assert credit(backend, "c-1") == Decimal("75")


def other_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


REFUSED = {
    "no header": lambda t: None,
    "not a bearer token": lambda t: f"Basic {t.token(AUDIENCE)}",
    "empty bearer": lambda t: "Bearer ",
    "malformed token": lambda t: "Bearer not.a.jwt",
    "wrong issuer": lambda t: f"Bearer {forged(t, iss='https://login.microsoftonline.com/someone-else/v2.0')}",
    "wrong audience": lambda t: f"Bearer {forged(t, aud='api://another-app')}",
    "expired": lambda t: f"Bearer {forged(t, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)}",
    "not yet valid": lambda t: f"Bearer {forged(t, nbf=int(time.time()) + 3600)}",
    "no expiry": lambda t: f"Bearer {forged(t, exp=None)}",
    "signed by another key": lambda t: f"Bearer {forged(t, key=other_key())}",
    "unknown key id": lambda t: f"Bearer {forged(t, key=other_key(), kid=uuid.uuid4().hex)}",
    "alg none": lambda t: "Bearer " + jwt.encode({"iss": t.issuer, "aud": AUDIENCE, "exp": int(time.time()) + 600,
                                                  "iat": int(time.time())}, None, algorithm="none",
                                                 headers={"kid": t.kid}),
    "HS256 with the public key as secret": lambda t: "Bearer " + jwt.encode(
        {"iss": t.issuer, "aud": AUDIENCE, "exp": int(time.time()) + 600, "iat": int(time.time())},
        "not-the-rsa-key-but-a-shared-secret-of-enough-length", algorithm="HS256", headers={"kid": t.kid}),
}


@pytest.mark.parametrize("case", list(REFUSED))
async def test_anything_else_is_refused_with_401_and_changes_nothing(
    adapter: str, backend: Backend, tenant: LocalTokenIssuer, case: str
) -> None:
    put_account(backend, "c-1", "100")
    status, body = await deliver(adapter, REFUSED[case](tenant), f"s-{list(REFUSED).index(case)}")
    assert status == 401, (case, body)
    assert body["error"]["code"] == "UNAUTHENTICATED" and body["error"]["details"][0]["field"] == "Authorization"
    assert credit(backend, "c-1") == Decimal("100") and outbox_types(backend) == []
