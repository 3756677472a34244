"""A local stand-in for Microsoft Entra ID as Event Grid uses it for webhook delivery.

With Entra authentication on a webhook subscription, Event Grid obtains a token for the
subscription's configured audience (an app registration's application ID URI or client id)
and sends it as `Authorization: Bearer <JWT>` with every delivery; the receiver checks issuer,
audience, lifetime and the RS256 signature against the tenant's published keys (JWKS).

Locally the service plays the tenant: one RSA key pair made at start (never written
anywhere), tokens minted per delivery, and the public keys served as a JWKS document at
`/<tenant>/discovery/v2.0/keys`, with the issuer `http://<service>/<tenant>/v2.0`.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

LOCAL_TENANT = "local-tenant"
# The application id Event Grid's tokens carry as `appid`/`azp` (Microsoft.EventGrid).
EVENT_GRID_APP_ID = "4962773b-9cdb-44cf-a8bf-237846a00ab7"
TOKEN_LIFETIME_SECONDS = 3600


class LocalTokenIssuer:
    def __init__(self, base_url: str, tenant: str = LOCAL_TENANT) -> None:
        self.issuer = f"{base_url.rstrip('/')}/{tenant}/v2.0"
        self.jwks_path = f"/{tenant}/discovery/v2.0/keys"
        self.jwks_url = f"{base_url.rstrip('/')}{self.jwks_path}"
        self.kid = uuid.uuid4().hex
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def token(self, audience: str) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": audience, "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME_SECONDS,
                  "appid": EVENT_GRID_APP_ID, "azp": EVENT_GRID_APP_ID, "sub": EVENT_GRID_APP_ID,
                  "tid": LOCAL_TENANT, "ver": "2.0"}
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [public | {"kid": self.kid, "use": "sig", "alg": "RS256"}]}
