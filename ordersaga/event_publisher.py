"""Publishing saga events to the Event Grid topic that is routed to AWS.

One async `EventGridPublisherClient` per worker and event loop. Authentication is the
topic key when one is configured (local), otherwise `DefaultAzureCredential` (managed
identity with the Event Grid Data Sender role in Azure). Event ids are deterministic, so a
publish that is retried after an unknown outcome is deduplicated by the receiving inbox.
"""

from __future__ import annotations

import asyncio
from typing import Any

from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import AzureError
from azure.core.messaging import CloudEvent
from azure.eventgrid.aio import EventGridPublisherClient
from opentelemetry.trace import SpanKind

from ordersaga.config import EventGridSettings
from ordersaga.events import SagaEvent
from ordersaga.outcomes import TransientError
from ordersaga.telemetry import current_traceparent, saga_span

_clients: dict[asyncio.AbstractEventLoop, EventGridPublisherClient] = {}


def _client() -> EventGridPublisherClient:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        settings = EventGridSettings.from_environment()
        credential: Any
        if settings.topic_key:
            credential = AzureKeyCredential(settings.topic_key)
        else:
            from azure.identity.aio import DefaultAzureCredential

            credential = DefaultAzureCredential()
        client = _clients[loop] = EventGridPublisherClient(settings.topic_endpoint, credential)
    return client


def to_cloud_event(event: SagaEvent, traceparent: str | None = None) -> CloudEvent:
    """`traceparent` overrides the event's own (the publishing span's context, when traced)."""
    traceparent = traceparent or event.traceparent
    extensions = dict(event.extensions) | ({"traceparent": traceparent} if traceparent else {})
    return CloudEvent(source=event.source, type=event.type, data=event.data, subject=event.subject, id=event.id,
                      time=None, datacontenttype="application/json", extensions=extensions or None)


async def publish(events: list[SagaEvent]) -> None:
    """Send one batch; any failure is transient from the saga's point of view (retried)."""
    kinds = ", ".join(sorted({e.type for e in events}))
    with saga_span(f"publish {kinds}", None, kind=SpanKind.PRODUCER, order_id=events[0].order_id if events else None,
                   event_id=events[0].id if len(events) == 1 else None,
                   attributes={"messaging.system": "eventgrid", "messaging.batch.message_count": len(events)}):
        # Each event carries the publish span's context, so AWS's spans hang under it.
        cloud_events = [to_cloud_event(e, current_traceparent(e.traceparent)) for e in events]
        try:
            await _client().send(cloud_events)
        except AzureError as error:
            raise TransientError(f"Event Grid publish failed: {error}") from error


async def close_publishers() -> None:
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.close()
