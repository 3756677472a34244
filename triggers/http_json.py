"""JSON request/response helpers shared by the HTTP functions: one error shape everywhere."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

import azure.functions as func
from pydantic import BaseModel, ValidationError

from ordersaga.api_models import MAX_BODY_BYTES, error_body, validation_details
from ordersaga.config import InvalidSettingError, MissingSettingError
from ordersaga.outcomes import TransientError

log = logging.getLogger("ordersaga.http")

Model = TypeVar("Model", bound=BaseModel)


class HttpError(Exception):
    """Raised inside a handler to answer with a structured JSON error."""

    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        self.headers = headers or {}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json",
                             headers=headers or {})


def parse_body(req: func.HttpRequest, model: type[Model]) -> Model:
    content_type = (req.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json",
                        [{"field": "Content-Type", "message": f"got {content_type or 'nothing'}"}])
    raw = req.get_body() or b""
    if len(raw) > MAX_BODY_BYTES:
        raise HttpError(413, "BODY_TOO_LARGE", f"the body may be at most {MAX_BODY_BYTES} bytes",
                        [{"field": "body", "message": f"{len(raw)} bytes"}])
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise HttpError(400, "INVALID_JSON", "the body is not valid JSON",
                        [{"field": "body", "message": str(error)}]) from None
    except RecursionError:  # nesting deeper than the parser's stack, well under the size limit
        raise HttpError(400, "INVALID_JSON", "the body is nested too deeply",
                        [{"field": "body", "message": "arrays and objects nested too deeply"}]) from None
    if not isinstance(data, dict):
        raise HttpError(400, "VALIDATION_FAILED", "the body must be a JSON object",
                        [{"field": "body", "message": f"got {type(data).__name__}"}])
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise HttpError(400, "VALIDATION_FAILED", "the request has invalid fields",
                        validation_details(error)) from None


Handler = Callable[..., Awaitable[func.HttpResponse]]


def json_errors(handler: Handler) -> Handler:
    """Turn expected failures into JSON errors; nothing escapes as a bare 500 page."""

    @wraps(handler)
    async def wrapper(*args: Any, **kwargs: Any) -> func.HttpResponse:
        try:
            return await handler(*args, **kwargs)
        except HttpError as error:
            return json_response(error_body(error.code, error.message, error.details), error.status, error.headers)
        except (MissingSettingError, InvalidSettingError) as error:
            log.error("configuration error: %s", error)
            return json_response(error_body("CONFIGURATION_ERROR", str(error),
                                            [{"field": error.setting, "message": "fix this application setting"}]), 500)
        except TransientError as error:
            log.warning("transient failure: %s", error)
            return json_response(error_body("TEMPORARILY_UNAVAILABLE", "try again shortly"), 503,
                                 {"Retry-After": "1"})

    return wrapper
