"""The HTTP side: publish endpoints per topic and a stats endpoint per subscription.

    POST /topics/<topic>/api/events?api-version=2018-01-01   (aeg-sas-key header)
    GET  /topics/<topic>/subscriptions/<subscription>/stats
    GET  /health
    GET  /<tenant>/discovery/v2.0/keys                        the local Entra tenant's JWKS
    GET  /<tenant>/v2.0/.well-known/openid-configuration      … and its OpenID configuration

Point `EventGridPublisherClient` at `http://127.0.0.1:<port>/topics/<topic>/api/events`.
"""

from __future__ import annotations

import hmac
import logging
from collections import Counter
from typing import Any

import aiohttp
from aiohttp import web

from eventgrid_local.config import ServiceConfig
from eventgrid_local.dead_letter import DeadLetterStore
from eventgrid_local.delivery import SubscriptionWorker
from eventgrid_local.schema import MAX_BATCH_BYTES, PublishError, event_type_of, parse_batch
from eventgrid_local.token_issuer import LocalTokenIssuer

log = logging.getLogger("eventgrid_local")


class EventGridService:
    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.workers: dict[tuple[str, str], SubscriptionWorker] = {}
        self.dead_letters: DeadLetterStore | None = None
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        # Test hook (off by default): event type -> how many publishes carrying it to refuse
        # with 503, as a throttled or briefly unavailable topic answers; a refused batch is
        # not accepted at all.
        self.refuse_publishes: Counter[str] = Counter()
        self.token_issuer: LocalTokenIssuer | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BATCH_BYTES * 2)
        app.router.add_post("/topics/{topic}/api/events", self._publish)
        app.router.add_get("/topics/{topic}/subscriptions/{subscription}/stats", self._stats)
        app.router.add_get("/health", self._health)
        app.router.add_get("/{tenant}/discovery/v2.0/keys", self._jwks)
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._openid_configuration)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._session = aiohttp.ClientSession()
        if self.config.dead_letter_connection:
            self.dead_letters = DeadLetterStore(self.config.dead_letter_connection, self.config.dead_letter_container)
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        # The local Entra tenant for subscriptions with Entra authentication (its issuer URL
        # names this service, so it is made once the port is known).
        self.token_issuer = LocalTokenIssuer(f"http://{host}:{self.port}")
        for topic in self.config.topics.values():
            for subscription in topic.subscriptions:
                worker = SubscriptionWorker(topic, subscription, self._session, self.config.retry_schedule_seconds,
                                            self.config.delivery_timeout_seconds, self.dead_letters)
                worker.token_issuer = self.token_issuer
                self.workers[(topic.name, subscription.name)] = worker
                worker.start()
        log.info("Event Grid (local) listening on http://%s:%s with topics %s", host, self.port,
                 ", ".join(self.config.topics))
        if any(s.entra for t in self.config.topics.values() for s in t.subscriptions):
            log.info("Entra-authenticated webhooks get tokens from issuer %s (keys: %s)", self.token_issuer.issuer,
                     self.token_issuer.jwks_url)
        return self.port

    async def stop(self) -> None:
        for worker in self.workers.values():
            await worker.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
        if self.dead_letters is not None:
            await self.dead_letters.close()

    def topic_endpoint(self, topic: str) -> str:
        return f"http://127.0.0.1:{self.port}/topics/{topic}/api/events"

    async def _publish(self, request: web.Request) -> web.Response:
        topic = self.config.topics.get(request.match_info["topic"])
        if topic is None:
            return _error(PublishError(404, "NotFound", f"no topic {request.match_info['topic']!r}"))
        key = request.headers.get("aeg-sas-key", "")
        if not hmac.compare_digest(key.encode(), topic.key.encode()):
            return _error(PublishError(401, "Unauthorized", "missing or wrong aeg-sas-key"))
        try:
            events = parse_batch(await request.read(), request.headers.get("Content-Type", ""), topic.input_schema)
        except PublishError as error:
            return _error(error)
        refused = next((t for t in map(event_type_of, events) if self.refuse_publishes[t] > 0), None)
        if refused is not None:
            self.refuse_publishes[refused] -= 1
            return _error(PublishError(503, "ServiceUnavailable", "the topic is unavailable (injected)"))
        for event in events:
            for subscription in topic.subscriptions:
                if subscription.wants(event_type_of(event)):
                    self.workers[(topic.name, subscription.name)].enqueue(event)
        return web.Response(status=200)

    async def _stats(self, request: web.Request) -> web.Response:
        worker = self.workers.get((request.match_info["topic"], request.match_info["subscription"]))
        if worker is None:
            return _error(PublishError(404, "NotFound", "no such subscription"))
        stats: dict[str, Any] = dict(worker.stats.__dict__)
        return web.json_response(stats)

    async def _jwks(self, request: web.Request) -> web.Response:
        """The local tenant's public signing keys, where Entra publishes a tenant's (JWKS)."""
        if self.token_issuer is None or request.match_info["tenant"] != self.token_issuer.tenant:
            return _error(PublishError(404, "NotFound", "no such tenant"))
        return web.json_response(self.token_issuer.jwks())

    async def _openid_configuration(self, request: web.Request) -> web.Response:
        if self.token_issuer is None or request.match_info["tenant"] != self.token_issuer.tenant:
            return _error(PublishError(404, "NotFound", "no such tenant"))
        return web.json_response(self.token_issuer.openid_configuration())

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "topics": sorted(self.config.topics)})


def _error(error: PublishError) -> web.Response:
    return web.json_response(error.body(), status=error.status)
