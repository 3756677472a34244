"""A network path to the Cosmos server that a test can cut and restore: Cosmos unavailable for
real (connections refused at a closed port) without touching the app's client or transport.

The gateway listens on a port of its own and passes every request through to the real server
unchanged, except one: the account's description (`GET /`), whose advertised locations it
points at itself. The SDK routes reads and writes to the advertised location, so without
this the app would go straight to the server after its first request and a cut would never
be seen. (tests/support/cosmos_faults.py, a transport inside the app's client, is for the
429/503 answers the local server cannot give.)

    gateway = await CosmosGateway(server_endpoint).start()
    start_app(COSMOS_ENDPOINT=gateway.endpoint)
    await gateway.cut()      # listener closed, open connections dropped: ECONNREFUSED
    await gateway.restore()  # the same port serves again
    gateway.drop = predicate  # or: drop the connection of each matching request, unanswered
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

# Hop-by-hop and length headers are the gateway's own business on each side.
_DROP = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"})


class CosmosGateway:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.port: int | None = None
        self.requests = 0  # requests passed through (across cuts)
        # Requests for which the connection is dropped without an answer (a partial outage).
        self.drop: Callable[[web.Request], bool] | None = None
        self.dropped = 0
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None

    @property
    def endpoint(self) -> str:
        assert self.port is not None, "start the gateway first"
        return f"http://127.0.0.1:{self.port}/"

    async def start(self) -> CosmosGateway:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False),
                                              auto_decompress=False)
        await self._listen()
        return self

    async def _listen(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port or 0)
        await site.start()
        if self.port is None:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def cut(self) -> None:
        """Close the port and every open connection: the app's next request is refused."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def restore(self) -> None:
        if self._runner is None:
            await self._listen()

    async def stop(self) -> None:
        await self.cut()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        if self.drop is not None and self.drop(request):
            self.dropped += 1
            if request.transport is not None:
                request.transport.close()
            raise web.HTTPServiceUnavailable()  # never sent: the connection is gone
        self.requests += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROP}
        body = await request.read()
        async with self._session.request(request.method, f"{self.upstream}{request.rel_url}", headers=headers,
                                         data=body or None, allow_redirects=False) as upstream:
            payload = await upstream.read()
            out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _DROP}
            if request.method == "GET" and request.path == "/" and upstream.status == 200:
                payload = self._advertise_self(payload)
            return web.Response(status=upstream.status, body=payload, headers=out_headers)

    def _advertise_self(self, payload: bytes) -> bytes:
        account: dict[str, Any] = json.loads(payload)
        for key in ("writableLocations", "readableLocations"):
            for location in account.get(key) or []:
                location["databaseAccountEndpoint"] = self.endpoint
        return json.dumps(account).encode()


async def wait_until_refused(port: int, timeout: float = 5.0) -> None:
    """The cut is complete when a fresh connection is refused."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return
        writer.close()
        if loop.time() > deadline:
            raise TimeoutError(f"port {port} still accepts connections")
        await asyncio.sleep(0.02)
