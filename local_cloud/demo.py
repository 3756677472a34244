"""python -m local_cloud.demo — the saga's four stories across both clouds, told on this machine.

Starts its own stack on free ports (the Cosmos protocol server, the AWS side on moto, the
local Event Grid topics, the forwarder, and the app on devhost), so it does not disturb a
running `scripts/run.sh`; then plays:

  1. a paid order            → COMPLETED, payment CAPTURED on AWS, stock sold
  2. a declined payment      → CANCELLED, stock back, no charge
  3. a reply stuck between the clouds past the timeout
                             → CANCELLED; the late PaymentReserved is compensated on AWS
  4. AWS asks to roll back before the pivot (OrderCompensationRequested)
                             → CANCELLED, payment released

For each saga it prints the timeline from the app's status API, the payment row on AWS and
the customer's credit, and after all four the invariants on both clouds. Exit code 1 if any
invariant does not hold.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiohttp
from azure.core.credentials import AzureKeyCredential
from azure.eventgrid.aio import EventGridPublisherClient

from aws.seed import put_account
from devhost import DevHost
from devhost.worker_loop import on_worker_loop
from local_cloud.invariants import check_orders, check_payments, check_stock, credit, payment_row
from local_cloud.loop import CrossCloudLoop, LoopOptions
from local_cloud.processes import REPO_ROOT, CosmosServer, free_port
from ordersaga import cosmos_store, inventory_repository
from ordersaga.event_publisher import to_cloud_event
from ordersaga.events import AWS_SOURCE, new_event

CUSTOMERS = {"c-1": Decimal("1000.00"), "c-low": Decimal("10.00")}
STOCK = {"SKU-RED": 10}
REPLY_TIMEOUT_SECONDS = 3


class Demo:
    def __init__(self, cloud: CrossCloudLoop, host: DevHost, http: aiohttp.ClientSession) -> None:
        self.cloud, self.host, self.http = cloud, host, http
        self.orders: list[str] = []

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        async with self.http.request(method, f"{self.host.base_url}{path}", **kwargs) as response:
            body = await response.json(content_type=None)
            if response.status >= 400:
                raise RuntimeError(f"{method} {path} answered {response.status}: {body}")
            return body

    async def place(self, customer: str, quantity: int, price: str) -> str:
        body = {"customerId": customer, "currency": "EUR",
                "items": [{"sku": "SKU-RED", "quantity": quantity, "unitPrice": price}]}
        order_id = str((await self.call("POST", "/api/orders", json=body))["orderId"])
        self.orders.append(order_id)
        return order_id

    async def until(self, check: Callable[[], Awaitable[Any]], what: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while not (value := await check()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)
        return value

    async def finished(self, order_id: str) -> dict[str, Any]:
        await self.host.wait_for_completion(order_id, timeout=60)
        return dict(await self.call("GET", f"/api/orders/{order_id}"))

    async def settled_on_aws(self, order_id: str) -> dict[str, Any]:
        """Wait until AWS's last word on the payment (captured or compensated) reached the order."""
        async def payment_noted() -> Any:
            view = await self.call("GET", f"/api/orders/{order_id}")
            return view if view.get("payment") else None
        return dict(await self.until(payment_noted, f"the payment outcome of {order_id}"))

    def show(self, title: str, view: dict[str, Any]) -> None:
        saga = view["sagaInstanceId"]
        assert self.cloud.backend is not None
        row = payment_row(self.cloud.backend, saga)
        print(f"\n── {title}\n   order {view['orderId']}  →  {view['status']}"
              f"  (saga {view['saga']['runtimeStatus']}"
              + (f", {view['saga']['output']['reason']['code']}" if view["status"] == "CANCELLED" else "") + ")")
        for event in view["timeline"]:
            detail = event.get("detail", "")
            print(f"   {event.get('at', '')[11:23]}  {event['step']:<18} {event['event']:<14} {detail}")
        print(f"   AWS payment row: {row['status'] if row else 'none'}"
              + (f" ({row['amount']} {row.get('currency', '')})" if row else "")
              + f"; credit of {view['customerId']}: {credit(self.cloud.backend, view['customerId'])}")
        if view.get("reconciliation"):
            print(f"   reconciliation: {view['reconciliation']}")
        in_transport, total = transport_share(view["timeline"])
        if total:
            print(f"   time waiting on the other cloud (request published → reply in the saga): "
                  f"{in_transport:.0f} ms of {total:.0f} ms ({100 * in_transport / total:.0f}%)")

    # -- the four stories ------------------------------------------------------------------

    async def paid(self) -> None:
        order_id = await self.place("c-1", 2, "19.99")
        await self.finished(order_id)
        self.show("1. a paid order", await self.settled_on_aws(order_id))

    async def declined(self) -> None:
        order_id = await self.place("c-low", 2, "19.99")
        await self.finished(order_id)
        self.show("2. a declined payment (c-low has 10.00 EUR)", await self.settled_on_aws(order_id))

    async def late_reply(self) -> None:
        self.cloud.hold_replies()
        order_id = await self.place("c-1", 1, "50.00")
        await self.finished(order_id)  # gives up after the reply timeout and compensates
        self.cloud.release_replies()  # the held PaymentReserved now lands, late
        await asyncio.sleep(1.0)  # let the late reply and its compensation go round
        self.show(f"3. AWS's reply held past the {REPLY_TIMEOUT_SECONDS}s timeout, then delivered late",
                  await self.settled_on_aws(order_id))

    async def aws_rolls_back(self) -> None:
        self.cloud.hold_replies()
        order_id = await self.place("c-1", 1, "30.00")

        async def waiting_for_payment() -> Any:
            view = await self.call("GET", f"/api/orders/{order_id}")
            waiting = any(e["event"] == "awaiting-reply" for e in view["timeline"])
            return view["sagaInstanceId"] if waiting else None
        saga_id = await self.until(waiting_for_payment, "the saga to wait for its payment")
        assert self.cloud.eventgrid is not None
        # Played here as AWS's API destination would send it: to the Azure-bound topic, with its key.
        event = new_event("OrderCompensationRequested", AWS_SOURCE, "payments",
                          {"orderId": order_id, "sagaId": saga_id, "reason": "account frozen"})
        async with EventGridPublisherClient(self.cloud.eventgrid.topic_endpoint("to-azure"),
                                            AzureKeyCredential(self.cloud.to_azure_key)) as client:
            await client.send([to_cloud_event(event)])
        await self.finished(order_id)
        self.cloud.release_replies()
        self.show("4. AWS asks to roll back before the pivot", await self.settled_on_aws(order_id))

    async def invariants(self) -> bool:
        views = [await self.call("GET", f"/api/orders/{order_id}") for order_id in self.orders]
        store = await on_worker_loop(cosmos_store.get_store)
        docs = {sku: await on_worker_loop(inventory_repository.read_stock, store, sku) for sku in STOCK}
        terminal = {v["orderId"] for v in views if v["status"] in ("COMPLETED", "CANCELLED")}
        assert self.cloud.backend is not None
        problems = [check_orders(views), check_stock(docs, STOCK, terminal),
                    check_payments(self.cloud.backend, views, CUSTOMERS)]
        found = [line for p in problems for line in p.found]
        print("\n── invariants on both clouds")
        print("   stock conserved, no reservation left, credit conserved, order ⇔ payment agree, "
              "no saga running: " + ("all hold" if not found else "VIOLATED"))
        for line in found:
            print(f"   ✗ {line}")
        assert self.cloud.eventgrid is not None
        delivered = {key: worker.stats.delivered for key, worker in self.cloud.eventgrid.workers.items()}
        to_aws, to_azure = delivered.get(("to-aws", "aws-payments")), delivered.get(("to-azure", "order-saga"))
        print(f"   events delivered for {len(self.orders)} sagas: Azure → AWS {to_aws}, AWS → Azure {to_azure}")
        return not found


def transport_share(timeline: list[dict[str, Any]]) -> tuple[float, float]:
    """(ms between publishing a request and its reply reaching the saga, ms of the whole saga)."""
    def ms(entry: dict[str, Any]) -> float:
        return datetime.fromisoformat(entry["at"].replace("Z", "+00:00")).timestamp() * 1000
    if not timeline:
        return 0.0, 0.0
    waited, since = 0.0, None
    for entry in timeline:
        if entry["event"] == "awaiting-reply":
            since = ms(entry)
        elif since is not None and entry["step"] == "reserve_payment":
            waited, since = waited + ms(entry) - since, None
    return waited, ms(timeline[-1]) - ms(timeline[0])


async def run() -> bool:
    cosmos = await asyncio.to_thread(CosmosServer().start)
    app_port, system_key = free_port(), secrets.token_urlsafe(16)
    cloud = CrossCloudLoop(LoopOptions(
        app_webhook_url=f"http://127.0.0.1:{app_port}/runtime/webhooks/eventgrid?functionName=aws_events"
                        f"&code={system_key}",
        retry_schedule_seconds=(0.5, 1, 2, 5), relay_interval=0.05))
    host: DevHost | None = None
    try:
        await cloud.start()
        assert cloud.backend is not None
        for customer, amount in CUSTOMERS.items():
            await asyncio.to_thread(put_account, cloud.backend, customer, amount)
        settings = cloud.app_settings() | {
            "COSMOS_ENDPOINT": cosmos.endpoint,
            # The protocol server accepts any key: a throwaway one keeps real keys out of the demo.
            "COSMOS_KEY": base64.b64encode(secrets.token_bytes(64)).decode(),
            "COSMOS_DATABASE": "demo", "COSMOS_VERIFY_TLS": "false", "COSMOS_CREATE_IF_MISSING": "true",
            "COSMOS_LOCAL_SERVER_COMPAT": "true", "PAYMENT_REPLY_TIMEOUT_SECONDS": str(REPLY_TIMEOUT_SECONDS),
            "DEVHOST_SYSTEM_KEY": system_key, "DEVHOST_DISABLE_TIMERS": "1",
        }
        host = DevHost(app_dir=str(REPO_ROOT), module="function_app", port=app_port, store=":memory:",
                       settings=settings, anonymous=True)
        await host.start()
        async with aiohttp.ClientSession() as http:
            demo = Demo(cloud, host, http)
            for sku, units in STOCK.items():
                await demo.call("PUT", f"/api/inventory/{sku}", json={"available": units})
            customers = ", ".join(f"{c} {a} EUR" for c, a in CUSTOMERS.items())
            print(f"stack up: app {host.base_url}, AWS on moto {cloud.moto.url}; customers {customers}; "
                  + ", ".join(f"{sku}: {units} units" for sku, units in STOCK.items()))
            await demo.paid()
            await demo.declined()
            await demo.late_reply()
            await demo.aws_rolls_back()
            return await demo.invariants()
    finally:
        if host is not None:
            await on_worker_loop(close_app_clients)
            await host.stop()
        await cloud.stop()
        await asyncio.to_thread(cosmos.stop)


async def close_app_clients() -> None:
    """The app keeps one Cosmos client, one Event Grid client and the Durable SDK's HTTP
    session per worker; a worker that stops closes them."""
    from azure.durable_functions.models.utils import http_utils

    from ordersaga import cosmos_store, event_publisher

    await cosmos_store.close_stores()
    await event_publisher.close_publishers()
    if http_utils._client_session is not None:
        await http_utils._client_session.close()
        http_utils._client_session = None


def main() -> None:
    argparse.ArgumentParser(prog="python -m local_cloud.demo", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(0 if asyncio.run(run()) else 1)


if __name__ == "__main__":
    main()
