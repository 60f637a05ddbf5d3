"""What a route of the dialect needs from the request: the caller's scope (tenant from verified
claims, the X-Workspace-ID header checked against the tenant's workspaces, user and roles from claims)
and the use cases."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Header

from tximport.api.context import tenant_of
from tximport.errors import DomainError
from tximport.ids import canonical_id
from tximport.runtime import container
from tximport.services.sessions.workspaces import Owned, OwnedKind
from tximport.sessions.models import Scope

#: the `user_id` of sessions created with a token that has no `sub` claim
ANONYMOUS_USER = "anonymous"

WorkspaceHeader = Annotated[str | None, Header(
    alias="X-Workspace-ID", description="The workspace (one of the caller tenant's: `GET /workspaces`); 403 "
    "WorkspaceForbidden when it is not the tenant's. Optional: without it, the tenant's only workspace; with several, "
    "the one owning the import session or staged transaction the path names (404 when none does), else 400 "
    "WorkspaceRequired.",
    examples=["0190f7a2-5b1e-7c3d-9a4b-1234567890ab"])]

#: the paths that name a session or a staged line by id: their owner's workspace stands for a missing header
_OWNED: tuple[tuple[OwnedKind, re.Pattern[str]], ...] = (("session", re.compile(r"^/import-sessions/([^/]+)(?:/.*)?$")),
          ("staged", re.compile(r"^/staged-transactions/([^/]+)$")))


def _claims(router: Any) -> dict[str, Any]:
    event = router.current_event
    return event.request_context.authorizer.jwt_claim if event.request_context.authorizer else {}


def roles_of(claims: dict[str, Any]) -> frozenset[str]:
    """The `roles` claim: a list, or as API Gateway's JWT authorizer hands lists over, `[a b]`; or a
    comma-separated text, or a JSON array text."""
    value = claims.get("roles")
    if isinstance(value, list | tuple):
        return frozenset(str(v) for v in value)
    if not isinstance(value, str) or not value.strip():
        return frozenset()
    text = value.strip()
    if text.startswith("[") and '"' in text:
        try:
            return frozenset(str(v) for v in json.loads(text))
        except ValueError:
            pass
    return frozenset(part for part in text.strip("[]").replace(",", " ").split() if part)


def owned_by_path(path: str) -> Owned | None:
    """The session or staged line a path names by id (`/import-sessions/{id}...`, `/staged-transactions/{id}`)."""
    for kind, pattern in _OWNED:
        found = pattern.match(path)
        if found:
            return Owned(kind, canonical_id(found.group(1)) or "")  # the id as the route gets it
    return None


def scope_of(router: Any, workspace_id: str | None) -> Scope:
    """The caller's scope; 401 without a tenant, 403 for another's workspace; without the header, the tenant's
    only workspace or the one owning what the path names (404 when none does), else 400 WorkspaceRequired."""
    tenant = tenant_of(router)
    claims = _claims(router)
    user = str(claims.get("sub") or ANONYMOUS_USER)
    owned = owned_by_path(str(router.current_event.path or ""))
    return container().sessions.workspaces.scope(tenant, workspace_id, user, roles_of(claims), owned)


#: the dialect's routes that take no workspace (a workspace is made and listed with them)
_WITHOUT_WORKSPACE = "/workspaces"


def access_refusal(router: Any) -> DomainError | None:
    """What a route of the dialect that takes X-Workspace-ID owes a caller before it tells what is wrong with
    the body: 401 without a tenant, 403 WorkspaceForbidden for a workspace that is not the tenant's (so a caller
    without access learns nothing of the route's schema), and without the header what `scope_of` answers."""
    path = str(router.current_event.path or "")
    if path == _WITHOUT_WORKSPACE or path.startswith(_WITHOUT_WORKSPACE + "/"):
        return None
    headers = {str(k).lower(): v for k, v in (router.current_event.headers or {}).items()}
    try:
        scope_of(router, headers.get("x-workspace-id"))
    except DomainError as exc:
        return exc
    return None
