"""The console's view arithmetic: histogram buckets, step bars on one time axis, the last
error in words, and that templates escape what they show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import azure.functions as func

from console import render
from triggers.console import HISTOGRAM_BUCKETS, Links, histogram, plain_error, step_bars

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    return (NOW + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def test_histogram_counts_each_order_once_in_its_slice_by_status() -> None:
    rows = [{"status": "COMPLETED", "createdAt": at(-3600)}, {"status": "CANCELLED", "createdAt": at(-1)},
            {"status": "COMPLETED", "createdAt": at(-2)}, {"status": "PENDING", "createdAt": "not a time"}]
    chart = histogram(rows, at(-3600), NOW)
    buckets = chart["buckets"]
    assert len(buckets) == HISTOGRAM_BUCKETS and chart["counted"] == 3
    assert buckets[0]["counts"]["COMPLETED"] == 1
    assert buckets[-1]["counts"] == {"PENDING": 0, "APPROVED": 0, "COMPLETED": 1, "CANCELLED": 1,
                                     "NEEDS_ATTENTION": 0}
    assert buckets[-1]["height"] == 100 and buckets[0]["height"] == 50


def test_step_bars_place_steps_and_undos_on_one_axis() -> None:
    timeline = [{"at": at(0), "step": "create_order", "event": "started"},
                {"at": at(1), "step": "create_order", "event": "completed"},
                {"at": at(1), "step": "confirm_order", "event": "started"},
                {"at": at(3), "step": "confirm_order", "event": "rejected"},
                {"at": at(4), "step": "create_order", "event": "compensated"}]
    bars = {b["step"]: b for b in step_bars(timeline, {"confirm_order": 2}, NOW, running=False)}
    assert list(bars) == ["create_order", "confirm_order", "undo:create_order"]
    assert bars["create_order"]["left"] == 0 and bars["create_order"]["width"] == 25
    assert bars["confirm_order"]["left"] == 25 and bars["confirm_order"]["width"] == 50
    assert bars["confirm_order"]["pivot"] and bars["confirm_order"]["attempts"] == 2
    assert bars["undo:create_order"]["kind"] == "undo" and bars["undo:create_order"]["outcome"] == "compensated"


def test_last_error_in_words() -> None:
    assert plain_error(None) is None
    assert plain_error({"step": "undo:reserve_inventory", "code": "UNDO_FAILED", "message": "down"}) == \
        "While undoing reserve_inventory: down (UNDO_FAILED)."


def test_templates_escape_everything_they_show() -> None:
    request = func.HttpRequest("GET", "http://host/api/console", params={"code": "k&y"}, body=b"")
    hostile = "<script>alert(1)</script>"
    page = render("orders.html", nonce="n", url=Links(request),
                  filters={"status": "", "range": "all", "q": hostile}, page=None, next_page=None,
                  orders=[{"id": hostile, "status": "PENDING", "customerId": hostile, "total": "1", "currency": "EUR",
                           "age": "1s", "createdAt": at(0), "step": None, "cancelRequested": False}],
                  counts={}, histogram=histogram([], None, NOW), statuses=[], ranges=["all"], searchable=False)
    assert hostile not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "code=k%26y" in page  # the key travels on every link, URL-encoded
