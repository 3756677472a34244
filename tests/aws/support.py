"""Builders for the events Azure sends, readers for the tables, and the credit invariant."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from aiohttp import web

from aws import dynamo
from aws.entra_auth import EntraSettings, EntraTokenValidator
from aws.local_adapter import create_app
from aws.settings import Backend
from eventgrid_local.token_issuer import local_issuer, local_jwks_url
from ordersaga.events import AZURE_SOURCE, SagaEvent, new_event
from tests.support.servers import free_port

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def azure_event(event_type: str, saga: str, *, customer: str = "c-1", amount: str = "39.98",
                currency: str = "EUR", step: str | None = None) -> SagaEvent:
    """The event as the Azure activity publishes it (same steps, so the same deterministic ids)."""
    default_step = "capture_payment" if event_type == "PaymentCaptureRequested" else "reserve_payment"
    return new_event(event_type, AZURE_SOURCE, step or default_step,
                     {"orderId": f"o-{saga}", "sagaId": saga, "customerId": customer, "amount": amount,
                      "currency": currency}, traceparent=TRACEPARENT)


def reservation(saga: str, **kwargs: Any) -> dict[str, Any]:
    return azure_event("PaymentReservationRequested", saga, **kwargs).to_cloudevent()


def compensation(saga: str, **kwargs: Any) -> dict[str, Any]:
    return azure_event("PaymentCompensationRequested", saga, **kwargs).to_cloudevent()


def capture(saga: str, **kwargs: Any) -> dict[str, Any]:
    return azure_event("PaymentCaptureRequested", saga, **kwargs).to_cloudevent()


def scan(backend: Backend, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = backend.dynamodb.scan(**kwargs)
        items.extend(row for row in map(dynamo.from_item, page.get("Items", [])) if row is not None)
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def credit(backend: Backend, customer: str) -> Decimal:
    row = dynamo.get_item(backend.dynamodb, backend.settings.accounts, {"customerId": customer})
    assert row is not None, f"no account {customer}"
    return Decimal(str(row["credit"]))


def payment(backend: Backend, saga: str) -> dict[str, Any] | None:
    return dynamo.get_item(backend.dynamodb, backend.settings.payments, {"sagaId": saga})


def outbox(backend: Backend, saga: str | None = None) -> list[dict[str, Any]]:
    rows = scan(backend, backend.settings.outbox)
    return sorted((r for r in rows if saga is None or r["sagaId"] == saga), key=lambda r: r["createdAt"])


def outbox_types(backend: Backend, saga: str | None = None) -> list[str]:
    return [row["type"] for row in outbox(backend, saga)]


def outbox_event(row: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(row["event"]))


def assert_credit_conserved(backend: Backend, initial: dict[str, Decimal | str]) -> None:
    """Money is neither created nor lost: for every customer,
    initial credit == current credit + Σ amount of that customer's PENDING and CAPTURED payments
    (CANCELLED rows, tombstones included, hold nothing). Also: no credit is ever negative."""
    held: dict[str, Decimal] = {}
    for row in scan(backend, backend.settings.payments):
        if row["status"] in ("PENDING_AZURE_CONFIRMATION", "CAPTURED"):
            held[row["customerId"]] = held.get(row["customerId"], Decimal(0)) + Decimal(str(row["amount"]))
    for customer, start in initial.items():
        now = credit(backend, customer)
        assert now >= 0, f"{customer}: credit went negative ({now})"
        assert Decimal(str(start)) == now + held.get(customer, Decimal(0)), (
            f"{customer}: initial {start} != current {now} + held {held.get(customer, Decimal(0))}")


class BeforeFirstTransaction:
    """A DynamoDB client that runs `action` once, just before the first TransactWriteItems —
    i.e. after the handler has read the rows and decided: the window a concurrent writer hits."""

    def __init__(self, real: Any, action: Any) -> None:
        self._real, self._action, self.transactions = real, action, 0

    def transact_write_items(self, **kwargs: Any) -> Any:
        self.transactions += 1
        if self.transactions == 1:
            self._action()
        return self._real.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


async def start_authenticated_adapter(backend: Backend, audience: str) -> tuple[web.AppRunner, str, int]:
    """The AWS adapter checking Entra tokens from the local Event Grid tenant that will listen
    on the returned port: (runner to clean up, the adapter's /events URL, that Event Grid port)."""
    grid_port = free_port()
    grid_url = f"http://127.0.0.1:{grid_port}"
    auth = EntraTokenValidator(EntraSettings(issuers=(local_issuer(grid_url),), audiences=(audience,),
                                             jwks_url=local_jwks_url(grid_url)))
    runner = web.AppRunner(create_app(backend, auth=auth))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/events", grid_port
