"""The five DynamoDB tables of the payment participant, and `create_tables` for local use.

Production tables come from Terraform; these definitions are the reference it must match:

| table            | key       | what a row is                                                         |
|------------------|-----------|-----------------------------------------------------------------------|
| PaymentAccounts  | customerId| `credit` (Number), `currency`                                         |
| LocalPayments    | sagaId    | one payment per saga: `status`, `amount`, `currency`, `customerId`, `orderId` |
| SagaOutbox       | eventId   | one outbound CloudEvent (`event`, JSON) + relay state; stream enabled |
| ProcessedEvents  | eventId   | the inbox: one row per handled inbound event, expires via `expiresAt` |
| PoisonEvents     | poisonId  | malformed input, acknowledged and kept here with the reason           |

The outbox has a sparse index `Unsent` (hash `relayState`, range `createdAt`): only rows
still waiting for EventBridge carry `relayState`, so the local relay queries exactly those
and a sent row drops out of the index by losing the attribute.
"""

from __future__ import annotations

from typing import Any

from aws.settings import AwsSettings

UNSENT_INDEX = "Unsent"
INBOX_TTL_ATTRIBUTE = "expiresAt"


def table_definitions(settings: AwsSettings) -> list[dict[str, Any]]:
    def simple(name: str, key: str) -> dict[str, Any]:
        return {
            "TableName": name,
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }

    outbox = simple(settings.outbox, "eventId")
    outbox["AttributeDefinitions"] += [{"AttributeName": "relayState", "AttributeType": "S"},
                                       {"AttributeName": "createdAt", "AttributeType": "S"}]
    outbox["GlobalSecondaryIndexes"] = [{
        "IndexName": UNSENT_INDEX,
        "KeySchema": [{"AttributeName": "relayState", "KeyType": "HASH"},
                      {"AttributeName": "createdAt", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"},
    }]
    # NEW_IMAGE is all the relay needs: the INSERT carries the whole CloudEvent.
    outbox["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    return [
        simple(settings.accounts, "customerId"),
        simple(settings.payments, "sagaId"),
        outbox,
        simple(settings.inbox, "eventId"),
        simple(settings.poison, "poisonId"),
    ]


def create_tables(dynamodb: Any, settings: AwsSettings | None = None) -> list[str]:
    """Create any missing table (idempotent) and switch on the inbox TTL. Returns the names created."""
    settings = settings or AwsSettings.from_environment()
    existing = set(_list_tables(dynamodb))
    created = []
    for definition in table_definitions(settings):
        if definition["TableName"] in existing:
            continue
        dynamodb.create_table(**definition)
        created.append(definition["TableName"])
    for name in created:
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    if settings.inbox in created:
        dynamodb.update_time_to_live(TableName=settings.inbox, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": INBOX_TTL_ATTRIBUTE})
    return created


def outbox_stream_arn(dynamodb: Any, settings: AwsSettings) -> str:
    return str(dynamodb.describe_table(TableName=settings.outbox)["Table"]["LatestStreamArn"])


def _list_tables(dynamodb: Any) -> list[str]:
    names: list[str] = []
    for page in dynamodb.get_paginator("list_tables").paginate():
        names.extend(page["TableNames"])
    return names
