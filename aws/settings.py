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


# Microsoft.EventGrid's application id in the Azure public cloud (Microsoft's "Secure WebHook
# delivery with Microsoft Entra ID" scripts; Azure Government: 54316b56-3481-47f9-8f30-0300f5542a7b).
# Event Grid obtains the delivery token as this application, so it is the token's appid (v1) / azp (v2).
EVENT_GRID_APP_ID = "4962773b-9cdb-44cf-a8bf-237846a00ab7"
ENTRA_AUTHORITY = "https://login.microsoftonline.com"


def _listed(value: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


@dataclass(frozen=True)
class EntraSettings:
    """Who may post events to the webhook: the Entra ID token Event Grid sends with each delivery
    (checked by `aws.entra_auth`). `enabled=False` is an explicit, loudly logged local choice."""

    issuers: tuple[str, ...] = ()  # v1 https://sts.windows.net/<tenant>/, v2 https://login.microsoftonline.com/<tenant>/v2.0
    audiences: tuple[str, ...] = ()  # the webhook app registration's application ID URI and/or client id
    jwks_url: str = ""  # the tenant's signing keys
    allowed_client_ids: tuple[str, ...] = (EVENT_GRID_APP_ID,)  # appid/azp; () = any client of the tenant
    required_role: str = ""  # an app role the token must carry in `roles` ("" = none)
    enabled: bool = True

    @classmethod
    def for_tenant(cls, tenant_id: str, audiences: tuple[str, ...] | str) -> EntraSettings:
        """A real Entra tenant: its v1 and v2 issuers and its published keys."""
        return cls(issuers=(f"https://sts.windows.net/{tenant_id}/", f"{ENTRA_AUTHORITY}/{tenant_id}/v2.0"),
                   audiences=_listed(audiences) if isinstance(audiences, str) else audiences,
                   jwks_url=f"{ENTRA_AUTHORITY}/{tenant_id}/discovery/v2.0/keys")

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> EntraSettings:
        """`WEBHOOK_AUTH` (`entra`, the default, or `off`), `ENTRA_TENANT_ID`, `WEBHOOK_AUDIENCE`,
        and to override what the tenant implies: `WEBHOOK_TOKEN_ISSUER`, `WEBHOOK_JWKS_URL`;
        `WEBHOOK_ALLOWED_CLIENT_IDS` (default Event Grid's; `*` = any), `WEBHOOK_REQUIRED_ROLE`.
        Lists are comma-separated."""
        env = os.environ if env is None else env
        mode = (env.get("WEBHOOK_AUTH") or "entra").strip().lower()
        if mode not in ("entra", "off"):
            raise ValueError(f"WEBHOOK_AUTH must be 'entra' or 'off', not {mode!r}")
        tenant = (env.get("ENTRA_TENANT_ID") or "").strip()
        settings = cls.for_tenant(tenant, env.get("WEBHOOK_AUDIENCE") or "") if tenant else \
            cls(audiences=_listed(env.get("WEBHOOK_AUDIENCE")))
        clients = (env.get("WEBHOOK_ALLOWED_CLIENT_IDS") or "").strip()
        return replace(
            settings,
            enabled=mode == "entra",
            issuers=_listed(env.get("WEBHOOK_TOKEN_ISSUER")) or settings.issuers,
            jwks_url=(env.get("WEBHOOK_JWKS_URL") or "").strip() or settings.jwks_url,
            allowed_client_ids=() if clients == "*" else (_listed(clients) or settings.allowed_client_ids),
            required_role=(env.get("WEBHOOK_REQUIRED_ROLE") or "").strip(),
        )

    def missing(self) -> list[str]:
        """What an enabled check still needs (empty: complete)."""
        if not self.enabled:
            return []
        wanted = {"issuer (ENTRA_TENANT_ID or WEBHOOK_TOKEN_ISSUER)": self.issuers,
                  "audience (WEBHOOK_AUDIENCE)": self.audiences,
                  "key set (ENTRA_TENANT_ID or WEBHOOK_JWKS_URL)": self.jwks_url}
        return [name for name, value in wanted.items() if not value]


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
