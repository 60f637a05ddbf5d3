"""`/import-sessions`: create, list, read (balances, stats, a page of lines), update, delete; upload a
file; stage, list and delete lines; enrich; bind and the suggested bindings; commit; close."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from tximport.api.pages import Pages, pages
from tximport.api.sessions.context import WorkspaceHeader, scope_of
from tximport.api.sessions.docs import answers
from tximport.api.sessions.http import no_content, respond
from tximport.api.sessions.models import (
    BindingList,
    BindingOut,
    BindRecurringRequest,
    CreateImportSessionRequest,
    CreateStagedTransactionsRequest,
    ImportSessionList,
    ImportSessionOut,
    ImportSessionResponse,
    MessageOut,
    RejectedLineOut,
    RouteId,
    StagedTransactionList,
    UpdateImportSessionRequest,
    UploadOut,
)
from tximport.api.sessions.uploads import read_upload
from tximport.api.sessions.views import (
    binding_view,
    close_view,
    commit_view,
    detail_view,
    enrich_view,
    fitting,
    session_view,
    staged_view,
)
from tximport.errors import ValidationFailed
from tximport.runtime import container
from tximport.sessions.commands import BindRequest, SessionChanges, SessionInput, StagedInput
from tximport.sessions.models import Scope

router = Router()
TAGS = ["Import sessions"]
PageSize = Annotated[int, Query(ge=1, le=1000, description="lines per page (default 1,000: every line of all but "
                                                           "the largest sessions)")]
# no max_length: the signer refuses anything longer than a cursor of ours as InvalidCursor, as elsewhere
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page (opaque, signed)")]


def _pages(scope: Scope, listing: str, session_id: str) -> Pages:
    """The cursors of one listing of one session's lines: a line offset, sealed for the tenant, the
    workspace and the listing (a forged, changed or borrowed cursor is 400 InvalidCursor)."""
    return pages(scope.tenant, listing, scope.workspace_id, session_id)


def _cursor(cursors: Pages, text: str | None) -> int:
    opened = cursors.open(text)
    if opened is None:
        return 0
    if not opened.isdigit():  # sealed by us, so never; but an offset is all a cursor may carry here
        raise ValidationFailed("malformed cursor", code="InvalidCursor", target="cursor")
    return int(opened)


@router.post("/import-sessions", summary="Create an import session", tags=TAGS,
             description="Exactly one of account_id (one of our bank accounts) and card_id (a card of the workspace), "
                         "and billing_month. A card session needs the card's invoice for the month OPEN (created "
                         "OPEN when missing; 400 InvoiceNotOpen otherwise). The description is "
                         "`{account or card name} | {billing_month}`.",
             responses=answers(ImportSessionOut, 201, 400, 403, 409, description="The session"))
def create_session(body: CreateImportSessionRequest, workspace: WorkspaceHeader = None) -> Response[str]:
    scope = scope_of(router, workspace)
    session = container().sessions.sessions.create(scope, SessionInput(
        body.account_id, body.card_id, body.billing_month, body.target_value, body.description))
    return respond(session_view(session), 201)


@router.get("/import-sessions", summary="List import sessions", tags=TAGS, description="Newest first.",
            responses=answers(ImportSessionList, 200, description="The workspace's sessions"))
def list_sessions(workspace: WorkspaceHeader = None) -> Response[str]:
    scope = scope_of(router, workspace)
    return respond([session_view(s) for s in container().sessions.sessions.list_all(scope)])


@router.get("/import-sessions/<session_id>", summary="Get an import session with its balances", tags=TAGS,
            description="initial_balance, context_value and current_total by the user guide's formulas, stats "
                        "{ready, total}, status OK when every line is READY and target_value == context_value, the "
                        "lines in `transactions` (and `staged_transactions`): all of them up to `page_size` (1,000 "
                        "by default) and 2 MB of JSON; `next_cursor` names the next page when more follow (null "
                        "otherwise), and the recurring bindings. The balances never read the lines: the counters "
                        "are kept with every write.",
            responses=answers(ImportSessionResponse, 200, 404))
def get_session(session_id: RouteId, page_size: PageSize = 1000, cursor: Cursor = None,
                workspace: WorkspaceHeader = None) -> Response[str]:
    scope = scope_of(router, workspace)
    cursors = _pages(scope, "import-session", session_id)
    detail = container().sessions.sessions.get(scope, session_id, page_size=page_size,
                                               cursor=_cursor(cursors, cursor))
    view = detail_view(detail)
    view["next_cursor"] = cursors.seal(view["next_cursor"])
    return respond(view)


@router.put("/import-sessions/<session_id>", summary="Update an import session", tags=TAGS,
            description="description, billing_month, target_value, account_id or card_id. Moving a session with "
                        "lines between an account and a card is refused (409 SessionHasLines), and so is a move to "
                        "another account or card where a staged line would not be accepted, or to an account of "
                        "another currency (409 SessionHasLines naming the first line in `details`). A generated "
                        "description follows the move.",
            responses=answers(ImportSessionOut, 200, 404, 409))
def update_session(session_id: RouteId, body: UpdateImportSessionRequest, workspace: WorkspaceHeader = None
                   ) -> Response[str]:
    scope = scope_of(router, workspace)
    changes = SessionChanges(**body.model_dump(exclude_unset=True, include=set(SessionChanges.model_fields)))
    return respond(session_view(container().sessions.sessions.update(scope, session_id, changes)))


@router.delete("/import-sessions/<session_id>", summary="Delete an import session", tags=TAGS,
               description="The session and all its staged transactions.",
               responses=answers(None, 204, 404, 409, description="Deleted"))
def delete_session(session_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
    container().sessions.sessions.delete(scope_of(router, workspace), session_id)
    return no_content()


@router.post("/import-sessions/<session_id>/upload", summary="Upload a statement file", tags=TAGS,
             description="multipart/form-data with the field `file` (10 MB at most). The CSV of the document "
                         "(`data,descricao,valor`) and every format the file importer reads (CSV, OFX, camt, MT940, "
                         "QIF, JSON) are read by the same parsers; optional fields `file_format` (a format id) and "
                         "`date_style` (bigEndian, littleEndian, middleEndian; ambiguous dates default to D/M/Y). "
                         "Lines get their type by the sign rule and are marked when they look like ledger lines "
                         "(`data.possible_duplicate`). Answers `{\"message\": \"N linhas processadas\"}` and, beside "
                         "it, what was staged and what was left out (unreadable lines, pending entries, other "
                         "accounts' lines).",
             responses=answers(UploadOut, 200, 404, 409, 413), openapi_extensions={"requestBody": {
                 "required": True, "content": {"multipart/form-data": {"schema": {
                     "type": "object", "required": ["file"], "properties": {
                         "file": {"type": "string", "format": "binary", "description": "the statement file"},
                         "file_format": {"type": "string", "examples": ["Tabular3column#v1"]},
                         "date_style": {"type": "string", "enum": ["bigEndian", "littleEndian", "middleEndian"]}}}}}}})
def upload(session_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
    scope = scope_of(router, workspace)
    form = read_upload(router.current_event)
    result = container().sessions.upload.upload(scope, session_id, form.content, form.file_name, form.file_format,
                                                form.date_style)
    return respond(UploadOut(
        message=result.message, processed=result.processed, file_format=result.file_format,
        possible_duplicates=result.possible_duplicates, rejected=[RejectedLineOut(**r) for r in result.rejected],
        pending_skipped=result.pending_skipped, other_account_lines=result.other_account_lines).model_dump())


@router.post("/import-sessions/<session_id>/staged-transactions", summary="Create staged transactions", tags=TAGS,
             description="An array of 1 to 5,000 lines. `type` may be left out: account + INCOME, - EXPENSE; card + "
                         "CARD_EXPENSE, - CARD_CHARGEBACK. `data.tags` (names) creates the tags that do not exist. "
                         "The status is computed (READY when the type has what it needs, else PENDING).",
             responses=answers(StagedTransactionList, 201, 404, 409))
def create_staged(session_id: RouteId, body: Annotated[CreateStagedTransactionsRequest, Body()],
                  workspace: WorkspaceHeader = None) -> Response[str]:
    scope = scope_of(router, workspace)
    inputs = [StagedInput(amount=t.amount, transaction_date=t.transaction_date, description=t.description,
                          type=t.type, data=t.data or {}, line_number=t.line_number) for t in body.root]
    lines = container().sessions.staged.add(scope, session_id, inputs)
    return respond([staged_view(ln) for ln in lines], 201)


@router.get("/import-sessions/<session_id>/staged-transactions", summary="List staged transactions", tags=TAGS,
            description="In order, up to `limit` (default and at most 5,000) and 4 MB of JSON (a Lambda answer holds "
                        "6 MB); when more follow, the headers `X-Next-Cursor` and `Link: <...>; rel=\"next\"` name "
                        "the next page.",
            responses=answers(StagedTransactionList, 200, 404))
def list_staged(session_id: RouteId, limit: Annotated[int, Query(ge=1, le=5000)] = 5000, cursor: Cursor = None,
                workspace: WorkspaceHeader = None) -> Response[str]:
    scope = scope_of(router, workspace)
    cursors = _pages(scope, "staged-transactions", session_id)
    lines, nxt = container().sessions.staged.page(scope, session_id, limit=limit, cursor=_cursor(cursors, cursor))
    views = fitting([staged_view(ln) for ln in lines])
    if len(views) < len(lines):  # the page would not fit in one answer: the rest on the next
        nxt = lines[len(views)].seq
    headers = None
    sealed = cursors.seal(None if nxt is None else str(nxt))
    if sealed is not None:
        link = f"/import-sessions/{session_id}/staged-transactions?limit={limit}&cursor={sealed}"
        headers = {"X-Next-Cursor": sealed, "Link": f'<{link}>; rel="next"'}
    return respond(views, headers=headers)


@router.delete("/import-sessions/<session_id>/staged-transactions", summary="Delete all staged transactions",
               tags=TAGS, responses=answers(None, 204, 404, 409, description="Deleted"))
def delete_staged(session_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
    container().sessions.staged.delete_all(scope_of(router, workspace), session_id)
    return no_content()


@router.post("/import-sessions/<session_id>/enrich", summary="Enrich the PENDING staged transactions", tags=TAGS,
             description="The workspace's rules first, then the nearest description among the workspace's committed "
                         "transactions (confidence > 0.85 applied; 0.60 to 0.85 applied and flagged "
                         "`data.enrichment.needs_review`; below 0.60 left PENDING), then binding suggestions. Up to "
                         "200 lines within the call (`mode: sync`); more through the enrichment workflow (`mode: "
                         "async`: the lines are PROCESSING until it ends; poll the session).",
             responses=answers(MessageOut, 200, 404, 409))
def enrich(session_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
    return respond(enrich_view(container().sessions.enrich.enrich(scope_of(router, workspace), session_id)))


@router.post("/import-sessions/<session_id>/bind", summary="Bind staged transactions to recurring items",
             tags=TAGS, description="One `{staged_transaction_id, recurring_transaction_id}` object, or an array of "
                                    "them. The recurring item is looked up among incomes, expenses, transfers and "
                                    "card transactions, in that order; the line takes its type, description, "
                                    "category, subcategory, tags and `data.recurring_<kind>_id`.",
             responses=answers(MessageOut, 200, 404, 409))
def bind(session_id: RouteId, body: Annotated[BindRecurringRequest | list[BindRecurringRequest], Body()],
         workspace: WorkspaceHeader = None) -> Response[str]:
    scope = scope_of(router, workspace)
    items = body if isinstance(body, list) else [body]
    if not items or len(items) > 1000:
        raise ValidationFailed("bind takes 1 to 1,000 requests", target="body")
    lines = container().sessions.bind.bind(scope, session_id, [
        BindRequest(i.staged_transaction_id, i.recurring_transaction_id) for i in items])
    answer = [staged_view(ln) for ln in lines]
    return respond({"message": f"{len(lines)} transação(ões) vinculada(s)", "bound": len(lines),
                    "transactions": answer, **({"transaction": answer[0]} if len(answer) == 1 else {})})


@router.get("/import-sessions/<session_id>/recurring-bindings", summary="List the session's recurring bindings",
            tags=TAGS, description="Suggested (PENDING) and confirmed bindings (our extension).",
            responses=answers(BindingList, 200, 404))
def list_bindings(session_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
    bindings = container().sessions.bind.bindings(scope_of(router, workspace), session_id)
    return respond([binding_view(b) for b in bindings])


@router.post("/import-sessions/<session_id>/recurring-bindings/<binding_id>/confirm",
             summary="Confirm a recurring binding", tags=TAGS,
             description="Applies the suggested binding to its staged transaction (as bind does).",
             responses=answers(BindingOut, 200, 404, 409))
def confirm_binding(session_id: RouteId, binding_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
    binding, line = container().sessions.bind.confirm(scope_of(router, workspace), session_id, binding_id)
    return respond({**binding_view(binding), "staged_transaction": staged_view(line)})


@router.delete("/import-sessions/<session_id>/recurring-bindings/<binding_id>",
               summary="Delete (reject) a recurring binding", tags=TAGS,
               description="Removes a PENDING binding without binding the staged transaction; a confirmed one "
                           "answers 409.", responses=answers(BindingOut, 200, 404, 409))
def reject_binding(session_id: RouteId, binding_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
    binding = container().sessions.bind.reject(scope_of(router, workspace), session_id, binding_id)
    return respond({"message": "binding deleted", **binding_view(binding)})


@router.post("/import-sessions/<session_id>/commit", summary="Commit the READY staged transactions", tags=TAGS,
             description="Every READY line goes to the ledger (`GET /bankaccounts/{id}/transactions`) as a typed "
                         "transaction with status VALIDATING, or IGNORE when `data.ignore` is true, and leaves the "
                         "session. Idempotent: committing again writes nothing twice. A card payment into a PAID "
                         "invoice is 400 InvoicePaid (field data.billing_month) and nothing is written.",
             responses=answers(MessageOut, 200, 400, 404, 409))
def commit(session_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
    return respond(commit_view(container().sessions.commit.commit(scope_of(router, workspace), session_id)))


@router.post("/import-sessions/<session_id>/close", summary="Close the session (reconcile)", tags=TAGS,
             description="Admin role only (the token's `roles` claim holds `admin`; 403 otherwise). VALIDATING -> PAID "
                         "for the account's lines dated up to the end of the billing month, its card payments with "
                         "their entries in the invoices they paid (card: the invoice's card expenses and "
                         "chargebacks, and the invoice -> PAID); the session and its staged lines are removed. READY "
                         "lines not committed yet answer 409 UncommittedLines, except in a card session whose invoice "
                         "another session's close paid: they can never be committed, so close discards them and "
                         "writes nothing (`invoice_settled_elsewhere: true`, `discarded_ready`).",
             responses=answers(MessageOut, 200, 404, 409))
def close(session_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
    return respond(close_view(container().sessions.commit.close(scope_of(router, workspace), session_id)))
