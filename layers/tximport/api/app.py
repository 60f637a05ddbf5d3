"""The API resolver: routers included, errors mapped to HTTP once, OpenAPI from the code."""

from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from tximport.api.envelope import domain_error, error_response
from tximport.api.routes import bankaccounts, fileformats, imports, public
from tximport.errors import DomainError

logger = Logger(service="tximport")

app = APIGatewayHttpResolver(enable_validation=True)
app.include_router(fileformats.router)
app.include_router(bankaccounts.router)
app.include_router(imports.router)
app.include_router(public.router)


@app.exception_handler(DomainError)
def _domain_error(exc: DomainError) -> Response:
    return domain_error(exc)


@app.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response:
    errors = exc.errors()
    if errors and tuple(errors[0].get("loc", ()))[:1] == ("response",):
        # our answer did not match its own model: a bug on our side, never the caller's
        logger.error("response validation failed", extra={"errors": errors})
        return error_response(500, "InternalError", "the service produced an invalid response")
    details = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        details.append({"target": ".".join(loc) or "body", "message": err.get("msg", "invalid"),
                        "code": err.get("type", "invalid")})
    first = details[0] if details else {"target": "body", "message": "invalid request"}
    return error_response(400, "ValidationError", f"{first['target']}: {first['message']}",
                          target=first["target"], details=details)


@app.not_found
def _not_found(_: Exception) -> Response:
    return error_response(404, "RouteNotFound", "no such route")


def resolve(event: dict, context: object) -> dict:
    """Resolve one API Gateway event. A 204 carries no body (the validator would print `null`)."""
    result = app.resolve(event, context)
    if result.get("statusCode") == 204:
        result["body"] = ""
        result.get("headers", {}).pop("Content-Type", None)
    return result
