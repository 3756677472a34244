"""``POST /admin/functions/<name>``: run a non-HTTP function by hand (master key).

Like the host's admin API: the JSON body may carry ``{"input": "..."}``; the answer is 202
and the function runs in the background. Timer functions get a ``TimerRequest``; Event
Grid functions get the input parsed as an event.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web
from azure.functions import meta

from .auth import Keys, authorized
from .bindings import Invocation, Invoker
from .loader import FunctionInfo, LoadedApp
from .timer_triggers import TimerTriggers

log = logging.getLogger("devhost")


class AdminApi:
    """``spawn`` runs a coroutine in the background for as long as the host runs."""

    def __init__(self, loaded: LoadedApp, invoker: Invoker, keys: Keys,
                 timer_triggers: TimerTriggers,
                 spawn: Callable[[Coroutine[Any, Any, None]], None]) -> None:
        self.loaded = loaded
        self.invoker = invoker
        self.keys = keys
        self.timer_triggers = timer_triggers
        self.spawn = spawn

    def register(self, app: web.Application) -> None:
        app.router.add_route("POST", "/admin/functions/{name}", self.invoke)

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
