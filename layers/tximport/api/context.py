"""What a route needs from the request: the tenant (from verified claims only) and the services."""

from __future__ import annotations

import re
from typing import Any

from tximport.auth import tenant_from_claims
from tximport.errors import Unauthorized
from tximport.models import Tenant

_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def claims_of(router: Any) -> dict[str, Any]:
    """The claims the authorizer verified (API Gateway's JWT authorizer on AWS, the local gateway locally)."""
    event = router.current_event
    claims = event.request_context.authorizer.jwt_claim if event.request_context.authorizer else None
    return dict(claims or {})


def tenant_of(router: Any) -> Tenant:
    """The caller's tenant, from the verified claims. Ids must be key-safe: they prefix every stored key."""
    tenant = tenant_from_claims(claims_of(router))
    if not (_SAFE.match(tenant.organisation_id) and _SAFE.match(tenant.company_id)):
        raise Unauthorized("organisationId/companyId hold characters that are not allowed", code="InvalidToken")
    return tenant
