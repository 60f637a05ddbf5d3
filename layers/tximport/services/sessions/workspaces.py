"""Workspaces: a tenant's spaces for import sessions (our extension of the document, which takes the
workspace from the X-Workspace-ID header). A workspace id is usable only by its own tenant.

Document 000 lists the header on `POST /import-sessions` only, so a caller may leave it out: the tenant's only
workspace is then meant, and with several, the one that owns the session or staged line a route names by id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tximport.errors import Forbidden, NotFound, ValidationFailed
from tximport.ids import new_id
from tximport.models import Tenant
from tximport.sessions.ids import parse_staged_id
from tximport.sessions.models import Scope, Workspace
from tximport.storage.sessions import SessionsRepository

OwnedKind = Literal["session", "staged"]


@dataclass(frozen=True, slots=True)
class Owned:
    """What a route names by id, whose workspace stands for a missing header."""

    kind: OwnedKind
    id: str


class WorkspaceService:
    def __init__(self, repo: SessionsRepository) -> None:
        self.repo = repo

    def create(self, tenant: Tenant, name: str) -> Workspace:
        workspace = Workspace(id=new_id(), name=name, organisation_id=tenant.organisation_id,
                              company_id=tenant.company_id)
        self.repo.create_workspace(tenant, workspace)
        return workspace

    def list_all(self, tenant: Tenant) -> list[Workspace]:
        return sorted(self.repo.list_workspaces(tenant), key=lambda w: w.created_at)

    def scope(self, tenant: Tenant, workspace_id: str | None, user_id: str, roles: frozenset[str],
              owned: Owned | None = None) -> Scope:
        """The caller's scope: the header's workspace (403 when it is not the tenant's); without the header, the
        tenant's only workspace, else the one owning `owned` (404 when none does), else 400 WorkspaceRequired."""
        if workspace_id and workspace_id.strip():
            named = workspace_id.strip().lower()  # a UUID, as we write them (lower case): its case is no part of it
            if self.repo.get_workspace(tenant, named) is None:
                raise Forbidden("the workspace is not one of your tenant's", code="WorkspaceForbidden",
                                target="X-Workspace-ID")
            return Scope(tenant=tenant, workspace_id=named, user_id=user_id, roles=roles)
        return Scope(tenant=tenant, workspace_id=self._default(tenant, owned), user_id=user_id, roles=roles)

    def _default(self, tenant: Tenant, owned: Owned | None) -> str:
        """The workspace a request without the header is in."""
        workspaces = self.repo.list_workspaces(tenant)
        if len(workspaces) == 1:
            return workspaces[0].id
        if not workspaces:
            raise ValidationFailed("the X-Workspace-ID header is required, and your tenant has no workspace yet: "
                                   "create one with POST /workspaces", code="WorkspaceRequired",
                                   target="X-Workspace-ID")
        if owned is None:
            raise ValidationFailed(f"the X-Workspace-ID header is required: your tenant has {len(workspaces)} "
                                   "workspaces (GET /workspaces)", code="WorkspaceRequired", target="X-Workspace-ID")
        found = next((w.id for w in workspaces if self._owns(tenant, w.id, owned)), None)
        if found is None:
            if owned.kind == "session":
                raise NotFound(f"import session {owned.id} not found", code="SessionNotFound", target="id")
            raise NotFound(f"staged transaction {owned.id} not found", code="StagedTransactionNotFound", target="id")
        return found

    def _owns(self, tenant: Tenant, workspace_id: str, owned: Owned) -> bool:
        if owned.kind == "session":
            try:
                self.repo.get_session(tenant, workspace_id, owned.id)
            except NotFound:
                return False
            return True
        parsed = parse_staged_id(owned.id)
        session = self.repo.session_by_number(tenant, workspace_id, parsed[0]) if parsed else None
        line = self.repo.get_line(tenant, session, parsed[1]) if session and parsed else None
        return line is not None and line.id == owned.id
