"""Hostile input at the HTTP API, over real HTTP on devhost with Cosmos behind it: a corpus of
bad requests plus property-based fuzzing (hypothesis) of order bodies and of the ids in paths.

Every answer is a success or a 4xx JSON error `{"error": {"code", "message", "details":
[{"field", "message"}]}}` naming the field at fault — never a 5xx — and refused input leaves
nothing behind: no order document, no orchestration, no reservation, no stock change.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devhost.worker_loop import on_worker_loop
from tests.e2e.conftest import AppClient, StartApp, on_app_loop_store
from tests.e2e.fake_aws import FakePaymentService
from triggers.http_api import order_id_for

pytestmark = pytest.mark.integration

GOOD_ITEM = {"sku": "SKU-1", "quantity": 1, "unitPrice": "5.00"}
GOOD = {"customerId": "c-1", "currency": "EUR", "items": [GOOD_ITEM]}
NASTY_IDS = ["../../etc/passwd", "..%2F..%2Fetc", "..", ".", "' OR 1=1 --", "<script>alert(1)</script>", "a" * 65,
             "x\u0000y", "%00", "SELECT * FROM c", "${jndi:ldap://x}", "ünïcødé", " ", "a/b", "a\\b", "a#b", "a?b=1",
             "-leading-dash", "\u202eevil", "{{7*7}}", "$where", "a\r\nX-Injected: 1"]


def order_with(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def item_with(**changes: Any) -> dict[str, Any]:
    return order_with(items=[{**GOOD_ITEM, **changes}])


def without(field: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != field}


def quoted(value: str) -> str:
    return urllib.parse.quote(value, safe="")


# (name, method, path, body: bytes as is / anything else as JSON, extra headers)
Request = tuple[str, str, str, Any, dict[str, str]]
CORPUS: list[Request] = [
    ("empty body", "POST", "/api/orders", b"", {}),
    ("invalid JSON", "POST", "/api/orders", b"{\"customerId\": ", {}),
    ("JSON with a trailing comma", "POST", "/api/orders", b'{"customerId": "c-1",}', {}),
    ("not UTF-8", "POST", "/api/orders", b"\xff\xfe{\x00}", {}),
    ("nesting 100k deep", "POST", "/api/orders", b"[" * 100_000 + b"]" * 100_000, {}),
    ("nesting 30k deep, under the size limit", "POST", "/api/orders", b"[" * 30_000 + b"]" * 30_000, {}),
    ("nesting 30k deep in a field", "POST", "/api/orders",
     b'{"customerId": ' + b"[" * 30_000 + b"]" * 30_000 + b"}", {}),
    ("JSON array", "POST", "/api/orders", [GOOD], {}),
    ("JSON string", "POST", "/api/orders", "order", {}),
    ("JSON number", "POST", "/api/orders", 42, {}),
    ("null", "POST", "/api/orders", None, {}),
    ("wrong content type", "POST", "/api/orders", b"customerId=c-1",
     {"Content-Type": "application/x-www-form-urlencoded"}),
    ("JSON sent as text/plain", "POST", "/api/orders", json.dumps(GOOD).encode(), {"Content-Type": "text/plain"}),
    ("no content type", "POST", "/api/orders", json.dumps(GOOD).encode(), {"Content-Type": ""}),
    ("oversized body", "POST", "/api/orders", json.dumps(order_with(note="x" * 70_000)).encode(), {}),
    ("missing customerId", "POST", "/api/orders", without("customerId"), {}),
    ("missing items", "POST", "/api/orders", without("items"), {}),
    ("missing currency", "POST", "/api/orders", without("currency"), {}),
    ("item without sku", "POST", "/api/orders", order_with(items=[{"quantity": 1, "unitPrice": "5.00"}]), {}),
    ("item without quantity", "POST", "/api/orders", order_with(items=[{"sku": "SKU-1", "unitPrice": "5.00"}]), {}),
    ("item without price", "POST", "/api/orders", order_with(items=[{"sku": "SKU-1", "quantity": 1}]), {}),
    ("unknown field", "POST", "/api/orders", order_with(discount="100%"), {}),
    ("unknown field in an item", "POST", "/api/orders", item_with(discount="100%"), {}),
    ("__proto__ field", "POST", "/api/orders", order_with(__proto__={"admin": True}), {}),
    ("customerId a number", "POST", "/api/orders", order_with(customerId=42), {}),
    ("customerId null", "POST", "/api/orders", order_with(customerId=None), {}),
    ("customerId an object", "POST", "/api/orders", order_with(customerId={"$ne": ""}), {}),
    ("items an object", "POST", "/api/orders", order_with(items=GOOD_ITEM), {}),
    ("items a string", "POST", "/api/orders", order_with(items="SKU-1"), {}),
    ("item a string", "POST", "/api/orders", order_with(items=["SKU-1"]), {}),
    ("no items", "POST", "/api/orders", order_with(items=[]), {}),
    ("10k items", "POST", "/api/orders",
     order_with(items=[{"sku": f"S{i}", "quantity": 1, "unitPrice": "1"} for i in range(10_000)]), {}),
    ("101 items", "POST", "/api/orders",
     order_with(items=[{"sku": f"S{i}", "quantity": 1, "unitPrice": "1"} for i in range(101)]), {}),
    ("duplicate sku lines", "POST", "/api/orders", order_with(items=[GOOD_ITEM, GOOD_ITEM]), {}),
    ("quantity zero", "POST", "/api/orders", item_with(quantity=0), {}),
    ("quantity negative", "POST", "/api/orders", item_with(quantity=-5), {}),
    ("quantity just over the limit", "POST", "/api/orders", item_with(quantity=10_001), {}),
    ("quantity huge", "POST", "/api/orders", item_with(quantity=10**30), {}),
    ("quantity 2^63", "POST", "/api/orders", item_with(quantity=2**63), {}),
    ("quantity a float", "POST", "/api/orders", item_with(quantity=1.5), {}),
    ("quantity 1.0", "POST", "/api/orders", item_with(quantity=1.0), {}),
    ("quantity a string", "POST", "/api/orders", item_with(quantity="1"), {}),
    ("quantity a bool", "POST", "/api/orders", item_with(quantity=True), {}),
    ("quantity null", "POST", "/api/orders", item_with(quantity=None), {}),
    ("quantity NaN literal", "POST", "/api/orders",
     json.dumps(GOOD).replace('"quantity": 1', '"quantity": NaN').encode(), {}),
    ("quantity Infinity literal", "POST", "/api/orders",
     json.dumps(GOOD).replace('"quantity": 1', '"quantity": Infinity').encode(), {}),
    ("price not decimal", "POST", "/api/orders", item_with(unitPrice="abc"), {}),
    ("price with a comma", "POST", "/api/orders", item_with(unitPrice="5,00"), {}),
    ("price with a currency sign", "POST", "/api/orders", item_with(unitPrice="€5"), {}),
    ("price with spaces", "POST", "/api/orders", item_with(unitPrice=" 5.00 "), {}),
    ("price a number", "POST", "/api/orders", item_with(unitPrice=5.0), {}),
    ("price negative", "POST", "/api/orders", item_with(unitPrice="-5.00"), {}),
    ("price zero", "POST", "/api/orders", item_with(unitPrice="0"), {}),
    ("price 0.00", "POST", "/api/orders", item_with(unitPrice="0.00"), {}),
    ("price exponent", "POST", "/api/orders", item_with(unitPrice="1e9"), {}),
    ("price NaN", "POST", "/api/orders", item_with(unitPrice="NaN"), {}),
    ("price Infinity", "POST", "/api/orders", item_with(unitPrice="Infinity"), {}),
    ("price too precise", "POST", "/api/orders", item_with(unitPrice="1.123456"), {}),
    ("price with 13 integer digits", "POST", "/api/orders", item_with(unitPrice="1234567890123"), {}),
    ("price hexadecimal", "POST", "/api/orders", item_with(unitPrice="0x10"), {}),
    ("price with leading zeros", "POST", "/api/orders", item_with(unitPrice="007.00"), {}),
    ("unknown currency", "POST", "/api/orders", order_with(currency="XXY"), {}),
    ("currency a word", "POST", "/api/orders", order_with(currency="euro"), {}),
    ("currency a number", "POST", "/api/orders", order_with(currency=978), {}),
    ("currency empty", "POST", "/api/orders", order_with(currency=""), {}),
    ("Idempotency-Key too long", "POST", "/api/orders", GOOD, {"Idempotency-Key": "x" * 129}),
    ("Idempotency-Key with spaces", "POST", "/api/orders", GOOD, {"Idempotency-Key": "a b"}),
    ("Idempotency-Key empty", "POST", "/api/orders", GOOD, {"Idempotency-Key": ""}),
    ("Idempotency-Key with a tab", "POST", "/api/orders", GOOD, {"Idempotency-Key": "a\tb"}),
    ("Idempotency-Key latin-1", "POST", "/api/orders", GOOD, {"Idempotency-Key": "clé"}),
    *[(f"customerId {bad!r}", "POST", "/api/orders", order_with(customerId=bad), {}) for bad in NASTY_IDS],
    *[(f"sku {bad!r}", "POST", "/api/orders", item_with(sku=bad), {}) for bad in NASTY_IDS],
    *[(f"order id in path {bad!r}", "GET", f"/api/orders/{quoted(bad)}", None, {}) for bad in NASTY_IDS],
    *[(f"cancel id in path {bad!r}", "POST", f"/api/orders/{quoted(bad)}/cancel", None, {}) for bad in NASTY_IDS],
    *[(f"resolve id in path {bad!r}", "POST", f"/api/orders/{quoted(bad)}/resolve",
       {"action": "retry", "reason": "x"}, {}) for bad in NASTY_IDS],
    *[(f"sku in path {bad!r}", "PUT", f"/api/inventory/{quoted(bad)}", {"available": 1}, {}) for bad in NASTY_IDS],
    *[(f"sku in path, read {bad!r}", "GET", f"/api/inventory/{quoted(bad)}", None, {}) for bad in NASTY_IDS],
    ("unknown order", "GET", "/api/orders/ord-nobody", None, {}),
    ("cancel an unknown order", "POST", "/api/orders/ord-nobody/cancel", None, {}),
    ("unknown sku", "GET", "/api/inventory/NOPE-1", None, {}),
    ("stock negative", "PUT", "/api/inventory/SKU-1", {"available": -1}, {}),
    ("stock a string", "PUT", "/api/inventory/SKU-1", {"available": "10"}, {}),
    ("stock a float", "PUT", "/api/inventory/SKU-1", {"available": 10.5}, {}),
    ("stock huge", "PUT", "/api/inventory/SKU-1", {"available": 10**12}, {}),
    ("stock extra field", "PUT", "/api/inventory/SKU-1", {"available": 1, "sold": 0}, {}),
    ("stock missing", "PUT", "/api/inventory/SKU-1", {}, {}),
    ("stock as text/plain", "PUT", "/api/inventory/SKU-1", b'{"available": 1}', {"Content-Type": "text/plain"}),
    ("stock invalid JSON", "PUT", "/api/inventory/SKU-1", b'{"available": ', {}),
    ("stock nesting 30k deep", "PUT", "/api/inventory/SKU-1", b'{"available": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
     {}),
    ("resolve unknown action", "POST", "/api/orders/ord-x/resolve", {"action": "delete", "reason": "x"}, {}),
    ("resolve without reason", "POST", "/api/orders/ord-x/resolve", {"action": "retry"}, {}),
    ("resolve invalid JSON", "POST", "/api/orders/ord-x/resolve", b"{", {}),
    ("list by unknown status", "GET", "/api/orders?status=%27%20OR%201%3D1", None, {}),
    # The saga console (HTML pages; their refusals are the same JSON errors).
    *[(f"console saga id in path {bad!r}", "GET", f"/api/console/orders/{quoted(bad)}", None, {}) for bad in NASTY_IDS],
    ("console unknown order", "GET", "/api/console/orders/ord-nobody", None, {}),
    ("console unknown status", "GET", f"/api/console?status={quoted('<script>alert(1)</script>')}", None, {}),
    ("console status injection", "GET", "/api/console?status=%27%20OR%201%3D1", None, {}),
    ("console unknown range", "GET", "/api/console?range=" + quoted('" onmouseover=alert(1)'), None, {}),
    ("console search too long", "GET", f"/api/console?q={'x' * 201}", None, {}),
    ("console page token too long", "GET", f"/api/console?page={'x' * 4097}", None, {}),
]

# Shown back on the console page: every one must come back as text, never as markup.
XSS_PAYLOADS = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "'><svg onload=alert(1)>",
                "javascript:alert(1)", "</textarea><script>alert(1)</script>", "{{7*7}}", "&lt;script&gt;"]
HTML_SPECIAL = set("<>\"'&")


def send(base: str, key: str, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    """Plain blocking HTTP (hypothesis runs in a worker thread)."""
    data = body if isinstance(body, bytes) or (body is None and method == "GET") else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json", "x-functions-key": key} | headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text.decode(errors="replace")


def assert_well_formed(name: str, status: int, body: Any) -> None:
    """Never a 5xx; every 4xx the app gives is the JSON error shape naming a field. (A 404 for a
    path no route matches — an encoded `/` or a newline — is the host's own plain text, as on Azure.)"""
    assert status < 500, f"{name}: server error {status} {body}"
    if status < 400 or (status == 404 and not isinstance(body, dict)):
        return
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), f"{name}: not a JSON error: {body!r:.300}"
    error = body["error"]
    assert error.get("code") and error.get("message"), f"{name}: {body}"
    assert error["details"] and all(d.get("field") and d.get("message") for d in error["details"]), \
        f"{name}: the error names no field: {body}"


def summary(corpus: str, outcomes: Counter[int]) -> str:
    refused = sum(n for status, n in outcomes.items() if 400 <= status < 500)
    accepted = sum(n for status, n in outcomes.items() if status < 400)
    errors = sum(n for status, n in outcomes.items() if status >= 500)
    return (f"[hostile] {corpus}: {sum(outcomes.values())} inputs, {refused} rejected 4xx, {accepted} accepted, "
            f"{errors} server errors (by status {dict(sorted(outcomes.items()))})")


@pytest.fixture
async def app(start_app: StartApp) -> AppClient:
    aws = FakePaymentService()
    client = await start_app(activity_overrides=aws.overrides())
    aws.host = client.host
    await client.stock("SKU-1", 100)
    return client


async def documents(container: str) -> list[dict[str, Any]]:
    store = await on_app_loop_store()
    return await on_worker_loop(store.query, getattr(store, container), "SELECT * FROM c", [])


async def test_a_corpus_of_bad_requests_gets_4xx_json_and_leaves_nothing(
    app: AppClient, capsys: pytest.CaptureFixture[str]
) -> None:
    stock_before = await documents("inventory")
    outcomes: Counter[int] = Counter()
    for name, method, path, body, headers in CORPUS:
        status, answer = await asyncio.to_thread(send, app.base, app.master_key, method, path, body, headers)
        outcomes[status] += 1
        assert_well_formed(name, status, answer)
        assert status >= 400, f"{name}: accepted with {status}: {answer}"

    assert await documents("orders") == [], "a refused request created an order"
    assert await documents("inventory") == stock_before, "a refused request reserved or restocked"
    assert await app.host.get_status(order_id_for(None)) is None
    with capsys.disabled():
        print("\n" + summary("http", outcomes))


async def test_the_console_shows_hostile_search_text_escaped(app: AppClient) -> None:
    for payload in [*XSS_PAYLOADS, *NASTY_IDS]:
        status, page = await asyncio.to_thread(send, app.base, app.master_key, "GET",
                                               f"/api/console?q={quoted(payload)}", None, {})
        assert status == 200, (payload, page)
        assert isinstance(page, str)
        searched = payload.strip()
        if HTML_SPECIAL & set(searched):
            assert searched not in page, f"{payload!r} came back unescaped"
        if searched and "\x00" not in searched:
            assert searched in html.unescape(page), f"{payload!r} was not shown back"


async def test_one_idempotency_key_raced_with_six_bodies_starts_one_order(app: AppClient) -> None:
    """Six clients send different orders under one Idempotency-Key at the same moment: one is
    accepted, the others are told the key belongs to another order; the one order has the
    accepted body and completes, and no stock is held for the refused ones. Three identical
    requests at once start one saga too."""
    await app.stock("SKU-2", 100)
    bodies = [order_with(items=[{"sku": f"SKU-{1 + i % 2}", "quantity": 1 + i, "unitPrice": "5.00"}])
              for i in range(6)]
    answers = await asyncio.gather(*(app.call("POST", "/api/orders", json=body, headers={"Idempotency-Key": "race-1"})
                                     for body in bodies))
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [202, 422, 422, 422, 422, 422], [(s, b) for s, b, _ in answers]
    winner = next(body for body, (status, _, _) in zip(bodies, answers, strict=True) if status == 202)
    view = await app.finished(order_id_for("race-1"))
    assert view["status"] == "COMPLETED" and view["items"] == winner["items"]
    # The same body three times at once: one saga; the others are the replay of its 202
    # (marked Idempotent-Replayed) or "retry" (409 while the first is still starting it).
    copies = await asyncio.gather(*(app.call("POST", "/api/orders", json=GOOD, headers={"Idempotency-Key": "race-2"})
                                    for _ in range(3)))
    originals = [(body, headers) for status, body, headers in copies
                 if status == 202 and "Idempotent-Replayed" not in headers]
    assert len(originals) == 1 and {s for s, _, _ in copies} <= {202, 409}, [(s, b) for s, b, _ in copies]
    for status, body, headers in copies:
        if status == 202 and "Idempotent-Replayed" in headers:
            assert body == originals[0][0] and headers["Location"] == originals[0][1]["Location"]
    assert (await app.finished(order_id_for("race-2")))["status"] == "COMPLETED"
    for sku in ("SKU-1", "SKU-2"):
        stock = await app.inventory(sku)
        assert stock["reserved"] == 0 and stock["available"] + stock["sold"] == 100
    assert (await app.inventory("SKU-1"))["sold"] == sum(
        item["quantity"] for item in winner["items"] + GOOD["items"] if item["sku"] == "SKU-1")


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
FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


async def test_fuzzed_orders_never_get_a_server_error_or_half_an_order(
    app: AppClient, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes: Counter[int] = Counter()
    refused_keys: list[str] = []
    accepted_ids: set[str] = set()
    keys = itertools.count()

    @FUZZ
    @given(body=bodies)
    def post_order(body: Any) -> None:
        key = f"fuzz-{next(keys)}"  # one key per example: a refusal must leave nothing under it
        status, answer = send(app.base, app.function_key, "POST", "/api/orders", body, {"Idempotency-Key": key})
        outcomes[status] += 1
        assert_well_formed(f"fuzzed {body!r:.200}", status, answer)
        if status >= 400:
            refused_keys.append(key)
        else:
            accepted_ids.add(answer["orderId"])

    await asyncio.to_thread(post_order)

    orders = {doc["id"] for doc in await documents("orders")}
    for key in refused_keys:
        order_id = order_id_for(key)
        assert order_id not in orders, f"{key}: refused, yet an order document exists"
        assert await app.host.get_status(order_id) is None, f"{key}: refused, yet a saga was started"
    assert orders <= accepted_ids
    for stock in await documents("inventory"):
        held = set(stock.get("reservations") or {}) | set(stock.get("settled") or {})
        assert held <= accepted_ids, f"{stock['id']}: units held for orders that were refused: {held - accepted_ids}"
    with capsys.disabled():
        print("\n" + summary("http fuzz (hypothesis, order bodies)", outcomes))


path_ids = st.one_of(st.text(min_size=1, max_size=80), st.sampled_from(NASTY_IDS),
                     st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,70}", fullmatch=True))


async def test_fuzzed_ids_in_paths_never_get_a_server_error_or_a_write(
    app: AppClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """Any text as orderId or sku in the path: 400 for ids outside the safe alphabet, 404 for
    unknown ones, never a 5xx; reads and cancellations of unknown orders write nothing."""
    stock_before = await documents("inventory")
    outcomes: Counter[int] = Counter()

    @FUZZ
    @given(value=path_ids, route=st.sampled_from(["GET /api/orders/{}", "POST /api/orders/{}/cancel",
                                                  "GET /api/inventory/{}"]))
    def call(value: str, route: str) -> None:
        method, template = route.split(" ")
        status, answer = send(app.base, app.master_key, method, template.format(quoted(value)), None, {})
        outcomes[status] += 1
        assert_well_formed(f"{route} with {value!r}", status, answer)
        assert status in (400, 404), f"{route} with {value!r}: {status} {answer}"

    await asyncio.to_thread(call)
    assert await documents("orders") == []
    assert await documents("inventory") == stock_before
    with capsys.disabled():
        print("\n" + summary("http fuzz (hypothesis, ids in paths)", outcomes))
