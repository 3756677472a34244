"""Cosmos DB access with optimistic concurrency, shared by every activity and trigger.

Writes to an existing document always carry If-Match with the ETag that was read. When
another writer got there first Cosmos answers 412; we reread, decide again from the fresh
document and retry with jittered exponential backoff, a bounded number of times. Nothing
here takes a lock.

Throttling (429) is retried inside the SDK, which honours the server's retry-after; a 503,
or a 429 that outlasts the SDK's retries, is retried here honouring retry-after, then
surfaces as `TransientError` so the Durable retry policy takes over. Other errors surface
unchanged.

One async client per worker process and event loop: `get_store()` creates it on first use.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.cosmos import PartitionKey
from azure.cosmos import exceptions as cosmos_errors
from azure.cosmos.aio import ContainerProxy, CosmosClient

from ordersaga.config import CosmosSettings
from ordersaga.outcomes import TransientError

log = logging.getLogger("ordersaga.cosmos")

T = TypeVar("T")
RETRYABLE_STATUS = frozenset({429, 503})


@dataclass
class EtagDecision:
    """What a decide-function wants written: `document=None` means write nothing."""

    document: dict[str, Any] | None
    result: Any = None


@dataclass
class UpdateReport:
    result: Any
    conflicts: int = 0
    written: bool = False
    document: dict[str, Any] | None = None  # as written (with its new _etag), or as read when unchanged


@dataclass
class RequestCounter:
    """Counts Cosmos operations by kind (not SDK-internal retries): the figures for the
    requests-per-saga benchmark and for spotting chatty code."""

    by_kind: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str) -> None:
        self.by_kind[kind] += 1

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())


def _user_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """Drop Cosmos system properties (_etag, _rid, _ts…) before writing a document back."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _retry_after_seconds(error: cosmos_errors.CosmosHttpResponseError, fallback: float) -> float:
    headers = getattr(getattr(error, "response", None), "headers", None) or {}
    value = headers.get("x-ms-retry-after-ms") or headers.get("x-ms-retry-after")
    try:
        return float(value) / 1000.0 if value is not None else fallback
    except ValueError:
        return fallback


class CosmosStore:
    def __init__(self, settings: CosmosSettings, client: CosmosClient) -> None:
        self.settings = settings
        self._client = client
        database = client.get_database_client(settings.database)
        self.orders: ContainerProxy = database.get_container_client(settings.orders_container)
        self.inventory: ContainerProxy = database.get_container_client(settings.inventory_container)
        self.inbox: ContainerProxy = database.get_container_client(settings.inbox_container)
        self.poison: ContainerProxy = database.get_container_client(settings.poison_container)
        self.requests = RequestCounter()

    @classmethod
    async def open(cls, settings: CosmosSettings) -> CosmosStore:
        credential: Any
        if settings.key:
            credential = settings.key
        else:
            from azure.identity.aio import DefaultAzureCredential

            credential = DefaultAzureCredential()
        client = CosmosClient(settings.endpoint, credential=credential, connection_verify=settings.verify_tls)
        store = cls(settings, client)
        if settings.create_if_missing:
            await store.ensure_containers()
        return store

    async def ensure_containers(self) -> None:
        database = await self._client.create_database_if_not_exists(self.settings.database)
        for name in (self.settings.orders_container, self.settings.inventory_container):
            await database.create_container_if_not_exists(name, partition_key=PartitionKey(path="/id"))
        # Inbox and poison records expire by themselves (per-item `ttl`; -1 = on, no default).
        for name in (self.settings.inbox_container, self.settings.poison_container):
            await database.create_container_if_not_exists(name, partition_key=PartitionKey(path="/id"),
                                                          default_ttl=-1)

    async def close(self) -> None:
        await self._client.close()

    # -- single operations, each retried on 503/429 honouring retry-after -----------------

    async def _call(self, kind: str, operation: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        attempts = self.settings.unavailable_max_attempts
        for attempt in range(1, attempts + 1):
            self.requests.add(kind)
            try:
                return await operation(*args, **kwargs)
            except cosmos_errors.CosmosHttpResponseError as error:
                if error.status_code not in RETRYABLE_STATUS:
                    raise
                if attempt == attempts:
                    raise TransientError(
                        f"Cosmos answered {error.status_code} to {kind} {attempts} times; giving up for now"
                    ) from error
                delay = _retry_after_seconds(error, fallback=0.1 * 2**attempt)
                log.warning("Cosmos %s answered %s; retrying in %.3fs", kind, error.status_code, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def read(self, container: ContainerProxy, item_id: str) -> dict[str, Any] | None:
        if self.settings.local_server_compat:
            # The local Cosmos protocol server answers a point read of a missing document with
            # 500 instead of 404; a single-partition query by id gives the right answer there.
            found = await self.query(container, "SELECT * FROM c WHERE c.id = @id",
                                     [{"name": "@id", "value": item_id}], partition_key=item_id)
            return found[0] if found else None
        try:
            return await self._call("read", container.read_item, item_id, partition_key=item_id)
        except cosmos_errors.CosmosResourceNotFoundError:
            return None

    async def create(self, container: ContainerProxy, document: dict[str, Any]) -> bool:
        """Create; False when a document with that id already exists (409)."""
        return await self.create_returning(container, document) is not None

    async def create_returning(self, container: ContainerProxy, document: dict[str, Any]) -> dict[str, Any] | None:
        """Create and return the document as stored (with its _etag); None on 409."""
        try:
            created: dict[str, Any] = await self._call("create", container.create_item, document)
            return created
        except cosmos_errors.CosmosResourceExistsError:
            return None

    async def patch_existing(self, container: ContainerProxy, item_id: str,
                             operations: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Apply patch operations that do not depend on the document's content (set a field
        to a value), atomically on the server and without reading; None when it is absent."""
        try:
            patched: dict[str, Any] = await self._call("patch", container.patch_item, item_id, partition_key=item_id,
                                                       patch_operations=operations)
            return patched
        except cosmos_errors.CosmosResourceNotFoundError:
            return None

    async def patch_if_unchanged(self, container: ContainerProxy, item_id: str, operations: list[dict[str, Any]],
                                 etag: str) -> dict[str, Any] | None:
        """Apply patch operations under If-Match `etag`, without reading first: for a writer
        that knows the version it last wrote. None when the document changed since (412) or
        is gone; the caller then falls back to read → decide → replace."""
        try:
            patched: dict[str, Any] = await self._call(
                "patch", container.patch_item, item_id, partition_key=item_id, patch_operations=operations,
                etag=etag, match_condition=MatchConditions.IfNotModified)
            return patched
        except (cosmos_errors.CosmosAccessConditionFailedError, cosmos_errors.CosmosResourceNotFoundError):
            return None

    async def query(
        self, container: ContainerProxy, sql: str, parameters: list[dict[str, Any]], partition_key: str | None = None
    ) -> list[dict[str, Any]]:
        scope: dict[str, Any] = {"partition_key": partition_key} if partition_key is not None else {}

        async def run() -> list[dict[str, Any]]:
            return [item async for item in container.query_items(sql, parameters=parameters, **scope)]

        return await self._call("query", run)

    async def replace_if_unchanged(self, container: ContainerProxy, document: dict[str, Any], etag: str) -> bool:
        """One replace under If-Match `etag`; False when another writer got there first (412)
        or the document is gone, so the caller decides where to go next (another bucket)."""
        try:
            await self._call("replace", container.replace_item, document["id"], _user_fields(document),
                             etag=etag, match_condition=MatchConditions.IfNotModified)
            return True
        except (cosmos_errors.CosmosAccessConditionFailedError, cosmos_errors.CosmosResourceNotFoundError):
            return False

    async def query_page(
        self, container: ContainerProxy, sql: str, parameters: list[dict[str, Any]], *, page_size: int,
        continuation: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a query and the continuation token of the next (None after the last):
        the server stops after `page_size` items, so a page costs the same however many
        documents match."""

        async def run() -> tuple[list[dict[str, Any]], str | None]:
            pages = container.query_items(sql, parameters=parameters, max_item_count=page_size).by_page(continuation)
            items: list[dict[str, Any]] = []
            async for page in pages:
                items = [item async for item in page]
                break
            token = getattr(pages, "continuation_token", None)  # AsyncPageIterator; typed as a bare iterator
            return items, str(token) if token else None

        return await self._call("query", run)

    # -- read → decide → write with If-Match, rereading on 412 -----------------------------

    async def update_with_etag(
        self,
        container: ContainerProxy,
        item_id: str,
        decide: Callable[[dict[str, Any] | None], EtagDecision],
    ) -> UpdateReport:
        """Apply `decide` to the current document and write its answer under If-Match.

        `decide` receives None when the document does not exist; a decision for a missing
        document is written with create (a racing create is a conflict like a 412).
        """
        conflicts = 0
        for attempt in range(self.settings.conflict_max_attempts):
            current = await self.read(container, item_id)
            decision = decide(current)
            if decision.document is None:
                return UpdateReport(decision.result, conflicts, written=False, document=current)
            body = _user_fields(decision.document)
            try:
                if current is None:
                    written = await self._call("create", container.create_item, body)
                else:
                    written = await self._call("replace", container.replace_item, item_id, body,
                                               etag=current["_etag"], match_condition=MatchConditions.IfNotModified)
                return UpdateReport(decision.result, conflicts, written=True, document=written)
            except (cosmos_errors.CosmosAccessConditionFailedError, cosmos_errors.CosmosResourceExistsError):
                conflicts += 1
                # Full jitter keeps racing writers from retrying in lockstep.
                ceiling = self.settings.conflict_base_delay_ms * 2 ** min(attempt, 6)
                await asyncio.sleep(random.uniform(0, ceiling) / 1000.0)
        raise TransientError(
            f"{item_id}: still conflicting after {self.settings.conflict_max_attempts} If-Match attempts"
        )


_stores: dict[asyncio.AbstractEventLoop, CosmosStore] = {}
_opening: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}


async def get_store() -> CosmosStore:
    """The worker's store for the running event loop, opened on first use."""
    loop = asyncio.get_running_loop()
    store = _stores.get(loop)
    if store is not None:
        return store
    lock = _opening.setdefault(loop, asyncio.Lock())
    async with lock:
        if loop not in _stores:
            _stores[loop] = await CosmosStore.open(CosmosSettings.from_environment())
        return _stores[loop]


async def close_stores() -> None:
    """Close the store of the running loop (tests and shutdown)."""
    loop = asyncio.get_running_loop()
    store = _stores.pop(loop, None)
    _opening.pop(loop, None)
    if store is not None:
        await store.close()
