"""Tenants from verified token claims.

On AWS, API Gateway's JWT authorizer verifies the bearer token and hands its claims to the function
in `requestContext.authorizer.jwt.claims`; the local stack's gateway verifies HS256 dev tokens and
fills in the same place (tximport_cli.local.tokens, never part of this package). Either way the tenant
comes only from verified claims.
"""

from __future__ import annotations

from typing import Any

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
