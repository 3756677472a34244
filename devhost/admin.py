"""``POST /admin/functions/<name>``: run a non-HTTP function by hand (master key).

Like the host's admin API: the JSON body may carry ``{"input": "..."}``; the answer is 202
and the function runs in the background. Timer functions get a ``TimerRequest``; Event
Grid functions get the input parsed as an event.
"""
from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from aiohttp import web
from azure.functions import meta

from .auth import authorized
from .bindings import Invocation
from .loader import FunctionInfo

if TYPE_CHECKING:  # pragma: no cover
    from .host import DevHost

log = logging.getLogger("devhost")


class AdminApi:
    def __init__(self, host: DevHost) -> None:
        self.host = host

    def register(self, app: web.Application) -> None:
        app.router.add_route("POST", "/admin/functions/{name}", self.invoke)

    async def invoke(self, request: web.Request) -> web.Response:
        if not authorized(request, self.host.keys, "admin"):
            return web.Response(status=401)
        name = request.match_info["name"]
        info = next((f for f in self.host.loaded.functions.values()
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
            datum = self.host.timer_triggers.timer_datum(info, past_due=False)
        elif info.trigger_type == "eventGridTrigger":
            datum = meta.Datum(given if isinstance(given, str) else json.dumps(given), "json")
        elif info.trigger_type in ("httpTrigger", "orchestrationTrigger", "activityTrigger"):
            return web.Response(status=400, text="use the HTTP route or the durable APIs")
        else:
            datum = meta.Datum(given, "string")
        self.host.engine._spawn(self._run(info, datum))
        return web.Response(status=202)

    async def _run(self, info: FunctionInfo, datum: meta.Datum) -> None:
        try:
            await self.host.invoker.invoke(info, Invocation(trigger=datum))
        except Exception:
            log.exception("devhost: %s failed (admin invocation)", info.name)
