"""`/baas/api/v1/reconciliations`: the reconciliation dialect (JSON:API style, its own error shape).

Permissions come from the token's `permissions` claim: BAAS_RECONCILIATION_CREATE for POST and the write
extensions (manual match/unmatch, re-run, DELETE), BAAS_RECONCILIATION_READ for the GETs.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from tximport import exactjson
from tximport.api.context import claims_of, tenant_of
from tximport.api.models import PathId
from tximport.api.reconciliation_models import (
    PREFIX,
    CreateReconciliationRequest,
    Day,
    EntryChangeRequest,
    EntryDocument,
    EntryList,
    ErrorOut,
    ReconciliationDocument,
    ReconciliationList,
    UuidFilter,
)
from tximport.api.reconciliation_views import (
    answer,
    entry_resource,
    page_of,
    reconciliation_document,
    reconciliation_resource,
)
from tximport.errors import Unauthorized
from tximport.models import Tenant
from tximport.reconciliation.commands import ListFilter, NewReconciliation
from tximport.reconciliation.errors import Forbidden, Invalid, Unauthenticated, Unprocessable
from tximport.reconciliation.models import (
    Entry,
    MatchingOptions,
    MatchStatus,
    ReconciliationStatus,
    Source,
)
from tximport.runtime import container

router = Router()
CREATE = "BAAS_RECONCILIATION_CREATE"
READ = "BAAS_RECONCILIATION_READ"
TAGS = ["Reconciliations"]
PageNumber = Annotated[int, Query(alias="page[number]", ge=1, le=1_000_000, description="from 1 (default 1)")]
PageSize = Annotated[int, Query(alias="page[size]", ge=1, le=100, description="1 to 100 (default 20)")]

_ERRORS = {
    400: ("VALIDATION: a field is missing or malformed (details.field names it)", "VALIDATION",
          "periodStart: Input should be a valid date", {"field": "periodStart"}),
    401: ("UNAUTHORIZED: no valid bearer token", "UNAUTHORIZED", "invalid token", {}),
    403: ("FORBIDDEN: the token lacks the permission", "FORBIDDEN",
          f"Permission denied: {CREATE} required", {"permission": CREATE}),
    404: ("NOT_FOUND: the reconciliation, the entry, the account or the ledger line", "NOT_FOUND",
          "reconciliation 0190f7a2-0000-7000-8000-000000000000 not found", {"field": "id"}),
    409: ("CONFLICT: a reconciliation already covers part of the period on the account, a ledger line is "
          "matched elsewhere, or the reconciliation is still PROCESSING", "CONFLICT",
          "reconciliation 0190f7a2-0000-7000-8000-000000000001 already covers 2024-01-15, a day of this period, "
          "on account 550e8400-e29b-41d4-a716-446655440100", {"field": "periodStart"}),
    422: ("UNPROCESSABLE: period over 90 days, end before start, no entries, or too many entries",
          "UNPROCESSABLE", "the period covers 91 days; at most 90 are allowed", {"field": "periodEnd"}),
}


def _responses(ok_status: int, model: type[BaseModel] | None, description: str, *codes: int
               ) -> dict[int, OpenAPIResponse]:
    """The route's answer (`model` None: no body) and its errors in the dialect's shape, each with an example
    (OpenAPI)."""
    out: dict[int, OpenAPIResponse] = {ok_status: {"description": description} if model is None else {
        "description": description, "content": {"application/json": {"model": model}}}}
    for code in (*codes, 401, 403, 429):
        if code == 429:
            out[429] = {"description": "Too many requests: API Gateway throttles the caller", "content": {
                "application/json": {"examples": {"throttled": {"value": {"message": "Too Many Requests"}}}}}}
            continue
        text, name, message, details = _ERRORS[code]
        out[code] = {"description": text, "content": {"application/json": {"model": ErrorOut, "examples": {
            name.lower(): {"value": {"code": name, "message": message, "statusCode": code, "details": details}}}}}}
    return out


def _permissions(claims: dict[str, Any]) -> set[str]:
    """The `permissions` claim: a list, or (API Gateway's JWT authorizer flattens lists) `[A B]`."""
    raw = claims.get("permissions")
    if isinstance(raw, list | tuple):
        return {str(p) for p in raw}
    if isinstance(raw, str):
        return {p for p in raw.strip().strip("[]").replace(",", " ").split() if p}
    return set()


def refused_permission(method: str, claims: dict[str, Any]) -> Forbidden | None:
    """The 403 of a verified token without the permission a reconciliation route needs (READ for GET, CREATE for
    the rest), told before the body is read: whatever the body, the caller may not use the route."""
    needed = READ if method.upper() in ("GET", "HEAD") else CREATE
    if needed in _permissions(claims):
        return None
    return Forbidden(f"Permission denied: {needed} required", details={"permission": needed})


def _caller(permission: str) -> Tenant:
    """The tenant of a caller holding `permission` (401 without a valid token, 403 without the permission)."""
    try:
        tenant = tenant_of(router)
    except Unauthorized as exc:
        raise Unauthenticated(exc.message) from None
    if permission not in _permissions(claims_of(router)):
        raise Forbidden(f"Permission denied: {permission} required", details={"permission": permission})
    return tenant


def _query() -> dict[str, str]:
    return {k: v for k, v in (router.current_event.query_string_parameters or {}).items()
            if k.startswith("filter[")}


@router.post(PREFIX, summary="Create a reconciliation", tags=TAGS,
             description="Stages the entries and starts matching them against the account's ledger lines in the "
                         "period; answers 201 at once with status PROCESSING (poll the reconciliation). Needs "
                         f"{CREATE}.",
             responses=_responses(201, ReconciliationDocument, "The reconciliation", 400, 404, 409, 422))
def create(body: CreateReconciliationRequest) -> Response[Any]:
    tenant = _caller(CREATE)
    a = body.data.attributes
    entries = [Entry(index=i, direction=e.type, amount=e.amount, description=e.description,
                     transaction_date=e.transaction_date, external_ref=e.external_ref)
               for i, e in enumerate(a.entries)]
    rec = container().reconciliations.create(tenant, NewReconciliation(
        account_id=a.account_id, period_start=a.period_start, period_end=a.period_end, source=Source(a.source),
        entries=entries, options=MatchingOptions.model_validate(a.matching_options.model_dump()) if a.matching_options
        else MatchingOptions()))
    return answer(reconciliation_document(rec), 201)


@router.get(PREFIX, summary="List reconciliations", tags=TAGS,
            description=f"Newest first. filter[periodStart]: periods starting on or after; filter[periodEnd]: "
                        f"periods ending on or before. Needs {READ}.",
            responses=_responses(200, ReconciliationList, "A page of reconciliations", 400))
def list_reconciliations(
        page_number: PageNumber = 1, page_size: PageSize = 20,
        account_id: Annotated[UuidFilter | None, Query(alias="filter[accountId]", max_length=128,
                                                       description="a bank account's UUID")] = None,
        status: Annotated[ReconciliationStatus | None, Query(alias="filter[status]")] = None,
        period_start: Annotated[Day | None, Query(alias="filter[periodStart]")] = None,
        period_end: Annotated[Day | None, Query(alias="filter[periodEnd]")] = None) -> Response[Any]:
    tenant = _caller(READ)
    where = ListFilter(account_id=account_id, status=status, period_start=period_start, period_end=period_end)
    found, total = container().reconciliations.queries.list_page(tenant, where, page_number, page_size)
    return answer(page_of([reconciliation_resource(r) for r in found], total, page_number, page_size, PREFIX,
                          _query()))


@router.get(f"{PREFIX}/<reconciliation_id>", summary="Get a reconciliation", tags=TAGS,
            description=f"Its status and statistics. Needs {READ}.",
            responses=_responses(200, ReconciliationDocument, "The reconciliation", 404))
def get_reconciliation(reconciliation_id: PathId) -> Response[Any]:
    rec = container().reconciliations.queries.get(_caller(READ), reconciliation_id)
    return answer(reconciliation_document(rec))


@router.delete(f"{PREFIX}/<reconciliation_id>", summary="Withdraw a reconciliation", tags=TAGS,
               description="Our extension (003 documents no DELETE). Releases every ledger line the reconciliation "
                           "holds and gives its period's days back, so that the period can be reconciled again; "
                           "answers 204 without a body. 409 while it is PENDING or PROCESSING (withdraw it once "
                           "matching has ended), or when a manual change or a re-run of it landed first (read it "
                           "again). A withdrawal that was interrupted is finished by calling again; meanwhile the "
                           f"reconciliation takes no other change. Needs {CREATE}.",
               responses=_responses(204, None, "Withdrawn (no body)", 400, 404, 409))
def withdraw(reconciliation_id: PathId) -> Response[Any]:
    container().reconciliations.withdraw(_caller(CREATE), reconciliation_id)
    return Response(status_code=204, content_type="application/json", body=None)


@router.get(f"{PREFIX}/<reconciliation_id>/entries", summary="List a reconciliation's entries", tags=TAGS,
            description="Entries with their match status and, as our extension, the explanation of each: the rule, "
                        "the score and its parts, the amount and date deltas, the runner-up and why it lost, the "
                        f"suggestions below the auto threshold. Reads only the page's result chunks. Needs {READ}.",
            responses=_responses(200, EntryList, "A page of entries", 400, 404))
def list_entries(reconciliation_id: PathId, page_number: PageNumber = 1, page_size: PageSize = 20,
                 match_status: Annotated[MatchStatus | None, Query(alias="filter[matchStatus]")] = None
                 ) -> Response[Any]:
    rec, records, total = container().reconciliations.queries.entries_page(
        _caller(READ), reconciliation_id, match_status, page_number, page_size)
    return answer(page_of([entry_resource(rec.id, r) for r in records], total, page_number, page_size,
                          f"{PREFIX}/{rec.id}/entries", _query()))


@router.patch(f"{PREFIX}/<reconciliation_id>/entries/<entry>", summary="Match or unmatch an entry by hand",
              tags=TAGS, description="Our extension. matchStatus MANUAL with matchedStatementId matches the entry "
                                     "to that ledger line (409 when another entry holds the line); UNMATCHED takes "
                                     "the match away. Counts and pages follow at once; manual decisions survive "
                                     f"re-runs. The reconciliation must be COMPLETED or PARTIALLY_MATCHED. Needs "
                                     f"{CREATE}.",
              responses=_responses(200, EntryDocument, "The entry", 400, 404, 409))
def change_entry(reconciliation_id: PathId, entry: PathId, body: EntryChangeRequest) -> Response[Any]:
    tenant = _caller(CREATE)
    a = body.data.attributes
    manual = container().reconciliations.manual
    if a.match_status == "MANUAL":
        if not a.matched_statement_id:
            raise Invalid("matchedStatementId is required to match by hand", "matchedStatementId")
        record = manual.match(tenant, reconciliation_id, entry, a.matched_statement_id)
    else:
        record = manual.unmatch(tenant, reconciliation_id, entry)
    return answer({"data": entry_resource(reconciliation_id, record)})


@router.post(f"{PREFIX}/<reconciliation_id>/rerun", summary="Match again (new ledger lines)", tags=TAGS,
             description="Our extension. Runs matching again on a COMPLETED or PARTIALLY_MATCHED reconciliation, "
                         "keeping manual decisions; answers 202 with status PROCESSING. Needs "
                         f"{CREATE}.",
             responses=_responses(202, ReconciliationDocument, "The reconciliation, PROCESSING again", 404, 409))
def rerun(reconciliation_id: PathId) -> Response[Any]:
    rec = container().reconciliations.manual.rerun(_caller(CREATE), reconciliation_id)
    return answer(reconciliation_document(rec), 202)


#: the path parameters as the dialect's answers name them (a reconciliation `id`, as its 404 does)
_PATH_NAMES = {"reconciliation_id": "id", "entry": "entryId"}


def field_name(loc: tuple[Any, ...] | list[Any], error_type: str = "") -> str:
    """A field as the dialect names it: an attribute by its path from `data.attributes` with indexes in
    brackets (`entries[1].amount`, as the checks after validation name them), anything else by its path from
    the document (`data.type`); a body that is not JSON is `body`."""
    if error_type == "json_invalid":
        return "body"
    if len(loc) == 2 and loc[0] == "path":  # a path parameter, by the document's name for it
        return _PATH_NAMES.get(str(loc[1]), str(loc[1]))
    parts = [p for p in loc if p not in ("body", "query", "path")]
    if parts[:2] == ["data", "attributes"] and len(parts) > 2:
        parts = parts[2:]
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def invalid_request(exc: RequestValidationError) -> Response[Any]:
    """A request the models refused: 400 VALIDATION naming the field, or 422 for too many entries."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    field = field_name(first.get("loc", ()), str(first.get("type", "")))
    if first.get("type") == "too_long" and field == "entries":
        return answer(Unprocessable(f"too many entries: at most {first.get('ctx', {}).get('max_length')} per "
                                    "request", details={"field": field}).body(), 422)
    message = f"{field}: {exactjson.message(first, str(first.get('msg', 'invalid')))}"
    body = Invalid(message, field, problems=[
        {"field": field_name(e.get("loc", ()), str(e.get("type", ""))),
         "message": exactjson.message(e, str(e.get("msg", "invalid"))), "type": e.get("type", "invalid")}
        for e in errors[:20]]).body()
    return answer(body, 400)

