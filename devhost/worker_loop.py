"""The one long-lived event loop that devhost (and the app's async functions) run on.

The real Python worker runs every ``async def`` function on a single event loop that
lives as long as the worker process, so an app can keep one async client (aiohttp, Cosmos
aio, ...) per worker. Tests, on the other hand, usually get a fresh event loop per test.
devhost therefore runs its server, engine and the app's async functions on its own loop in
a daemon thread, created once per process and shared by every ``DevHost``; the public
``DevHost`` coroutines hop onto it and back, so they can be awaited from any loop.
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec

P = ParamSpec("P")

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def worker_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            thread = threading.Thread(target=run, name="devhost-worker-loop", daemon=True)
            thread.start()
            ready.wait()
            _loop = loop
        return _loop


async def on_worker_loop(function: Callable[P, Coroutine[Any, Any, Any]], *args: P.args,
                         **kwargs: P.kwargs) -> Any:
    """Await ``function(*args, **kwargs)`` on the worker loop, from whatever loop we are on.

    The arguments are checked against ``function``; the result is left untyped for callers.
    """
    loop = worker_loop()
    try:
        current = asyncio.get_running_loop()
    except RuntimeError:
        current = None
    if current is loop:
        return await function(*args, **kwargs)
    future = asyncio.run_coroutine_threadsafe(function(*args, **kwargs), loop)
    return await asyncio.wrap_future(future)


def run_sync(function: Callable[P, Coroutine[Any, Any, Any]], *args: P.args,
             **kwargs: P.kwargs) -> Any:
    """Run a coroutine function on the worker loop from plain (non-async) code."""
    future = asyncio.run_coroutine_threadsafe(function(*args, **kwargs), worker_loop())
    return future.result()
