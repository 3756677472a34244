"""Fixtures for devhost's own tests.

Async tests carry ``pytest.mark.asyncio`` explicitly (works with or without the root's
``asyncio_mode = "auto"``). Every test starts the hosts it needs on free ports with an
in-memory store and stops them.
"""
from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from azure.durable_functions.models.utils import http_utils

from devhost import DevHost

APPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps")

FUNCTION_KEY = "test-function-key"
MASTER_KEY = "test-master-key"


def app_dir(name: str) -> str:
    return os.path.join(APPS, name)


@pytest.fixture
async def make_host() -> AsyncIterator[Callable[..., Any]]:
    """``host = await make_host("basic", **DevHost kwargs)``; stopped after the test."""
    started: list[DevHost] = []

    async def make(app: str = "basic", **kwargs: Any) -> DevHost:
        settings = {"DEVHOST_FUNCTION_KEY": FUNCTION_KEY, "DEVHOST_MASTER_KEY": MASTER_KEY}
        settings.update(kwargs.pop("settings", {}))
        kwargs.setdefault("store", ":memory:")
        kwargs.setdefault("port", 0)
        host = DevHost(app_dir=app_dir(app), settings=settings, **kwargs)
        await host.start()
        started.append(host)
        return host

    yield make
    for host in started:
        await host.stop()


@pytest.fixture
async def sdk_session() -> AsyncIterator[None]:
    """The SDK keeps one global aiohttp session; give each test (and its loop) a fresh one."""
    http_utils._client_session = None
    yield
    if http_utils._client_session is not None:
        await http_utils._client_session.close()
    http_utils._client_session = None


@pytest.fixture
def restore_environ() -> Iterator[None]:
    """devhost writes its settings into os.environ (as the worker process has them); put the
    environment back afterwards so one test's settings do not reach the next host."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
