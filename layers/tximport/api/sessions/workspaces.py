"""`/workspaces` (our extension): the workspaces of the caller's tenant, whose ids go in X-Workspace-ID."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from tximport.api.context import tenant_of
from tximport.api.sessions.docs import answers
from tximport.api.sessions.http import respond
from tximport.api.sessions.models import CreateWorkspaceRequest, WorkspaceList, WorkspaceOut
from tximport.api.sessions.views import workspace_view
from tximport.runtime import container

router = Router()
TAGS = ["Workspaces"]


@router.post("/workspaces", summary="Create a workspace", tags=TAGS,
             description="A workspace of the caller's tenant; its id is the X-Workspace-ID of the session routes.",
             responses=answers(WorkspaceOut, 201))
def create_workspace(body: CreateWorkspaceRequest) -> Response[str]:
    workspace = container().sessions.workspaces.create(tenant_of(router), body.name)
    return respond(workspace_view(workspace), 201)


@router.get("/workspaces", summary="List workspaces", tags=TAGS, responses=answers(WorkspaceList, 200))
def list_workspaces() -> Response[str]:
    return respond([workspace_view(w) for w in container().sessions.workspaces.list_all(tenant_of(router))])
