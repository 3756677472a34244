"""Webhook delivery for one subscription: validation handshake, retries, dead-lettering.

Outcomes follow Event Grid's rules: 200–204 is delivered; 400, 401, 403 and 413 are final
(dead-lettered at once, never retried); anything else — other statuses, a timeout, a refused
connection — is retried on the schedule until the attempt limit or the time-to-live runs
out, and then dead-lettered. Events published before the endpoint has passed validation
wait for it instead of being lost.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from eventgrid_local.config import CLOUD_EVENTS, Subscription, Topic
from eventgrid_local.dead_letter import DeadLetterStore
from eventgrid_local.schema import event_id_of
from eventgrid_local.token_issuer import LocalTokenIssuer

log = logging.getLogger("eventgrid_local.delivery")

FINAL_STATUSES = frozenset({400, 401, 403, 413})


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass(order=True)
class PendingDelivery:
    due: float
    sequence: int
    event: dict[str, Any] = field(compare=False)
    published_at: float = field(compare=False)
    published_iso: str = field(compare=False)
    attempts: int = field(default=0, compare=False)
    last_status: int | None = field(default=None, compare=False)
    last_outcome: str = field(default="", compare=False)


@dataclass
class SubscriptionStats:
    delivered: int = 0
    dead_lettered: int = 0
    attempts: int = 0
    pending: int = 0
    validated: bool = False
    delivered_ids: list[str] = field(default_factory=list)


class SubscriptionWorker:
    def __init__(self, topic: Topic, subscription: Subscription, session: aiohttp.ClientSession,
                 retry_schedule: tuple[float, ...], timeout: float, dead_letters: DeadLetterStore | None) -> None:
        self.topic, self.subscription = topic, subscription
        self._session = session
        self._schedule = retry_schedule
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._dead_letters = dead_letters
        self._heap: list[PendingDelivery] = []
        self._sequence = itertools.count()
        self._wake = asyncio.Event()
        self.stats = SubscriptionStats(validated=subscription.validation == "none")
        self._task: asyncio.Task[None] | None = None
        self.token_issuer: LocalTokenIssuer | None = None  # the service's tenant, for Entra subscriptions

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"eventgrid:{self.topic.name}/{self.subscription.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def enqueue(self, event: dict[str, Any]) -> None:
        now = time.monotonic()
        heapq.heappush(self._heap, PendingDelivery(now, next(self._sequence), event, now, _now_iso()))
        self.stats.pending = len(self._heap)
        self._wake.set()

    # -- the loop ------------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self.stats.validated:
            self.stats.validated = await self._validate()
            if not self.stats.validated:
                await asyncio.sleep(1.0)
        while True:
            if not self._heap:
                self._wake.clear()
                await self._wake.wait()
                continue
            wait = self._heap[0].due - time.monotonic()
            if wait > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
                except TimeoutError:
                    pass
                continue
            pending = heapq.heappop(self._heap)
            await self._attempt(pending)
            self.stats.pending = len(self._heap)

    async def _attempt(self, pending: PendingDelivery) -> None:
        pending.attempts += 1
        self.stats.attempts += 1
        status, outcome = await self._post(pending)
        pending.last_status, pending.last_outcome = status, outcome
        if status is not None and 200 <= status <= 204:
            self.stats.delivered += 1
            self.stats.delivered_ids.append(event_id_of(pending.event))
            return
        ttl_expired = time.monotonic() - pending.published_at > self.subscription.event_ttl_minutes * 60
        if status in FINAL_STATUSES:
            await self._dead_letter(pending, "NonRetriableHttpStatus")
        elif pending.attempts >= self.subscription.max_delivery_attempts:
            await self._dead_letter(pending, "MaxDeliveryAttemptsExceeded")
        elif ttl_expired:
            await self._dead_letter(pending, "TimeToLiveExceeded")
        else:
            delay = self._schedule[min(pending.attempts - 1, len(self._schedule) - 1)]
            pending.due = time.monotonic() + delay
            heapq.heappush(self._heap, pending)
            log.info("%s/%s: event %s attempt %d failed (%s); retrying in %.1fs", self.topic.name,
                     self.subscription.name, event_id_of(pending.event), pending.attempts, outcome, delay)

    async def _post(self, pending: PendingDelivery) -> tuple[int | None, str]:
        headers = {
            "aeg-event-type": "Notification",
            "aeg-subscription-name": self.subscription.name.upper(),
            "aeg-delivery-count": str(pending.attempts - 1),
            "aeg-metadata-version": "1",
            "aeg-data-version": str(pending.event.get("dataVersion", "")),
        }
        headers.update(self._authorization())
        if self.topic.input_schema == CLOUD_EVENTS:
            body, headers["Content-Type"] = json.dumps(pending.event), "application/cloudevents+json; charset=utf-8"
        else:
            body, headers["Content-Type"] = json.dumps([pending.event]), "application/json"
        try:
            async with self._session.post(self.subscription.endpoint, data=body, headers=headers,
                                          timeout=self._timeout) as response:
                text = await response.text()
                return response.status, f"{response.status} {text[:200]}"
        except TimeoutError:
            return None, "timed out"
        except aiohttp.ClientError as error:
            return None, f"{type(error).__name__}: {error}"

    def _authorization(self) -> dict[str, str]:
        """Entra authentication: a fresh token for the subscription's audience on every request."""
        entra = self.subscription.entra
        if entra is None:
            return {}
        if self.token_issuer is None:
            raise RuntimeError(f"{self.topic.name}/{self.subscription.name}: Entra delivery without a token issuer")
        token = self.token_issuer.token(entra.audience, roles=entra.roles,
                                        lifetime_seconds=entra.token_lifetime_seconds)
        return {"Authorization": f"Bearer {token}"}

    async def _dead_letter(self, pending: PendingDelivery, reason: str) -> None:
        record = pending.event | {
            "deadLetterReason": reason,
            "deliveryAttempts": pending.attempts,
            "lastDeliveryOutcome": pending.last_outcome,
            "lastHttpStatusCode": pending.last_status or 0,
            "publishTime": pending.published_iso,
            "lastDeliveryAttemptTime": _now_iso(),
        }
        if self._dead_letters is None:
            log.error("%s/%s: event %s dropped (%s) — no dead-letter destination configured",
                      self.topic.name, self.subscription.name, event_id_of(pending.event), reason)
        else:
            await self._dead_letters.write(self.topic.name, self.subscription.name, record)
        self.stats.dead_lettered += 1
        if self._dead_letters is None:
            return
        log.warning("%s/%s: event %s dead-lettered (%s after %d attempts)", self.topic.name,
                    self.subscription.name, event_id_of(pending.event), reason, pending.attempts)

    # -- validation handshake --------------------------------------------------------------------

    async def _validate(self) -> bool:
        try:
            if self.topic.input_schema == CLOUD_EVENTS:
                # CloudEvents webhook abuse protection: OPTIONS with the origin, which must be allowed.
                origin = "eventgrid.azure.net"
                async with self._session.options(self.subscription.endpoint, timeout=self._timeout,
                                                 headers={"WebHook-Request-Origin": origin}
                                                 | self._authorization()) as response:
                    allowed = response.headers.get("WebHook-Allowed-Origin", "")
                    return response.status == 200 and allowed in (origin, "*")
            code = uuid.uuid4().hex
            event = {"id": str(uuid.uuid4()), "topic": self.topic.name, "subject": "",
                     "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "eventTime": _now_iso(),
                     "data": {"validationCode": code, "validationUrl": ""}, "dataVersion": "2",
                     "metadataVersion": "1"}
            async with self._session.post(self.subscription.endpoint, json=[event], timeout=self._timeout,
                                          headers={"aeg-event-type": "SubscriptionValidation"}
                                          | self._authorization()) as response:
                if response.status != 200:
                    return False
                answer = await response.json(content_type=None)
                return isinstance(answer, dict) and answer.get("validationResponse") == code
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            log.info("%s/%s: validation not answered yet (%s)", self.topic.name, self.subscription.name, error)
            return False
