"""Publish-side checks, as the service makes them: schema, required fields, sizes."""

from __future__ import annotations

import json
from typing import Any

from eventgrid_local.config import CLOUD_EVENTS

MAX_BATCH_BYTES = 1024 * 1024
MAX_EVENT_BYTES = 1024 * 1024
MAX_EVENTS_PER_BATCH = 5000

CLOUD_EVENT_REQUIRED = ("id", "source", "type", "specversion")
EVENT_GRID_REQUIRED = ("id", "subject", "eventType", "eventTime", "data", "dataVersion")


class PublishError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


def parse_batch(body: bytes, content_type: str, schema: str) -> list[dict[str, Any]]:
    if len(body) > MAX_BATCH_BYTES:
        raise PublishError(413, "RequestEntityTooLarge", f"the batch is {len(body)} bytes; the limit is 1 MB")
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError) as error:  # RecursionError: nesting deeper than the parser's stack
        raise PublishError(400, "BadRequest", f"the body is not valid JSON: {error}") from None
    media = content_type.split(";")[0].strip().lower()
    if schema == CLOUD_EVENTS:
        if media == "application/cloudevents+json" and isinstance(parsed, dict):
            parsed = [parsed]
        elif media not in ("application/cloudevents-batch+json", "application/cloudevents+json"):
            raise PublishError(400, "BadRequest", f"this topic takes CloudEvents; got content type {media!r}")
    if not isinstance(parsed, list) or not parsed:
        raise PublishError(400, "BadRequest", "the body must be a non-empty JSON array of events")
    if len(parsed) > MAX_EVENTS_PER_BATCH:
        raise PublishError(413, "RequestEntityTooLarge", f"at most {MAX_EVENTS_PER_BATCH} events per batch")
    required = CLOUD_EVENT_REQUIRED if schema == CLOUD_EVENTS else EVENT_GRID_REQUIRED
    for index, event in enumerate(parsed):
        if not isinstance(event, dict):
            raise PublishError(400, "BadRequest", f"event [{index}] is not a JSON object")
        missing = [name for name in required if event.get(name) in (None, "")]
        if missing:
            raise PublishError(400, "BadRequest", f"event [{index}] lacks required {', '.join(missing)} "
                                                  f"for the {schema} schema")
        if schema == CLOUD_EVENTS and event.get("specversion") != "1.0":
            raise PublishError(400, "BadRequest", f"event [{index}]: specversion must be 1.0")
        size = len(json.dumps(event).encode())
        if size > MAX_EVENT_BYTES:
            raise PublishError(413, "RequestEntityTooLarge", f"event [{index}] is {size} bytes; the limit is 1 MB")
    return parsed


def event_type_of(event: dict[str, Any]) -> str:
    return str(event.get("type") or event.get("eventType") or "")


def event_id_of(event: dict[str, Any]) -> str:
    return str(event.get("id"))
