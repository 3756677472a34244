"""Hostile input at the inbound Event Grid trigger (`aws_events`), delivered over real HTTP to
devhost's Event Grid webhook with Cosmos behind it: a corpus of malformed, forged, unknown and
stale events plus property-based fuzzing (hypothesis) of CloudEvents.

Each input is either refused by the host before the function runs (4xx: not JSON, no or
wrong key, no `aeg-event-type` — Event Grid does not retry those), or acknowledged (2xx, no
retry loop) and then recorded as poison (reason, raw body, time) or ignored with its outcome
in the inbox. Never a 5xx. And nothing changes state it should not: every order and stock
document keeps its `_etag`, the saga that waits for its payment gets no event, a finished
saga's history does not grow — the waiting saga still completes with its genuine reply.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from devhost.history import EventType
from local_cloud.processes import free_port
from tests.e2e.conftest import AppClient, AppKeys, StartApp
from tests.e2e.fake_aws import FakePaymentService
from tests.support.inbound import (
    CLOUDEVENTS,
    LocalEventGrid,
    cloud_event,
    cosmos_snapshot,
    deliver,
    inbox_records,
    payment_data,
    poison_records,
    webhook_url,
)

pytestmark = pytest.mark.integration

NASTY = ["../../orders/x", "' OR 1=1 --", "<script>", "${jndi:ldap://x}", "a/b", "a#b", "a?b", "a\\b", "",
         "x" * 65, "ünï", "a\u0000b", " ", "$where"]


@dataclass
class Scene:
    app: AppClient
    grid: LocalEventGrid
    aws: FakePaymentService
    done: str  # a COMPLETED order, its capture already recorded
    waiting: str  # a saga waiting for its payment reply
    capture: dict[str, Any]  # the capture event `done` already processed


@pytest.fixture
async def scene(start_app: StartApp, app_keys: AppKeys) -> AsyncIterator[Scene]:
    grid = await LocalEventGrid(free_port(), app_keys.master).start()
    aws = FakePaymentService()
    app = await start_app(activity_overrides=aws.overrides(), port=grid.app_port, **grid.app_settings())
    aws.host = app.host
    await app.stock("SKU-1", 10)
    done = await app.place(("SKU-1", 2))
    assert (await app.finished(done))["status"] == "COMPLETED"
    capture = cloud_event("PaymentCaptured", payment_data(done))
    assert (await deliver(app, capture))[0] == 202
    aws.reply = None  # the next saga waits for a reply only the test gives
    waiting = await app.place(("SKU-1", 1), customer="c-2")
    await app.host.wait_for_status(waiting, lambda s: "awaiting-reply" in json.dumps(s.get("customStatus")))
    yield Scene(app, grid, aws, done, waiting, capture)
    await grid.stop()


# Expected outcome of one input: "refused" (4xx from the host, the function never ran),
# "poison" (2xx + a poison record), "ignored" (2xx + an inbox record), "duplicate" (2xx and no
# new record: the inbox had it), "compensate" (ignored, and a compensation request goes to
# AWS: a reservation nobody waits for is released), "nothing" (2xx, no event in the body).
Case = tuple[str, Any, list[str], dict[str, Any]]


def corpus(s: Scene) -> list[Case]:
    done, waiting = s.done, s.waiting
    ok = payment_data("ord-nobody")

    def ce(event_type: Any, data: Any, **extra: Any) -> dict[str, Any]:
        return cloud_event(event_type, data, **extra)

    def eg(event_type: Any, data: Any, **extra: Any) -> list[dict[str, Any]]:
        return [{"id": f"eg-{next(ids)}", "topic": "/subscriptions/x/topics/to-azure", "subject": "orders/ord-nobody",
                 "eventType": event_type, "eventTime": "2026-11-22T10:00:00Z", "data": data,
                 "dataVersion": "1"} | extra]

    ids = itertools.count()
    # Ids no Cosmos document may have (a slash, a trailing space, 300 characters…), on
    # well-formed events for unknown orders: processed and deduplicated like any other.
    odd_ids = {bad: ce("PaymentCaptured", payment_data(f"ord-nobody-id{i}"), id=bad)
               for i, bad in enumerate(["a/b", "a#b", "a?b", "a\\b", "../../x", "ünï", "a\u0000b", " ", "x\n",
                                        "x" * 300, "y" * 10_000, "' OR 1=1 --"])}
    cases: list[Case] = [
        # -- bodies that are not events, and calls that are not Event Grid's ----------------
        ("invalid JSON", b"{not json", ["refused"], {}),
        ("empty body", b"", ["refused"], {}),
        ("truncated JSON", b'{"specversion": "1.0", "id": ', ["refused"], {}),
        ("not UTF-8", b"\xff\xfe\x00", ["refused"], {}),
        ("no aeg-event-type header", ce("PaymentCaptured", ok), ["refused"], {"event_type_header": None}),
        ("unknown aeg-event-type", ce("PaymentCaptured", ok), ["refused"], {"event_type_header": "Bogus"}),
        ("no system key", ce("PaymentCaptured", ok), ["refused"], {"key": ""}),
        ("wrong system key", ce("PaymentCaptured", ok), ["refused"], {"key": "forged-key"}),
        ("the function key instead of the system key", ce("PaymentCaptured", ok), ["refused"],
         {"key": s.app.function_key}),
        ("empty array", [], ["nothing"], {}),
        ("an object that is no envelope", {"hello": "world"}, ["poison"], {}),
        ("an EventBridge envelope posted as it is", {"version": "0", "id": "eb-1", "detail-type": "PaymentCaptured",
                                                     "source": "saga.payments", "time": "2026-11-22T10:00:00Z",
                                                     "detail": ok}, ["poison"], {}),
        # -- CloudEvents context attributes ---------------------------------------------------
        ("unknown type", ce("PaymentRefunded", ok), ["poison"], {}),
        ("type a number", ce(7, ok), ["poison"], {}),
        ("type null", ce(None, ok), ["poison"], {}),
        ("type in lower case", ce("paymentcaptured", ok), ["poison"], {}),
        ("an outbound type sent back", ce("PaymentCaptureRequested", ok), ["poison"], {}),
        ("id missing", {k: v for k, v in ce("PaymentCaptured", ok).items() if k != "id"}, ["poison"], {}),
        ("id a number", ce("PaymentCaptured", ok, id=42), ["poison"], {}),
        ("id empty", ce("PaymentCaptured", ok, id=""), ["poison"], {}),
        ("id an object", ce("PaymentCaptured", ok, id={"$ne": None}), ["poison"], {}),
        *[(f"id {bad[:12]!r} ({len(bad)} characters)", event, ["ignored"], {}) for bad, event in odd_ids.items()],
        ("the event with id 'a/b' replayed", odd_ids["a/b"], ["duplicate"], {}),
        ("the event with a 10k-character id replayed", odd_ids["y" * 10_000], ["duplicate"], {}),
        ("subject of another order", ce("PaymentCaptured", ok, subject=f"orders/{done}"), ["poison"], {}),
        ("subject a path", ce("PaymentCaptured", ok, subject="../../orders/ord-nobody"), ["poison"], {}),
        ("data missing", ce("PaymentCaptured", None), ["poison"], {}),
        ("data as base64", {k: v for k, v in ce("PaymentCaptured", ok).items() if k != "data"}
         | {"data_base64": "eyJvcmRlcklkIjogIngifQ=="}, ["poison"], {}),
        ("data a string of JSON", ce("PaymentCaptured", json.dumps(ok)), ["poison"], {}),
        ("data a list", ce("PaymentCaptured", [ok]), ["poison"], {}),
        ("data a number", ce("PaymentCaptured", 1), ["poison"], {}),
        ("data nested 200 deep", ce("PaymentCaptured", ok | {"x": json.loads("[" * 200 + "]" * 200)}),
         ["ignored"], {}),
        ("traceparent garbage", ce("PaymentCaptured", payment_data("ord-nobody-t1"), traceparent="00-zz-zz-zz"),
         ["ignored"], {}),
        ("traceparent a number", ce("PaymentCaptured", payment_data("ord-nobody-t2"), traceparent=5), ["ignored"], {}),
        ("a hundred extensions", ce("PaymentCaptured", payment_data("ord-nobody-t3"),
                                    **{f"ext{i}": "v" * 100 for i in range(100)}), ["ignored"], {}),
        ("huge payload (900 kB reason)", ce("PaymentDeclined", ok | {"reason": "r" * 900_000}), ["poison"], {}),
        ("huge extra field (900 kB)", ce("PaymentCaptured", payment_data("ord-nobody-big") | {"pad": "p" * 900_000}),
         ["ignored"], {}),
        # -- data fields ------------------------------------------------------------------------
        ("orderId missing", ce("PaymentCaptured", {"sagaId": "ord-nobody"}), ["poison"], {}),
        ("sagaId missing", ce("PaymentCaptured", {"orderId": "ord-nobody"}), ["poison"], {}),
        ("orderId a number", ce("PaymentCaptured", ok | {"orderId": 42}), ["poison"], {}),
        ("orderId a bool", ce("PaymentCaptured", ok | {"orderId": True}), ["poison"], {}),
        *[(f"orderId {bad!r}", ce("PaymentCaptured", ok | {"orderId": bad}), ["poison"], {}) for bad in NASTY],
        *[(f"sagaId {bad!r}", ce("OrderCompensationRequested", ok | {"sagaId": bad}), ["poison"], {})
          for bad in NASTY],
        *[(f"customerId {bad!r}", ce("PaymentReserved", ok | {"customerId": bad}), ["poison"], {})
          for bad in NASTY[:6]],
        *[(f"amount {bad!r}", ce("PaymentReserved", ok | {"amount": bad}), ["poison"], {})
          for bad in ("ten", "-1", "1e3", "NaN", "Infinity", 10.5, 10, "0x10", "1234567890123", "1.23456", "")],
        *[(f"currency {bad!r}", ce("PaymentReserved", ok | {"currency": bad}), ["poison"], {})
          for bad in ("euro", "eur", 978, "", "E1R")],
        ("reason too long", ce("PaymentDeclined", ok | {"reason": "r" * 1001}), ["poison"], {}),
        ("reason a number", ce("PaymentDeclined", ok | {"reason": 5}), ["poison"], {}),
        ("paymentId injection", ce("PaymentCaptured", ok | {"paymentId": "' OR 1=1 --"}), ["poison"], {}),
        # -- the Event Grid schema --------------------------------------------------------------
        ("event grid schema, unknown type", eg("Something.Else", ok), ["poison"], {}),
        ("event grid schema, data missing", eg("PaymentCaptured", None), ["poison"], {}),
        ("event grid schema, orderId injection", eg("PaymentCaptured", ok | {"orderId": "' OR 1=1"}), ["poison"], {}),
        ("event grid schema, unknown order", eg("PaymentCompensated", ok), ["ignored"], {}),
        ("a batch: one unknown order, one poison", [*eg("PaymentCaptured", payment_data("ord-nobody-b1"),
                                                        subject="orders/ord-nobody-b1"), *eg("Nope", ok)],
         ["ignored", "poison"], {}),
        # -- well-formed, for orders and sagas that do not exist --------------------------------
        ("a capture for an unknown order", ce("PaymentCaptured", payment_data("ord-nobody-1")), ["ignored"], {}),
        ("a compensation for an unknown order", ce("PaymentCompensated", payment_data("ord-nobody-2")),
         ["ignored"], {}),
        ("a decline for an unknown saga", ce("PaymentDeclined", payment_data("ord-nobody-3")), ["ignored"], {}),
        ("a roll-back request for an unknown order", ce("OrderCompensationRequested", payment_data("ord-nobody-4")),
         ["ignored"], {}),
        ("a reservation nobody waits for", ce("PaymentReserved", payment_data("ord-nobody-5")), ["compensate"], {}),
        # -- stale and replayed for the finished saga -------------------------------------------
        ("the processed capture replayed", s.capture, ["duplicate"], {}),
        ("an old reservation under a new id", ce("PaymentReserved", payment_data(done)), ["ignored"], {}),
        ("an old decline", ce("PaymentDeclined", payment_data(done)), ["ignored"], {}),
        # -- forged: one order's id with another order's saga ------------------------------------
        ("a reservation for nobody, into the waiting saga",
         ce("PaymentReserved", payment_data("ord-nobody-6", sagaId=waiting)), ["poison"], {}),
        ("a reservation for the finished order, into the waiting saga",
         ce("PaymentReserved", payment_data(done, sagaId=waiting)), ["poison"], {}),
        ("a decline for the finished order, into the waiting saga",
         ce("PaymentDeclined", payment_data(done, sagaId=waiting)), ["poison"], {}),
        ("a roll-back for nobody, into the waiting saga",
         ce("OrderCompensationRequested", payment_data("ord-nobody-7", sagaId=waiting)), ["poison"], {}),
        ("a roll-back for the finished order, naming the waiting saga",
         ce("OrderCompensationRequested", payment_data(done, sagaId=waiting)), ["poison"], {}),
        ("a capture for the waiting order, naming the finished saga",
         ce("PaymentCaptured", payment_data(waiting, sagaId=done)), ["poison"], {}),
        ("a compensation for the finished order, naming a saga it never had",
         ce("PaymentCompensated", payment_data(done, sagaId="ord-someone-else")), ["poison"], {}),
    ]
    return cases


def summary(corpus_name: str, outcomes: Counter[int], kinds: Counter[str]) -> str:
    refused = sum(n for status, n in outcomes.items() if 400 <= status < 500)
    accepted = sum(n for status, n in outcomes.items() if status < 300)
    errors = sum(n for status, n in outcomes.items() if status >= 500)
    return (f"[hostile] {corpus_name}: {sum(outcomes.values())} inputs, {refused} rejected 4xx, {accepted} accepted, "
            f"{errors} server errors (accepted as: {dict(sorted(kinds.items()))})")


async def untouched(scene: Scene) -> dict[str, Any]:
    """What hostile input must not change: the documents, both sagas' histories, AWS's mail."""
    return {"cosmos": await cosmos_snapshot(),
            "done": await scene.app.host.history(scene.done),
            "waiting": await scene.app.host.history(scene.waiting)}


async def test_a_corpus_of_hostile_events_is_refused_or_acknowledged_and_changes_nothing(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await untouched(scene)
    poison_before, inbox_before = len(await poison_records()), len(await inbox_records())
    outcomes: Counter[int] = Counter()
    kinds: Counter[str] = Counter()
    wrong: list[str] = []
    for name, body, expected, options in corpus(scene):
        poison_at, inbox_at = len(await poison_records()), len(await inbox_records())
        sink_at = len(scene.grid.sink.events)
        status, text = await deliver(scene.app, body, **options)
        outcomes[status] += 1
        if status >= 500:
            wrong.append(f"{name}: server error {status} {text[:300]}")
            continue
        if expected == ["refused"]:
            if not 400 <= status < 500:
                wrong.append(f"{name}: expected a 4xx from the host, got {status}")
            continue
        if not 200 <= status < 300:
            wrong.append(f"{name}: expected 2xx, got {status} {text[:200]}")
            continue
        kinds.update(expected)
        new_poison = len(await poison_records()) - poison_at
        new_inbox = len(await inbox_records()) - inbox_at
        await asyncio.sleep(0)  # the sink is served by this loop
        want_poison = expected.count("poison")
        want_inbox = sum(expected.count(k) for k in ("ignored", "compensate"))
        if (new_poison, new_inbox) != (want_poison, want_inbox):
            wrong.append(f"{name}: expected {want_poison} poison + {want_inbox} inbox records, "
                         f"got {new_poison} + {new_inbox}")
        if "compensate" in expected:
            await wait_for_sink(scene, sink_at + 1)
            if scene.grid.sink.types()[sink_at:] != ["PaymentCompensationRequested"]:
                wrong.append(f"{name}: AWS was sent {scene.grid.sink.types()[sink_at:]}")
    assert not wrong, "\n".join(wrong)

    records = await poison_records()
    assert len(records) - poison_before == kinds["poison"]
    assert all(r["reason"] and r["raw"] and r["receivedAt"] for r in records)
    assert len(await inbox_records()) - inbox_before == kinds["ignored"] + kinds["compensate"]
    assert await untouched(scene) == before, "hostile input changed an order, a stock level or a saga"
    assert scene.grid.sink.types() == ["PaymentCompensationRequested"] * kinds["compensate"]
    await the_waiting_saga_still_works(scene)
    with capsys.disabled():
        print("\n" + summary("eventgrid", outcomes, kinds))


async def wait_for_sink(scene: Scene, count: int, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(scene.grid.sink.events) < count and loop.time() < deadline:
        await asyncio.sleep(0.02)


async def the_waiting_saga_still_works(scene: Scene) -> None:
    status = await scene.app.host.get_status(scene.waiting)
    assert status is not None and status["runtimeStatus"] == "Running"
    raised = [e for e in await scene.app.host.history(scene.waiting) if e["EventType"] == EventType.EventRaised]
    assert raised == [], "a forged event reached the waiting saga"
    reply = cloud_event("PaymentReserved", payment_data(scene.waiting, customerId="c-2"))
    assert (await deliver(scene.app, reply))[0] == 202
    assert (await scene.app.finished(scene.waiting))["status"] == "COMPLETED"


async def test_an_unreadable_time_fails_before_the_app_and_event_grid_gives_up(
    start_app: StartApp, app_keys: AppKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    """The one hostile input that gets a 5xx, and why it cannot loop: the Functions Python
    binding (azure.functions' EventGridEventInConverter, which devhost uses as the worker
    does) parses `time` / `eventTime` before the app's code runs, and an unreadable one fails
    the invocation. The app never sees it, so it can record no poison; Event Grid retries it
    up to the subscription's attempt limit and then dead-letters it. Nothing changes."""
    grid = await LocalEventGrid(free_port(), app_keys.master, retry_schedule=(0.05,), max_attempts=3).start()
    try:
        app = await start_app(port=grid.app_port, **grid.app_settings())
        await app.stock("SKU-1", 5)
        before = await cosmos_snapshot()
        for when in ("yesterday", "2026-13-45T99:00:00Z"):
            event = cloud_event("PaymentCaptured", payment_data("ord-nobody"), time=when)
            assert (await deliver(app, event))[0] == 500
            assert (await grid.publish(app, event))[0] == 200
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while grid.to_app.dead_lettered < 2 and loop.time() < deadline:
            await asyncio.sleep(0.05)
        stats = grid.to_app
        assert (stats.dead_lettered, stats.delivered, stats.attempts) == (2, 0, 6), stats
        assert await poison_records() == [] and await inbox_records() == []
        assert await cosmos_snapshot() == before
    finally:
        await grid.stop()
    with capsys.disabled():
        print("\n[hostile] eventgrid, unreadable time: 2 inputs, 0 rejected 4xx, 0 accepted, 2 server errors "
              "(the binding fails before the app; Event Grid dead-letters each after 3 attempts; nothing changed)")


# -- fuzzing ---------------------------------------------------------------------------------

TYPES = ["PaymentReserved", "PaymentDeclined", "PaymentCompensated", "PaymentCaptured", "OrderCompensationRequested"]
ids_ = st.one_of(st.text(max_size=70), st.sampled_from(NASTY), st.integers(), st.none(),
                 st.from_regex(r"ord-fz[a-z0-9]{1,20}", fullmatch=True))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10)


FRESH, AGAIN = "<a new id>", "<the last new id>"  # filled in when sent: examples repeat, ids must not
FORGERIES = ["none", "into the waiting saga", "into the finished saga", "for the finished order",
             "for the waiting order"]
CORRUPTIONS = ["type", "id", "no id", "data", "orderId", "sagaId", "a field dropped", "amount", "currency",
               "reason", "an extra field", "subject", "traceparent"]


@st.composite
def events(draw: st.DrawFn, waiting: str, done: str) -> dict[str, Any]:
    """A well-formed CloudEvent for a made-up order, possibly forged (one order's id with
    another order's saga), then bent out of shape up to twice (hypothesis leans to the first
    choice of each, so plain events come often and every route is taken). Never a genuine
    reply for an existing order: that is not hostile input."""
    order = saga = draw(st.from_regex(r"ord-fz[a-z0-9]{1,12}", fullmatch=True))
    forgery = draw(st.sampled_from(FORGERIES))
    if forgery == "into the waiting saga":
        saga = waiting
    elif forgery == "into the finished saga":
        saga = done
    elif forgery == "for the finished order":
        order = done
        saga = draw(st.sampled_from([waiting, saga]))
    elif forgery == "for the waiting order":
        order = waiting
        saga = draw(st.sampled_from([done, saga]))
    data: Any = {"orderId": order, "sagaId": saga, "customerId": "c-9", "currency": "EUR",
                 "amount": draw(st.decimals(min_value=0, max_value=10**6, places=2).map(str))}
    if draw(st.booleans()):
        data["reason"] = draw(st.text(max_size=30))
    event: dict[str, Any] = {"specversion": "1.0", "type": draw(st.sampled_from(TYPES)), "source": "saga.payments",
                             "id": draw(st.sampled_from([FRESH, FRESH, AGAIN])), "subject": f"orders/{order}",
                             "data": data}
    for _ in range(draw(st.integers(0, 2))):
        corruption = draw(st.sampled_from(CORRUPTIONS))
        if corruption == "type":
            event["type"] = draw(st.one_of(st.text(max_size=30), json_values))
        elif corruption == "id":
            event["id"] = draw(ids_)
        elif corruption == "no id":
            event.pop("id", None)
        elif corruption == "data":
            event["data"] = data = draw(json_values)
        elif corruption == "subject":
            event["subject"] = draw(st.text(max_size=30))
        elif corruption == "traceparent":
            event["traceparent"] = draw(st.one_of(st.text(max_size=60), json_values))
        elif not isinstance(data, dict):
            continue
        elif corruption in ("orderId", "sagaId"):
            data[corruption] = draw(ids_)
        elif corruption == "a field dropped" and data:
            data.pop(draw(st.sampled_from(sorted(data))))
        elif corruption == "amount":
            data["amount"] = draw(st.one_of(st.text(max_size=15), st.decimals(allow_nan=True).map(str), json_values))
        elif corruption == "currency":
            data["currency"] = draw(st.one_of(st.sampled_from(["eur", "XXX", ""]), st.text(max_size=4)))
        elif corruption == "reason":
            data["reason"] = draw(st.one_of(json_values, st.text(min_size=1001, max_size=1100)))
        elif corruption == "an extra field":
            data[draw(st.text(max_size=10))] = draw(json_values)
    assume(not genuine(event, {waiting, done}))
    return event


def genuine(event: dict[str, Any], existing: set[str]) -> bool:
    """An event about an existing order whose saga it names: a real reply, not hostile input."""
    data = event.get("data")
    return isinstance(data, dict) and data.get("orderId") in existing and data.get("sagaId") == data.get("orderId")


def post(url: str, event: dict[str, Any]) -> tuple[int, str]:
    """Blocking HTTP (hypothesis runs in a worker thread)."""
    request = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST",
                                     headers={"Content-Type": CLOUDEVENTS, "aeg-event-type": "Notification"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


async def test_fuzzed_events_are_acknowledged_and_change_nothing(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await untouched(scene)
    inbox_before = len(await inbox_records())
    ids: list[str] = []
    url = webhook_url(scene.app.base, scene.app.master_key)
    outcomes: Counter[int] = Counter()

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(event=events(scene.waiting, scene.done))
    def send(event: dict[str, Any]) -> None:
        if event.get("id") == FRESH:
            ids.append(f"fz-{len(ids)}")
        if event.get("id") in (FRESH, AGAIN):
            event = event | {"id": ids[-1] if ids else "fz-first"}
        status, text = post(url, event)
        outcomes[status] += 1
        assert 200 <= status < 300, f"{event!r:.300}: {status} {text[:300]}"

    await asyncio.to_thread(send)
    after = await untouched(scene)
    assert after == before, "a fuzzed event changed an order, a stock level or a saga"
    assert all(e == "PaymentCompensationRequested" for e in scene.grid.sink.types())
    kinds = Counter({"poison": len(await poison_records()), "ignored": len(await inbox_records()) - inbox_before})
    kinds["duplicate"] = sum(outcomes.values()) - kinds["poison"] - kinds["ignored"]
    await the_waiting_saga_still_works(scene)
    with capsys.disabled():
        print("\n" + summary("eventgrid fuzz (hypothesis)", outcomes, kinds))
