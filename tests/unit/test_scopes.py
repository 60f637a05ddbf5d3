"""A token without the scope a route needs is refused with 403 before anything reads the request's body:
an invalid, malformed, non-JSON or oversized body changes nothing about the answer. With the scope, the
same bodies get their own refusals (the scope is checked first, not instead)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tximport.api.access import TRANSACTIONS_CREATE, scope_needed
from tximport.api.app import resolve

PATH = "/api/public/v1/transactions"

#: (what, body, content type): bodies the route would refuse with 400, 413 or 415 on their own
BAD_BODIES = [
    ("no transactions", json.dumps({"transactions": []}), "application/json"),
    ("transactions not a list", json.dumps({"transactions": "all of them"}), "application/json"),
    ("not an object", "[]", "application/json"),
    ("malformed JSON", '{"transactions": [', "application/json"),
    ("nested 5,000 deep", "[" * 5000 + "]" * 5000, "application/json"),
    ("not JSON at all", "amount=5", "application/x-www-form-urlencoded"),
    ("over the body limit", json.dumps({"transactions": ["x" * 100] * 20_000}), "application/json"),
]


def _event(body: str, content_type: str, claims: dict[str, Any]) -> dict[str, Any]:
    return {"version": "2.0", "routeKey": f"POST {PATH}", "rawPath": PATH, "rawQueryString": "",
            "headers": {"content-type": content_type}, "body": body, "isBase64Encoded": False,
            "requestContext": {"http": {"method": "POST", "path": PATH, "sourceIp": "127.0.0.1"},
                               "requestId": "r", "stage": "$default",
                               "authorizer": {"jwt": {"claims": claims, "scopes": None}}}}


TENANT = {"organisationId": "o", "companyId": "c"}


@pytest.mark.parametrize(("what", "body", "content_type"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
@pytest.mark.parametrize("scope", [None, "api:transactions:read", "openid profile"])
def test_without_the_scope_any_body_is_403(what: str, body: str, content_type: str, scope: str | None):
    claims = {**TENANT, **({"scope": scope} if scope else {})}
    answer = resolve(_event(body, content_type, claims), None)  # type: ignore[arg-type]
    assert answer["statusCode"] == 403, what
    assert json.loads(answer["body"])["error"] == {
        "code": "InsufficientScope", "target": "Authorization",
        "message": f"this route needs a token with the scope {TRANSACTIONS_CREATE}"}


@pytest.mark.parametrize(("what", "body", "content_type"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
@pytest.mark.parametrize("claims", [{"scope": f"openid {TRANSACTIONS_CREATE}"}, {"scp": f"[{TRANSACTIONS_CREATE}]"}])
def test_with_the_scope_the_same_bodies_get_their_own_refusals(what: str, body: str, content_type: str,
                                                               claims: dict[str, str]):
    answer = resolve(_event(body, content_type, {**TENANT, **claims}), None)  # type: ignore[arg-type]
    assert answer["statusCode"] in (400, 413, 415), what
    assert json.loads(answer["body"])["error"]["code"] != "InsufficientScope"


def test_the_routes_that_need_a_scope():
    assert scope_needed("POST", PATH) == TRANSACTIONS_CREATE
    assert scope_needed("post", PATH) == TRANSACTIONS_CREATE
    assert scope_needed("GET", PATH) is None
    assert scope_needed("POST", PATH + "/x") is None
    assert scope_needed("POST", "/imports") is None
