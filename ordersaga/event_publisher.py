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

from ordersaga.config import EventGridSettings
from ordersaga.events import SagaEvent
from ordersaga.outcomes import TransientError

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


def to_cloud_event(event: SagaEvent) -> CloudEvent:
    extensions = {"traceparent": event.traceparent} if event.traceparent else None
    return CloudEvent(source=event.source, type=event.type, data=event.data, subject=event.subject, id=event.id,
                      time=None, datacontenttype="application/json", extensions=extensions)


async def publish(events: list[SagaEvent]) -> None:
    """Send one batch; any failure is transient from the saga's point of view (retried)."""
    try:
        await _client().send([to_cloud_event(e) for e in events])
    except AzureError as error:
        raise TransientError(f"Event Grid publish failed: {error}") from error


async def close_publishers() -> None:
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.close()
