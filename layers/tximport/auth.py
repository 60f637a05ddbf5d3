"""Tenants from verified token claims.

On AWS the api function verifies the bearer token itself (`JwksVerifier`, as API Gateway's JWT
authorizer would, so that a refusal answers in the service's envelope) and puts the claims where the
authorizer would, `requestContext.authorizer.jwt.claims`; the local stack's gateway verifies its dev
tokens and fills in the same place (tximport_cli.local.tokens: this package verifies, it never issues).
Either way the tenant comes only from verified claims.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import jwt
from pydantic import ValidationError

from tximport.errors import Unauthorized
from tximport.models import Tenant

ORGANISATION_CLAIM = "organisationId"
COMPANY_CLAIM = "companyId"


def tenant_from_claims(claims: dict[str, Any] | None) -> Tenant:
    """The tenant named by verified claims; Unauthorized when they do not name one."""
    claims = claims or {}
    org, company = claims.get(ORGANISATION_CLAIM), claims.get(COMPANY_CLAIM)
    if not org or not company:
        raise Unauthorized("token names no organisationId/companyId", code="InvalidToken")
    try:
        return Tenant(organisation_id=str(org), company_id=str(company))
    except ValidationError:
        # they prefix every stored key: only letters, digits, `.`, `_`, `-` (tximport.ids.SAFE_ID_PATTERN)
        raise Unauthorized("organisationId/companyId hold characters that are not allowed in an id",
                           code="InvalidToken") from None


# --- bearer tokens verified by the api function ---------------------------------------------------
# API Gateway's HTTP API cannot shape the answers of its JWT authorizer (a 401 is `{"message":
# "Unauthorized"}`, gateway responses are a REST API feature), so the api function verifies the token
# itself, exactly as the authorizer would, and answers a refusal in the service's envelope.

#: signature algorithms an identity provider's keys use (never `none`, never a shared secret)
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "ES512", "EdDSA")


class TokenVerifier(Protocol):
    def verify(self, token: str) -> dict[str, Any]:
        """The verified claims of `token`, or Unauthorized (code InvalidToken)."""
        ...


class JwksVerifier:
    """Verifies a JWT as API Gateway's JWT authorizer does: signed by a key of the issuer's JWKS, not
    expired, `iss` the issuer, and `aud` (or `client_id`, as in access tokens) one of the audiences."""

    def __init__(self, *, issuer: str, audiences: list[str], jwks_url: str | None = None,
                 jwks: jwt.PyJWKClient | None = None) -> None:
        self.issuer = issuer
        self.audiences = set(audiences)
        self.jwks_url = jwks_url or issuer.rstrip("/") + "/.well-known/jwks.json"
        self._jwks = jwks

    def verify(self, token: str) -> dict[str, Any]:
        try:
            if self._jwks is None:  # built on first use: a cold start never waits for the issuer
                self._jwks = jwt.PyJWKClient(self.jwks_url, cache_keys=True, lifespan=3600, timeout=5)
            key = self._jwks.get_signing_key_from_jwt(token).key
            claims: dict[str, Any] = jwt.decode(token, key, algorithms=list(ALGORITHMS), issuer=self.issuer,
                                                options={"require": ["exp", "iss"], "verify_aud": False})
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}", code="InvalidToken") from exc
        audience = claims.get("aud")
        given = set(audience if isinstance(audience, list) else [audience]) | {claims.get("client_id")}
        if not given & self.audiences:
            raise Unauthorized("invalid token: it is not meant for this API (aud)", code="InvalidToken")
        return claims


def token_scopes(claims: Mapping[str, Any] | None, granted: Iterable[Any] | None = None) -> set[str]:
    """The OAuth scopes of verified claims: the `scope` claim (space-separated) or `scp` claim (a list;
    API Gateway hands lists over as `[a b]`), and the authorizer's `scopes` when given."""
    found: set[str] = set()
    for name in ("scope", "scp"):
        value = (claims or {}).get(name)
        if isinstance(value, list | tuple):
            found.update(str(v) for v in value)
        elif isinstance(value, str):
            found.update(value.strip("[]").split())
    found.update(str(s) for s in (granted or []))
    return found


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header, or Unauthorized."""
    if not authorization:
        raise Unauthorized("missing Authorization header", code="MissingToken")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization must be 'Bearer <token>'", code="InvalidToken")
    return token.strip()


def gateway_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as API Gateway's JWT authorizer hands them to a function: every value a string (lists as
    `[a b]`), so verified claims read the same whoever verified them. A tenant claim that is not a JSON string
    (null, a number, a boolean) is refused (InvalidToken): written as text, every such token would share one
    tenant (`None`, `123`) with the others and with a tenant of that name."""
    for name in (ORGANISATION_CLAIM, COMPANY_CLAIM):
        if name in claims and not isinstance(claims[name], str):
            raise Unauthorized(f"{name} must be a string", code="InvalidToken")
    out: dict[str, str] = {}
    for key, value in claims.items():
        if isinstance(value, list | tuple):
            out[key] = "[" + " ".join(str(v) for v in value) + "]"
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out
