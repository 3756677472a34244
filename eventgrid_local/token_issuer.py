"""A local stand-in for the Microsoft Entra tenant that Event Grid gets webhook tokens from.

With Entra authentication on a webhook subscription (tenant id + the webhook app registration's
application ID or URI), Event Grid obtains an access token for that audience as its own
application (Microsoft.EventGrid, which holds the webhook app's role) and sends it as
`Authorization: Bearer <JWT>` with every delivery. The receiver checks the RS256 signature
against the tenant's published keys (JWKS), the issuer, the audience and the lifetime.

Locally the service plays the tenant: one RSA key pair generated at start (kept in memory only,
never written anywhere), a short-lived token minted per delivery attempt for the subscription's
audience, and the public key served as a JWKS document at `/<tenant>/discovery/v2.0/keys` (the
path Entra uses), with the issuer `http://<service>/<tenant>/v2.0` and an OpenID configuration
document at `/<tenant>/v2.0/.well-known/openid-configuration`. Tokens look like v2.0 app-only
Entra tokens: `azp` is Event Grid's application id and `roles` the app roles it was assigned.
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
# Microsoft.EventGrid's application id (Azure public cloud): the client the real tokens are issued to.
EVENT_GRID_APP_ID = "4962773b-9cdb-44cf-a8bf-237846a00ab7"
# The app role Microsoft's setup procedure creates on the webhook's app registration for Event Grid.
EVENT_GRID_ROLE = "AzureEventGridSecureWebhookSubscriber"
DEFAULT_LIFETIME_SECONDS = 300


def local_issuer(base_url: str, tenant: str = LOCAL_TENANT) -> str:
    return f"{base_url.rstrip('/')}/{tenant}/v2.0"


def local_jwks_url(base_url: str, tenant: str = LOCAL_TENANT) -> str:
    return f"{base_url.rstrip('/')}/{tenant}/discovery/v2.0/keys"


class LocalTokenIssuer:
    def __init__(self, base_url: str, tenant: str = LOCAL_TENANT) -> None:
        self.tenant = tenant
        self.issuer = local_issuer(base_url, tenant)
        self.jwks_url = local_jwks_url(base_url, tenant)
        self.jwks_path = f"/{tenant}/discovery/v2.0/keys"
        self.openid_configuration_path = f"/{tenant}/v2.0/.well-known/openid-configuration"
        self.kid = uuid.uuid4().hex
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._event_grid_object_id = str(uuid.uuid4())  # Event Grid's service principal in this tenant
        self.minted = 0

    def token(self, audience: str, *, roles: tuple[str, ...] = (EVENT_GRID_ROLE,),
              lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": audience, "iat": now, "nbf": now, "exp": now + lifetime_seconds,
            "azp": EVENT_GRID_APP_ID, "azpacr": "2", "oid": self._event_grid_object_id,
            "sub": self._event_grid_object_id, "tid": self.tenant, "ver": "2.0", "uti": uuid.uuid4().hex,
        }
        if roles:
            claims["roles"] = list(roles)
        self.minted += 1
        return self.sign(claims)

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        """Any claims signed with the tenant's key (tests build wrong-issuer, expired… tokens with it)."""
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": kid or self.kid, "typ": "JWT"})

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [public | {"kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def openid_configuration(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "jwks_uri": self.jwks_url, "id_token_signing_alg_values_supported": ["RS256"]}
