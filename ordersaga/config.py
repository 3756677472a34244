"""Settings the app reads, in one place, each with its default and meaning.

Settings come from the environment (Azure App Settings in production, the `Values` of
`local.settings.json` locally). A required setting that is missing fails fast with a
message naming it, at first use rather than at import so that indexing never fails.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class MissingSettingError(RuntimeError):
    """A required application setting is absent or empty."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"Application setting {name} is required: {why}")
        self.setting = name


class InvalidSettingError(RuntimeError):
    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"Application setting {name}={value!r} is invalid: expected {expected}")
        self.setting = name


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def required(name: str, why: str) -> str:
    value = _raw(name)
    if value is None:
        raise MissingSettingError(name, why)
    return value


def text(name: str, default: str) -> str:
    return _raw(name) or default


def integer(name: str, default: int, minimum: int = 0) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidSettingError(name, value, "a whole number") from None
    if number < minimum:
        raise InvalidSettingError(name, value, f"a whole number >= {minimum}")
    return number


def flag(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise InvalidSettingError(name, value, "true or false")


@dataclass(frozen=True)
class CosmosSettings:
    endpoint: str
    key: str | None  # None ⇒ DefaultAzureCredential (managed identity in Azure)
    database: str
    orders_container: str
    inventory_container: str
    verify_tls: bool
    create_if_missing: bool
    conflict_max_attempts: int
    conflict_base_delay_ms: int
    unavailable_max_attempts: int
    settled_retention_hours: int
    local_server_compat: bool
    inbox_container: str
    poison_container: str
    inbox_ttl_seconds: int

    @classmethod
    def from_environment(cls) -> CosmosSettings:
        return cls(
            endpoint=required("COSMOS_ENDPOINT", "the Cosmos DB account endpoint (https://…:443/)"),
            key=_raw("COSMOS_KEY"),
            database=text("COSMOS_DATABASE", "ordersaga"),
            orders_container=text("COSMOS_ORDERS_CONTAINER", "orders"),
            inventory_container=text("COSMOS_INVENTORY_CONTAINER", "inventory"),
            verify_tls=flag("COSMOS_VERIFY_TLS", True),
            create_if_missing=flag("COSMOS_CREATE_IF_MISSING", False),
            conflict_max_attempts=integer("COSMOS_CONFLICT_MAX_ATTEMPTS", 25, minimum=1),
            conflict_base_delay_ms=integer("COSMOS_CONFLICT_BASE_DELAY_MS", 5),
            unavailable_max_attempts=integer("COSMOS_UNAVAILABLE_MAX_ATTEMPTS", 5, minimum=1),
            settled_retention_hours=integer("INVENTORY_SETTLED_RETENTION_HOURS", 168),
            local_server_compat=flag("COSMOS_LOCAL_SERVER_COMPAT", False),
            inbox_container=text("COSMOS_INBOX_CONTAINER", "inbox"),
            poison_container=text("COSMOS_POISON_CONTAINER", "poison"),
            inbox_ttl_seconds=integer("INBOX_TTL_SECONDS", 7 * 24 * 3600, minimum=60),
        )


@dataclass(frozen=True)
class SagaPolicy:
    """Timing of the saga. Read by the HTTP starter and carried in the orchestration input,
    so the orchestrator stays deterministic (it never reads the environment)."""

    step_retry_interval_ms: int
    step_max_attempts: int
    undo_retry_interval_ms: int
    undo_max_interval_ms: int
    undo_deadline_seconds: int
    forward_retry_interval_ms: int
    forward_max_interval_ms: int
    forward_deadline_seconds: int
    step_timeout_seconds: int
    payment_reply_timeout_seconds: int

    @classmethod
    def from_environment(cls) -> SagaPolicy:
        return cls(
            step_retry_interval_ms=integer("SAGA_STEP_RETRY_INTERVAL_MS", 2000, minimum=1),
            step_max_attempts=integer("SAGA_STEP_MAX_ATTEMPTS", 4, minimum=1),
            undo_retry_interval_ms=integer("SAGA_UNDO_RETRY_INTERVAL_MS", 1000, minimum=1),
            undo_max_interval_ms=integer("SAGA_UNDO_MAX_INTERVAL_MS", 60_000, minimum=1),
            undo_deadline_seconds=integer("SAGA_UNDO_DEADLINE_SECONDS", 3600, minimum=1),
            forward_retry_interval_ms=integer("SAGA_FORWARD_RETRY_INTERVAL_MS", 2000, minimum=1),
            forward_max_interval_ms=integer("SAGA_FORWARD_MAX_INTERVAL_MS", 300_000, minimum=1),
            forward_deadline_seconds=integer("SAGA_FORWARD_DEADLINE_SECONDS", 86_400, minimum=1),
            step_timeout_seconds=integer("SAGA_STEP_TIMEOUT_SECONDS", 300, minimum=1),
            payment_reply_timeout_seconds=integer("PAYMENT_REPLY_TIMEOUT_SECONDS", 120, minimum=1),
        )

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, int]) -> SagaPolicy:
        return cls(**data)


@dataclass(frozen=True)
class EventGridSettings:
    """The Event Grid topic whose subscription carries events to AWS."""

    topic_endpoint: str
    topic_key: str | None  # None ⇒ DefaultAzureCredential (managed identity, Event Grid Data Sender)

    @classmethod
    def from_environment(cls) -> EventGridSettings:
        return cls(
            topic_endpoint=required("EVENTGRID_TOPIC_ENDPOINT", "the Event Grid topic that is routed to AWS"),
            topic_key=_raw("EVENTGRID_TOPIC_KEY"),
        )


@dataclass(frozen=True)
class SweeperSettings:
    """The zombie sweeper: how old a PENDING order may get before someone looks at it."""

    saga_deadline_seconds: int

    @classmethod
    def from_environment(cls) -> SweeperSettings:
        return cls(saga_deadline_seconds=integer("SAGA_DEADLINE_SECONDS", 3600, minimum=1))
