"""The file-import document (shared/reference/002): every request and response example replayed against the
local stack, as a client written against the document would, with the document's own figures where they
are deterministic (the five-line statement whose sums it shows)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests

from tests.contract import documents as doc
from tests.support.client import Api

pytestmark = pytest.mark.contract


def _call(api: Api, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {api.token}", "x-application": "sage.integrate.myproduct",
               "Content-Type": "application/json", **kwargs.pop("headers", {})}
    return api.session.request(method, f"{api.base_url}{path}", headers=headers, timeout=30, **kwargs)


def _conforms(answer: Any, documented: Any) -> None:
    assert doc.mismatches(answer, documented) == [], answer


def _create(api: Api) -> tuple[str, dict[str, Any], str]:
    account = api.create_account("60faaf04")
    body = copy.deepcopy(doc.CREATE_IMPORT_REQUEST)
    body["data"]["bankAccounts"][0].update(id=account, accountIdentifier=account)
    created = _call(api, "POST", "/imports", json=body)
    assert created.status_code == 201, created.text
    return account, created.json(), body["data"]["bankAccounts"][0]["id"]


def test_file_formats(api: Api):
    answer = requests.get(f"{api.base_url}/fileformats", timeout=30)  # no token
    assert answer.status_code == 200
    _conforms(answer.json(), doc.FILE_FORMATS_RESPONSE)
    assert {"CSV#4col#v1", "Tabular3column#v1", "CAMT053#v1", "JSON#v0", "XML#OFX#v1"} <= {
        f["fileFormat"] for f in answer.json()["data"]}


def test_the_happy_path_speaks_the_document(api: Api):
    account, created, _ = _create(api)
    _conforms(created, doc.CREATE_IMPORT_RESPONSE)
    response = created["data"]["importResponse"]
    assert (response["_id"], response["dateStyle"], response["source"], response["apiType"]) == (
        created["data"]["id"], "bigEndian", "test", "single")
    import_id = created["data"]["id"]

    api.upload(created["links"]["uploadPath"], doc.STATEMENT_CSV)
    imp = api.wait(import_id, "awaitingConfirmation", "error")
    polled = _call(api, "GET", f"/imports/{import_id}", params={"include": "report"}).json()
    _conforms(polled, doc.GET_IMPORT_RESPONSE)
    data = polled["data"]
    assert data["status"] == "awaitingConfirmation", data["errorDetails"]
    assert data["sourceProduct"] == "sage.integrate.myproduct"
    assert data["statusMonitor"]["pollAttempts"] >= 2 and data["validationDetails"] == []
    assert data["validationDetailsCount"] == len(data["validationDetails"])
    assert data["fileUploaded"] is True
    summary = data["statement"]["summary"]
    assert (summary["transactionCreditSum"], summary["transactionDebitSum"]) == (5220, -11000)  # 5000 + 220
    assert (summary["transactionCreditCount"], summary["transactionDebitCount"],
            summary["transactionDetailsCount"], summary["accountDetailsCount"]) == (2, 3, 5, 1)
    assert (summary["transactionRangeStartDate"], summary["transactionRangeEndDate"]) == (
        "2004-10-11T00:00:00.000Z", "2004-10-15T00:00:00.000Z")
    assert imp["updated"].endswith("Z")

    review = _call(api, "GET", f"/imports/{import_id}/reviewtransactions", params={"pageSize": 100}).json()
    _conforms(review, doc.REVIEW_RESPONSE)
    assert [(r["transactionAmount"], r["transactionType"], r["datePosted"], r["description"])
            for r in review["data"]] == doc.REVIEW_ROWS
    assert {k: review["meta"][k] for k in doc.REVIEW_RESPONSE["meta"]} == doc.REVIEW_RESPONSE["meta"]

    amend = copy.deepcopy(doc.AMEND_REQUEST)
    amend["data"]["flipTransactions"]["bankAccountIds"] = [account]
    flipped = _call(api, "GET", f"/imports/{import_id}/amendtransactions", json=amend)  # the document's GET
    assert flipped.status_code == 204 and flipped.content == b""
    api.wait(import_id, "awaitingConfirmation", "error")
    assert [r["transactionAmount"] for r in api.review(import_id)] == [-row[0] for row in doc.REVIEW_ROWS]

    confirmed = _call(api, "POST", f"/imports/{import_id}/confirm")
    assert confirmed.status_code == 204 and confirmed.content == b""
    assert api.wait(import_id, "complete", "error")["status"] == "complete"
    # "the normal GET /transactions" once complete
    ledger = _call(api, "GET", "/transactions", params={"importId": import_id}).json()
    assert sorted(r["transactionAmount"] for r in ledger["data"]) == sorted(-row[0] for row in doc.REVIEW_ROWS)

    listed = _call(api, "GET", "/imports").json()
    _conforms(listed, doc.LIST_IMPORTS_RESPONSE)
    deleted = _call(api, "DELETE", f"/imports/{import_id}")
    assert deleted.status_code == 204
    gone = _call(api, "GET", "/imports").json()["data"][0]
    assert gone["status"] == "deleted"
    assert {"severity": "info", "message": "deleted TransactionImport"}.items() <= gone["errorDetails"][-1].items()


def test_an_import_in_error_and_its_error_details(api: Api):
    account = api.create_account("JEFF2")
    body = {"data": {"fileFormat": "JSON#v0", "fileName": "newImport", "dateStyle": "littleEndian",
                     "description": "This is my description", "bankAccounts": [{"id": account}]}}
    created = _call(api, "POST", "/imports", json=body).json()
    api.upload(created["links"]["uploadPath"], b'{"transactions": [{"datePosted": "1/2/2024"}]}')
    failed = api.wait(created["data"]["id"], "error", "awaitingConfirmation")
    answer = _call(api, "GET", f"/imports/{failed['id']}").json()
    _conforms(answer, doc.ERROR_IMPORT_RESPONSE)
    assert answer["data"]["status"] == "error" and answer["data"]["errorDetails"][0]["severity"] == "error"
    details = _call(api, "GET", f"/imports/{failed['id']}/errordetails").json()
    # the document's example is a rejected line; whole-file problems come first, without a line number
    lines = [d for d in details["data"] if d["lineNumber"] is not None]
    assert lines and all(d["code"] and d["target"] for d in lines)
    _conforms({**details, "data": lines}, doc.ERROR_DETAILS_RESPONSE)


def test_every_documented_field_is_present_even_before_anything_is_known(api: Api):
    _, created, _ = _create(api)
    fresh = _call(api, "GET", f"/imports/{created['data']['id']}").json()["data"]
    documented = set(doc.GET_IMPORT_RESPONSE["data"])
    assert documented <= set(fresh), documented - set(fresh)
    assert fresh["statement"] is None and fresh["executionArn"] is None  # null when unknown, never left out
    assert fresh["statusMonitor"]["pollAttempts"] == 1
