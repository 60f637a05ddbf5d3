"""The documented answers of the dialect's routes (OpenAPI): the success model and the error answers
in the dialect's shape, each with an example."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from tximport.api.sessions.models import ErrorOut

_ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("Bad request: a field, the header or the file is wrong (`field` names it)",
          {"error": "billing_month: a month is written YYYY-MM, from 1900-01 to 2999-12",
           "code": "InvalidBillingMonth", "field": "billing_month"}),
    401: ("Missing, expired or invalid bearer token",
          {"error": "missing Authorization header", "code": "MissingToken"}),
    403: ("The workspace is not the caller's, or the role is missing",
          {"error": "the workspace is not one of your tenant's", "code": "WorkspaceForbidden",
           "field": "X-Workspace-ID"}),
    404: ("No such resource in this workspace", {"error": "import session 0190f7a2 not found",
                                                 "code": "SessionNotFound", "field": "id"}),
    409: ("A concurrent change, or the session is busy", {"error": "the import session is busy", "code": "SessionBusy",
                                                          "field": "id"}),
    413: ("The upload is larger than 10 MB", {"error": "the file is larger than 10485760 bytes",
                                              "code": "FileTooLarge", "field": "file"}),
    429: ("Too many requests: API Gateway throttles the caller; retry with backoff", {"message": "Too Many Requests"}),
}


def answers(model: type[BaseModel] | None, status: int = 200, *codes: int, description: str = "OK"
            ) -> dict[int, OpenAPIResponse]:
    """`responses=` of a route: its success answer and its error answers (401, 403 and 429 always)."""
    out: dict[int, OpenAPIResponse] = {}
    if model is None:
        out[status] = {"description": description}
    else:
        out[status] = {"description": description, "content": {"application/json": {"model": model}}}
    for code in sorted({*codes, 400, 401, 403, 429}):
        text, example = _ERRORS[code]
        out[code] = {"description": text, "content": {"application/json": {
            "model": ErrorOut, "examples": {"example": {"summary": text, "value": example}}}}}
    return out
