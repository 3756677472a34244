"""Settings read from the environment, and the boto3 clients built from them.

Every name has a default so a Lambda needs only what differs; `TABLE_PREFIX` lets several
test runs (or stages) share one DynamoDB endpoint without seeing each other's rows.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from botocore.config import Config


@dataclass(frozen=True)
class AwsSettings:
    region: str = "us-east-1"
    dynamodb_endpoint: str | None = None  # None: the real AWS endpoint (or boto3's AWS_ENDPOINT_URL)
    events_endpoint: str | None = None
    table_prefix: str = ""
    accounts_table: str = "PaymentAccounts"
    payments_table: str = "LocalPayments"
    outbox_table: str = "SagaOutbox"
    inbox_table: str = "ProcessedEvents"
    poison_table: str = "PoisonEvents"
    event_bus: str = "saga-payments"
    inbox_ttl_days: int = 7
    relay_max_attempts: int = 20  # after this many failed PutEvents an outbox row is parked, not retried forever

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> AwsSettings:
        env = os.environ if env is None else env
        defaults = cls()
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or defaults.region
        return cls(
            region=region,
            dynamodb_endpoint=env.get("DYNAMODB_ENDPOINT_URL") or None,
            events_endpoint=env.get("EVENTS_ENDPOINT_URL") or None,
            table_prefix=env.get("TABLE_PREFIX", ""),
            accounts_table=env.get("PAYMENT_ACCOUNTS_TABLE", defaults.accounts_table),
            payments_table=env.get("LOCAL_PAYMENTS_TABLE", defaults.payments_table),
            outbox_table=env.get("SAGA_OUTBOX_TABLE", defaults.outbox_table),
            inbox_table=env.get("PROCESSED_EVENTS_TABLE", defaults.inbox_table),
            poison_table=env.get("POISON_EVENTS_TABLE", defaults.poison_table),
            event_bus=env.get("EVENT_BUS_NAME", defaults.event_bus),
            inbox_ttl_days=int(env.get("INBOX_TTL_DAYS", defaults.inbox_ttl_days)),
            relay_max_attempts=int(env.get("RELAY_MAX_ATTEMPTS", defaults.relay_max_attempts)),
        )

    def table(self, name: str) -> str:
        return f"{self.table_prefix}{name}"

    @property
    def accounts(self) -> str:
        return self.table(self.accounts_table)

    @property
    def payments(self) -> str:
        return self.table(self.payments_table)

    @property
    def outbox(self) -> str:
        return self.table(self.outbox_table)

    @property
    def inbox(self) -> str:
        return self.table(self.inbox_table)

    @property
    def poison(self) -> str:
        return self.table(self.poison_table)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Backend:
    """What every handler needs: settings, the two clients, and a clock (injectable in tests)."""

    settings: AwsSettings
    dynamodb: Any
    events: Any
    now: Callable[[], datetime] = field(default=utc_now)

    @classmethod
    def connect(cls, settings: AwsSettings | None = None) -> Backend:
        settings = settings or AwsSettings.from_environment()
        # Standard retry mode retries throttling and 5xx a few times inside one invocation; anything
        # still failing after that surfaces as a transient error and the sender retries the event.
        config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)
        return cls(
            settings=settings,
            dynamodb=boto3.client("dynamodb", region_name=settings.region, endpoint_url=settings.dynamodb_endpoint,
                                  config=config),
            events=boto3.client("events", region_name=settings.region,
                                endpoint_url=settings.events_endpoint or settings.dynamodb_endpoint, config=config),
        )

    def iso_now(self) -> str:
        return self.now().isoformat(timespec="microseconds").replace("+00:00", "Z")


@cache
def default_backend() -> Backend:
    """One Backend per process (a Lambda container), built from the environment on first use."""
    return Backend.connect()


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI flags that override the environment settings (for the local adapter and the seeder)."""
    parser.add_argument("--dynamodb-endpoint", help="DynamoDB endpoint, e.g. http://127.0.0.1:5000 (moto)")
    parser.add_argument("--events-endpoint", help="EventBridge endpoint (default: the DynamoDB one)")
    parser.add_argument("--region")
    parser.add_argument("--table-prefix")
    parser.add_argument("--event-bus")


def settings_from_args(args: argparse.Namespace) -> AwsSettings:
    settings = AwsSettings.from_environment()
    overrides = {"dynamodb_endpoint": args.dynamodb_endpoint, "events_endpoint": args.events_endpoint,
                 "region": args.region, "table_prefix": args.table_prefix, "event_bus": args.event_bus}
    return replace(settings, **{key: value for key, value in overrides.items() if value is not None})
