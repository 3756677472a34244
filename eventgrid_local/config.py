"""Topics and subscriptions, from one JSON file (or dict).

    {
      "retryScheduleSeconds": [10, 30, 60, 300, 600, 1800, 3600],
      "deadLetter": {"connectionString": "UseDevelopmentStorage=true", "container": "eventgrid-deadletter"},
      "topics": {
        "<name>": {
          "key": "<topic key>",
          "inputSchema": "CloudEventSchemaV1_0" | "EventGridSchema",
          "subscriptions": [
            {"name": "<sub>", "endpoint": "http://…", "includedEventTypes": ["…"],
             "maxDeliveryAttempts": 30, "eventTimeToLiveMinutes": 1440, "validation": "handshake" | "none",
             "entra": {"audience": "api://…", "roles": ["AzureEventGridSecureWebhookSubscriber"],
                       "tokenLifetimeSeconds": 300}}
          ]
        }
      }
    }

String values may name environment variables as `%NAME%` (as Functions settings do), so a
key never has to be written into the file.

`entra` (optional, per subscription) is Event Grid's webhook delivery with Microsoft Entra
authentication: every delivery attempt, and the validation handshake, carries
`Authorization: Bearer <token>` for `audience`, minted by the service's local tenant
(`eventgrid_local.token_issuer`). Without it the webhook gets no token.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLOUD_EVENTS = "CloudEventSchemaV1_0"
EVENT_GRID = "EventGridSchema"
# Event Grid's documented schedule (10 s, 30 s, 1 m, 5 m, 10 m, 30 m, 1 h, 3 h, 6 h, then 12 h).
DEFAULT_RETRY_SCHEDULE = (10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200)


def _expand(value: Any) -> Any:
    if isinstance(value, str):
        return re.sub(r"%([A-Za-z0-9_]+)%", lambda m: os.environ.get(m.group(1), ""), value)
    if isinstance(value, list):
        return [_expand(v) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class EntraDelivery:
    """Webhook delivery with Entra authentication: the token's audience (the webhook app
    registration's application ID or URI), the app roles Event Grid holds on it, its lifetime."""

    audience: str
    roles: tuple[str, ...] = ("AzureEventGridSecureWebhookSubscriber",)
    token_lifetime_seconds: int = 300

    @classmethod
    def from_dict(cls, where: str, raw: Any) -> EntraDelivery | None:
        if raw is None:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("audience"), str) or not raw["audience"].strip():
            raise ValueError(f"{where}: entra needs an audience (the webhook app's application ID or URI)")
        roles = raw.get("roles", list(cls.roles))
        lifetime = int(raw.get("tokenLifetimeSeconds", cls.token_lifetime_seconds))
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles) or not 60 <= lifetime <= 86400:
            raise ValueError(f"{where}: entra.roles must be a list of names, tokenLifetimeSeconds 60–86400")
        return cls(raw["audience"].strip(), tuple(roles), lifetime)


@dataclass(frozen=True)
class Subscription:
    name: str
    endpoint: str
    included_event_types: tuple[str, ...] = ()
    max_delivery_attempts: int = 30
    event_ttl_minutes: int = 1440
    validation: str = "handshake"
    entra: EntraDelivery | None = None  # Entra authentication of the webhook (None: no token)

    def wants(self, event_type: str) -> bool:
        return not self.included_event_types or event_type in self.included_event_types


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    input_schema: str
    subscriptions: tuple[Subscription, ...]


@dataclass(frozen=True)
class ServiceConfig:
    topics: dict[str, Topic]
    retry_schedule_seconds: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    dead_letter_connection: str | None = None
    dead_letter_container: str = "eventgrid-deadletter"
    delivery_timeout_seconds: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ServiceConfig:
        raw = _expand(raw)
        topics: dict[str, Topic] = {}
        for name, topic in raw.get("topics", {}).items():
            schema = topic.get("inputSchema", CLOUD_EVENTS)
            if schema not in (CLOUD_EVENTS, EVENT_GRID):
                raise ValueError(f"topic {name}: inputSchema must be {CLOUD_EVENTS} or {EVENT_GRID}")
            if not topic.get("key"):
                raise ValueError(f"topic {name}: a key is required")
            subs = tuple(
                Subscription(
                    name=s["name"], endpoint=s["endpoint"],
                    included_event_types=tuple(s.get("includedEventTypes", ())),
                    max_delivery_attempts=int(s.get("maxDeliveryAttempts", 30)),
                    event_ttl_minutes=int(s.get("eventTimeToLiveMinutes", 1440)),
                    validation=s.get("validation", "handshake"),
                    entra=EntraDelivery.from_dict(f"{name}/{s['name']}", s.get("entra")),
                )
                for s in topic.get("subscriptions", [])
            )
            for sub in subs:
                if not 1 <= sub.max_delivery_attempts <= 30 or not 1 <= sub.event_ttl_minutes <= 1440:
                    raise ValueError(f"{name}/{sub.name}: maxDeliveryAttempts 1–30, eventTimeToLiveMinutes 1–1440")
            topics[name] = Topic(name, topic["key"], schema, subs)
        dead_letter = raw.get("deadLetter") or {}
        return cls(
            topics=topics,
            retry_schedule_seconds=tuple(raw.get("retryScheduleSeconds", DEFAULT_RETRY_SCHEDULE)),
            dead_letter_connection=dead_letter.get("connectionString"),
            dead_letter_container=dead_letter.get("container", "eventgrid-deadletter"),
            delivery_timeout_seconds=float(raw.get("deliveryTimeoutSeconds", 30.0)),
        )

    @classmethod
    def from_file(cls, path: str | Path) -> ServiceConfig:
        return cls.from_dict(json.loads(Path(path).read_text()))
