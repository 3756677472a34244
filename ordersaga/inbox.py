"""The Azure-side inbox: processed-event records that make inbound handlers idempotent under
Event Grid's at-least-once delivery, and poison records for events that can never be used.
Both expire by themselves (per-item `ttl`)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

from ordersaga.clock import iso, utc_now
from ordersaga.cosmos_store import CosmosStore
from ordersaga.events import SagaEvent

MAX_RAW_CHARS = 32_000  # keep poison records small; the reason says what was wrong
POISON_TTL_SECONDS = 30 * 24 * 3600


# An event id is any non-empty string (CloudEvents), but a Cosmos id may not contain a slash,
# a backslash, `?` or `#`, nor end in a space or newline, nor exceed 255 characters. Ids in the
# plain alphabet below are their own key; any other id is keyed by its digest, behind a `~`
# that no plain key contains, so the two kinds never collide.
PLAIN_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def inbox_key(event_id: str) -> str:
    """The inbox document id for an event id: usable as a Cosmos id whatever the event says."""
    if PLAIN_KEY.fullmatch(event_id):
        return event_id
    return "sha256~" + hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()


async def already_processed(store: CosmosStore, event_id: str) -> bool:
    return await store.read(store.inbox, inbox_key(event_id)) is not None


async def mark_processed(store: CosmosStore, event: SagaEvent, outcome: str) -> None:
    await store.create(store.inbox, {
        "id": inbox_key(event.id), "eventId": event.id[:1024], "type": event.type, "orderId": event.order_id,
        "outcome": outcome, "processedAt": iso(utc_now()), "ttl": store.settings.inbox_ttl_seconds,
    })


async def record_poison(store: CosmosStore, reason: str, raw: Any) -> str:
    text = raw if isinstance(raw, str) else json.dumps(raw, default=str)
    record_id = uuid.uuid4().hex
    await store.create(store.poison, {
        "id": record_id, "reason": reason[:2000], "raw": text[:MAX_RAW_CHARS], "truncated": len(text) > MAX_RAW_CHARS,
        "receivedAt": iso(utc_now()), "ttl": POISON_TTL_SECONDS,
    })
    return record_id


async def poison_records(store: CosmosStore) -> list[dict[str, Any]]:
    return await store.query(store.poison, "SELECT * FROM c", [])


async def records_for_order(store: CosmosStore, order_id: str) -> list[dict[str, Any]]:
    """The inbound events processed for one order (what AWS told us, when, and what came of it)."""
    found = await store.query(store.inbox, "SELECT * FROM c WHERE c.orderId = @orderId",
                              [{"name": "@orderId", "value": order_id}])
    return sorted(found, key=lambda record: str(record.get("processedAt", "")))
