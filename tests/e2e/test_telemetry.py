"""One saga is one trace, across both clouds: the spans of the HTTP POST, every activity,
each publish to Event Grid, the AWS handlers and the inbound trigger share the caller's
trace id and hang under each other hop by hop; log lines carry the saga's ids.

Spans are collected in memory by an OpenTelemetry SDK provider installed for this process
(the app, devhost and the AWS adapter all run in it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.e2e.conftest import MakeClouds

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{TRACE_ID}-00f067aa0ba902b7-01"

_exporter = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_exporter))
        trace.set_tracer_provider(provider)
    _exporter.clear()
    yield _exporter
    _exporter.clear()


def by_name(collected: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in collected if s.name == name]
    assert len(found) == 1, (name, sorted(s.name for s in collected))
    return found[0]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_one_saga_is_one_trace_from_the_post_to_aws_and_back(
    make_clouds: MakeClouds, spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ordersaga")
    clouds = await make_clouds()
    await clouds.stock("SKU-A", 5)
    order_id = await clouds.app.place(("SKU-A", 1), customer="c-rich", price="9.00", traceparent=CALLER)
    view = await clouds.app.finished(order_id)
    assert view["status"] == "COMPLETED"
    for _ in range(200):  # PaymentCaptured comes back after the saga has finished
        if any(s.name == "receive PaymentCaptured" for s in spans.get_finished_spans()):
            break
        await asyncio.sleep(0.05)
    collected = [s for s in spans.get_finished_spans() if s.context is not None]

    assert {format(s.context.trace_id, "032x") for s in collected} == {TRACE_ID}, "one trace, the caller's"
    post = by_name(collected, "POST /api/orders")
    assert parent_of(post) == int(CALLER.split("-")[2], 16)
    for activity in ("create_order", "reserve_inventory", "request_payment", "confirm_order",
                     "request_payment_capture", "schedule_shipment", "complete_order"):
        assert parent_of(by_name(collected, f"activity {activity}")) == post.context.span_id
    publish = by_name(collected, "publish PaymentReservationRequested")
    assert parent_of(publish) == by_name(collected, "activity request_payment").context.span_id
    handled = by_name(collected, "handle PaymentReservationRequested")
    assert parent_of(handled) == publish.context.span_id, "AWS's span hangs under the publish"
    received = by_name(collected, "receive PaymentReserved")
    assert parent_of(received) == handled.context.span_id, "and the reply's under AWS's handler"
    captured = by_name(collected, "handle PaymentCaptureRequested")
    assert parent_of(by_name(collected, "receive PaymentCaptured")) == captured.context.span_id
    assert by_name(collected, "activity reserve_inventory").attributes["ordersaga.orderId"] == order_id

    ids = {(r.name, getattr(r, "orderId", ""), getattr(r, "eventId", "")) for r in caplog.records
           if r.name == "ordersaga.aws_events"}
    assert any(order == order_id and event for _, order, event in ids), ids
