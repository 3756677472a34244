"""Hostile input at the HTTP API, over real HTTP on devhost with Cosmos behind it: a corpus
of bad requests plus property-based fuzzing (hypothesis). Every answer is a success or a 4xx
JSON error that names a field — never a 5xx — and a refused request leaves nothing behind
(no order document, no saga, no reservation)."""

from __future__ import annotations

import asyncio
import itertools
import json
import urllib.error
import urllib.request
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devhost.worker_loop import on_worker_loop
from ordersaga import order_repository
from tests.e2e.conftest import AppClient, StartApp, on_app_loop_store
from tests.e2e.fake_aws import FakePaymentService
from triggers.http_api import order_id_for

pytestmark = pytest.mark.integration

GOOD_ITEM = {"sku": "SKU-1", "quantity": 1, "unitPrice": "5.00"}
GOOD = {"customerId": "c-1", "currency": "EUR", "items": [GOOD_ITEM]}
NASTY_IDS = ["../../etc/passwd", "..%2F..%2Fetc", "' OR 1=1 --", "<script>alert(1)</script>", "a" * 65,
             "x\u0000y", "%00", "SELECT * FROM c", "${jndi:ldap://x}", "ünïcødé", " ", "a/b", "a\\b"]


def order_with(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def item_with(**changes: Any) -> dict[str, Any]:
    return order_with(items=[{**GOOD_ITEM, **changes}])


# (name, method, path, body bytes or JSON, extra headers)
CORPUS: list[tuple[str, str, str, Any, dict[str, str]]] = [
    ("empty body", "POST", "/api/orders", b"", {}),
    ("invalid JSON", "POST", "/api/orders", b"{\"customerId\": ", {}),
    ("JSON array", "POST", "/api/orders", [GOOD], {}),
    ("JSON string", "POST", "/api/orders", "order", {}),
    ("null", "POST", "/api/orders", None, {}),
    ("wrong content type", "POST", "/api/orders", b"customerId=c-1",
     {"Content-Type": "application/x-www-form-urlencoded"}),
    ("no content type", "POST", "/api/orders", json.dumps(GOOD).encode(), {"Content-Type": ""}),
    ("oversized body", "POST", "/api/orders", json.dumps(order_with(note="x" * 70_000)).encode(), {}),
    ("missing customerId", "POST", "/api/orders", {k: v for k, v in GOOD.items() if k != "customerId"}, {}),
    ("missing items", "POST", "/api/orders", {k: v for k, v in GOOD.items() if k != "items"}, {}),
    ("missing currency", "POST", "/api/orders", {k: v for k, v in GOOD.items() if k != "currency"}, {}),
    ("unknown field", "POST", "/api/orders", order_with(discount="100%"), {}),
    ("customerId a number", "POST", "/api/orders", order_with(customerId=42), {}),
    ("items an object", "POST", "/api/orders", order_with(items=GOOD_ITEM), {}),
    ("no items", "POST", "/api/orders", order_with(items=[]), {}),
    ("10k items", "POST", "/api/orders",
     order_with(items=[{"sku": f"S{i}", "quantity": 1, "unitPrice": "1"} for i in range(10_000)]), {}),
    ("101 items", "POST", "/api/orders",
     order_with(items=[{"sku": f"S{i}", "quantity": 1, "unitPrice": "1"} for i in range(101)]), {}),
    ("duplicate sku lines", "POST", "/api/orders", order_with(items=[GOOD_ITEM, GOOD_ITEM]), {}),
    ("quantity zero", "POST", "/api/orders", item_with(quantity=0), {}),
    ("quantity negative", "POST", "/api/orders", item_with(quantity=-5), {}),
    ("quantity huge", "POST", "/api/orders", item_with(quantity=10**30), {}),
    ("quantity a float", "POST", "/api/orders", item_with(quantity=1.5), {}),
    ("quantity a string", "POST", "/api/orders", item_with(quantity="1"), {}),
    ("quantity a bool", "POST", "/api/orders", item_with(quantity=True), {}),
    ("price not decimal", "POST", "/api/orders", item_with(unitPrice="abc"), {}),
    ("price a number", "POST", "/api/orders", item_with(unitPrice=5.0), {}),
    ("price negative", "POST", "/api/orders", item_with(unitPrice="-5.00"), {}),
    ("price zero", "POST", "/api/orders", item_with(unitPrice="0"), {}),
    ("price exponent", "POST", "/api/orders", item_with(unitPrice="1e9"), {}),
    ("price NaN", "POST", "/api/orders", item_with(unitPrice="NaN"), {}),
    ("price Infinity", "POST", "/api/orders", item_with(unitPrice="Infinity"), {}),
    ("price too precise", "POST", "/api/orders", item_with(unitPrice="1.123456"), {}),
    ("unknown currency", "POST", "/api/orders", order_with(currency="XXY"), {}),
    ("currency lower case word", "POST", "/api/orders", order_with(currency="euro"), {}),
    ("bad Idempotency-Key", "POST", "/api/orders", GOOD, {"Idempotency-Key": "x" * 200}),
    ("Idempotency-Key with spaces", "POST", "/api/orders", GOOD, {"Idempotency-Key": "a b"}),
    *[(f"customerId {i}", "POST", "/api/orders", order_with(customerId=bad), {}) for i, bad in enumerate(NASTY_IDS)],
    *[(f"sku {i}", "POST", "/api/orders", item_with(sku=bad), {}) for i, bad in enumerate(NASTY_IDS)],
    *[(f"order id in path {i}", "GET", f"/api/orders/{urllib.request.quote(bad, safe='')}", None, {})
      for i, bad in enumerate(NASTY_IDS)],
    *[(f"cancel id in path {i}", "POST", f"/api/orders/{urllib.request.quote(bad, safe='')}/cancel", None, {})
      for i, bad in enumerate(NASTY_IDS)],
    *[(f"sku in path {i}", "PUT", f"/api/inventory/{urllib.request.quote(bad, safe='')}", {"available": 1}, {})
      for i, bad in enumerate(NASTY_IDS)],
    ("stock negative", "PUT", "/api/inventory/SKU-1", {"available": -1}, {}),
    ("stock a string", "PUT", "/api/inventory/SKU-1", {"available": "10"}, {}),
    ("stock huge", "PUT", "/api/inventory/SKU-1", {"available": 10**12}, {}),
    ("stock extra field", "PUT", "/api/inventory/SKU-1", {"available": 1, "sold": 0}, {}),
    ("resolve unknown action", "POST", "/api/orders/ord-x/resolve", {"action": "delete", "reason": "x"}, {}),
    ("list by unknown status", "GET", "/api/orders?status=%27%20OR%201%3D1", None, {}),
]


def send(base: str, key: str, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    """Plain blocking HTTP (the hypothesis runs in a worker thread), with the admin key."""
    data = body if isinstance(body, bytes) or (body is None and method == "GET") else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json", "x-functions-key": key} | headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text.decode(errors="replace")


def assert_well_formed(name: str, status: int, body: Any) -> None:
    """Never a 5xx; every 4xx from the app is the JSON error shape, naming a field where the
    input was at fault. (401 and a 404 for a path no route matches come from the host, bodyless.)"""
    assert status < 500, f"{name}: server error {status} {body}"
    if status < 400 or status == 401 or (status == 404 and not isinstance(body, dict)):
        return
    assert isinstance(body, dict) and body["error"]["code"] and body["error"]["message"], f"{name}: {body}"
    if status in (400, 413, 415, 422):
        assert body["error"]["details"] and all(d["field"] for d in body["error"]["details"]), f"{name}: {body}"


@pytest.fixture
async def app(start_app: StartApp) -> AppClient:
    aws = FakePaymentService()
    client = await start_app(activity_overrides=aws.overrides())
    aws.host = client.host
    await client.stock("SKU-1", 100)
    return client


async def orders_in_cosmos() -> int:
    store = await on_app_loop_store()
    rows = await on_worker_loop(store.query, store.orders, "SELECT VALUE COUNT(1) FROM c", [])
    return int(rows[0]) if rows else 0


async def test_a_corpus_of_bad_requests_gets_4xx_json_and_leaves_nothing(
    app: AppClient, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes: Counter[str] = Counter()
    for name, method, path, body, headers in CORPUS:
        status, answer = await asyncio.to_thread(send, app.base, app.master_key, method, path, body, headers)
        assert_well_formed(name, status, answer)
        assert status >= 400, f"{name}: accepted with {status}"
        outcomes[f"{status}"] += 1
    assert await orders_in_cosmos() == 0, "a refused request created an order"
    stock = await app.inventory("SKU-1")
    assert stock["available"] == 100 and stock["reserved"] == 0
    with capsys.disabled():
        print(f"\n[hostile] http corpus: {len(CORPUS)} inputs, all refused with 4xx JSON: "
              f"{dict(sorted(outcomes.items()))}, 0 server errors, 0 orders created")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)
prices = st.one_of(st.decimals(min_value=-10, max_value=10**13, places=2).map(str), st.text(max_size=12),
                   st.integers(), st.floats(allow_nan=True, allow_infinity=True))
items = st.fixed_dictionaries({"sku": st.one_of(st.sampled_from(["SKU-1", "NOPE-2"]), st.text(max_size=70)),
                               "quantity": st.one_of(st.integers(min_value=-5, max_value=20_000), json_values),
                               "unitPrice": prices})
near_orders = st.fixed_dictionaries(
    {"customerId": st.one_of(st.just("c-1"), st.text(max_size=70)),
     "items": st.one_of(st.lists(items, min_size=0, max_size=5), json_values),
     "currency": st.one_of(st.sampled_from(["EUR", "USD", "XXX", "eur", ""]), st.text(max_size=5))},
    optional={"extra": json_values})
valid_orders = st.fixed_dictionaries(
    {"customerId": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,20}", fullmatch=True),
     "items": st.lists(st.fixed_dictionaries({
         "sku": st.sampled_from(["SKU-1", "NOPE-2", "NOPE-3"]), "quantity": st.integers(min_value=1, max_value=3),
         "unitPrice": st.decimals(min_value="0.01", max_value=100, places=2).map(str)}),
         min_size=1, max_size=3, unique_by=lambda item: item["sku"]),
     "currency": st.sampled_from(["EUR", "USD", "JPY"])})
bodies = st.one_of(valid_orders, near_orders, json_values)


async def test_fuzzed_orders_never_get_a_server_error_or_half_an_order(
    app: AppClient, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes: Counter[int] = Counter()
    refused_keys: list[str] = []

    keys = itertools.count()

    @settings(max_examples=300, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(body=bodies)
    def post_order(body: Any) -> None:
        key = f"fuzz-{next(keys)}"  # one key per example: a refusal must leave nothing under it
        status, answer = send(app.base, app.function_key, "POST", "/api/orders", body, {"Idempotency-Key": key})
        assert_well_formed(f"fuzzed {body!r:.200}", status, answer)
        outcomes[status] += 1
        if status >= 400:
            refused_keys.append(key)

    await asyncio.to_thread(post_order)
    store = await on_app_loop_store()
    accepted = outcomes[202] + outcomes[200]
    for key in set(refused_keys):
        order_id = order_id_for(key)
        assert await on_worker_loop(order_repository.read_order, store, order_id) is None or \
            await app.host.get_status(order_id) is not None, f"{key}: refused but an order exists"
    with capsys.disabled():
        print(f"\n[hostile] http fuzz (hypothesis): {sum(outcomes.values())} inputs, "
              f"{sum(v for k, v in outcomes.items() if k >= 400)} refused 4xx, {accepted} accepted, 0 server errors; "
              f"by status {dict(sorted(outcomes.items()))}")
