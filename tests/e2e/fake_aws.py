"""Plays the AWS payment service for saga tests that are not about the cross-cloud transport:
the saga's publish activities are swapped for this, and replies are raised into the saga as
the inbound Event Grid trigger would (with the same event names and data)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from devhost import DevHost
from ordersaga.outcomes import Succeeded
from tests.support.activities import run_activity


class FakePaymentService:
    def __init__(self, reply: str | None = "PaymentReserved", reason: str = "insufficient credit") -> None:
        self.reply = reply  # "PaymentReserved" | "PaymentDeclined" | None (silent)
        self.reason = reason
        self.requests: list[dict[str, Any]] = []
        self.host: DevHost | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def request_payment(self, request: dict[str, Any]) -> dict[str, Any]:
        self.requests.append({"type": "PaymentReservationRequested", "orderId": request["orderId"]})
        if self.reply is not None:
            data = {"orderId": request["orderId"], "sagaId": request["sagaId"]}
            if self.reply == "PaymentDeclined":
                data["reason"] = self.reason
            task = asyncio.create_task(self._answer(request["sagaId"], self.reply, data))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return Succeeded({"eventId": "fake"}).to_json()

    async def _answer(self, saga_id: str, name: str, data: dict[str, Any]) -> None:
        await asyncio.sleep(0.05)
        assert self.host is not None
        await self.host.raise_event(saga_id, name, data)

    async def request_payment_compensation(self, request: dict[str, Any]) -> dict[str, Any]:
        self.requests.append({"type": "PaymentCompensationRequested", "orderId": request["orderId"]})
        return Succeeded({"eventId": "fake"}).to_json()

    async def request_payment_capture(self, request: dict[str, Any]) -> dict[str, Any]:
        self.requests.append({"type": "PaymentCaptureRequested", "orderId": request["orderId"]})
        return Succeeded({"eventId": "fake"}).to_json()

    def overrides(self) -> dict[str, Any]:
        return {"request_payment": self.request_payment,
                "request_payment_compensation": self.request_payment_compensation,
                "request_payment_capture": self.request_payment_capture}

    def sent(self) -> list[str]:
        return [r["type"] for r in self.requests]


class ActivityRecorder:
    """Wraps real activities to count their calls (and optionally fail the first ones)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.order: list[str] = []

    def real(self, name: str, fail_first: int = 0, always_fail: bool = False) -> Any:
        async def activity(request: dict[str, Any]) -> dict[str, Any]:
            self.calls[name] += 1
            self.order.append(name)
            if always_fail or self.calls[name] <= fail_first:
                raise RuntimeError(f"{name} is unavailable (injected, call {self.calls[name]})")
            return await run_activity(name, request)

        return activity

    def wrap(self, name: str, inner: Any) -> Any:
        async def activity(request: dict[str, Any]) -> dict[str, Any]:
            self.calls[name] += 1
            self.order.append(name)
            result: dict[str, Any] = await inner(request)
            return result

        return activity
