"""The fewest Cosmos requests each saga path can make, counted from what it changes.

The rule: one conditional write per state change, and a read only where no current ETag is
known. What that gives for each thing a saga touches:

- HTTP starter: the Idempotency-Key claim is created (409 = taken), then answered with a
  patch under the create's ETag: 2.
- `create_order`: a create, whose ETag goes to the saga: 1.
- `reserve_inventory`: per SKU, units move to reserved in a bucket. The bucket is shared by
  every order on the SKU, so no current ETag is known: read + replace, 2 per SKU. Refused:
  sold out only when every bucket is, so each bucket is read: `buckets` reads.
- `confirm_order`, `schedule_shipment`, `cancel_order`, `park_order`, the order part of
  `complete_order`: a patch under the ETag the saga's previous write produced: 1 each.
- `complete_order` / `release_inventory` per SKU (reserved → sold / available): the holding
  bucket changed since (other orders), so read + replace: 2 per SKU. After a refused
  reservation the release writes nothing: the refusal says the order holds nothing.
- A reply from AWS (`PaymentReserved`, `PaymentDeclined`, `PaymentCaptured`,
  `PaymentCompensated`): exactly once without losing an event on a crash needs the inbox
  read (processed already?) and its record created after handling: 2. The payment state of
  `PaymentCaptured` / `PaymentCompensated` on the order is a patch setting a field: 1.
- Publishing to AWS (`request_payment*`): nothing in Cosmos.

These are the floors the flash-sale bench compares its measured requests per saga with
(`python -m bench.flash_sale`); the goal is at most 1.2 × the floor on every path.
"""

from __future__ import annotations

from collections.abc import Callable

from orchestrators.saga_steps import ORDER_SAGA, PARK_ACTIVITY

STARTER = 2  # Idempotency-Key claim: create + answer
AWS_REPLY = 2  # inbox: processed? + record
PAYMENT_ANNOTATION = 1  # patch of the order's payment field

# Requests of one run of each activity: f(skus, buckets). The orchestrator's activities
# must all be here (tests/unit/test_request_budget.py checks it against the step table).
ACTIVITY_REQUESTS: dict[str, Callable[[int, int], int]] = {
    "create_order": lambda skus, buckets: 1,
    "reserve_inventory": lambda skus, buckets: 2 * skus,
    "request_payment": lambda skus, buckets: 0,
    "confirm_order": lambda skus, buckets: 1,
    "request_payment_capture": lambda skus, buckets: 0,
    "schedule_shipment": lambda skus, buckets: 1,
    "complete_order": lambda skus, buckets: 2 * skus + 1,
    "release_inventory": lambda skus, buckets: 2 * skus,
    "request_payment_compensation": lambda skus, buckets: 0,
    "cancel_order": lambda skus, buckets: 1,
    PARK_ACTIVITY: lambda skus, buckets: 1,
}


def _steps(*names: str, skus: int, buckets: int) -> int:
    return sum(ACTIVITY_REQUESTS[name](skus, buckets) for name in names)


def minimum_requests(path: str, sku_count: int, buckets: int = 1) -> int:
    """The floor of Cosmos requests for one saga of `path` ordering `sku_count` SKUs, each
    SKU split into `buckets` documents. Paths: completed, out_of_stock, payment_declined."""
    if sku_count < 1 or buckets < 1:
        raise ValueError("sku_count and buckets must be at least 1")
    forward = [step.activity for step in ORDER_SAGA]
    if path == "completed":
        # PaymentReserved and PaymentCaptured come back from AWS; the capture is recorded.
        return STARTER + _steps(*forward, skus=sku_count, buckets=buckets) + 2 * AWS_REPLY + PAYMENT_ANNOTATION
    if path == "out_of_stock":
        # The refusal reads every bucket of the SKU that is short (the first SKU, at best);
        # the undo of the reservation writes nothing, the order's undo is one patch.
        return STARTER + _steps("create_order", "cancel_order", skus=sku_count, buckets=buckets) + buckets
    if path == "payment_declined":
        # PaymentDeclined back; the compensation request goes out and AWS answers
        # PaymentCompensated, which is recorded.
        return (STARTER + _steps("create_order", "reserve_inventory", "request_payment", "request_payment_compensation",
                                 "release_inventory", "cancel_order", skus=sku_count, buckets=buckets)
                + 2 * AWS_REPLY + PAYMENT_ANNOTATION)
    raise KeyError(f"unknown saga path {path!r}: completed, out_of_stock or payment_declined")


def covered_activities() -> frozenset[str]:
    return frozenset(ACTIVITY_REQUESTS)

