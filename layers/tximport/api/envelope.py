"""The response envelope `{"data", "links", "meta", "error"}` of the reference API."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.json_encoder import Encoder

from tximport.errors import DomainError

BodyT = TypeVar("BodyT")


def envelope(data: Any = None, *, links: dict[str, Any] | None = None, meta: dict[str, Any] | None = None,
             status: int = 200) -> Response[dict[str, Any]]:
    body = {"data": data, "links": links, "meta": meta or {}, "error": None}
    # a plain dict: the resolver serialises it (Decimal as a string, never a float)
    return Response(status_code=status, content_type="application/json", body=body)


def answer(body: BodyT, *, status: int = 200, headers: dict[str, str] | None = None) -> Response[BodyT]:
    """A typed answer: the route's return annotation (`Response[<Envelope>]`) validates and writes it."""
    return Response(status_code=status, content_type="application/json", body=body, headers=headers)


def no_content() -> Response[None]:
    # no body: api.app.resolve answers a 204 with an empty one
    return Response(status_code=204, content_type="application/json", body=None)


def error_response(status: int, code: str, message: str, *, target: str | None = None,
                   details: list[dict[str, Any]] | None = None) -> Response[str]:
    error: dict[str, Any] = {"code": code, "message": message}
    if target:
        error["target"] = target
    if details:
        error["details"] = details
    body = {"data": None, "links": None, "meta": {}, "error": error}
    return Response(status_code=status, content_type="application/json",
                    body=json.dumps(body, cls=Encoder, separators=(",", ":")))


def domain_error(exc: DomainError) -> Response[str]:
    return error_response(exc.status_code, exc.code, exc.message, target=exc.target, details=exc.details)
