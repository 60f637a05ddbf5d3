"""`POST /api/public/v1/transactions`: JSON transactions into the ledger, deduplicated."""

from __future__ import annotations

from tests.support.client import Api


def _tx(**overrides):
    base = {"accountIdentifier": "GB33 BUKB 2020 1555 5555 55", "transactionId": "tx-1", "text": "Coffee",
            "creditDebit": "debit", "amount": "3.50", "currency": "GBP", "valutaAt": "2024-03-01"}
    return {**base, **overrides}


def test_new_then_existing_then_errors_counted(api: Api):
    account = api.create_account("GB33BUKB20201555555555")
    body = {"transactions": [_tx(), _tx(transactionId="tx-2", creditDebit="credit", amount="10.00",
                                        bookedAt="2024-03-02")]}
    first = api.ok("POST", "/api/public/v1/transactions", json=body, expect=201)
    assert (first["newTransactions"], first["existingTransactions"], first["errorTransactions"]) == (2, 0, 0)
    again = api.ok("POST", "/api/public/v1/transactions", json={"transactions": [
        _tx(), _tx(transactionId="tx-3", amount="-1"), _tx(transactionId="tx-4", accountIdentifier="unknown"),
        _tx(transactionId="tx-5", valutaAt=None), _tx(transactionId="tx-6", currency="pounds")]}, expect=201)
    assert (again["newTransactions"], again["existingTransactions"], again["errorTransactions"]) == (0, 1, 4)
    codes = {e["index"]: (e["code"], e["target"]) for e in again["errors"]}
    assert codes[1] == ("InvalidAmount", "$.transactions[1].amount")
    assert codes[2][0] == "BankAccountNotFound"
    assert codes[3] == ("RequiredValueMissing", "$.transactions[3].valutaAt")
    assert codes[4][0] == "InvalidCurrency"
    ledger = api.ledger(account)
    assert sorted((r["datePosted"], r["transactionAmount"]) for r in ledger) == [
        ("2024-03-01", "-3.50"), ("2024-03-02", "10.00")]


def test_request_limits(api: Api):
    assert api.call("POST", "/api/public/v1/transactions", json={"transactions": []}).status_code == 400
    too_many = {"transactions": [_tx(transactionId=str(i)) for i in range(1001)]}
    assert api.call("POST", "/api/public/v1/transactions", json=too_many).status_code == 400
