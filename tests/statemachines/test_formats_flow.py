"""Real bank files through the whole workflow: multi-account matching, discovery, each format family."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from tests.support.client import Api
from tests.support.samples import SAMPLES
from tests.support.stack import new_api
from tests.support.statements import two_banks_ofx
from tximport.services.processing import ProcessingService
from tximport.services.split import SplitProcessing
from tximport_cli.local.stack import LocalStack


def _sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_camt_without_accounts_discovers_them_and_goes_on_once_they_are_named(api: Api):
    imp = api.import_file(None, _sample("camt053/oca-test-camt053.xml"), file_format="CAMT053#v1",
                          wait_for=("awaitingConfirmation", "complete", "error"))
    assert imp["status"] == "awaitingConfirmation"  # where the document tells clients to poll, never complete
    found = {a["accountIdentifier"]: a for a in imp["accountIdentifiers"]}
    assert "NL77ABNA0574908765" in found and found["NL77ABNA0574908765"]["transactionCount"] == 4
    assert "AccountDiscovery" in {d["code"] for d in imp["errorDetails"]}
    assert api.call("POST", f"/imports/{imp['id']}/confirm").status_code == 409  # nothing to confirm yet

    # name the account by its number: a placeholder account is created, the staged file processed again
    api.ok("GET", f"/imports/{imp['id']}/amendtransactions", expect=204, json={"data": {"bankAccounts": [
        {"accountIdentifier": "NL77ABNA0574908765", "countryCode": "NLD"}]}})
    named = api.wait(imp["id"], "awaitingConfirmation", "error")
    assert named["status"] == "awaitingConfirmation", named["errorDetails"]
    (account,) = named["bankAccounts"]
    assert account["accountIdentifier"] == "NL77ABNA0574908765" and account["id"]
    assert named["statement"]["summary"]["transactionDetailsCount"] == 4
    assert {r["bankAccountId"] for r in api.review(imp["id"])} == {account["id"]}
    assert api.confirm_and_complete(imp["id"])["status"] == "complete"
    assert len(api.ledger(account["id"])) == 4


def test_camt_with_a_fuzzy_matched_account_imports_its_lines(api: Api):
    account = api.create_account("nl77 abna 0574 9087 65")
    imp = api.import_file(account, _sample("camt053/oca-test-camt053.xml"), file_format="CAMT053#v1",
                          fuzzyAccountMatching=True)
    assert imp["status"] == "awaitingConfirmation", imp["errorDetails"]
    assert imp["statement"]["summary"]["transactionDetailsCount"] == 4
    rows = api.review(imp["id"])
    assert all(r["bankAccountId"] == account for r in rows)
    assert sum(Decimal(r["amount"]) for r in rows) == Decimal("-12.99")
    api.confirm_and_complete(imp["id"])
    assert len(api.ledger(account)) == 4


def test_camt_lines_of_unlisted_accounts_are_ignored_and_counted(api: Api):
    account = api.create_account("CH1111000000123456789")
    imp = api.import_file(account, _sample("camt053/oca-test-camt053-txdtls.xml"), file_format="CAMT053#v1")
    summary = imp["statement"]["summary"]
    assert summary["transactionDetailsCount"] == 2
    assert {a["accountIdentifier"] for a in imp["accountIdentifiers"]} >= {"CH1111000000123456789"}


def test_a_camt_statement_without_entries_ends_in_error_never_a_silent_complete(api: Api):
    account = api.create_account("NL77ABNA0574908765")
    imp = api.import_file(account, _sample("camt053/oca-test-camt053-no-ntry.xml"), file_format="CAMT053#v1")
    assert imp["status"] == "error"
    assert imp["errorDetails"][0]["code"] == "EmptyFile"
    assert imp["statement"]["summary"]["transactionDetailsCount"] == 0


def test_ofx_fitid_is_the_bank_transaction_id(api: Api):
    account = api.create_account("123456")
    imp = api.import_file(account, _sample("ofx/oca-test_ofx.ofx"), file_format="XML#OFX#v1")
    rows = api.review(imp["id"])
    assert len(rows) == 4
    assert sum(Decimal(r["amount"]) for r in rows) == Decimal("-360")
    assert all(r["bankTransactionId"] for r in rows)
    # the same statement again (bypassing replay): every line is a certain duplicate by FITID
    api.confirm_and_complete(imp["id"])
    again = api.import_file(account, _sample("ofx/oca-test_ofx.ofx"), file_format="XML#OFX#v1",
                            bypassReplayValidation=True)
    assert all(r["decision"] == "skip" and r["possibleDuplicate"] for r in api.review(again["id"]))


def _ofx(*lines: tuple[str, str, str], bank: str = "1", account: str = "123456") -> bytes:
    """An OFX 2 statement of account 123456 with (FITID, amount, name) lines, all on 2024-06-02."""
    body = "".join(f"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240602<TRNAMT>{amount}<FITID>{fitid}<NAME>{name}</STMTTRN>"
                   for fitid, amount, name in lines)
    return ("OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR"
            f"<BANKACCTFROM><BANKID>{bank}<ACCTID>{account}<ACCTTYPE>CHECKING</BANKACCTFROM><BANKTRANLIST>"
            f"<DTSTART>20240601<DTEND>20240630{body}</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>"
            ).encode()


def test_a_reused_or_placeholder_bank_id_never_folds_lines_into_one(api: Api):
    account = api.create_account("123456")
    content = _ofx(("X", "-5.00", "BOULANGERIE"), ("X", "-60.00", "PHARMACIE"), ("0", "-7.00", "KIOSK"),
                   ("0", "-8.00", "KIOSK 2"), ("NOTPROVIDED", "-9.00", "BAR"), ("Y", "-2.00", "BUS"),
                   ("Y", "-2.00", "BUS"))
    imp = api.import_file(account, content, file_format="XML#OFX#v1")
    rows = api.review(imp["id"])
    # every line has an id of its own; a placeholder is no bank id; another amount under a reused id is no
    # duplicate, the same amount under the same id is a certain one
    assert len({r["transactionId"] for r in rows}) == 7
    assert [(r["bankTransactionId"], r["decision"]) for r in rows] == [
        ("X", "import"), ("X", "import"), (None, "import"), (None, "import"), (None, "import"), ("Y", "import"),
        ("Y", "skip")]
    # imported by the reviewer too, the repeated line lands: the ledger is what was reviewed
    skipped = rows[-1]["transactionId"]
    api.ok("PATCH", f"/imports/{imp['id']}/reviewtransactions/{skipped}", json={"data": {"decision": "import"}},
           expect=204)
    api.confirm_and_complete(imp["id"])
    assert sorted(r["amount"] for r in api.ledger(account)) == sorted(
        ["-5.00", "-60.00", "-7.00", "-8.00", "-9.00", "-2.00", "-2.00"])


def test_a_statement_of_another_bank_is_not_the_account_sharing_its_number(api: Api):
    """OFX names the bank beside the account (BANKID 30001): an account of bank 99999 with the same account number
    (FR76 99999 00001 12345678901 52) is another account, even when matching fuzzily; the account of bank 30001
    is the statement's."""
    content = _ofx(("A", "-5.00", "BAKERY"), bank="30001", account="12345678901")
    other_bank = api.create_account("FR7699999000011234567890152")
    spare = api.create_account("DE89370400440532013000")
    imp = api.import_file([other_bank, spare], content, file_format="XML#OFX#v1", fuzzyAccountMatching=True)
    assert imp["status"] == "error"
    assert [a["bankAccountId"] for a in imp["accountIdentifiers"]] == [None]
    assert "UnlistedAccountLines" in {e["code"] for e in imp["errorDetails"]}
    mine = api.create_account("FR7630001000011234567890149")
    imp = api.import_file([mine, spare], content, file_format="XML#OFX#v1", fuzzyAccountMatching=True)
    assert [r["bankAccountId"] for r in api.review(imp["id"])] == [mine]


def _camt_of_0532013000(*statements: tuple[str | None, str, str]) -> bytes:
    """camt.053 statements of domestic account 0532013000, each (servicer BIC or None, amount debited, text)."""
    def stmt(number: int, bic: str | None, amount: str, text: str) -> str:
        servicer = f"<Svcr><FinInstnId><BIC>{bic}</BIC></FinInstnId></Svcr>" if bic else ""
        return (f"<Stmt><Id>S{number}</Id><CreDtTm>2024-01-31T10:00:00</CreDtTm><Acct><Id><Othr><Id>0532013000</Id>"
                f"</Othr></Id><Ccy>EUR</Ccy>{servicer}</Acct>"
                f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2024-01-0'
                f"{number}</Dt></BookgDt><AcctSvcrRef>R{number}</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>"
                f"{text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry></Stmt>")
    return ('<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
            "<BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-01-31T10:00:00</CreDtTm></GrpHdr>"
            + "".join(stmt(i, *statement) for i, statement in enumerate(statements, 1))
            + "</BkToCstmrStmt></Document>").encode()


@pytest.mark.parametrize(("content", "file_format", "first", "second"), [
    (two_banks_ofx(), "XML#OFX#v1", "FR7630001000011234567890149", "FR7699999000011234567890152"),
    (_camt_of_0532013000(("COBADEFFXXX", "15.00", "STROM"), ("INGDDEFFXXX", "3.30", "KIOSK")), "CAMT053#v1",
     "DE89370400440532013000", "DE48500105170532013000")])
def test_one_account_number_at_two_banks_in_one_file_is_two_accounts(api: Api, content: bytes, file_format: str,
                                                                    first: str, second: str):
    """Each statement's lines go to the account of its bank, never all to the first statement's account."""
    first_id, second_id = api.create_account(first), api.create_account(second)
    imp = api.import_file([first_id, second_id], content, file_format=file_format, fuzzyAccountMatching=True)
    assert imp["status"] == "awaitingConfirmation", imp.get("errorDetails")
    assert sorted((a["bankAccountId"], a["transactionCount"]) for a in imp["accountIdentifiers"]) == sorted(
        [(first_id, 1), (second_id, 1)])
    api.confirm_and_complete(imp["id"])
    assert [r["amount"] for r in api.ledger(first_id)] == ["-12.50" if file_format.startswith("XML") else "-15.00"]
    assert [r["amount"] for r in api.ledger(second_id)] == ["-9.99" if file_format.startswith("XML") else "-3.30"]


@pytest.mark.parametrize("banks", [("30001", None), (None, "30001")])
def test_a_statement_naming_no_bank_beside_one_that_does_is_left_out_never_merged(api: Api,
                                                                                 banks: tuple[str | None, ...]):
    """Two OFX statements of number 12345678901, one at bank 30001, one naming no bank, with the accounts of that
    number at banks 30001 and 99999 named: the first statement's lines go to bank 30001's account, the other's
    are left out (either account may be its own), whichever comes first."""
    mine, other = api.create_account("FR7630001000011234567890149"), api.create_account("FR7699999000011234567890152")
    imp = api.import_file([mine, other], two_banks_ofx(banks), file_format="XML#OFX#v1", fuzzyAccountMatching=True)
    assert imp["status"] == "awaitingConfirmation", imp.get("errorDetails")
    banked = "-12.50" if banks[0] else "-9.99"
    assert [r["amount"] for r in api.review(imp["id"])] == [banked]
    assert "AmbiguousAccount" in {e["code"] for e in imp["errorDetails"]}
    api.confirm_and_complete(imp["id"])
    assert ([r["amount"] for r in api.ledger(mine)], api.ledger(other)) == ([banked], [])


def test_a_statement_that_may_be_either_of_two_named_accounts_says_so(api: Api):
    """A statement naming account 0532013000 and no bank, with two accounts of that number at two banks named:
    its lines are left out, and the import says the statement may be either account (never that no account of
    it was named)."""
    first, second = api.create_account("DE89370400440532013000"), api.create_account("DE48500105170532013000")
    imp = api.import_file([first, second], _camt_of_0532013000((None, "15.00", "STROM")), file_format="CAMT053#v1",
                          fuzzyAccountMatching=True)
    assert imp["status"] == "error"
    (note,) = [e for e in imp["errorDetails"] if e["code"] == "AmbiguousAccount"]
    assert (note["severity"], note["actualValue"]) == ("warning", "0532013000")
    assert first in note["message"] and second in note["message"]


def test_a_bank_id_reused_by_a_later_statement_never_overwrites_a_ledger_line(api: Api):
    account = api.create_account("123456")
    first = api.import_file(account, _ofx(("X", "-5.00", "BAKERY")), file_format="XML#OFX#v1")
    api.confirm_and_complete(first["id"])
    later = api.import_file(account, _ofx(("X", "-60.00", "PHARMACY"), ("X", "-5.00", "BAKERY")),
                            file_format="XML#OFX#v1")
    pharmacy, bakery = api.review(later["id"])
    (stored,) = api.ledger(account)
    # the other amount under the bank id gets an id of its own, flagged as a possible duplicate only; the same
    # line again is the ledger's line
    assert pharmacy["transactionId"] != stored["transactionId"] and pharmacy["decision"] == "import"
    assert pharmacy["duplicateReason"]["amountsDiffer"] is True
    assert (bakery["duplicateOf"], bakery["decision"]) == (stored["transactionId"], "skip")
    api.confirm_and_complete(later["id"])
    assert sorted(r["amount"] for r in api.ledger(account)) == ["-5.00", "-60.00"]


def test_mt940_statement(api: Api):
    account = api.create_account("0001234567")
    imp = api.import_file(account, _sample("mt940/mt940-jejik-ing.sta"), file_format="MT940#v1")
    assert imp["status"] == "awaitingConfirmation", imp["errorDetails"]
    assert imp["statement"]["summary"]["transactionDetailsCount"] == 7


def test_qif_with_given_date_style(api: Api):
    account = api.create_account()
    imp = api.import_file(account, _sample("qif/oca-test_qif.qif"), file_format="QIF#v1", dateStyle="middleEndian")
    assert imp["status"] == "awaitingConfirmation", imp["errorDetails"]
    assert imp["statement"]["summary"]["transactionDetailsCount"] == 5


def test_json_v0(api: Api):
    account = api.create_account()
    body = (b'{"transactions": ['
            b'{"transactionId": "t1", "datePosted": "2024-02-01", "amount": "-12.50", "description": "Lunch"},'
            b'{"transactionId": "t2", "datePosted": "2024-02-02", "amount": 100.10, "description": "Refund"},'
            b'{"transactionId": "t3", "datePosted": "not a date", "amount": "1", "description": "Bad"}]}')
    imp = api.import_file(account, body, file_format="JSON#v0")
    assert imp["status"] == "awaitingConfirmation", imp["errorDetails"]
    rows = api.review(imp["id"])
    assert [r["amount"] for r in rows] == ["-12.50", "100.10"]
    errors = [e for e in api.ok("GET", f"/imports/{imp['id']}/errordetails")["data"] if e["lineNumber"] is not None]
    assert errors and errors[0]["target"].startswith("$.transactions[2]")


def test_mapped_csv_with_debit_credit_indicator(api: Api):
    account = api.create_account()
    mapping = {"columns": {"date": "Date", "description": "Label", "amount": "Amount", "indicator": "D/C",
                           "balance": "Balance", "counterpartyName": "Partner Name"},
               "indicatorValues": {"debit": ["D"], "credit": ["C"]}}
    imp = api.import_file(account, _sample("csv/oca-debit_credit.csv"), file_format="CSV#mapped#v1",
                          mapping=mapping, dateStyle="middleEndian")
    assert imp["status"] in ("awaitingConfirmation", "error")
    if imp["status"] == "error":  # mapping keys are the format's documented ones; show why if not
        raise AssertionError(imp["errorDetails"])
    assert imp["statement"]["summary"]["transactionDetailsCount"] > 0


def test_ambiguous_dates_end_in_error_with_candidates(api: Api):
    account = api.create_account()
    import_id, upload = api.create_import(account, dateStyle=None)
    api.upload(upload, b"date,description,amount\n01/02/2024,A,1\n03/04/2024,B,2\n")
    imp = api.wait(import_id, "error", "awaitingConfirmation")
    assert imp["status"] == "error"
    assert imp["errorDetails"][0]["code"] == "AmbiguousDateStyle"
    assert "littleEndian" in imp["errorDetails"][0]["message"]


def test_a_german_export_of_days_up_to_the_twelfth_reads_day_first(api: Api):
    """Every date of 1 to 12 November reads both ways, but a dotted date is written day first: the import
    reads them so, and needs no dateStyle."""
    account = api.create_account()
    import_id, upload = api.create_import(account, dateStyle=None)
    api.upload(upload, b"Buchungstag;Verwendungszweck;Betrag\n03.11.2024;Miete;-1.200,00\n"
                       b"12.11.2024;Gehalt;2.500,00\n")
    imp = api.wait(import_id, "awaitingConfirmation", "error")
    assert imp["status"] == "awaitingConfirmation", imp.get("errorDetails")
    assert sorted(row["datePosted"][:10] for row in api.review(import_id)) == ["2024-11-03", "2024-11-12"]


# --- mutated files through the whole flow ----------------------------------------------------------
#: (sample, file format, the account's identifier in the file, what else the import says)
MUTATED_SAMPLES: list[tuple[str, str, str | None, dict[str, Any]]] = [
    ("camt053/oca-test-camt053.xml", "CAMT053#v1", "NL77ABNA0574908765", {}),
    ("ofx/oca-test_ofx.ofx", "XML#OFX#v1", "123456", {}),
    ("mt940/mt940-jejik-ing.sta", "MT940#v1", "0001234567", {}),
    ("qif/oca-test_qif.qif", "QIF#v1", None, {"dateStyle": "middleEndian"}),
    ("csv/oca-sample_statement_en.csv", "Tabular3column#v1", None, {}),
]
MUTATIONS_PER_SAMPLE = 4


def _mutate(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """One seeded mutation of a file: bytes flipped, cut short, junk spliced in, a slice repeated or left out."""
    kind = rng.choice(["flip", "truncate", "splice", "repeat", "drop"])
    at = rng.randrange(len(data))
    if kind == "flip":
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        return kind, bytes(mutated)
    if kind == "truncate":
        return kind, data[:at]
    if kind == "splice":
        return kind, data[:at] + rng.randbytes(rng.randint(1, 64)) + data[at:]
    size = rng.randint(1, max(1, len(data) // 4))
    if kind == "repeat":
        return kind, data[:at] + data[at:at + size] * rng.randint(2, 5) + data[at:]
    return kind, data[:at] + data[at + size:]


def _through_the_flow(api: Api, sample: str, file_format: str, identifier: str | None, extra: dict[str, Any],
                      body: bytes) -> str:
    """One mutated file from upload to its final status; answers that status. No answer is a 5xx, the
    import never stays in flight, an error always says why, and the ledger holds what the review said."""
    account = api.create_account(identifier)
    import_id, upload_path = api.create_import(account, file_format=file_format, **extra)
    api.upload(upload_path, body)
    imp = api.wait(import_id, "awaitingConfirmation", "error", "complete", timeout=120)
    if imp["status"] == "awaitingConfirmation":
        to_import = [r for r in api.review(import_id) if r["decision"] == "import"]
        confirmed = api.call("POST", f"/imports/{import_id}/confirm")
        assert confirmed.status_code in (204, 409), confirmed.text  # 409: nothing to import (a discovery)
        imp = api.wait(import_id, "complete", "error", timeout=120) if confirmed.status_code == 204 else imp
        if imp["status"] == "complete":
            assert len(api.ledger(account)) == len(to_import), sample
    if imp["status"] == "error":
        assert imp["errorDetails"] and imp["errorDetails"][0]["code"] and imp["errorDetails"][0]["message"], imp
    return str(imp["status"])


def test_mutated_bank_files_never_get_a_server_error_a_stuck_import_or_an_error_without_details(stack: LocalStack):
    """A few dozen seeded mutations of real bank files of every format, all at once through the local
    stack, each by a tenant of its own (its account has the sample's identifier, which names one account of a
    tenant). (The parsers' mass fuzzing is in the unit tier.)"""
    rng = random.Random(13)
    cases = [(sample, file_format, identifier, extra, *_mutate(rng, _sample(sample)))
             for sample, file_format, identifier, extra in MUTATED_SAMPLES for _ in range(MUTATIONS_PER_SAMPLE)]
    with ThreadPoolExecutor(8) as pool:
        ended = list(pool.map(lambda case: _through_the_flow(new_api(stack), *case[:4], case[5]), cases))
    assert set(ended) <= {"complete", "error", "awaitingConfirmation"}, ended
    assert len(ended) == len(MUTATED_SAMPLES) * MUTATIONS_PER_SAMPLE


def _statement_csv(days: int = 10, per_day: int = 6) -> bytes:
    rows = ["date,description,amount"]
    for d in range(days):
        for i in range(per_day):  # two identical coffees a day, some on the days the ranges share
            rows.append(f"2024-05-{d + 1:02d},{'Coffee' if i < 2 else f'Payment {i}'},-{3 + i}.50")
    return ("\n".join(rows) + "\n").encode()


def test_a_split_file_reaches_review_and_commits_the_one_run_ledger(api: Api, monkeypatch: pytest.MonkeyPatch):
    """A file above the split size goes through the Map over its ranges and the reduce; the ledger it
    commits holds exactly the ids one run gives (the same file again, read in one run, is all duplicates)."""
    account = api.create_account()
    content = _statement_csv()
    monkeypatch.setattr(ProcessingService, "split_bytes", property(lambda self: 300, lambda self, value: None),
                        raising=False)
    ranges: list[int] = []
    run_range = SplitProcessing.process_range
    monkeypatch.setattr(SplitProcessing, "process_range",
                        lambda self, imp, index: ranges.append(index) or run_range(self, imp, index))
    imp = api.import_file(account, content, file_format="Tabular3column#v1")
    assert imp["status"] == "awaitingConfirmation", imp["errorDetails"]
    assert sorted(ranges) == list(range(len(ranges))) and len(ranges) >= 3  # the Map ran every range
    assert imp["statement"]["summary"]["transactionDetailsCount"] == 60
    rows = api.review(imp["id"])
    assert [r["lineNumber"] for r in rows] == list(range(2, 62))
    assert api.confirm_and_complete(imp["id"])["status"] == "complete"
    ledger = api.ledger(account)
    assert len({line["transactionId"] for line in ledger}) == 60
    monkeypatch.setattr(ProcessingService, "split_bytes", property(lambda self: 0, lambda self, value: None),
                        raising=False)
    again = api.import_file(account, content, file_format="Tabular3column#v1", bypassReplayValidation=True)
    reasons = [(r.get("duplicateReason") or {}).get("reason") for r in api.review(again["id"])]
    assert reasons == ["alreadyImported"] * 60
