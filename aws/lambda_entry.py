"""Lambda entry points (handler strings for Terraform). Each builds its Backend once per
container from the environment (aws.settings).

- `aws.lambda_entry.webhook_handler`      API Gateway (REST v1 or HTTP API v2 proxy) → Event Grid webhook;
                                          checks the Entra bearer token itself (aws.entra_auth) even
                                          behind the JWT authorizer: a route deployed without the
                                          authorizer, or a token of another client of the tenant,
                                          still gets nothing but a 401
- `aws.lambda_entry.eventbridge_handler`  one inbound event delivered by an EventBridge rule
- `aws.relay.handle_stream`               SagaOutbox stream → EventBridge (ReportBatchItemFailures)
- `aws.lambda_entry.relay_sweeper`        scheduled: relays outbox rows the stream path left UNSENT
"""

from __future__ import annotations

import base64
from functools import cache
from typing import Any

from aws.dispatch import handle_event
from aws.entra_auth import AuthUnavailable, Unauthenticated, WebhookAuth, webhook_auth_from
from aws.relay import relay_once
from aws.settings import EntraSettings, default_backend
from aws.webhook import auth_refusal, handle_options, handle_post


@cache
def webhook_auth() -> WebhookAuth:
    """Built once per container from the environment (`EntraSettings.from_environment`)."""
    return webhook_auth_from(EntraSettings.from_environment())


def webhook_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    method = event.get("httpMethod") or event.get("requestContext", {}).get("http", {}).get("method", "POST")
    headers = {str(k): str(v) for k, v in (event.get("headers") or {}).items()}
    if method.upper() == "OPTIONS":
        response = handle_options(headers)
    else:
        try:
            webhook_auth().check(headers)
        except (Unauthenticated, AuthUnavailable) as refused:
            response = auth_refusal(refused)
        else:
            body = event.get("body") or ""
            raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
            response = handle_post(default_backend(), headers, raw)
    return {"statusCode": response.status, "headers": response.headers | {"Content-Type": "application/json"},
            "body": response.body_text()}


def eventbridge_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Poison is acknowledged (returned); transient failures raise so Lambda's async retry and
    the rule's dead-letter queue take over."""
    return handle_event(event, default_backend(), received_by="eventbridge").to_json()


def relay_sweeper(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
    report = relay_once(default_backend())
    return {"sent": len(report.sent), "failed": len(report.failed), "parked": len(report.parked)}
