"""Small helpers over the low-level DynamoDB client: attribute-value (de)serialisation and
reading why a transaction was cancelled."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

CONDITION_FAILED = "ConditionalCheckFailed"
TRANSACTION_CONFLICT = "TransactionConflict"


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Python values → DynamoDB attribute values (None values are left out)."""
    return {key: _serializer.serialize(value) for key, value in values.items() if value is not None}


def from_item(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def value(python_value: Any) -> dict[str, Any]:
    return dict(_serializer.serialize(python_value))


def number(amount: Decimal) -> dict[str, str]:
    return {"N": str(amount)}


def get_item(dynamodb: Any, table: str, key: dict[str, str]) -> dict[str, Any] | None:
    """Strongly consistent read: every decision in the handlers is taken on the latest state."""
    response = dynamodb.get_item(TableName=table, Key=to_item(key), ConsistentRead=True)
    return from_item(response.get("Item"))


def is_transaction_cancelled(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "TransactionCanceledException"


def is_condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def cancellation_codes(error: ClientError) -> list[str]:
    """One code per transaction item, in order: 'None', 'ConditionalCheckFailed', 'TransactionConflict'…"""
    reasons = error.response.get("CancellationReasons") or []
    return [str(reason.get("Code", "None")) for reason in reasons]
