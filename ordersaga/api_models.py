"""Validated shapes of what the HTTP API accepts, and the structured error body it returns.

Every error body is `{"error": {"code", "message", "details": [{"field", "message"}]}}`,
with `field` a path such as `items[0].quantity`, so a client can point at what to fix.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from pydantic_extra_types.currency_code import ISO4217

MAX_ITEMS_PER_ORDER = 100
MAX_QUANTITY = 10_000
MAX_BODY_BYTES = 64 * 1024

# Ids end up in Cosmos ids, URLs and event subjects: keep them to a safe alphabet.
SafeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
DecimalString = Annotated[str, StringConstraints(pattern=r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,4})?$")]


class OrderItem(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    sku: SafeId
    quantity: Annotated[int, Field(gt=0, le=MAX_QUANTITY)]
    unitPrice: DecimalString

    @field_validator("unitPrice")
    @classmethod
    def _positive_price(cls, value: str) -> str:
        if Decimal(value) <= 0:
            raise ValueError("must be greater than 0")
        return value


class OrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    customerId: SafeId
    items: Annotated[list[OrderItem], Field(min_length=1, max_length=MAX_ITEMS_PER_ORDER)]
    currency: Annotated[ISO4217, Field(strict=False)]

    @field_validator("items")
    @classmethod
    def _one_line_per_sku(cls, items: list[OrderItem]) -> list[OrderItem]:
        skus = [item.sku for item in items]
        if len(set(skus)) != len(skus):
            raise ValueError("each sku may appear only once; combine the quantities")
        return items


MAX_BUCKETS = 64  # one bucket per concurrent writer is the most that helps (README, "Hot SKUs")


class StockLevel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    available: Annotated[int, Field(ge=0, le=1_000_000_000)]
    # Documents the SKU's stock is spread over (ordersaga.inventory); omitted: unchanged.
    buckets: Annotated[int, Field(ge=1, le=MAX_BUCKETS)] | None = None


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def validation_details(error: ValidationError) -> list[dict[str, Any]]:
    return [{"field": _field_path(tuple(e["loc"])), "message": e["msg"]} for e in error.errors()]
