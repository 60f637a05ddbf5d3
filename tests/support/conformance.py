"""Every answer of the import-session (000) and reconciliation (003) routes, as the HTTP tests receive
them, checked twice: against the schema our OpenAPI document gives that route and status (the typed
response models are what we answer), and against the field tables of the documents themselves (every
documented field there, of the documented type: integers stay integers, amounts numbers, dates and
datetimes in their formats, enums in their values, nulls written, never left out).

The test clients (tests/support/client.py, sessions_client.py) call `check` on every answer."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import jsonschema

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: the datetimes of the reconciliation document ("2024-01-15T10:30:00Z")
DATETIME_003 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
ROUTES = re.compile(r"^/(import-sessions|staged-transactions|baas/api/v1/reconciliations)")


@cache
def _document() -> dict[str, Any]:
    from tximport.api.app import openapi_document

    return openapi_document()


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    paths = [p for p in _document()["paths"] if ROUTES.match(p)]
    # literal segments before parameters: /import-sessions/{id}/recurring-bindings beats /{id}/{x}
    ordered = sorted(paths, key=lambda p: (p.count("{"), -len(p)))
    return [(re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$"), p) for p in ordered]


def template_of(path: str) -> str | None:
    """The OpenAPI path a concrete path is an instance of (its query string ignored)."""
    bare = path.split("?", 1)[0]
    return next((template for pattern, template in _templates() if pattern.match(bare)), None)


def schema_mismatches(method: str, path: str, status: int, body: Any) -> list[str]:
    """Where the answer departs from the schema the OpenAPI document gives (route, method, status)."""
    template = template_of(path)
    operation = _document()["paths"].get(template or "", {}).get(method.lower())
    if operation is None:
        return []
    response = operation["responses"].get(str(status), {})
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return []
    root = {**schema, "components": _document()["components"]}
    validator = jsonschema.Draft202012Validator(root)
    return [f"{method} {template} {status}: {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            for e in validator.iter_errors(body)]


# --- the documents' tables ---------------------------------------------------------------------------
# type names as the documents write them; "date"/"datetime" are strings in that format; a trailing "?"
# marks a field the document shows null or that has no value until something happens (still written)
STAGED = {"amount": "number", "created_at": "string", "data": "object", "description": "string", "id": "string",
          "processing_enrichment": "boolean", "session_id": "string", "status": "READY|PENDING|PROCESSING",
          "transaction_date": "date", "updated_at": "string",
          "type": "INCOME|EXPENSE|TRANSFER|CARD_PAYMENT|INVESTMENT_DEPOSIT|INVESTMENT_WITHDRAWAL|CARD_EXPENSE"
                  "|CARD_CHARGEBACK"}
SESSION = {"account_id": "string?", "billing_month": "string", "card_id": "string?", "created_at": "string",
           "description": "string", "id": "string", "stats": "object", "target_value": "number", "type": "string",
           "user_id": "string", "workspace_id": "string"}
BINDING = {"confirmed_at": "string?", "created_at": "string", "id": "string", "recurring_amount": "number",
           "recurring_description": "string", "recurring_transaction_id": "string", "recurring_type": "string",
           "session_id": "string", "source": "string", "staged_transaction_id": "string", "status": "string",
           "updated_at": "string", "workspace_id": "string"}
SESSION_DETAIL = {**SESSION, "context_value": "number", "current_total": "number", "initial_balance": "number",
                  "status": "string", "transactions": [STAGED], "staged_transactions": [STAGED],
                  "recurring_transaction_bindings": [BINDING], "stats": {"ready": "integer", "total": "integer"}}
RECONCILIATION = {"accountId": "string", "status": "PENDING|PROCESSING|COMPLETED|PARTIALLY_MATCHED|FAILED",
                  "periodStart": "date", "periodEnd": "date", "totalEntries": "integer",
                  "matchedEntries": "integer", "unmatchedEntries": "integer", "totalAmount": "number",
                  "matchedAmount": "number", "unmatchedAmount": "number", "source": "FILE_UPLOAD|API_IMPORT|AUTOMATIC",
                  "failureReason": "string?", "completedAt": "datetime?", "createdAt": "datetime",
                  "updatedAt": "datetime"}
ENTRY = {"type": "CREDIT|DEBIT", "amount": "number", "description": "string", "transactionDate": "date",
         "matchStatus": "MATCHED|UNMATCHED|MANUAL", "matchedStatementId": "string?", "externalRef": "string?"}
META = {"totalItems": "integer", "totalPages": "integer", "currentPage": "integer", "itemsPerPage": "integer"}
REC_DOCUMENT = {"data": {"type": "reconciliations", "id": "string", "links": {"self": "string"},
                         "attributes": RECONCILIATION}, "links": {"self": "string"}}
ERROR_003 = {"code": "VALIDATION|UNAUTHORIZED|FORBIDDEN|NOT_FOUND|CONFLICT|UNPROCESSABLE", "message": "string",
             "statusCode": "integer", "details": "object"}
ERROR_000 = {"error": "string", "code": "string"}

BASE = "/baas/api/v1/reconciliations"
#: (method, OpenAPI path) -> the documented shape of its success answer
DOCUMENTED: dict[tuple[str, str], Any] = {
    ("POST", "/import-sessions"): SESSION, ("GET", "/import-sessions"): [SESSION],
    ("GET", "/import-sessions/{session_id}"): SESSION_DETAIL, ("PUT", "/import-sessions/{session_id}"): SESSION,
    ("POST", "/import-sessions/{session_id}/staged-transactions"): [STAGED],
    ("GET", "/import-sessions/{session_id}/staged-transactions"): [STAGED],
    ("GET", "/staged-transactions/{staged_id}"): STAGED, ("PUT", "/staged-transactions/{staged_id}"): STAGED,
    ("GET", "/import-sessions/{session_id}/recurring-bindings"): [BINDING],
    ("POST", "/import-sessions/{session_id}/recurring-bindings/{binding_id}/confirm"): BINDING,
    ("POST", BASE): REC_DOCUMENT, ("GET", f"{BASE}/{{reconciliation_id}}"): REC_DOCUMENT,
    ("POST", f"{BASE}/{{reconciliation_id}}/rerun"): REC_DOCUMENT,
    ("GET", BASE): {"data": [REC_DOCUMENT["data"]], "meta": META},
    ("GET", f"{BASE}/{{reconciliation_id}}/entries"): {
        "data": [{"type": "reconciliation-entries", "id": "string", "attributes": ENTRY}], "meta": META},
    ("PATCH", f"{BASE}/{{reconciliation_id}}/entries/{{entry}}"): {
        "data": {"type": "reconciliation-entries", "id": "string", "attributes": ENTRY}},
}


def _type_mismatch(value: Any, kind: str, where: str) -> list[str]:
    nullable = kind.endswith("?")
    kind = kind.rstrip("?")
    if value is None:
        return [] if nullable else [f"{where}: null"]
    checks = {
        "string": isinstance(value, str), "object": isinstance(value, dict), "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "date": isinstance(value, str) and bool(DATE.match(value)),
        "datetime": isinstance(value, str) and bool(DATETIME_003.match(value)),
    }
    ok = checks[kind] if kind in checks else value in kind.split("|")
    return [] if ok else [f"{where}: {value!r} is not {kind}"]


def documented_mismatches(documented: Any, actual: Any, where: str = "$") -> list[str]:
    """Where an answer departs from the document's table: a missing field, a wrong type."""
    if isinstance(documented, str):
        return _type_mismatch(actual, documented, where)
    if isinstance(documented, list):
        if not isinstance(actual, list):
            return [f"{where}: not an array"]
        return [m for i, item in enumerate(actual) for m in documented_mismatches(documented[0], item, f"{where}[{i}]")]
    if not isinstance(actual, dict):
        return [f"{where}: not an object"]
    found = []
    for key, kind in documented.items():
        if key not in actual:
            found.append(f"{where}.{key}: missing (a documented field is written, null when unset)")
        else:
            found.extend(documented_mismatches(kind, actual[key], f"{where}.{key}"))
    return found


def check(method: str, path: str, status: int, text: str) -> None:
    """Assert an answer of a 000 or 003 route conforms to our schema and to its document."""
    if not ROUTES.match(path) or not text:
        return
    try:
        body = json.loads(text)
    except ValueError:
        raise AssertionError(f"{method} {path} {status}: not JSON: {text[:200]}") from None
    problems = schema_mismatches(method, path, status, body)
    template = template_of(path)
    if status < 300 and (method.upper(), template) in DOCUMENTED:
        problems += documented_mismatches(DOCUMENTED[(method.upper(), template)], body)
    elif status >= 400 and "message" in body and path.startswith(BASE):
        problems += documented_mismatches(ERROR_003, body)
    elif status >= 400 and not path.startswith(BASE) and "error" in body:
        problems += documented_mismatches(ERROR_000, body)
    assert not problems, f"{method} {path} {status} departs from the documents:\n" + "\n".join(problems[:20])
