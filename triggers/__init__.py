"""Triggers: the HTTP API (starter, status, cancellation, stock admin)."""
