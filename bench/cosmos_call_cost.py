"""Per-call cost of a Cosmos point read on the local protocol server: the async client the
app uses, the sync client, and a raw TLS request, measured in one run (p50/p95, ratios).

    .venv/bin/python -m bench.cosmos_call_cost [--reads 300]

Starts its own Cosmos protocol server on a free port and stops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import secrets
import ssl
import statistics
import time
import warnings
from collections.abc import Awaitable, Callable

import aiohttp
from azure.cosmos import CosmosClient as SyncCosmosClient
from azure.cosmos import PartitionKey
from azure.cosmos.aio import CosmosClient

from local_cloud.processes import CosmosServer

# The local server's certificate is self-signed; the sync client would warn on every call.
warnings.filterwarnings("ignore", message="Unverified HTTPS request")


def summary(name: str, samples: list[float]) -> tuple[str, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
    return f"{name:<28} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms", p50


async def timed(call: Callable[[], Awaitable[object]], reads: int) -> list[float]:
    samples = []
    for _ in range(reads):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


async def main(reads: int) -> None:
    server = CosmosServer().start()
    key = base64.b64encode(secrets.token_bytes(64)).decode()
    try:
        client = CosmosClient(server.endpoint, credential=key, connection_verify=False)
        database = await client.create_database_if_not_exists("bench")
        container = await database.create_container_if_not_exists("items", partition_key=PartitionKey(path="/id"))
        await container.upsert_item({"id": "sku-1", "available": 10})
        await container.read_item("sku-1", partition_key="sku-1")  # warm the connection

        async_samples = await timed(lambda: container.read_item("sku-1", partition_key="sku-1"), reads)

        sync_client = SyncCosmosClient(server.endpoint, credential=key, connection_verify=False)
        sync_container = sync_client.get_database_client("bench").get_container_client("items")
        sync_container.read_item("sku-1", partition_key="sku-1")
        sync_samples = []
        for _ in range(reads):
            started = time.perf_counter()
            sync_container.read_item("sku-1", partition_key="sku-1")
            sync_samples.append(time.perf_counter() - started)

        tls = ssl.create_default_context()
        tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
        url = f"{server.endpoint}dbs/bench/colls/items/docs/sku-1"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as http:
            async def raw() -> None:
                # Not authenticated: the server answers anyway; this is the floor of one TLS round trip.
                async with http.get(url) as response:
                    await response.read()

            await raw()
            raw_samples = await timed(raw, reads)
        await client.close()

        lines = [summary("raw TLS request (aiohttp)", raw_samples),
                 summary("azure.cosmos.aio read_item", async_samples),
                 summary("azure.cosmos (sync) read_item", sync_samples)]
        floor = lines[0][1]
        print(f"Cosmos point read on the local protocol server, {reads} reads each, kept-alive connection")
        for text, p50 in lines:
            print(f"  {text}   ×{p50 / floor:5.1f} of raw")
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=300)
    asyncio.run(main(parser.parse_args().reads))
