"""The Durable extension's HTTP management API (HttpApiHandler), served twice.

- under ``/durabletask/`` — the local RPC endpoint the Python client uses (``rpcBaseUrl``,
  with its trailing slash), not key-protected, like the extension's local listener;
- under ``/runtime/webhooks/durabletask/`` — the public webhook URLs (``baseUrl``, the
  URLs of create_check_status_response), which need the system key unless anonymous.

Status codes and bodies follow protocol reference section 4.
"""
from __future__ import annotations

import json
import logging

from aiohttp import web

from .auth import Keys, authorized
from .durable_client import ClientOperationRefused, DurableClientOps, RestartOfUnknownInstance
from .endpoints import Endpoints
from .engine import UnknownOrchestrator
from .history import parse_timestamp
from .replay import compact_json

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


class InvalidJson(ValueError):
    pass


def _body_token_text(text: str) -> str | None:
    """The request body as the JSON text the extension stores (JToken, compact)."""
    if text.strip() == "":
        return None
    try:
        return compact_json(json.loads(text))
    except ValueError as error:
        raise InvalidJson(str(error)) from error


def _error(status: int, message: str, exception_type: str, exception_message: str
           ) -> web.Response:
    """HttpRequestMessageExtensions.CreateErrorResponse(status, message, exception).

    The .NET stack trace cannot be reproduced; devhost sends ``null`` in its place.
    """
    return web.json_response({"Message": message, "ExceptionMessage": exception_message,
                              "ExceptionType": exception_type, "StackTrace": None},
                             status=status)


def _invalid_json(error: InvalidJson) -> web.Response:
    return _error(400, "Invalid JSON content", "Newtonsoft.Json.JsonReaderException", str(error))


def _refused(error: ClientOperationRefused) -> web.Response:
    """HttpApiHandler.HandleRequestAsync's catch-all for what DurableClient/DTFx throw."""
    return _error(500, "Something went wrong while processing your request",
                  error.exception_type, error.message)


_OUTCOME_STATUS = {"accepted": 202, "not_found": 404, "gone": 410}


class ManagementApi:
    """The handlers; they need the client operations (engine + the extension's state
    checks), the URLs (for check-status payloads) and the keys."""

    def __init__(self, client: DurableClientOps, endpoints: Endpoints, keys: Keys) -> None:
        self.client = client
        self.engine = client.engine
        self.endpoints = endpoints
        self.keys = keys

    def register(self, app: web.Application) -> None:
        for prefix in (RPC_PREFIX, WEBHOOK_PREFIX):
            app.router.add_route("*", prefix + "{tail:.*}", self.dispatch)
        app.router.add_route("*", WEBHOOK_PREFIX.rstrip("/"), self.dispatch)

    def _check_status_response(self, instance_id: str) -> web.Response:
        payload = self.endpoints.management_urls(instance_id)
        return web.json_response(payload, status=202, headers={
            "Location": payload["statusQueryGetUri"], "Retry-After": "10"})

    # -- dispatch ---------------------------------------------------------------------
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith(WEBHOOK_PREFIX.rstrip("/")) and not authorized(
                request, self.keys, "system"):
            return web.Response(status=401)
        parts = [p for p in request.match_info.get("tail", "").split("/") if p != ""]
        method = request.method
        try:
            return await self._route(request, parts, method)
        except ClientOperationRefused as error:
            return _refused(error)

    async def _route(self, request: web.Request, parts: list[str], method: str
                     ) -> web.StreamResponse:
        # A known route with another method, or an unknown operation, is a bare 404
        # (HttpApiHandler.HandleRequestAsync).
        if parts[:1] == ["orchestrators"] and len(parts) in (2, 3) and method == "POST":
            return await self._start(request, parts[1], parts[2] if len(parts) == 3 else None)
        if parts[:1] != ["instances"]:
            return web.Response(status=404)
        if len(parts) == 1:
            if method == "GET":
                return self._query(request)
            if method == "DELETE":
                return self._purge_by(request)
            return web.Response(status=404)
        instance_id = parts[1]
        if len(parts) == 2:
            if method == "GET":
                return self._status(request, instance_id)
            if method == "DELETE":
                deleted = self.client.purge(instance_id)
                if not deleted:
                    return web.Response(status=404)
                return web.json_response({"instancesDeleted": deleted})
            return web.Response(status=404)
        operation = parts[2].lower()
        if method != "POST":
            return web.Response(status=404)
        reason = request.query.get("reason")
        if operation == "raiseevent" and len(parts) == 4:
            return await self._raise_event(request, instance_id, parts[3])
        if len(parts) != 3:
            return web.Response(status=404)
        if operation in ("terminate", "suspend", "resume"):
            result = getattr(self.client, operation)(instance_id, reason)
            return web.Response(status=_OUTCOME_STATUS[result])
        if operation == "rewind":
            return web.Response(status=_OUTCOME_STATUS[self.client.rewind(instance_id, reason)])
        if operation == "restart":
            return self._restart(request, instance_id)
        return web.Response(status=404)

    async def _start(self, request: web.Request, name: str, instance_id: str | None
                     ) -> web.Response:
        try:
            input_text = _body_token_text(await request.text())
        except InvalidJson as error:
            return _invalid_json(error)
        try:
            instance_id = self.client.start_new(name, instance_id, input_text)
        except UnknownOrchestrator as error:
            return _error(400, "One or more of the arguments submitted is incorrect",
                          "System.ArgumentException", str(error))
        return self._check_status_response(instance_id)

    def _restart(self, request: web.Request, instance_id: str) -> web.Response:
        # restartWithNewInstanceId: bool.TryParse, anything else keeps the default (true)
        flag = (request.query.get("restartWithNewInstanceId") or "").strip().lower()
        try:
            new_id = self.client.restart(instance_id, new_instance_id=flag != "false")
        except RestartOfUnknownInstance as error:
            return _error(400, "InstanceId does not match a valid orchestration instance.",
                          "System.ArgumentException", str(error))
        return self._check_status_response(new_id)

    def _status(self, request: web.Request, instance_id: str) -> web.Response:
        payload = self.engine.status(
            instance_id, show_history=_flag(request, "showHistory"),
            show_history_output=_flag(request, "showHistoryOutput"),
            show_input=_flag(request, "showInput", default=True))
        if payload is None:
            return web.Response(status=404)
        if payload["runtimeStatus"] in _IN_PROGRESS:
            location = str(request.url)  # HandleGetStatusRequestAsync: the request URI itself
            return web.json_response(payload, status=202,
                                     headers={"Location": location, "Retry-After": "5"})
        return web.json_response(payload, status=200)

    def _query(self, request: web.Request) -> web.Response:
        statuses = [s for s in (request.query.get("runtimeStatus") or "").split(",") if s]
        top = request.query.get("top")
        rows = self.engine.query(
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
            # CreateResponse(400, string): the body is a JSON string, not an error envelope
            return web.json_response("Please provide value for 'createdTimeFrom' parameter.",
                                     status=400)
        statuses = [s for s in (request.query.get("runtimeStatus") or "").split(",") if s]
        deleted = self.client.purge_by(
            created_from=created_from, created_to=_epoch(request.query.get("createdTimeTo")),
            statuses=statuses or None)
        if not deleted:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": deleted})

    async def _raise_event(self, request: web.Request, instance_id: str, event_name: str
                           ) -> web.Response:
        # HandleRaiseEventRequestAsync checks in this order: instance (404), finished (410),
        # content type (400), JSON (400); then RaiseEventAsync.
        early = self.client.precheck(instance_id)
        if early:
            return web.Response(status=_OUTCOME_STATUS[early])
        if request.content_type.lower() != "application/json":
            return web.json_response(
                {"Message": "Only application/json request content is supported"}, status=400)
        try:
            input_text = _body_token_text(await request.text())
        except InvalidJson as error:
            return _invalid_json(error)
        result = self.client.raise_event(instance_id, event_name, input_text)
        return web.Response(status=_OUTCOME_STATUS[result])
