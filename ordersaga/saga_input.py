"""The orchestration input: the validated order plus the saga's timing policy.

Built by the HTTP starter (which may read settings); read by the orchestrator (which may
not). Everything the orchestrator needs to decide travels here, so replays agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ordersaga.config import SagaPolicy


@dataclass(frozen=True)
class SagaInput:
    order: dict[str, Any]  # orderId, customerId, items[{sku, quantity, unitPrice}], currency
    policy: SagaPolicy
    # For order_saga_repair only: {"mode": "compensate", "undos": [...], "reason": {...}}
    # or {"mode": "forward", "resumeFrom": "<retriable step>", "reason": {...}}.
    repair: dict[str, Any] | None = None
    # W3C trace context of the request that started the saga; every activity request and
    # every cross-cloud event carries it, so one trace follows the order across both clouds.
    traceparent: str | None = None

    @property
    def order_id(self) -> str:
        return str(self.order["orderId"])

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"order": self.order, "policy": self.policy.to_json()}
        if self.traceparent:
            data["traceparent"] = self.traceparent
        return data | ({"repair": self.repair} if self.repair is not None else {})

    @classmethod
    def from_json(cls, value: Any) -> SagaInput:
        # The Python client double-encodes inputs; accept the JSON text or the object.
        data = json.loads(value) if isinstance(value, str) else value
        return cls(order=dict(data["order"]), policy=SagaPolicy.from_json(data["policy"]), repair=data.get("repair"),
                   traceparent=data.get("traceparent"))
