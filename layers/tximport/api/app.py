"""The API resolver: routers included, errors mapped to HTTP once, OpenAPI from the code."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.utilities.typing import LambdaContext

from tximport import exactjson
from tximport.api import sessions as session_routes
from tximport.api.access import is_public, is_public_request, scope_needed
from tximport.api.envelope import domain_error, error_response
from tximport.api.limits import LARGEST_BODY_BYTES, MAX_BODY_BYTES, check_body
from tximport.api.reconciliation_models import PREFIX as RECONCILIATIONS
from tximport.api.reconciliation_views import error_answer
from tximport.api.resolver import ThreadLocalHttpResolver
from tximport.api.routes import bankaccounts, fileformats, imports, public, reconciliations, settings, transactions
from tximport.api.sessions import catalog as sessions_catalog
from tximport.api.sessions import context as sessions_context
from tximport.api.sessions import enrichment as sessions_enrichment
from tximport.api.sessions import http as sessions_http
from tximport.api.sessions import sessions as sessions_sessions
from tximport.api.sessions import staged as sessions_staged
from tximport.api.sessions import workspaces as sessions_workspaces
from tximport.auth import bearer_token, gateway_claims, tenant_from_claims, token_scopes
from tximport.errors import DomainError, Unauthorized
from tximport.formats.detect import DETECT_SAMPLE_SIZE
from tximport.reconciliation.errors import ReconciliationError
from tximport.runtime import container

logger = Logger(service="tximport")

# request state per thread: the local gateway resolves requests concurrently, as API Gateway invokes;
# JSON bodies with exact decimals: a number such as 49.90 is read as Decimal, never through float
app = ThreadLocalHttpResolver(enable_validation=True, json_body_deserializer=exactjson.loads_request)


def _bodiless_json(resolver: Any, next_middleware: NextMiddleware) -> Response[Any]:
    """A route that reads no body (`POST .../confirm`) still refuses one that is no JSON, as the routes that read
    one do (400 ValidationError, target body, in the route's dialect, after its access checks): a broken request
    never changes anything."""
    route = resolver.context.get("_route")
    event = resolver.current_event
    content_type = str((event.headers or {}).get("content-type", "")).strip().lower()
    if route is not None and not route.dependant.body_params and event.body \
            and (not content_type or content_type.startswith("application/json")):
        try:
            exactjson.loads_request(event.decoded_body)  # a member given twice too
        except json.JSONDecodeError as exc:
            raise RequestValidationError([{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
                                           "input": {}, "ctx": {"error": exc.msg}}]) from exc
    return next_middleware(resolver)


app.use(middlewares=[_bodiless_json])
app.include_router(fileformats.router)
app.include_router(bankaccounts.router)
app.include_router(imports.router)
app.include_router(public.router)
app.include_router(settings.router)
app.include_router(transactions.router)
app.include_router(reconciliations.router)
# the import-sessions dialect (errors in its own shape: see _sessions_path)
for _router in (sessions_workspaces.router, sessions_sessions.router, sessions_staged.router,
                sessions_enrichment.router, sessions_catalog.router):
    app.include_router(_router)

OPENAPI_TITLE = "tximport API"
OPENAPI_VERSION = "0.1.0"
OPENAPI_DESCRIPTION = """Import bank statement files (CSV, QIF, JSON, OFX, camt.052/053/054, MT940) into a ledger.

Flow: `POST /imports` answers a presigned upload URL; upload the file there; poll `GET /imports/{import_id}`
until `awaitingConfirmation`; review (`/reviewtransactions`, `/errordetails`, `/dryrun`); `POST .../confirm`;
poll until `complete`. `POST /fileformats/detect` tells the format of a file from its first bytes.

Every answer is the envelope `{"data", "links", "meta", "error"}`; errors set `error` to
`{"code", "message", "target"?, "details"?}` and `data` to null. Money the file-import document writes
as an integer (`transactionAmount`, `transactionCreditSum`) is an integer of the currency's minor units
(ISO 4217 exponent), with the exact decimal string beside it (`amount`, `creditAmount`); datetimes are
ISO 8601 with milliseconds and Z. Every route except the file-format catalogue needs a bearer JWT
carrying the `organisationId` and `companyId` claims (locally: `tximport dev-token`); the public
transactions endpoint needs the scope `api:transactions:create`.

Reconciliations (`/baas/api/v1/reconciliations`) follow their own document: JSON:API resources
(`{"data": {"type", "id", "links", "attributes"}, "links"}`), amounts as JSON numbers, pages with
`page[number]`/`page[size]`, errors `{"code", "message", "statusCode", "details"}`, and permissions from the
token's `permissions` claim (BAAS_RECONCILIATION_CREATE, BAAS_RECONCILIATION_READ)."""


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API, as committed in docs/openapi.json (`make openapi`).

    Request validation errors are answered with 400 ValidationError (see `_invalid_request`), so the
    resolver's generic 422 answer is replaced; 204 answers carry no content; the catalogue is public;
    header parameters are tidied by `_tidy_header`.
    """
    doc: dict[str, Any] = json.loads(app.get_openapi_json_schema(
        title=OPENAPI_TITLE, version=OPENAPI_VERSION, description=OPENAPI_DESCRIPTION,
        security_schemes={"bearerAuth": HTTPBearer(bearerFormat="JWT", description=(
            "A JWT with organisationId and companyId claims (API Gateway's JWT authorizer verifies it)."))},
        security=[{"bearerAuth": []}]))
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.get("responses", {})
            # the resolver's generic 422 goes; the dialect's own 422 UNPROCESSABLE (documented with its
            # example, on the routes that answer it) stays
            if "UNPROCESSABLE" not in json.dumps(responses.get("422", {})):
                responses.pop("422", None)
            if "204" in responses:
                responses["204"].pop("content", None)
            if is_public(method, path):
                operation["security"] = []
            body = operation.get("requestBody", {}).get("content", {})
            if "application/json" in body or (method != "get" and not body):  # (a route without a body refuses one too)
                _body_refusals(path, responses)
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header":
                    _tidy_header(parameter)
    components = doc.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return doc


def _body_refusals(path: str, responses: dict[str, Any]) -> None:
    """The refusals every route taking a JSON body, or none, answers before its own validation (`_over_limits`,
    `_unsupported_media_type`), in the route's dialect: 413 for a body over its limit and, in the file-import and
    public dialects, 415 for a body of another media type (the session and reconciliation dialects answer 400)."""
    schema = responses.get("400", {}).get("content", {}).get("application/json", {}).get("schema")
    largest = LARGEST_BODY_BYTES if path.startswith(RECONCILIATIONS) else MAX_BODY_BYTES
    answers = [(413, "RequestTooLarge", f"body: a request body has at most {largest} bytes", "body",
                f"The body is larger than {largest} bytes, whatever it holds")]
    if not (session_routes.owns(path) or path.startswith(RECONCILIATIONS)):
        answers.append((415, "UnsupportedMediaType", "request bodies are application/json, not text/plain",
                        "Content-Type", "The body is not JSON (Content-Type other than application/json or +json)"))
    for status, code, message, target, description in answers:
        example = json.loads(refusal(path, status, code, message, target)["body"])
        content: dict[str, Any] = {"examples": {code: {"summary": description, "value": example}}}
        if schema is not None:
            content["schema"] = schema
        responses.setdefault(str(status), {"description": description, "content": {"application/json": content}})


def _tidy_header(parameter: dict[str, Any]) -> None:
    """A header parameter named as clients write it (the resolver lowercases it; HTTP ignores case),
    an optional one typed as a plain string rather than `string | null`, with its example."""
    schema = parameter.get("schema", {})
    parameter["name"] = schema.get("title", parameter["name"])
    variants = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if not parameter.get("required") and len(variants) == 1:
        parameter["schema"] = {**variants[0], "title": parameter["name"]}
    if schema.get("examples"):
        parameter["example"] = schema["examples"][0]


@app.get("/openapi.json", include_in_schema=False)
def _openapi_json() -> Response[dict[str, Any]]:
    return Response(status_code=200, content_type="application/json", body=openapi_document())


@cache
def _docs_html() -> str:
    """Swagger UI with its script and styles inlined from the Powertools package: no CDN needed."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    assets = Path(swagger_ui.__file__).parent
    spec = json.dumps(openapi_document()).replace("</", "<\\/")  # keep the JSON from closing the <script>
    return generate_swagger_html(spec, (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
                                 (assets / "swagger-ui.min.css").read_text(encoding="utf-8"), "", None, False)


@app.get("/docs", include_in_schema=False)
def _docs() -> Response[str]:
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=_docs_html())


def _sessions_path() -> bool:
    """True when the current request is a route of the import-sessions dialect."""
    try:
        return session_routes.owns(app.current_event.path)
    except Exception:  # no current event
        return False


@app.exception_handler(DomainError)
def _domain_error(exc: DomainError) -> Response[str]:
    if _sessions_path():
        return sessions_http.from_domain(exc)
    return domain_error(exc)


@app.exception_handler(ReconciliationError)
def _reconciliation_error(exc: ReconciliationError) -> Response[str]:
    # the reconciliation dialect answers {"code", "message", "statusCode", "details"}
    return error_answer(exc)


@app.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[str]:
    errors = exc.errors()
    if app.current_event.path.startswith(RECONCILIATIONS) and tuple(errors[0].get("loc", ()))[:1] != ("response",):
        return reconciliations.invalid_request(exc)
    if errors and tuple(errors[0].get("loc", ()))[:1] == ("response",):
        # our answer did not match its own model: a bug on our side, never the caller's
        logger.error("response validation failed", extra={"errors": errors})
        return error_response(500, "InternalError", "the service produced an invalid response")
    if _sessions_path():
        # access before validation: the header's workspace is checked before the body's faults are told
        refused = sessions_context.access_refusal(app)
        return sessions_http.from_domain(refused) if refused else sessions_http.from_validation(errors)
    details = []
    for err in errors:
        if err.get("type") == "json_invalid":  # its loc is the character where parsing stopped, no field
            at = next((p for p in err.get("loc", ()) if isinstance(p, int)), None)
            where = f" (it breaks off at character {at})" if at is not None else ""
            said = exactjson.message(err, "")
            details.append({"target": "body", "code": "json_invalid",
                            "message": f"the request body is not valid JSON{f': {said}' if said else where}"})
            continue
        details.append({"target": _target(err.get("loc", ())), "message": err.get("msg", "invalid"),
                        "code": err.get("type", "invalid")})
    first = details[0] if details else {"target": "body", "message": "invalid request"}
    return error_response(400, "ValidationError", f"{first['target']}: {first['message']}",
                          target=first["target"], details=details)


def _target(loc: Sequence[int | str]) -> str:
    """A validation error's place as the other errors name places: members by dots, array items by their index
    in brackets (`data.bankAccounts[0].productDates`); `body` for the body as a whole."""
    target = ""
    for part in loc:
        if part == "body":
            continue
        target += f"[{part}]" if isinstance(part, int) else f".{part}" if target else str(part)
    return target or "body"


@app.exception_handler(UnicodeDecodeError)
def _undecodable_body(_: UnicodeDecodeError) -> Response[str]:
    # API Gateway hands non-UTF-8 bodies over base64-encoded; JSON must be UTF-8 text
    if _sessions_path():
        refused = sessions_context.access_refusal(app)
        return sessions_http.from_domain(refused) if refused else \
            sessions_http.error(400, "the request body is not UTF-8 encoded JSON", "ValidationError", "body")
    return error_response(400, "ValidationError", "the request body is not UTF-8 encoded JSON", target="body")


def _methods_of(path: str) -> list[str]:
    """The methods the routes of `path` answer (none: no route has the path)."""
    routes = app._static_routes + app._dynamic_routes  # noqa: SLF001 - where the resolver keeps its routes
    return sorted({route.method for route in routes if route.rule.match(path)})


@app.not_found
def _not_found(_: Exception) -> Response[str]:
    """404 RouteNotFound; 405 MethodNotAllowed (with `Allow`) for a path that routes answer with other methods
    (the reconciliation dialect: 404 NOT_FOUND, reason MethodNotAllowed, with `Allow`)."""
    path, method = app.current_event.path, app.current_event.http_method.upper()
    allowed = [m for m in _methods_of(path) if m != method]
    status, code = (405, "MethodNotAllowed") if allowed else (404, "RouteNotFound")
    message = f"{path} answers {', '.join(allowed)}, not {method}" if allowed else "no such route"
    at_fault = "method" if allowed else None  # the request's method is what is wrong
    if _sessions_path():
        answer = sessions_http.error(status, message, code, at_fault)
    elif path.startswith(RECONCILIATIONS):  # its document's codes know no 405: NOT_FOUND, reason MethodNotAllowed
        answer = Response(status_code=404, content_type="application/json",
                          body=refusal(path, 404, code, message, at_fault)["body"])
    else:
        answer = error_response(status, code, message, target=at_fault)
    if allowed:
        answer.headers["Allow"] = ", ".join(allowed)
    return answer


def _unsupported_media_type(event: dict[str, Any]) -> dict[str, Any] | None:
    """Bodies are JSON: another declared content type is a 415 (not a parser crash further in); on the session and
    reconciliation routes a 400 with code UnsupportedMediaType (003: VALIDATION, reason UnsupportedMediaType)."""
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if not event.get("body") or not content_type or content_type == "application/json" \
            or content_type.endswith("+json"):
        return None
    path = str(event.get("rawPath") or "")
    if session_routes.owns(path) and content_type == "multipart/form-data" and path.endswith("/upload"):
        return None
    # the dialects' documents know 400 for a request they refuse (003: code VALIDATION), not 415
    status = 400 if session_routes.owns(path) or path.startswith(RECONCILIATIONS) else 415
    return _refusal(event, status, "UnsupportedMediaType",
                    f"request bodies are application/json, not {content_type}", "Content-Type")


def _plain_json_content_type(event: dict[str, Any]) -> None:
    """A JSON body's media type as the resolver's validation reads it: media types are case-insensitive
    (`Application/JSON`) and `application/<x>+json` is JSON too (RFC 9110 8.3.1, RFC 6839), but the
    resolver takes only a lower-case `application/json`."""
    headers = event.get("headers") or {}
    for name, value in list(headers.items()):
        if str(name).lower() != "content-type":
            continue
        media_type, _, parameters = str(value).partition(";")
        media_type = media_type.strip().lower()
        if media_type == "application/json" or media_type.endswith("+json"):
            headers[name] = "application/json" + (f";{parameters}" if parameters else "")


def _unauthenticated(event: dict[str, Any]) -> dict[str, Any] | None:
    """A token the authorizer verified but that names no tenant we could key data by (no or unsafe
    organisationId/companyId claims) is a 401 before anything else, a malformed body included."""
    authorizer = (event.get("requestContext") or {}).get("authorizer")
    if not authorizer:
        return None  # a public route (a protected one without claims is refused by tenant_of)
    try:
        tenant_from_claims((authorizer.get("jwt") or {}).get("claims"))
    except Unauthorized as exc:
        return _refusal(event, 401, exc.code, exc.message, None)
    return None


def _unscoped(event: dict[str, Any]) -> dict[str, Any] | None:
    """A verified token without the scope its route needs (access.SCOPED_ROUTES) is a 403 before the body
    is read: whatever it sends (an invalid body included), it may not use the route."""
    context = event.get("requestContext") or {}
    needed = scope_needed(str((context.get("http") or {}).get("method", "")), str(event.get("rawPath") or ""))
    jwt_context = (context.get("authorizer") or {}).get("jwt") or {}
    if needed is None or not jwt_context.get("claims"):
        return None  # a route that needs no scope, or no token at all (the route answers 401)
    if needed in token_scopes(jwt_context.get("claims"), jwt_context.get("scopes")):
        return None
    return _refusal(event, 403, "InsufficientScope", f"this route needs a token with the scope {needed}",
                    "Authorization")


def _unpermitted(event: dict[str, Any]) -> dict[str, Any] | None:
    """A verified token without the reconciliation permission its route needs is a 403 before the body is
    validated (routes/reconciliations.refused_permission)."""
    context = event.get("requestContext") or {}
    claims = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims")
    if not claims or not str(event.get("rawPath") or "").startswith(RECONCILIATIONS):
        return None
    refused = reconciliations.refused_permission(str((context.get("http") or {}).get("method", "")), claims)
    if refused is None:
        return None
    return {"statusCode": refused.status_code, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(refused.body(), separators=(",", ":")), "isBase64Encoded": False}


def _over_limits(event: dict[str, Any]) -> dict[str, Any] | None:
    """A JSON body that breaks a limit of api/limits.py is answered here, before anything parses it."""
    raw = event.get("body")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if not raw or (content_type and content_type != "application/json" and not content_type.endswith("+json")):
        return None
    try:
        data = base64.b64decode(raw) if event.get("isBase64Encoded") else str(raw).encode("utf-8", "surrogatepass")
        text = data.decode("utf-8")
    except (ValueError, UnicodeError):
        return _refusal(event, 400, "ValidationError", "the request body is not UTF-8 encoded JSON", "body")
    # a new reconciliation carries up to 20,000 entries: it may be as large as Lambda takes
    largest = LARGEST_BODY_BYTES if str(event.get("rawPath") or "").startswith(RECONCILIATIONS) else MAX_BODY_BYTES
    violation = check_body(text, len(data), largest)
    if violation is None:
        return None
    target, path = violation.target, str(event.get("rawPath") or "")
    if path == "/fileformats/detect" and violation.code == "StringTooLong" and target == "data.content":
        # a sample too long for any string is too large a sample, as the route says of one over its size
        return refusal(path, 400, "DetectSampleTooLarge", f"content holds more than {DETECT_SAMPLE_SIZE} bytes once "
                       "decoded: send only the first bytes of the file", target,
                       details=[{"maxBytes": DETECT_SAMPLE_SIZE}])
    if violation.path and path.startswith(RECONCILIATIONS):
        target = reconciliations.field_name(violation.path)
    elif violation.path and session_routes.owns(path):
        target = sessions_http.field_name(violation.path)  # `[0].amount`, as its validation errors name it
    return _refusal(event, violation.status, violation.code, f"{target}: {violation.message}", target)


#: how the reconciliation dialect names a status it refuses with (its documented codes, and its 401)
_DIALECT_CODES = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 415: "VALIDATION", 413: "VALIDATION",
                  400: "VALIDATION"}


def _refusal(event: dict[str, Any], status: int, code: str, message: str, target: str | None) -> dict[str, Any]:
    """An answer made before the resolver runs, in the error shape of the route's dialect (refusal)."""
    return refusal(str(event.get("rawPath") or ""), status, code, message, target)


def refusal(path: str, status: int, code: str, message: str, target: str | None,
            details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A refusal of a request for `path` as a Lambda proxy result, in the error shape of the path's
    dialect: the core envelope, the import sessions' `{"error", "code", "field"}`, or the
    reconciliations' `{"code", "message", "statusCode", "details"}` (our code in details.reason, the
    field in details.field). The local gateway answers its 401s with it too, as the function does on AWS."""
    body: dict[str, Any]
    if session_routes.owns(path):
        return sessions_http.raw(status, message, code, target)
    if path.startswith(RECONCILIATIONS):
        body = {"code": _DIALECT_CODES.get(status, "VALIDATION"), "message": message, "statusCode": status,
                "details": {"reason": code, **({"field": target} if target else {})}}
    else:
        error = {"code": code, "message": message, **({"target": target} if target else {}),
                 **({"details": details} if details else {})}
        body = {"data": None, "links": None, "meta": {}, "error": error}
    return {"statusCode": status, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body, separators=(",", ":")), "isBase64Encoded": False}


def _authenticate(event: dict[str, Any]) -> dict[str, Any] | None:
    """Verify the bearer token of a request for a protected route, as API Gateway's JWT authorizer would,
    and hand its claims on where the authorizer puts them; a refusal is a 401 in the route's dialect.

    Claims an authorizer already verified (the local gateway's) are kept. A request no explicit route
    matched (routeKey `$default`) goes on to the resolver, which answers 404 RouteNotFound (or 401 from a
    route reached that way without claims)."""
    context = event.setdefault("requestContext", {})
    method = str((context.get("http") or {}).get("method", ""))
    if event.get("routeKey") == "$default" or is_public_request(method, str(event.get("rawPath", ""))):
        return None
    if ((context.get("authorizer") or {}).get("jwt") or {}).get("claims"):
        return None
    verifier = container().token_verifier
    if verifier is None:
        return None  # no issuer configured: routes find no claims and answer 401
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    try:
        claims = verifier.verify(bearer_token(headers.get("authorization")))
        as_strings = gateway_claims(claims)
    except Unauthorized as exc:  # answered in the route's dialect
        return _refusal(event, 401, exc.code, exc.message, "Authorization")
    scope = claims.get("scope")
    context["authorizer"] = {"jwt": {"claims": as_strings,
                                     "scopes": scope.split() if isinstance(scope, str) else None}}
    return None


def resolve(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Resolve one API Gateway event. A 204 carries no body (the validator would print `null`). A body
    that is not JSON (415) or breaks a limit of api/limits.py is refused before anything parses it, and
    a token that is not valid or names no tenant before that (401), as API Gateway's authorizer would, and
    then a token without the scope its route needs (403)."""
    refused = _authenticate(event) or _unauthenticated(event) or _unscoped(event) or _unpermitted(event) \
        or _unsupported_media_type(event) or _over_limits(event)
    if refused is not None:
        return refused
    _plain_json_content_type(event)
    result = app.resolve(event, context)
    if result.get("statusCode") == 204:
        result["body"] = ""
        result.get("headers", {}).pop("Content-Type", None)
    return result
