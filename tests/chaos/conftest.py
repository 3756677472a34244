"""The chaos matrix runs on the same fixtures as the end-to-end tests (both clouds up)."""

from tests.e2e.conftest import app_keys, make_clouds, start_app

__all__ = ["app_keys", "make_clouds", "start_app"]
