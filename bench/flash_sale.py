"""Flash sale: the same N concurrent orders twice in one run — all on one SKU with fewer units
than orders (contended; the rest must end OUT_OF_STOCK) and spread over N SKUs (uncontended).

    python -m bench.flash_sale [--orders 200] [--units 150] [--kill-host 0] [--buckets N]

Starts its own stack like `bench.load_cross_cloud`: the Cosmos protocol server, a counting
proxy in front of it (`bench.cosmos_proxy`, its own process; only the app goes through it),
the AWS side on moto with the local Event Grid topics and the forwarder (in this process),
and the app on devhost as its own process on a SQLite store. A warm-up order runs first, then
one order alone per outcome (completed, out of stock) to measure what a saga costs with no
contention, then the contended run, then the uncontended one. A progress bar (stderr) shows
terminal orders. Every order carries an Idempotency-Key, so a POST cut off by a host kill is
sent again safely.

`--kill-host N` kills -9 the devhost process N times during the contended run (at evenly
spread fractions of terminal orders) and starts it again on the same store and port.
`--buckets N` passes `buckets` in the stock admin body when the app accepts that field.

The last stdout line is one JSON object (keys in README.md, "Performance"); exit 1 when an
order is lost, stock is oversold or not conserved, a saga did not end or credit is not
conserved on AWS. Outcomes other than the expected completed / out-of-stock split (a saga
that gave up on the hot SKU) are reported in `outcome_shortfall`, not as a broken invariant.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from tqdm import tqdm

from aws.seed import put_account
from local_cloud.invariants import check_payments
from local_cloud.loop import CrossCloudLoop, LoopOptions
from local_cloud.processes import REPO_ROOT, CosmosServer, DevhostProcess, free_port
from ordersaga.config import CosmosSettings
from ordersaga.cosmos_store import CosmosStore
from ordersaga.request_budget import minimum_requests

CREDIT = Decimal("100000.00")
RUNTIME_TERMINAL = ("Completed", "Failed", "Terminated")
ORDER_TERMINAL = ("COMPLETED", "CANCELLED")
QUIET_SECONDS = 1.5  # no Cosmos request for this long after the last saga ended: the run's work is done
GIVE_UP_SECONDS = 300  # an order not terminal by then counts as lost (the run ends instead of hanging)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def outcome_of(output: Any, runtime: str) -> str:
    """completed | out_of_stock | cancelled:<reason code> | <runtime status> from a saga's output."""
    if runtime != "Completed" or not isinstance(output, dict):
        return runtime.lower()
    if output.get("status") == "COMPLETED":
        return "completed"
    code = (output.get("reason") or {}).get("code")
    return "out_of_stock" if code == "OUT_OF_STOCK" else f"{str(output.get('status')).lower()}:{code}"


class Host(DevhostProcess):
    """The app on devhost, counting the kills the bench gives it."""

    def __init__(self, port: int, store: Path, env: dict[str, str]) -> None:
        super().__init__(port, store, env)
        self.kills = 0

    async def kill_and_restart(self) -> None:
        await self.kill()
        self.kills += 1
        await self.start()


class Proxy:
    """The counting proxy process (`bench.cosmos_proxy`)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.url = ""
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.cosmos_proxy", "--upstream", self.upstream, cwd=REPO_ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        self.url = line.decode().split("ready: ", 1)[1].strip()

    async def counts(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        async with http.get(f"{self.url}__proxy/counts") as r:
            return dict(await r.json())

    async def quiet(self, http: aiohttp.ClientSession, timeout: float = 60) -> dict[str, Any]:
        """The counts once the app has sent nothing for QUIET_SECONDS (AWS's last replies,
        which land after a saga ends, are handled by then)."""
        deadline = time.monotonic() + timeout
        while True:
            counts = await self.counts(http)
            if counts["idle_s"] >= QUIET_SECONDS or time.monotonic() > deadline:
                return counts
            await asyncio.sleep(QUIET_SECONDS - counts["idle_s"] + 0.05)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


def difference(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    requests = Counter(after["requests"])
    requests.subtract(before["requests"])
    conflicts = Counter(after["status_412"])
    conflicts.subtract(before["status_412"])
    return {"requests": {k: v for k, v in sorted(requests.items()) if v},
            "status_412": {k: v for k, v in sorted(conflicts.items()) if v},
            "total": after["total"] - before["total"]}


@dataclass
class Order:
    n: int
    sku: str
    key: str
    order_id: str | None = None
    outcome: str | None = None
    seconds: float = float("nan")
    post_attempts: int = 0


@dataclass
class RunResult:
    name: str
    orders: list[Order]
    elapsed: float
    cosmos: dict[str, Any]
    cosmos_to_terminal: dict[str, Any]
    kills: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


class FlashSale:
    def __init__(self, orders: int, units: int, kill_host: int, buckets: int | None, progress: bool) -> None:
        self.count, self.units, self.kill_host, self.buckets = orders, units, kill_host, buckets
        self.progress = progress
        self.tag = secrets.token_hex(4)
        self.buckets_applied: bool | None = None

    # -- talking to the app --------------------------------------------------------------

    async def stock(self, http: aiohttp.ClientSession, base: str, sku: str, available: int) -> None:
        body: dict[str, Any] = {"available": available}
        if self.buckets is not None and self.buckets_applied is not False:
            body["buckets"] = self.buckets
        async with http.put(f"{base}/api/inventory/{sku}", json=body) as r:
            text = await r.text()
            if r.status == 400 and "buckets" in body and '"buckets"' in text:
                self.buckets_applied = False  # this app does not know the field yet: stock without it
                return await self.stock(http, base, sku, available)
            if r.status != 200:
                raise RuntimeError(f"PUT stock {sku}: {r.status} {text}")
            if "buckets" in body:
                self.buckets_applied = True

    async def place(self, http: aiohttp.ClientSession, host: Host, order: Order) -> None:
        """POST until accepted (202), then poll the orchestration until it ends. Connection
        errors (the host was killed) and 5xx/409 are retried with the same Idempotency-Key."""
        body = {"customerId": f"c-flash-{order.n}", "currency": "EUR",
                "items": [{"sku": order.sku, "quantity": 1, "unitPrice": "3.50"}]}
        started = time.perf_counter()
        give_up = time.monotonic() + GIVE_UP_SECONDS
        while order.order_id is None:
            if time.monotonic() > give_up:
                return
            order.post_attempts += 1
            try:
                async with http.post(f"{host.base}/api/orders", json=body,
                                     headers={"Idempotency-Key": order.key}) as r:
                    if r.status == 202:
                        order.order_id = (await r.json())["orderId"]
                        break
                    text = await r.text()
                    if r.status not in (409, 500, 502, 503, 504):
                        raise RuntimeError(f"POST order {order.n}: {r.status} {text}")
            except (TimeoutError, aiohttp.ClientConnectionError):
                pass
            await asyncio.sleep(0.5)
        status_url = f"{host.base}/runtime/webhooks/durabletask/instances/{order.order_id}"
        while True:
            try:
                async with http.get(status_url) as r:
                    state = await r.json() if r.status in (200, 202) else {}
            except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ContentTypeError):
                state = {}
            runtime = state.get("runtimeStatus")
            if runtime in RUNTIME_TERMINAL:
                order.seconds = time.perf_counter() - started
                output = state.get("output")
                order.outcome = outcome_of(json.loads(output) if isinstance(output, str) else output, runtime)
                return
            if time.monotonic() > give_up:
                return
            await asyncio.sleep(0.1)

    async def run_orders(self, name: str, http: aiohttp.ClientSession, host: Host, proxy: Proxy,
                         orders: list[Order], kills: int) -> RunResult:
        bar = tqdm(total=len(orders), desc=f"{name:<12}", unit="order", file=sys.stderr,
                   disable=not self.progress, dynamic_ncols=True)
        done = 0

        async def tracked(order: Order) -> None:
            nonlocal done
            await self.place(http, host, order)
            done += 1
            bar.update(1)

        async def killer() -> None:
            for k in range(1, kills + 1):
                threshold = len(orders) * k / (kills + 1)
                while done < threshold:
                    await asyncio.sleep(0.02)
                bar.write(f"{name}: kill -9 devhost ({k}/{kills}) at {done} terminal orders; restarting",
                          file=sys.stderr)
                await host.kill_and_restart()

        before = await proxy.counts(http)
        kills_before = host.kills
        began = time.perf_counter()
        killing = asyncio.create_task(killer())
        await asyncio.gather(*(tracked(o) for o in orders))
        elapsed = time.perf_counter() - began
        await killing
        at_terminal = await proxy.counts(http)
        after = await proxy.quiet(http)
        bar.close()
        result = RunResult(name, orders, elapsed, difference(after, before), difference(at_terminal, before),
                           kills=host.kills - kills_before)
        result.outcomes.update(o.outcome or "unknown" for o in orders)
        return result

    async def solo(self, http: aiohttp.ClientSession, host: Host, proxy: Proxy, sku: str, units: int,
                   label: str) -> tuple[str, int]:
        """One order alone on a quiet stack: its outcome and the Cosmos requests it made."""
        await self.stock(http, host.base, sku, units)
        await proxy.quiet(http)
        before = await proxy.counts(http)
        order = Order(-1, sku, f"flash-{self.tag}-{label}")
        await self.place(http, host, order)
        after = await proxy.quiet(http)
        return order.outcome or "unknown", after["total"] - before["total"]

    # -- the whole run -------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        cosmos = await asyncio.to_thread(CosmosServer().start)
        proxy = Proxy(cosmos.endpoint)
        port = free_port()
        cloud = CrossCloudLoop(LoopOptions(
            app_webhook_url=f"http://127.0.0.1:{port}/runtime/webhooks/eventgrid?functionName=aws_events",
            retry_schedule_seconds=(0.5, 1, 2, 5, 10), relay_interval=0.02))
        key = base64.b64encode(secrets.token_bytes(64)).decode()
        common = {"COSMOS_KEY": key, "COSMOS_DATABASE": "flash", "COSMOS_VERIFY_TLS": "false",
                  "COSMOS_CREATE_IF_MISSING": "true", "COSMOS_LOCAL_SERVER_COMPAT": "true"}
        workdir = tempfile.TemporaryDirectory(prefix="flash-sale-")
        host: Host | None = None
        try:
            await proxy.start()
            await cloud.start()
            assert cloud.backend is not None
            customers = [f"c-flash-{n}" for n in range(self.count)] + ["c-flash--1"]
            for customer in customers:
                await asyncio.to_thread(put_account, cloud.backend, customer, CREDIT)
            env = dict(os.environ) | common | cloud.app_settings() | {
                "COSMOS_ENDPOINT": proxy.url, "PYTHONPATH": str(REPO_ROOT),
                "PAYMENT_REPLY_TIMEOUT_SECONDS": "120", "SAGA_STEP_TIMEOUT_SECONDS": "120"}
            host = Host(port, Path(workdir.name) / "devhost.sqlite", env)
            await host.start()
            timeout = aiohttp.ClientTimeout(total=60)
            async with aiohttp.ClientSession(timeout=timeout,
                                             connector=aiohttp.TCPConnector(limit=0)) as http:
                # Warm-up (imports, connections, containers), then one saga alone per outcome.
                await self.solo(http, host, proxy, f"WARM-{self.tag}", 1, "warm")
                solo = dict([await self.solo(http, host, proxy, f"SOLO-{self.tag}", 1, "solo-ok"),
                             await self.solo(http, host, proxy, f"SOLO-{self.tag}", 0, "solo-oos")])

                hot = f"HOT-{self.tag}"
                await self.stock(http, host.base, hot, self.units)
                spread = [f"SPREAD-{self.tag}-{n}" for n in range(self.count)]
                for sku in spread:
                    await self.stock(http, host.base, sku, 1)
                await proxy.quiet(http)
                contended = await self.run_orders(
                    "contended", http, host, proxy,
                    [Order(n, hot, f"flash-{self.tag}-hot-{n}") for n in range(self.count)], self.kill_host)
                uncontended = await self.run_orders(
                    "uncontended", http, host, proxy,
                    [Order(n, spread[n], f"flash-{self.tag}-spread-{n}") for n in range(self.count)], 0)
                views = {run.name: await self.views(http, host, run) for run in (contended, uncontended)}
            # This process reads the stock straight from the server, not through the proxy.
            os.environ.update(common | {"COSMOS_ENDPOINT": cosmos.endpoint})
            store = await CosmosStore.open(CosmosSettings.from_environment())
            try:
                inventory = await store.query(store.inventory, "SELECT * FROM c", [])
            finally:
                await store.close()
            all_views = [v for vs in views.values() for v in vs.values() if v is not None]
            payments = await asyncio.to_thread(check_payments, cloud.backend, all_views,
                                               {c: CREDIT for c in customers if c != "c-flash--1"})
            return self.report(contended, uncontended, views, inventory, {hot: self.units} | dict.fromkeys(spread, 1),
                               solo, payments.found)
        finally:
            if host is not None:
                await host.stop()
            await cloud.stop()
            await proxy.stop()
            await asyncio.to_thread(cosmos.stop)
            workdir.cleanup()

    async def views(self, http: aiohttp.ClientSession, host: Host,
                    run: RunResult) -> dict[int, dict[str, Any] | None]:
        """Each accepted order as the app shows it, once AWS's last word has landed."""
        found: dict[int, dict[str, Any] | None] = {}
        deadline = time.monotonic() + 60
        for order in run.orders:
            if order.order_id is None:
                continue
            while True:
                async with http.get(f"{host.base}/api/orders/{order.order_id}") as r:
                    view = await r.json() if r.status == 200 else None
                saga = (view or {}).get("saga") or {}
                waits_for_aws = "reserve_payment" in saga.get("completedSteps", []) + saga.get("compensatedSteps", [])
                if view is None or not waits_for_aws or view.get("payment") is not None \
                        or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            found[order.n] = view
        return found

    def report(self, contended: RunResult, uncontended: RunResult, views: dict[str, dict[int, Any]],
               inventory: list[dict[str, Any]], stocked: dict[str, int], solo: dict[str, int],
               payment_problems: list[str]) -> dict[str, Any]:
        problems: list[str] = list(payment_problems)
        lost = 0
        for run in (contended, uncontended):
            for order in run.orders:
                if order.order_id is None:
                    problems.append(f"{run.name} order {order.n}: never accepted after {order.post_attempts} POSTs")
                    continue
                view = views[run.name].get(order.n)
                terminal = view is not None and view["status"] in ORDER_TERMINAL and \
                    view["saga"]["runtimeStatus"] in RUNTIME_TERMINAL
                if not terminal:
                    lost += 1
                    problems.append(f"{run.name} order {order.n} ({order.order_id}): "
                                    f"{'missing' if view is None else view['status']}")
        by_sku: dict[str, list[dict[str, Any]]] = {}
        for doc in inventory:
            by_sku.setdefault(str(doc.get("sku", doc["id"])), []).append(doc)
        oversold = 0
        for sku, units in stocked.items():
            docs = by_sku.get(sku, [])
            held = sum(int(d.get("sold", 0)) + int(d.get("reserved", 0)) for d in docs)
            total = held + sum(int(d.get("available", 0)) for d in docs)
            oversold += max(0, held - units)
            if total != units:
                problems.append(f"{sku}: available+reserved+sold = {total} over {len(docs)} documents, stocked {units}")
            if any(d.get("reserved") for d in docs):
                problems.append(f"{sku}: {sum(int(d.get('reserved', 0)) for d in docs)} units still reserved")
        completed = contended.outcomes["completed"]
        oversold = max(oversold, completed - self.units)
        if oversold:
            problems.append(f"oversold {oversold}: {completed} completed of {self.units} units")
        # Not a broken invariant but a missed goal: a saga that gave up (e.g. If-Match attempts
        # exhausted on the hot SKU) ends CANCELLED with another reason, leaving stock unsold.
        expected_oos = max(0, self.count - self.units)
        shortfall = []
        if completed != min(self.units, self.count) or contended.outcomes["out_of_stock"] != expected_oos:
            shortfall.append(f"contended outcomes {dict(contended.outcomes)}: expected {min(self.units, self.count)} "
                             f"completed and {expected_oos} out of stock")
        if uncontended.outcomes["completed"] != self.count:
            shortfall.append(f"uncontended outcomes {dict(uncontended.outcomes)}: expected all completed")

        minimum, source = self.minimum(contended.outcomes, solo)
        sagas = len(contended.orders)
        contended_rate = sagas / contended.elapsed
        uncontended_rate = len(uncontended.orders) / uncontended.elapsed
        conflicts = contended.cosmos["status_412"].get("inventory", 0)
        latencies = [o.seconds for o in contended.orders if o.outcome]
        result = {
            "orders": self.count,
            "units": self.units,
            "completed": completed,
            "out_of_stock": contended.outcomes["out_of_stock"],
            "oversold": oversold,
            "lost": lost,
            "contended_sagas_per_s": round(contended_rate, 2),
            "uncontended_sagas_per_s": round(uncontended_rate, 2),
            "ratio": round(contended_rate / uncontended_rate, 3),
            "conflicts_per_reservation": round(conflicts / sagas, 3),
            "cosmos_requests_per_saga": round(contended.cosmos["total"] / sagas, 2),
            "minimum_requests_per_saga": round(minimum, 2),
            "p50_s": round(percentile(latencies, 50), 3),
            "p95_s": round(percentile(latencies, 95), 3),
            "max_sku_doc_bytes": max((len(json.dumps(d, separators=(",", ":"))) for d in inventory), default=0),
            "host_kills": contended.kills,
            "buckets": self.buckets if self.buckets_applied else None,
            "minimum_requests_source": source,
            "contended_outcomes": dict(contended.outcomes),
            "uncontended_outcomes": dict(uncontended.outcomes),
            "contended_wall_s": round(contended.elapsed, 2),
            "uncontended_wall_s": round(uncontended.elapsed, 2),
            "uncontended_p50_s": round(percentile([o.seconds for o in uncontended.orders], 50), 3),
            "uncontended_p95_s": round(percentile([o.seconds for o in uncontended.orders], 95), 3),
            "cosmos_requests_per_saga_to_all_terminal": round(contended.cosmos_to_terminal["total"] / sagas, 2),
            "uncontended_cosmos_requests_per_saga": round(uncontended.cosmos["total"] / len(uncontended.orders), 2),
            "uncontended_conflicts_per_reservation": round(
                uncontended.cosmos["status_412"].get("inventory", 0) / len(uncontended.orders), 3),
            "contended_requests": contended.cosmos["requests"],
            "contended_412": contended.cosmos["status_412"],
            "not_accepted": sum(1 for o in contended.orders + uncontended.orders if o.order_id is None),
            "post_retries": sum(o.post_attempts - 1 for o in contended.orders + uncontended.orders),
            "solo_requests": solo,
            "invariants": "hold" if not problems else "VIOLATED",
            "problems": problems[:20],
            "outcomes_as_expected": not shortfall,
            "outcome_shortfall": shortfall,
        }
        return result

    def minimum(self, outcomes: Counter[str], solo: dict[str, int]) -> tuple[float, str]:
        """The fewest Cosmos requests the contended run could have made, weighted over the
        outcomes it produced (`ordersaga.request_budget`; an outcome other than out of stock
        counts as completed). `solo_requests` in the JSON is what one saga of each outcome
        cost alone on the quiet stack, for comparison."""
        total = 0.0
        for outcome, n in outcomes.items():
            path = outcome if outcome in solo else "completed"
            total += minimum_requests(path, 1, self.buckets or 1) * n
        return total / max(1, sum(outcomes.values())), "ordersaga.request_budget"


def run_flash_sale(orders: int = 200, units: int = 150, kill_host: int = 0, buckets: int | None = None,
                   progress: bool = True) -> dict[str, Any]:
    return asyncio.run(FlashSale(orders, units, kill_host, buckets, progress).run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flash_sale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--units", type=int, default=150, help="units of the one hot SKU")
    parser.add_argument("--kill-host", type=int, default=0, metavar="N",
                        help="kill -9 devhost N times during the contended run, restarting it on its store")
    # An operator expecting a sale splits the hot SKU (README, "Hot SKUs"); 1 is the app's default.
    parser.add_argument("--buckets", type=int, default=8,
                        help="split the hot SKU into N bucket documents through the stock API (default 8)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    result = run_flash_sale(args.orders, args.units, args.kill_host, args.buckets, not args.no_progress)
    for line in result["problems"] + result["outcome_shortfall"]:
        print(f"flash_sale: {line}")
    print(json.dumps(result), flush=True)
    return 0 if result["invariants"] == "hold" else 1


if __name__ == "__main__":
    sys.exit(main())
