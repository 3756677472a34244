"""Checking that a delivery really comes from the Azure side: the Microsoft Entra ID bearer token
that Event Grid sends with every webhook delivery when the subscription uses Entra
authentication (facts and sources: aws/README.md, "Who may post events").

In AWS, API Gateway's JWT authorizer checks issuer and audience at the edge and the webhook
Lambda checks the token again (`aws.lambda_entry`); locally the API Gateway stand-in
(`aws.local_adapter`) checks it. A token is accepted only if

- it is a JWS signed with RS256 (nothing else: no `none`, no HMAC) by a key of the tenant's
  published key set (JWKS), found by the token's `kid`;
- `iss` is one of the tenant's issuers and `aud` one of the webhook's audiences;
- it is within its lifetime (`exp` required, `nbf` when present; 60 s leeway for clock skew);
- `appid` (v1) / `azp` (v2) names an allowed client — by default Event Grid itself, so another
  application (or a person who may create subscriptions) of the same tenant cannot post;
- it carries the required app role in `roles`, when one is configured.

Anything else is `Unauthenticated` (HTTP 401, which Event Grid does not retry). Keys that cannot
be fetched, or a check that is not configured, are `AuthUnavailable` (HTTP 503, retried): a
genuine delivery must never be dead-lettered because of our side's trouble.

Turning the check off is possible only explicitly (`NoTokenCheck`, `WEBHOOK_AUTH=off`,
`--no-auth`) and is logged at WARNING whenever such a check is built.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import ModuleType
from typing import Any, Protocol

from aws.settings import EntraSettings

jwt: ModuleType | None
try:
    import jwt
except ImportError:  # a Lambda package built without PyJWT: the webhook answers 503 and says why
    jwt = None

__all__ = ["AuthUnavailable", "EntraSettings", "EntraTokenValidator", "NoTokenCheck", "Unauthenticated",
           "WebhookAuth", "webhook_auth_from"]

log = logging.getLogger("aws.payments.auth")

LEEWAY_SECONDS = 60
MAX_TOKEN_CHARS = 8000  # Entra access tokens are a few KB (app-only ones smaller); beyond this, not one


class Unauthenticated(Exception):
    """The request does not carry an acceptable token (401); the message says why."""


class AuthUnavailable(Exception):
    """The token cannot be checked right now (503, the sender retries): keys unreachable, or the
    check is not configured."""


class WebhookAuth(Protocol):
    def check(self, headers: Mapping[str, str]) -> dict[str, Any]:
        """The caller's claims, or raise Unauthenticated / AuthUnavailable. May block (JWKS fetch)."""
        ...


class EntraTokenValidator:
    def __init__(self, settings: EntraSettings, *, jwks_timeout: float = 5.0) -> None:
        if jwt is None:
            raise RuntimeError("the Entra token check needs PyJWT[crypto]")
        missing = settings.missing()
        if missing or not settings.enabled:
            raise ValueError(f"Entra token check needs {', '.join(missing) or 'enabled settings'}")
        self.settings = settings
        # The key set is cached for an hour; a token naming an unknown kid refetches it at most once
        # per 30 s (PyJWKClient's cooldown), so forged kids cannot make us hammer the tenant.
        # (No per-key cache: it never expires, and a key the tenant withdrew must stop working.)
        self._keys = jwt.PyJWKClient(settings.jwks_url, cache_keys=False, cache_jwk_set=True, lifespan=3600,
                                     timeout=jwks_timeout, cooldown_duration=30)
        if not settings.allowed_client_ids:
            log.warning("webhook auth: any client application of the tenant may post (no appid/azp check)")

    def check(self, headers: Mapping[str, str]) -> dict[str, Any]:
        assert jwt is not None
        token = bearer_token(headers)
        try:
            key = self._keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as error:
            raise AuthUnavailable(f"the tenant's signing keys cannot be fetched: {error}") from None
        except jwt.PyJWKClientError as error:
            raise Unauthenticated(f"no signing key for this token: {error}") from None
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"invalid token: {error}") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=["RS256"], audience=list(self.settings.audiences),
                issuer=list(self.settings.issuers), leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"], "verify_signature": True, "verify_exp": True,
                         "verify_nbf": True, "verify_iss": True, "verify_aud": True})
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"invalid token: {error}") from None
        self._check_caller(claims)
        return claims

    def _check_caller(self, claims: dict[str, Any]) -> None:
        client = claims.get("azp") or claims.get("appid")
        allowed = self.settings.allowed_client_ids
        if allowed and client not in allowed:
            raise Unauthenticated(f"token issued to client {str(client)[:64]!r}, which may not post events")
        role = self.settings.required_role
        roles = claims.get("roles")
        if role and not (isinstance(roles, list) and role in roles):
            raise Unauthenticated(f"token lacks the app role {role!r}")


class NoTokenCheck:
    """Every caller is let in. Only ever chosen explicitly, and said loudly when it is."""

    def __init__(self, why: str) -> None:
        self.why = why
        log.warning("webhook auth is OFF (%s): ANY caller may post payment events — never do this in AWS", why)

    def check(self, headers: Mapping[str, str]) -> dict[str, Any]:
        return {}


class _NotConfigured:
    """Enabled but incomplete settings: fail closed, retriably (503), and say what is missing."""

    def __init__(self, missing: list[str]) -> None:
        self.reason = f"webhook auth is not configured: needs {', '.join(missing)} (or WEBHOOK_AUTH=off locally)"
        log.error("%s; every delivery is refused with 503 until it is", self.reason)

    def check(self, headers: Mapping[str, str]) -> dict[str, Any]:
        raise AuthUnavailable(self.reason)


def webhook_auth_from(settings: EntraSettings) -> WebhookAuth:
    """The check the settings ask for: Entra validation, an explicit off, or (incomplete) a refusal."""
    if not settings.enabled:
        return NoTokenCheck("WEBHOOK_AUTH=off")
    missing = settings.missing()
    if jwt is None:
        missing.append("PyJWT[crypto] in the package")
    if missing:
        return _NotConfigured(missing)
    return EntraTokenValidator(settings)


def bearer_token(headers: Mapping[str, str]) -> str:
    values = [value for name, value in headers.items() if name.lower() == "authorization"]
    if len(values) != 1:
        raise Unauthenticated("exactly one Authorization: Bearer <token> header is required")
    scheme, _, token = values[0].strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("an Authorization: Bearer <token> header is required")
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise Unauthenticated("the bearer token is not a signed JWT")
    return token
