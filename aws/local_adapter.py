"""A local API Gateway in front of the handlers: the endpoint an Event Grid webhook
subscription (the local Event Grid service, or a real one through a tunnel) delivers to.

    python -m aws.local_adapter --port 7072 --dynamodb-endpoint http://127.0.0.1:5000 \\
        [--create-tables] [--seed] [--relay-interval 0.5] [--forward-queue saga-to-azure]

Routes:
    OPTIONS /events   CloudEvents abuse-protection handshake (no token: it touches nothing)
    POST    /events   Event Grid delivery (validation handshake or events) — see aws.webhook;
                      only with a valid Entra bearer token (aws.entra_auth), as API Gateway's
                      authorizer and the webhook Lambda require in AWS: 401 otherwise
    GET     /health   {"status": "ok"}

Token checking is configured like the Lambda's (`WEBHOOK_AUDIENCE`, `ENTRA_TENANT_ID` or
`WEBHOOK_TOKEN_ISSUER` + `WEBHOOK_JWKS_URL`, …) or with the `--entra-*` flags. Without either the
adapter refuses to start; `--no-auth` lets everyone in and says so loudly.

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
from dataclasses import replace

from aiohttp import web

from aws.entra_auth import AuthUnavailable, NoTokenCheck, Unauthenticated, WebhookAuth, webhook_auth_from
from aws.local_infra import create_local_infrastructure, route_bus_to_queue
from aws.relay import relay_once
from aws.seed import seed_demo_customers
from aws.settings import Backend, EntraSettings, add_connection_arguments, settings_from_args
from aws.webhook import WebhookResponse, auth_refusal, handle_options, handle_post

log = logging.getLogger("aws.payments.adapter")

BACKEND_KEY = web.AppKey("backend", Backend)
RELAY_INTERVAL_KEY = web.AppKey("relay_interval", float)
AUTH_KEY = web.AppKey("auth", WebhookAuth)


def create_app(backend: Backend, *, auth: WebhookAuth, relay_interval: float = 0.0) -> web.Application:
    """`auth` plays API Gateway's JWT authorizer: an `aws.entra_auth.EntraTokenValidator`, or —
    chosen explicitly, never by default — `aws.entra_auth.NoTokenCheck`, which says so loudly."""
    app = web.Application(client_max_size=2 * 1024 * 1024)  # Event Grid batches reach 1 MB
    app[BACKEND_KEY] = backend
    app[RELAY_INTERVAL_KEY] = relay_interval
    app[AUTH_KEY] = auth
    app.router.add_route("OPTIONS", "/events", _options)
    app.router.add_post("/events", _post)
    app.router.add_get("/health", _health)
    if relay_interval > 0:
        app.cleanup_ctx.append(_relay_loop)
    return app


async def _options(request: web.Request) -> web.Response:
    return _to_aiohttp(handle_options(request.headers))


async def _post(request: web.Request) -> web.Response:
    try:
        # May fetch the tenant's key set: off the event loop.
        await asyncio.to_thread(request.app[AUTH_KEY].check, request.headers.copy())
    except (Unauthenticated, AuthUnavailable) as refused:
        return _to_aiohttp(auth_refusal(refused))
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


def auth_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> WebhookAuth:
    if args.no_auth:
        return NoTokenCheck("--no-auth")
    settings = EntraSettings.from_environment()
    if args.entra_tenant_id:
        settings = replace(EntraSettings.for_tenant(args.entra_tenant_id, settings.audiences),
                           allowed_client_ids=settings.allowed_client_ids, required_role=settings.required_role)
    flags = {"issuers": tuple(args.entra_issuer or ()), "audiences": tuple(args.entra_audience or ()),
             "jwks_url": args.entra_jwks_url, "allowed_client_ids": tuple(args.entra_allowed_client or ())}
    settings = replace(settings, enabled=True, **{key: value for key, value in flags.items() if value})
    if settings.missing():
        parser.error(f"token checking needs {', '.join(settings.missing())}: give the --entra-* flags or the "
                     "environment settings, or --no-auth to let anyone post (local experiments only)")
    return webhook_auth_from(settings)


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
    auth = parser.add_argument_group("who may post (Entra ID bearer token; defaults from the environment)")
    auth.add_argument("--entra-tenant-id", help="a real tenant: its v1/v2 issuers and its key set")
    auth.add_argument("--entra-issuer", action="append", help="accepted issuer (repeatable)")
    auth.add_argument("--entra-audience", action="append", help="accepted audience (repeatable)")
    auth.add_argument("--entra-jwks-url", help="the tenant's key set (JWKS)")
    auth.add_argument("--entra-allowed-client", action="append",
                      help="accepted appid/azp (repeatable; default Event Grid's)")
    auth.add_argument("--no-auth", action="store_true", help="let ANY caller post (local experiments only)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    webhook_auth = auth_from_args(args, parser)
    backend = Backend.connect(settings_from_args(args))
    if args.create_tables:
        create_local_infrastructure(backend)
    if args.seed:
        seed_demo_customers(backend)
    if args.forward_queue:
        log.info("bus %s → SQS %s", backend.settings.event_bus, route_bus_to_queue(backend, args.forward_queue))
    web.run_app(create_app(backend, auth=webhook_auth, relay_interval=args.relay_interval), host=args.host,
                port=args.port, print=lambda line: log.info(line))


if __name__ == "__main__":
    main()
