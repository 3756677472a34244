"""The chaos matrix: for every step and every undo of the saga, each kind of fault, on real
sagas through both clouds (the app on devhost, Event Grid, the AWS participant on moto, Cosmos
on the protocol server) — then the invariants on both sides.

A row is a kind of fault; a column is a step or an undo. Each row starts its own stack and
plays the sagas that pass through its cells: a paid order runs every step, a declined order
runs every undo. A cell passes when its fault really fired and, afterwards, every saga ended
and the invariants hold (stock and credit conserved, order ⇔ AWS payment agree, no
reservation left, nothing running). "n/a" says why a fault cannot touch that step. The
matrix is printed; any failing cell fails the test.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from azure.cosmos.aio import CosmosClient

from devhost.worker_loop import on_worker_loop
from orchestrators.saga_steps import ORDER_SAGA
from ordersaga import cosmos_store, event_publisher
from ordersaga.config import CosmosSettings
from ordersaga.cosmos_store import CosmosStore
from tests.e2e.conftest import Clouds, MakeClouds
from tests.support.cosmos_faults import RefusingTransport

pytestmark = pytest.mark.integration

STEPS = [s.activity for s in ORDER_SAGA]
UNDOS = [s.undo for s in ORDER_SAGA if s.undo]
COLUMNS = STEPS + UNDOS
PUBLISHERS = {"request_payment": "PaymentReservationRequested", "request_payment_capture": "PaymentCaptureRequested",
              "request_payment_compensation": "PaymentCompensationRequested"}
NO_COSMOS = set(PUBLISHERS)
# The reply AWS sends for each activity that talks to it, and which saga shows it.
REPLIES = {"request_payment": ("PaymentReserved", "paid"), "request_payment_capture": ("PaymentCaptured", "paid"),
           "request_payment_compensation": ("PaymentCompensated", "declined")}
REPLY_TIMEOUT = "3"


@dataclass
class Row:
    name: str
    cells: dict[str, str] = field(default_factory=dict)  # column -> "pass" | "FAIL: …" | "n/a: …"


async def settle(clouds: Clouds, order_id: str, wait_for_payment: bool = True) -> dict[str, Any]:
    """The saga has ended and AWS's last word (if it was not lost) has come back."""
    await clouds.app.host.wait_for_completion(order_id, timeout=60)
    view = await clouds.app.order(order_id)
    for _ in range(200):
        if view.get("payment") is not None or not wait_for_payment:
            break
        await asyncio.sleep(0.05)
        view = await clouds.app.order(order_id)
    return view


def sku_of(clouds: Clouds) -> str:
    return next(iter(clouds.stocked))


async def paid(clouds: Clouds, **wait: bool) -> str:
    order_id = await clouds.app.place((sku_of(clouds), 1), customer="c-rich", price="10.00")
    await settle(clouds, order_id, **wait)
    return order_id


async def declined(clouds: Clouds, **wait: bool) -> str:
    order_id = await clouds.app.place((sku_of(clouds), 2), customer="c-low", price="10.00")
    await settle(clouds, order_id, **wait)
    return order_id


async def check(clouds: Clouds, orders: list[str]) -> str | None:
    try:
        await clouds.assert_invariants(orders)
    except AssertionError as violated:
        return f"FAIL: {str(violated).splitlines()[0][:120]}"
    return None


_rows = itertools.count(1)


async def stack(make_clouds: MakeClouds, **settings: str) -> Clouds:
    """A fresh app + AWS side for one row, with a SKU of its own (rows share the database).
    The app's clients live on devhost's worker loop across rows: drop them, so this row's app
    talks to this row's Event Grid topic."""
    await on_worker_loop(event_publisher.close_publishers)
    await on_worker_loop(cosmos_store.close_stores)
    # devhost applies settings to the environment: say "no faults" unless this row has some.
    clouds = await make_clouds(**({"PAYMENT_REPLY_TIMEOUT_SECONDS": REPLY_TIMEOUT, "DEVHOST_FAULTS": "{}"} | settings))
    await clouds.stock(f"SKU-ROW-{next(_rows)}", 50)
    return clouds


async def devhost_fault_row(make_clouds: MakeClouds, name: str, fault: str) -> Row:
    """Every activity gets the fault once: the paid saga meets it in every step, the declined
    saga in every undo (the steps' counters are used up by then)."""
    plan = {"activities": {activity: {fault: 1} for activity in COLUMNS}}
    clouds = await stack(make_clouds, DEVHOST_FAULTS=json.dumps(plan))
    orders = [await paid(clouds), await declined(clouds)]
    verdict = await check(clouds, orders)
    row = Row(name)
    faults = clouds.app.host.engine.faults
    for column in COLUMNS:
        left = getattr(faults.for_activity(column), fault)
        row.cells[column] = verdict or ("pass" if left == 0 else "FAIL: fault never fired")
    return row


async def cosmos_row(make_clouds: MakeClouds, cosmos_settings: CosmosSettings, status: int) -> Row:
    """Every third document request of the app answers `status` (with retry-after)."""
    clouds = await stack(make_clouds)
    requests = itertools.count(1)
    transport = RefusingTransport(status, refusals=10**9, retry_after_ms=10,
                                  matches=lambda request: "/docs" in request.url and next(requests) % 3 == 0)

    async def swap() -> None:
        client = CosmosClient(cosmos_settings.endpoint, credential=cosmos_settings.key,
                              connection_verify=cosmos_settings.verify_tls, transport=transport)
        loop = asyncio.get_running_loop()
        await cosmos_store._stores[loop].close()
        cosmos_store._stores[loop] = CosmosStore(cosmos_settings, client)

    await on_worker_loop(swap)
    orders = [await paid(clouds), await declined(clouds)]
    refused = transport.refused
    transport.remaining = 0  # Cosmos recovers: the invariants are read through the same client
    verdict = await check(clouds, orders)
    await on_worker_loop(cosmos_store.close_stores)  # the next row opens a healthy client
    row = Row(f"Cosmos {status} (1 in 3 requests)")
    for column in COLUMNS:
        if column in NO_COSMOS:
            row.cells[column] = "n/a: no Cosmos call"
        else:
            row.cells[column] = verdict or ("pass" if refused else "FAIL: nothing refused")
    return row


async def publish_failure_row(make_clouds: MakeClouds) -> Row:
    clouds = await stack(make_clouds)
    assert clouds.aws.eventgrid is not None
    refusals = clouds.aws.eventgrid.refuse_publishes
    for event_type in PUBLISHERS.values():
        refusals[event_type] = 1  # the first publish of each kind gets a 503
    orders = [await paid(clouds), await declined(clouds)]
    verdict = await check(clouds, orders)
    row = Row("Event Grid publish 503")
    for column in COLUMNS:
        if column not in PUBLISHERS:
            row.cells[column] = "n/a: publishes nothing"
        else:
            row.cells[column] = verdict or ("pass" if refusals[PUBLISHERS[column]] == 0 else "FAIL: never refused")
    return row


async def reply_row(make_clouds: MakeClouds, name: str,
                    apply: Callable[[Clouds, str], None], fired: Callable[[Clouds, str], bool],
                    expect_payment_back: bool) -> Row:
    """One saga per AWS reply, the fault armed for that reply's type only."""
    clouds = await stack(make_clouds)
    row, orders = Row(name), []
    for column in COLUMNS:
        if column not in REPLIES:
            row.cells[column] = "n/a: AWS does not answer it"
            continue
        reply, story = REPLIES[column]
        apply(clouds, reply)
        play: Callable[..., Awaitable[str]] = paid if story == "paid" else declined
        orders.append(await play(clouds, wait_for_payment=expect_payment_back))
        for _ in range(200):  # a reply to the last undo travels after the saga has ended
            if fired(clouds, reply):
                break
            await asyncio.sleep(0.05)
        row.cells[column] = "pass" if fired(clouds, reply) else "FAIL: fault never fired"
    verdict = await check(clouds, orders)
    if verdict:
        row.cells = {c: v if v.startswith("n/a") else verdict for c, v in row.cells.items()}
    return row


async def delayed_reply_row(make_clouds: MakeClouds) -> Row:
    """AWS's reply held until the saga has timed out and compensated, then delivered."""
    clouds = await stack(make_clouds)
    clouds.aws.hold_replies()
    order_id = await clouds.app.place((sku_of(clouds), 1), customer="c-rich", price="10.00")
    await clouds.app.host.wait_for_completion(order_id, timeout=60)
    timed_out = (await clouds.app.order(order_id))["saga"]["output"]["reason"]["code"] == "REPLY_TIMED_OUT"
    clouds.aws.release_replies()
    await settle(clouds, order_id)
    verdict = await check(clouds, [order_id])
    row = Row("AWS reply delayed past timeout")
    for column in COLUMNS:
        if column != "request_payment":
            row.cells[column] = "n/a: no reply the saga waits for"
        else:
            row.cells[column] = verdict or ("pass" if timed_out else "FAIL: did not time out")
    return row


def print_matrix(rows: list[Row]) -> str:
    width = max(len(r.name) for r in rows) + 2
    header = " " * width + " ".join(f"{c[:12]:>12}" for c in COLUMNS)
    lines = ["", "[chaos] steps: " + ", ".join(STEPS) + "; undos: " + ", ".join(UNDOS), header]
    for row in rows:
        cells = []
        for column in COLUMNS:
            value = row.cells[column]
            cells.append(f"{'pass' if value == 'pass' else 'n/a' if value.startswith('n/a') else 'FAIL':>12}")
        lines.append(f"{row.name:<{width}}" + " ".join(cells))
    lines.append("[chaos] process killed and restarted mid-saga: every step and undo "
                 "(tests/e2e/test_restart_recovery.py)")
    return "\n".join(lines)


async def test_chaos_matrix(make_clouds: MakeClouds, cosmos_settings: CosmosSettings,
                            capsys: pytest.CaptureFixture[str]) -> None:
    forwarder = lambda clouds: clouds.aws.forwarder  # noqa: E731
    rows = [
        await devhost_fault_row(make_clouds, "crash after side effect", "crash_after"),
        await devhost_fault_row(make_clouds, "duplicate execution", "duplicate"),
        await cosmos_row(make_clouds, cosmos_settings, 503),
        await cosmos_row(make_clouds, cosmos_settings, 429),
        await publish_failure_row(make_clouds),
        await reply_row(make_clouds, "AWS reply lost",
                        lambda c, reply: forwarder(c).faults.lose.update({reply: 1}),
                        lambda c, reply: forwarder(c).faults.lose[reply] == 0, expect_payment_back=False),
        await reply_row(make_clouds, "AWS reply duplicated ×3",
                        lambda c, reply: forwarder(c).faults.repeat.update({reply: 1}),
                        lambda c, reply: forwarder(c).faults.repeat[reply] == 0, expect_payment_back=True),
        await delayed_reply_row(make_clouds),
    ]
    with capsys.disabled():
        print(print_matrix(rows))
    failures = {(r.name, c): v for r in rows for c, v in r.cells.items() if v.startswith("FAIL")}
    assert failures == {}
