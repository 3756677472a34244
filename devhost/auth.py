"""Function keys, like the host's: ``code`` query parameter or ``x-functions-key`` header.

- ``DEVHOST_FUNCTION_KEY``: accepted for authLevel FUNCTION routes.
- ``DEVHOST_MASTER_KEY``: accepted everywhere (FUNCTION, ADMIN, /admin, system webhooks).
- ``DEVHOST_SYSTEM_KEY``: the system key of the /runtime/webhooks endpoints (defaults to
  the master key), put into the durable client's management URLs as ``code=``.

Keys that are not configured are generated at start-up and logged (the real host also
generates keys). Anonymous mode turns every check off; it must be asked for explicitly
(``anonymous=True``, ``--anonymous`` or ``DEVHOST_ANONYMOUS=1``) and is logged loudly.
"""
from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web


@dataclass
class Keys:
    function_key: str
    master_key: str
    system_key: str
    anonymous: bool

    @classmethod
    def from_settings(cls, settings: Mapping[str, str], anonymous: bool) -> Keys:
        master = settings.get("DEVHOST_MASTER_KEY") or secrets.token_urlsafe(24)
        return cls(function_key=settings.get("DEVHOST_FUNCTION_KEY") or secrets.token_urlsafe(24),
                   master_key=master,
                   system_key=settings.get("DEVHOST_SYSTEM_KEY") or master,
                   anonymous=anonymous)


def presented_key(request: web.Request) -> str | None:
    return request.headers.get("x-functions-key") or request.query.get("code")


def _matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def has_admin_key(request: web.Request, keys: Keys) -> bool:
    """The caller presented the master key (Admin level), whatever the anonymous mode."""
    return _matches(presented_key(request), keys.master_key)


def authorized(request: web.Request, keys: Keys, level: str) -> bool:
    """``level``: anonymous | function | admin | system."""
    if keys.anonymous or level.lower() == "anonymous":
        return True
    given = presented_key(request)
    if _matches(given, keys.master_key):
        return True
    level = level.lower()
    if level == "function":
        return _matches(given, keys.function_key)
    if level == "system":
        return _matches(given, keys.system_key)
    return False
