"""`/imports`: create, upload, poll, review, amend, confirm, delete, revert."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from tximport.api import schemas
from tximport.api.context import tenant_of
from tximport.api.envelope import answer, no_content
from tximport.api.idempotency import IdempotencyKey, XApplication, answer_once
from tximport.api.models import AmendRequest, CreateImportRequest, DecisionRequest, PathId
from tximport.api.pages import pages
from tximport.api.views import dry_run_view, error_detail_view, import_view, review_meta, review_row
from tximport.errors import NotFound
from tximport.models import ImportStatus
from tximport.runtime import container

router = Router()


@router.post("/imports", summary="Create an import", tags=["Imports"],
             description="Answers status awaitingFileUpload and links.uploadPath, a presigned PUT URL valid "
                         "15 minutes: upload the file there (e.g. curl -T statement.csv \"$uploadPath\"). "
                         "The x-application header names the calling product (sourceProduct). "
                         "Retry safely with an Idempotency-Key: a replay answers the same import, with a "
                         "freshly signed uploadPath while the file is still awaited.",
             responses=schemas.idempotent(schemas.ok(schemas.CreatedImportEnvelope,
                                                     "The new import and its upload URL",
                                                     201, None, 400, 401, 404, 409, 429)))
def create_import(body: CreateImportRequest, idempotency_key: IdempotencyKey = None,
                  x_application: XApplication = None) -> Response[schemas.CreatedImportEnvelope]:
    service = container().import_service
    tenant = tenant_of(router)

    def create() -> Response[schemas.CreatedImportEnvelope]:
        imp = service.create(tenant, body.data.to_command(source_product=x_application))
        return answer(schemas.CreatedImportEnvelope(
            data=schemas.CreatedImportOut(id=imp.id, status="awaitingFileUpload",
                                          import_response=import_view(imp, include_report=False)),
            links={"uploadPath": service.upload_url(imp), "self": f"/imports/{imp.id}"},
            meta=schemas.EmptyMeta()), status=201)

    def fresh_upload_path(stored: dict[str, Any]) -> dict[str, Any]:
        # the stored URL expires long before the key does: sign again while the file is still awaited
        try:
            imp = service.get(tenant, stored["data"]["id"])
        except NotFound:
            return stored
        if imp.status == ImportStatus.AWAITING_FILE_UPLOAD:
            stored["links"] = {**stored.get("links", {}), "uploadPath": service.upload_url(imp)}
        return stored

    return answer_once(router, "POST /imports", idempotency_key, body, create, on_replay=fresh_upload_path)


@router.get("/imports", summary="List imports", tags=["Imports"],
            description="Newest first. `?status=` keeps only imports in that status: pages are full (read "
                        "from an index of the tenant's imports by status) and links.next keeps the filter.",
            responses=schemas.ok(schemas.ImportsEnvelope, "A page of imports", 200, None, 400, 401, 429))
def list_imports(pageSize: Annotated[int, Query(ge=1, le=200)] = 50,  # noqa: N803
                 cursor: Annotated[str | None, Query()] = None,
                 status: Annotated[ImportStatus | None, Query()] = None) -> Response[schemas.ImportsEnvelope]:
    service = container().import_service
    tenant = tenant_of(router)
    cursors = pages(tenant, "imports", status.value if status else "")
    imports, nxt = service.list_page(tenant, limit=pageSize, cursor=cursors.open(cursor), status=status)
    nxt = cursors.seal(nxt)
    monitors = service.monitors(tenant, [i.id for i in imports])
    query = {"pageSize": str(pageSize), **({"status": status.value} if status else {})}
    links = {"next": f"/imports?{urlencode({**query, 'cursor': nxt})}"} if nxt else {}
    return answer(schemas.ImportsEnvelope(
        data=[import_view(i, include_report=False, monitor=monitors.get(i.id)) for i in imports], links=links,
        meta=schemas.CountMeta(count=len(imports))))


@router.get("/imports/<import_id>", summary="Get an import (poll this)", tags=["Imports"],
            description="`?include=report` adds statement.summary once known; while the file is awaited "
                        "links.uploadPath is a fresh presigned URL. Each call counts in statusMonitor.",
            responses=schemas.ok(schemas.ImportEnvelope, "The import", 200, None, 400, 401, 404, 429))
def get_import(import_id: PathId,
               include: Annotated[Literal["report"] | None, Query()] = None) -> Response[schemas.ImportEnvelope]:
    service = container().import_service
    imp, monitor = service.poll(tenant_of(router), import_id)
    links: dict[str, str] = {"self": f"/imports/{imp.id}"}
    if imp.status == ImportStatus.AWAITING_FILE_UPLOAD:
        links["uploadPath"] = service.upload_url(imp)
    return answer(schemas.ImportEnvelope(
        data=import_view(imp, include_report=include == "report", monitor=monitor), links=links,
        meta=schemas.EmptyMeta()))


@router.delete("/imports/<import_id>", summary="Delete an import", tags=["Imports"],
               description="Allowed in awaitingConfirmation, complete or error; otherwise 409.",
               responses=schemas.ok(None, "Deleted (no body)", 204, None, 400, 401, 404, 409, 429))
def delete_import(import_id: PathId) -> Response[None]:
    container().import_service.delete(tenant_of(router), import_id)
    return no_content()


@router.post("/imports/<import_id>/confirm", summary="Confirm an import", tags=["Imports"],
             description="Idempotent: confirming again does nothing.",
             responses=schemas.ok(None, "Confirmed (no body); poll the import until complete",
                                  204, None, 400, 401, 404, 409, 429))
def confirm(import_id: PathId) -> Response[None]:
    container().import_service.confirm(tenant_of(router), import_id)
    return no_content()


_AMEND_DESCRIPTION = (
    "The document's method is GET with a JSON body (API Gateway's HTTP API passes a GET body through); POST "
    "does the same. `flipTransactions.bankAccountIds` reverses the sign of those accounts' lines and "
    "processes the file again (at most 10 times). `bankAccounts` continues an import created without "
    "accounts (account discovery, awaitingConfirmation with accountIdentifiers): each entry names a bank "
    "account by `id`, or by `accountIdentifier` + `countryCode` (an existing bank account with that "
    "identifier, else a new placeholder account), and the staged file is processed for them, with no new "
    "upload.")


def _amend(import_id: str, body: AmendRequest) -> Response[None]:
    container().import_service.amend(tenant_of(router), import_id, body.data.to_command())
    return no_content()


@router.get("/imports/<import_id>/amendtransactions", summary="Flip signs or name the accounts, and re-process",
            tags=["Imports"], description=_AMEND_DESCRIPTION,
            responses=schemas.ok(None, "Amended (no body); the file is processed again",
                                 204, None, 400, 401, 404, 409, 429))
def amend_get(import_id: PathId, body: AmendRequest) -> Response[None]:
    return _amend(import_id, body)


@router.post("/imports/<import_id>/amendtransactions", summary="Flip signs or name the accounts (POST)",
             tags=["Imports"], description=_AMEND_DESCRIPTION,
             responses=schemas.ok(None, "Amended (no body); the file is processed again",
                                  204, None, 400, 401, 404, 409, 429))
def amend(import_id: PathId, body: AmendRequest) -> Response[None]:
    return _amend(import_id, body)


@router.post("/imports/<import_id>/revert", summary="Undo a complete import", tags=["Imports"],
             description="Within the revert window, starts removing the ledger lines this import added "
                         "(only those) and answers 202: poll the import until revertStatus is reverted "
                         "(revertedLineCount says how many lines went) or revertFailed (revert again to "
                         "continue). Idempotent: while reverting nothing new starts (202); once reverted "
                         "it answers 200 with the same import body.",
             responses={**schemas.ok(schemas.ImportEnvelope, "The revert is under way (revertStatus reverting)",
                                     202, None, 400, 401, 404, 409, 429),
                        **schemas.ok(schemas.ImportEnvelope, "Already reverted (revertStatus reverted): nothing new "
                                     "started", 200)})
def revert(import_id: PathId) -> Response[schemas.ImportEnvelope]:
    service = container().import_service
    tenant = tenant_of(router)
    imp, running = service.revert(tenant, import_id)
    return answer(schemas.ImportEnvelope(
        data=import_view(imp, include_report=False, monitor=service.monitors(tenant, [imp.id]).get(imp.id)),
        links={"self": f"/imports/{imp.id}"}, meta=schemas.EmptyMeta()), status=202 if running else 200)


@router.get("/imports/<import_id>/errordetails", summary="Rejected lines and file problems", tags=["Review"],
            responses=schemas.ok(schemas.ErrorDetailsEnvelope, "A page of problems, with line numbers",
                                 200, None, 400, 401, 404, 429))
def error_details(import_id: PathId, pageSize: Annotated[int, Query(ge=1, le=1000)] = 100,  # noqa: N803
                  cursor: Annotated[str | None, Query()] = None) -> Response[schemas.ErrorDetailsEnvelope]:
    tenant = tenant_of(router)
    cursors = pages(tenant, "errordetails", import_id)
    page = container().review_service.error_details(tenant, import_id, page_size=pageSize,
                                                    cursor=cursors.open(cursor))
    nxt = cursors.seal(page.next_cursor)
    links = {"next": f"/imports/{import_id}/errordetails?pageSize={pageSize}&cursor={nxt}"} if nxt else {}
    return answer(schemas.ErrorDetailsEnvelope(
        data=[error_detail_view(d) for d in page.details], links=links,
        meta=schemas.ErrorDetailsMeta(count=len(page.details), total=page.total)))


@router.get("/imports/<import_id>/reviewtransactions", summary="Page the staged transactions", tags=["Review"],
            responses=schemas.ok(schemas.ReviewEnvelope, "A page of staged transactions",
                                 200, None, 400, 401, 404, 409, 429))
def review(import_id: PathId, pageSize: Annotated[int, Query(ge=1, le=1000)] = 100,  # noqa: N803
           cursor: Annotated[str | None, Query()] = None) -> Response[schemas.ReviewEnvelope]:
    tenant = tenant_of(router)
    cursors = pages(tenant, "reviewtransactions", import_id)
    page = container().review_service.review(tenant, import_id, page_size=pageSize, cursor=cursors.open(cursor))
    nxt = cursors.seal(page.next_cursor)
    links = {"next": f"/imports/{import_id}/reviewtransactions?pageSize={pageSize}&cursor={nxt}"} if nxt else {}
    return answer(schemas.ReviewEnvelope(data=[review_row(line) for line in page.lines], links=links,
                                         meta=review_meta(page)))


@router.patch("/imports/<import_id>/reviewtransactions/<transaction_id>", summary="Import or skip one line",
              tags=["Review"],
              responses=schemas.ok(None, "Decision recorded (no body)", 204, None, 400, 401, 404, 409, 429))
def decide(import_id: PathId, transaction_id: PathId, body: DecisionRequest) -> Response[None]:
    container().review_service.set_decision(tenant_of(router), import_id, transaction_id, body.data.decision)
    return no_content()


@router.get("/imports/<import_id>/dryrun", summary="What confirm would do", tags=["Review"],
            responses=schemas.ok(schemas.PlanEnvelope, "What confirm would add and skip",
                                 200, None, 400, 401, 404, 409, 429))
def dry_run(import_id: PathId) -> Response[schemas.PlanEnvelope]:
    plan = dry_run_view(container().review_service.dry_run(tenant_of(router), import_id))
    return answer(schemas.PlanEnvelope(data=plan, meta=schemas.EmptyMeta()))
