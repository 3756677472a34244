"""Read → decide → one TransactWriteItems, re-decided on fresh state when the transaction is
cancelled.

Every handler is written as a `planner`: a function that reads the current rows and returns
either a final answer (nothing to write) or a `Plan` — the items of ONE transaction, each
tagged with its role, and the result to report if it commits. `execute` runs the loop:

- a cancelled transaction whose inbox or outbox condition failed means this effect already
  happened (same inbound id, or the same deterministic reply id): ack, no effect;
- any other cancelled condition (payment row, credit) means the state moved between the read
  and the write: plan again on the new state (which then declines, ignores or reconciles);
- a `TransactionConflict` (a concurrent transaction on the same rows) also plans again;
- if the state keeps moving for `attempts` rounds, raise `TransientFailure` so the sender
  retries later (bounded by its own retry policy — never a tight loop here).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from aws import dynamo
from aws.inbox import already_processed
from aws.model import HandlerResult, Outcome, TransientFailure
from aws.settings import Backend
from ordersaga.events import SagaEvent

log = logging.getLogger("aws.payments")

INBOX, OUTBOX = "inbox", "outbox"


@dataclass
class Plan:
    result: HandlerResult
    items: list[dict[str, Any]] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)

    def add(self, role: str, item: dict[str, Any]) -> Plan:
        self.items.append(item)
        self.roles.append(role)
        return self


Planner = Callable[[], "Plan | HandlerResult"]


def execute(backend: Backend, event: SagaEvent, planner: Planner, *, attempts: int = 4) -> HandlerResult:
    for attempt in range(1, attempts + 1):
        if already_processed(backend, event.id):
            return duplicate(event, "event already processed (inbox)")
        decision = planner()
        if isinstance(decision, HandlerResult):
            return decision
        failed = _commit(backend, decision)
        if failed is None:
            if decision.result.outcome is Outcome.RECONCILIATION:
                # The line an operator searches for; the row also carries the `reconciliation` entry.
                log.warning("RECONCILIATION %s %s saga=%s order=%s: %s", event.type, event.id, event.data["sagaId"],
                            event.data["orderId"], decision.result.reason)
            log.info("%s %s saga=%s → %s %s", event.type, event.id, event.data["sagaId"],
                     decision.result.outcome.value, ",".join(decision.result.emitted))
            return decision.result
        if failed & {INBOX, OUTBOX}:
            return duplicate(event, f"lost a race to an identical delivery ({', '.join(sorted(failed))} existed)")
        log.info("%s %s saga=%s: transaction cancelled by %s (attempt %d); re-reading state", event.type,
                 event.id, event.data["sagaId"], sorted(failed), attempt)
        if "conflict" in failed:
            time.sleep(0.02 * attempt)
    raise TransientFailure(f"{event.type} {event.id}: state kept changing for {attempts} attempts")


def _commit(backend: Backend, plan: Plan) -> set[str] | None:
    """None when committed; otherwise the roles whose condition failed ('conflict' for contention)."""
    try:
        backend.dynamodb.transact_write_items(TransactItems=plan.items)
        return None
    except ClientError as error:
        if not dynamo.is_transaction_cancelled(error):
            raise
        codes = dynamo.cancellation_codes(error)
        failed = {role for role, code in zip(plan.roles, codes, strict=True) if code == dynamo.CONDITION_FAILED}
        if dynamo.TRANSACTION_CONFLICT in codes or not failed:
            failed.add("conflict")
        return failed


def duplicate(event: SagaEvent, reason: str) -> HandlerResult:
    return HandlerResult(Outcome.DUPLICATE, event.id, event.type, event.data["sagaId"], reason=reason)
