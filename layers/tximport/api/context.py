"""What a route needs from the request: the tenant (from verified claims only) and the services."""

from __future__ import annotations

from typing import Any

from tximport.auth import tenant_from_claims, token_scopes
from tximport.errors import Forbidden
from tximport.models import Tenant


def claims_of(router: Any) -> dict[str, Any]:
    """The claims the authorizer verified (API Gateway's JWT authorizer on AWS, the local gateway locally)."""
    event = router.current_event
    claims = event.request_context.authorizer.jwt_claim if event.request_context.authorizer else None
    return dict(claims or {})


def tenant_of(router: Any) -> Tenant:
    """The caller's tenant, from the verified claims. Ids must be key-safe (they prefix every stored key):
    a token whose ids are not is InvalidToken (401)."""
    return tenant_from_claims(claims_of(router))


def scopes_of(router: Any) -> set[str]:
    """The OAuth scopes of the caller's verified token: its `scope` claim (space-separated) or `scp` claim
    (a list; API Gateway hands lists over as `[a b]`), or the authorizer's `scopes`."""
    authorizer = router.current_event.request_context.authorizer
    return token_scopes(authorizer.jwt_claim, authorizer.jwt_scopes) if authorizer else set()


def require_scope(router: Any, scope: str) -> None:
    """403 InsufficientScope unless the caller's token carries `scope`."""
    if scope not in scopes_of(router):
        raise Forbidden(f"this route needs a token with the scope {scope}", code="InsufficientScope",
                        target="Authorization")
