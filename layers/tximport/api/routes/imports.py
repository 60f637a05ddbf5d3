"""`/imports`: create, upload, poll, review, amend, confirm, delete, revert."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from tximport.api import schemas
from tximport.api.context import tenant_of
from tximport.api.envelope import envelope, no_content
from tximport.api.idempotency import IdempotencyKey, answer_once
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
                         "Retry safely with an Idempotency-Key: a replay answers the same import, with a "
                         "freshly signed uploadPath while the file is still awaited.",
             responses=schemas.idempotent(schemas.ok(schemas.CreatedImportEnvelope,
                                                     "The new import and its upload URL",
                                                     201, None, 400, 401, 404, 409, 429)))
def create_import(body: CreateImportRequest,
                  idempotency_key: IdempotencyKey = None) -> Response[dict[str, Any]]:
    service = container().import_service
    tenant = tenant_of(router)

    def create() -> Response[dict[str, Any]]:
        imp = service.create(tenant, body.data.to_command())
        return envelope({"id": imp.id, "status": imp.status.value,
                         "importResponse": import_view(imp, include_report=False)},
                        links={"uploadPath": service.upload_url(imp), "self": f"/imports/{imp.id}"}, status=201)

    def fresh_upload_path(answer: dict[str, Any]) -> dict[str, Any]:
        # the stored URL expires long before the key does: sign again while the file is still awaited
        try:
            imp = service.get(tenant, answer["data"]["id"])
        except NotFound:
            return answer
        if imp.status == ImportStatus.AWAITING_FILE_UPLOAD:
            answer["links"] = {**answer.get("links", {}), "uploadPath": service.upload_url(imp)}
        return answer

    return answer_once(router, "POST /imports", idempotency_key, body, create, on_replay=fresh_upload_path)


@router.get("/imports", summary="List imports", tags=["Imports"], description="Newest first.",
            responses=schemas.ok(schemas.ImportsEnvelope, "A page of imports", 200, None, 400, 401, 429))
def list_imports(pageSize: Annotated[int, Query(ge=1, le=200)] = 50,  # noqa: N803
                 cursor: Annotated[str | None, Query()] = None,
                 status: Annotated[ImportStatus | None, Query()] = None) -> Response[dict[str, Any]]:
    tenant = tenant_of(router)
    cursors = pages(tenant, "imports", status.value if status else "")
    imports, nxt = container().import_service.list_page(tenant, limit=pageSize, cursor=cursors.open(cursor),
                                                        status=status)
    nxt = cursors.seal(nxt)
    filtered = f"&status={status.value}" if status else ""
    links = {"next": f"/imports?pageSize={pageSize}{filtered}&cursor={nxt}"} if nxt else {}
    return envelope([import_view(i, include_report=False) for i in imports], links=links,
                    meta={"count": len(imports)})


@router.get("/imports/<import_id>", summary="Get an import (poll this)", tags=["Imports"],
            description="`?include=report` adds statement.summary once known; while the file is awaited "
                        "links.uploadPath is a fresh presigned URL.",
            responses=schemas.ok(schemas.ImportEnvelope, "The import", 200, None, 400, 401, 404, 429))
def get_import(import_id: PathId,
               include: Annotated[Literal["report"] | None, Query()] = None) -> Response[dict[str, Any]]:
    service = container().import_service
    imp = service.get(tenant_of(router), import_id)
    links: dict[str, str] = {"self": f"/imports/{imp.id}"}
    if imp.status == ImportStatus.AWAITING_FILE_UPLOAD:
        links["uploadPath"] = service.upload_url(imp)
    return envelope(import_view(imp, include_report=include == "report"), links=links)


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


@router.post("/imports/<import_id>/amendtransactions", summary="Flip signs and re-process", tags=["Imports"],
             responses=schemas.ok(None, "Amended (no body); the file is processed again",
                                  204, None, 400, 401, 404, 409, 429))
def amend(import_id: PathId, body: AmendRequest) -> Response[None]:
    container().import_service.amend(tenant_of(router), import_id, body.data.to_command())
    return no_content()


@router.post("/imports/<import_id>/revert", summary="Undo a complete import", tags=["Imports"],
             description="Within the revert window, starts removing the ledger lines this import added "
                         "(only those) and answers 202: poll the import until revertStatus is reverted "
                         "(revertedLineCount says how many lines went) or revertFailed (revert again to "
                         "continue). Idempotent: while reverting nothing new starts (202); once reverted "
                         "it answers 200 with the same import body.",
             responses=schemas.ok(schemas.ImportEnvelope, "The revert is under way (revertStatus reverting)",
                                  202, None, 400, 401, 404, 409, 429))
def revert(import_id: PathId) -> Response[dict[str, Any]]:
    imp, running = container().import_service.revert(tenant_of(router), import_id)
    return envelope(import_view(imp, include_report=False), links={"self": f"/imports/{imp.id}"},
                    status=202 if running else 200)


@router.get("/imports/<import_id>/errordetails", summary="Rejected lines and file problems", tags=["Review"],
            responses=schemas.ok(schemas.ErrorDetailsEnvelope, "A page of problems, with line numbers",
                                 200, None, 400, 401, 404, 429))
def error_details(import_id: PathId, pageSize: Annotated[int, Query(ge=1, le=1000)] = 100,  # noqa: N803
                  cursor: Annotated[str | None, Query()] = None) -> Response[dict[str, Any]]:
    tenant = tenant_of(router)
    cursors = pages(tenant, "errordetails", import_id)
    page = container().review_service.error_details(tenant, import_id, page_size=pageSize,
                                                    cursor=cursors.open(cursor))
    nxt = cursors.seal(page.next_cursor)
    links = {"next": f"/imports/{import_id}/errordetails?pageSize={pageSize}&cursor={nxt}"} if nxt else {}
    return envelope([error_detail_view(d) for d in page.details], links=links,
                    meta={"count": len(page.details), "total": page.total})


@router.get("/imports/<import_id>/reviewtransactions", summary="Page the staged transactions", tags=["Review"],
            responses=schemas.ok(schemas.ReviewEnvelope, "A page of staged transactions",
                                 200, None, 400, 401, 404, 409, 429))
def review(import_id: PathId, pageSize: Annotated[int, Query(ge=1, le=1000)] = 100,  # noqa: N803
           cursor: Annotated[str | None, Query()] = None) -> Response[dict[str, Any]]:
    tenant = tenant_of(router)
    cursors = pages(tenant, "reviewtransactions", import_id)
    page = container().review_service.review(tenant, import_id, page_size=pageSize, cursor=cursors.open(cursor))
    nxt = cursors.seal(page.next_cursor)
    links = {"next": f"/imports/{import_id}/reviewtransactions?pageSize={pageSize}&cursor={nxt}"} if nxt else {}
    return envelope([review_row(line) for line in page.lines], links=links, meta=review_meta(page))


@router.patch("/imports/<import_id>/reviewtransactions/<transaction_id>", summary="Import or skip one line",
              tags=["Review"],
              responses=schemas.ok(None, "Decision recorded (no body)", 204, None, 400, 401, 404, 409, 429))
def decide(import_id: PathId, transaction_id: PathId, body: DecisionRequest) -> Response[None]:
    container().review_service.set_decision(tenant_of(router), import_id, transaction_id, body.data.decision)
    return no_content()


@router.get("/imports/<import_id>/dryrun", summary="What confirm would do", tags=["Review"],
            responses=schemas.ok(schemas.PlanEnvelope, "What confirm would add and skip",
                                 200, None, 400, 401, 404, 409, 429))
def dry_run(import_id: PathId) -> Response[dict[str, Any]]:
    return envelope(dry_run_view(container().review_service.dry_run(tenant_of(router), import_id)))
