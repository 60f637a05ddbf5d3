"""Answers of the sessions dialect: bodies serialised here (`tximport.exactjson`: Decimal as exact JSON
number text, never through float; Powertools' default encoder writes Decimal as a string) and errors in
the document's shape with a machine-readable code and the field at fault beside the message."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools.event_handler import Response

from tximport import exactjson
from tximport.errors import DomainError


def respond(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=exactjson.dumps(body), headers=headers)


def no_content() -> Response[str]:
    return Response(status_code=204, content_type="application/json", body="")


def error(status: int, message: str, code: str, field: str | None = None,
          details: list[dict[str, Any]] | None = None) -> Response[str]:
    body: dict[str, Any] = {"error": message, "code": code}
    if field:
        body["field"] = field
    if details:
        body["details"] = details
    return respond(body, status)


def from_domain(exc: DomainError) -> Response[str]:
    return error(exc.status_code, exc.message, exc.code, exc.target, exc.details or None)


#: what pydantic puts in a location for the member of a union it tried (`BindRequest`, `list[BindRequest]`)
_UNION_MEMBER = re.compile(r"^(?:[A-Z][A-Za-z0-9]*|[a-z-]+\[.*\])$")


def field_name(loc: tuple[Any, ...]) -> str:
    """`("body", 0, "amount")` -> `[0].amount`; `("header", "x-workspace-id")` -> `X-Workspace-ID`; the union
    member a body was tried as is left out (`("body", "BindRequest", "staged_id")` -> `staged_id`)."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    parts = [p for p in parts if not (isinstance(p, str) and _UNION_MEMBER.match(p))]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


#: the errors of a body read as the other member of a union of shapes
_SHAPE_ERRORS = frozenset({"dict_type", "list_type", "model_type", "model_attributes_type"})


def _message(error: Mapping[str, Any]) -> str:
    """A validation error's message (our validators' own words without pydantic's `Value error, ` before them); a
    body that names a member twice says which (`tximport.exactjson`)."""
    return exactjson.message(error, str(error.get("msg", "invalid")).removeprefix("Value error, "))


#: the codes of their own that fields keep when their value is malformed (README's error codes)
_FIELD_CODES = {"billing_month": "InvalidBillingMonth"}


def from_validation(errors: Sequence[Mapping[str, Any]]) -> Response[str]:
    details = [{"field": "body" if e.get("type") == "json_invalid" else field_name(tuple(e.get("loc", ()))),
                "message": _message(e), "code": e.get("type", "invalid")} for e in errors]
    # a body of either shape (an object or a list of them, e.g. bind's): the error of the shape the client sent
    # says what is wrong; the other shape's "should be a valid dictionary / list" does not
    shaped = [d for d in details if d["code"] not in _SHAPE_ERRORS]
    first = (shaped or details or [{"field": "body", "message": "invalid request"}])[0]
    code = _FIELD_CODES.get(first["field"], "ValidationError")
    return error(400, f"{first['field']}: {first['message']}", code, first["field"], details)


def raw(status: int, message: str, code: str, field: str | None = None) -> dict[str, Any]:
    """An error as a Lambda proxy result (for answers given before the resolver runs)."""
    body = {"error": message, "code": code, **({"field": field} if field else {})}
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body),
            "isBase64Encoded": False}
