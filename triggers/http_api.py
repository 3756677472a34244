"""The HTTP API: start an order saga, show where it stands, cancel it, stock SKUs.

    POST /api/orders                      start a saga (202), idempotent with Idempotency-Key
    GET  /api/orders/{orderId}            order document + orchestration status + saga progress
    POST /api/orders/{orderId}/cancel     customer cancellation (202, or 409 past the pivot)
    PUT  /api/inventory/{sku}             set units available (admin)
    GET  /api/inventory/{sku}             stock levels (admin)
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func
from opentelemetry.trace import SpanKind

from orchestrators.saga_steps import CANCEL_EVENT
from ordersaga import inventory_repository, order_repository
from ordersaga.api_models import OrderRequest, StockLevel
from ordersaga.clock import iso, utc_now
from ordersaga.config import SagaPolicy
from ordersaga.cosmos_store import EtagDecision, get_store
from ordersaga.orders import OrderStatus
from ordersaga.saga_input import SagaInput
from ordersaga.telemetry import current_traceparent, saga_span
from triggers.http_json import HttpError, json_errors, json_response, parse_body

bp = df.Blueprint()
log = logging.getLogger("ordersaga.http")

ORCHESTRATOR = "order_saga"
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")


def path_id(req: func.HttpRequest, name: str) -> str:
    value = req.route_params.get(name, "")
    if not SAFE_ID.match(value):
        raise HttpError(400, "INVALID_ID", f"{name} has characters that are not allowed",
                        [{"field": name, "message": "letters, digits and . _ : - only, at most 64"}])
    return value


def order_not_found(order_id: str) -> HttpError:
    return HttpError(404, "ORDER_NOT_FOUND", f"no order {order_id}", [{"field": "orderId", "message": "unknown"}])


def _origin(req: func.HttpRequest) -> str:
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}"


def order_id_for(idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return f"ord-{uuid.uuid4().hex}"
    # Same key ⇒ same order id ⇒ same orchestration instance: a repeated POST starts nothing.
    return "ord-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def caller_principal(req: func.HttpRequest) -> str | None:
    """Who placed the order, as App Service Authentication tells the app (it sets
    `X-MS-CLIENT-PRINCIPAL-ID` and drops any such header a client sends). It travels with the
    payment requests so AWS can refuse to charge an account for someone else."""
    principal = (req.headers.get("x-ms-client-principal-id") or "").strip()
    return principal if SAFE_ID.match(principal) else None


def incoming_trace(req: func.HttpRequest) -> str | None:
    """The caller's W3C traceparent, when it sent a valid one."""
    incoming = (req.headers.get("traceparent") or "").strip().lower()
    if TRACEPARENT.match(incoming) and incoming[3:35] != "0" * 32:
        return incoming
    return None


def trace_context(req: func.HttpRequest) -> str:
    """The trace this saga belongs to: the current span's (telemetry on), else the caller's,
    else a new one — the saga carries it to every activity and event either way."""
    return current_traceparent(incoming_trace(req)) or f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def _fingerprint(order: dict[str, Any]) -> str:
    content = {k: order[k] for k in ("customerId", "items", "currency")}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _accepted_body(req: func.HttpRequest, client: df.DurableOrchestrationClient, order_id: str) -> dict[str, Any]:
    status_url = f"{_origin(req)}/api/orders/{order_id}"
    return {"orderId": order_id, "statusUrl": status_url,
            "management": client.create_http_management_payload(order_id)}


@bp.route(route="orders", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
@json_errors
async def start_order(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    key = req.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise HttpError(400, "VALIDATION_FAILED", "the Idempotency-Key header is invalid",
                        [{"field": "Idempotency-Key", "message": "1 to 128 visible ASCII characters"}])
    request = parse_body(req, OrderRequest)
    order_id = order_id_for(key)
    order = request.model_dump(mode="json") | {"orderId": order_id}
    order["fingerprint"] = _fingerprint(order)
    initiator = caller_principal(req)
    if initiator:
        order["initiator"] = initiator

    if key is not None:
        existing = await client.get_status(order_id)
        if existing and existing.instance_id:
            previous = SagaInput.from_json(existing.input_).order
            return await _replay(req, client, order_id, same=previous.get("fingerprint") == order["fingerprint"])
        # Requests racing with one key all get here before any saga exists: the first to
        # claim the key in Cosmos starts it, the others are answered from its claim.
        earlier, claim_etag = await _claim_key(order_id, order["fingerprint"])
        if earlier is not None:
            if earlier.get("fingerprint") != order["fingerprint"]:
                return await _replay(req, client, order_id, same=False)
            existing = await client.get_status(order_id)
            if existing and existing.instance_id:
                return await _replay(req, client, order_id, same=True)
            if _seconds_since(earlier.get("claimedAt")) < KEY_CLAIM_SECONDS:
                raise HttpError(409, "REQUEST_IN_PROGRESS", "a request with this Idempotency-Key is being processed",
                                [{"field": "Idempotency-Key", "message": "retry in a moment"}], {"Retry-After": "1"})
            # The request that claimed the key never started the saga (it failed): start it.

    with saga_span("POST /api/orders", incoming_trace(req), kind=SpanKind.SERVER, order_id=order_id,
                   instance_id=order_id, attributes={"http.request.method": "POST", "http.route": "orders"}):
        saga = SagaInput(order=order, policy=SagaPolicy.from_environment(), traceparent=trace_context(req))
        await client.start_new(ORCHESTRATOR, instance_id=order_id, client_input=saga.to_json())
        log.info("order %s: saga started", order_id)
    accepted = _accepted(req, client, order_id)
    if key is not None:
        await _complete_claim(order_id, order["fingerprint"], accepted, claim_etag)
    return _response(accepted)


KEY_CLAIM_SECONDS = 30  # how long a claimed key waits for its saga before another request starts it
REPLAYED_HEADER = "Idempotent-Replayed"  # marks a stored answer given again (IETF Idempotency-Key draft)


def _claim_id(order_id: str) -> str:
    return f"idempotency~{order_id}"  # `~`: never an inbound event's key (see ordersaga.inbox)


async def _claim_key(order_id: str, fingerprint: str) -> tuple[dict[str, Any] | None, str | None]:
    """Claim an Idempotency-Key (by its order id) with a create, which only one request can
    win. (None, the claim's ETag) when this request holds the claim, else (the earlier
    request's claim, None)."""
    store = await get_store()
    claim_id = _claim_id(order_id)
    claim = {"id": claim_id, "fingerprint": fingerprint, "claimedAt": iso(utc_now()),
             "ttl": store.settings.inbox_ttl_seconds}
    created = await store.create_returning(store.inbox, claim)
    if created is not None:
        return None, str(created["_etag"])
    return await store.read(store.inbox, claim_id), None


def _seconds_since(moment: Any) -> float:
    try:
        return (utc_now() - datetime.fromisoformat(str(moment).replace("Z", "+00:00"))).total_seconds()
    except (TypeError, ValueError):  # no claim time, or one without a zone: treat it as long ago
        return float("inf")


def _accepted(req: func.HttpRequest, client: df.DurableOrchestrationClient, order_id: str) -> dict[str, Any]:
    """The 202 of an accepted order, as stored data: status, the exact body text and headers."""
    body = _accepted_body(req, client, order_id)
    return {"status": 202, "body": json.dumps(body),
            "headers": {"Location": body["statusUrl"], "Retry-After": "2"}}


def _response(answer: dict[str, Any], extra_headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(answer["body"], status_code=answer["status"], mimetype="application/json",
                             headers=answer["headers"] | (extra_headers or {}))


async def _complete_claim(order_id: str, fingerprint: str, accepted: dict[str, Any], etag: str | None) -> None:
    """Keep the 202 on the key's claim, so a repeat of the request gets this very answer back.
    Best effort: the saga has started, and a repeat without it gets the answer rebuilt.
    With the ETag of this request's own claim it is one patch; otherwise read and replace."""
    store = await get_store()
    claim_id = _claim_id(order_id)
    if etag is not None:
        try:
            if await store.patch_if_unchanged(store.inbox, claim_id,
                                              [{"op": "set", "path": "/response", "value": accepted}], etag):
                return
        except Exception as error:  # noqa: BLE001 - the order is accepted either way
            log.warning("order %s: patching the Idempotency-Key claim failed (%s); rereading", order_id, error)

    def decide(current: dict[str, Any] | None) -> EtagDecision:
        if current is not None and current.get("fingerprint") != fingerprint:
            return EtagDecision(None, "another body holds the key")
        claim = current or {"id": claim_id, "fingerprint": fingerprint, "claimedAt": iso(utc_now()),
                            "ttl": store.settings.inbox_ttl_seconds}
        return EtagDecision(claim | {"response": accepted}, "stored")

    try:
        await store.update_with_etag(store.inbox, claim_id, decide)
    except Exception as error:  # noqa: BLE001 - the order is accepted either way
        log.warning("order %s: 202 not kept on the Idempotency-Key claim (%s); repeats rebuild it", order_id, error)


async def _replay(req: func.HttpRequest, client: df.DurableOrchestrationClient, order_id: str,
                  same: bool) -> func.HttpResponse:
    """The answer to a repeated key: with the same body, the original 202 again — status, body
    and Location/Retry-After as first sent, marked Idempotent-Replayed — so a client polling
    per the asynchronous request-reply pattern keeps polling; with another body, 422."""
    if not same:
        raise HttpError(422, "IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was already used for a different order",
                        [{"field": "Idempotency-Key", "message": f"belongs to order {order_id}"}])
    store = await get_store()
    claim = await store.read(store.inbox, _claim_id(order_id))
    stored = (claim or {}).get("response")
    # No stored answer (the claim expired, or keeping it failed): the 202 is rebuilt the way
    # it was made, which gives the same bytes for the same host.
    answer = stored if isinstance(stored, dict) else _accepted(req, client, order_id)
    return _response(answer, {REPLAYED_HEADER: "true"})


def saga_view(order_id: str, doc: dict[str, Any] | None, status: Any) -> dict[str, Any]:
    """One JSON view of where a saga stands, from the order document and the orchestration."""
    progress = (status.custom_status if status else None) or {}
    if isinstance(progress, str):
        progress = json.loads(progress)
    order = doc or (SagaInput.from_json(status.input_).order if status and status.input_ else {})
    runtime = status.runtime_status.name if status and status.runtime_status else None
    return {
        "orderId": order_id,
        "status": (doc or {}).get("status", OrderStatus.PENDING.value),
        "customerId": order.get("customerId"),
        "items": order.get("items"),
        "currency": order.get("currency"),
        "total": (doc or {}).get("total"),
        "cancelRequested": bool((doc or {}).get("cancelRequested")),
        "shipment": (doc or {}).get("shipment"),
        "attention": (doc or {}).get("attention"),
        # What AWS told us about the payment, and anything to reconcile by hand.
        "payment": (doc or {}).get("payment"),
        "reconciliation": (doc or {}).get("reconciliation"),
        "operatorActions": (doc or {}).get("operatorActions", []),
        "sagaInstanceId": (doc or {}).get("sagaInstanceId", order_id),
        "saga": {
            "runtimeStatus": runtime,
            "phase": progress.get("phase"),
            "currentStep": progress.get("currentStep"),
            "completedSteps": progress.get("completedSteps", []),
            "compensatedSteps": progress.get("compensatedSteps", []),
            "undoStack": progress.get("undoStack", []),
            "attempts": progress.get("attempts", {}),
            "lastError": progress.get("lastError"),
            "output": status.output if status else None,
        },
        "timeline": progress.get("timeline", []),
        "statusHistory": (doc or {}).get("statusHistory", []),
        "timestamps": {
            "createdAt": (doc or {}).get("createdAt"),
            "updatedAt": (doc or {}).get("updatedAt"),
            "sagaCreated": status.created_time.isoformat() if status and status.created_time else None,
            "sagaUpdated": status.last_updated_time.isoformat() if status and status.last_updated_time else None,
        },
    }


@bp.route(route="orders/{orderId}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
@json_errors
async def get_order(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    order_id = path_id(req, "orderId")
    doc = await order_repository.read_order(await get_store(), order_id)
    status = await client.get_status(order_id)
    if doc is None and not (status and status.instance_id):
        raise order_not_found(order_id)
    return json_response(saga_view(order_id, doc, status if status and status.instance_id else None))


@bp.route(route="orders/{orderId}/cancel", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
@json_errors
async def cancel_order_request(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    order_id = path_id(req, "orderId")
    decision, doc = await order_repository.request_cancellation(await get_store(), order_id, "customer")
    if decision == "not-found":
        status = await client.get_status(order_id)
        if not (status and status.instance_id):
            raise order_not_found(order_id)
        # The saga has not written the order yet: the event alone makes it compensate.
    elif decision == "too-late":
        current = (doc or {}).get("status")
        raise HttpError(409, "PAST_POINT_OF_NO_RETURN", f"order {order_id} is {current} and can no longer be cancelled",
                        [{"field": "orderId", "message": f"status {current}"}])
    elif decision == "already-cancelled":
        return json_response({"orderId": order_id, "status": OrderStatus.CANCELLED.value}, 200)
    try:
        await client.raise_event(order_id, CANCEL_EVENT, {"orderId": order_id})
    except Exception as error:  # noqa: BLE001 - the mark on the order still stops the pivot
        log.warning("order %s: cancel event not delivered (%s); the order mark stands", order_id, error)
    return json_response({"orderId": order_id, "status": "CANCELLATION_REQUESTED"}, 202,
                         {"Location": f"{_origin(req)}/api/orders/{order_id}"})


@bp.route(route="inventory/{sku}", methods=["PUT"], auth_level=func.AuthLevel.ADMIN)
@json_errors
async def put_inventory(req: func.HttpRequest) -> func.HttpResponse:
    sku = path_id(req, "sku")
    level = parse_body(req, StockLevel)
    return json_response(await inventory_repository.set_available(await get_store(), sku, level.available,
                                                                   level.buckets))


@bp.route(route="inventory/{sku}", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
@json_errors
async def get_inventory(req: func.HttpRequest) -> func.HttpResponse:
    sku = path_id(req, "sku")
    view = await inventory_repository.read_stock(await get_store(), sku)
    if view is None:
        raise HttpError(404, "SKU_NOT_FOUND", f"no sku {sku}", [{"field": "sku", "message": "unknown"}])
    return json_response(view)
