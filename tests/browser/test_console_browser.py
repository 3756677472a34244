"""The saga console in a real browser (chromium via Playwright) against the app on devhost:
an order's steps appear, a parked saga is retried from the console, and a refused action
says why."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Dialog, Page, expect

from tests.e2e.conftest import AppClient, StartApp
from tests.e2e.fake_aws import FakePaymentService
from tests.e2e.test_operator_and_sweeper import parked_order, resolve

pytestmark = pytest.mark.integration

TIMEOUT_MS = 30_000


async def console_page(browser: Browser, app: AppClient, path: str) -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)

    async def confirm(dialog: Dialog) -> None:  # the console asks before every action
        await dialog.accept()

    page.on("dialog", confirm)
    separator = "&" if "?" in path else "?"
    await page.goto(f"{app.base}{path}{separator}code={app.master_key}")
    return page


async def test_a_placed_order_shows_its_steps_in_the_console(start_app: StartApp, browser: Browser,
                                                             screenshots: Path) -> None:
    aws = FakePaymentService(reply="PaymentReserved")
    app = await start_app(activity_overrides=aws.overrides())
    aws.host = app.host
    await app.stock("SKU-1", 5)
    order_id = await app.place(("SKU-1", 2))

    page = await console_page(browser, app, "/api/console")
    await page.get_by_role("link", name=order_id).click()
    await expect(page.locator("#order-id")).to_have_text(order_id)
    # A running saga refreshes itself until the last step is there.
    await expect(page.locator('[data-step="complete_order"]')).to_be_visible()
    await expect(page.locator("#order-status")).to_have_text("COMPLETED")
    await expect(page.locator('[data-step="confirm_order"] .pivot-mark')).to_be_visible()
    await page.screenshot(path=str(screenshots / "console-saga.png"), full_page=True)
    await page.goto(f"{app.base}/api/console?code={app.master_key}")
    await page.screenshot(path=str(screenshots / "console-orders.png"), full_page=True)


async def test_a_parked_saga_is_retried_from_the_console(start_app: StartApp, browser: Browser,
                                                         screenshots: Path) -> None:
    app, order_id, outage, _ = await parked_order(start_app)
    page = await console_page(browser, app, f"/api/console/orders/{order_id}")
    await expect(page.locator("#order-status")).to_have_text("NEEDS_ATTENTION")
    await expect(page.locator("#last-error")).to_contain_text("undoing reserve_inventory")
    await page.screenshot(path=str(screenshots / "console-parked.png"), full_page=True)

    outage.down = False  # the inventory service is back
    await page.get_by_label("Reason (required)").fill("inventory service restored")
    await page.locator("#retry").click()
    await expect(page.locator("#order-status")).to_have_text("CANCELLED")
    await expect(page.locator("#timeline")).to_contain_text("inventory service restored")
    await expect(page.locator('[data-step="undo:reserve_inventory"]')).to_be_visible()
    await page.screenshot(path=str(screenshots / "console-retried.png"), full_page=True)


async def test_a_refused_action_shows_why(start_app: StartApp, browser: Browser, screenshots: Path) -> None:
    app, order_id, _, _ = await parked_order(start_app)
    page = await console_page(browser, app, f"/api/console/orders/{order_id}")
    await expect(page.locator("#retry")).to_be_visible()
    # Another operator resolves it while this page is open: the retry is now refused.
    status, answer = await resolve(app, order_id, {"action": "mark-compensated", "reason": "refunded by hand"})
    assert status == 200, answer
    await page.get_by_label("Reason (required)").fill("try again")
    await page.locator("#retry").click()
    await expect(page.locator("#message")).to_contain_text("Refused (409 NOT_PARKED)")
    await expect(page.locator("#message")).to_contain_text("not NEEDS_ATTENTION")
    await page.screenshot(path=str(screenshots / "console-refused.png"), full_page=True)


async def test_a_declined_order_is_found_by_its_status_and_says_why(start_app: StartApp, browser: Browser,
                                                                   screenshots: Path) -> None:
    aws = FakePaymentService(reply="PaymentDeclined", reason="card expired")
    app = await start_app(activity_overrides=aws.overrides())
    aws.host = app.host
    await app.stock("SKU-1", 5)
    order_id = await app.place(("SKU-1", 1))
    await app.host.wait_for_completion(order_id, timeout=30)

    page = await console_page(browser, app, "/api/console")
    await page.locator('select[name="status"]').select_option("CANCELLED")
    await page.get_by_role("button", name="Show").click()
    await page.get_by_role("link", name=order_id).click()
    await expect(page.locator("#order-status")).to_have_text("CANCELLED")
    await expect(page.locator("#last-error")).to_contain_text("card expired")
    await expect(page.locator("#last-error")).to_contain_text("PAYMENT_DECLINED")
    await page.screenshot(path=str(screenshots / "console-declined.png"), full_page=True)
