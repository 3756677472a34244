"""The Lambda entry points, configured only through the environment as in a deployment."""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from aws import entra_auth, lambda_entry
from aws.seed import put_account
from aws.settings import AwsSettings, Backend, EntraSettings, default_backend
from tests.aws.support import credit, outbox, reservation
from tests.aws.tenant import TestTenant


@pytest.fixture
def deployed(backend: Backend, tenant: TestTenant, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    settings: AwsSettings = backend.settings
    for name in [n for n in os.environ if n.startswith(("WEBHOOK_", "ENTRA_"))]:
        monkeypatch.delenv(name)
    for name, value in {"DYNAMODB_ENDPOINT_URL": settings.dynamodb_endpoint or "", "AWS_REGION": settings.region,
                        "TABLE_PREFIX": settings.table_prefix, "EVENT_BUS_NAME": settings.event_bus,
                        **tenant.environment()}.items():
        monkeypatch.setenv(name, value)
    default_backend.cache_clear()
    lambda_entry.webhook_auth.cache_clear()
    yield backend
    default_backend.cache_clear()
    lambda_entry.webhook_auth.cache_clear()


def api_gateway_post(body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An HTTP API (payload 2.0) proxy event, as API Gateway hands a POST /events to the Lambda."""
    encoded = base64.b64encode(json.dumps(body).encode()).decode()
    return {"version": "2.0", "requestContext": {"http": {"method": "POST"}},
            "headers": {"aeg-event-type": "Notification", "content-type": "application/json"} | (headers or {}),
            "body": encoded, "isBase64Encoded": True}


def test_api_gateway_http_api_event_runs_the_webhook(deployed: Backend, tenant: TestTenant) -> None:
    put_account(deployed, "c-1", "100")
    # API Gateway lower-cases header names in payload 2.0.
    event = api_gateway_post([reservation("s1", amount="10")], {"authorization": f"Bearer {tenant.token()}"})

    answer = lambda_entry.webhook_handler(event, None)

    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["results"][0]["outcome"] == "applied"
    assert credit(deployed, "c-1") == Decimal("90")


@pytest.mark.parametrize("authorization", [None, "Bearer not.a.jwt", "Basic dXNlcjpwYXNz"])
def test_the_webhook_lambda_checks_the_token_itself(deployed: Backend, authorization: str | None) -> None:
    """Even behind API Gateway's authorizer: a route deployed without it lets nobody in either."""
    put_account(deployed, "c-1", "100")
    headers = {} if authorization is None else {"authorization": authorization}

    answer = lambda_entry.webhook_handler(api_gateway_post([reservation("s1", amount="10")], headers), None)

    assert answer["statusCode"] == 401 and json.loads(answer["body"])["error"]["code"] == "UNAUTHENTICATED"
    assert credit(deployed, "c-1") == Decimal("100") and outbox(deployed) == []


def test_an_unconfigured_check_refuses_with_503_so_nothing_is_lost(
    deployed: Backend, tenant: TestTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_account(deployed, "c-1", "100")
    monkeypatch.delenv("WEBHOOK_AUDIENCE")
    lambda_entry.webhook_auth.cache_clear()

    answer = lambda_entry.webhook_handler(
        api_gateway_post([reservation("s1", amount="10")], {"authorization": f"Bearer {tenant.token()}"}), None)

    assert answer["statusCode"] == 503 and "WEBHOOK_AUDIENCE" in json.loads(answer["body"])["error"]["message"]
    assert credit(deployed, "c-1") == Decimal("100")


def test_webhook_auth_off_is_explicit_and_logged(
    deployed: Backend, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    put_account(deployed, "c-1", "100")
    monkeypatch.setenv("WEBHOOK_AUTH", "off")
    lambda_entry.webhook_auth.cache_clear()

    with caplog.at_level(logging.WARNING):
        answer = lambda_entry.webhook_handler(api_gateway_post([reservation("s1", amount="10")]), None)

    assert answer["statusCode"] == 200 and credit(deployed, "c-1") == Decimal("90")
    assert "webhook auth is OFF" in caplog.text


def test_settings_for_a_real_tenant() -> None:
    tenant_id, client_id = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
    settings = EntraSettings.from_environment({"ENTRA_TENANT_ID": tenant_id,
                                               "WEBHOOK_AUDIENCE": f"api://payments, {client_id}"})
    assert settings.issuers == (f"https://sts.windows.net/{tenant_id}/",
                                f"https://login.microsoftonline.com/{tenant_id}/v2.0")
    assert settings.audiences == ("api://payments", client_id)
    assert settings.jwks_url == f"https://login.microsoftonline.com/{tenant_id}/discovery/v2.0/keys"
    assert settings.allowed_client_ids == ("4962773b-9cdb-44cf-a8bf-237846a00ab7",) and settings.missing() == []
    assert EntraSettings.from_environment({"ENTRA_TENANT_ID": tenant_id, "WEBHOOK_AUDIENCE": "a",
                                           "WEBHOOK_ALLOWED_CLIENT_IDS": "*"}).allowed_client_ids == ()
    assert EntraSettings.from_environment({}).missing() != []
    with pytest.raises(ValueError, match="WEBHOOK_AUTH"):
        EntraSettings.from_environment({"WEBHOOK_AUTH": "maybe"})


def test_api_gateway_rest_options_handshake(deployed: Backend) -> None:
    answer = lambda_entry.webhook_handler(
        {"httpMethod": "OPTIONS", "headers": {"WebHook-Request-Origin": "eventgrid.azure.net"}}, None)

    assert answer["statusCode"] == 200 and answer["headers"]["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


def test_eventbridge_rule_delivery_and_scheduled_sweeper(deployed: Backend) -> None:
    put_account(deployed, "c-1", "100")
    cloud = reservation("s1", amount="10")
    envelope = {"version": "0", "id": "eb-1", "detail-type": cloud["type"], "source": "azure.ordersaga",
                "time": cloud["time"], "region": "us-east-1", "resources": [],
                "detail": {"eventId": cloud["id"], "subject": cloud["subject"], "data": cloud["data"]}}

    handled = lambda_entry.eventbridge_handler(envelope, None)
    swept = lambda_entry.relay_sweeper({}, None)

    assert handled["outcome"] == "applied" and handled["eventId"] == cloud["id"]
    assert swept == {"sent": 1, "failed": 0, "parked": 0}
    assert [row["status"] for row in outbox(deployed)] == ["SENT"]


def test_a_package_without_pyjwt_refuses_with_503_and_says_so(
    deployed: Backend, tenant: TestTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/deploy.md's package must carry PyJWT[crypto]; if it does not, deliveries wait (503,
    retried) instead of getting in or being dead-lettered."""
    put_account(deployed, "c-1", "100")
    monkeypatch.setattr(entra_auth, "jwt", None)
    lambda_entry.webhook_auth.cache_clear()

    answer = lambda_entry.webhook_handler(
        api_gateway_post([reservation("s1", amount="10")], {"authorization": f"Bearer {tenant.token()}"}), None)

    assert answer["statusCode"] == 503 and "PyJWT" in json.loads(answer["body"])["error"]["message"]
    assert credit(deployed, "c-1") == Decimal("100")
