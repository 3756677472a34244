"""503 and 429 from Cosmos are retried honouring retry-after; other errors surface.

The local server never throttles, so a transport wrapper turns chosen requests into 503/429
answers *before* they reach the server (the one failure here that cannot be produced for
real); everything else talks to the real Cosmos protocol server.
"""

from __future__ import annotations

import pytest
from azure.cosmos import exceptions as cosmos_errors
from azure.cosmos.aio import CosmosClient

from ordersaga import inventory_repository
from ordersaga.config import CosmosSettings
from ordersaga.cosmos_store import CosmosStore
from ordersaga.outcomes import Succeeded, TransientError
from tests.support.cosmos_faults import RefusingTransport

pytestmark = pytest.mark.integration


async def open_store(settings: CosmosSettings, transport: RefusingTransport) -> CosmosStore:
    client = CosmosClient(settings.endpoint, credential=settings.key, connection_verify=settings.verify_tls,
                          transport=transport, retry_total=2)
    store = CosmosStore(settings, client)
    await store.ensure_containers()
    return store


@pytest.mark.parametrize("status", [503, 429])
async def test_refusals_are_retried_until_the_write_lands(cosmos_settings: CosmosSettings, status: int) -> None:
    transport = RefusingTransport(status, refusals=3)
    store = await open_store(cosmos_settings, transport)
    try:
        await inventory_repository.set_available(store, "SKU-T", 5)  # first write is a create (POST)
        transport.remaining = 3
        outcome = await inventory_repository.reserve_items(store, "o-1", [{"sku": "SKU-T", "quantity": 2}])
        assert isinstance(outcome, Succeeded)
        assert transport.refused == 3 and transport.remaining == 0
        view = await inventory_repository.read_stock(store, "SKU-T")
        assert view is not None and (view["available"], view["reserved"]) == (3, 2)
    finally:
        await store.close()


async def test_a_refusal_that_does_not_end_becomes_a_transient_error(cosmos_settings: CosmosSettings) -> None:
    transport = RefusingTransport(503, refusals=10_000)
    store = await open_store(cosmos_settings, transport)
    try:
        await inventory_repository.set_available(store, "SKU-T", 5)
        with pytest.raises(TransientError, match="503"):
            await inventory_repository.reserve_items(store, "o-1", [{"sku": "SKU-T", "quantity": 2}])
        view = await inventory_repository.read_stock(store, "SKU-T")
        assert view is not None and view["reserved"] == 0, "nothing half-applied"
    finally:
        await store.close()


async def test_other_errors_surface_unchanged(cosmos_settings: CosmosSettings) -> None:
    transport = RefusingTransport(400, refusals=1)
    store = await open_store(cosmos_settings, transport)
    try:
        await inventory_repository.set_available(store, "SKU-T", 5)
        with pytest.raises(cosmos_errors.CosmosHttpResponseError) as caught:
            await inventory_repository.reserve_items(store, "o-1", [{"sku": "SKU-T", "quantity": 1}])
        assert caught.value.status_code == 400 and transport.refused == 1
    finally:
        await store.close()
