"""The promises the saga keeps, checked over a finished set of orders against both clouds.

Used by the whole-loop and chaos tests: whatever happened on the way, afterwards
- every saga has ended and every order is in exactly one terminal state;
- stock is conserved per SKU (available + reserved + sold = what was stocked) and no
  terminal order still holds a reservation;
- credit is conserved on AWS (initial credit − captured amounts = credit now), and each
  order's payment row agrees with the order: COMPLETED ⇔ CAPTURED; CANCELLED ⇒ no row or
  CANCELLED_VIA_COMPENSATION; nothing left PENDING_AZURE_CONFIRMATION.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aws import dynamo
from aws.settings import Backend
from ordersaga.orders import order_total

TERMINAL = {"COMPLETED", "CANCELLED"}


@dataclass
class Violations:
    found: list[str] = field(default_factory=list)

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            self.found.append(message)

    def __bool__(self) -> bool:
        return bool(self.found)

    def __str__(self) -> str:
        return "\n".join(self.found)


def payment_row(backend: Backend, saga_id: str) -> dict[str, Any] | None:
    return dynamo.get_item(backend.dynamodb, backend.settings.payments, {"sagaId": saga_id})


def credit(backend: Backend, customer_id: str) -> Decimal:
    account = dynamo.get_item(backend.dynamodb, backend.settings.accounts, {"customerId": customer_id})
    assert account is not None, f"no account {customer_id}"
    return Decimal(str(account["credit"]))


def check_orders(views: Iterable[Mapping[str, Any]], *, allowed: set[str] = TERMINAL) -> Violations:
    """Each view is the app's GET /api/orders/{id} answer."""
    problems = Violations()
    for view in views:
        order_id = view["orderId"]
        problems.check(view["status"] in allowed, f"{order_id}: status {view['status']} is not one of {allowed}")
        runtime = (view.get("saga") or {}).get("runtimeStatus")
        problems.check(runtime in ("Completed", "Failed", "Terminated"), f"{order_id}: saga still {runtime}")
    return problems


def check_stock(sku_documents: Mapping[str, Mapping[str, Any]], stocked: Mapping[str, int],
                terminal_orders: set[str]) -> Violations:
    problems = Violations()
    for sku, doc in sku_documents.items():
        total = doc["available"] + doc["reserved"] + doc["sold"]
        problems.check(total == stocked[sku], f"{sku}: available+reserved+sold = {total}, stocked {stocked[sku]}")
        # The stored document holds {"quantity": n, "at": …} per order, the API view just n.
        held = sum(r["quantity"] if isinstance(r, dict) else int(r) for r in (doc.get("reservations") or {}).values())
        problems.check(held == doc["reserved"], f"{sku}: reservations hold {held}, counter says {doc['reserved']}")
        left = set(doc.get("reservations") or {}) & terminal_orders
        problems.check(not left, f"{sku}: terminal orders still hold reservations: {sorted(left)}")
    return problems


def check_payments(backend: Backend, views: Iterable[Mapping[str, Any]],
                   initial_credit: Mapping[str, Decimal]) -> Violations:
    problems = Violations()
    captured: dict[str, Decimal] = dict.fromkeys(initial_credit, Decimal(0))
    for view in views:
        order_id, status = view["orderId"], view["status"]
        row = payment_row(backend, view["sagaInstanceId"])
        row_status = row["status"] if row else None
        if status == "COMPLETED":
            problems.check(row_status == "CAPTURED", f"{order_id}: COMPLETED but payment is {row_status}")
            if row is not None:
                problems.check(Decimal(str(row["amount"])) == order_total(view["items"]),
                               f"{order_id}: captured {row['amount']}, order total {order_total(view['items'])}")
                captured[view["customerId"]] += Decimal(str(row["amount"]))
        elif status == "CANCELLED":
            problems.check(row_status in (None, "CANCELLED_VIA_COMPENSATION"),
                           f"{order_id}: CANCELLED but payment is {row_status}")
        problems.check(row_status != "PENDING_AZURE_CONFIRMATION", f"{order_id}: payment left pending")
    for customer, start in initial_credit.items():
        now = credit(backend, customer)
        problems.check(start - captured[customer] == now,
                       f"{customer}: credit {start} − captured {captured[customer]} ≠ {now}")
    return problems
