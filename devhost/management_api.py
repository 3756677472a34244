"""The Durable extension's HTTP management API (HttpApiHandler), served twice.

- under ``/durabletask/`` — the local RPC endpoint the Python client uses (``rpcBaseUrl``,
  with its trailing slash), not key-protected, like the extension's local listener;
- under ``/runtime/webhooks/durabletask/`` — the public webhook URLs (``baseUrl``, the
  URLs of create_check_status_response), which need the system key unless anonymous.

Status codes and bodies follow protocol reference section 4.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
from typing import TYPE_CHECKING
from urllib.parse import quote

from aiohttp import web

from .auth import authorized
from .engine import UnknownOrchestrator
from .history import parse_timestamp
from .replay import compact_json

if TYPE_CHECKING:  # pragma: no cover
    from .host import DevHost

log = logging.getLogger("devhost")

RPC_PREFIX = "/durabletask/"
WEBHOOK_PREFIX = "/runtime/webhooks/durabletask/"
_IN_PROGRESS = ("Running", "Pending", "ContinuedAsNew", "Suspended")


def _flag(request: web.Request, name: str, default: bool = False) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    return value.strip().lower() == "true"


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    return parse_timestamp(text).timestamp()


def _body_token_text(text: str) -> str | None:
    """The request body as the JSON text the extension stores (JToken, compact)."""
    if text.strip() == "":
        return None
    try:
        return compact_json(json.loads(text))
    except ValueError:
        return compact_json(text)


class ManagementApi:
    def __init__(self, host: DevHost) -> None:
        self.host = host

    def register(self, app: web.Application) -> None:
        for prefix in (RPC_PREFIX, WEBHOOK_PREFIX):
            app.router.add_route("*", prefix + "{tail:.*}", self.dispatch)
        app.router.add_route("*", WEBHOOK_PREFIX.rstrip("/"), self.dispatch)

    # -- urls -------------------------------------------------------------------------
    def management_urls(self, instance_id: str) -> dict:
        host = self.host
        base = f"{host.webhook_base_url}/instances/{instance_id}"
        query = host.webhook_query
        return {
            "id": instance_id,
            "purgeHistoryDeleteUri": f"{base}?{query}",
            "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{query}",
            "statusQueryGetUri": f"{base}?{query}",
            "terminatePostUri": f"{base}/terminate?reason={{text}}&{query}",
            "suspendPostUri": f"{base}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{base}/resume?reason={{text}}&{query}",
            "restartPostUri": f"{base}/restart?{query}",
        }

    def _check_status_response(self, instance_id: str) -> web.Response:
        payload = self.management_urls(instance_id)
        return web.json_response(payload, status=202, headers={
            "Location": payload["statusQueryGetUri"], "Retry-After": "10"})

    # -- dispatch ---------------------------------------------------------------------
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith(WEBHOOK_PREFIX.rstrip("/")) and not authorized(
                request, self.host.keys, "system"):
            return web.Response(status=401)
        parts = [p for p in request.match_info.get("tail", "").split("/") if p != ""]
        method = request.method
        engine = self.host.engine
        if parts[:1] == ["orchestrators"] and len(parts) in (2, 3) and method == "POST":
            return await self._start(request, parts[1], parts[2] if len(parts) == 3 else None)
        if parts[:1] != ["instances"]:
            return web.Response(status=404)
        if len(parts) == 1:
            if method == "GET":
                return self._query(request)
            if method == "DELETE":
                return self._purge_by(request)
            return web.Response(status=405)
        instance_id = parts[1]
        if len(parts) == 2:
            if method == "GET":
                return self._status(request, instance_id)
            if method == "DELETE":
                deleted = engine.purge(instance_id)
                if not deleted:
                    return web.Response(status=404)
                return web.json_response({"instancesDeleted": deleted})
            return web.Response(status=405)
        operation = parts[2].lower()
        if method != "POST":
            return web.Response(status=405)
        reason = request.query.get("reason")
        if operation == "raiseevent" and len(parts) == 4:
            return await self._raise_event(request, instance_id, parts[3])
        if operation in ("terminate", "suspend", "resume"):
            result = getattr(engine, operation)(instance_id, reason)
            return web.Response(status={"accepted": 202, "not_found": 404,
                                        "gone": 410}[result])
        if operation in ("rewind", "restart"):
            return web.json_response(
                {"Message": f"devhost does not implement '{operation}'"}, status=501)
        return web.Response(status=404)

    async def _start(self, request: web.Request, name: str, instance_id: str | None
                     ) -> web.Response:
        input_text = _body_token_text(await request.text())
        try:
            instance_id = self.host.engine.start_new(name, instance_id, input_text)
        except UnknownOrchestrator as error:
            return web.json_response({
                "Message": "One or more of the arguments submitted is incorrect",
                "ExceptionMessage": str(error),
                "ExceptionType": "System.ArgumentException",
                "StackTrace": None}, status=400)
        return self._check_status_response(instance_id)

    def _status(self, request: web.Request, instance_id: str) -> web.Response:
        payload = self.host.engine.status(
            instance_id, show_history=_flag(request, "showHistory"),
            show_history_output=_flag(request, "showHistoryOutput"),
            show_input=_flag(request, "showInput", default=True))
        if payload is None:
            return web.Response(status=404)
        if payload["runtimeStatus"] in _IN_PROGRESS:
            location = self.management_urls(instance_id)["statusQueryGetUri"]
            return web.json_response(payload, status=202,
                                     headers={"Location": location, "Retry-After": "5"})
        return web.json_response(payload, status=200)

    def _query(self, request: web.Request) -> web.Response:
        statuses = [s for s in (request.query.get("runtimeStatus") or "").split(",") if s]
        top = request.query.get("top")
        rows = self.host.engine.query(
            statuses=statuses or None,
            created_from=_epoch(request.query.get("createdTimeFrom")),
            created_to=_epoch(request.query.get("createdTimeTo")),
            prefix=request.query.get("instanceIdPrefix"),
            top=int(top) if top else None,
            show_input=_flag(request, "showInput", default=True))
        return web.json_response(rows)

    def _purge_by(self, request: web.Request) -> web.Response:
        created_from = _epoch(request.query.get("createdTimeFrom"))
        if created_from is None:
            return web.json_response({"Message": "createdTimeFrom is required"}, status=400)
        statuses = [s for s in (request.query.get("runtimeStatus") or "").split(",") if s]
        deleted = self.host.engine.purge_by(
            created_from=created_from, created_to=_epoch(request.query.get("createdTimeTo")),
            statuses=statuses or None)
        if not deleted:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": deleted})

    async def _raise_event(self, request: web.Request, instance_id: str, event_name: str
                           ) -> web.Response:
        if not (request.content_type or "").lower().startswith("application/json"):
            return web.json_response(
                {"Message": "Only application/json request content is supported"}, status=400)
        input_text = _body_token_text(await request.text())
        result = self.host.engine.raise_event(instance_id, event_name, input_text)
        return web.Response(status={"accepted": 202, "not_found": 404, "gone": 410}[result])


def client_binding(host: DevHost, task_hub: str | None = None,
                   connection_name: str | None = None) -> str:
    """The durableClient binding value (a JSON string), legacy/OOProc shape."""
    hub = task_hub or host.hub_name
    base = host.webhook_base_url
    query = host.webhook_query
    instance = f"{base}/instances/INSTANCEID"
    return json.dumps({
        "taskHubName": hub,
        "connectionName": connection_name,
        "creationUrls": {
            "createNewInstancePostUri":
                f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?{query}",
            "createAndWaitOnNewInstancePostUri":
                f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?timeout="
                f"{{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{query}",
        },
        "managementUrls": {
            "id": "INSTANCEID",
            "statusQueryGetUri": f"{instance}?{query}",
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
            "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
            "purgeHistoryDeleteUri": f"{instance}?{query}",
            "restartPostUri": f"{instance}/restart?{query}",
            "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
        },
        "baseUrl": base,
        "requiredQueryStringParameters": query,
        "rpcBaseUrl": host.rpc_base_url,
        "httpBaseUrl": None,
    })


def quote_reason(text: str) -> str:
    return quote(text)


_ = _dt  # datetime kept for type readers
