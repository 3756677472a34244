"""Demo customers for local runs: `python -m aws.seed --dynamodb-endpoint URL`.

`c-low` has too little credit for the README's sample order (2 × 19.99 EUR), so it shows the
decline → compensation path; the others are approved.
"""

from __future__ import annotations

import argparse
from decimal import Decimal

from aws import dynamo
from aws.local_infra import create_local_infrastructure
from aws.settings import Backend, add_connection_arguments, settings_from_args

DEMO_CUSTOMERS: dict[str, tuple[str, str]] = {  # customerId: (credit, currency)
    "c-1": ("1000.00", "EUR"),
    "c-2": ("250.00", "EUR"),
    "c-low": ("10.00", "EUR"),
    "c-usd": ("1000.00", "USD"),
}


def put_account(backend: Backend, customer_id: str, credit: str | Decimal, currency: str = "EUR") -> None:
    """Create or overwrite one account. Credit is stored as a DynamoDB Number, which is what the
    reservation's `credit >= :amount` condition compares against."""
    backend.dynamodb.put_item(TableName=backend.settings.accounts, Item=dynamo.to_item(
        {"customerId": customer_id, "credit": Decimal(str(credit)), "currency": currency}))


def seed_demo_customers(backend: Backend, customers: dict[str, tuple[str, str]] | None = None) -> list[str]:
    for customer_id, (credit, currency) in (customers or DEMO_CUSTOMERS).items():
        put_account(backend, customer_id, credit, currency)
    return list(customers or DEMO_CUSTOMERS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_connection_arguments(parser)
    parser.add_argument("--create-tables", action="store_true", help="also create the tables and the bus")
    args = parser.parse_args(argv)
    backend = Backend.connect(settings_from_args(args))
    if args.create_tables:
        create_local_infrastructure(backend)
    for customer_id in seed_demo_customers(backend):
        credit, currency = DEMO_CUSTOMERS[customer_id]
        print(f"{customer_id}: {credit} {currency}")


if __name__ == "__main__":
    main()
