"""Cosmos answering 503/429 — the one failure the local protocol server cannot produce (it
never throttles, and stopping it loses its data; a TCP proxy would be bypassed because the
account advertises the server's own address). A transport in front of the real server
presents chosen requests as refusals: each refusal is a genuine response of the server to a
harmless probe, with its status replaced, so nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from azure.core.pipeline.transport import AioHttpTransport


def document_writes(request: Any) -> bool:
    return bool(request.method == "PUT" and "/docs/" in request.url)


def document_requests(request: Any) -> bool:
    return "/docs" in request.url


class RefusingTransport(AioHttpTransport):
    """Refuses the next `refusals` requests that `matches` with `status` (and retry-after)."""

    def __init__(self, status: int, refusals: int, retry_after_ms: int = 20,
                 matches: Callable[[Any], bool] = document_writes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.status, self.remaining, self.retry_after_ms, self.matches = status, refusals, retry_after_ms, matches
        self.refused = 0

    async def send(self, request: Any, **kwargs: Any) -> Any:
        if self.remaining > 0 and self.matches(request):
            self.remaining -= 1
            self.refused += 1
            probe = type(request)("GET", request.url.split("/dbs/")[0] + "/", headers=dict(request.headers))
            response = await super().send(probe, **kwargs)
            response.status_code = self.status
            response.headers["x-ms-retry-after-ms"] = str(self.retry_after_ms)
            response.headers["x-ms-substatus"] = "0"
            return response
        return await super().send(request, **kwargs)
