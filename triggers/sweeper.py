"""The zombie sweeper (timer trigger, schedule from SWEEPER_SCHEDULE, NCRONTAB).

Finds orders still PENDING past SAGA_DEADLINE_SECONDS:
- whose saga is not running (crashed, purged, lost): starts a repair that compensates them,
  with the instance id `<orderId>:sweep`, so overlapping sweeps start it once;
- whose saga is still running: raises SagaDeadlineExceeded into it, which before the pivot
  makes it compensate (a second raise is ignored by the saga).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

from orchestrators.repair_plans import REPAIR_ORCHESTRATOR, plan_for_abandoned
from orchestrators.saga_steps import DEADLINE_EVENT
from ordersaga import order_repository
from ordersaga.clock import iso, utc_now
from ordersaga.config import SagaPolicy, SweeperSettings
from ordersaga.cosmos_store import CosmosStore, get_store
from ordersaga.saga_input import SagaInput

bp = df.Blueprint()
log = logging.getLogger("ordersaga.sweeper")

LIVE = frozenset({OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Pending,
                  OrchestrationRuntimeStatus.Suspended, OrchestrationRuntimeStatus.ContinuedAsNew})


@bp.timer_trigger(schedule="%SWEEPER_SCHEDULE%", arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def saga_sweeper(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    report = await sweep(await get_store(), client)
    log.info("sweep: %s", report)


async def sweep(store: CosmosStore, client: df.DurableOrchestrationClient) -> dict[str, Any]:
    settings = SweeperSettings.from_environment()
    cutoff = iso(utc_now() - timedelta(seconds=settings.saga_deadline_seconds))
    report: dict[str, Any] = {"checked": 0, "nudged": [], "repaired": [], "already_repairing": []}
    for order in await order_repository.pending_older_than(store, cutoff):
        report["checked"] += 1
        saga_id = order.get("sagaInstanceId") or order["id"]
        status = await client.get_status(saga_id)
        if status and status.runtime_status in LIVE:
            await client.raise_event(saga_id, DEADLINE_EVENT, {"orderId": order["id"], "cutoff": cutoff})
            report["nudged"].append(order["id"])
            continue
        repair_id = f"{order['id']}:sweep"
        existing = await client.get_status(repair_id)
        if existing and existing.instance_id:
            report["already_repairing"].append(order["id"])
            continue
        order_input = {k: order[k] for k in ("orderId", "customerId", "items", "currency")}
        saga = SagaInput(order=order_input, policy=SagaPolicy.from_environment(), repair=plan_for_abandoned(saga_id))
        await client.start_new(REPAIR_ORCHESTRATOR, instance_id=repair_id, client_input=saga.to_json())
        report["repaired"].append(order["id"])
    return report
