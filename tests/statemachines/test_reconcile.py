"""Reconciliations through HTTP on the local stack: statemachines/reconcile.asl.json executed by moto's
interpreter with the reconcile function in-process, DynamoDB and S3 in moto. The document's example is
the first case; then the errors of the dialect, pages, manual decisions, re-run, failure and events."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.support.client import Api, poll
from tests.support.stack import SCOPES, new_api
from tximport_cli.local.stack import DEMO_PERMISSIONS

BASE = "/baas/api/v1/reconciliations"
SETTLED = {"COMPLETED", "PARTIALLY_MATCHED", "FAILED"}
DOC_BODY = {"data": {"type": "reconciliations", "attributes": {
    "accountId": "<account>", "periodStart": "2024-01-01", "periodEnd": "2024-01-31", "source": "API_IMPORT",
    "entries": [
        {"type": "DEBIT", "amount": 5000.00, "description": "Pagamento NF 12345", "transactionDate": "2024-01-10",
         "externalRef": "ERP-PAG-12345"},
        {"type": "CREDIT", "amount": 15000.00, "description": "Recebimento cliente ABC",
         "transactionDate": "2024-01-12", "externalRef": "ERP-REC-67890"},
        {"type": "DEBIT", "amount": 3000.00, "description": "Pagamento fornecedor XYZ",
         "transactionDate": "2024-01-15", "externalRef": "ERP-PAG-11111"},
    ]}}}


class Client:
    """A tenant with reconciliation permissions (or the ones given)."""

    def __init__(self, stack, permissions=DEMO_PERMISSIONS) -> None:
        self.api: Api = new_api(stack)
        self.api.token = stack.token_for(self.api.organisation_id, self.api.company_id, permissions=permissions,
                                         scopes=SCOPES)
        self.stack = stack

    def call(self, method: str, path: str, **kwargs: Any):
        return self.api.call(method, path, **kwargs)

    def ok(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text[:1500]}"
        return response

    def account(self, identifier: str | None = None) -> tuple[str, str]:
        identifier = identifier or uuid.uuid4().hex[:10]
        account = self.api.create_account(identifier, currency="BRL")
        return account, identifier

    def ledger(self, identifier: str, *lines: tuple[str, str, str, str]) -> None:
        """Book lines straight into the ledger (the public endpoint): (date, signed amount, text, bank id)."""
        transactions = [{"accountIdentifier": identifier, "transactionId": bank_id or None, "text": text,
                         "creditDebit": "debit" if amount.startswith("-") else "credit",
                         "amount": amount.lstrip("-"), "currency": "BRL", "valutaAt": day}
                        for day, amount, text, bank_id in lines]
        answer = self.ok("POST", "/api/public/v1/transactions", 201, json={"transactions": transactions}).json()
        assert answer["newTransactions"] == len(lines), answer

    def create(self, account: str, body: dict | None = None, expect: int = 201) -> dict:
        body = json.loads(json.dumps(body or DOC_BODY).replace("<account>", account))
        return self.ok("POST", BASE, expect, json=body).json()

    def wait(self, rec_id: str) -> dict:
        def settled() -> dict | None:
            data = self.ok("GET", f"{BASE}/{rec_id}").json()["data"]
            return data if data["attributes"]["status"] in SETTLED else None

        return poll(settled, timeout=60, interval=0.1, what=f"reconciliation {rec_id} to settle")

    def entries(self, rec_id: str, query: str = "") -> dict:
        return self.ok("GET", f"{BASE}/{rec_id}/entries{query}").json()


@pytest.fixture()
def client(stack) -> Client:
    return Client(stack)


def _doc_ledger(client: Client, identifier: str) -> None:
    client.ledger(identifier, ("2024-01-10", "-5000.00", "TED ENVIADA ERP-PAG-12345", "B-1"),
                  ("2024-01-13", "15000.00", "PIX RECEBIDO CLIENTE ABC", "B-2"),
                  ("2024-01-20", "-42.90", "TARIFA PACOTE", "B-3"))


def test_the_documents_example_end_to_end(client: Client, stack):
    account, identifier = client.account()
    _doc_ledger(client, identifier)
    # When the document's request is posted
    response = client.ok("POST", BASE, 201, json=json.loads(json.dumps(DOC_BODY).replace("<account>", account)))
    created = response.json()
    # Then the answer has the document's shape and numbers (JSON numbers, 23000.00 written as such)
    data = created["data"]
    assert set(created) == {"data", "links"} and set(data) == {"type", "id", "links", "attributes"}
    assert data["type"] == "reconciliations" and uuid.UUID(data["id"])
    assert created["links"] == data["links"] == {"self": f"{BASE}/{data['id']}"}
    a = data["attributes"]
    assert a["status"] == "PROCESSING" and a["source"] == "API_IMPORT" and a["accountId"] == account
    assert (a["totalEntries"], a["matchedEntries"], a["unmatchedEntries"]) == (3, 0, 3)
    assert '"totalAmount":23000.00' in response.text and '"unmatchedAmount":23000.00' in response.text
    assert a["failureReason"] is None and a["completedAt"] is None
    assert a["createdAt"].endswith("Z") and len(a["createdAt"]) == 20
    # When matching has run
    done = client.wait(data["id"])["attributes"]
    assert done["status"] == "PARTIALLY_MATCHED"
    assert (done["matchedEntries"], done["unmatchedEntries"]) == (2, 1)
    assert Decimal(str(done["matchedAmount"])) == 20000 and Decimal(str(done["unmatchedAmount"])) == 3000
    assert done["completedAt"] is not None
    # Then the unmatched entry is listed as the document shows it
    unmatched = client.entries(data["id"], "?filter[matchStatus]=UNMATCHED")
    assert unmatched["meta"] == {"totalItems": 1, "totalPages": 1, "currentPage": 1, "itemsPerPage": 20,
                                 "hasNextPage": False, "hasPreviousPage": False}
    entry = unmatched["data"][0]
    assert entry["type"] == "reconciliation-entries" and uuid.UUID(entry["id"])
    assert {k: entry["attributes"][k] for k in ("type", "amount", "description", "transactionDate", "matchStatus",
                                                 "matchedStatementId", "externalRef")} == {
        "type": "DEBIT", "amount": 3000.00, "description": "Pagamento fornecedor XYZ", "transactionDate": "2024-01-15",
        "matchStatus": "UNMATCHED", "matchedStatementId": None, "externalRef": "ERP-PAG-11111"}
    assert entry["attributes"]["reason"]
    # and each match explains itself, and the ledger line says which entry holds it
    matched = client.entries(data["id"], "?filter[matchStatus]=MATCHED")["data"]
    rules = {e["attributes"]["externalRef"]: e["attributes"]["match"]["rule"] for e in matched}
    assert rules == {"ERP-PAG-12345": "EXACT_REFERENCE", "ERP-REC-67890": "SCORED"}
    scored = next(e for e in matched if e["attributes"]["externalRef"] == "ERP-REC-67890")["attributes"]
    assert scored["match"]["dateDeltaDays"] == 1 and scored["match"]["amountDelta"] == 0.00
    assert {"amount", "date", "text"} <= set(scored["match"]["parts"])
    ledger = {row["statementId"]: row for row in client.api.ledger(account)}
    held = ledger[scored["matchedStatementId"]]
    assert held["transactionId"] == scored["matchedTransactionId"]
    assert held["reconciliation"] == {"reconciliationId": data["id"], "entryId": next(
        e["id"] for e in matched if e["attributes"]["externalRef"] == "ERP-REC-67890"), "matchStatus": "MATCHED"}
    # and no entry travelled through the state machine
    history = stack.clients.stepfunctions.get_execution_history(
        executionArn=f"{stack.state_machine_arns['reconcile'].replace(':stateMachine:', ':execution:')}:"
                     f"{data['id']}-run1", maxResults=1000)["events"]
    text = json.dumps(history, default=str)
    assert "Pagamento" not in text and "ERP-PAG-12345" not in text and "Recebimento" not in text
    # and the status changes were published (from the imports table's stream, each with its eventId)
    def published() -> list[dict] | None:
        found = [e["detail"] for e in stack.events.snapshot() if e["detailType"] == "ReconciliationStatusChanged"
                 and e["detail"]["reconciliationId"] == data["id"]]
        return found if len(found) >= 3 else None

    events = poll(published, timeout=30, what="the reconciliation's status events")
    assert [(e["oldStatus"], e["newStatus"]) for e in events] == [
        (None, "PENDING"), ("PENDING", "PROCESSING"), ("PROCESSING", "PARTIALLY_MATCHED")]
    assert all(e["eventId"] for e in events) and events[-1]["matchedEntries"] == 2


def test_list_get_filters_and_pages(client: Client):
    account, identifier = client.account()
    first = client.create(account)["data"]["id"]
    body = json.loads(json.dumps(DOC_BODY))
    body["data"]["attributes"].update(periodStart="2024-02-01", periodEnd="2024-02-29")
    for e in body["data"]["attributes"]["entries"]:
        e["transactionDate"] = e["transactionDate"].replace("-01-", "-02-")
    second = client.create(account, body)["data"]["id"]
    client.wait(first)
    client.wait(second)
    listed = client.ok("GET", f"{BASE}?filter[accountId]={account}&page[size]=1").json()
    assert [r["id"] for r in listed["data"]] == [second]
    assert listed["meta"]["totalItems"] == 2 and listed["meta"]["hasNextPage"] is True
    assert listed["links"]["next"] == f"{BASE}?filter%5BaccountId%5D={account}&page[number]=2&page[size]=1" or \
        "page[number]=2" in listed["links"]["next"]
    page2 = client.ok("GET", listed["links"]["next"]).json()
    assert [r["id"] for r in page2["data"]] == [first] and page2["links"]["prev"]
    only_feb = client.ok("GET", f"{BASE}?filter[periodStart]=2024-02-01").json()
    assert [r["id"] for r in only_feb["data"]] == [second]
    # a filter's date is written as the body's are: a datetime is refused, not read as its local day
    for written in ("2024-02-01T00:00:00%2B14:00", "2024-02-01T23:00:00-05:00", "20240201"):
        refused = client.call("GET", f"{BASE}?filter[periodStart]={written}")
        assert refused.status_code == 400 and refused.json()["code"] == "VALIDATION", refused.text
    status = client.ok("GET", f"{BASE}?filter[status]=PARTIALLY_MATCHED&filter[periodEnd]=2024-01-31").json()
    assert [r["id"] for r in status["data"]] == [first]
    one = client.ok("GET", f"{BASE}/{first}").json()
    assert one["data"]["id"] == first and one["links"]["self"] == f"{BASE}/{first}"
    every = client.entries(first, "?page[size]=2")
    assert every["meta"]["totalPages"] == 2 and len(every["data"]) == 2
    assert client.entries(first, "?page[size]=2&page[number]=2")["data"][0]["attributes"]["externalRef"] == \
        "ERP-PAG-11111"
    # a page past the end is empty, and its way back leads to the last page that has entries (not to page 4999)
    beyond = client.entries(first, "?page[size]=2&page[number]=5000")
    assert beyond["data"] == [] and beyond["meta"]["currentPage"] == 5000 and beyond["meta"]["totalPages"] == 2
    assert beyond["meta"]["hasNextPage"] is False and beyond["links"]["next"] is None
    assert beyond["meta"]["hasPreviousPage"] is True
    assert beyond["links"]["prev"] == beyond["links"]["last"] == f"{BASE}/{first}/entries?page[number]=2&page[size]=2"
    assert client.ok("GET", beyond["links"]["prev"]).json()["data"][0]["attributes"]["externalRef"] == "ERP-PAG-11111"


@pytest.mark.parametrize(("mutate", "status", "code", "field"), [
    (lambda a: a.update(periodEnd="2023-12-31"), 422, "UNPROCESSABLE", "periodEnd"),
    (lambda a: a.update(periodEnd="2024-03-31"), 422, "UNPROCESSABLE", "periodEnd"),
    (lambda a: a.update(entries=[]), 422, "UNPROCESSABLE", "entries"),
    (lambda a: a.update(entries=[a["entries"][0]] * 20_001), 422, "UNPROCESSABLE", "entries"),
    (lambda a: a.update(periodStart="2024-13-01"), 400, "VALIDATION", "periodStart"),
    (lambda a: a.update(periodStart=0), 400, "VALIDATION", "periodStart"),  # not a Unix time
    # 003 types the period and the entries' days as dates: a datetime is no date, even at midnight
    (lambda a: a.update(periodStart="2024-01-01T00:00:00Z"), 400, "VALIDATION", "periodStart"),
    (lambda a: a.update(periodEnd="2024-01-31 00:00"), 400, "VALIDATION", "periodEnd"),
    (lambda a: a["entries"][2].update(transactionDate="2024-01-15T00:00:00"), 400, "VALIDATION",
     "entries[2].transactionDate"),
    # ... and amounts as numbers: text that reads as one is no number
    (lambda a: a["entries"][1].update(amount="1500"), 400, "VALIDATION", "entries[1].amount"),
    (lambda a: a.update(matchingOptions={"amountTolerance": "0.1"}), 400, "VALIDATION",
     "matchingOptions.amountTolerance"),
    (lambda a: a.update(matchingOptions={"dateWindowDays": "3"}), 400, "VALIDATION", "matchingOptions.dateWindowDays"),
    (lambda a: a.update(matchingOptions={"autoMatchScore": True}), 400, "VALIDATION",
     "matchingOptions.autoMatchScore"),
    (lambda a: a["entries"][1].update(amount="abc"), 400, "VALIDATION", "entries[1].amount"),
    (lambda a: a["entries"][0].pop("description"), 400, "VALIDATION", "entries[0].description"),
    (lambda a: a.update(source="AUTOMATIC"), 400, "VALIDATION", "source"),
    (lambda a: a["entries"][1].update(amount=10.0001), 400, "VALIDATION", "entries[1].amount"),  # BRL: 2 decimals
    (lambda a: a["entries"][1].update(amount=int("1" * 39)), 400, "VALIDATION", "entries[1].amount"),
    # qa39b F8: an entry of 10^30 EUR was accepted and blocked its period; 15 digits before the point at most
    (lambda a: a["entries"][1].update(amount=10**30), 400, "VALIDATION", "entries[1].amount"),
    (lambda a: a["entries"][2].update(amount=10**15), 400, "VALIDATION", "entries[2].amount"),
    (lambda a: a.update(accountId="no-such-account"), 404, "NOT_FOUND", "accountId"),
    (lambda a: a["entries"][0].update(description="y" * 100_001), 400, "VALIDATION", "entries[0].description"),
])
def test_create_errors_in_the_dialects_shape(client: Client, mutate, status, code, field):
    account, _ = client.account()
    body = json.loads(json.dumps(DOC_BODY).replace("<account>", account))
    mutate(body["data"]["attributes"])
    response = client.call("POST", BASE, json=body)
    assert response.status_code == status, response.text[:500]
    error = response.json()
    assert set(error) == {"code", "message", "statusCode", "details"}
    assert (error["code"], error["statusCode"], error["details"].get("field")) == (code, status, field)
    assert len(response.text) < 5000  # never the request echoed back


def test_overlap_conflicts_permissions_and_tokens(client: Client, stack):
    account, _ = client.account()
    first = client.create(account)["data"]["id"]
    body = json.loads(json.dumps(DOC_BODY).replace("<account>", account))
    body["data"]["attributes"]["periodStart"] = "2023-12-20"
    clash = client.call("POST", BASE, json=body)
    assert clash.status_code == 409 and clash.json()["code"] == "CONFLICT"
    assert clash.json()["details"]["conflictingReconciliationId"] == first
    reader = Client(stack, permissions=("BAAS_RECONCILIATION_READ",))
    refused = reader.call("POST", BASE, json=body)
    assert refused.status_code == 403 and refused.json() == {
        "code": "FORBIDDEN", "message": "Permission denied: BAAS_RECONCILIATION_CREATE required", "statusCode": 403,
        "details": {"permission": "BAAS_RECONCILIATION_CREATE"}}
    # before its body is even read: an invalid body or none gets the same 403
    assert reader.call("POST", BASE, json={"data": {}}).json() == refused.json()
    raw = reader.api.session.post(f"{reader.api.base_url}{BASE}", data="{bad", timeout=10, headers={
        "Authorization": f"Bearer {reader.api.token}", "Content-Type": "application/json"})
    assert raw.status_code == 403 and raw.json() == refused.json()
    assert reader.call("PATCH", f"{BASE}/{first}/entries/x", json={}).json()["code"] == "FORBIDDEN"
    nobody = Client(stack, permissions=())
    assert nobody.call("GET", BASE).json()["message"] == "Permission denied: BAAS_RECONCILIATION_READ required"
    anonymous = client.api.session.get(f"{client.api.base_url}{BASE}", timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "UNAUTHORIZED"
    # another tenant sees nothing of it
    assert Client(stack).call("GET", f"{BASE}/{first}").json()["code"] == "NOT_FOUND"
    assert client.call("GET", f"{BASE}/{uuid.uuid4()}/entries").status_code == 404
    bad_page = client.call("GET", f"{BASE}?page[size]=101")
    assert bad_page.status_code == 400 and bad_page.json()["details"]["field"] == "page[size]"
    bad_filter = client.call("GET", f"{BASE}/{first}/entries?filter[matchStatus]=MAYBE")
    assert bad_filter.status_code == 400 and bad_filter.json()["details"]["field"] == "filter[matchStatus]"


def test_manual_match_unmatch_and_rerun(client: Client, monkeypatch: pytest.MonkeyPatch):
    account, identifier = client.account()
    _doc_ledger(client, identifier)
    rec = client.create(account)["data"]["id"]
    matched = client.wait(rec)["attributes"]
    assert matched["status"] == "PARTIALLY_MATCHED" and matched["completedAt"]
    entries = {e["attributes"]["externalRef"]: e for e in client.entries(rec)["data"]}
    tarifa = next(r for r in client.api.ledger(account) if r["description"] == "TARIFA PACOTE")
    path = f"{BASE}/{rec}/entries/{entries['ERP-PAG-11111']['id']}"
    change = {"data": {"type": "reconciliation-entries",
                       "attributes": {"matchStatus": "MANUAL", "matchedStatementId": tarifa["statementId"]}}}
    # by hand too, a match is of the entry's direction and on the statement side of the period
    client.ledger(identifier, ("2024-01-25", "42.90", "ESTORNO TARIFA", "B-8"),
                  ("2024-03-15", "-42.90", "TARIFA MARCO", "B-9"))
    ledger = {r["description"]: r for r in client.api.ledger(account)}
    # a credit (by its statement id); a line booked in March (by its transaction id: its statement id is not
    # among the period's)
    for wrong in (ledger["ESTORNO TARIFA"]["statementId"], ledger["TARIFA MARCO"]["transactionId"]):
        refused = client.call("PATCH", path, json={"data": {"type": "reconciliation-entries", "attributes": {
            "matchStatus": "MANUAL", "matchedStatementId": wrong}}})
        assert refused.status_code == 422, refused.text
        assert (refused.json()["code"], refused.json()["details"]["field"]) == ("UNPROCESSABLE", "matchedStatementId")
    # the manual decisions' clock, in-process (a time no run of this test reaches, so completedAt tells them apart)
    decided = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    monkeypatch.setattr("tximport.services.reconciliations.manual.utcnow", lambda: decided)
    manual = client.ok("PATCH", path, json=change).json()["data"]["attributes"]
    assert manual["matchStatus"] == "MANUAL" and manual["matchedStatementId"] == tarifa["statementId"]
    assert 0 <= manual["match"]["score"] <= 1
    assert manual["match"]["rule"] == "MANUAL" and manual["match"]["amountDelta"] == -2957.10
    # the line is held now: another entry cannot take it
    other = f"{BASE}/{rec}/entries/{entries['ERP-PAG-12345']['id']}"
    taken = client.call("PATCH", other, json=change)
    assert taken.status_code == 409 and taken.json()["code"] == "CONFLICT"
    got = client.ok("GET", f"{BASE}/{rec}").json()["data"]["attributes"]
    assert (got["status"], got["matchedEntries"], got["unmatchedEntries"], got["manualEntries"]) == \
        ("COMPLETED", 3, 0, 1)
    # completedAt: when the manual match completed it (the run before only matched part of it)
    assert got["completedAt"] == "2031-05-06T07:08:09Z" != matched["completedAt"]
    assert [e["attributes"]["externalRef"] for e in client.entries(rec, "?filter[matchStatus]=MANUAL")["data"]] == \
        ["ERP-PAG-11111"]
    # unmatch an automatic match: UNMATCHED, and its line is free again
    unmatch = {"data": {"type": "reconciliation-entries", "attributes": {"matchStatus": "UNMATCHED"}}}
    assert client.ok("PATCH", other, json=unmatch).json()["data"]["attributes"]["matchStatus"] == "UNMATCHED"
    freed = next(r for r in client.api.ledger(account) if r["description"] == "TED ENVIADA ERP-PAG-12345")
    assert freed["reconciliation"] is None  # present and null: a documented field is never omitted
    assert client.entries(rec, "?filter[matchStatus]=UNMATCHED")["meta"]["totalItems"] == 1
    reopened = client.ok("GET", f"{BASE}/{rec}").json()["data"]["attributes"]
    assert (reopened["status"], reopened["completedAt"]) == ("PARTIALLY_MATCHED", got["completedAt"])
    # a re-run after a new ledger line: manual decisions stay, the new line is used
    client.ledger(identifier, ("2024-01-30", "-5000.00", "PAGAMENTO NF 12345", ""))
    rerun = client.ok("POST", f"{BASE}/{rec}/rerun", 202).json()["data"]["attributes"]
    assert rerun["status"] == "PROCESSING"
    again = client.wait(rec)["attributes"]
    assert (again["matchedEntries"], again["unmatchedEntries"], again["manualEntries"]) == (2, 1, 1)
    still = client.entries(rec, "?filter[matchStatus]=UNMATCHED")["data"]
    assert [e["attributes"]["externalRef"] for e in still] == ["ERP-PAG-12345"]
    assert still[0]["attributes"]["reason"] == "unmatched by hand"
    missing = client.call("PATCH", path, json={"data": {"type": "reconciliation-entries", "attributes": {
        "matchStatus": "MANUAL", "matchedStatementId": str(uuid.uuid4())}}})
    assert missing.status_code == 404


def test_a_failing_match_ends_failed_with_its_reason_and_blocks_nothing(client: Client, stack, monkeypatch):
    from tximport.services.reconciliations.matching import MatchingRun

    def broken(self, tenant, reconciliation_id, run):
        raise RuntimeError("ledger unreadable")

    monkeypatch.setattr(MatchingRun, "match", broken)
    account, _ = client.account()
    rec = client.create(account)["data"]["id"]
    failed = client.wait(rec)["attributes"]
    assert failed["status"] == "FAILED" and "ledger unreadable" in failed["failureReason"]
    monkeypatch.undo()
    again = client.create(account)  # the FAILED one holds no day of the period
    assert client.wait(again["data"]["id"])["attributes"]["status"] in {"COMPLETED", "PARTIALLY_MATCHED"}


def test_a_body_that_is_not_json_or_not_a_document_is_named_by_where_it_fails(client: Client):
    raw = client.api.session.post(f"{client.api.base_url}{BASE}", data="{bad", timeout=10, headers={
        "Authorization": f"Bearer {client.api.token}", "Content-Type": "application/json"})
    assert (raw.status_code, raw.json()["details"]["field"]) == (400, "body")
    missing = client.call("POST", BASE, json={"data": {}})
    assert (missing.status_code, missing.json()["details"]["field"]) == (400, "data.type")
    for body, told in (('{"data":{"type":"reconciliation","type":"x"}}', "'type' is given twice"),
                       ('{"data":{"type":NaN}}', "NaN is no JSON value")):
        refused = client.api.session.post(f"{client.api.base_url}{BASE}", data=body, timeout=10, headers={
            "Authorization": f"Bearer {client.api.token}", "Content-Type": "application/json"})
        assert refused.status_code == 400 and refused.json()["details"]["field"] == "body", refused.text
        assert told in refused.json()["message"], refused.text


def test_the_matching_options_are_answered_as_numbers(client: Client):
    account, _ = client.account()
    options = client.create(account)["data"]["attributes"]["matchingOptions"]
    assert options["amountTolerance"] == 0 and options["dateWindowDays"] == 5  # numbers, as the others


def _account_with_line(client: Client, currency: str, amount: str, credit_debit: str, text: str, day: str) -> str:
    """A new account in `currency` whose ledger holds one line (the public endpoint)."""
    identifier = uuid.uuid4().hex[:10]
    account = client.api.create_account(identifier, currency=currency)
    client.ok("POST", "/api/public/v1/transactions", 201, json={"transactions": [{
        "accountIdentifier": identifier, "transactionId": "N-1", "text": text, "creditDebit": credit_debit,
        "amount": amount, "currency": currency, "valutaAt": day}]})
    return account


def _one_entry(account: str, kind: str, amount: str, text: str, day: str, options: dict | None = None) -> str:
    """A reconciliation of `day`'s month with one entry, its amount written as a JSON number exactly as given."""
    attributes = {"accountId": account, "periodStart": day[:8] + "01", "periodEnd": day[:8] + "28",
                  "source": "API_IMPORT", "entries": [{"type": kind, "amount": "<amount>", "description": text,
                                                       "transactionDate": day}]}
    if options is not None:
        attributes["matchingOptions"] = options
    return json.dumps({"data": {"type": "reconciliations", "attributes": attributes}}).replace('"<amount>"', amount)


def _post(client: Client, text: str) -> dict:
    api = client.api
    created = api.session.post(f"{api.base_url}{BASE}", data=text, timeout=30, headers={
        "Authorization": f"Bearer {api.token}", "Content-Type": "application/json"})
    assert created.status_code == 201, created.text[:500]
    return created.json()["data"]


@pytest.mark.parametrize(("currency", "line", "side", "entry", "kind", "delta"), [
    ("KWD", "100.345", "credit", "100.300", "CREDIT", "0.045"),  # qa39b F3: MATCHED, and the reconciliation COMPLETED
    ("EUR", "99.99", "debit", "100.00", "DEBIT", "-0.01"),  # qa39b F3: MATCHED a -99.99 line
])
def test_a_near_amount_is_suggested_not_matched_unless_the_client_sets_a_tolerance(
        client: Client, currency, line, side, entry, kind, delta):
    # Given a ledger line that differs from the entry by a little, and no matchingOptions
    account = _account_with_line(client, currency, line, side, "Wire ACME", "2024-07-05")
    rec = _post(client, _one_entry(account, kind, entry, "Wire ACME", "2024-07-05"))
    # When matching has run
    done = client.wait(rec["id"])["attributes"]
    # Then nothing is matched: the bank does not agree with the books, and the answer says so
    assert (done["status"], done["matchedEntries"], done["unmatchedEntries"], done["suggestedEntries"]) == (
        "PARTIALLY_MATCHED", 0, 1, 1)
    raw = client.ok("GET", f"{BASE}/{rec['id']}").text
    assert f'"matchedAmount":{Decimal(0).quantize(Decimal(entry))}' in raw and f'"unmatchedAmount":{entry}' in raw
    listed = client.entries(rec["id"])
    attributes = listed["data"][0]["attributes"]
    assert (attributes["matchStatus"], attributes["matchedStatementId"], attributes["match"]) == ("UNMATCHED", None,
                                                                                                   None)
    # and the line is suggested with the difference, written with the currency's decimals
    (suggestion,) = attributes["suggestions"]
    assert suggestion["matchedStatementId"] == client.api.ledger(account)[0]["statementId"]
    assert f'"amountDelta":{delta}' in client.ok("GET", f"{BASE}/{rec['id']}/entries").text
    # When a client asks for a tolerance of 0.05 (another account, the same line)
    tolerant = _account_with_line(client, currency, line, side, "Wire ACME", "2024-07-05")
    rec = _post(client, _one_entry(tolerant, kind, entry, "Wire ACME", "2024-07-05", {"amountTolerance": 0.05}))
    assert rec["attributes"]["matchingOptions"]["amountTolerance"] == 0.05
    # Then the entry matches, and its match shows the difference
    done = client.wait(rec["id"])["attributes"]
    assert (done["status"], done["matchedEntries"], done["unmatchedEntries"]) == ("COMPLETED", 1, 0)
    attributes = client.entries(rec["id"])["data"][0]["attributes"]
    assert attributes["matchStatus"] == "MATCHED" and attributes["match"]["rule"] == "SCORED"
    assert f'"amountDelta":{delta}' in client.ok("GET", f"{BASE}/{rec['id']}/entries").text


def test_a_route_the_dialect_has_not_is_its_404(client: Client):
    for method, path in (("PUT", f"{BASE}/{uuid.uuid4()}"), ("PUT", BASE), ("DELETE", BASE)):
        answer = client.call(method, path, json={})
        assert answer.status_code == 404, answer.text
        assert (answer.json()["code"], answer.json()["statusCode"]) == ("NOT_FOUND", 404)


def _reconciled_doc_line(client: Client, description: str) -> tuple[str, str, str, dict[str, Any]]:
    """(account, identifier, reconciliation, ledger row) of the document's example, matched, and its line of
    `description`."""
    account, identifier = client.account()
    _doc_ledger(client, identifier)
    rec = client.create(account)["data"]["id"]
    client.wait(rec)
    line = next(r for r in client.api.ledger(account) if r["description"] == description)
    assert line["reconciliation"]["reconciliationId"] == rec
    return account, identifier, rec, line


def test_a_resend_never_moves_a_reconciled_line_off_its_day(client: Client):
    account, identifier, rec, pix = _reconciled_doc_line(client, "PIX RECEBIDO CLIENTE ABC")
    resend = {"accountIdentifier": identifier, "transactionId": "B-2", "text": "PIX RECEBIDO CLIENTE ABC",
              "creditDebit": "credit", "amount": "15000.00", "currency": "BRL", "valutaAt": "2024-04-25"}
    # When a resend of the matched line books it in April
    refused = client.ok("POST", "/api/public/v1/transactions", 201, json={"transactions": [resend]}).json()
    # Then the transaction is refused, and the line keeps its day and its mark
    assert (refused["existingTransactions"], refused["errorTransactions"]) == (0, 1)
    (error,) = refused["errors"]
    assert (error["code"], error["target"]) == ("TransactionReconciled", "$.transactions[0].valutaAt")
    assert rec in error["message"] and refused["items"][0]["result"] == "error"
    kept = next(r for r in client.api.ledger(account) if r["transactionId"] == pix["transactionId"])
    assert (kept["postingDate"], kept["reconciliation"]) == (pix["postingDate"], pix["reconciliation"])
    # and once its entry is unmatched, the same resend moves it
    entry = pix["reconciliation"]["entryId"]
    client.ok("PATCH", f"{BASE}/{rec}/entries/{entry}", json={"data": {
        "type": "reconciliation-entries", "attributes": {"matchStatus": "UNMATCHED"}}})
    moved = client.ok("POST", "/api/public/v1/transactions", 201, json={"transactions": [resend]}).json()
    assert moved["items"][0]["updatedFields"] == ["valueDate", "datePosted"]
    line = next(r for r in client.api.ledger(account) if r["transactionId"] == pix["transactionId"])
    assert (line["postingDate"], line["reconciliation"]) == ("2024-04-25", None)


def test_entry_amounts_keep_the_currencys_decimals_and_path_ids_are_named_as_the_dialect_does(client: Client):
    account, _ = client.account()  # BRL: 2 decimals
    body = json.loads(json.dumps(DOC_BODY).replace("<account>", account))
    body["data"]["attributes"]["entries"] = [{**body["data"]["attributes"]["entries"][0], "amount": 100.0000},
                                             {**body["data"]["attributes"]["entries"][1], "amount": 7.5}]
    created = client.ok("POST", BASE, 201, json=body)
    assert '"totalAmount":107.50' in created.text
    rec = created.json()["data"]["id"]
    client.wait(rec)
    listed = client.entries(rec).get("data")
    assert sorted(e["attributes"]["amount"] for e in listed) == [7.50, 100.00]
    raw = client.ok("GET", f"{BASE}/{rec}/entries").text
    assert '"amount":100.00' in raw and '"amount":7.50' in raw
    bad = client.call("GET", f"{BASE}/{'x' * 200}")
    assert (bad.status_code, bad.json()["details"]["field"]) == (400, "id"), bad.text


def test_a_line_a_resend_moved_within_the_period_is_matched_by_hand(client: Client):
    account, identifier, rec, ted = _reconciled_doc_line(client, "TED ENVIADA ERP-PAG-12345")
    path = f"{BASE}/{rec}/entries/{ted['reconciliation']['entryId']}"
    unmatch = {"data": {"type": "reconciliation-entries", "attributes": {"matchStatus": "UNMATCHED"}}}
    client.ok("PATCH", path, json=unmatch)
    client.ok("POST", "/api/public/v1/transactions", 201, json={"transactions": [{
        "accountIdentifier": identifier, "transactionId": "B-1", "text": "TED ENVIADA ERP-PAG-12345",
        "creditDebit": "debit", "amount": "5000.00", "currency": "BRL", "valutaAt": "2024-01-11"}]})
    # its id still names the day it was first posted on; by either name it is found where it is booked now
    for name in (ted["statementId"], ted["transactionId"]):
        manual = client.ok("PATCH", path, json={"data": {"type": "reconciliation-entries", "attributes": {
            "matchStatus": "MANUAL", "matchedStatementId": name}}}).json()["data"]["attributes"]
        assert manual["matchStatus"] == "MANUAL" and manual["matchedTransactionId"] == ted["transactionId"]
        held = next(r for r in client.api.ledger(account) if r["transactionId"] == ted["transactionId"])
        assert (held["postingDate"], held["reconciliation"]["matchStatus"]) == ("2024-01-11", "MANUAL")
        client.ok("PATCH", path, json=unmatch)


def test_three_decimal_amounts_are_compared_exactly_and_yen_has_no_decimals(client: Client):
    identifier = uuid.uuid4().hex[:10]
    bhd = client.api.create_account(identifier, currency="BHD")
    client.ok("POST", "/api/public/v1/transactions", 201, json={"transactions": [
        {"accountIdentifier": identifier, "transactionId": f"BT-{n}", "text": text, "creditDebit": "debit",
         "amount": amount, "currency": "BHD", "valutaAt": "2024-12-03"}
        for n, (amount, text) in enumerate((("0.125", "water bill"), ("7.004", "power bill")))]})
    body = {"data": {"type": "reconciliations", "attributes": {
        "accountId": bhd, "periodStart": "2024-12-01", "periodEnd": "2024-12-31", "source": "API_IMPORT",
        "matchingOptions": {"amountTolerance": 0}, "entries": [
            {"type": "DEBIT", "amount": 0.124, "description": "water bill", "transactionDate": "2024-12-03"},
            {"type": "DEBIT", "amount": 7.004, "description": "power bill", "transactionDate": "2024-12-03"}]}}}
    rec = client.ok("POST", BASE, 201, json=body).json()["data"]["id"]
    done = client.wait(rec)["attributes"]
    assert (done["matchedEntries"], done["unmatchedEntries"]) == (1, 1)  # 0.124 is not 0.125
    raw = client.ok("GET", f"{BASE}/{rec}").text
    assert '"totalAmount":7.128' in raw and '"matchedAmount":7.004' in raw
    yen_identifier = uuid.uuid4().hex[:10]
    yen = client.api.create_account(yen_identifier, currency="JPY")
    body["data"]["attributes"].update(accountId=yen, entries=[
        {"type": "DEBIT", "amount": 1500.00, "description": "x", "transactionDate": "2024-12-03"}])
    created = client.ok("POST", BASE, 201, json=body).text
    assert '"totalAmount":1500,' in created


#: a UUID as RFC 9562 defines it, as strict validators check it (a version 1 to 8, the RFC variant)
_RFC_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"


def test_ids_written_in_upper_case_name_the_same_resources_and_statement_ids_are_rfc_uuids(client: Client):
    import re

    account, identifier = client.account()
    _doc_ledger(client, identifier)
    # a client that writes UUIDs in upper case (.NET, SQL Server) creates, lists, reads and matches as any other
    rec = client.create(account.upper())["data"]["id"]
    settled = client.wait(rec.upper())
    assert settled["id"] == rec and settled["attributes"]["accountId"] == account
    listed = client.ok("GET", f"{BASE}?filter[accountId]={account.upper()}").json()
    assert [r["id"] for r in listed["data"]] == [rec]
    entries = client.entries(rec.upper())["data"]
    statements = [e["attributes"]["matchedStatementId"] for e in entries if e["attributes"]["matchedStatementId"]]
    ledger_ids = [line["statementId"] for line in client.api.ledger(account)]
    assert len(statements) == 2 and set(statements) <= set(ledger_ids)
    assert all(re.match(_RFC_UUID, s) for s in statements + ledger_ids), (statements, ledger_ids)
    unmatched = next(e for e in entries if e["attributes"]["matchStatus"] == "UNMATCHED")
    tarifa = next(r for r in client.api.ledger(account) if r["description"] == "TARIFA PACOTE")
    manual = client.ok("PATCH", f"{BASE}/{rec.upper()}/entries/{unmatched['id'].upper()}", json={"data": {
        "type": "reconciliation-entries",
        "attributes": {"matchStatus": "MANUAL", "matchedStatementId": tarifa["statementId"].upper()}}}).json()
    assert manual["data"]["id"] == unmatched["id"]
    assert manual["data"]["attributes"]["matchedStatementId"] == tarifa["statementId"]


def test_an_entry_whose_line_an_earlier_period_took_is_told_which_reconciliation_holds_it(client: Client):
    account, identifier = client.account()
    client.ledger(identifier, ("2024-05-02", "2000.00", "Salary", "S-1"))

    def month(start: str, end: str, day: str) -> dict:
        return {"data": {"type": "reconciliations", "attributes": {
            "accountId": account, "periodStart": start, "periodEnd": end, "source": "API_IMPORT",
            "entries": [{"type": "CREDIT", "amount": 2000.00, "description": "Salary", "transactionDate": day}]}}}

    # April's entry of the 30th takes the line booked on 2 May (within the date window)
    april = client.create(account, month("2024-04-01", "2024-04-30", "2024-04-30"))["data"]["id"]
    assert client.wait(april)["attributes"]["matchedEntries"] == 1
    may = client.create(account, month("2024-05-01", "2024-05-31", "2024-05-02"))["data"]["id"]
    assert client.wait(may)["attributes"]["unmatchedEntries"] == 1
    line = client.api.ledger(account)[0]
    reason = client.entries(may)["data"][0]["attributes"]["reason"]
    assert reason == f"the line that fits it ({line['statementId']}, booked 2024-05-02) is matched by " \
                     f"reconciliation {april}", reason


def test_an_amount_of_up_to_15_digits_before_the_point_is_reconciled_exactly_and_a_larger_one_is_refused(
        client: Client):
    """The largest amount a bank statement holds is taken, matched and answered exactly; one past it is a 400 naming
    the entry's amount (qa39b F8: an entry of 10^30 EUR was accepted, and its reconciliation blocked the period)."""
    account, identifier = client.account()
    big = "999999999999999.99"  # 15 digits before the point
    client.ledger(identifier, ("2024-01-10", f"-{big}", "TED ENVIADA ERP-PAG-12345", "B-1"))
    body = json.loads(json.dumps(DOC_BODY).replace("<account>", account))
    body["data"]["attributes"]["entries"] = [{**body["data"]["attributes"]["entries"][0], "amount": "<big>"}]
    api = client.api

    def post(amount: str):
        text = json.dumps(body).replace('"<big>"', amount)  # the number as written, never through a float
        return api.session.post(f"{api.base_url}{BASE}", data=text, timeout=30, headers={
            "Authorization": f"Bearer {api.token}", "Content-Type": "application/json"})

    for too_big in ("1000000000000000000000000000000", "1000000000000000", "1000000000000000.00", "1e15"):
        refused = post(too_big)
        assert refused.status_code == 400, (too_big, refused.text[:500])
        assert (refused.json()["code"], refused.json()["details"]["field"]) == ("VALIDATION", "entries[0].amount")
    assert client.ok("GET", f"{BASE}?filter[accountId]={account}").json()["data"] == []  # nothing was created
    created = post(big)
    assert created.status_code == 201, created.text[:500]
    rec = created.json()["data"]["id"]
    assert client.wait(rec)["attributes"]["status"] == "COMPLETED"
    raw = client.ok("GET", f"{BASE}/{rec}/entries").text
    assert f'"amount":{big}' in raw and '"MATCHED"' in raw, raw[:1000]


@pytest.mark.parametrize("value", ["not-a-uuid", "12345678", "550e8400e29b41d4a716446655440100",
                                   "550e8400-e29b-41d4-a716-44665544010", "550e8400-e29b-41d4-a716-4466554401000"])
def test_an_account_filter_that_is_no_uuid_is_a_400_naming_it(client: Client, value: str):
    """003 types filter[accountId] as a UUID: anything else is refused as a bad filter[status] is, not answered with
    an empty page that reads as an account without reconciliations (qa39b F8)."""
    refused = client.call("GET", f"{BASE}?filter[accountId]={value}")
    assert refused.status_code == 400, refused.text[:300]
    error = refused.json()
    assert (error["code"], error["statusCode"], error["details"]["field"]) == ("VALIDATION", 400, "filter[accountId]")
    assert error["message"].startswith("filter[accountId]: ")
    # a UUID of no account of the tenant is no error: it has no reconciliations
    assert client.ok("GET", f"{BASE}?filter[accountId]={str(uuid.uuid4()).upper()}").json()["data"] == []


def test_a_withdrawn_reconciliation_releases_its_lines_and_its_period_is_reconciled_again(client: Client, stack):
    """qa39b F8: a reconciliation could not be withdrawn, so a mistaken one blocked its period for good. DELETE (our
    extension) releases every line it holds and its days."""
    account, identifier = client.account()
    _doc_ledger(client, identifier)
    rec = client.create(account)["data"]["id"]
    client.wait(rec)
    unmatched = client.entries(rec, "?filter[matchStatus]=UNMATCHED")["data"][0]["id"]
    tarifa = next(r for r in client.api.ledger(account) if r["description"] == "TARIFA PACOTE")
    client.ok("PATCH", f"{BASE}/{rec}/entries/{unmatched}", json={"data": {"type": "reconciliation-entries",
              "attributes": {"matchStatus": "MANUAL", "matchedStatementId": tarifa["statementId"]}}})
    assert all(line["reconciliation"]["reconciliationId"] == rec for line in client.api.ledger(account))
    # Given callers that may not withdraw it: a reader (403 before anything is read) and another tenant (404)
    reader = Client(stack, permissions=("BAAS_RECONCILIATION_READ",))
    refused = reader.call("DELETE", f"{BASE}/{rec}")
    assert refused.status_code == 403 and refused.json()["details"] == {"permission": "BAAS_RECONCILIATION_CREATE"}
    stranger = Client(stack).call("DELETE", f"{BASE}/{rec}")
    assert stranger.status_code == 404 and stranger.json()["code"] == "NOT_FOUND"
    assert client.ok("GET", f"{BASE}/{rec}").json()["data"]["attributes"]["status"] == "COMPLETED"
    # When its owner withdraws it
    withdrawn = client.call("DELETE", f"{BASE}/{rec.upper()}")
    # Then it answers 204 without a body, the reconciliation is gone and every line it held is free
    assert (withdrawn.status_code, withdrawn.content) == (204, b"")
    assert client.call("GET", f"{BASE}/{rec}").status_code == 404
    assert client.call("DELETE", f"{BASE}/{rec}").status_code == 404
    assert client.ok("GET", f"{BASE}?filter[accountId]={account}").json()["data"] == []
    assert [line["reconciliation"] for line in client.api.ledger(account)] == [None, None, None]
    # and the period is reconciled again: 201, and the lines matched anew by the new reconciliation
    again = client.create(account)["data"]["id"]
    assert client.wait(again)["attributes"]["matchedEntries"] == 2
    held = {line["reconciliation"]["reconciliationId"] for line in client.api.ledger(account) if line["reconciliation"]}
    assert held == {again}
    # and the withdrawal was published, from the imports table's stream, with the status it had
    def withdrawal() -> list[dict] | None:
        found = [e["detail"] for e in stack.events.snapshot() if e["detailType"] == "ReconciliationWithdrawn"
                 and e["detail"]["reconciliationId"] == rec]
        return found or None

    (event,) = poll(withdrawal, timeout=30, what="the withdrawal's event")
    assert (event["status"], event["accountId"], bool(event["eventId"])) == ("COMPLETED", account, True)
