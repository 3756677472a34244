"""Load through both clouds: N concurrent orders over a few hot SKUs.

    python -m bench.load_cross_cloud [--orders 200] [--skus 4] [--units 120]

Starts its own stack: the Cosmos protocol server, the AWS side on moto with the local Event
Grid topics and the forwarder (in this process), and the app on devhost as a separate process
(so its memory can be measured). Fires all orders at once, waits until every saga has ended,
then prints throughput, saga latency percentiles (POST → orchestration completed), ETag
conflict retries per reservation (from each saga's recorded `reserve_inventory` result) and
the host's peak resident memory (VmHWM). It checks the invariants on both clouds and exits 1
if any is violated (oversell, lost order, saga not terminal, credit or stock not conserved).

Locally the Cosmos protocol server (one Node.js process, ~250 requests/s on this kind of
machine) is the bottleneck; the figures say what this machine does, not what Azure does.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import statistics
import sys
import time
from decimal import Decimal
from typing import Any

import aiohttp

from aws.seed import put_account
from local_cloud.invariants import check_orders, check_payments, check_stock
from local_cloud.loop import CrossCloudLoop, LoopOptions
from local_cloud.processes import REPO_ROOT, CosmosServer, free_port
from ordersaga import inventory_repository
from ordersaga.config import CosmosSettings
from ordersaga.cosmos_store import CosmosStore

CUSTOMER, CREDIT = "c-load", Decimal("10000000.00")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def awaits_aws(view: dict[str, Any]) -> bool:
    """Whether the saga got as far as the payment step, so AWS will have the last word."""
    saga = view["saga"]
    return "reserve_payment" in saga["completedSteps"] + saga["compensatedSteps"]


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def run(orders: int, skus: int, units: int) -> bool:
    cosmos = await asyncio.to_thread(CosmosServer().start)
    port = free_port()
    cloud = CrossCloudLoop(LoopOptions(
        app_webhook_url=f"http://127.0.0.1:{port}/runtime/webhooks/eventgrid?functionName=aws_events",
        retry_schedule_seconds=(0.5, 1, 2, 5, 10), relay_interval=0.02))
    host: asyncio.subprocess.Process | None = None
    cosmos_env = {"COSMOS_ENDPOINT": cosmos.endpoint, "COSMOS_KEY": base64.b64encode(secrets.token_bytes(64)).decode(),
                  "COSMOS_DATABASE": "load", "COSMOS_VERIFY_TLS": "false", "COSMOS_CREATE_IF_MISSING": "true",
                  "COSMOS_LOCAL_SERVER_COMPAT": "true"}
    try:
        await cloud.start()
        assert cloud.backend is not None
        await asyncio.to_thread(put_account, cloud.backend, CUSTOMER, CREDIT)
        env = dict(os.environ) | cosmos_env | cloud.app_settings() | {
            "PYTHONPATH": str(REPO_ROOT), "PAYMENT_REPLY_TIMEOUT_SECONDS": "120", "SAGA_STEP_TIMEOUT_SECONDS": "120"}
        host = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "devhost", "--app-dir", str(REPO_ROOT), "--port", str(port), "--anonymous",
            "--no-timers", "--log-level", "WARNING", cwd=REPO_ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        assert host.stdout is not None
        line = await asyncio.wait_for(host.stdout.readline(), 60)
        base = line.decode().split("ready: ", 1)[1].strip()
        stocked = {f"HOT-{n}": units for n in range(skus)}
        async with aiohttp.ClientSession() as http:
            for sku, available in stocked.items():
                async with http.put(f"{base}/api/inventory/{sku}", json={"available": available}) as r:
                    assert r.status == 200, await r.text()
            print(f"load: {orders} concurrent orders of 1–3 units over {skus} SKUs of {units} units "
                  f"(demand ≈ {orders * 2} units, stock {skus * units})", flush=True)

            async def one(n: int) -> tuple[str, float]:
                body = {"customerId": CUSTOMER, "currency": "EUR",
                        "items": [{"sku": f"HOT-{n % skus}", "quantity": 1 + n % 3, "unitPrice": "3.50"}]}
                started = time.perf_counter()
                async with http.post(f"{base}/api/orders", json=body) as r:
                    assert r.status == 202, await r.text()
                    order_id = (await r.json())["orderId"]
                status_url = f"{base}/runtime/webhooks/durabletask/instances/{order_id}"
                while True:
                    async with http.get(status_url) as r:
                        state = await r.json()
                    if state["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
                        return order_id, time.perf_counter() - started
                    await asyncio.sleep(0.1)

            began = time.perf_counter()
            results = await asyncio.gather(*(one(n) for n in range(orders)))
            elapsed = time.perf_counter() - began
            memory = peak_rss_mb(host.pid)

            conflicts: list[int] = []
            views: list[dict[str, Any]] = []
            for order_id, _ in results:
                async with http.get(f"{base}/api/orders/{order_id}") as r:
                    views.append(await r.json())
                url = (f"{base}/runtime/webhooks/durabletask/instances/{order_id}"
                       "?showHistory=true&showHistoryOutput=true")
                async with http.get(url) as r:
                    history = (await r.json()).get("historyEvents", [])
                for event in history:
                    if event.get("FunctionName") == "reserve_inventory" and event.get("Result"):
                        result = event["Result"]
                        result = json.loads(result) if isinstance(result, str) else result
                        data = result.get("data") or {}
                        details = result.get("details") or [{}]
                        conflicts.append(int(data.get("conflictRetries") or details[0].get("conflictRetries") or 0))
            # AWS's last word (PaymentCaptured / PaymentCompensated) lands after the saga ends:
            # wait until every order has heard it, then look at both clouds.
            deadline = time.monotonic() + 120
            for index, view in enumerate(views):
                while awaits_aws(view) and view.get("payment") is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                    async with http.get(f"{base}/api/orders/{view['orderId']}") as r:
                        view = views[index] = await r.json()

        os.environ.update(cosmos_env)  # this process reads the stock the same way the app does
        store = await CosmosStore.open(CosmosSettings.from_environment())
        try:
            docs = {sku: await inventory_repository.read_stock(store, sku) for sku in stocked}
        finally:
            await store.close()
        terminal = {v["orderId"] for v in views if v["status"] in ("COMPLETED", "CANCELLED")}
        problems = [check_orders(views), check_stock(docs, stocked, terminal),
                    await asyncio.to_thread(check_payments, cloud.backend, views, {CUSTOMER: CREDIT})]
        latencies = [seconds * 1000 for _, seconds in results]
        outcome = {s: sum(1 for v in views if v["status"] == s) for s in ("COMPLETED", "CANCELLED")}
        sold = sum(doc["sold"] for doc in docs.values() if doc)
        print(f"load: {outcome} — sold {sold} of {skus * units} units, "
              f"oversold {max(0, sold - skus * units)}, lost {orders - len(terminal)}")
        p50, p95, p99 = (percentile(latencies, q) for q in (50, 95, 99))
        print(f"load: {orders / elapsed:.1f} sagas/s ({elapsed:.1f} s wall); latency p50 {p50:.0f} ms, "
              f"p95 {p95:.0f} ms, p99 {p99:.0f} ms, max {max(latencies):.0f} ms")
        if conflicts:
            print(f"load: ETag conflict retries per reservation: mean {statistics.mean(conflicts):.2f}, "
                  f"max {max(conflicts)}, total {sum(conflicts)} over {len(conflicts)} reservations")
        print(f"load: host peak resident memory {memory:.0f} MB")
        found = [line for p in problems for line in p.found]
        for view in views:
            if view["status"] not in ("COMPLETED", "CANCELLED") or (awaits_aws(view) and view.get("payment") is None):
                found.append(f"{view['orderId']}: {view['status']}, payment {view.get('payment')}, saga "
                             f"{view['saga']['runtimeStatus']} {json.dumps(view['saga']['output'])[:300]} "
                             f"last error {json.dumps(view['saga']['lastError'])[:300]}")
        print("load: invariants " + ("hold" if not found else "VIOLATED:\n  " + "\n  ".join(found[:20])))
        return not found
    finally:
        if host is not None and host.returncode is None:
            host.terminate()
            await host.wait()
        await cloud.stop()
        await asyncio.to_thread(cosmos.stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_cross_cloud", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--skus", type=int, default=4)
    parser.add_argument("--units", type=int, default=120)
    args = parser.parse_args(argv)
    return 0 if asyncio.run(run(args.orders, args.skus, args.units)) else 1


if __name__ == "__main__":
    sys.exit(main())
