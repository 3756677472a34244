"""A test's own Entra tenant: a key pair generated for the test (`LocalTokenIssuer`), its public
key served as a JWKS document over real HTTP from a thread (usable from sync and async tests),
and the settings an adapter or the webhook Lambda needs to accept its tokens."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aws.settings import EntraSettings
from eventgrid_local.token_issuer import EVENT_GRID_APP_ID, EVENT_GRID_ROLE, LocalTokenIssuer

AUDIENCE = "api://ordersaga-payments-webhook-test"


class TestTenant:
    __test__ = False  # not a test class

    def __init__(self) -> None:
        tenant = self

        class Keys(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                tenant.jwks_requests += 1
                found = self.path == tenant.issuer.jwks_path
                body = json.dumps(tenant.issuer.jwks() if found else {"error": "not found"}).encode()
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.jwks_requests = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.issuer = LocalTokenIssuer(self.base_url)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Take the key set offline (connections are refused from now on)."""
        self._server.shutdown()
        self._server.server_close()

    def settings(self, **changes: Any) -> EntraSettings:
        settings = EntraSettings(issuers=(self.issuer.issuer,), audiences=(AUDIENCE,), jwks_url=self.issuer.jwks_url,
                                 required_role=EVENT_GRID_ROLE)
        return settings if not changes else EntraSettings(**settings.__dict__ | changes)

    def environment(self) -> dict[str, str]:
        """The same settings as the webhook Lambda reads them."""
        return {"WEBHOOK_TOKEN_ISSUER": self.issuer.issuer, "WEBHOOK_AUDIENCE": AUDIENCE,
                "WEBHOOK_JWKS_URL": self.issuer.jwks_url, "WEBHOOK_REQUIRED_ROLE": EVENT_GRID_ROLE}

    def token(self) -> str:
        """What Event Grid sends: minted by the tenant for the webhook's audience."""
        return self.issuer.token(AUDIENCE)

    def claims(self, **changes: Any) -> dict[str, Any]:
        """Valid claims, changed as a test wants (None removes a claim)."""
        now = int(time.time())
        claims = {"iss": self.issuer.issuer, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 300,
                  "azp": EVENT_GRID_APP_ID, "roles": [EVENT_GRID_ROLE], "ver": "2.0", "tid": self.issuer.tenant}
        return {k: v for k, v in (claims | changes).items() if v is not None}
