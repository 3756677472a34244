"""Call the app's activity functions directly (the same user functions the host invokes)."""

from __future__ import annotations

from typing import Any

from azure.functions.decorators.function_app import FunctionBuilder

from activities import inventory, orders, payment, shipping

_BY_NAME: dict[str, Any] = {}
for _module in (orders, inventory, payment, shipping):
    for _value in vars(_module).values():
        if isinstance(_value, FunctionBuilder):
            _function = _value.build()
            _BY_NAME[str(_function.get_function_name())] = _function.get_user_function()


async def run_activity(name: str, request: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = await _BY_NAME[name](request)
    return result


def saga_request(order: dict[str, Any], step: str, **extra: Any) -> dict[str, Any]:
    """The request the orchestrator sends every activity."""
    return {"orderId": order["orderId"], "sagaId": order["orderId"], "step": step,
            "idempotencyKey": f"{order['orderId']}:{step}", "order": order} | extra


def make_order(order_id: str, *lines: tuple[str, int], customer: str = "c-1", price: str = "2.50") -> dict[str, Any]:
    return {"orderId": order_id, "customerId": customer, "currency": "EUR",
            "items": [{"sku": sku, "quantity": qty, "unitPrice": price} for sku, qty in lines]}
