"""Statement truth through the whole workflow (the real ASL on the local stack): balances read from real
bank files, the arithmetic check, continuity and overlap between imports, the history a revert
restores, and the events the checks raise."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from tests.support.client import Api, poll
from tests.support.samples import SAMPLES
from tests.support.statements import Entry, Line, camt053, month, mt940

D = Decimal
MT940 = "MT940#v1"


def _codes(imp: dict[str, Any]) -> set[str]:
    return {d["code"] for d in imp["errorDetails"]}


def _statements(imp: dict[str, Any]) -> list[dict[str, Any]]:
    return imp["statement"]["statements"]


def _checks(imp: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for s in _statements(imp) for c in s["checks"]]


def _import(api: Api, account: str, text: str, **extra: Any) -> dict[str, Any]:
    return api.import_file(account, text.encode(), file_format=MT940, **extra)


def _events(api: Api, import_id: str, detail_type: str) -> list[dict[str, Any]]:
    return [e for e in api.ok("GET", "/local/events")["data"]
            if e["detailType"] == detail_type and e["detail"].get("importId") == import_id]


def test_real_camt_statement_balances_are_reported(api: Api):
    account = api.create_account("NL77ABNA0574908765")
    imp = api.import_file(account, (SAMPLES / "camt053/oca-test-camt053.xml").read_bytes(), file_format="CAMT053#v1")
    (statement,) = _statements(imp)
    assert (statement["openingBalanceAmount"], statement["closingBalanceAmount"]) == ("15568.27", "15121.12")
    # money as the document writes it: integers of minor units, the exact decimal beside
    assert (statement["openingBalance"], statement["closingBalance"]) == (1556827, 1512112)
    assert statement["bankAccountId"] == account and statement["lineCount"] == 4
    assert D(statement["computedClosingBalanceAmount"]) == D("15568.27") + D(statement["lineSumAmount"])


def test_real_mt940_statements_add_up_and_the_next_statement_continues(api: Api):
    ref = "NL71RABO0123456789"
    account = api.create_account(ref)
    imp = _import(api, account, (SAMPLES / "mt940/mt940-jejik-rabobank-iban.sta").read_text())
    first, second = _statements(imp)
    assert (first["openingBalanceAmount"], first["closingBalanceAmount"], first["computedClosingBalanceAmount"]) == (
        "1000.00", "965.00", "965.00")
    assert (second["openingBalanceAmount"], second["closingBalanceAmount"]) == ("965.00", "930.00")
    assert _checks(imp) == []
    api.confirm_and_complete(imp["id"])
    # the next statement opens where the confirmed one closed: nothing to flag
    nxt = _import(api, account, month(ref, 3, 2013, 2, D("930.00"), ["-10.00"]))
    assert _checks(nxt) == [] and nxt["status"] == "awaitingConfirmation"


def test_a_real_mt940_statement_that_does_not_add_up_is_a_balance_mismatch(api: Api):
    account = api.create_account("0001234567")
    imp = _import(api, account, (SAMPLES / "mt940/mt940-jejik-ing.sta").read_text())
    (check,) = _checks(imp)
    assert check["code"] == "BalanceMismatch"
    assert (check["expectedAmount"], check["computedAmount"], check["differenceAmount"]) == ("3.47", "-45.59", "-49.06")


def test_a_wrong_closing_balance_warns_and_waits_for_review_under_exception_review(api: Api):
    account = api.create_account("NL02TEST0123456789")
    text = month("NL02TEST0123456789", 1, 2024, 1, D("100.00"), ["-30.00", "12.50"], closing=D("80.00"))
    imp = _import(api, account, text, reviewLevel="exceptionReview")
    assert imp["status"] == "awaitingConfirmation"
    assert "BalanceMismatch" in _codes(imp)
    (check,) = _checks(imp)
    assert (check["expectedAmount"], check["computedAmount"], check["differenceAmount"]) == ("80.00", "82.50", "2.50")
    assert (check["expected"], check["computed"], check["difference"]) == (8000, 8250, 250)
    (event,) = poll(lambda: _events(api, imp["id"], "BalanceMismatch"), what="the BalanceMismatch event")
    assert event["detail"]["bankAccountId"] == account and event["detail"]["difference"] == "2.50"
    # the same statement adding up goes on by itself
    api.ok("DELETE", f"/imports/{imp['id']}", expect=204)
    good = _import(api, account, month("NL02TEST0123456789", 1, 2024, 1, D("100.00"), ["-30.00", "12.50"]),
                   reviewLevel="exceptionReview", wait_for=("complete", "error"))
    assert good["status"] == "complete" and _checks(good) == []


def test_a_missing_month_is_a_statement_gap_with_its_days_and_amount(api: Api):
    ref = "NL03TEST0123456789"
    account = api.create_account(ref)
    jan = _import(api, account, month(ref, 1, 2024, 1, D("100.00"), ["-30.00"]))
    api.confirm_and_complete(jan["id"])
    # February (opening 70.00, -20.00) never arrives; March opens at 50.00
    mar = _import(api, account, month(ref, 3, 2024, 3, D("50.00"), ["5.00"]))
    assert "StatementGap" in _codes(mar)
    (gap,) = _checks(mar)
    assert gap["code"] == "StatementGap"
    assert (gap["expectedAmount"], gap["computedAmount"], gap["differenceAmount"]) == ("70.00", "50.00", "-20.00")
    assert (gap["startDate"], gap["endDate"]) == ("2024-02-01", "2024-02-29")
    assert gap["previousImportId"] == jan["id"]
    (event,) = poll(lambda: _events(api, mar["id"], "StatementGapDetected"), what="the gap event")
    assert event["detail"]["difference"] == "-20.00"
    assert (event["detail"]["previousImportId"], event["detail"]["startDate"]) == (jan["id"], "2024-02-01")
    assert "lineNumber" in event["detail"] and event["detail"]["lineCount"] is None  # every field, null if none


def test_a_statement_overlapping_beyond_its_duplicates_is_flagged(api: Api):
    ref = "NL04TEST0123456789"
    account = api.create_account(ref)
    jan = _import(api, account, month(ref, 1, 2024, 1, D("100.00"), ["-30.00", "-5.00"], first_day=10))
    api.confirm_and_complete(jan["id"])
    # the same days again, only duplicates: an overlap with nothing new is not flagged
    again = _import(api, account, month(ref, 1, 2024, 1, D("100.00"), ["-30.00", "-5.00"], first_day=10),
                    bypassReplayValidation=True)
    assert "StatementOverlap" not in _codes(again)
    api.ok("DELETE", f"/imports/{again['id']}", expect=204)
    # a statement from mid-January with a line January's statement did not have
    lines = month(ref, 2, 2024, 1, D("100.00"), ["-30.00", "-5.00", "-7.00"], first_day=10)
    mid = _import(api, account, lines)
    (overlap,) = [c for c in _checks(mid) if c["code"] == "StatementOverlap"]
    assert overlap["lineCount"] == 1 and overlap["startDate"] == "2024-01-12"


def test_reverting_an_import_restores_the_accounts_previous_closing(api: Api):
    ref = "NL05TEST0123456789"
    account = api.create_account(ref)
    jan = _import(api, account, month(ref, 1, 2024, 1, D("100.00"), ["-30.00"]))
    api.confirm_and_complete(jan["id"])
    feb = _import(api, account, month(ref, 2, 2024, 2, D("70.00"), ["-20.00"]))
    assert _checks(feb) == []
    api.confirm_and_complete(feb["id"])
    api.ok("POST", f"/imports/{feb['id']}/revert", expect=202)
    poll(lambda: api.ok("GET", f"/imports/{feb['id']}")["data"].get("revertStatus") == "reverted", what="reverted")
    # March after the revert: February is missing again, counted from January's closing
    mar = _import(api, account, month(ref, 3, 2024, 3, D("50.00"), ["5.00"]))
    (gap,) = _checks(mar)
    assert gap["code"] == "StatementGap" and gap["expectedAmount"] == "70.00" and gap["previousImportId"] == jan["id"]


CSV_MAPPING = {"columns": {"date": "Date", "description": "Label", "amount": "Amount", "balance": "Balance"}}


def test_a_real_csv_balance_column_states_the_opening_and_closing(api: Api):
    account = api.create_account()
    imp = api.import_file(account, (SAMPLES / "csv/oca-balance.csv").read_bytes(), file_format="CSV#mapped#v1",
                          mapping=CSV_MAPPING, dateStyle="middleEndian")
    (statement,) = _statements(imp)
    assert (statement["openingBalanceAmount"], statement["closingBalanceAmount"]) == ("10.00", "1510.00")
    assert statement["checks"] == []


def test_a_csv_running_balance_names_the_first_line_where_it_breaks(api: Api):
    account = api.create_account()
    rows = [("2024-01-02", "A", "-10.00", "90.00"), ("2024-01-03", "B", "5.00", "95.00"),
            ("2024-01-04", "C", "-1.00", "93.00"), ("2024-01-05", "D", "1.00", "94.00")]
    body = "Date,Label,Amount,Balance\n" + "".join(",".join(r) + "\n" for r in rows)
    imp = api.import_file(account, body.encode(), file_format="CSV#mapped#v1", mapping=CSV_MAPPING,
                          dateStyle="bigEndian", reviewLevel="exceptionReview")
    assert imp["status"] == "awaitingConfirmation"
    (check,) = _checks(imp)
    assert check["code"] == "BalanceMismatch" and check["lineNumber"] == 4
    assert (check["expectedAmount"], check["computedAmount"]) == ("94.00", "93.00")
    (warning,) = [d for d in imp["errorDetails"] if d["code"] == "BalanceMismatch"]
    assert warning["lineNumber"] == 4 and warning["severity"] == "warning"


def test_the_ledger_shows_running_balances_anchored_on_the_last_statement(api: Api):
    ref = "GB33BUKB20201555555566"
    account = api.create_account(ref)
    # nothing known yet: no balance and no day (the fields are there, null), never a zero
    empty = api.ok("GET", f"/bankaccounts/{account}/transactions", params={"include": "balance"})["meta"]["balance"]
    assert (empty["balance"], empty["amount"], empty["asOf"], empty["lastStatement"]) == (None, None, None, None)
    jan = _import(api, account, month(ref, 1, 2024, 1, D("100.00"), ["-30.00", "12.50", "-2.50"]))
    api.confirm_and_complete(jan["id"])
    # a line posted through the public API after the statement counts too
    api.ok("POST", "/api/public/v1/transactions", json={"transactions": [{
        "accountIdentifier": ref, "transactionId": "pub-1", "text": "Card", "creditDebit": "debit", "amount": "5.00",
        "currency": "EUR", "valutaAt": "2024-02-02"}]}, expect=201)
    page = api.ok("GET", f"/bankaccounts/{account}/transactions", params={"include": "balance", "pageSize": 2})
    balance = page["meta"]["balance"]
    assert (balance["balance"], balance["amount"], balance["currency"], balance["asOf"]) == (7500, "75.00", "EUR",
                                                                                           "2024-02-02")
    assert (balance["lastStatement"]["closingBalance"], balance["lastStatement"]["closingBalanceAmount"]) == (
        8000, "80.00")
    assert balance["lastStatement"]["closingDate"] == "2024-01-31"
    running = [(r["postingDate"], r["amount"], r["runningBalanceAmount"], r["runningBalance"]) for r in page["data"]]
    assert running == [("2024-02-02", "-5.00", "75.00", 7500), ("2024-01-05", "-2.50", "80.00", 8000)]
    # the next page goes on from where this one stopped
    cursor = page["links"]["next"].split("cursor=")[1].split("&")[0]
    rest = api.ok("GET", f"/bankaccounts/{account}/transactions",
                  params={"include": "balance", "pageSize": 2, "cursor": cursor})["data"]
    assert [(r["amount"], r["runningBalanceAmount"]) for r in rest] == [("12.50", "82.50"), ("-30.00", "70.00")]
    # without include=balance there is no running balance (the fields are null)
    first = api.ledger(account)[0]
    assert first["runningBalance"] is None and first["runningBalanceAmount"] is None


CAMT = "CAMT053#v1"


def test_a_pending_card_line_is_replaced_by_its_booked_line_and_never_doubles(api: Api):
    iban = "DE89370400440532013000"
    account = api.create_account(iban)
    first = camt053(iban, "S1", D("100.00"), [
        Entry(date(2024, 3, 1), D("-12.00"), "SALARY ADVANCE FEE", "B-1"),
        Entry(date(2024, 3, 2), D("-9.99"), "CARD 1234 COFFEE BAR", "P-77", status="PDNG"),
        Entry(date(2024, 3, 2), D("-40.00"), "CARD 1234 HOTEL PREAUTH", "P-78", status="PDNG")], day=date(2024, 3, 2))
    imp = api.import_file(account, first.encode(), file_format=CAMT, includePending=True)
    assert _checks(imp) == [], "pending lines stay out of the booked balance"
    rows = api.review(imp["id"])
    assert sorted((r["amount"], r["pending"]) for r in rows) == [
        ("-12.00", False), ("-40.00", True), ("-9.99", True)]
    api.confirm_and_complete(imp["id"])
    pending_id = next(r["transactionId"] for r in api.ledger(account) if r["amount"] == "-9.99")

    # the bank books the coffee two days later under another reference, with a longer text
    second = camt053(iban, "S2", D("88.00"), [
        Entry(date(2024, 3, 4), D("-9.99"), "CARD 1234 COFFEE BAR BERLIN", "B-2")], day=date(2024, 3, 4))
    nxt = api.import_file(account, second.encode(), file_format=CAMT, includePending=True)
    (row,) = api.review(nxt["id"])
    assert row["replacesPendingId"] == pending_id and row["decision"] == "import"
    api.confirm_and_complete(nxt["id"])
    ledger = {r["transactionId"]: r for r in api.ledger(account)}
    assert ledger[pending_id]["replacedBy"] == row["transactionId"]
    assert ledger[row["transactionId"]]["replacesPendingId"] == pending_id
    balance = api.ok("GET", f"/bankaccounts/{account}/transactions", params={"include": "balance"})["meta"]
    assert balance["balance"]["amount"] == "78.01", "booked lines only: 100 - 12 - 9.99"

    # the hotel pre-authorisation is never booked: an import beyond the window reports it expired
    late = camt053(iban, "S3", D("78.01"), [Entry(date(2024, 3, 20), D("1.00"), "INTEREST", "B-3")],
                   day=date(2024, 3, 20))
    last = api.import_file(account, late.encode(), file_format=CAMT, includePending=True)
    (expired,) = [d for d in last["errorDetails"] if d["code"] == "PendingExpired"]
    assert "-40.00" in expired["message"]


def test_a_reversal_is_linked_to_the_line_it_reverses(api: Api):
    ref = "NL06TEST0123456789"
    account = api.create_account(ref)
    jan = _import(api, account, mt940(ref, 1, D("100.00"), [
        Line(date(2024, 1, 10), D("-30.00"), "DIRECT DEBIT GYM MEMBERSHIP", "DD-1"),
        Line(date(2024, 1, 11), D("-5.00"), "BAKERY", "POS-1")], opened=date(2023, 12, 31), closed=date(2024, 1, 31)))
    api.confirm_and_complete(jan["id"])
    debit = next(r["transactionId"] for r in api.ledger(account) if r["amount"] == "-30.00")
    feb = _import(api, account, mt940(ref, 2, D("65.00"), [
        Line(date(2024, 2, 2), D("30.00"), "RETURN DIRECT DEBIT GYM MEMBERSHIP", "DD-1R", reversal=True)],
        opened=date(2024, 1, 31), closed=date(2024, 2, 29)))
    assert _checks(feb) == []
    (row,) = api.review(feb["id"])
    assert row["reversal"] is True and row["reversalOf"] == debit
    api.confirm_and_complete(feb["id"])
    (line,) = [r for r in api.ledger(account) if r["amount"] == "30.00"]
    assert line["reversalOf"] == debit


def test_a_csv_card_pre_authorisation_is_booked_under_its_own_id_and_linked(api: Api):
    account = api.create_account("GB33BUKB20201555555577")
    mapping = {"columns": {"date": "Date", "description": "Text", "amount": "Amount", "status": "Status",
                           "bankTransactionId": "Id"}}
    first = b"Date,Text,Amount,Status,Id\n2024-03-02,CARD 1234 FUEL,-61.20,Pre-authorisation,T2\n"
    imp = api.import_file(account, first, file_format="CSV#mapped#v1", mapping=mapping, includePending=True)
    (row,) = api.review(imp["id"])
    assert row["pending"] is True
    api.confirm_and_complete(imp["id"])
    # booked the same day under the same card id, amount and text: a line of its own, linked to the pending one
    second = b"Date,Text,Amount,Status,Id\n2024-03-02,CARD 1234 FUEL,-61.20,Gebucht,T2\n"
    nxt = api.import_file(account, second, file_format="CSV#mapped#v1", mapping=mapping, includePending=True)
    (booked,) = api.review(nxt["id"])
    assert booked["replacesPendingId"] == row["transactionId"] != booked["transactionId"]
    assert booked["decision"] == "import"
    api.confirm_and_complete(nxt["id"])
    ledger = {r["transactionId"]: r for r in api.ledger(account)}
    assert ledger[row["transactionId"]]["pending"] is True
    assert ledger[row["transactionId"]]["replacedBy"] == booked["transactionId"]
    assert ledger[booked["transactionId"]]["replacesPendingId"] == row["transactionId"]
    balance = api.ok("GET", f"/bankaccounts/{account}/transactions", params={"include": "balance"})["meta"]
    assert balance["balance"]["amount"] == "-61.20", "counted once: the booked line"


def test_a_real_statement_written_twice_in_one_file_is_named_as_repeated(api: Api):
    """The first statement of a real ABN AMRO file written twice: 16 lines staged with only a StatementGap that
    blamed a 'last confirmed statement' (this very import); now the repeat is named, and nothing else."""
    text = (SAMPLES / "mt940/mt940-jejik-abnamro.sta").read_text()
    first = text[:text.index("\n-", text.index(":62F:")) + 3]
    account = api.create_account(first.split(":25:")[1].split()[0])
    imp = _import(api, account, first + first)
    one, two = _statements(imp)
    # (the sample's own balances do not add up: both copies say so)
    assert [c["code"] for c in one["checks"]] == ["BalanceMismatch"]
    assert [c["code"] for c in two["checks"]] == ["BalanceMismatch", "StatementRepeated"]
    assert (two["checks"][1]["repeatsStatement"], two["checks"][1]["lineCount"]) == (1, one["lineCount"])
    assert "StatementGap" not in _codes(imp) and "StatementRepeated" in _codes(imp)
    # the repeat's lines start as skip, the review says so, and confirmed as is the statement is written once
    assert two["firstLineNumber"] > one["lastLineNumber"] >= one["firstLineNumber"]
    decisions = [r["decision"] for r in api.review(imp["id"])]
    assert decisions == ["import"] * one["lineCount"] + ["skip"] * one["lineCount"]
    api.confirm_and_complete(imp["id"])
    assert len(api.ledger(account)) == one["lineCount"]
