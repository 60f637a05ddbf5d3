"""The public-transactions document (shared/reference/001): its request replayed, its answer's shape."""

from __future__ import annotations

import copy

import pytest

from tests.contract import documents as doc
from tests.support.client import Api

pytestmark = pytest.mark.contract


def test_the_documented_request_and_answer(api: Api):
    account = api.create_account("DE89370400440532013000")
    body = copy.deepcopy(doc.PUBLIC_REQUEST)
    body["transactions"][0].update(accountIdentifier="DE89370400440532013000", transactionId="tx-1",
                                   amount="12.50", currency="EUR", originalAmount="1500", originalCurrency="JPY")
    answer = api.call("POST", "/api/public/v1/transactions", json=body)
    assert answer.status_code == 201, answer.text
    assert doc.mismatches(answer.json(), doc.PUBLIC_RESPONSE) == []
    counts = answer.json()
    assert (counts["newTransactions"], counts["existingTransactions"], counts["errorTransactions"]) == (1, 0, 0)
    (line,) = api.ledger(account)
    assert (line["transactionAmount"], line["amount"], line["currency"]) == (1250, "12.50", "EUR")
    assert (line["originalAmount"], line["originalCurrency"]) == ("1500", "JPY")
    assert (line["valueDate"], line["postingDate"], line["purchaseDate"]) == ("1970-01-01", "1970-01-01", "1970-01-01")

    again = api.call("POST", "/api/public/v1/transactions", json=body).json()
    assert (again["newTransactions"], again["existingTransactions"]) == (0, 1)


def test_the_documented_placeholder_values_are_refused_one_by_one(api: Api):
    # the document's own placeholder ("amount": "string") is no positive decimal: counted as an error
    answer = api.call("POST", "/api/public/v1/transactions", json=doc.PUBLIC_REQUEST)
    assert answer.status_code == 201
    assert answer.json()["errorTransactions"] == 1
    assert answer.json()["errors"][0]["code"] == "InvalidAmount"
