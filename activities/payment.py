"""INTERIM payment participant — the seam the cross-cloud round trip replaces.

Until the Event Grid ↔ EventBridge loop to the AWS payment service exists, these two
activities stand in for it: amounts above PAYMENT_APPROVAL_LIMIT are declined, everything
else is approved with a payment id derived from the order id. They keep the contract the
real participant will keep: typed outcomes, idempotent, and a release that is a no-op when
nothing was reserved.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import azure.durable_functions as df

from ordersaga.config import payment_approval_limit
from ordersaga.orders import order_total
from ordersaga.outcomes import Rejected, RejectionCode, Succeeded

bp = df.Blueprint()


@bp.activity_trigger(input_name="request")
async def reserve_payment(request: dict[str, Any]) -> dict[str, Any]:
    order = request["order"]
    amount: Decimal = order_total(order["items"])
    limit = payment_approval_limit()
    if amount > limit:
        return Rejected(RejectionCode.PAYMENT_DECLINED, f"{amount} {order['currency']} exceeds the approval limit",
                        [{"amount": str(amount), "limit": str(limit)}]).to_json()
    return Succeeded({"paymentId": f"pay-{request['orderId']}", "amount": str(amount),
                      "currency": order["currency"]}).to_json()


@bp.activity_trigger(input_name="request")
async def release_payment(request: dict[str, Any]) -> dict[str, Any]:
    return Succeeded({"paymentId": f"pay-{request['orderId']}", "released": True}).to_json()
