"""The saga across both clouds, nothing played: the app on devhost publishes to the local
Event Grid topic, which delivers to the AWS adapter (Lambda handlers on moto DynamoDB); AWS
replies leave through its outbox → EventBridge → SQS → forwarder → the Azure-bound topic →
the app's Event Grid trigger → the saga. Every scenario ends with the invariants on both sides.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import time
from decimal import Decimal
from typing import Any

import pytest
from azure.core.credentials import AzureKeyCredential
from azure.eventgrid.aio import EventGridPublisherClient

from aws import dynamo
from local_cloud.invariants import credit, payment_row
from ordersaga.event_publisher import to_cloud_event
from ordersaga.events import AWS_SOURCE, new_event
from tests.e2e.conftest import CUSTOMERS, Clouds, MakeClouds

pytestmark = pytest.mark.integration

async def eventually(check: Any, what: str, timeout: float = 20.0) -> Any:
    """Poll `check()` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)


async def from_aws(clouds: Clouds, event_type: str, data: dict[str, Any]) -> None:
    """Publish an AWS event to the Azure-bound topic, as the EventBridge API destination does."""
    assert clouds.aws.eventgrid is not None
    event = new_event(event_type, AWS_SOURCE, "payments", data)
    async with EventGridPublisherClient(clouds.aws.eventgrid.topic_endpoint("to-azure"),
                                        AzureKeyCredential(clouds.aws.to_azure_key)) as client:
        await client.send([to_cloud_event(event)])


async def payment_status(clouds: Clouds, saga_id: str) -> str | None:
    row = await asyncio.to_thread(payment_row, clouds.backend, saga_id)
    return row["status"] if row else None


async def annotation(clouds: Clouds, order_id: str, name: str) -> Any:
    return (await clouds.app.order(order_id)).get(name)


async def test_a_paid_order_completes_and_the_payment_is_captured_on_aws(
    make_clouds: MakeClouds, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clouds = await make_clouds()
    await clouds.stock("SKU-A", 10)
    order_id = await clouds.app.place(("SKU-A", 2), customer="c-rich", price="12.50")
    view = await clouds.app.finished(order_id)

    assert view["status"] == "COMPLETED", view
    await eventually(lambda: annotation(clouds, order_id, "payment"), "PaymentCaptured came back")
    assert (await clouds.app.order(order_id))["payment"]["status"] == "CAPTURED"
    assert await payment_status(clouds, view["sagaInstanceId"]) == "CAPTURED"
    assert await asyncio.to_thread(credit, clouds.backend, "c-rich") == CUSTOMERS["c-rich"] - Decimal("25.00")
    await clouds.assert_invariants([order_id])

    # AWS asking to roll back after the point of no return only marks the order.
    await from_aws(clouds, "OrderCompensationRequested",
                   {"orderId": order_id, "sagaId": view["sagaInstanceId"], "reason": "fraud check (late)"})
    marked = await eventually(lambda: annotation(clouds, order_id, "reconciliation"), "order marked")
    assert marked["reason"] == "fraud check (late)"
    assert (await clouds.app.order(order_id))["status"] == "COMPLETED"

    # Nothing secret reached the logs of the whole run (app, devhost, Event Grid, AWS side).
    secrets_in_play = {"to-aws topic key": clouds.aws.to_aws_key, "to-azure topic key": clouds.aws.to_azure_key,
                       "function key": clouds.app.function_key, "master key": clouds.app.master_key,
                       "Cosmos key": os.environ["COSMOS_KEY"]}
    logged = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    assert len(caplog.records) > 20, "the run did log"
    assert [name for name, value in secrets_in_play.items() if value in logged] == []


async def test_a_declined_payment_cancels_the_order_and_frees_the_stock(make_clouds: MakeClouds) -> None:
    clouds = await make_clouds()
    await clouds.stock("SKU-A", 10)
    order_id = await clouds.app.place(("SKU-A", 2), customer="c-low", price="10.00")  # 20 EUR > 10 EUR credit
    view = await clouds.app.finished(order_id)

    assert view["status"] == "CANCELLED"
    assert view["saga"]["output"]["reason"]["code"] == "PAYMENT_DECLINED"
    # The undo was registered before the step ran, so AWS also gets a compensation; with no
    # payment to cancel it leaves a zero-amount tombstone (a late reservation would be refused).
    row = await eventually(lambda: asyncio.to_thread(payment_row, clouds.backend, view["sagaInstanceId"]),
                           "the compensation reached AWS")
    assert row["status"] == "CANCELLED_VIA_COMPENSATION" and Decimal(str(row["amount"])) == 0
    assert await asyncio.to_thread(credit, clouds.backend, "c-low") == CUSTOMERS["c-low"]
    assert (await clouds.app.inventory("SKU-A"))["available"] == 10
    await clouds.assert_invariants([order_id])


async def test_a_reply_delayed_past_the_timeout_is_compensated_on_aws(make_clouds: MakeClouds) -> None:
    clouds = await make_clouds(PAYMENT_REPLY_TIMEOUT_SECONDS="2")
    await clouds.stock("SKU-A", 10)
    clouds.aws.hold_replies()  # AWS reserves at once, but its reply is stuck between the clouds
    order_id = await clouds.app.place(("SKU-A", 3), customer="c-rich", price="10.00")
    view = await clouds.app.finished(order_id)
    saga_id = view["sagaInstanceId"]

    assert view["status"] == "CANCELLED"
    assert view["saga"]["output"]["reason"]["code"] == "REPLY_TIMED_OUT"
    # The saga's compensation reached AWS even though AWS's reply did not reach Azure.
    await eventually(lambda: payment_status(clouds, saga_id), "the payment row exists")
    assert await eventually(
        lambda: _equals(payment_status(clouds, saga_id), "CANCELLED_VIA_COMPENSATION"), "payment cancelled")
    assert await asyncio.to_thread(credit, clouds.backend, "c-rich") == CUSTOMERS["c-rich"]

    # The late PaymentReserved now arrives for a saga that is over: the app asks AWS to
    # compensate again (never dropped); AWS finds the payment already cancelled and ignores it.
    forwarded = clouds.aws.forwarder.stats.forwarded if clouds.aws.forwarder else 0
    clouds.aws.release_replies()
    await eventually(lambda: annotation(clouds, order_id, "payment"), "PaymentCompensated came back")
    await eventually(lambda: clouds.aws.forwarder is not None and clouds.aws.forwarder.stats.forwarded >= forwarded + 2,
                     "both held replies forwarded")
    assert (await clouds.app.order(order_id))["payment"]["status"] == "COMPENSATED"
    assert await asyncio.to_thread(credit, clouds.backend, "c-rich") == CUSTOMERS["c-rich"]
    await clouds.assert_invariants([order_id])


async def test_aws_asking_to_roll_back_before_the_pivot_compensates_the_saga(make_clouds: MakeClouds) -> None:
    clouds = await make_clouds()
    await clouds.stock("SKU-A", 10)
    clouds.aws.hold_replies()  # keep the saga waiting for its payment reply
    order_id = await clouds.app.place(("SKU-A", 1), customer="c-rich", price="40.00")
    saga_id = await eventually(lambda: _awaiting_payment(clouds, order_id), "saga waits for the payment reply")
    await from_aws(clouds, "OrderCompensationRequested",
                   {"orderId": order_id, "sagaId": saga_id, "reason": "account frozen"})
    view = await clouds.app.finished(order_id)

    assert view["status"] == "CANCELLED"
    assert view["saga"]["output"]["reason"]["code"] == "COMPENSATION_REQUESTED_BY_AWS"
    assert view["saga"]["compensatedSteps"] == ["reserve_payment", "reserve_inventory", "create_order"]
    clouds.aws.release_replies()  # the PaymentReserved that was in flight lands late
    assert await eventually(
        lambda: _equals(payment_status(clouds, saga_id), "CANCELLED_VIA_COMPENSATION"), "payment cancelled")
    await eventually(lambda: annotation(clouds, order_id, "payment"), "PaymentCompensated came back")
    await clouds.assert_invariants([order_id])


async def test_fifty_sagas_over_both_clouds_keep_every_promise(
    make_clouds: MakeClouds, capsys: pytest.CaptureFixture[str]
) -> None:
    clouds = await make_clouds()
    for sku in ("SKU-A", "SKU-B", "SKU-C"):
        await clouds.stock(sku, 20)
    # 50 orders, 2 units each, over 3 SKUs of 20 units: some run out of stock; every
    # seventh customer cannot pay.
    plans = [((f"SKU-{'ABC'[i % 3]}", 2), "c-low" if i % 7 == 0 else "c-rich") for i in range(50)]

    async def one(line: tuple[str, int], customer: str) -> tuple[str, float]:
        started = time.perf_counter()
        order_id = await clouds.app.place(line, customer=customer, price="7.00")
        await clouds.app.host.wait_for_completion(order_id, timeout=60)
        return order_id, time.perf_counter() - started

    began = time.perf_counter()
    results = await asyncio.gather(*(one(line, customer) for line, customer in plans))
    elapsed = time.perf_counter() - began
    views = await clouds.assert_invariants([order_id for order_id, _ in results])

    outcomes = {s: sum(1 for v in views if v["status"] == s) for s in ("COMPLETED", "CANCELLED")}
    assert outcomes["COMPLETED"] + outcomes["CANCELLED"] == 50
    sold = sum([(await clouds.app.inventory(sku))["sold"] for sku in clouds.stocked])
    assert sold == 2 * outcomes["COMPLETED"]
    latencies = sorted(seconds * 1000 for _, seconds in results)
    p50, p95 = statistics.median(latencies), statistics.quantiles(latencies, n=20)[18]
    with capsys.disabled():
        print(f"\n[cross-cloud] 50 concurrent sagas: {outcomes}, {elapsed:.2f} s wall, "
              f"{50 / elapsed:.1f} sagas/s, latency p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms")


async def _equals(value: Any, expected: Any) -> bool:
    return (await value) == expected


async def _awaiting_payment(clouds: Clouds, order_id: str) -> str | None:
    status, body, _ = await clouds.app.call("GET", f"/api/orders/{order_id}")
    if status != 200:
        return None
    waiting = any(e["event"] == "awaiting-reply" for e in body["timeline"] if e["step"] == "reserve_payment")
    return body["sagaInstanceId"] if waiting else None


async def test_aws_charges_an_owned_account_only_for_its_owner(make_clouds: MakeClouds) -> None:
    """The confused-deputy check: the saga service asks AWS on behalf of whoever placed the
    order (App Service Authentication's principal id, carried as the `initiatorid` extension);
    AWS will not spend an account's credit for anyone else."""
    clouds = await make_clouds()
    await clouds.stock("SKU-A", 10)
    await asyncio.to_thread(clouds.backend.dynamodb.put_item, TableName=clouds.backend.settings.accounts,
                            Item=dynamo.to_item({"customerId": "c-owned", "credit": Decimal("100"),
                                                 "currency": "EUR", "ownerPrincipalId": "user-alice"}))
    mine = await clouds.app.place(("SKU-A", 1), customer="c-owned", price="30.00",
                                  **{"X-MS-CLIENT-PRINCIPAL-ID": "user-alice"})
    theirs = await clouds.app.place(("SKU-A", 1), customer="c-owned", price="30.00",
                                    **{"X-MS-CLIENT-PRINCIPAL-ID": "user-mallory"})
    anonymous = await clouds.app.place(("SKU-A", 1), customer="c-owned", price="30.00")

    assert (await clouds.app.finished(mine))["status"] == "COMPLETED"
    for order_id in (theirs, anonymous):
        view = await clouds.app.finished(order_id)
        assert view["status"] == "CANCELLED"
        assert "not placed by the owner" in view["saga"]["output"]["reason"]["message"]
    row = await eventually(lambda: asyncio.to_thread(payment_row, clouds.backend, mine), "payment row")
    assert row["initiator"] == "user-alice"
    assert await asyncio.to_thread(credit, clouds.backend, "c-owned") == Decimal("70")
