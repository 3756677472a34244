"""The host's admin API: host status and ping, and running a non-HTTP function by hand.

- ``GET /admin/host/status`` (admin key, like ``[Authorize(AdminAuthLevelOrInternal)]``):
  200 with the host status JSON (see host_status.py); no key 401, a function key 403.
- ``GET|POST /admin/host/ping``: 200, empty, no key.
- ``POST /admin/functions/<name>`` (master key): the JSON body may carry
  ``{"input": "..."}``; the answer is 202 and the function runs in the background (disabled
  ones too: FunctionsController.Invoke does not check). Timer functions get a
  ``TimerRequest``; Event Grid functions get the input parsed as an event.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web
from azure.functions import meta

from .auth import Keys, authorized, presented_key
from .bindings import Invocation, Invoker
from .host_status import HostStatus
from .loader import FunctionInfo, LoadedApp
from .timer_triggers import TimerTriggers

log = logging.getLogger("devhost")


class AdminApi:
    """``spawn`` runs a coroutine in the background for as long as the host runs."""

    def __init__(self, loaded: LoadedApp, invoker: Invoker, keys: Keys,
                 timer_triggers: TimerTriggers,
                 spawn: Callable[[Coroutine[Any, Any, None]], None],
                 host_status: HostStatus) -> None:
        self.loaded = loaded
        self.host_status = host_status
        self.invoker = invoker
        self.keys = keys
        self.timer_triggers = timer_triggers
        self.spawn = spawn

    def register(self, app: web.Application) -> None:
        app.router.add_route("POST", "/admin/functions/{name}", self.invoke)
        app.router.add_route("GET", "/admin/host/status", self.status)
        app.router.add_route("*", "/admin/host/ping", self.ping)

    async def status(self, request: web.Request) -> web.Response:
        if not authorized(request, self.keys, "admin"):
            # a key of a lower level authenticates but does not meet the policy: 403
            known = presented_key(request) in (self.keys.function_key, self.keys.system_key)
            return web.Response(status=403 if known else 401)
        return web.json_response(self.host_status.payload())

    async def ping(self, request: web.Request) -> web.Response:
        if request.method not in ("GET", "POST"):
            return web.Response(status=405)
        return web.Response(status=200)

    async def invoke(self, request: web.Request) -> web.Response:
        if not authorized(request, self.keys, "admin"):
            return web.Response(status=401)
        name = request.match_info["name"]
        info = next((f for f in self.loaded.functions.values()
                     if f.name.lower() == name.lower()), None)
        if info is None:
            return web.Response(status=404)
        text = await request.text()
        try:
            payload = json.loads(text) if text.strip() else {}
        except ValueError:
            return web.Response(status=400, text="body must be JSON")
        given = payload.get("input") if isinstance(payload, dict) else None
        if info.trigger_type == "timerTrigger":
            datum = self.timer_triggers.timer_datum(info, past_due=False)
        elif info.trigger_type == "eventGridTrigger":
            datum = meta.Datum(given if isinstance(given, str) else json.dumps(given), "json")
        elif info.trigger_type in ("httpTrigger", "orchestrationTrigger", "activityTrigger"):
            return web.Response(status=400, text="use the HTTP route or the durable APIs")
        else:
            datum = meta.Datum(given, "string")
        self.spawn(self._run(info, datum))
        return web.Response(status=202)

    async def _run(self, info: FunctionInfo, datum: meta.Datum) -> None:
        try:
            await self.invoker.invoke(info, Invocation(trigger=datum))
        except Exception:
            log.exception("devhost: %s failed (admin invocation)", info.name)
