"""The checker every HTTP test's answer of the import-session (000) and reconciliation (003) routes goes
through (tests/support/conformance.py, called by the test clients): it must catch what a client written
against the documents would trip on, and know every route of ours that answers a documented entity."""

from __future__ import annotations

import json

import pytest

from tests.support import conformance
from tests.support.conformance import DOCUMENTED, ROUTES, check, template_of

SESSION = {"id": "s", "workspace_id": "w", "user_id": "u", "description": "Conta | 2024-03", "name": "Conta | 2024-03",
           "account_id": "a", "card_id": None, "billing_month": "2024-03", "target_value": 0, "type": "ACCOUNT",
           "created_at": "2024-03-01T00:00:00.000Z", "stats": {"ready": 0, "total": 0}}
ENTRY = {"type": "DEBIT", "amount": 3000.00, "description": "Pagamento fornecedor XYZ", "transactionDate": "2024-01-15",
         "matchStatus": "UNMATCHED", "matchedStatementId": None, "externalRef": "ERP-PAG-11111",
         "matchedTransactionId": None, "match": None, "runnerUp": None, "ambiguous": False, "reason": None,
         "suggestions": []}
PAGE = {"totalItems": 1, "totalPages": 1, "currentPage": 1, "itemsPerPage": 20, "hasNextPage": False,
        "hasPreviousPage": False}
LINKS = {"self": "/x", "first": "/x", "prev": None, "next": None, "last": "/x"}


def _entries(**change: object) -> str:
    return json.dumps({"data": [{"type": "reconciliation-entries", "id": "e", "attributes": {**ENTRY, **change}}],
                       "meta": PAGE, "links": LINKS})


def test_conforming_answers_pass():
    check("POST", "/import-sessions", 201, json.dumps(SESSION))
    check("GET", "/baas/api/v1/reconciliations/r/entries", 200, _entries())


@pytest.mark.parametrize(("method", "path", "status", "body", "complaint"), [
    ("POST", "/import-sessions", 201, json.dumps({k: v for k, v in SESSION.items() if k != "card_id"}),
     "card_id: missing"),
    ("POST", "/import-sessions", 201, json.dumps({**SESSION, "target_value": "0"}), "target_value"),
    ("GET", "/baas/api/v1/reconciliations/r/entries", 200, _entries(amount="3000.00"), "amount"),
    ("GET", "/baas/api/v1/reconciliations/r/entries", 200, _entries(transactionDate="15/01/2024"), "transactionDate"),
    ("GET", "/baas/api/v1/reconciliations/r/entries", 200, _entries(matchStatus="matched"), "matchStatus"),
    ("GET", "/baas/api/v1/reconciliations/r", 404, json.dumps({"code": "NOT_FOUND", "message": "m"}), "statusCode"),
    ("GET", "/import-sessions/s", 404, json.dumps({"code": "SessionNotFound"}), "error"),
])
def test_what_a_documents_client_trips_on_is_caught(method, path, status, body, complaint):
    with pytest.raises(AssertionError, match=complaint):
        check(method, path, status, body)


def test_every_000_and_003_route_answering_an_entity_is_held_to_the_documents_table():
    """Each route of ours whose success answer is a documented entity (the import session, its detail, a
    staged transaction, a binding, a reconciliation, its entries) is in DOCUMENTED."""
    doc = conformance._document()
    documented_schemas = {"ImportSessionOut", "ImportSessionList", "ImportSessionResponse", "StagedTransactionOut",
                          "StagedTransactionList", "BindingOut", "BindingList", "ReconciliationDocument",
                          "ReconciliationList", "EntryList", "EntryDocument"}
    answering = set()
    for path, item in doc["paths"].items():
        if not ROUTES.match(path):
            continue
        for method, op in item.items():
            for status, response in op["responses"].items():
                ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
                if status.startswith("2") and ref.rsplit("/", 1)[-1] in documented_schemas:
                    answering.add((method.upper(), path))
    assert answering - {("DELETE", "/import-sessions/{session_id}/recurring-bindings/{binding_id}")} <= set(DOCUMENTED)
    assert template_of("/import-sessions/a/recurring-bindings/b/confirm") == \
        "/import-sessions/{session_id}/recurring-bindings/{binding_id}/confirm"
