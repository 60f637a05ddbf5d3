"""`POST /api/public/v1/transactions`: JSON transactions into the ledger, deduplicated by accountIdentifier +
transactionId whatever the dates, exactly the document's forms, behind the api:transactions:create scope."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.support.client import Api
from tximport_cli.local.tokens import dev_token

PATH = "/api/public/v1/transactions"


def _tx(**overrides):
    base = {"accountIdentifier": "GB33 BUKB 2020 1555 5555 55", "transactionId": "tx-1", "text": "Coffee",
            "creditDebit": "debit", "amount": "3.50", "currency": "GBP", "valutaAt": "2024-03-01"}
    return {**base, **overrides}


def test_new_then_existing_then_errors_counted(api: Api):
    account = api.create_account("GB33BUKB20201555555555")
    body = {"transactions": [_tx(amount="3.5000"), _tx(transactionId="tx-2", creditDebit="credit", amount="10",
                                        bookedAt="2024-03-02", purchasedAt="2024-02-29")]}
    first = api.ok("POST", PATH, json=body, expect=201)
    assert (first["newTransactions"], first["existingTransactions"], first["errorTransactions"]) == (2, 0, 0)
    again = api.ok("POST", PATH, json={"transactions": [
        _tx(), _tx(transactionId="tx-3", amount="-1"), _tx(transactionId="tx-5", valutaAt=None),
        _tx(transactionId="tx-6", currency="ABC"), _tx(transactionId="tx-7", amount="0"),
        _tx(transactionId="tx-8", valutaAt="20240101"), _tx(transactionId="tx-9", valutaAt="9999-12-31")]},
        expect=201)
    assert (again["newTransactions"], again["existingTransactions"], again["errorTransactions"]) == (0, 1, 6)
    codes = {e["index"]: (e["code"], e["target"]) for e in again["errors"]}
    assert codes == {1: ("InvalidAmount", "$.transactions[1].amount"),
                     2: ("RequiredValueMissing", "$.transactions[2].valutaAt"),
                     3: ("InvalidCurrency", "$.transactions[3].currency"),
                     4: ("InvalidAmount", "$.transactions[4].amount"),
                     5: ("InvalidDate", "$.transactions[5].valutaAt"),
                     6: ("InvalidDate", "$.transactions[6].valutaAt")}
    ledger = api.ledger(account)
    assert sorted((r["postingDate"], r["transactionAmount"], r["amount"], r["purchaseDate"]) for r in ledger) == [
        ("2024-03-01", -350, "-3.50", None), ("2024-03-02", 1000, "10.00", "2024-02-29")]  # the currency's decimals
    assert all(r["reference"] is None for r in ledger)  # purchasedAt is its own field


def test_a_resend_with_corrected_dates_updates_the_line_never_a_second_row(api: Api):
    account = api.create_account("GB33BUKB20201555555555")
    api.ok("POST", PATH, json={"transactions": [_tx()]}, expect=201)
    corrected = api.ok("POST", PATH, json={"transactions": [_tx(valutaAt="2024-03-04")]}, expect=201)
    booked = api.ok("POST", PATH, json={"transactions": [_tx(valutaAt="2024-03-04", bookedAt="2024-03-05")]},
                    expect=201)
    assert (corrected["newTransactions"], corrected["existingTransactions"]) == (0, 1)
    assert corrected["items"][0]["updatedFields"] == ["valueDate", "datePosted"]
    assert booked["items"][0]["updatedFields"] == ["datePosted"]
    (line,) = api.ledger(account)
    assert (line["valueDate"], line["postingDate"]) == ("2024-03-04", "2024-03-05")
    (found,) = api.ok("GET", "/transactions", params={"bankAccountId": account})["data"]
    assert found["transactionId"] == line["transactionId"]


def test_an_unknown_account_creates_a_placeholder_unless_the_tenant_turned_it_off(api: Api):
    made = api.ok("POST", PATH, json={"transactions": [_tx(accountIdentifier="DE89370400440532013000")]},
                  expect=201)
    (item,) = made["items"]
    assert item["accountCreated"] is True and item["result"] == "new"
    assert made["createdAccounts"] == [{"accountIdentifier": "DE89370400440532013000",
                                        "bankAccountId": item["bankAccountId"]}]
    account = api.ok("GET", f"/bankaccounts/{item['bankAccountId']}")["data"]
    assert (account["accountIdentifier"], account["countryCode"]) == ("DE89370400440532013000", "DEU")

    settings = api.ok("PATCH", "/settings", json={"data": {"autoCreateAccounts": False}})["data"]
    assert settings["autoCreateAccounts"] is False
    refused = api.ok("POST", PATH, json={"transactions": [_tx(accountIdentifier="FR7630006000011234567890189")]},
                     expect=201)
    assert [(e["code"], e["target"]) for e in refused["errors"]] == [
        ("BankAccountNotFound", "$.transactions[0].accountIdentifier")]


def test_the_token_needs_the_scope(api: Api):
    token = dev_token(api.organisation_id, api.company_id)  # no scope
    answer = api.call("POST", PATH, json={"transactions": [_tx()]}, token=token)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "InsufficientScope"


def test_request_limits(api: Api):
    assert api.call("POST", PATH, json={"transactions": []}).status_code == 400
    too_many = {"transactions": [_tx(transactionId=str(i)) for i in range(1001)]}
    assert api.call("POST", PATH, json=too_many).status_code == 400


def test_an_unknown_top_level_field_is_refused_as_an_unknown_field_inside_a_transaction_is(api: Api):
    """001's body is `{"transactions": [...]}`: a field beside it (a misspelt or misplaced one) is refused,
    naming it, and nothing is written."""
    before = api.ok("GET", "/transactions")["data"]
    for extra in ({"x": 1}, {"transaction": [_tx()]}, {"accountIdentifier": "GB33BUKB20201555555555"}):
        answer = api.call("POST", PATH, json={"transactions": [_tx(transactionId="top-level")], **extra})
        assert answer.status_code == 400, answer.text[:300]
        error = answer.json()["error"]
        assert (error["code"], error["target"]) == ("ValidationError", next(iter(extra))), error
    assert api.ok("GET", "/transactions")["data"] == before


def test_without_the_scope_an_invalid_body_is_403_before_it_is_read(api: Api):
    """The scope is checked before the body: an invalid, malformed or non-JSON body is no 400 for a token
    that may not post at all, and nothing is written."""
    token = dev_token(api.organisation_id, api.company_id)  # no scope
    before = api.ok("GET", "/transactions")["data"]
    for body, content_type in [(b'{"transactions": []}', "application/json"),
                               (b'{"transactions": "all of them"}', "application/json"),
                               (b'{"transactions": [', "application/json"), (b"[" * 5000, "application/json"),
                               (b"amount=5", "application/x-www-form-urlencoded")]:
        answer = api.session.post(f"{api.base_url}{PATH}", data=body, timeout=30,
                                  headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
        assert answer.status_code == 403, (body[:40], answer.text[:300])
        assert answer.json()["error"]["code"] == "InsufficientScope"
        # with the scope the same body is refused for what it is
        assert api.session.post(f"{api.base_url}{PATH}", data=body, timeout=30, headers={
            "Authorization": f"Bearer {api.token}", "Content-Type": content_type}).status_code in (400, 415)
    assert api.ok("GET", "/transactions")["data"] == before


def test_a_transaction_in_another_currency_than_its_account_is_refused_and_the_rest_written(api: Api):
    account = api.create_account("GB33BUKB20201555555555", currency="GBP")
    answer = api.ok("POST", PATH, json={"transactions": [
        _tx(), _tx(transactionId="tx-2", currency="USD", amount="5.00")]}, expect=201)
    assert [i["result"] for i in answer["items"]] == ["new", "error"]
    assert [(e["code"], e["target"]) for e in answer["errors"]] == [
        ("CurrencyMismatch", "$.transactions[1].currency")]
    assert [r["amount"] for r in api.ledger(account)] == ["-3.50"]  # the balance never adds dollars to pounds


def test_a_placeholder_account_takes_the_currency_of_the_transaction_that_made_it(api: Api):
    made = api.ok("POST", PATH, json={"transactions": [
        _tx(accountIdentifier="DE02120300000000202051", currency="EUR"),
        _tx(accountIdentifier="DE02120300000000202051", transactionId="tx-2", currency="JPY", amount="100")]},
        expect=201)
    assert [i["result"] for i in made["items"]] == ["new", "error"]
    assert [e["code"] for e in made["errors"]] == ["CurrencyMismatch"]
    account = api.ok("GET", f"/bankaccounts/{made['items'][0]['bankAccountId']}")["data"]
    assert account["currency"] == "EUR"


def test_a_booking_day_given_once_stays_even_when_it_was_the_value_day(api: Api):
    account = api.create_account("GB33BUKB20201555555555")
    api.ok("POST", PATH, json={"transactions": [_tx(valutaAt="2024-03-01", bookedAt="2024-03-01")]}, expect=201)
    resent = api.ok("POST", PATH, json={"transactions": [_tx(valutaAt="2024-03-05")]}, expect=201)
    assert resent["items"][0]["updatedFields"] == ["valueDate"] and resent["items"][0]["keptFields"] == []
    other = api.ok("POST", PATH, json={"transactions": [_tx(valutaAt="2024-03-05", amount="99.00")]}, expect=201)
    assert (other["existingTransactions"], other["items"][0]["keptFields"]) == (1, ["amount"])
    (line,) = api.ledger(account)
    assert (line["valueDate"], line["postingDate"]) == ("2024-03-05", "2024-03-01")


def test_concurrent_posts_and_resends_of_one_transaction_leave_one_row(api: Api):
    from concurrent.futures import ThreadPoolExecutor

    account = api.create_account("GB33BUKB20201555555555")

    def post(tx_id: str, day: str) -> int:
        return api.call("POST", PATH, json={"transactions": [_tx(transactionId=tx_id, valutaAt=day)]}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        # first posts racing, each with another day; then resends racing to other days
        assert set(pool.map(post, ["race-1"] * 4, [f"2024-09-0{n}" for n in (1, 3, 5, 7)])) == {201}
        assert set(pool.map(post, ["race-1"] * 8, [f"2024-10-{n:02d}" for n in range(1, 9)])) == {201}
    rows = [r for r in api.ledger(account) if r["description"] == "Coffee"]
    assert len(rows) == 1, rows
    # and a resend after them moves that one row
    post("race-1", "2024-11-30")
    assert [r["postingDate"] for r in api.ledger(account)] == ["2024-11-30"]


def test_concurrent_posts_of_one_transaction_without_an_id_answer_new_once(api: Api):
    """Six requests post the same transaction (no transactionId) at once: one line, and one answer says `new`
    (001: newTransactions counts the transactions newly created), the others `existing`."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    account = api.create_account("GB33BUKB20201555555555")
    start = threading.Barrier(6)

    def post(_: int) -> dict[str, Any]:
        start.wait()
        return api.ok("POST", PATH, json={"transactions": [_tx(transactionId="keyed", text="Keyed"),
                                                            _tx(text="Racing", amount="2.00")]}, expect=201)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(post, range(6)))
    results = sorted(item["result"] for answer in answers for item in answer["items"])
    assert results == ["existing"] * 10 + ["new"] * 2, results
    assert sorted(r["description"] for r in api.ledger(account)) == ["Keyed", "Racing"]


def test_blank_ids_are_refused_and_placeholder_ids_are_no_id(api: Api):
    """A blank accountIdentifier or transactionId would merge what it names (every blank identifier one account,
    every blank id one line): refused. A placeholder id (`NOTPROVIDED`, all zeros) is no id, as in bank files: each
    such transaction is booked, told apart by its content."""
    account = api.create_account("GB33BUKB20201555555555")
    blank = api.ok("POST", PATH, json={"transactions": [
        _tx(transactionId=" "), _tx(accountIdentifier=" \t"), _tx(accountIdentifier="\u00a0")]}, expect=201)
    assert blank["errorTransactions"] == 3
    assert [(e["code"], e["target"]) for e in blank["errors"]] == [
        ("InvalidValue", "$.transactions[0].transactionId"), ("InvalidValue", "$.transactions[1].accountIdentifier"),
        ("InvalidValue", "$.transactions[2].accountIdentifier")]
    first = api.ok("POST", PATH, json={"transactions": [
        _tx(transactionId="NOTPROVIDED", text="Lunch", amount="12.00"),
        _tx(transactionId="000000", text="Bakery", amount="4.00")]}, expect=201)
    second = api.ok("POST", PATH, json={"transactions": [
        _tx(transactionId="NOTPROVIDED", text="Dinner", amount="40.00"),
        _tx(transactionId="NOTPROVIDED", text="Lunch", amount="12.00")]}, expect=201)  # a resend of Lunch
    assert (first["newTransactions"], second["newTransactions"], second["existingTransactions"]) == (2, 1, 1)
    assert sorted((r["description"], r["amount"]) for r in api.ledger(account)) == [
        ("Bakery", "-4.00"), ("Dinner", "-40.00"), ("Lunch", "-12.00")]
    assert [a["accountIdentifier"] for a in api.ok("GET", "/bankaccounts")["data"]] == ["GB33BUKB20201555555555"]


def test_an_amount_of_38_digits_is_stored_and_summed_exactly(api: Api):
    """The ledger stores 38 significant digits exactly: a debit of that many keeps them, and the balance and running
    balances that take it in are exact too (28-digit arithmetic rounded the sign taken and every sum)."""
    account = api.create_account("JP-38-DIGITS", currency="JPY")
    big = "11111111111111111111111111111111111111"
    posted = api.ok("POST", PATH, json={"transactions": [
        _tx(accountIdentifier="JP-38-DIGITS", transactionId="big", amount=big, currency="JPY", valutaAt="2025-06-10"),
        _tx(accountIdentifier="JP-38-DIGITS", transactionId="small", amount="7", currency="JPY", valutaAt="2025-06-11",
            creditDebit="credit")]}, expect=201)
    assert posted["newTransactions"] == 2
    answer = api.ok("GET", f"/bankaccounts/{account}/transactions", params={"include": "balance"})
    amounts = sorted(r["amount"] for r in answer["data"])
    assert amounts == [f"-{big}", "7"]
    assert Decimal(answer["meta"]["balance"]["amount"]) == -Decimal(big) + 7, answer["meta"]
    assert sorted(Decimal(str(r["runningBalance"])) for r in answer["data"]) == [
        -Decimal(big), -Decimal(big) + 7], answer["data"]


def test_a_transaction_a_file_import_wrote_with_that_id_is_existing_and_stays_the_imports(api: Api):
    """An OFX line whose FITID is the posted transactionId, on the same day, is the same ledger line: the post
    answers existing (nothing was created), and a resend changes none of its fields (the import owns it: its revert
    removes it)."""
    account = api.create_account("GB33BUKB20201555555555")
    ofx = (b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:1252\n"
           b"COMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS>"
           b"<CURDEF>GBP<BANKACCTFROM><BANKID>BUKB<ACCTID>GB33BUKB20201555555555<ACCTTYPE>CHECKING</BANKACCTFROM>"
           b"<BANKTRANLIST><DTSTART>20240301<DTEND>20240331<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240301"
           b"<TRNAMT>-3.50<FITID>tx-1<NAME>Coffee</STMTTRN></BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n")
    imp = api.import_file(account, ofx, file_format="XML#OFX#v1")
    api.ok("POST", f"/imports/{imp['id']}/confirm", expect=204)
    assert api.wait(imp["id"], "complete", "error")["status"] == "complete"
    (line,) = api.ledger(account)
    posted = api.ok("POST", PATH, json={"transactions": [_tx()]}, expect=201)
    assert (posted["newTransactions"], posted["existingTransactions"]) == (0, 1), posted
    assert posted["items"][0]["transactionId"] == line["transactionId"]
    resent = api.ok("POST", PATH, json={"transactions": [_tx(valutaAt="2024-03-04", amount="99")]}, expect=201)
    assert resent["items"][0]["updatedFields"] == [] and "valueDate" in resent["items"][0]["keptFields"], resent
    assert api.ledger(account) == [line]


def test_an_amount_written_with_more_digits_than_it_has_significant_ones_is_stored(api: Api):
    """`1` and 38 zeros has one significant digit, `...678.00` 38: the ledger holds both (DynamoDB counts the
    significant digits), so they are booked, never a 500."""
    account = api.create_account("GB33BUKB20201555555555")
    posted = api.ok("POST", PATH, expect=201, json={"transactions": [
        _tx(transactionId="big-1", amount="1" + "0" * 38),
        _tx(transactionId="big-2", amount="123456789012345678901234567890123456.00", valutaAt="2024-03-02")]})
    assert posted["newTransactions"] == 2, posted
    amounts = sorted(Decimal(r["amount"]) for r in api.ledger(account))
    assert amounts == [Decimal("-1E+38"), Decimal("-123456789012345678901234567890123456")]
