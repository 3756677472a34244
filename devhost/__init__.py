"""devhost: an in-process stand-in for the Azure Functions host + Durable extension.

See README.md. The programmatic entry point is :class:`DevHost`. It is imported on first
use, so importing one part (``devhost.dashboard``, ``devhost.management_api``…) loads only
what that part needs, not the whole host.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

if TYPE_CHECKING:  # pragma: no cover
    from .host import DevHost


def __getattr__(name: str) -> Any:
    if name == "DevHost":
        from .host import DevHost
        return DevHost
    raise AttributeError(f"module 'devhost' has no attribute {name!r}")


__all__ = ["DevHost"]
