"""A local API Gateway in front of the handlers: the endpoint an Event Grid webhook
subscription (the local Event Grid service, or a real one through a tunnel) delivers to.

    python -m aws.local_adapter --port 7072 --dynamodb-endpoint http://127.0.0.1:5000 \\
        [--create-tables] [--seed] [--relay-interval 0.5] [--forward-queue saga-to-azure]

Routes:
    OPTIONS /events   CloudEvents abuse-protection handshake
    POST    /events   Event Grid delivery (validation handshake or events) — see aws.webhook
    GET     /health   {"status": "ok"}

With `--relay-interval` it also runs the outbox relay (`aws.relay.relay_once`) in the
background, playing the stream-triggered Lambda; with `--forward-queue` the bus gets a rule
copying every `saga.payments` event into that SQS queue for the local forwarder to Azure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from aws.entra_auth import EntraTokenValidator, Unauthenticated
from aws.local_infra import create_local_infrastructure, route_bus_to_queue
from aws.relay import relay_once
from aws.seed import seed_demo_customers
from aws.settings import Backend, add_connection_arguments, settings_from_args
from aws.webhook import WebhookResponse, handle_options, handle_post

log = logging.getLogger("aws.payments.adapter")

BACKEND_KEY = web.AppKey("backend", Backend)
RELAY_INTERVAL_KEY = web.AppKey("relay_interval", float)
AUTH_KEY = web.AppKey("auth", EntraTokenValidator)


def create_app(backend: Backend, *, relay_interval: float = 0.0,
               auth: EntraTokenValidator | None = None) -> web.Application:
    """`auth` plays the API Gateway's JWT authorizer. Without it every caller is let in —
    said loudly at start, since in AWS the authorizer is always there."""
    app = web.Application(client_max_size=2 * 1024 * 1024)  # Event Grid batches reach 1 MB
    app[BACKEND_KEY] = backend
    app[RELAY_INTERVAL_KEY] = relay_interval
    if auth is not None:
        app[AUTH_KEY] = auth
    else:
        log.warning("AWS adapter: Entra token validation is OFF — any caller may post events")
    app.router.add_route("OPTIONS", "/events", _options)
    app.router.add_post("/events", _post)
    app.router.add_get("/health", _health)
    if relay_interval > 0:
        app.cleanup_ctx.append(_relay_loop)
    return app


async def _options(request: web.Request) -> web.Response:
    return _to_aiohttp(handle_options(request.headers))


async def _post(request: web.Request) -> web.Response:
    auth = request.app.get(AUTH_KEY)
    if auth is not None:
        try:
            await asyncio.to_thread(auth.check, dict(request.headers))
        except Unauthenticated as refused:
            log.warning("AWS adapter: delivery refused (401): %s", refused)
            return web.json_response({"error": {"code": "UNAUTHENTICATED", "message": str(refused),
                                                "details": [{"field": "Authorization", "message": str(refused)}]}},
                                     status=401, headers={"WWW-Authenticate": "Bearer"})
    body = await request.read()
    # boto3 is synchronous: handle the batch in a worker thread so the server keeps accepting.
    response = await asyncio.to_thread(handle_post, request.app[BACKEND_KEY], dict(request.headers), body)
    return _to_aiohttp(response)


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _to_aiohttp(response: WebhookResponse) -> web.Response:
    if response.body is None:
        return web.Response(status=response.status, headers=response.headers)
    return web.Response(status=response.status, text=response.body_text(), content_type="application/json",
                        headers=response.headers)


async def _relay_loop(app: web.Application) -> AsyncIterator[None]:
    backend, interval = app[BACKEND_KEY], app[RELAY_INTERVAL_KEY]

    async def loop() -> None:
        while True:
            try:
                report = await asyncio.to_thread(relay_once, backend)
                if report.sent:
                    log.info("relayed %d outbox events to EventBridge", len(report.sent))
            except Exception:  # keep relaying: an unreachable EventBridge is retried next tick
                log.exception("outbox relay failed; retrying in %.1fs", interval)
            await asyncio.sleep(interval)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local API Gateway for the AWS payment handlers")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7072)
    add_connection_arguments(parser)
    parser.add_argument("--create-tables", action="store_true", help="create the tables and the event bus first")
    parser.add_argument("--seed", action="store_true", help="put the demo customers (aws.seed)")
    parser.add_argument("--relay-interval", type=float, default=0.0,
                        help="seconds between outbox relay passes; 0 = no relay in this process")
    parser.add_argument("--forward-queue", help="SQS queue that receives a copy of every bus event")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    backend = Backend.connect(settings_from_args(args))
    if args.create_tables:
        create_local_infrastructure(backend)
    if args.seed:
        seed_demo_customers(backend)
    if args.forward_queue:
        log.info("bus %s → SQS %s", backend.settings.event_bus, route_bus_to_queue(backend, args.forward_queue))
    web.run_app(create_app(backend, relay_interval=args.relay_interval), host=args.host, port=args.port,
                print=lambda line: log.info(line))


if __name__ == "__main__":
    main()
