"""HTTP-triggered functions under ``/<routePrefix>/<route>`` (default prefix ``api``).

Route templates follow the host's ASP.NET-style syntax: ``{name}``, ``{name:constraint}``,
``{name?}`` (optional) and ``{*rest}`` (catch-all); matching is case-insensitive. The
request reaches the function as the ``http`` datum the host sends, decoded by
azure.functions' ``HttpRequestConverter``; the return value goes back through
``HttpResponseConverter``.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from re import Pattern

from aiohttp import web
from azure.functions import meta

from .auth import Keys, authorized, has_admin_key
from .bindings import Invocation, Invoker
from .loader import FunctionInfo, LoadedApp

log = logging.getLogger("devhost")

_PARAM = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(:[^}?]*)?(\??)\}")


def route_regex(template: str) -> Pattern[str]:
    """Compile a route template into a regex with named groups."""
    pattern = ""
    position = 0
    segments = template.strip("/")
    for match in _PARAM.finditer(segments):
        pattern += re.escape(segments[position:match.start()])
        catch_all, name, constraint, optional = match.groups()
        if catch_all:
            body = f"(?P<{name}>.*)"
        elif constraint and constraint[1:].split("(")[0] in ("int", "long"):
            body = f"(?P<{name}>-?\\d+)"
        else:
            body = f"(?P<{name}>[^/]+)"
        if optional or catch_all:
            # an optional last segment also makes its preceding slash optional
            if pattern.endswith("/"):
                pattern = pattern[:-1] + f"(?:/{body})?"
            else:
                pattern += body + "?"
        else:
            pattern += body
        position = match.end()
    pattern += re.escape(segments[position:])
    return re.compile(f"^{pattern}/?$", re.IGNORECASE)


@dataclass
class HttpRoute:
    function: FunctionInfo
    regex: Pattern[str]
    methods: list[str] | None
    auth_level: str


class HttpTriggers:
    """Routes the HTTP functions of ``loaded``; input bindings such as ``durableClient``
    come from the ``invoker``'s input provider, as for every other trigger."""

    def __init__(self, loaded: LoadedApp, invoker: Invoker, keys: Keys, route_prefix: str,
                 disabled: Collection[str] = ()) -> None:
        self.invoker = invoker
        self.disabled = frozenset(disabled)
        self.keys = keys
        self.route_prefix = route_prefix
        self.routes: list[HttpRoute] = []
        for info in loaded.by_trigger("httpTrigger"):
            trigger = info.trigger
            methods = trigger.get("methods")
            self.routes.append(HttpRoute(
                function=info, regex=route_regex(trigger.get("route") or info.name),
                methods=[m.upper() for m in methods] if methods else None,
                auth_level=str(trigger.get("authLevel", "FUNCTION"))))

    def register(self, app: web.Application) -> None:
        prefix = self.route_prefix
        path = f"/{prefix}/{{tail:.*}}" if prefix else "/{tail:.*}"
        app.router.add_route("*", path, self.handle)

    def _match(self, path: str, method: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for route in self.routes:
            match = route.regex.match(path)
            if match and (route.methods is None or method in route.methods):
                params = {k: v for k, v in match.groupdict().items() if v is not None}
                return route, params
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        matched = self._match(request.match_info.get("tail", ""), request.method)
        if matched is None:
            return web.Response(status=404)
        route, params = matched
        if not authorized(request, self.keys, route.auth_level):
            return web.Response(status=401)
        if route.function.name in self.disabled and not has_admin_key(request, self.keys):
            # host FunctionInvocationMiddleware: route, then auth (401), then a disabled
            # function is a bare 404 for callers without admin rights
            return web.Response(status=404)
        body = await request.read()
        datum = meta.Datum(type="http", value={
            "method": meta.Datum(request.method, "string"),
            "url": meta.Datum(str(request.url), "string"),
            "headers": {k: meta.Datum(v, "string") for k, v in request.headers.items()},
            "query": {k: meta.Datum(v, "string") for k, v in request.query.items()},
            "params": {k: meta.Datum(v, "string") for k, v in params.items()},
            "body": meta.Datum(body, "bytes"),
        })
        invocation = Invocation(trigger=datum,
                                trace_parent=request.headers.get("traceparent", ""),
                                trace_state=request.headers.get("tracestate", ""))
        try:
            result = await self.invoker.invoke(route.function, invocation)
        except Exception:
            log.exception("devhost: HTTP function %s failed", route.function.name)
            return web.Response(status=500)
        response = result.return_datum
        if response is None:
            http_out = next((v for v in result.outputs.values() if v is not None), None)
            if http_out is not None:
                from azure.functions.http import HttpResponseConverter
                response = HttpResponseConverter.encode(http_out, expected_type=None)
        return to_aiohttp(response)


def to_aiohttp(datum: meta.Datum | None) -> web.Response:
    if datum is None:
        return web.Response(status=204)
    if datum.type == "string":
        return web.Response(status=200, text=datum.value,
                            content_type="text/plain", charset="utf-8")
    value = datum.value
    status = int(value["status_code"].value)
    headers = {k: v.value for k, v in value["headers"].items()}
    body = value["body"].value or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    response = web.Response(status=status, body=body)
    for name, header_value in headers.items():
        response.headers[name] = header_value
    for cookie in value.get("cookies") or []:
        for morsel in cookie.values():
            response.headers.add("Set-Cookie", morsel.OutputString())
    return response
