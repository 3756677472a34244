"""The saga console (admin key): HTML pages served by the function app itself, so it works
wherever the app runs (devhost, Core Tools, Azure).

    GET /api/console                       orders: filters, search, paging, counts, histogram
    GET /api/console/orders/{orderId}      one saga: step timeline, compensations, events, actions

The pages only read. Their buttons call the existing JSON endpoints (operator resolve,
customer cancel) from the browser, so the console adds no second way to change an order.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import azure.durable_functions as df
import azure.functions as func

from console import render
from orchestrators.saga_steps import ORDER_SAGA, StepKind
from ordersaga import inbox, order_repository
from ordersaga.clock import iso, utc_now
from ordersaga.cosmos_store import get_store
from ordersaga.orders import TERMINAL_STATUSES, OrderStatus
from triggers.http_api import SAFE_ID, order_not_found, path_id, saga_view
from triggers.http_json import HttpError, json_errors

bp = df.Blueprint()

PAGE_SIZE = 25
MAX_SEARCH_CHARS = 200
MAX_PAGE_TOKEN_CHARS = 4096  # a URL longer than ~8 KB is refused by hosts anyway
HISTOGRAM_ORDERS = 2000  # the newest orders in range the histogram counts (two fields each)
HISTOGRAM_BUCKETS = 24
RANGES: dict[str, timedelta | None] = {"1h": timedelta(hours=1), "24h": timedelta(days=1),
                                       "7d": timedelta(days=7), "30d": timedelta(days=30), "all": None}
PIVOT = next(step.name for step in ORDER_SAGA if step.kind is StepKind.PIVOT)
STILL_RUNNING = {"Running", "Pending", "ContinuedAsNew"}


def _invalid(field: str, message: str) -> HttpError:
    return HttpError(400, "VALIDATION_FAILED", f"the query parameter {field} is invalid",
                     [{"field": field, "message": message}])


@dataclass(frozen=True)
class ListFilters:
    status: OrderStatus | None
    range: str
    search: str
    page: str | None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> ListFilters:
        wanted = params.get("status", "")
        try:
            status = OrderStatus(wanted) if wanted else None
        except ValueError:
            raise _invalid("status", f"one of {', '.join(s.value for s in OrderStatus)}") from None
        chosen = params.get("range", "all") or "all"
        if chosen not in RANGES:
            raise _invalid("range", f"one of {', '.join(RANGES)}")
        search = params.get("q", "").strip()
        if len(search) > MAX_SEARCH_CHARS:
            raise _invalid("q", f"at most {MAX_SEARCH_CHARS} characters")
        page = params.get("page") or None
        if page is not None and len(page) > MAX_PAGE_TOKEN_CHARS:
            raise _invalid("page", "not a page token this console handed out")
        return cls(status, chosen, search, page)

    def since(self, now: datetime) -> str | None:
        span = RANGES[self.range]
        return iso(now - span) if span else None

    def params(self) -> dict[str, str]:
        return {"status": self.status.value if self.status else "", "range": self.range, "q": self.search}


class Links:
    """URLs inside the console, each carrying the admin key the page was opened with (`code`),
    since a browser cannot send the x-functions-key header on a plain link."""

    def __init__(self, req: func.HttpRequest) -> None:
        self.code = req.params.get("code", "")

    def __call__(self, path: str, **params: str | None) -> str:
        query = {k: v for k, v in params.items() if v} | ({"code": self.code} if self.code else {})
        return f"{path}?{urlencode(query)}" if query else path


def _html(page: str, nonce: str, status: int = 200) -> func.HttpResponse:
    # Inline CSS/JS are allowed by nonce only: an injected <script> would not run even if
    # something slipped past escaping.
    policy = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
              "connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
    return func.HttpResponse(page, status_code=status, mimetype="text/html", charset="utf-8",
                             headers={"Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff",
                                      "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def _parse(moment: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None


def age(moment: Any, now: datetime) -> str:
    started = _parse(moment)
    if started is None:
        return "?"
    seconds = max(0, int((now - started).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def histogram(rows: list[dict[str, Any]], since: str | None, now: datetime) -> dict[str, Any]:
    """Orders over time by outcome: HISTOGRAM_BUCKETS equal slices from the range start (or the
    oldest order counted) to now, each with a count per status."""
    times = [(t, str(r.get("status"))) for r in rows if (t := _parse(r.get("createdAt"))) is not None]
    start = _parse(since) if since else min((t for t, _ in times), default=now)
    assert start is not None
    span = max((now - start).total_seconds(), 1.0)
    buckets = [{status.value: 0 for status in OrderStatus} for _ in range(HISTOGRAM_BUCKETS)]
    for moment, status in times:
        index = min(HISTOGRAM_BUCKETS - 1, max(0, int((moment - start).total_seconds() / span * HISTOGRAM_BUCKETS)))
        if status in buckets[index]:
            buckets[index][status] += 1
    tallest = max((sum(b.values()) for b in buckets), default=0) or 1
    step = span / HISTOGRAM_BUCKETS
    return {"buckets": [{"from": iso(start + timedelta(seconds=step * i)), "counts": b,
                         "total": sum(b.values()), "height": round(100 * sum(b.values()) / tallest)}
                        for i, b in enumerate(buckets)],
            "counted": len(times), "capped": len(rows) >= HISTOGRAM_ORDERS}


async def _current_steps(client: df.DurableOrchestrationClient, rows: list[dict[str, Any]]) -> list[str | None]:
    """Each listed saga's current step from its custom status (one status read per row on the page)."""

    async def one(row: dict[str, Any]) -> str | None:
        try:
            status = await client.get_status(str(row.get("sagaInstanceId") or row["id"]), show_input=False)
        except Exception:  # noqa: BLE001 - a missing status leaves the column empty, the page still renders
            return None
        progress = status.custom_status if status and isinstance(status.custom_status, dict) else {}
        return progress.get("currentStep")

    return list(await asyncio.gather(*(one(row) for row in rows)))


@bp.route(route="console", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
@bp.durable_client_input(client_name="client")
@json_errors
async def console_orders(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    filters = ListFilters.from_params(req.params)
    now = utc_now()
    since = filters.since(now)
    store = await get_store()
    # Order ids are SAFE_ID; a search that cannot be one finds nothing (and is still shown back).
    searchable = not filters.search or bool(SAFE_ID.match(filters.search))
    id_prefix = filters.search or None
    rows: list[dict[str, Any]] = []
    next_page: str | None = None
    counts = {status.value: 0 for status in OrderStatus}
    chart = histogram([], since, now)
    if searchable:
        try:
            rows, next_page = await order_repository.page_of_orders(
                store, status=filters.status, since=since, id_prefix=id_prefix, page_size=PAGE_SIZE,
                continuation=filters.page)
        except HttpError:
            raise
        except Exception as error:
            if filters.page is None:
                raise
            raise _invalid("page", "not a page token this console handed out") from error
        counted = await asyncio.gather(*(order_repository.count_orders(store, status, since, id_prefix)
                                         for status in OrderStatus))
        counts = {status.value: n for status, n in zip(OrderStatus, counted, strict=True)}
        chart = histogram(await order_repository.creation_times(store, since, HISTOGRAM_ORDERS, filters.status,
                                                                id_prefix), since, now)
    steps = await _current_steps(client, rows)
    orders = [{"id": row["id"], "status": row.get("status"), "customerId": row.get("customerId"),
               "total": row.get("total"), "currency": row.get("currency"), "age": age(row.get("createdAt"), now),
               "createdAt": row.get("createdAt"), "step": step, "cancelRequested": row.get("cancelRequested")}
              for row, step in zip(rows, steps, strict=True)]
    nonce = secrets.token_urlsafe(16)
    page = render("orders.html", nonce=nonce, url=Links(req), filters=filters.params(), page=filters.page,
                  next_page=next_page, orders=orders, counts=counts, histogram=chart,
                  statuses=[s.value for s in OrderStatus], ranges=list(RANGES), searchable=searchable)
    return _html(page, nonce)


def step_bars(timeline: list[dict[str, Any]], attempts: dict[str, int], now: datetime,
              running: bool) -> list[dict[str, Any]]:
    """The timeline as one bar per step (forward steps, then undos as `undo:<step>`): start,
    duration, attempts and the last thing that happened to it, placed on a shared time axis."""
    bars: dict[str, dict[str, Any]] = {}
    for entry in timeline:
        step, event = str(entry.get("step")), str(entry.get("event"))
        key = f"undo:{step}" if event == "compensated" and not step.startswith("undo:") else step
        at = _parse(entry.get("at"))
        if at is None:
            continue
        bar = bars.setdefault(key, {"step": key, "start": at, "end": at, "events": []})
        bar["end"] = max(bar["end"], at)
        bar["events"].append({"at": entry.get("at"), "event": event, "detail": entry.get("detail")})
        bar["outcome"] = event
    if not bars:
        return []
    origin = min(b["start"] for b in bars.values())
    finish = max(b["end"] for b in bars.values())
    if running:
        finish = max(finish, now)
    span = max((finish - origin).total_seconds(), 0.001)
    placed = []
    for bar in bars.values():
        if running and bar["outcome"] in ("started", "awaiting-reply", "retry-scheduled"):
            bar["end"] = finish  # still going: the bar grows until the step ends
        seconds = (bar["end"] - bar["start"]).total_seconds()
        placed.append(bar | {
            "left": round(100 * (bar["start"] - origin).total_seconds() / span, 2),
            "width": max(round(100 * seconds / span, 2), 0.6),
            "duration": f"{seconds:.2f}s", "startedAt": iso(bar["start"]),
            "attempts": attempts.get(bar["step"], 1 if bar["events"] else 0),
            "pivot": bar["step"] == PIVOT,
            "kind": "undo" if bar["step"].startswith("undo:") else "forward",
        })
    return placed


def plain_error(error: dict[str, Any] | None) -> str | None:
    """The saga's last error as a sentence an operator can act on."""
    if not error:
        return None
    where = str(error.get("step") or "")
    doing = f"undoing {where[5:]}" if where.startswith("undo:") else f"step {where}" if where else "the saga"
    return f"While {doing}: {error.get('message') or 'no message'} ({error.get('code') or 'no code'})."


async def _repair_timelines(client: df.DurableOrchestrationClient, actions: list[dict[str, Any]]
                            ) -> tuple[list[dict[str, Any]], dict[str, int], bool]:
    """What the operator's repair sagas did, so a retry shows on the same timeline."""
    entries: list[dict[str, Any]] = []
    attempts: dict[str, int] = {}
    running = False
    for action in actions:
        instance = action.get("repairInstanceId")
        if not instance:
            continue
        status = await client.get_status(str(instance), show_input=False)
        progress = status.custom_status if status and isinstance(status.custom_status, dict) else {}
        entries += progress.get("timeline", [])
        for step, count in (progress.get("attempts") or {}).items():
            attempts[step] = attempts.get(step, 0) + int(count)
        running = running or bool(status and status.runtime_status and status.runtime_status.name in STILL_RUNNING)
    return entries, attempts, running


@bp.route(route="console/orders/{orderId}", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
@bp.durable_client_input(client_name="client")
@json_errors
async def console_saga(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    order_id = path_id(req, "orderId")
    store = await get_store()
    doc = await order_repository.read_order(store, order_id)
    status = await client.get_status(order_id)
    if doc is None and not (status and status.instance_id):
        raise order_not_found(order_id)
    view = saga_view(order_id, doc, status if status and status.instance_id else None)
    saga = view["saga"]
    repair_entries, repair_attempts, repair_running = await _repair_timelines(client, view["operatorActions"])
    timeline = sorted([*view["timeline"], *repair_entries,
                       *({"at": a.get("at"), "step": "operator", "event": a.get("action"), "detail": a.get("reason")}
                         for a in view["operatorActions"])], key=lambda e: str(e.get("at")))
    attempts = dict(saga["attempts"])
    for step, count in repair_attempts.items():
        attempts[step] = attempts.get(step, 0) + count
    running = saga["runtimeStatus"] in STILL_RUNNING or repair_running
    now = utc_now()
    finished = view["status"] in {s.value for s in TERMINAL_STATUSES}
    # A finished order has nothing left to undo, whatever its parked saga last recorded.
    remaining = [] if finished else (view.get("attention") or {}).get("remainingUndos") or saga["undoStack"]
    nonce = secrets.token_urlsafe(16)
    links = Links(req)
    page = render(
        "saga.html", nonce=nonce, url=links, view=view, saga=saga, pivot=PIVOT, running=running,
        bars=step_bars(timeline, attempts, now, running), timeline=timeline,
        compensations=[e for e in timeline if e.get("event") == "compensated"],
        inbound=await inbox.records_for_order(store, order_id),
        outbound=[e for e in timeline if e.get("event") == "awaiting-reply"],
        remaining=remaining,
        last_error=plain_error(saga["lastError"]), finished=finished, age=age(view["timestamps"]["createdAt"], now),
        parked=view["status"] == OrderStatus.NEEDS_ATTENTION.value,
        cancellable=view["status"] == OrderStatus.PENDING.value and not view["cancelRequested"],
        durable_url=links(f"/runtime/webhooks/durabletask/instances/{view['sagaInstanceId']}"),
        resolve_url=links(f"/api/orders/{order_id}/resolve"), cancel_url=links(f"/api/orders/{order_id}/cancel"),
    )
    return _html(page, nonce)
