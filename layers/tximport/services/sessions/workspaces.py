"""Workspaces: a tenant's spaces for import sessions (our extension of the document, which takes the
workspace from the X-Workspace-ID header). A workspace id is usable only by its own tenant."""

from __future__ import annotations

from tximport.errors import Forbidden, ValidationFailed
from tximport.ids import new_id
from tximport.models import Tenant
from tximport.sessions.models import Scope, Workspace
from tximport.storage.sessions import SessionsRepository


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

    def scope(self, tenant: Tenant, workspace_id: str | None, user_id: str, roles: frozenset[str]) -> Scope:
        """The caller's scope: 400 without the header, 403 when the workspace is not the tenant's."""
        if not workspace_id or not workspace_id.strip():
            raise ValidationFailed("the X-Workspace-ID header is required", code="WorkspaceRequired",
                                   target="X-Workspace-ID")
        if self.repo.get_workspace(tenant, workspace_id.strip()) is None:
            raise Forbidden("the workspace is not one of your tenant's", code="WorkspaceForbidden",
                            target="X-Workspace-ID")
        return Scope(tenant=tenant, workspace_id=workspace_id.strip(), user_id=user_id, roles=roles)
