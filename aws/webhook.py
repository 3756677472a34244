"""The Event Grid webhook contract, independent of any web framework: used by the local
aiohttp adapter (`aws.local_adapter`) and by the API Gateway Lambda (`aws.lambda_entry`).

- OPTIONS (CloudEvents abuse protection): echo `WebHook-Request-Origin` back as
  `WebHook-Allowed-Origin`.
- POST with `aeg-event-type: SubscriptionValidation` (Event Grid schema): answer
  `{"validationResponse": <validationCode>}`.
- POST notifications: a JSON array of events (Event Grid schema, CloudEvents batch) or one
  CloudEvent (structured mode). Each event goes to `aws.dispatch.handle_event`. 200 when
  every event was handled or acknowledged as poison; 503 when any failed transiently, so
  Event Grid redelivers the batch (the inbox makes the already-handled ones no-ops).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws.dispatch import handle_event
from aws.entra_auth import AuthUnavailable, Unauthenticated
from aws.model import HandlerResult
from aws.poison import MAX_STORED_BODY, record_poison
from aws.settings import Backend

log = logging.getLogger("aws.payments.webhook")

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
# Event Grid delivers at most 1 MB per batch (and 1 MB per event); a little slack for the envelope.
MAX_BODY_BYTES = 1024 * 1024 + 64 * 1024


@dataclass
class WebhookResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def body_text(self) -> str:
        return "" if self.body is None else json.dumps(self.body)


def handle_options(headers: Mapping[str, str]) -> WebhookResponse:
    origin = _lower(headers).get("webhook-request-origin", "").strip()
    return WebhookResponse(200, None, {"WebHook-Allowed-Origin": origin or "*", "WebHook-Allowed-Rate": "*",
                                       "Allow": "POST, OPTIONS"})


def handle_post(backend: Backend, headers: Mapping[str, str], body: bytes) -> WebhookResponse:
    if len(body) > MAX_BODY_BYTES:
        return _poison_body(backend, f"body of {len(body)} bytes is larger than an Event Grid batch "
                                     f"({MAX_BODY_BYTES} bytes)", body)
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError) as error:  # RecursionError: nested deeper than the parser's stack
        return _poison_body(backend, f"body is not JSON: {error}", body)
    events = parsed if isinstance(parsed, list) else [parsed]

    validation = _validation_code(events)
    if _lower(headers).get("aeg-event-type", "").lower() == "subscriptionvalidation" or validation is not None:
        if validation is None:
            return WebhookResponse(400, {"error": "SubscriptionValidation without a validationCode"})
        log.info("answering Event Grid subscription validation")
        return WebhookResponse(200, {"validationResponse": validation})

    results: list[dict[str, Any]] = []
    transient = False
    for raw in events:
        try:
            result: HandlerResult = handle_event(raw, backend, received_by="webhook")
            results.append(result.to_json())
        except Exception as error:  # anything not poison is worth a retry by the sender
            log.exception("transient failure handling an event; the sender will retry")
            transient = True
            results.append({"outcome": "error", "reason": f"{type(error).__name__}: {error}"[:500]})
    return WebhookResponse(503 if transient else 200, {"results": results})


def _poison_body(backend: Backend, reason: str, body: bytes) -> WebhookResponse:
    """The whole body is unusable: one poison record (its first 64 KB), acknowledged."""
    poison_id = record_poison(backend, reason, body[:MAX_STORED_BODY], where="webhook")
    return WebhookResponse(200, {"results": [{"outcome": "poison", "reason": reason.split(":")[0],
                                              "poisonId": poison_id}]})


def _validation_code(events: list[Any]) -> str | None:
    for event in events:
        if isinstance(event, dict) and event.get("eventType") == VALIDATION_EVENT:
            data = event.get("data")
            code = data.get("validationCode") if isinstance(data, dict) else None
            return code if isinstance(code, str) and code else None
    return None


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def auth_refusal(refused: Unauthenticated | AuthUnavailable) -> WebhookResponse:
    """401 for a caller we do not accept (Event Grid does not retry it); 503 when we cannot check
    (it retries). Nothing was read or written."""
    if isinstance(refused, Unauthenticated):
        log.warning("delivery refused (401): %s", refused)
        return WebhookResponse(401, {"error": {"code": "UNAUTHENTICATED", "message": str(refused),
                                               "details": [{"field": "Authorization", "message": str(refused)}]}},
                               {"WWW-Authenticate": "Bearer"})
    log.error("delivery not checked (503, the sender retries): %s", refused)
    return WebhookResponse(503, {"error": {"code": "AUTH_UNAVAILABLE", "message": str(refused)}},
                           {"Retry-After": "10"})
