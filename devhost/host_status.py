"""``GET /admin/host/status``: the host's own status, which tools poll to know it is ready.

Fields as the Functions host writes them (azure-functions-host 4.1037.0,
``HostController.GetHostStatus`` and ``Models/HostStatus.cs``; Newtonsoft drops null
members, so empty strings stay): ``id``, ``state`` (a ``ScriptHostState`` name; ``Running``
once the host is up), ``version``, ``versionDetails``, ``platformVersion``, ``instanceId``,
``computerName``, ``processUptime`` (milliseconds), ``functionAppContentEditingState``.
``errors`` only appears when the host has an error, ``extensionBundle`` only with a bundle
(devhost has none: it runs the extensions' behaviour itself).
"""
from __future__ import annotations

import os
import re
import socket
import time
import zlib
from dataclasses import dataclass, field

from . import __version__

# The host version whose sources devhost follows (see README.md).
HOST_VERSION = "4.1037.0.0"
_PROCESS_STARTED = time.time()  # devhost is imported as the process starts (CLI)


def host_id(app_dir: str) -> str:
    """Like ScriptHostIdProvider locally: machine name (letters and digits) + '-' + a stable
    hash of the app folder, lower-cased, at most 32 characters, no trailing '-'."""
    machine = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())
    text = f"{machine}-{zlib.crc32(os.path.abspath(app_dir).encode())}".lower()
    return text[:32].rstrip("-")


@dataclass
class HostStatus:
    app_dir: str
    state: str = "Default"  # ScriptHostState: Default, Starting, Initialized, Running, ...
    errors: list[str] = field(default_factory=list)

    def payload(self) -> dict:
        body: dict = {
            "id": host_id(self.app_dir),
            "state": self.state,
            "version": HOST_VERSION,
            "versionDetails": f"{HOST_VERSION.rsplit('.', 1)[0]} (devhost {__version__})",
            "platformVersion": os.environ.get("WEBSITE_PLATFORM_VERSION", ""),
            "instanceId": os.environ.get("WEBSITE_INSTANCE_ID", ""),
            "computerName": os.environ.get("COMPUTERNAME", ""),
        }
        if self.errors:
            body["errors"] = list(self.errors)
        uptime = int((time.time() - _PROCESS_STARTED) * 1000)
        if uptime:
            body["processUptime"] = uptime
        body["functionAppContentEditingState"] = "Unknown"
        return body
