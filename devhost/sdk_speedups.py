"""A memo in front of the Durable SDK's parse of history timestamps.

Profiling ``python -m devhost.bench_peer`` showed most of the process's CPU going into the
SDK, not devhost: every episode the SDK rebuilds the whole history
(``DurableOrchestrationContext.from_json``) and ``HistoryEvent.__init__`` parses each
event's ``Timestamp`` with ``dateutil.parser.parse`` — the same strings again in every later
episode. The real host pays that too; devhost runs the SDK in its own process, so it can
remember the answers. ``dateutil.parser.parse`` of a complete UTC timestamp (the
``...Z`` strings devhost's history writes) depends on the string alone and returns an
immutable ``datetime``, so the memo gives exactly what the call would; anything else
(other forms, extra arguments) goes to dateutil unchanged.

Process-wide (the SDK module is): ``install()`` is idempotent, ``uninstall()`` restores
the SDK's own function (setting ``DEVHOST_SDK_TIMESTAMP_MEMO=0``).
"""
from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

_MODULE = "azure.durable_functions.models.history.HistoryEvent"
_NAME = "dt_parse"  # `from dateutil.parser import parse as dt_parse` in that module
_MEMO_SIZE = 65536


def _module() -> Any:
    try:
        return importlib.import_module(_MODULE)
    except ImportError:  # an SDK without that module: nothing to speed up
        return None


def _memoised(original: Callable[..., Any]) -> Callable[..., Any]:
    cached = functools.lru_cache(maxsize=_MEMO_SIZE)(original)

    @functools.wraps(original)
    def parse(timestr: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(timestr, str) or not timestr.endswith("Z"):
            return original(timestr, *args, **kwargs)
        return cached(timestr)

    parse.devhost_original = original  # type: ignore[attr-defined]
    return parse


def install() -> bool:
    """Put the memo in front of the SDK's timestamp parse. False if there is nothing to wrap."""
    module = _module()
    current = getattr(module, _NAME, None)
    if current is None:
        return False
    if not hasattr(current, "devhost_original"):
        setattr(module, _NAME, _memoised(current))
    return True


def uninstall() -> None:
    module = _module()
    current = getattr(module, _NAME, None)
    original = getattr(current, "devhost_original", None)
    if original is not None:
        setattr(module, _NAME, original)
