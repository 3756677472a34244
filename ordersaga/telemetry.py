"""Traces and structured logs that follow one saga across both clouds.

One saga is one W3C trace. The HTTP starter opens it (or joins the caller's `traceparent`);
the trace context travels in the orchestration input to every activity, in the
`traceparent` extension of every CloudEvent to AWS and back, and each hop opens a span under
it: `POST /api/orders` → `activity <name>` → `publish <event type>` → (AWS handler) →
`receive <event type>`. The orchestrator itself opens none: it replays, and a span per replay
would lie about time.

Where spans go is decided once, at start-up, by `configure_telemetry()`:
- `APPLICATIONINSIGHTS_CONNECTION_STRING` set → Azure Monitor (azure-monitor-opentelemetry),
  traces and logs;
- else `OTEL_EXPORTER_OTLP_ENDPOINT` set → OTLP over HTTP (a local collector, Jaeger, …);
- else `OTEL_TRACES_EXPORTER=console` → printed to stdout;
- else nothing is exported (the OpenTelemetry API's no-op), but trace ids still propagate.

Every log line written inside a span carries `orderId`, `instanceId` and `eventId` (when
known) as record attributes — custom dimensions in Application Insights; locally a log
format such as `%(orderId)s` shows them.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger("ordersaga.telemetry")
tracer = trace.get_tracer("ordersaga")
_propagator = TraceContextTextMapPropagator()

# The saga identifiers of the work in progress, for log records (set with each span).
_NO_IDS: Mapping[str, str] = MappingProxyType({})
_log_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar("ordersaga_log_context",
                                                                                 default=_NO_IDS)

LOG_FIELDS = ("orderId", "instanceId", "eventId")

R = TypeVar("R")


def configure_telemetry(env: Mapping[str, str] | None = None) -> str:
    """Install the exporter the settings ask for; returns which one (for the start-up log)."""
    env = os.environ if env is None else env
    _install_log_filter()
    if env.get("APPLICATIONINSIGHTS_CONNECTION_STRING"):
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure_azure_monitor(logger_name="ordersaga")
        return "azure-monitor"
    exporter: Any
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter, chosen = OTLPSpanExporter(), "otlp"
    elif env.get("OTEL_TRACES_EXPORTER", "").lower() == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        exporter, chosen = ConsoleSpanExporter(), "console"
    else:
        return "none"
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": env.get("OTEL_SERVICE_NAME", "ordersaga")}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return chosen


def context_from(traceparent: str | None) -> Any:
    """The OpenTelemetry context a W3C `traceparent` names (None: a new trace)."""
    return _propagator.extract({"traceparent": traceparent}) if traceparent else None


def current_traceparent(fallback: str | None = None) -> str | None:
    """The `traceparent` of the current span, to hand to the next hop; `fallback` when no
    valid span is current (telemetry off and no incoming context)."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent") or fallback


@contextmanager
def saga_span(name: str, traceparent: str | None, *, kind: SpanKind = SpanKind.INTERNAL,
              order_id: str | None = None, instance_id: str | None = None, event_id: str | None = None,
              attributes: Mapping[str, Any] | None = None) -> Iterator[Span]:
    """A span under the saga's trace, with the saga's ids on the span and on every log line
    written inside it. An exception marks the span as failed and propagates."""
    ids = {k: v for k, v in (("orderId", order_id), ("instanceId", instance_id), ("eventId", event_id)) if v}
    span_attributes = {f"ordersaga.{k}": v for k, v in ids.items()} | dict(attributes or {})
    token = _log_context.set({**_log_context.get(), **ids})
    try:
        with tracer.start_as_current_span(name, context=context_from(traceparent), kind=kind,
                                          attributes=span_attributes, record_exception=True,
                                          set_status_on_exception=True) as span:
            yield span
    finally:
        _log_context.reset(token)


def traced_activity(function: Callable[[dict[str, Any]], Awaitable[R]]) -> Callable[[dict[str, Any]], Awaitable[R]]:
    """Run an activity inside `activity <name>`, under the trace its request carries.

    Goes under `@bp.activity_trigger`; `functools.wraps` keeps the signature the Functions
    indexer reads. A returned business refusal (`{"ok": false}`) is recorded on the span,
    not as an error: only a raised (transient) fault is.
    """
    @functools.wraps(function)
    async def activity(request: dict[str, Any]) -> R:
        with saga_span(f"activity {function.__name__}", request.get("traceparent"),
                       order_id=request.get("orderId"), instance_id=request.get("sagaId")) as span:
            result = await function(request)
            if isinstance(result, dict) and result.get("ok") is False:
                span.set_attribute("ordersaga.rejection", str(result.get("code")))
            return result

    return activity


def mark_failed(span: Span, reason: str) -> None:
    span.set_status(Status(StatusCode.ERROR, reason))


def _install_log_filter() -> None:
    """Give every log record the saga ids of the current span (`record.orderId`, …): a record
    factory reaches records from every logger and handler, the Functions worker's included;
    OpenTelemetry's log handler exports them as attributes. Idempotent."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "ordersaga_ids", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        ids = _log_context.get()
        for field in LOG_FIELDS:
            setattr(record, field, ids.get(field, ""))
        return record

    factory.ordersaga_ids = True  # type: ignore[attr-defined]  # marker: installed once
    logging.setLogRecordFactory(factory)
