"""Hostile input runs against the app on devhost with the Cosmos server behind it: the same
fixtures as the end-to-end tests (a fresh database per test, keys generated per test)."""

from tests.e2e.conftest import app_keys, start_app

__all__ = ["app_keys", "start_app"]
