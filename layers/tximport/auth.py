"""Tokens and tenants.

On AWS, API Gateway's JWT authorizer verifies the bearer token and hands its claims to the function
in `requestContext.authorizer.jwt.claims`; the local stack's gateway verifies HS256 tokens with the
dev secret and fills in the same place. Either way the tenant comes only from verified claims.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from tximport.errors import Unauthorized
from tximport.models import Tenant

ORGANISATION_CLAIM = "organisationId"
COMPANY_CLAIM = "companyId"


def issue_token(organisation_id: str, company_id: str, *, secret: str, issuer: str, audience: str,
                ttl_seconds: int = 12 * 3600, roles: list[str] | None = None) -> str:
    """Sign an HS256 token for a tenant (local stack and tests only); `roles` become the `roles` claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": f"{organisation_id}:{company_id}",
        ORGANISATION_CLAIM: organisation_id,
        COMPANY_CLAIM: company_id,
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": str(uuid.uuid4()),
    }
    if roles:
        claims["roles"] = list(roles)
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(token: str, *, secret: str, issuer: str, audience: str) -> dict[str, Any]:
    """Verify signature, expiry, issuer and audience; answer the claims or raise Unauthorized."""
    try:
        return jwt.decode(token, secret, algorithms=["HS256"], issuer=issuer, audience=audience,
                          options={"require": ["exp", "iss", "aud"]})
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}", code="InvalidToken") from exc


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header, or Unauthorized."""
    if not authorization:
        raise Unauthorized("missing Authorization header", code="MissingToken")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization must be 'Bearer <token>'", code="InvalidToken")
    return token.strip()


def tenant_from_claims(claims: dict[str, Any] | None) -> Tenant:
    """The tenant named by verified claims; Unauthorized when they do not name one."""
    claims = claims or {}
    org, company = claims.get(ORGANISATION_CLAIM), claims.get(COMPANY_CLAIM)
    if not org or not company:
        raise Unauthorized("token names no organisationId/companyId", code="InvalidToken")
    return Tenant(organisation_id=str(org), company_id=str(company))
