"""The cross-cloud invariants live in `local_cloud.invariants` (the demo checks them too)."""

from local_cloud.invariants import TERMINAL, Violations, check_orders, check_payments, check_stock, credit, payment_row

__all__ = ["TERMINAL", "Violations", "check_orders", "check_payments", "check_stock", "credit", "payment_row"]
