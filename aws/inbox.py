"""The inbox (ProcessedEvents): one row per inbound event id that has been handled.

The inbox row is written in the SAME transaction as the effect, with
`attribute_not_exists(eventId)`, so a redelivered event either finds the row (and is acked
with no effect) or loses the race inside the transaction — never applies twice. Rows expire
after INBOX_TTL_DAYS; a redelivery later than that is still harmless because every effect is
also guarded by the payment row's state.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws import dynamo
from aws.settings import Backend
from aws.tables import INBOX_TTL_ATTRIBUTE
from ordersaga.events import SagaEvent


def already_processed(backend: Backend, event_id: str) -> bool:
    return dynamo.get_item(backend.dynamodb, backend.settings.inbox, {"eventId": event_id}) is not None


def put_inbox_row(backend: Backend, event: SagaEvent, outcome: str) -> dict[str, Any]:
    """A TransactWriteItems entry recording that `event` was handled with `outcome`."""
    now = backend.now()
    expires = int((now + timedelta(days=backend.settings.inbox_ttl_days)).timestamp())
    return {"Put": {
        "TableName": backend.settings.inbox,
        "Item": dynamo.to_item({"eventId": event.id, "type": event.type, "sagaId": event.data["sagaId"],
                                "outcome": outcome, "processedAt": backend.iso_now(),
                                INBOX_TTL_ATTRIBUTE: expires}),
        "ConditionExpression": "attribute_not_exists(eventId)",
    }}
