"""Review behaviours through the API and the real ASL: duplicates explained, per-line decisions, replay,
amend, review levels, the queue per account, undo and status events."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
import requests

from tests.support.client import Api, poll
from tximport.runtime import container

MARCH = (b"date,description,amount\n"
         b"2024-03-01,Coffee,-3.50\n"
         b"2024-03-01,Coffee,-3.50\n"
         b"2024-03-02,Salary,2500.00\n"
         b"2024-03-03,Rent,-950.00\n")
OVERLAP = (b"date,description,amount\n"
           b"2024-03-02,Salary,2500.00\n"
           b"2024-03-03,Rent,-950.00\n"
           b"2024-03-04,Groceries,-42.10\n")


def _import(api: Api, account: str, content: bytes, **extra) -> dict:
    return api.import_file(account, content, **extra)


def test_two_coffees_are_two_transactions(api: Api):
    account = api.create_account()
    imp = _import(api, account, MARCH)
    rows = api.review(imp["id"])
    coffees = [r for r in rows if r["description"] == "Coffee"]
    assert len(coffees) == 2 and coffees[0]["transactionId"] != coffees[1]["transactionId"]
    assert not any(r["possibleDuplicate"] for r in rows)
    api.confirm_and_complete(imp["id"])
    assert len([r for r in api.ledger(account) if r["description"] == "Coffee"]) == 2


def _shuffled_statement(seed: int, lines: list[str]) -> bytes:
    import random
    shuffled = list(lines)
    random.Random(seed).shuffle(shuffled)
    return ("date,description,amount\n" + "\n".join(shuffled) + "\n").encode()


def test_a_statement_not_in_date_order_imported_again_in_another_order_is_found_line_for_line(api: Api):
    """A file of 300 lines over 200 days (two coffees on some) in random order, then the same lines in another
    order: every line of the second is the first's (alreadyImported, skip), identical lines included; the days
    coming back out of order no longer give lines ids of their file positions."""
    from datetime import date, timedelta
    lines = []
    for n in range(300):
        day = (date(2024, 1, 1) + timedelta(days=n % 200)).isoformat()
        lines.append(f"{day},Coffee,-3.50" if n >= 200 else f"{day},Shop {n % 7},-{n % 50 + 1}.25")
    account = api.create_account()
    api.confirm_and_complete(_import(api, account, _shuffled_statement(1, lines))["id"])
    assert len(api.ledger(account)) == 300
    again = _import(api, account, _shuffled_statement(2, lines))
    rows = api.review(again["id"])
    assert len(rows) == 300
    assert {(r["duplicateReason"] or {}).get("reason") for r in rows} == {"alreadyImported"}
    assert {r["decision"] for r in rows} == {"skip"}


def test_reimported_overlapping_statement_imports_only_new_days(api: Api):
    account = api.create_account()
    api.confirm_and_complete(_import(api, account, MARCH)["id"])
    second = _import(api, account, OVERLAP)
    assert second["statement"]["summary"]["transactionDateOverlapCount"] == 2
    assert "TransactionDateOverlap" in {d["code"] for d in second["errorDetails"]}
    rows = {r["description"]: r for r in api.review(second["id"])}
    assert rows["Salary"]["possibleDuplicate"] and rows["Salary"]["decision"] == "skip"
    assert rows["Salary"]["duplicateReason"]["reason"] == "alreadyImported"
    assert rows["Groceries"]["decision"] == "import" and not rows["Groceries"]["possibleDuplicate"]
    flagged = sum(r["possibleDuplicate"] for r in rows.values())
    assert second["statement"]["summary"]["possibleDuplicateCount"] == flagged == 2
    plan = api.ok("GET", f"/imports/{second['id']}/dryrun")["data"]
    assert (plan["add"], plan["skip"]) == (1, 2)
    api.confirm_and_complete(second["id"])
    ledger = api.ledger(account)
    assert sorted(r["description"] for r in ledger) == ["Coffee", "Coffee", "Groceries", "Rent", "Salary"]


def test_similar_ledger_line_is_a_possible_duplicate_with_evidence(api: Api):
    account = api.create_account()
    api.confirm_and_complete(_import(api, account, b"2024-05-05,AMAZON MKTPLACE PMTS,-20.00\n")["id"])
    imp = _import(api, account, b"2024-05-06,AMAZON MKTPLACE PMTS REF 7781,-20.00\n2024-05-06,Bakery,-20.00\n")
    rows = {r["description"]: r for r in api.review(imp["id"])}
    amazon = rows["AMAZON MKTPLACE PMTS REF 7781"]
    assert amazon["possibleDuplicate"] is True
    assert amazon["duplicateReason"]["reason"] == "similarLedgerLine"
    assert amazon["duplicateReason"]["daysApart"] == 1
    assert amazon["decision"] == "import"  # only certain duplicates default to skip
    assert rows["Bakery"]["possibleDuplicate"] is False


def test_per_line_decisions_drive_what_confirm_writes(api: Api):
    account = api.create_account()
    imp = _import(api, account, MARCH)
    rent = next(r for r in api.review(imp["id"]) if r["description"] == "Rent")
    api.ok("PATCH", f"/imports/{imp['id']}/reviewtransactions/{rent['transactionId']}",
           json={"data": {"decision": "skip"}}, expect=204)
    plan = api.ok("GET", f"/imports/{imp['id']}/dryrun")["data"]
    assert (plan["add"], plan["skip"]) == (3, 1)
    assert next(r for r in api.review(imp["id"]) if r["description"] == "Rent")["decision"] == "skip"
    bad = api.call("PATCH", f"/imports/{imp['id']}/reviewtransactions/nope", json={"data": {"decision": "skip"}})
    assert bad.status_code == 404 and bad.json()["error"]["code"] == "TransactionNotFound"
    invalid = api.call("PATCH", f"/imports/{imp['id']}/reviewtransactions/{rent['transactionId']}",
                       json={"data": {"decision": "maybe"}})
    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "ValidationError"
    api.confirm_and_complete(imp["id"])
    assert "Rent" not in {r["description"] for r in api.ledger(account)}


def test_replay_is_refused_unless_bypassed(api: Api):
    account = api.create_account()
    api.confirm_and_complete(_import(api, account, MARCH)["id"])
    again = _import(api, account, MARCH)
    assert again["status"] == "error" and again["errorDetails"][0]["code"] == "ReplayDetected"
    bypass = _import(api, account, MARCH, bypassReplayValidation=True)
    assert bypass["status"] == "awaitingConfirmation"
    assert all(r["decision"] == "skip" for r in api.review(bypass["id"]))


def test_a_file_first_imported_with_the_bypass_is_a_replay_later(api: Api):
    account = api.create_account()
    first = _import(api, account, MARCH, bypassReplayValidation=True)
    api.confirm_and_complete(first["id"])
    again = _import(api, account, MARCH)
    assert again["status"] == "error" and again["errorDetails"][0]["code"] == "ReplayDetected"


def test_amend_flips_signs_at_most_ten_times(api: Api):
    account = api.create_account()
    imp = _import(api, account, b"2024-03-02,Salary,2500.00\n")
    body = {"data": {"flipTransactions": {"bankAccountIds": [account]}}}
    for flip in range(1, 11):
        # the document's method is GET with a body; POST does the same
        api.ok("GET" if flip % 2 else "POST", f"/imports/{imp['id']}/amendtransactions", json=body, expect=204)
        done = api.wait(imp["id"], "awaitingConfirmation", "error")
        assert done["amendCount"] == flip
        amount = Decimal(api.review(imp["id"])[0]["amount"])
        assert amount == (Decimal("-2500.00") if flip % 2 else Decimal("2500.00"))
    eleventh = api.call("GET", f"/imports/{imp['id']}/amendtransactions", json=body)
    assert eleventh.status_code == 429 and eleventh.json()["error"]["code"] == "AmendLimitReached"


def test_transaction_sign_at_creation_and_product_dates(api: Api):
    account = api.create_account()
    import_id, upload = api.create_import(None, bankAccounts=[{
        "id": account, "transactionSign": "reversed",
        "productDates": {"transactionStartDate": "2024-03-02", "transactionEndDate": "2024-03-03"}}])
    api.upload(upload, MARCH)
    imp = api.wait(import_id, "awaitingConfirmation", "error")
    rows = api.review(import_id)
    assert [(r["description"], r["amount"]) for r in rows] == [("Salary", "-2500.00"), ("Rent", "950.00")]
    assert "OutsideProductDates" in {d["code"] for d in imp["errorDetails"]}


def test_minimal_review_confirms_by_itself(api: Api):
    account = api.create_account()
    imp = _import(api, account, MARCH, reviewLevel="minimalReview", wait_for=("complete", "error"))
    assert imp["status"] == "complete"
    assert len(api.ledger(account)) == 4


def test_minimal_review_stops_on_rejected_lines(api: Api):
    account = api.create_account()
    imp = _import(api, account, MARCH + b"2024-03-09,Broken,abc\n", reviewLevel="minimalReview")
    assert imp["status"] == "awaitingConfirmation"


def test_exception_review_stops_only_on_warnings(api: Api):
    account = api.create_account()
    clean = _import(api, account, MARCH, reviewLevel="exceptionReview", wait_for=("complete", "error"))
    assert clean["status"] == "complete"
    warned = _import(api, account, OVERLAP, reviewLevel="exceptionReview")
    assert warned["status"] == "awaitingConfirmation"  # overlap and duplicates are warnings


def test_full_review_always_waits(api: Api):
    account = api.create_account()
    assert _import(api, account, MARCH, reviewLevel="fullReview")["status"] == "awaitingConfirmation"


def test_second_import_on_an_account_is_queued_then_runs(api: Api):
    account = api.create_account()
    first = _import(api, account, MARCH)
    second_id, upload = api.create_import(account)
    api.upload(upload, OVERLAP)
    assert api.wait(second_id, "queued")["status"] == "queued"
    api.confirm_and_complete(first["id"])
    second = api.wait(second_id, "awaitingConfirmation", "error")
    assert second["status"] == "awaitingConfirmation"
    assert second["statement"]["summary"]["transactionDateOverlapCount"] == 2  # saw the first's lines


def test_two_uploads_racing_for_one_account_never_both_run(api: Api):
    account = api.create_account()
    a_id, a_up = api.create_import(account)
    b_id, b_up = api.create_import(account)
    threads = [threading.Thread(target=requests.put, args=(u,), kwargs={"data": MARCH, "timeout": 30})
               for u in (a_up, b_up)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    states = poll(lambda: (s := sorted(api.get_import(i)["status"] for i in (a_id, b_id)))
                  and s == ["awaitingConfirmation", "queued"] and s, what="one active, one queued")
    assert states == ["awaitingConfirmation", "queued"]
    active = next(i for i in (a_id, b_id) if api.get_import(i)["status"] == "awaitingConfirmation")
    waiting = b_id if active == a_id else a_id
    api.ok("DELETE", f"/imports/{active}", expect=204)  # deleting the active import releases the queue
    assert api.wait(waiting, "awaitingConfirmation", "error")["status"] == "awaitingConfirmation"


def test_revert_removes_only_this_imports_lines(api: Api):
    account = api.create_account()
    first = _import(api, account, MARCH)
    api.confirm_and_complete(first["id"])
    second = _import(api, account, OVERLAP)
    api.confirm_and_complete(second["id"])
    started = api.call("POST", f"/imports/{second['id']}/revert")
    assert started.status_code == 202, started.text
    assert started.json()["data"]["revertStatus"] == "reverting"
    assert started.json()["data"]["revertedLineCount"] == 0  # counted from the request (null: never reverted)
    assert api.ok("GET", f"/imports/{first['id']}")["data"]["revertedLineCount"] is None
    reverted = poll(lambda: (lambda d: d if d.get("revertStatus") == "reverted" else None)(
        api.ok("GET", f"/imports/{second['id']}")["data"]), what="revertStatus reverted")
    assert reverted["reverted"] and reverted["revertedLineCount"] == 1
    assert "Reverted" in {d["code"] for d in reverted["errorDetails"]}
    events = [e["detail"] for e in api.ok("GET", "/local/events")["data"]
              if e["detail"]["importId"] == second["id"]]
    assert ("complete", "reverted") in {(e["oldStatus"], e["newStatus"]) for e in events}
    assert sorted(r["description"] for r in api.ledger(account)) == ["Coffee", "Coffee", "Rent", "Salary"]
    again = api.call("POST", f"/imports/{second['id']}/revert")
    assert again.status_code == 200
    assert again.json()["data"]["reverted"] == reverted["reverted"]
    assert again.json()["data"]["revertedLineCount"] == 1
    refused = api.call("POST", f"/imports/{_import(api, account, OVERLAP)['id']}/revert")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "InvalidImportStatus"


def test_status_events_are_published_in_order(api: Api, stack):
    account = api.create_account()
    imp = _import(api, account, MARCH)
    api.confirm_and_complete(imp["id"])

    def transitions() -> list[tuple[str | None, str]]:
        events = api.ok("GET", "/local/events")["data"]
        mine = [e for e in events if e["detail"]["importId"] == imp["id"]]
        assert all(e["source"] == "tximport" for e in mine)
        assert all(e["detail"]["organisationId"] == api.organisation_id for e in mine)
        return [(e["detail"]["oldStatus"], e["detail"]["newStatus"]) for e in mine]

    expected = [(None, "awaitingFileUpload"), ("awaitingFileUpload", "processing"),
                ("processing", "awaitingConfirmation"), ("awaitingConfirmation", "finalProcessing"),
                ("finalProcessing", "complete")]
    assert poll(lambda: transitions() == expected and expected, what="events") == expected


def test_an_import_uploaded_while_a_revert_runs_queues_and_is_reviewed_against_the_ledger_after_it(
        api: Api, monkeypatch: pytest.MonkeyPatch):
    """The revert holds the account: the later import's review is not made against lines that are leaving
    the ledger (it would show them as already imported, and they would then be in no ledger line)."""
    account = api.create_account()
    first = _import(api, account, MARCH)
    api.confirm_and_complete(first["id"])
    c = container()
    delete, go_on = c.ledger.delete_many_if_from_import, threading.Event()

    def held_back(tenant: Any, rows: Any, import_id: str, **kwargs: Any) -> Any:
        if import_id == first["id"]:
            assert go_on.wait(60), "the test never let the revert go on"
        return delete(tenant, rows, import_id, **kwargs)

    monkeypatch.setattr(c.ledger, "delete_many_if_from_import", held_back)
    api.ok("POST", f"/imports/{first['id']}/revert", expect=202)
    later_id, upload_path = api.create_import(account)
    api.upload(upload_path, OVERLAP)
    assert api.wait(later_id, "queued", "awaitingConfirmation", "error")["status"] == "queued"

    go_on.set()

    assert api.wait(later_id, "awaitingConfirmation", "error")["status"] == "awaitingConfirmation"
    assert api.get_import(first["id"])["revertStatus"] == "reverted"
    rows = api.review(later_id)
    assert [(r["description"], r["possibleDuplicate"]) for r in rows] == [
        ("Salary", False), ("Rent", False), ("Groceries", False)]


def test_public_transactions_written_under_a_review_send_the_import_back_to_review(api: Api):
    """The bank's feed posts a transaction (001) while the statement holding it awaits confirmation: the review was
    made without it, so the import is processed again and its review finds the line the feed wrote (the same day,
    amount and text: a certain copy, as in the other order); the decisions made before no longer apply, and a note
    says why."""
    account = api.create_account("GB33BUKB20201555555555")
    imp = _import(api, account, OVERLAP)
    before = {r["description"]: r for r in api.review(imp["id"])}
    assert not before["Groceries"]["possibleDuplicate"]
    api.ok("PATCH", f"/imports/{imp['id']}/reviewtransactions/{before['Rent']['transactionId']}",
           json={"data": {"decision": "skip"}}, expect=204)
    posted = api.ok("POST", "/api/public/v1/transactions", expect=201, json={"transactions": [{
        "accountIdentifier": "GB33BUKB20201555555555", "transactionId": "FEED-1", "text": "Groceries",
        "creditDebit": "debit", "amount": "42.10", "currency": "GBP", "valutaAt": "2024-03-04"}]})
    assert posted["newTransactions"] == 1

    def reviewed_again() -> dict | None:
        current = api.get_import(imp["id"])
        return current if current["status"] == "awaitingConfirmation" and any(
            d["code"] == "ReviewedAgain" for d in current["errorDetails"]) else None

    again = poll(reviewed_again, timeout=60, interval=0.2, what="the import reviewed again")
    assert "public transactions" in next(d for d in again["errorDetails"] if d["code"] == "ReviewedAgain")["message"]
    rows = {r["description"]: r for r in api.review(imp["id"])}
    assert rows["Groceries"]["possibleDuplicate"] and rows["Groceries"]["decision"] == "skip"
    assert rows["Groceries"]["duplicateReason"]["reason"] == "alreadyPosted"  # the feed's line, one for one
    assert rows["Rent"]["decision"] == "import"  # the decision made before no longer applies
    api.confirm_and_complete(imp["id"])
    assert sorted(r["description"] for r in api.ledger(account)) == ["Groceries", "Rent", "Salary"]
    # a transaction of a day the statement does not reach leaves a review as it is
    imp = _import(api, account, MARCH, bypassReplayValidation=True)
    api.ok("POST", "/api/public/v1/transactions", expect=201, json={"transactions": [{
        "accountIdentifier": "GB33BUKB20201555555555", "transactionId": "FEED-2", "text": "Lunch",
        "creditDebit": "debit", "amount": "9.00", "currency": "GBP", "valutaAt": "2024-05-20"}]})
    assert api.get_import(imp["id"])["status"] == "awaitingConfirmation"
