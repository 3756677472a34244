"""Fixtures shared by the app's tests: a real Cosmos protocol server per test session and a
fresh database per test, configured through the same settings the app reads."""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from ordersaga import cosmos_store
from ordersaga.config import CosmosSettings
from ordersaga.cosmos_store import CosmosStore
from tests.support.servers import Azurite, CosmosServer, external_cosmos


@pytest.fixture(scope="session")
def cosmos_endpoint() -> Iterator[tuple[str, str, bool]]:
    """(endpoint, key, verify_tls) of the Cosmos account the tests use."""
    configured = external_cosmos()
    if configured is not None:
        yield configured[0], configured[1], os.environ.get("COSMOS_VERIFY_TLS", "true").lower() != "false"
        return
    server = CosmosServer().start()
    try:
        # The protocol server accepts any key: a throwaway one keeps real keys out of tests.
        yield server.endpoint, base64.b64encode(secrets.token_bytes(64)).decode(), False
    finally:
        server.stop()


@pytest.fixture
def cosmos_settings(cosmos_endpoint: tuple[str, str, bool], monkeypatch: pytest.MonkeyPatch) -> CosmosSettings:
    """Settings for a database of this test's own, also put in the environment so the app's
    activities (which read settings themselves) use the same account and database."""
    endpoint, key, verify = cosmos_endpoint
    values = {
        "COSMOS_ENDPOINT": endpoint,
        "COSMOS_KEY": key,
        "COSMOS_VERIFY_TLS": "true" if verify else "false",
        "COSMOS_CREATE_IF_MISSING": "true",
        "COSMOS_DATABASE": f"test-{uuid.uuid4().hex[:12]}",
        "COSMOS_CONFLICT_BASE_DELAY_MS": "2",
        "COSMOS_LOCAL_SERVER_COMPAT": "false" if external_cosmos() else "true",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return CosmosSettings.from_environment()


@pytest.fixture
async def store(cosmos_settings: CosmosSettings) -> AsyncIterator[CosmosStore]:
    """The same store the activities get from `get_store()` on this event loop."""
    opened = await cosmos_store.get_store()
    try:
        yield opened
    finally:
        await cosmos_store.close_stores()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    server = Azurite(tmp_path_factory.mktemp("azurite")).start()
    try:
        yield server
    finally:
        server.stop()
