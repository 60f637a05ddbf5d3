"""`/staged-transactions/{id}`: read, update (the fields sent, the status a client sets included), delete."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from tximport.api.sessions.context import WorkspaceHeader, scope_of
from tximport.api.sessions.docs import answers
from tximport.api.sessions.http import no_content, respond
from tximport.api.sessions.models import RouteId, StagedTransactionOut, UpdateStagedTransactionRequest
from tximport.api.sessions.views import staged_view
from tximport.runtime import container
from tximport.sessions.commands import StagedChanges

router = Router()
TAGS = ["Staged transactions"]


@router.get("/staged-transactions/<staged_id>", summary="Get a staged transaction", tags=TAGS,
            responses=answers(StagedTransactionOut, 200, 404))
def get_staged(staged_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
    return respond(staged_view(container().sessions.staged.get(scope_of(router, workspace), staged_id)))


@router.put("/staged-transactions/<staged_id>", summary="Update a staged transaction", tags=TAGS,
            description="The fields sent change; `data` keys merge into the line's data (a null value removes the "
                        "key); `data.tags` (names) creates missing tags. `status`: READY makes the line READY when it "
                        "has what READY needs (else 400 MissingFields naming `status`, `details` the fields it "
                        "lacks), lifts a hold and overrides a copy mark (`data.possible_duplicate.overridden: true`: "
                        "the commit books the line); PENDING holds the line back from commit (`on_hold: true`) until "
                        "READY is set; PROCESSING is enrichment's (400 StatusNotSettable). Left out, the status is "
                        "computed (READY when every required field is set, else PENDING). 409 while the line is "
                        "PROCESSING.",
            responses=answers(StagedTransactionOut, 200, 404, 409))
def update_staged(staged_id: RouteId, body: UpdateStagedTransactionRequest, workspace: WorkspaceHeader = None
                  ) -> Response[str]:
    scope = scope_of(router, workspace)
    changes = StagedChanges(amount=body.amount, transaction_date=body.transaction_date, description=body.description,
                            type=body.type, data=body.data, status=body.status)
    return respond(staged_view(container().sessions.staged.update(scope, staged_id, changes)))


@router.delete("/staged-transactions/<staged_id>", summary="Delete a staged transaction", tags=TAGS,
               responses=answers(None, 204, 404, 409, description="Deleted"))
def delete_staged(staged_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
    container().sessions.staged.delete(scope_of(router, workspace), staged_id)
    return no_content()
