"""A counting reverse proxy in front of the local Cosmos DB protocol server: what the app asks
of Cosmos, counted on the wire (not what the app thinks it asked).

    python -m bench.cosmos_proxy --upstream https://127.0.0.1:8081/ [--port 0]

Prints `cosmos proxy ready: http://127.0.0.1:<port>/` once it listens, then forwards every
request to the upstream server and counts it by operation and container, and every 412
(If-Match lost) by container. `GET /__proxy/counts` answers the counts so far as JSON
(`{"requests": {"<op> <container>": n}, "status_412": {"<container>": n}, "total": n,
"idle_s": seconds since the last forwarded request}`); that request is not counted.

Runs as its own process so forwarding does not compete with the benchmark's event loop.
The server names itself in the account document (`databaseAccountEndpoint`), which the SDK
follows for every later request: the proxy rewrites that to its own address, or the app
would go around it after the first call.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections import Counter
from typing import Any

import aiohttp
from aiohttp import web

DOCS = re.compile(r"^/dbs/[^/]+/colls/(?P<coll>[^/]+)/docs(?:/(?P<id>[^/]+))?/?$")
# Headers aiohttp sets itself on the way back (the body may have been rewritten).
HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding", "keep-alive"}


def classify(method: str, path: str, headers: Any, body: bytes) -> tuple[str, str]:
    """(operation, container) of one request: read/create/replace/delete/query on a
    container's documents; everything else is metadata (account, database, collection,
    partition key ranges). Idempotency-Key claims in the inbox are told apart from inbox
    event records, so a reader can see what the key costs."""
    found = DOCS.match(path)
    if found is None:
        return ("metadata", "-")
    container = found["coll"]
    doc_id = found["id"] or ""
    if method == "POST":
        is_query = (headers.get("x-ms-documentdb-isquery") or "").lower() == "true" or \
            headers.get("content-type", "").startswith("application/query+json")
        operation = "query" if is_query else "create"
        if container == "inbox" and b"idempotency~" in body:
            container = "inbox(idempotency)"
    else:
        operation = {"GET": "read", "PUT": "replace", "DELETE": "delete", "PATCH": "patch"}.get(method, method)
        if container == "inbox" and doc_id.startswith("idempotency"):
            container = "inbox(idempotency)"
    return (operation, container)


class CountingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.requests: Counter[str] = Counter()
        self.status_412: Counter[str] = Counter()
        self.last_request = time.monotonic()
        self.own_url = ""
        self._http: aiohttp.ClientSession | None = None

    async def counts(self, _: web.Request) -> web.Response:
        return web.json_response({"requests": dict(self.requests), "status_412": dict(self.status_412),
                                  "total": sum(self.requests.values()),
                                  "idle_s": time.monotonic() - self.last_request})

    async def forward(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        body = await request.read()
        operation, container = classify(request.method, request.path, request.headers, body)
        self.requests[f"{operation} {container}"] += 1
        self.last_request = time.monotonic()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._http.request(request.method, self.upstream + request.path_qs, headers=headers,
                                      data=body, allow_redirects=False) as upstream:
            payload = await upstream.read()
            if upstream.status == 412:
                self.status_412[container] += 1
            if request.path == "/" and request.method == "GET":
                # The account document: point the SDK's endpoint discovery at the proxy.
                payload = re.sub(rb'https://[^"/]+/', self.own_url.encode(), payload)
            self.last_request = time.monotonic()
            answer = web.Response(status=upstream.status, body=payload)
            for key, value in upstream.headers.items():
                if key.lower() not in HOP_HEADERS:
                    answer.headers.add(key, value)
            return answer

    async def serve(self, port: int) -> None:
        connector = aiohttp.TCPConnector(ssl=False, limit=200)  # the local server's certificate is self-signed
        self._http = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_get("/__proxy/counts", self.counts)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.own_url = f"http://127.0.0.1:{bound}/"
        print(f"cosmos proxy ready: {self.own_url}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
            await self._http.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cosmos_proxy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        asyncio.run(CountingProxy(args.upstream).serve(args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
