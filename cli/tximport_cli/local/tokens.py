"""Bearer tokens for the local stack: the dev-only issuer (`tximport dev-token`) and the verification
the local gateway does in place of API Gateway's JWT authorizer.

Neither ships in the Lambda layer: on AWS the authorizer verifies tokens before the api function runs,
and tokens come from the deployment's identity provider. HS256 with a dev secret guards a stack on
127.0.0.1 only.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from typing import Any

import jwt

from tximport.auth import COMPANY_CLAIM, ORGANISATION_CLAIM
from tximport.errors import Unauthorized

#: HS256 secret the local stack verifies tokens with and `tximport dev-token` signs with. Not a
#: secret: it only guards a stack on 127.0.0.1. Override with TXIMPORT_DEV_SECRET (both sides read it).
DEV_SECRET = "tximport-local-dev-secret-do-not-use-in-production"
DEV_SECRET_ENV = "TXIMPORT_DEV_SECRET"
#: issuer and audience of local tokens
DEV_ISSUER = "tximport-local"
DEV_AUDIENCE = "tximport"

#: claims the API dialects read beside the tenant: fine-grained permissions (e.g.
#: BAAS_RECONCILIATION_CREATE) and coarse roles (e.g. admin), each a list of strings
PERMISSIONS_CLAIM = "permissions"
ROLES_CLAIM = "roles"
#: OAuth scopes, space-separated (e.g. api:transactions:create for the public transactions endpoint)
SCOPE_CLAIM = "scope"


def dev_secret() -> str:
    """The secret local tokens are signed with: TXIMPORT_DEV_SECRET, else DEV_SECRET."""
    return os.environ.get(DEV_SECRET_ENV) or DEV_SECRET


def issue_token(organisation_id: str, company_id: str, *, secret: str, issuer: str, audience: str,
                ttl_seconds: int = 12 * 3600, permissions: Sequence[str] = (),
                roles: Sequence[str] = (), scopes: Sequence[str] = ()) -> str:
    """Sign an HS256 token for a tenant, with `permissions`, `roles` and `scope` claims when given."""
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
    if permissions:
        claims[PERMISSIONS_CLAIM] = list(dict.fromkeys(permissions))
    if roles:
        claims[ROLES_CLAIM] = list(dict.fromkeys(roles))
    if scopes:
        claims[SCOPE_CLAIM] = " ".join(dict.fromkeys(scopes))
    return jwt.encode(claims, secret, algorithm="HS256")


def dev_token(organisation_id: str, company_id: str, ttl_seconds: int = 12 * 3600, *,
              permissions: Sequence[str] = (), roles: Sequence[str] = (), scopes: Sequence[str] = ()) -> str:
    """A token the local stack accepts for a tenant."""
    return issue_token(organisation_id, company_id, secret=dev_secret(), issuer=DEV_ISSUER,
                       audience=DEV_AUDIENCE, ttl_seconds=ttl_seconds, permissions=permissions, roles=roles,
                       scopes=scopes)


def verify_token(token: str, *, secret: str, issuer: str, audience: str) -> dict[str, Any]:
    """Verify signature, expiry, issuer and audience, as the JWT authorizer does; answer the claims or
    raise Unauthorized."""
    try:
        return jwt.decode(token, secret, algorithms=["HS256"], issuer=issuer, audience=audience,
                          options={"require": ["exp", "iss", "aud"]})
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}", code="InvalidToken") from exc
