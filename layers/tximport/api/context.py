"""What a route needs from the request: the tenant (from verified claims only) and the services."""

from __future__ import annotations

import re
from typing import Any

from tximport.auth import tenant_from_claims
from tximport.errors import Unauthorized
from tximport.models import Tenant

_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def tenant_of(router: Any) -> Tenant:
    """The caller's tenant, from the claims the authorizer verified (API Gateway's JWT authorizer on
    AWS, the local gateway locally). Ids must be key-safe: they prefix every stored key."""
    event = router.current_event
    claims = event.request_context.authorizer.jwt_claim if event.request_context.authorizer else {}
    tenant = tenant_from_claims(claims)
    if not (_SAFE.match(tenant.organisation_id) and _SAFE.match(tenant.company_id)):
        raise Unauthorized("organisationId/companyId hold characters that are not allowed", code="InvalidToken")
    return tenant
