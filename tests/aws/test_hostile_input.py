"""Hostile input to the AWS side, over the real path: HTTP POST /events with a valid Entra token to
the adapter (API Gateway stand-in), handlers on DynamoDB (moto server).

Malformed JSON, wrong types, missing fields, negative / huge / non-decimal amounts, unknown
currencies, unknown event types, oversized payloads and ids, ids that contradict the saga's
order, junk extensions, replays. Every input is answered 200 (so Event Grid never retries it)
with an outcome per event: poison (recorded in PoisonEvents with its reason), declined (a
business answer), duplicate (a replay: no effect). No account and no payment row moves for any
of them. Published through the local Event Grid service, each one is delivered at the first
attempt: nothing is retried, nothing dead-lettered.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic_extra_types.currency_code import ISO4217

from aws import dynamo
from aws.currencies import ISO_4217
from aws.entra_auth import EntraTokenValidator
from aws.local_adapter import create_app
from aws.seed import put_account
from aws.settings import Backend
from eventgrid_local.config import CLOUD_EVENTS, ServiceConfig
from eventgrid_local.server import EventGridService
from tests.aws.support import (
    capture,
    compensation,
    credit,
    outbox_types,
    payment,
    reservation,
    scan,
    start_authenticated_adapter,
)
from tests.aws.tenant import AUDIENCE, TestTenant
from tests.support.servers import free_port

pytestmark = pytest.mark.integration

Raw = bytes | Any  # bytes are sent as they are; anything else as JSON


def changed(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of `base` with top-level attributes replaced (None removes one)."""
    event = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    return event


def with_data(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            event["data"].pop(key, None)
        else:
            event["data"][key] = value
    return event


def amount(value: Any, *, currency: str = "EUR", customer: str = "c-1", saga: str = "s-h") -> dict[str, Any]:
    return with_data(reservation(saga), amount=value, currency=currency, customerId=customer)


R = reservation("s-h")  # a well-formed reservation the corpus bends out of shape (never sent as is)

POISON: dict[str, Raw] = {
    # malformed bodies
    "not JSON": b"{not json",
    "empty body": b"",
    "binary junk": b"\x00\xff\xfe junk",
    "truncated JSON": json.dumps(R).encode()[:-7],
    "nested deeper than any parser": b"[" * 100_000 + b"]" * 100_000,
    "body over an Event Grid batch": b"[" + b" " * (1024 * 1024 + 100 * 1024) + b"]",
    "NaN literal": b"[NaN]",
    "integer with 5000 digits": b"9" * 5000,
    # not an event
    "null": None,
    "a number": 42,
    "a string": "PaymentReservationRequested",
    "an array of numbers": [1, 2],
    "an array of arrays": [[R]],
    "an empty object": {},
    "an unknown envelope": {"hello": "world"},
    # the envelope
    "id missing": changed(R, id=None),
    "id empty": changed(R, id=""),
    "id a number": changed(R, id=12345),
    "id of 3000 characters": changed(R, id="x" * 3000),
    "id with NUL and a lone surrogate": changed(R, id="e\x00\ud800"),
    "id with spaces": changed(R, id="an id with spaces"),
    "type missing": changed(R, type=None),
    "type a number": changed(R, type=7),
    "unknown type": changed(R, type="PaymentRefundRequested"),
    "an AWS → Azure type": changed(R, type="PaymentReserved"),
    "type in another case": changed(R, type="paymentreservationrequested"),
    "subject for another order": changed(R, subject="orders/o-other"),
    "data missing": changed(R, data=None),
    "data a string": changed(R, data="amount=10"),
    "data a list": changed(R, data=[R["data"]]),
    "initiatorid a number": changed(R, initiatorid=42),
    "initiatorid an object": changed(R, initiatorid={"oid": "alice"}),
    "initiatorid of 10000 characters": changed(R, initiatorid="u" * 10_000),
    # the data
    "orderId missing": with_data(R, orderId=None),
    "sagaId missing": with_data(R, sagaId=None),
    "customerId missing": with_data(R, customerId=None),
    "amount missing": with_data(R, amount=None),
    "currency missing": with_data(R, currency=None),
    "orderId a number": with_data(R, orderId=17),
    "sagaId with SQL": with_data(R, sagaId="s'; DROP TABLE LocalPayments;--"),
    "orderId with a path": with_data(R, orderId="../../etc/passwd"),
    "customerId with markup": with_data(R, customerId="<script>alert(1)</script>"),
    "customerId of 300 characters": with_data(R, customerId="c" * 300),
    "amount negative": amount("-5.00"),
    "amount zero": amount("0"),
    "amount zero with decimals": amount("0.0000"),
    "amount a JSON number": amount(25),
    "amount a boolean": amount(True),
    "amount huge": amount("99999999999999999999999.99"),
    "amount in exponent form": amount("1e3"),
    "amount NaN": amount("NaN"),
    "amount Infinity": amount("Infinity"),
    "amount with a thousands separator": amount("1,000.00"),
    "amount with spaces": amount(" 10 "),
    "amount with five decimals": amount("10.12345"),
    "amount of 300000 characters": amount("9" * 300_000),
    "currency in lower case": amount("10", currency="eur"),
    "currency of four letters": amount("10", currency="EURO"),
    "currency not in ISO 4217": amount("10", currency="XXY"),
    "currency a number": amount("10", currency=978),
    "reason of 5000 characters": with_data(R, reason="r" * 5000),
    # requests that contradict the state
    "capture for a saga that never reserved": capture("s-never"),
    "capture naming another order for a live saga": with_data(changed(capture("s-live"), subject="orders/o-other"),
                                                              orderId="o-other"),
    "compensation naming another order for a live saga": with_data(
        changed(compensation("s-live"), subject="orders/o-other"), orderId="o-other"),
    "reservation naming another order for a live saga": with_data(
        changed(reservation("s-live"), id="e-other-order", subject="orders/o-other"), orderId="o-other"),
}

# (Each on its own saga: a decline's reply id is deterministic per saga.)
DECLINED: dict[str, Raw] = {
    "unknown customer": amount("10", customer="c-nobody", saga="s-d1"),
    "a real currency the account is not in": amount("10", currency="USD", saga="s-d2"),
    "more than the credit": amount("100000", saga="s-d3"),
    "an owned account charged for someone else": with_data(reservation("s-owned"), customerId="c-owned")
    | {"initiatorid": "mallory"},
    "an owned account charged with no initiator": with_data(reservation("s-owned-2"), customerId="c-owned"),
}

REPLAYED: dict[str, Raw] = {
    "the live reservation again": reservation("s-live"),
    "the live reservation under a new id": changed(reservation("s-live"), id="e-replay-new-id"),
    "the captured saga's reservation": reservation("s-done"),
    "the captured saga's capture": capture("s-done"),
    "a batch of the same reservation three times": [reservation("s-live")] * 3,
}

CORPUS = {name: ("poison", raw) for name, raw in POISON.items()} | {
    name: ("declined", raw) for name, raw in DECLINED.items()} | {
    name: ("duplicate", raw) for name, raw in REPLAYED.items()}


@pytest.fixture
async def adapter(backend: Backend, tenant: TestTenant) -> AsyncIterator[str]:
    runner = web.AppRunner(create_app(backend, auth=EntraTokenValidator(tenant.settings())))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/events"
    finally:
        await runner.cleanup()


def prepare(backend: Backend) -> None:
    """Accounts, one live (PENDING) saga and one captured saga, reached the genuine way."""
    from aws.dispatch import handle_event

    put_account(backend, "c-1", "100")
    backend.dynamodb.put_item(TableName=backend.settings.accounts, Item=dynamo.to_item(
        {"customerId": "c-owned", "credit": Decimal("100"), "currency": "EUR", "ownerPrincipalId": "alice"}))
    for event in (reservation("s-live", amount="10"), reservation("s-done", amount="10"), capture("s-done")):
        assert handle_event(event, backend).outcome.value == "applied"


def money(backend: Backend) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What no hostile input may move: accounts and payment rows."""
    def rows(table: str) -> list[dict[str, Any]]:
        return sorted(scan(backend, table), key=lambda row: json.dumps(row, default=str, sort_keys=True))
    return rows(backend.settings.accounts), rows(backend.settings.payments)


async def post(http: aiohttp.ClientSession, url: str, token: str, raw: Raw) -> tuple[int, Any]:
    body = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    async with http.post(url, data=body, headers={"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json"}) as answer:
        return answer.status, await answer.json(content_type=None)


async def test_the_hostile_corpus_is_acknowledged_and_moves_no_money(
    adapter: str, backend: Backend, tenant: TestTenant, capsys: pytest.CaptureFixture[str]
) -> None:
    prepare(backend)
    before = money(backend)
    outbox_before = outbox_types(backend)
    tally: dict[str, int] = {}
    poison_events = 0
    async with aiohttp.ClientSession() as http:
        for name, (expected, raw) in CORPUS.items():
            status, body = await post(http, adapter, tenant.token(), raw)
            assert status == 200, (name, status, body)  # anything else, Event Grid would retry or dead-letter
            outcomes = {result["outcome"] for result in body["results"]}
            assert outcomes == {expected}, (name, body)
            assert all(len(result.get("reason", "")) <= 1000 for result in body["results"]), name
            assert money(backend) == before, f"{name}: an account or a payment row changed"
            tally[expected] = tally.get(expected, 0) + 1
            poison_events += len(body["results"]) if expected == "poison" else 0
        # a mixed batch: each event gets its own answer, the genuine one takes effect
        batch = [POISON["unknown type"], reservation("s-genuine", amount="5"),
                 amount("10", customer="c-nobody", saga="s-d9")]
        status, body = await post(http, adapter, tenant.token(), batch)
    assert status == 200 and [r["outcome"] for r in body["results"]] == ["poison", "applied", "declined"]
    assert credit(backend, "c-1") == Decimal("75"), "only the genuine reservation moved money"

    poison_rows = scan(backend, backend.settings.poison)
    assert sum(int(row["seen"]) for row in poison_rows) == poison_events + 1
    assert all(row["reason"] and len(row["body"]) <= 64 * 1024 for row in poison_rows)
    new_replies = sorted(outbox_types(backend)[len(outbox_before):])
    assert new_replies == sorted(["PaymentDeclined"] * (tally["declined"] + 1) + ["PaymentReserved"]), new_replies
    assert payment(backend, "s-live")["status"] == "PENDING_AZURE_CONFIRMATION"  # type: ignore[index]
    with capsys.disabled():
        print(f"\n[hostile] aws: {len(CORPUS) + 1} inputs over HTTP with a valid token — {tally['poison']} poison "
              f"(recorded with the reason), {tally['declined']} declined, {tally['duplicate']} replays ignored, "
              f"1 mixed batch; every answer 200, no account or payment row moved; "
              f"+ {len(TOLERATED)} tolerated oddities applied once with nothing stored")


# Oddities a tolerant reader accepts: the request itself is valid. Each is applied once, and the
# junk is neither stored nor handed back to Azure.
TOLERATED: dict[str, Callable[[str], dict[str, Any]]] = {
    "a 400 KB unknown data field": lambda saga: with_data(reservation(saga, amount="1"), note="n" * 400_000),
    "a 400 KB source": lambda saga: changed(reservation(saga, amount="1"), source="s" * 400_000),
    "a traceparent of junk": lambda saga: changed(reservation(saga, amount="1"), traceparent="t" * 100_000),
    "an unknown 100 KB extension": lambda saga: changed(reservation(saga, amount="1"), x_junk="j" * 100_000),
}


async def test_tolerated_oddities_are_applied_once_and_their_junk_is_not_kept(
    adapter: str, backend: Backend, tenant: TestTenant
) -> None:
    put_account(backend, "c-1", "100")
    async with aiohttp.ClientSession() as http:
        for index, (name, make) in enumerate(TOLERATED.items()):
            saga = f"s-odd-{index}"
            for _ in range(2):  # and once more: a replay
                status, body = await post(http, adapter, tenant.token(), make(saga))
                assert status == 200, (name, body)
            row = payment(backend, saga)
            assert row is not None and len(json.dumps(row, default=str)) < 2000, name
    assert credit(backend, "c-1") == Decimal(100 - len(TOLERATED))
    replies = [json.loads(row["event"]) for row in scan(backend, backend.settings.outbox)]
    assert len(replies) == len(TOLERATED) and all(len(json.dumps(reply)) < 2000 for reply in replies)
    assert all(reply.get("traceparent") is None or len(reply["traceparent"]) == 55 for reply in replies)


def test_the_currency_list_is_the_one_azure_validates_orders_with() -> None:
    assert set(ISO4217.allowed_currencies) == ISO_4217


async def test_what_event_grid_accepts_of_the_corpus_is_delivered_at_the_first_attempt(
    backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the local Event Grid service (Entra tokens, CloudEvents topic): nothing hostile is
    ever retried or dead-lettered; the same ones that Event Grid lets through are acknowledged."""
    prepare(backend)
    runner, endpoint, grid_port = await start_authenticated_adapter(backend, AUDIENCE)
    key = uuid.uuid4().hex
    service = EventGridService(ServiceConfig.from_dict({"retryScheduleSeconds": [0.2], "topics": {"to-aws": {
        "key": key, "inputSchema": CLOUD_EVENTS, "subscriptions": [
            {"name": "aws", "endpoint": endpoint, "entra": {"audience": AUDIENCE}}]}}}))
    await service.start(port=grid_port)
    before = money(backend)
    accepted = refused = 0
    try:
        async with aiohttp.ClientSession() as http:
            for _name, (_expected, raw) in CORPUS.items():
                events = raw if isinstance(raw, list) else [raw]
                body = raw if isinstance(raw, bytes) else json.dumps(events).encode()
                async with http.post(service.topic_endpoint("to-aws"), data=body, headers={
                        "aeg-sas-key": key, "Content-Type": "application/cloudevents-batch+json"}) as answer:
                    if answer.status == 200:
                        accepted += len(events)
                    else:
                        assert 400 <= answer.status < 500, answer.status
                        refused += 1
            stats = service.workers[("to-aws", "aws")].stats
            for _ in range(400):
                if stats.delivered + stats.dead_lettered >= accepted:
                    break
                await asyncio.sleep(0.05)
        assert (stats.delivered, stats.dead_lettered, stats.attempts) == (accepted, 0, accepted), stats
        assert money(backend) == before
    finally:
        await service.stop()
        await runner.cleanup()
    with capsys.disabled():
        print(f"\n[hostile] aws via Event Grid: {len(CORPUS)} inputs — {refused} refused at publish, {accepted} events "
              f"delivered, each at the first attempt; 0 retried, 0 dead-lettered")
