"""Plays the EventBridge API destination: AWS → Azure.

In production an EventBridge rule on source `saga.payments` targets an API destination that
POSTs each event to the Azure Event Grid topic (OAuth client credentials against Entra ID).
moto cannot deliver to API destinations, so locally the rule targets an SQS queue and this
forwarder drains it: each EventBridge envelope becomes a CloudEvent (the id, subject and
trace context the AWS outbox wrote are kept) and is published with the topic key.

A message is deleted only after the topic accepted it. A message the topic refuses as
malformed (400/413) is left to SQS's redrive policy, which moves it to the dead-letter
queue after a few receives; a transient failure (5xx, connection refused) simply leaves it
for the next receive. Nothing is lost and nothing loops forever.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from ordersaga.events import INBOUND_FROM_AWS, PoisonEvent, normalise

log = logging.getLogger("local_cloud.forwarder")


@dataclass
class ForwarderStats:
    forwarded: int = 0
    refused: int = 0
    transient_failures: int = 0
    lost: int = 0  # dropped by the `lose` test hook


@dataclass
class LinkFaults:
    """Test hooks for the link between the clouds (all off by default), per event type:
    `lose` drops the next n replies of that type (deleted from the queue, never delivered);
    `repeat` delivers each of the next n replies `copies` times."""

    lose: Counter[str] = field(default_factory=Counter)
    repeat: Counter[str] = field(default_factory=Counter)
    copies: int = 3

    def take(self, counter: Counter[str], event_type: str) -> bool:
        if counter[event_type] > 0:
            counter[event_type] -= 1
            return True
        return False


def envelope_to_cloudevent(envelope: dict[str, Any]) -> dict[str, Any]:
    event = normalise(envelope, INBOUND_FROM_AWS)
    return event.to_cloudevent()


class SqsToEventGridForwarder:
    def __init__(self, sqs: Any, queue_url: str, topic_endpoint: str, topic_key: str) -> None:
        self._sqs, self._queue_url = sqs, queue_url
        self._topic_endpoint, self._topic_key = topic_endpoint, topic_key
        self.stats = ForwarderStats()
        self.faults = LinkFaults()
        # While held, replies stay in the queue (nothing is lost): how a slow or partitioned
        # link between the clouds looks to the saga.
        self.held = False

    async def forward_once(self, http: aiohttp.ClientSession, wait_seconds: int = 0) -> int:
        """Receive up to 10 messages and forward them; returns how many were handled."""
        response = await asyncio.to_thread(
            self._sqs.receive_message, QueueUrl=self._queue_url, MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
        )
        messages = response.get("Messages", [])
        for message in messages:
            await self._forward(http, message)
        return len(messages)

    async def _forward(self, http: aiohttp.ClientSession, message: dict[str, Any]) -> None:
        try:
            cloud_event = envelope_to_cloudevent(json.loads(message["Body"]))
        except (ValueError, PoisonEvent) as error:
            # The Azure side would refuse it too; SQS's redrive policy dead-letters it.
            self.stats.refused += 1
            log.error("message %s is not a usable event (%s); left for the dead-letter queue",
                      message.get("MessageId"), error)
            return
        if self.faults.take(self.faults.lose, cloud_event["type"]):
            await asyncio.to_thread(self._sqs.delete_message, QueueUrl=self._queue_url,
                                    ReceiptHandle=message["ReceiptHandle"])
            self.stats.lost += 1
            log.warning("event %s (%s) lost on the way (injected)", cloud_event["id"], cloud_event["type"])
            return
        copies = self.faults.copies if self.faults.take(self.faults.repeat, cloud_event["type"]) else 1
        try:
            for _ in range(copies):  # more than one only when repeating (an at-least-once link may)
                status, detail = await self._post(http, cloud_event)
        except (aiohttp.ClientError, TimeoutError) as error:
            self.stats.transient_failures += 1
            log.warning("topic unreachable (%s); message %s stays queued", error, message.get("MessageId"))
            return
        if status == 200:
            await asyncio.to_thread(self._sqs.delete_message, QueueUrl=self._queue_url,
                                    ReceiptHandle=message["ReceiptHandle"])
            self.stats.forwarded += 1
        elif status in (400, 413):
            self.stats.refused += 1
            log.error("topic refused event %s (%s %s); left for the dead-letter queue",
                      cloud_event["id"], status, detail[:200])
        else:
            self.stats.transient_failures += 1
            log.warning("topic answered %s for event %s; it stays queued", status, cloud_event["id"])

    async def _post(self, http: aiohttp.ClientSession, cloud_event: dict[str, Any]) -> tuple[int, str]:
        async with http.post(self._topic_endpoint, json=[cloud_event], params={"api-version": "2018-01-01"},
                             headers={"aeg-sas-key": self._topic_key,
                                      "Content-Type": "application/cloudevents-batch+json"}) as answer:
            return answer.status, await answer.text()

    async def run(self, stop: asyncio.Event, poll_seconds: float = 0.2) -> None:
        async with aiohttp.ClientSession() as http:
            while not stop.is_set():
                handled = 0 if self.held else await self.forward_once(http)
                if not handled:
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
                    except TimeoutError:
                        pass
