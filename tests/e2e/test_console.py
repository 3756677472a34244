"""The saga console over HTTP on devhost with Cosmos behind it: the pages render for admins
only, filters and Cosmos-continuation paging work, and hostile values come back escaped.

Orders for the list are written straight into the orders container (as the saga would
write them), so a page of 25 plus a second page costs no sagas; one real saga shows the
saga view, and the parked-order helper shows the operator section."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import quote

import pytest

from devhost.worker_loop import on_worker_loop
from ordersaga.clock import iso, utc_now
from ordersaga.orders import new_order_document
from tests.e2e.conftest import AppClient, MakeClouds, StartApp, on_app_loop_store
from tests.e2e.fake_aws import FakePaymentService
from tests.e2e.test_operator_and_sweeper import parked_order, resolve

pytestmark = pytest.mark.integration

XSS = "<script>alert('x')</script>"
XSS_ID = "<img src=x onerror=alert(1)>"  # Cosmos ids cannot hold a slash
NEXT_PAGE = re.compile(r'id="next-page" href="([^"]+)"')
ORDER_LINK = re.compile(r'class="order-link" href="/api/console/orders/([^"?]+)')


async def write_orders(count: int, *, status: str = "PENDING", customer: str = "c-1", prefix: str = "ord-list-",
                       minutes_ago: int = 0) -> list[str]:
    store = await on_app_loop_store()
    ids = []
    for i in range(count):
        order_id = f"{prefix}{i:03d}"
        created = iso(utc_now() - timedelta(minutes=minutes_ago, seconds=i))
        doc = new_order_document({"orderId": order_id, "customerId": customer, "currency": "EUR",
                                  "items": [{"sku": "SKU-1", "quantity": 1, "unitPrice": "5.00"}]}, order_id, created)
        doc["status"] = status
        assert await on_worker_loop(store.create, store.orders, doc)
        ids.append(order_id)
    return ids


def shown_escaped(value: str, page: str) -> bool:
    """The value is on the page as text: present once entities are decoded, absent as markup."""
    return value not in page and value in html.unescape(page)


async def page(app: AppClient, path: str) -> tuple[int, str]:
    status, body, _ = await app.call("GET", path, admin=True)
    return status, body if isinstance(body, str) else str(body)


async def test_the_console_needs_the_admin_key(start_app: StartApp) -> None:
    app = await start_app()
    for path in ("/api/console", "/api/console/orders/ord-x"):
        status, _, _ = await app.call("GET", path)  # the function key only
        assert status == 401, path


async def test_orders_page_lists_counts_filters_and_pages_with_continuation_tokens(start_app: StartApp) -> None:
    app = await start_app()
    pending = await write_orders(30)
    parked = await write_orders(2, status="NEEDS_ATTENTION", prefix="ord-parked-", minutes_ago=3 * 60)

    status, first = await page(app, "/api/console")
    assert status == 200
    assert '<span class="n">30</span> PENDING' in first and '<span class="n">2</span> NEEDS_ATTENTION' in first
    shown = ORDER_LINK.findall(first)
    assert len(shown) == 25 and shown[0] == pending[0]  # newest first
    token = NEXT_PAGE.search(first)
    assert token, "a second page is linked"
    status, second = await page(app, html.unescape(token.group(1)))
    assert status == 200
    rest = ORDER_LINK.findall(second)
    assert sorted(shown + rest) == sorted(pending + parked) and not NEXT_PAGE.search(second)

    status, attention = await page(app, "/api/console?status=NEEDS_ATTENTION")
    assert sorted(ORDER_LINK.findall(attention)) == parked
    status, recent = await page(app, "/api/console?range=1h")
    assert ORDER_LINK.findall(recent) == pending[:25]  # the parked ones are 3 h old
    assert '<span class="n">0</span> NEEDS_ATTENTION' in recent
    status, found = await page(app, "/api/console?q=ord-list-02")
    assert sorted(ORDER_LINK.findall(found)) == [i for i in pending if i.startswith("ord-list-02")]


async def test_bad_console_parameters_get_json_errors(start_app: StartApp) -> None:
    app = await start_app()
    for query, field in (("status=SHIPPED", "status"), ("range=forever", "range"), ("q=" + "a" * 201, "q"),
                         ("page=" + "x" * 4097, "page")):
        status, body, _ = await app.call("GET", f"/api/console?{query}", admin=True)
        assert status == 400, (query, body)
        assert body["error"]["details"][0]["field"] == field


async def test_hostile_values_come_back_escaped(start_app: StartApp) -> None:
    app = await start_app()
    # Only the store could hold such values (the API refuses them); the page must still escape them.
    await write_orders(1, customer=XSS, prefix=f"ord-{XSS_ID}-")
    status, listed = await page(app, "/api/console")
    assert status == 200 and shown_escaped(XSS, listed) and shown_escaped(XSS_ID, listed)
    status, searched = await page(app, f"/api/console?q={quote(XSS)}")
    assert status == 200 and shown_escaped(XSS, searched)
    [plain_id] = await write_orders(1, customer=XSS, prefix="ord-plain-")
    status, saga = await page(app, f"/api/console/orders/{plain_id}")
    assert status == 200 and shown_escaped(XSS, saga)
    status, body, _ = await app.call("GET", f"/api/console/orders/{quote(XSS_ID, safe='')}", admin=True)
    assert status == 400 and body["error"]["code"] == "INVALID_ID"


async def test_saga_page_shows_the_steps_of_a_finished_saga(start_app: StartApp) -> None:
    aws = FakePaymentService(reply="PaymentReserved")
    app = await start_app(activity_overrides=aws.overrides())
    aws.host = app.host
    await app.stock("SKU-1", 5)
    order_id = await app.place(("SKU-1", 1))
    view = await app.finished(order_id)
    assert view["status"] == "COMPLETED", view
    status, saga = await page(app, f"/api/console/orders/{order_id}")
    assert status == 200
    steps = re.findall(r'data-step="([^"]+)"', saga)
    assert steps[:4] == ["create_order", "reserve_inventory", "reserve_payment", "confirm_order"]
    assert 'class="row kind-forward pivot" data-step="confirm_order"' in saga
    assert "→ AWS" in saga and 'id="durable-link"' in saga and 'id="actions"' not in saga


async def test_saga_page_of_a_parked_saga_offers_the_operator_actions_and_shows_them(start_app: StartApp) -> None:
    app, order_id, outage, _ = await parked_order(start_app)
    status, saga = await page(app, f"/api/console/orders/{order_id}")
    assert status == 200
    assert 'id="retry"' in saga and 'id="mark-compensated"' in saga
    assert f'data-endpoint="/api/orders/{order_id}/resolve"' in saga
    assert "While undoing reserve_inventory" in saga
    undo_stack = re.search(r'<ol id="undo-stack">(.*?)</ol>', saga, re.S)
    assert undo_stack and undo_stack.group(1).index("release_inventory") < undo_stack.group(1).index("cancel_order")

    outage.down = False
    code, answer = await resolve(app, order_id, {"action": "retry", "reason": "inventory <b>restored</b>"})
    assert code == 202, answer
    await app.host.wait_for_completion(answer["repairInstanceId"], timeout=30)
    status, after = await page(app, f"/api/console/orders/{order_id}")
    assert 'id="actions"' not in after and "CANCELLED" in after
    assert "inventory &lt;b&gt;restored&lt;/b&gt;" in after  # the operator's reason, escaped
    assert 'data-step="undo:reserve_inventory"' in after



async def test_saga_page_shows_the_events_exchanged_with_aws(make_clouds: MakeClouds) -> None:
    clouds = await make_clouds()
    await clouds.stock("SKU-A", 5)
    order_id = await clouds.app.place(("SKU-A", 1), customer="c-rich", price="12.50")
    view = await clouds.app.finished(order_id, timeout=60)
    assert view["status"] == "COMPLETED", view
    status, saga = await page(clouds.app, f"/api/console/orders/{order_id}")
    assert status == 200
    events = re.search(r'<ul id="events">(.*?)</ul>', saga, re.S)
    assert events, saga
    assert "→ AWS" in events.group(1) and "← AWS" in events.group(1) and "PaymentReserved" in events.group(1)


async def test_a_pending_order_offers_cancel_and_a_finished_one_nothing(start_app: StartApp) -> None:
    app = await start_app()
    [pending] = await write_orders(1, prefix="ord-open-")
    [done] = await write_orders(1, status="COMPLETED", prefix="ord-done-")
    status, open_page = await page(app, f"/api/console/orders/{pending}")
    assert status == 200 and f'data-endpoint="/api/orders/{pending}/cancel"' in open_page
    assert 'id="retry"' not in open_page
    status, done_page = await page(app, f"/api/console/orders/{done}")
    assert status == 200 and 'id="actions"' not in done_page
    _, _, headers = await app.call("GET", f"/api/console/orders/{done}", admin=True)
    assert "script-src 'nonce-" in headers["Content-Security-Policy"]
