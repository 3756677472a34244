"""Operator endpoints (admin key): list parked sagas, retry or resolve one.

    GET  /api/orders?status=NEEDS_ATTENTION
    POST /api/orders/{orderId}/resolve   {"action": "retry" | "mark-compensated", "reason": "…"}

Every action and its reason are recorded on the order (`operatorActions`).
"""

from __future__ import annotations

from typing import Annotated

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict, StringConstraints

from orchestrators.repair_plans import REPAIR_ORCHESTRATOR, plan_for_parked
from ordersaga import order_repository
from ordersaga.clock import iso, utc_now
from ordersaga.config import SagaPolicy
from ordersaga.cosmos_store import get_store
from ordersaga.orders import OrderStatus
from ordersaga.outcomes import Rejected
from ordersaga.saga_input import SagaInput
from triggers.http_api import order_not_found, path_id
from triggers.http_json import HttpError, json_errors, json_response, parse_body

bp = df.Blueprint()


class ResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    action: Annotated[str, StringConstraints(pattern=r"^(retry|mark-compensated)$")]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


@bp.route(route="orders", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
@json_errors
async def list_orders(req: func.HttpRequest) -> func.HttpResponse:
    wanted = req.params.get("status", "")
    try:
        status = OrderStatus(wanted)
    except ValueError:
        raise HttpError(400, "VALIDATION_FAILED", "status must be one of the order statuses",
                        [{"field": "status", "message": f"one of {', '.join(s.value for s in OrderStatus)}"}]) from None
    orders = await order_repository.orders_with_status(await get_store(), status)
    return json_response({"status": status.value, "orders": [
        {"orderId": o["id"], "status": o["status"], "updatedAt": o.get("updatedAt"), "attention": o.get("attention"),
         "operatorActions": o.get("operatorActions", [])} for o in orders]})


@bp.route(route="orders/{orderId}/resolve", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
@bp.durable_client_input(client_name="client")
@json_errors
async def resolve_order(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    order_id = path_id(req, "orderId")
    request = parse_body(req, ResolveRequest)
    store = await get_store()
    order = await order_repository.read_order(store, order_id)
    if order is None:
        raise order_not_found(order_id)
    if order["status"] != OrderStatus.NEEDS_ATTENTION.value:
        raise HttpError(409, "NOT_PARKED", f"order {order_id} is {order['status']}, not NEEDS_ATTENTION",
                        [{"field": "orderId", "message": f"status {order['status']}"}])
    action = {"action": request.action, "reason": request.reason, "at": iso(utc_now())}
    if request.action == "mark-compensated":
        outcome = await order_repository.transition(
            store, order_id, OrderStatus.CANCELLED, f"operator: {request.reason}",
            allowed_from=frozenset({OrderStatus.NEEDS_ATTENTION}))
        if isinstance(outcome, Rejected):
            raise HttpError(409, outcome.code, outcome.message)
        await order_repository.record_operator_action(store, order_id, action)
        return json_response({"orderId": order_id, "status": OrderStatus.CANCELLED.value, "action": action})
    attempt = len(order.get("operatorActions", [])) + 1
    instance_id = f"{order_id}:repair:{attempt}"
    plan = plan_for_parked(order)
    order_input = {k: order[k] for k in ("orderId", "customerId", "items", "currency")}
    saga = SagaInput(order=order_input, policy=SagaPolicy.from_environment(), repair=plan)
    await client.start_new(REPAIR_ORCHESTRATOR, instance_id=instance_id, client_input=saga.to_json())
    await order_repository.record_operator_action(store, order_id, action | {"repairInstanceId": instance_id,
                                                                             "plan": plan["mode"]})
    return json_response({"orderId": order_id, "action": action, "repairInstanceId": instance_id,
                          "management": client.create_http_management_payload(instance_id)}, 202)
