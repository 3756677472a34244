"""The URLs devhost answers on, and the durableClient binding value built from them.

One ``Endpoints`` object is shared by the HTTP handlers that need URLs (the management API's
check-status payload, the client binding handed to functions). The port is only known once
the server listens, so it is filled in then; every URL is computed on use.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from .auth import Keys


@dataclass
class Endpoints:
    bind_host: str
    hub_name: str
    keys: Keys
    port: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.bind_host}:{self.port}"

    @property
    def rpc_base_url(self) -> str:
        return f"{self.base_url}/durabletask/"  # trailing slash: the SDK appends paths

    @property
    def webhook_base_url(self) -> str:
        return f"{self.base_url}/runtime/webhooks/durabletask"

    @property
    def webhook_query(self) -> str:
        query = f"taskHub={self.hub_name}&connection=Storage"
        if not self.keys.anonymous:
            query += f"&code={self.keys.system_key}"
        return query

    def management_urls(self, instance_id: str) -> dict[str, str]:
        """The check-status payload the extension answers a start with (no rewind URL)."""
        base = f"{self.webhook_base_url}/instances/{instance_id}"
        query = self.webhook_query
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

    def client_binding(self, task_hub: str | None = None,
                       connection_name: str | None = None) -> str:
        """The durableClient binding value (a JSON string), legacy/OOProc shape."""
        base = self.webhook_base_url
        query = self.webhook_query
        instance = f"{base}/instances/INSTANCEID"
        return json.dumps({
            "taskHubName": task_hub or self.hub_name,
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
            "rpcBaseUrl": self.rpc_base_url,
            "httpBaseUrl": None,
        })
