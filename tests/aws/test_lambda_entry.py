"""The Lambda entry points, configured only through the environment as in a deployment."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from decimal import Decimal

import pytest

from aws import lambda_entry
from aws.seed import put_account
from aws.settings import AwsSettings, Backend, default_backend
from tests.aws.support import credit, outbox, reservation


@pytest.fixture
def deployed(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    settings: AwsSettings = backend.settings
    for name, value in {"DYNAMODB_ENDPOINT_URL": settings.dynamodb_endpoint or "", "AWS_REGION": settings.region,
                        "TABLE_PREFIX": settings.table_prefix, "EVENT_BUS_NAME": settings.event_bus}.items():
        monkeypatch.setenv(name, value)
    default_backend.cache_clear()
    yield backend
    default_backend.cache_clear()


def test_api_gateway_http_api_event_runs_the_webhook(deployed: Backend) -> None:
    put_account(deployed, "c-1", "100")
    body = base64.b64encode(json.dumps([reservation("s1", amount="10")]).encode()).decode()
    event = {"version": "2.0", "requestContext": {"http": {"method": "POST"}},
             "headers": {"aeg-event-type": "Notification", "content-type": "application/json"},
             "body": body, "isBase64Encoded": True}

    answer = lambda_entry.webhook_handler(event, None)

    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["results"][0]["outcome"] == "applied"
    assert credit(deployed, "c-1") == Decimal("90")


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
