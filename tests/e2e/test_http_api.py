"""The HTTP API over real HTTP on devhost: validation, idempotency, errors, auth."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devhost.worker_loop import on_worker_loop
from ordersaga.cosmos_store import EtagDecision
from tests.e2e.conftest import StartApp, on_app_loop_store
from tests.e2e.fake_aws import FakePaymentService

pytestmark = pytest.mark.integration

GOOD = {"customerId": "c-1", "currency": "EUR", "items": [{"sku": "SKU-1", "quantity": 1, "unitPrice": "5.00"}]}


@pytest.fixture
async def app(start_app: StartApp):
    aws = FakePaymentService()
    client = await start_app(activity_overrides=aws.overrides())
    aws.host = client.host
    await client.stock("SKU-1", 100)
    return client


async def test_an_accepted_order_answers_202_with_where_to_look(app) -> None:
    status, body, headers = await app.call("POST", "/api/orders", json=GOOD)
    assert status == 202
    assert headers["Location"] == body["statusUrl"] == f"{app.base}/api/orders/{body['orderId']}"
    assert body["management"]["id"] == body["orderId"]
    assert "statusQueryGetUri" in body["management"] and "terminatePostUri" in body["management"]
    view = await app.finished(body["orderId"])
    assert view["status"] == "COMPLETED"


async def test_invalid_fields_are_each_named(app) -> None:
    bad = {"customerId": "", "currency": "EURO", "items": [{"sku": "SKU-1", "quantity": 0, "unitPrice": "1.5x"}]}
    status, body, _ = await app.call("POST", "/api/orders", json=bad)
    assert status == 400 and body["error"]["code"] == "VALIDATION_FAILED"
    assert {d["field"] for d in body["error"]["details"]} == {
        "customerId", "currency", "items[0].quantity", "items[0].unitPrice"}


@pytest.mark.parametrize(("data", "content_type", "status", "code"), [
    (b"{not json", "application/json", 400, "INVALID_JSON"),
    (b"[1, 2]", "application/json", 400, "VALIDATION_FAILED"),
    (b'{"customerId": "c"}', "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
    (b'{"pad": "' + b"x" * 70_000 + b'"}', "application/json", 413, "BODY_TOO_LARGE"),
])
async def test_malformed_bodies_get_structured_errors(app, data: bytes, content_type: str, status: int,
                                                      code: str) -> None:
    got, body, _ = await app.call("POST", "/api/orders", data=data, headers={"Content-Type": content_type})
    assert (got, body["error"]["code"]) == (status, code)
    assert body["error"]["details"], "every error names what was wrong"


async def post_raw(app, key: str, body: dict) -> tuple[int, bytes, Any]:
    """POST /api/orders and the answer as sent: status, body bytes, headers."""
    headers = {"x-functions-key": app.function_key, "Idempotency-Key": key}
    async with app.http.post(f"{app.base}/api/orders", json=body, headers=headers) as response:
        return response.status, await response.read(), response.headers


def replay_headers(headers: Any) -> dict[str, str | None]:
    return {name: headers.get(name) for name in ("Location", "Retry-After", "Content-Type", "Idempotent-Replayed")}


async def test_a_repeated_post_with_the_same_idempotency_key_gets_the_original_202_again(app) -> None:
    """The IETF Idempotency-Key draft: a replay gets the original response. A client following
    the asynchronous request-reply pattern (202 + Location + Retry-After, poll until done) must
    not read the repeat as "finished": same status, same bytes, same Location and Retry-After,
    plus the Idempotent-Replayed marker — while the saga runs and after it has finished."""
    first = await post_raw(app, "abc-123", GOOD)
    second = await post_raw(app, "abc-123", GOOD)
    assert first[0] == second[0] == 202
    assert second[1] == first[1], "byte for byte the original body"
    original = replay_headers(first[2])
    assert original["Idempotent-Replayed"] is None and original["Location"] and original["Retry-After"] == "2"
    assert replay_headers(second[2]) == original | {"Idempotent-Replayed": "true"}
    order_id = json.loads(first[1])["orderId"]
    await app.finished(order_id)
    after = await post_raw(app, "abc-123", GOOD)
    assert (after[0], after[1], replay_headers(after[2])) == (202, first[1], replay_headers(second[2]))
    stock = await app.inventory("SKU-1")
    assert stock["sold"] == 1, "one order, one sale"
    other = GOOD | {"items": [{"sku": "SKU-1", "quantity": 2, "unitPrice": "5.00"}]}
    status, body, _ = await app.call("POST", "/api/orders", json=other, headers={"Idempotency-Key": "abc-123"})
    assert status == 422 and body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    status, body, _ = await app.call("POST", "/api/orders", json=GOOD, headers={"Idempotency-Key": "bad key\u00e9"})
    assert status == 400 and body["error"]["details"][0]["field"] == "Idempotency-Key"


async def test_a_replay_without_the_stored_answer_rebuilds_the_same_202(app) -> None:
    """The claim keeps the 202; where it has none (expired, or keeping it failed), the repeat
    gets the 202 rebuilt from the order id and host: the same bytes all the same."""
    first = await post_raw(app, "rebuild-1", GOOD)
    assert first[0] == 202
    order_id = json.loads(first[1])["orderId"]
    store = await on_app_loop_store()
    claim = await on_worker_loop(store.read, store.inbox, f"idempotency~{order_id}")
    assert claim and claim["response"]["body"] == first[1].decode(), "the claim keeps the 202 it answered"

    def forget(current: dict | None) -> EtagDecision:
        assert current is not None
        return EtagDecision({k: v for k, v in current.items() if k != "response"})

    await on_worker_loop(store.update_with_etag, store.inbox, f"idempotency~{order_id}", forget)
    again = await post_raw(app, "rebuild-1", GOOD)
    assert (again[0], again[1]) == (202, first[1])
    assert replay_headers(again[2]) == replay_headers(first[2]) | {"Idempotent-Replayed": "true"}
    await app.finished(order_id)


async def test_unknown_orders_and_skus_are_404_json(app) -> None:
    for path, admin in (("/api/orders/ord-nope", False), ("/api/inventory/NOPE", True)):
        status, body, _ = await app.call("GET", path, admin=admin)
        assert status == 404 and body["error"]["code"].endswith("NOT_FOUND")
    status, body, _ = await app.call("POST", "/api/orders/ord-nope/cancel")
    assert status == 404
    status, body, _ = await app.call("GET", "/api/orders/..%2F..%2Fetc")
    assert status in (400, 404) and "error" in (body or {"error": 1})


async def test_requests_without_the_right_key_are_refused(app) -> None:
    async with app.http.post(f"{app.base}/api/orders", json=GOOD) as response:
        assert response.status == 401
    status, _, _ = await app.call("PUT", "/api/inventory/SKU-1", json={"available": 1})  # function key, not admin
    assert status == 401
    assert (await app.inventory("SKU-1"))["available"] == 100


async def test_stock_admin_validates_its_body(app) -> None:
    status, body, _ = await app.call("PUT", "/api/inventory/SKU-2", admin=True, json={"available": -1})
    assert status == 400 and body["error"]["details"][0]["field"] == "available"
    status, body, _ = await app.call("PUT", "/api/inventory/SKU-2", admin=True, json={"available": 7})
    assert status == 200 and body == {"sku": "SKU-2", "available": 7, "reserved": 0, "sold": 0, "buckets": 1,
                                         "reservations": {}}
