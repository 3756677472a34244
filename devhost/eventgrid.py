"""Event Grid trigger webhook: ``POST /runtime/webhooks/eventgrid?functionName=<fn>``.

Behaviour of the WebJobs Event Grid extension's HttpRequestProcessor (protocol reference
section 6): the ``aeg-event-type`` header selects SubscriptionValidation (answer the
validation code), Notification (one invocation per event, in parallel; 202 when all
succeed, 500 with the exception message otherwise) or Unsubscribe (202); a missing or
unknown header is 400, an unknown function 404. Both Event Grid schema arrays and
CloudEvents (single object or array) are accepted; each event reaches the function
through azure.functions' ``EventGridEventInConverter`` as a ``json`` datum.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web
from azure.functions import meta

from .auth import Keys, authorized
from .bindings import Invocation, Invoker
from .loader import FunctionInfo, LoadedApp

log = logging.getLogger("devhost")

PATH = "/runtime/webhooks/eventgrid"


class EventGridWebhook:
    def __init__(self, loaded: LoadedApp, invoker: Invoker, keys: Keys) -> None:
        self.loaded = loaded
        self.invoker = invoker
        self.keys = keys

    def register(self, app: web.Application) -> None:
        app.router.add_route("POST", PATH, self.handle)

    def _function(self, name: str) -> FunctionInfo | None:
        for info in self.loaded.by_trigger("eventGridTrigger"):
            if info.name.lower() == (name or "").lower():
                return info
        return None

    async def handle(self, request: web.Request) -> web.Response:
        if not authorized(request, self.keys, "system"):
            return web.Response(status=401)
        name = request.query.get("functionName", "")
        info = self._function(name)
        if info is None:
            return web.Response(status=404, text=f"cannot find function: '{name}'")
        event_type = request.headers.get("aeg-event-type")
        if event_type is None:
            return web.Response(status=400, text="aeg-event-type header is missing")
        kind = event_type.lower()
        if kind == "unsubscribe":
            return web.Response(status=202)
        if kind not in ("subscriptionvalidation", "notification"):
            return web.Response(status=400, text=f"unknown aeg-event-type '{event_type}'")
        try:
            body = json.loads(await request.text())
        except ValueError:
            return web.Response(status=400, text="request body is not JSON")
        if kind == "subscriptionvalidation":
            first = body[0] if isinstance(body, list) and body else body
            data = first.get("data") if isinstance(first, dict) else None
            if isinstance(data, str):  # CloudEvents: data may arrive encoded once more
                data = json.loads(data)
            code = (data or {}).get("validationCode")
            return web.json_response({"validationResponse": code})
        events: list[dict] = body if isinstance(body, list) else [body]
        results = await asyncio.gather(*(self._invoke(info, e) for e in events),
                                       return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            first_failure = failures[0]
            return web.Response(status=500, text=f"Exception while executing function: "
                                f"Functions.{info.name} -> {type(first_failure).__name__}: "
                                f"{first_failure}")
        return web.Response(status=202)

    async def _invoke(self, info: FunctionInfo, event: dict[str, Any]) -> None:
        invocation = Invocation(trigger=meta.Datum(json.dumps(event), "json"),
                                trace_parent=str(event.get("traceparent") or ""))
        await self.invoker.invoke(info, invocation)
