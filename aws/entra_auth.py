"""Checking that a delivery really comes from the Azure side: the Entra ID bearer token that
Event Grid sends with each webhook delivery when the subscription uses Entra authentication.

In AWS the API Gateway's JWT authorizer does this (infra/aws/apigateway.tf: issuer and
audience); the local API Gateway stand-in (`aws.local_adapter`) does it with this module.
A token is accepted only if it is RS256-signed by a key in the tenant's JWKS (looked up by
`kid`), names the expected issuer and audience, and is within its lifetime (`exp`, `nbf`,
60 s leeway for clock skew). Anything else — no header, not a bearer token, `alg: none`,
an unknown key, a bad signature — is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

LEEWAY_SECONDS = 60


class Unauthenticated(Exception):
    """The request does not carry an acceptable token; the message says why."""


@dataclass(frozen=True)
class EntraSettings:
    issuer: str  # e.g. https://login.microsoftonline.com/<tenant>/v2.0 (v1: https://sts.windows.net/<tenant>/)
    audience: str  # the webhook app registration's application ID URI or client id
    jwks_url: str  # e.g. https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys


class EntraTokenValidator:
    def __init__(self, settings: EntraSettings) -> None:
        self.settings = settings
        # Caches the key set and refetches when a token names a kid it has not seen.
        self._keys = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=3600, timeout=10)

    def check(self, headers: dict[str, str]) -> dict[str, Any]:
        """The token's claims, or Unauthenticated. Blocking (it may fetch the JWKS)."""
        authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("an Authorization: Bearer <token> header is required")
        try:
            key = self._keys.get_signing_key_from_jwt(token.strip())
            claims: dict[str, Any] = jwt.decode(
                token.strip(), key.key, algorithms=["RS256"], audience=self.settings.audience,
                issuer=self.settings.issuer, leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud"]})
        except jwt.PyJWKClientError as error:
            raise Unauthenticated(f"signing key not found: {error}") from None
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"invalid token: {error}") from None
        return claims
