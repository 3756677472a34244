from __future__ import annotations

import pytest
from pydantic import ValidationError

from ordersaga.api_models import OrderRequest, validation_details

GOOD = {"customerId": "c-1", "items": [{"sku": "SKU-1", "quantity": 2, "unitPrice": "9.99"}], "currency": "EUR"}


def fields_of(body: dict) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        OrderRequest.model_validate(body)
    return {d["field"] for d in validation_details(caught.value)}


def test_a_good_order_validates() -> None:
    assert OrderRequest.model_validate(GOOD).items[0].quantity == 2


@pytest.mark.parametrize(("change", "field"), [
    ({"customerId": ""}, "customerId"),
    ({"customerId": "../etc/passwd"}, "customerId"),
    ({"currency": "EURO"}, "currency"),
    ({"currency": "XYZ"}, "currency"),
    ({"items": []}, "items"),
    ({"items": [{"sku": "A", "quantity": 0, "unitPrice": "1"}]}, "items[0].quantity"),
    ({"items": [{"sku": "A", "quantity": "2", "unitPrice": "1"}]}, "items[0].quantity"),
    ({"items": [{"sku": "A", "quantity": True, "unitPrice": "1"}]}, "items[0].quantity"),
    ({"items": [{"sku": "A", "quantity": 1, "unitPrice": 1.5}]}, "items[0].unitPrice"),
    ({"items": [{"sku": "A", "quantity": 1, "unitPrice": "1e3"}]}, "items[0].unitPrice"),
    ({"items": [{"sku": "A", "quantity": 1, "unitPrice": "0"}]}, "items[0].unitPrice"),
    ({"items": [{"sku": "A", "quantity": 1}]}, "items[0].unitPrice"),
    ({"items": [{"sku": "A", "quantity": 1, "unitPrice": "1"}, {"sku": "A", "quantity": 1, "unitPrice": "1"}]},
     "items"),
    ({"extra": 1}, "extra"),
])
def test_each_bad_field_is_named(change: dict, field: str) -> None:
    assert field in fields_of(GOOD | change)


def test_every_bad_field_is_reported_at_once() -> None:
    assert fields_of({"items": [{"sku": "", "quantity": -1, "unitPrice": "x"}]}) >= {
        "customerId", "currency", "items[0].sku", "items[0].quantity", "items[0].unitPrice"}
