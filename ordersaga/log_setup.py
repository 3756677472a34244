"""Logging the app sets up for itself, wherever it runs (Azure, Core Tools, devhost).

The Azure SDK logs every HTTP request and response, headers included, at INFO through its
HTTP logging policies; at the host's default level that buries the saga's own lines. They
are lowered to WARNING here (raise them again with the logger names below when debugging).
"""

from __future__ import annotations

import logging

SDK_HTTP_LOGGERS = (
    "azure.core.pipeline.policies.http_logging_policy",
    "azure.cosmos._cosmos_http_logging_policy",
    "azure.identity",
)


def quiet_sdk_http_logging(level: int = logging.WARNING) -> None:
    for name in SDK_HTTP_LOGGERS:
        logging.getLogger(name).setLevel(level)
