"""The OpenAPI document: committed, in step with the code, described, and served with its docs page."""

from __future__ import annotations

import json
from pathlib import Path

from tximport.api import sessions as session_routes
from tximport.api.access import is_public
from tximport.api.app import openapi_document
from tximport_cli.commands import openapi_text
from tximport_cli.local.lambdas import FakeLambdaContext, Handler

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")


def _operations(doc: dict) -> list[tuple[str, str, dict]]:
    return [(m, p, op) for p, item in doc["paths"].items() for m, op in item.items() if m in METHODS]


def test_committed_document_matches_the_code():
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    assert committed == openapi_text(), (
        "docs/openapi.json is out of date with the API code: regenerate it with `make openapi` "
        "(or `.venv/bin/tximport openapi --output docs/openapi.json`) and commit it")


def test_document_is_openapi_31_with_bearer_jwt_and_public_catalogue():
    doc = openapi_document()
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] == "tximport API" and doc["info"]["description"]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": doc["components"]["securitySchemes"]["bearerAuth"]["description"]}
    assert doc["security"] == [{"bearerAuth": []}]
    for method, path, op in _operations(doc):
        assert ("security" in op and op["security"] == []) == is_public(method, path), path
    public = {(method, path) for method, path, op in _operations(doc) if op.get("security") == []}
    assert public == {("get", "/fileformats"), ("get", "/fileformats/{file_format}/template")}


def test_every_operation_has_a_summary_a_documented_answer_and_error_examples():
    doc = openapi_document()
    for method, path, op in _operations(doc):
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        responses = op["responses"]
        if not path.startswith("/baas/"):  # the reconciliation dialect documents 422 UNPROCESSABLE
            assert "422" not in responses, f"{where}: validation errors are 400, not 422"
        ok = [code for code in responses if code.startswith("2")]
        # one success answer; a revert answers 202 while it runs and 200 once done (qa46b 1)
        assert len(ok) == 1 or (where, sorted(ok)) == ("POST /imports/{import_id}/revert", ["200", "202"]), where
        if ok[0] == "204":
            assert "content" not in responses["204"], where
        elif path != "/fileformats/{file_format}/template":
            for code in ok:
                schema = responses[code]["content"]["application/json"]["schema"]
                assert "$ref" in schema, f"{where}: the answer has a model"
        assert "429" in responses, where
        if not is_public(method, path):
            assert responses["401"]["content"]["application/json"]["examples"], where
        for code, answer in responses.items():
            if code.startswith(("4", "5")):
                assert answer["content"]["application/json"]["examples"], f"{where} {code}"


def test_every_json_body_route_declares_its_body_refusals_in_its_dialect():
    """qa46b 2: a body over the limit (413) and a body of another media type (415; 400 in the session and
    reconciliation dialects, which declare 400) are answered by every JSON body route, before its own
    validation; the document declared 413 only on the session upload."""
    doc = openapi_document()
    checked = 0
    for method, path, op in _operations(doc):
        body = op.get("requestBody", {}).get("content", {})
        if "application/json" not in body and (method == "get" or body):  # (qa48a 5: body-less routes too)
            continue
        checked += 1
        responses, where = op["responses"], f"{method.upper()} {path}"
        example = next(iter(responses["413"]["content"]["application/json"]["examples"].values()))["value"]
        assert "RequestTooLarge" in json.dumps(example), where
        dialect = path.startswith("/baas/") or session_routes.owns(path)
        assert ("415" in responses) == (not dialect), where
    assert checked >= 20


def test_money_is_documented_as_the_documents_integers_with_the_exact_decimal_beside():
    schemas = openapi_document()["components"]["schemas"]
    for row in ("ReviewRowOut", "LedgerRowOut"):
        properties = schemas[row]["properties"]
        assert properties["transactionAmount"]["type"] == "integer"
        assert properties["amount"]["type"] == "string" and properties["amount"]["pattern"]
        assert properties["datePosted"]["format"] == "date-time"
    summary = schemas["SummaryOut"]["properties"]
    assert summary["transactionCreditSum"]["type"] == summary["transactionDebitSum"]["type"] == "integer"
    assert summary["transactionRangeStartDate"]["anyOf"][0]["format"] == "date-time"
    assert schemas["ImportOut"]["properties"]["created"]["format"] == "date-time"
    assert "InsufficientScope" in json.dumps(openapi_document()["paths"]["/api/public/v1/transactions"])


def _get(api_handler: Handler, path: str) -> dict:
    event = {"version": "2.0", "routeKey": f"GET {path}", "rawPath": path, "rawQueryString": "",
             "headers": {}, "requestContext": {"http": {"method": "GET", "path": path, "sourceIp": "127.0.0.1"},
                                               "requestId": "r", "stage": "$default"},
             "isBase64Encoded": False}
    return api_handler(event, FakeLambdaContext("tximport-api"))


def test_the_api_serves_the_document_and_an_offline_docs_page(api_handler):
    spec = _get(api_handler, "/openapi.json")
    assert spec["statusCode"] == 200
    assert json.loads(spec["body"]) == openapi_document()
    page = _get(api_handler, "/docs")
    assert page["statusCode"] == 200
    assert page["headers"]["Content-Type"].startswith("text/html")
    assert "SwaggerUIBundle" in page["body"] and "/imports/{import_id}/confirm" in page["body"]
    assert "https://" not in page["body"].split("<script>")[0]  # no stylesheet from a CDN
    assert "cdn." not in page["body"].lower()
