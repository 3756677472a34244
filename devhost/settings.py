"""App settings the way Core Tools applies them.

Core Tools (``func start``) reads ``local.settings.json`` ``Values`` and sets each one as an
environment variable of the worker UNLESS a variable of that name is already set: the
environment wins. devhost does the same, then applies the ``settings=`` dict given to
``DevHost`` on top (explicit test settings win over both), and writes the result into
``os.environ`` before the app module is imported.
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping

log = logging.getLogger("devhost")


def read_local_settings(app_dir: str) -> dict[str, str]:
    path = os.path.join(app_dir, "local.settings.json")
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8-sig") as handle:
            document = json.load(handle)
    except (OSError, ValueError) as error:
        log.warning("devhost: cannot read %s: %s", path, error)
        return {}
    values = document.get("Values") or {}
    return {str(k): "" if v is None else str(v) for k, v in values.items()}


def resolve_settings(app_dir: str, explicit: Mapping[str, str] | None = None,
                     environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings devhost runs with: local.settings.json < environment < explicit."""
    environ = os.environ if environ is None else environ
    resolved: dict[str, str] = {}
    for key, value in read_local_settings(app_dir).items():
        resolved[key] = environ.get(key, value)
    for key in list(resolved):
        if key in environ:
            resolved[key] = environ[key]
    for key, value in (explicit or {}).items():
        resolved[str(key)] = str(value)
    return resolved


def apply_to_environment(settings: Mapping[str, str]) -> None:
    for key, value in settings.items():
        os.environ[key] = value


def setting(settings: Mapping[str, str], name: str, default: str | None = None
            ) -> str | None:
    """Look a devhost setting up in the resolved settings, then the environment."""
    if name in settings:
        return settings[name]
    return os.environ.get(name, default)


def truthy(value: str | None) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")
