"""ProcessingService on fakes: what a file stages, reports and decides, and how it fails."""

from __future__ import annotations

import gc
import json
from datetime import date
from decimal import Decimal

import pytest

from tests.fakes.container import FakeContainer
from tests.support.samples import SAMPLES
from tests.support.statements import Card, Entry, Line, camt053, mt940, ofx
from tests.unit.services.world import CSV, World
from tximport.commands import AccountChoice, CreateImport, FlipSigns, ImportAccount, NameAccounts
from tximport.errors import Conflict
from tximport.formats import csv_feed
from tximport.formats.base import DateStyle, LineBlock
from tximport.ids import transaction_id
from tximport.models import (
    ImportStatus,
    LedgerLine,
    ProductDates,
    ReviewLevel,
    Severity,
    TransactionSign,
    problem_target,
    utcnow,
)
from tximport.services import processing
from tximport.services.processing import _Tally, next_step, parse_budget, report_warnings
from tximport.storage import staging

JSON_TWO_ACCOUNTS = json.dumps({"bankAccounts": [
    {"accountIdentifier": "DE89370400440532013000", "currency": "EUR", "transactions": [
        {"transactionId": "t1", "datePosted": "2024-01-31", "amount": "2500.00", "description": "Salary"},
        {"transactionId": "t2", "datePosted": "2024-02-01", "amount": "-950.00", "description": "Rent"}]},
    {"accountIdentifier": "GB33BUKB20201555555555", "currency": "GBP", "transactions": [
        {"transactionId": "t3", "datePosted": "2024-02-02", "amount": "-3.50", "description": "Coffee"}]},
]}).encode()
JSON_FINE_AMOUNTS = json.dumps({"bankAccounts": [
    {"accountIdentifier": "DE89370400440532013000", "currency": "EUR", "transactions": [
        {"transactionId": "f1", "datePosted": "2024-01-31", "amount": "10.2500", "description": "Fine"},
        {"transactionId": "f2", "datePosted": "2024-02-01", "amount": "0.001", "description": "Too fine"}]},
]}).encode()


def _codes(details) -> list[str]:
    return [d.code for d in details]


def test_a_file_is_staged_in_chunks_with_its_report(c: FakeContainer, world: World):
    c.settings.chunk_rows = 2
    imp, outcome = world.processed(CSV)

    assert outcome == "review" and imp.status == ImportStatus.PROCESSING  # the await step shows the status
    assert len(imp.chunk_keys) == 2 and (imp.staging_prefix or "").startswith(f"staging/org-1/co-1/{imp.id}/g1-")
    assert all(key.startswith(imp.staging_prefix or "-") for key in imp.chunk_keys)
    rows = list(c.staging.all_rows(imp.chunk_keys))
    assert [(r.date_posted, r.amount, r.description, r.line_number) for r in rows] == [
        (date(2024, 1, 2), Decimal("-3.50"), "Coffee", 2), (date(2024, 1, 3), Decimal("2500.00"), "Salary", 3),
        (date(2024, 1, 4), Decimal("-1200.00"), "Rent", 4)]
    assert all(r.bank_account_id == imp.bank_accounts[0].id and r.default_decision == "import" for r in rows)
    assert len({r.transaction_id for r in rows}) == 3
    s = imp.summary
    assert s is not None and (s.transaction_details_count, s.transaction_credit_count, s.transaction_debit_count) == (
        3, 1, 2)
    assert (s.transaction_credit_sum, s.transaction_debit_sum) == (Decimal("2500.00"), Decimal("-1203.50"))
    assert (s.transaction_range_start_date, s.transaction_range_end_date) == (date(2024, 1, 2), date(2024, 1, 4))
    assert imp.file_sha256 and imp.file_etag and imp.error_details == []


def test_reading_a_file_with_the_collector_paused_leaves_no_cyclic_garbage(c: FakeContainer, world: World):
    """Processing pauses the cyclic collector (tximport.gcpause): that is only safe while a file's lines,
    rejected ones included, form no reference cycles, whatever the file's size."""
    lines = [f"2024-01-{n % 28 + 1:02d},Line {n},-{n % 97}.{n % 100:02d}" if n % 3 else f"2024-13-01,Bad {n},x{n}"
             for n in range(6000)]
    content = b"Date,Description,Amount\n" + "\n".join(lines).encode() + b"\n"
    world.processed(content)  # once, so what a first use builds is built
    gc.collect()
    imp, outcome = world.processed(content)
    assert outcome == "review" and imp.summary is not None and imp.summary.rejected_line_count == 2000
    assert gc.isenabled() and gc.collect() < 100  # not thousands: nothing per line


def test_the_same_file_twice_gets_the_same_ids_and_identical_lines_stay_two(c: FakeContainer, world: World):
    twice = CSV + b"2024-01-02,Coffee,-3.50\n"
    first = world.completed(twice)
    again, _ = world.processed(twice, first.bank_accounts[0].id, bypass_replay_validation=True)
    ids = [r.transaction_id for r in c.staging.all_rows(first.chunk_keys)]
    assert len(set(ids)) == 4 and ids == [r.transaction_id for r in c.staging.all_rows(again.chunk_keys)]


def test_ids_of_lines_first_of_their_kind_are_left_to_readers_and_read_as_the_ledger_keeps_them(
        c: FakeContainer, world: World, monkeypatch: pytest.MonkeyPatch):
    """A segment whose lines are each the first of its kind on its day is staged without its ids (the readers
    compute them); a segment with an identical line keeps them. Review, commit and a second import all see the
    ids `transaction_id` gives."""
    monkeypatch.setattr(csv_feed, "BLOCK_SIZE", 1024)  # blocks of some 40 lines (the first holds the header)
    lines = [f"2024-01-{1 + n // 20:02d},Card {n},-{n}.50" for n in range(120)]
    lines[70] = lines[71] = "2024-01-04,Tea,-2.00"  # two alike in the middle block
    content = ("Date,Description,Amount\n" + "\n".join(lines) + "\n").encode()
    first = world.completed(content)
    account = first.bank_accounts[0].id
    raw = [json.loads(line) for key in first.chunk_keys for line in staging.read_lines(c.objects, key)]
    left = ["transactionId" not in line for line in raw]
    assert left[:30] == [True] * 30 and not left[70] and not left[71] and left[-30:] == [True] * 30
    occurrences = [2 if n == 71 else 1 for n in range(120)]
    expected = [transaction_id(account, date_posted=r.date_posted, amount=r.amount, description=r.description,
                               bank_transaction_id=None, occurrence=k)
                for r, k in zip(c.staging.all_rows(first.chunk_keys), occurrences, strict=True)]
    assert [r.transaction_id for r in c.staging.all_rows(first.chunk_keys)] == expected
    ledger = [line.transaction_id for day in range(1, 7)
              for line in c.ledger.day_lines(world.tenant, account, date(2024, 1, day))]
    assert sorted(ledger) == sorted(expected)
    again, _ = world.processed(content, account, bypass_replay_validation=True)
    rows = list(c.staging.all_rows(again.chunk_keys))
    assert [r.transaction_id for r in rows] == expected
    assert all(r.duplicate_reason == {"reason": "alreadyImported", "certain": True, "in": "ledger"} for r in rows)


def test_minimal_review_confirms_by_itself_and_exception_review_waits_on_warnings(c: FakeContainer, world: World):
    imp, outcome = world.processed(CSV, review_level=ReviewLevel.MINIMAL)
    assert outcome == "confirm" and imp.status == ImportStatus.FINAL_PROCESSING
    bad = CSV + b"2024-13-45,Broken,1.00\n"
    _, outcome = world.processed(bad, review_level=ReviewLevel.MINIMAL)
    assert outcome == "review"
    _, outcome = world.processed(CSV, review_level=ReviewLevel.EXCEPTION)
    assert outcome == "confirm"
    _, outcome = world.processed(bad, review_level=ReviewLevel.EXCEPTION)
    assert outcome == "review"


def test_rejected_lines_are_staged_apart_and_warned_about(c: FakeContainer, world: World):
    imp, outcome = world.processed(CSV + b"2024-01-05,Broken,twelve\n")
    assert outcome == "review" and imp.validation_details_count == 1
    assert _codes(imp.error_details) == ["RejectedLines"] and imp.error_details[0].severity == Severity.WARNING
    [rejected] = [d for key in imp.error_chunk_keys for d in c.staging.page_errors([key], chunk=0, skip=0,
                                                                                   limit=10)[0]]
    assert (rejected.code, rejected.line_number, rejected.actual_value) == ("InvalidAmount", 5, "twelve")


@pytest.mark.parametrize(("file_format", "content", "mapping"), [
    ("Tabular3column#v1", CSV + b"2024-01-05,Rent,-1,234.50\n2024-01-06,Lunch,-9.00,\n", None),
    ("CSV#mapped#v1", CSV + b"2024-01-05,Rent,-1,234.50\n2024-01-06,Lunch,-9.00,\n",
     {"columns": {"date": "Date", "description": "Description", "amount": "Amount"}}),
    ("CSV#4col#v1", b"Date,Description,Credit,Debit\n2024-01-02,Coffee,,3.50\n2024-01-03,Salary,2500.00,\n"
     b"2024-01-04,Rent,,1200.00\n2024-01-05,Salary,2,500.00,\n2024-01-06,Lunch,,9.00,\n", None),
])
def test_a_row_wider_than_the_header_is_rejected_and_never_reaches_the_ledger(
        c: FakeContainer, world: World, file_format: str, content: bytes, mapping: dict | None):
    """An unquoted thousands separator (`-1,234.50` in a comma file) was booked as -1.00, and a 4-column
    credit `2,500.00` as a debit of 498.00; an empty cell past the header (a trailing delimiter) is read."""
    imp, outcome = world.processed(content, file_format=file_format, mapping=mapping,
                                   date_style=DateStyle.BIG_ENDIAN)
    assert outcome == "review"
    [rejected] = [d for key in imp.error_chunk_keys for d in c.staging.page_errors([key], chunk=0, skip=0,
                                                                                   limit=10)[0]]
    assert (rejected.code, rejected.line_number, rejected.target) == ("InvalidLine", 5, "line 5")
    assert rejected.actual_value == content.splitlines()[4].decode()
    done = world.completed(content, world.account("GB00WIDE" + file_format[:3]), file_format=file_format,
                           mapping=mapping, date_style=DateStyle.BIG_ENDIAN)
    booked = sorted((line.description, line.amount) for line in c.ledger.all(world.tenant, done.bank_accounts[0].id))
    assert booked == [("Coffee", Decimal("-3.50")), ("Lunch", Decimal("-9.00")), ("Rent", Decimal("-1200.00")),
                      ("Salary", Decimal("2500.00"))]


def test_a_preamble_and_a_footer_skipped_together_read_as_each_alone(c: FakeContainer, world: World):
    """`skipRows` counted the preamble's blank `,,,` row only while no `skipFooterRows` was set: both
    together ended the import InvalidMapping (no header found)."""
    content = (b"Bank code : 1001,Agency : 1,,\n,,,\n" + CSV + b"Closing balance,,1296.50\n")
    columns = {"date": "Date", "description": "Description", "amount": "Amount"}
    imp, outcome = world.processed(content, file_format="CSV#mapped#v1", date_style=DateStyle.BIG_ENDIAN,
                                   mapping={"columns": columns, "skipRows": 2, "skipFooterRows": 1})
    assert outcome == "review", imp.error_details
    assert imp.validation_details_count == 0
    assert [(r.line_number, r.amount) for r in c.staging.all_rows(imp.chunk_keys)] == [
        (4, Decimal("-3.50")), (5, Decimal("2500.00")), (6, Decimal("-1200.00"))]


def test_an_amount_the_ledger_cannot_store_rejects_its_line_not_the_commit(c: FakeContainer, world: World):
    """Issue 13, item 5: a 40-digit amount was staged, then failed the commit part-way (DynamoDB numbers
    hold 38 significant digits, magnitudes 1E-130 to 1E+126)."""
    forty, tiny, widest = "1234567890123456789012345678901234567890", "0." + "0" * 130 + "1", "-" + "9" * 38
    statement = CSV + f"2024-01-05,Forty digits,{forty}\n2024-01-06,Tiny,{tiny}\n2024-01-07,Wide,{widest}\n".encode()
    imp, outcome = world.processed(statement)
    # validationDetails lists kinds of problem: both lines are one kind (InvalidAmount at the amount column)
    assert outcome == "review" and sum(v.count for v in imp.validation_details) == 2
    rejected = [d for key in imp.error_chunk_keys for d in c.staging.page_errors([key], chunk=0, skip=0,
                                                                                 limit=10)[0]]
    # the amount readers refuse them (naming the column); processing checks every number again
    assert [(d.code, d.line_number, (d.target or "").lower()) for d in rejected] == [
        ("InvalidAmount", 5, "amount"), ("InvalidAmount", 6, "amount")]
    assert rejected[0].actual_value == forty
    done = world.completed(statement, world.account("GB00OTHER1"))
    assert done.status == ImportStatus.COMPLETE
    assert len(c.ledger.all(world.tenant, done.bank_accounts[0].id)) == 4  # the file's three and the widest


def test_a_file_of_rejected_lines_only_fails(world: World):
    imp, outcome = world.processed(b"Date,Description,Amount\n2024-01-05,Broken,twelve\n")
    assert outcome == "failed" and imp.status == ImportStatus.ERROR
    assert imp.error_details[0].code == "InvalidSourceData"


def test_empty_too_large_and_unreadable_files_fail_with_their_codes(c: FakeContainer, world: World):
    imp, outcome = world.processed(b"")
    assert outcome == "failed" and imp.error_details[0].code == "EmptyFile"
    imp, outcome = world.processed(b"\x00\x01 not a statement", file_format="CAMT053#v1")
    assert outcome == "failed" and imp.error_details[0].code == "InvalidSourceData"
    assert c.objects.keys(f"staging/org-1/co-1/{imp.id}/") == []  # nothing staged stays behind


def test_an_ambiguous_date_style_fails_naming_the_candidates(world: World):
    imp, outcome = world.processed(b"Date,Description,Amount\n01/02/2024,A,1.00\n03/04/2024,B,2.00\n",
                                   date_style=None)
    assert outcome == "failed" and imp.error_details[0].code == "AmbiguousDateStyle"
    assert "littleEndian" in imp.error_details[0].message and imp.error_context
    _, outcome = world.processed(b"Date,Description,Amount\n01/02/2024,A,1.00\n",
                                 date_style=DateStyle.LITTLE_ENDIAN)
    assert outcome == "review"


def test_a_file_replaced_after_processing_began_fails_file_changed(c: FakeContainer, world: World):
    imp = world.create(world.account())
    world.upload(imp, CSV)
    world.claim(imp.id)
    pinned = world.get(imp.id)
    pinned.file_etag = '"another"'
    c.imports.save(pinned)
    c.processing.process(world.get(imp.id))
    assert world.get(imp.id).error_details[0].code == "FileChanged"


def test_a_file_replaced_while_it_is_read_fails_file_changed(c: FakeContainer, world: World):
    imp = world.create(world.account())
    world.upload(imp, CSV)
    world.claim(imp.id)
    original = c.objects.open

    def replaced(key: str, **pinned: str | None):
        # the second upload lands while the first is read: the read stays on the pinned version, and the
        # new version is caught before anything staged goes on
        c.objects.upload(imp.s3_key, CSV + b"2024-02-01,More,1.00\n")
        return original(key, **pinned)

    c.objects.open = replaced  # type: ignore[method-assign]
    assert c.processing.process(world.get(imp.id)) == "failed"
    assert world.get(imp.id).error_details[0].code == "FileChanged"


def test_a_file_already_imported_into_the_account_is_a_replay(c: FakeContainer, world: World):
    first = world.completed()
    account = first.bank_accounts[0].id
    imp, outcome = world.processed(CSV, account)
    assert outcome == "failed" and imp.error_details[0].code == "ReplayDetected"
    assert imp.error_context == {"duplicateImportId": first.id}
    _, outcome = world.processed(CSV, account, bypass_replay_validation=True)
    assert outcome == "review"


def test_ledger_duplicates_are_flagged_with_their_evidence(c: FakeContainer, world: World):
    first = world.completed()
    account = first.bank_accounts[0].id
    imp, _ = world.processed(CSV, account, bypass_replay_validation=True)
    rows = list(c.staging.all_rows(imp.chunk_keys))
    assert all(r.possible_duplicate and r.default_decision == "skip" for r in rows)
    assert rows[0].duplicate_reason == {"reason": "alreadyImported", "certain": True, "in": "ledger"}
    assert _codes(imp.error_details) == ["TransactionDateOverlap", "PossibleDuplicates"]
    assert imp.summary is not None and imp.summary.transaction_date_overlap_count == 3
    assert imp.summary.possible_duplicate_count == len(rows) == 3


def test_a_similar_ledger_line_is_a_possible_duplicate_only(c: FakeContainer, world: World):
    account = world.account()
    c.ledger.write(world.tenant, [LedgerLine(
        transaction_id="earlier", bank_account_id=account, amount=Decimal("-3.50"), date_posted=date(2024, 1, 1),
        description="COFFEE", import_id="x", committed=utcnow())])
    imp, _ = world.processed(CSV, account)
    coffee = next(r for r in c.staging.all_rows(imp.chunk_keys) if r.description == "Coffee")
    assert coffee.possible_duplicate and coffee.duplicate_of == "earlier" and coffee.default_decision == "import"
    assert coffee.duplicate_reason is not None and coffee.duplicate_reason["daysApart"] == 1


def test_a_reversed_account_stages_flipped_signs(c: FakeContainer, world: World):
    imp, _ = world.awaiting()
    c.import_service.amend(world.tenant, imp.id, FlipSigns(bank_account_ids=[imp.bank_accounts[0].id]))
    old_prefix = world.get(imp.id).staging_prefix
    assert c.processing.process(world.get(imp.id)) == "review"
    amended = world.get(imp.id)
    assert amended.generation == 2 and c.objects.keys(old_prefix or "") == []
    assert [r.amount for r in c.staging.all_rows(amended.chunk_keys)] == [
        Decimal("3.50"), Decimal("-2500.00"), Decimal("1200.00")]


def test_lines_outside_the_product_dates_are_left_out(c: FakeContainer, world: World):
    account = world.account()
    imp = c.import_service.create(world.tenant, CreateImport(
        file_format="Tabular3column#v1", date_style=DateStyle.BIG_ENDIAN, bank_accounts=[ImportAccount(
            id=account, product_dates=ProductDates(transaction_start_date=date(2024, 1, 3)))]))
    world.upload(imp, CSV)
    world.claim(imp.id)
    c.processing.process(world.get(imp.id))
    done = world.get(imp.id)
    assert [r.description for r in c.staging.all_rows(done.chunk_keys)] == ["Salary", "Rent"]
    assert _codes(done.error_details) == ["OutsideProductDates"]


def test_a_multi_account_file_without_accounts_reports_them_and_waits_for_them_to_be_named(
        c: FakeContainer, world: World):
    imp = world.create(file_format="JSON#v0")
    world.upload(imp, JSON_TWO_ACCOUNTS)
    assert world.claim(imp.id) == "process"
    assert c.processing.process(world.get(imp.id)) == "review"  # awaitingConfirmation, never complete
    found = world.get(imp.id)
    assert found.status == ImportStatus.PROCESSING and _codes(found.error_details) == ["AccountDiscovery"]
    assert [(d.account_identifier, d.currency, d.transaction_count) for d in found.discovered_accounts] == [
        ("DE89370400440532013000", "EUR", 2), ("GB33BUKB20201555555555", "GBP", 1)]
    assert list(c.staging.all_rows(found.chunk_keys)) == []


def _ofx_statement(kind: str, account: str | None, fitid: str, amount: str, closing: str) -> str:
    aggregate = "CCACCTFROM" if kind == "CCSTMTRS" else "BANKACCTFROM"
    acct = "" if account is None else f"<{aggregate}><ACCTID>{account}</ACCTID></{aggregate}>"
    return (f"<{kind}><CURDEF>EUR</CURDEF>{acct}<BANKTRANLIST><STMTTRN><TRNTYPE>DEBIT</TRNTYPE>"
            f"<DTPOSTED>20240102</DTPOSTED><TRNAMT>{amount}</TRNAMT><FITID>{fitid}</FITID><NAME>{fitid}</NAME>"
            f"</STMTTRN></BANKTRANLIST><LEDGERBAL><BALAMT>{closing}</BALAMT><DTASOF>20240103</DTASOF></LEDGERBAL>"
            f"</{kind}>\n")


CARD = "4111222233334444"
OFX_ACCOUNTLESS = ('<?xml version="1.0" encoding="UTF-8"?>\n<OFX>\n'
                   + _ofx_statement("STMTRS", None, "Someone elses rent", "-777.00", "2156.56")
                   + _ofx_statement("CCSTMTRS", CARD, "Card", "-5.00", "-562.00") + "</OFX>\n").encode()


def test_an_ofx_statement_without_account_lends_no_line_to_another_statements_account(
        c: FakeContainer, world: World):
    """The lines (and balances) of a statement naming no account were booked into the file's card account,
    with a false StatementGap; beside other statements they are rejected, alone they are the import's."""
    imp = world.create(file_format="XML#OFX#v1")
    world.upload(imp, OFX_ACCOUNTLESS)
    assert world.claim(imp.id) == "process" and c.processing.process(world.get(imp.id)) == "review"
    found = world.get(imp.id)
    assert [(d.account_identifier, d.transaction_count) for d in found.discovered_accounts] == [(CARD, 1)]
    imp, outcome = world.processed(OFX_ACCOUNTLESS, world.account(CARD), file_format="XML#OFX#v1")
    assert outcome == "review"
    assert [(r.description, r.amount) for r in c.staging.all_rows(imp.chunk_keys)] == [("Card", Decimal("-5.00"))]
    [rejected] = [d for key in imp.error_chunk_keys for d in c.staging.page_errors([key], chunk=0, skip=0,
                                                                                   limit=10)[0]]
    assert (rejected.code, rejected.target, rejected.line_number) == ("RequiredValueMissing",
                                                                      "STMTRS/BANKACCTFROM", 3)
    assert "StatementGap" not in _codes(imp.error_details)
    assert [(s.account_identifier, s.closing, s.line_count) for s in imp.statements] == [(CARD, Decimal("-562.00"), 1)]
    alone = OFX_ACCOUNTLESS.split(b"<CCSTMTRS>")[0] + b"</OFX>\n"
    imp, outcome = world.processed(alone, world.account("DE89370400440532013000"), file_format="XML#OFX#v1")
    assert outcome == "review" and [r.amount for r in c.staging.all_rows(imp.chunk_keys)] == [Decimal("-777.00")]
    # alone in its file, but the import names two accounts: it is neither's (never the first one's)
    first, second = world.account("GB33BUKB20201555555555"), world.account("NL91ABNA0417164300")
    imp, outcome = world.processed(alone, first, second, file_format="XML#OFX#v1", bypass_replay_validation=True)
    assert list(c.staging.all_rows(imp.chunk_keys)) == []
    [rejected] = [d for key in imp.error_chunk_keys for d in c.staging.page_errors([key], chunk=0, skip=0,
                                                                                   limit=10)[0]]
    assert (rejected.code, rejected.target) == ("RequiredValueMissing", "account"), rejected


def test_naming_the_discovered_accounts_goes_on_from_the_staged_file(c: FakeContainer, world: World):
    known = world.account("DE89370400440532013000")
    imp = world.create(file_format="JSON#v0")
    world.upload(imp, JSON_TWO_ACCOUNTS)
    world.claim(imp.id)
    c.processing.process(world.get(imp.id))
    token = c.workflow_engine.park()
    c.workflow.await_confirmation(world.get(imp.id), token)

    c.import_service.amend(world.tenant, imp.id, NameAccounts(accounts=[
        AccountChoice(id=known),
        AccountChoice(account_identifier="GB33 BUKB 2020 1555 5555 55", country_code="GBR")]))

    assert c.workflow_engine.outputs(token) == [{"action": "accounts"}]  # the workflow claims, then processes
    named = world.get(imp.id)
    assert named.status == ImportStatus.PROCESSING and named.task_token is None
    created = named.bank_accounts[1]
    assert created.id != known and c.accounts.get(world.tenant, created.id).currency == "GBP"
    assert world.claim(imp.id) == "process"
    assert c.processing.process(world.get(imp.id)) == "review"
    rows = list(c.staging.all_rows(world.get(imp.id).chunk_keys))
    assert sorted((r.bank_account_id, r.description) for r in rows) == sorted(
        [(known, "Salary"), (known, "Rent"), (created.id, "Coffee")])
    with pytest.raises(Conflict) as named_twice:  # only an import without accounts takes them
        c.import_service.amend(world.tenant, imp.id, NameAccounts(accounts=[AccountChoice(id=known)]))
    assert named_twice.value.code in ("BankAccountsAlreadyNamed", "InvalidImportStatus")


def test_a_replay_found_once_the_accounts_are_named_keeps_no_discovery_note(c: FakeContainer, world: World):
    """qa46a F7: the file, imported before, was uploaded with no accounts, then named them; the import ended
    ReplayDetected still saying `AccountDiscovery`: no bank accounts were named."""
    known = world.account("DE89370400440532013000")
    assert world.completed(JSON_TWO_ACCOUNTS, known, file_format="JSON#v0").status == ImportStatus.COMPLETE
    imp = world.create(file_format="JSON#v0")
    world.upload(imp, JSON_TWO_ACCOUNTS)
    world.claim(imp.id)
    c.processing.process(world.get(imp.id))
    assert _codes(world.get(imp.id).error_details) == ["AccountDiscovery"]
    token = c.workflow_engine.park()
    c.workflow.await_confirmation(world.get(imp.id), token)
    c.import_service.amend(world.tenant, imp.id, NameAccounts(accounts=[AccountChoice(id=known)]))
    world.claim(imp.id)
    assert c.processing.process(world.get(imp.id)) == "failed"
    assert _codes(world.get(imp.id).error_details) == ["ReplayDetected"]


def test_a_file_with_no_transaction_ends_in_error_never_complete(c: FakeContainer, world: World):
    imp, outcome = world.processed(b"Date,Description,Amount\n")
    assert outcome == "failed" and imp.status == ImportStatus.ERROR
    assert [(d.code, d.severity.value) for d in imp.error_details][:1] == [("EmptyFile", "error")]


def test_an_amount_finer_than_its_currency_is_rejected_not_rounded(c: FakeContainer, world: World):
    imp, outcome = world.processed(JSON_FINE_AMOUNTS, world.account("DE89370400440532013000"),
                                   file_format="JSON#v0")
    assert outcome == "review"
    rows = list(c.staging.all_rows(imp.chunk_keys))
    assert [(r.description, r.amount) for r in rows] == [("Fine", Decimal("10.25"))]
    assert imp.summary is not None and imp.summary.rejected_line_count == 1
    assert [(v.code, v.count) for v in imp.validation_details] == [("InvalidAmount", 1)]
    assert imp.validation_details_count == 1


IBAN = "DE89370400440532013000"
def _camt_two(text: str, written: str, instead: str) -> bytes:
    """A camt statement of a plain line and a line `text` whose `written` is replaced by `instead`."""
    return camt053(IBAN, "S1", Decimal("0"), [
        Entry(date(2024, 1, 2), Decimal("5.00"), "Plain", "R1"), Entry(date(2024, 1, 3), Decimal("7.00"), text, "R2"),
    ], day=date(2024, 1, 3)).replace(written, instead).encode()


def _ofx_two(text: str, written: str, instead: str) -> bytes:
    """An OFX statement of a plain line and a line `text` whose `written` is replaced by `instead`."""
    return ofx(IBAN, [Card(date(2024, 1, 2), Decimal("-5.00"), "Plain", "F1"),
                      Card(date(2024, 1, 3), Decimal("-7.00"), text, "F2")], [], closing=Decimal("-12"),
               day=date(2024, 1, 3)).replace(written, instead).encode()


CAMT_EXPONENT = _camt_two("Exponent", ">7.00</Amt>", ">1E2</Amt>")
OFX_EXPONENT = _ofx_two("Exponent", "<TRNAMT>-7.00", "<TRNAMT>1e3")


OFX_ZERO = ofx(IBAN, [Card(date(2024, 1, 2), Decimal("-5.00"), "Plain", "F1"),
                      Card(date(2024, 1, 3), Decimal("-7.00"), "NegZero", "F2")], [], closing=Decimal("-5"),
               day=date(2024, 1, 3)).replace("<TRNAMT>-7.00", "<TRNAMT>-0.00").encode()
JSON_ZERO = json.dumps({"bankAccounts": [{"accountIdentifier": IBAN, "currency": "EUR", "transactions": [
    {"transactionId": "z1", "datePosted": "2024-01-02", "amount": "-5.00", "description": "Plain"},
    {"transactionId": "z2", "datePosted": "2024-01-03", "amount": "-0.00", "description": "NegZero"}]}]}).encode()


@pytest.mark.parametrize(("file_format", "content", "extra"), [
    ("Tabular3column#v1", b"Date,Description,Amount\n2024-01-02,Plain,-5.00\n2024-01-03,NegZero,-0.00\n", {}),
    ("CSV#4col#v1", b"Date,Description,Credit,Debit\n2024-01-02,Plain,,5.00\n2024-01-03,NegZero,-0.00,\n", {}),
    ("XML#OFX#v1", OFX_ZERO, {}),
    ("JSON#v0", JSON_ZERO, {}),
    ("CSV#mapped#v1", b"Date;Text;Amount;Balance\n2024-01-02;Plain;-5,00;-0,00\n2024-01-03;NegZero;-0,00;-0,00\n",
     {"mapping": {"columns": {"date": "Date", "description": "Text", "amount": "Amount", "balance": "Balance"}}}),
])
def test_a_zero_amount_is_staged_and_booked_without_a_sign(c: FakeContainer, world: World, file_format: str,
                                                           content: bytes, extra: dict):
    """`-0.00` as a file writes it was staged and booked as "-0.00": a zero is written `0.00`, with its decimals."""
    done = world.completed(content, world.account(IBAN), file_format=file_format, date_style=DateStyle.BIG_ENDIAN,
                           **extra)
    [zero] = [r for r in c.staging.all_rows(done.chunk_keys) if r.description == "NegZero"]
    assert str(zero.amount) == "0.00" and (zero.balance is None or str(zero.balance) == "0.00")
    booked = {line.description: str(line.amount) for line in c.ledger.all(world.tenant, done.bank_accounts[0].id)}
    assert booked == {"Plain": "-5.00", "NegZero": "0.00"}


@pytest.mark.parametrize(("file_format", "content", "target", "written"), [
    ("CAMT053#v1", CAMT_EXPONENT, "/Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt", "1E2"),
    ("XML#OFX#v1", OFX_EXPONENT, "STMTTRN/TRNAMT", "1e3"),
])
def test_an_amount_with_an_exponent_is_a_rejected_line_never_staged_as_its_value(
        c: FakeContainer, world: World, file_format: str, content: bytes, target: str, written: str):
    """ISO 20022 amounts are xs:decimal and OFX amounts plain decimals: `1E2` is no amount (it was staged as 100)."""
    imp, outcome = world.processed(content, world.account(IBAN), file_format=file_format)
    assert outcome == "review"
    staged = [(r.description, abs(r.amount)) for r in c.staging.all_rows(imp.chunk_keys)]
    assert staged == [("Plain", Decimal("5.00"))]
    [rejected] = [d for key in imp.error_chunk_keys for d in c.staging.page_errors([key], chunk=0, skip=0,
                                                                                 limit=10)[0]]
    assert (rejected.code, rejected.target, rejected.actual_value) == ("InvalidAmount", target, written)
    assert "RejectedLines" in _codes(imp.error_details)  # (camt: its balances miss the line too)


CAMT_FAR = _camt_two("Far", "<Dt>2024-01-03</Dt></BookgDt>", "<Dt>1899-12-31</Dt></BookgDt>")
OFX_FAR = _ofx_two("Far", "<DTPOSTED>20240103", "<DTPOSTED>18991231")
JSON_FAR = json.dumps({"bankAccounts": [{"accountIdentifier": IBAN, "currency": "EUR", "transactions": [
    {"datePosted": "2024-01-02", "amount": "-5.00", "description": "Plain"},
    {"datePosted": "1899-12-31", "amount": "-7.00", "description": "Far"}]}]}).encode()


@pytest.mark.parametrize(("file_format", "content", "target", "extra"), [
    ("Tabular3column#v1", b"Datum,Text,Betrag\n2024-01-02,Plain,-5.00\n1899-12-31,Far,-7.00\n", "Datum", {}),
    ("CSV#mapped#v1", b"Tag;Text;Betrag\n02.01.2024;Plain;-5,00\n31.12.1899;Far;-7,00\n", "Tag",
     {"mapping": {"columns": {"date": "Tag", "description": "Text", "amount": "Betrag"}}}),
    ("XML#OFX#v1", OFX_FAR, "STMTTRN/DTPOSTED", {}),
    ("CAMT053#v1", CAMT_FAR, "/Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/BookgDt", {}),
    ("JSON#v0", JSON_FAR, "$.bankAccounts[0].transactions[1].datePosted", {}),
])
def test_a_day_no_ledger_keeps_is_rejected_naming_its_place_as_the_formats_date_errors_do(
        c: FakeContainer, world: World, file_format: str, content: bytes, target: str, extra: dict):
    """A day before 1900 is read, then rejected after parsing: its target names the place as the format's own date
    errors name it (the CSV column's header, the OFX element, the camt entry's BookgDt, the JSON member)."""
    imp, outcome = world.processed(content, world.account(IBAN), file_format=file_format, **extra)
    assert outcome == "review"
    assert [r.description for r in c.staging.all_rows(imp.chunk_keys)] == ["Plain"]
    [rejected] = [d for key in imp.error_chunk_keys for d in c.staging.page_errors([key], chunk=0, skip=0,
                                                                                 limit=10)[0]]
    assert (rejected.code, rejected.target, rejected.actual_value) == ("InvalidDate", target, "1899-12-31")


def _json(*accounts: list[str], single: bool = False) -> bytes:
    """A JSON#v0 document of EUR accounts with these amounts."""
    listed = [{"accountIdentifier": f"DE0{n}", "currency": "EUR", "transactions": [
        {"datePosted": f"2024-01-{i + 2:02d}", "amount": amount, "description": f"T{i}"}
        for i, amount in enumerate(amounts)]} for n, amounts in enumerate(accounts)]
    doc = {"currency": "EUR", "transactions": listed[0]["transactions"]} if single else {"bankAccounts": listed}
    return json.dumps(doc).encode()


MT940_FINE = ":20:S1\n:25:DE89370400440532013000\n:28C:1\n:60F:C240101EUR0,\n:61:2401020102C5,00NTRFNONREF\n:86:a\n" \
             ":61:2401030103D1,005NTRFNONREF\n:86:b\n:62F:C240103EUR3,995\n-\n"


@pytest.mark.parametrize(("file_format", "content", "identifier", "target"), [
    ("Tabular3column#v1", b"Date,Description,Amount\n2024-01-02,Coffee,-3.50\n2024-01-03,Fine,-1.005\n", None,
     "Amount"),
    ("Tabular3column#v1", b"2024-01-02,Coffee,-3.50\n2024-01-03,Fine,-1.005\n", None, "amount"),  # no header
    ("CSV#4col#v1", b"Datum,Text,Haben,Soll\n2024-01-02,Coffee,,3.50\n2024-01-03,Fine,,1.005\n", None, "Haben/Soll"),
    ("XML#OFX#v1", OFX_EXPONENT.replace(b"<TRNAMT>1e3", b"<TRNAMT>-1.005"), IBAN, "STMTTRN/TRNAMT"),
    ("CAMT053#v1", CAMT_EXPONENT.replace(b">1E2</Amt>", b">1.005</Amt>"), IBAN,
     "/Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt"),
    ("MT940#v1", MT940_FINE.encode(), IBAN, ":61:"),
    ("QIF#v1", b"!Type:Bank\nD2024-01-02\nT-3.50\nPCoffee\n^\nD2024-01-03\nU-1.005\nPFine\n^\n", None, "U"),
    ("QIF#v1", b"!Type:Bank\nD2024-01-02\nT-3.50\nPCoffee\n^\nD2024-01-03\nT-1.005\nPFine\n^\n", None, "T"),
    ("JSON#v0", _json(["-3.50", "-3.50", "-3.50"], ["-2.00", "4.00", "-1.005"]), "DE01",
     "$.bankAccounts[1].transactions[2].amount"),
    ("JSON#v0", _json(["-1.005", "-3.50"], single=True), None, "$.transactions[0].amount"),
    ("JSON#v0", _json([], ["-3.50", "-1.005"]), "DE01", "$.bankAccounts[1].transactions[1].amount"),
])
def test_an_amount_finer_than_its_currency_names_its_place_as_the_formats_other_errors_do(
        c: FakeContainer, world: World, file_format: str, content: bytes, identifier: str | None, target: str):
    account = world.account(identifier, currency="EUR") if identifier else world.account(currency="EUR")
    imp, outcome = world.processed(content, account, file_format=file_format, date_style=DateStyle.BIG_ENDIAN)
    assert outcome == "review", imp.error_details
    rejected = [d for key in imp.error_chunk_keys for d in c.staging.page_errors([key], chunk=0, skip=0,
                                                                               limit=10)[0]]
    assert [(d.code, d.target, (d.actual_value or "").lstrip("-")) for d in rejected] == [
        ("InvalidAmount", target, "1.005")]
    assert [(v.code, v.target) for v in imp.validation_details] == [("InvalidAmount", problem_target(target))]


MT940_WHOLE = mt940(IBAN, 1, Decimal("100.00"),
                    [Line(date(2024, 1, d), Decimal(f"-{d}.50"), f"Shop {d}") for d in (2, 3, 4)],
                    opened=date(2024, 1, 1), closed=date(2024, 1, 31))
OFX_WHOLE = ofx(IBAN, [Card(date(2024, 1, d), Decimal(f"-{d}.50"), f"Shop {d}", f"F{d}") for d in (2, 3, 4)], [],
                closing=Decimal("-10.50"), day=date(2024, 1, 31))


QIF_WHOLE = "!Type:Bank\n" + "".join(f"D01/2{d}/2024\nT-{d}.50\nPShop {d}\nMCard payment\n^\n" for d in (2, 3, 4))
CSV_WHOLE = ('Date,Description,Amount\n2024-01-02,Coffee,"-3.50"\n2024-01-03,Salary,"2,500.00"\n'
             '2024-01-04,Rent,"-1,200.00"\n')


@pytest.mark.parametrize(("file_format", "whole", "cut_before"), [
    ("MT940#v1", MT940_WHOLE, ":62F:"),  # before the closing balance
    ("QIF#v1", QIF_WHOLE, "hop 4"),  # inside the last record's payee
    ("QIF#v1", QIF_WHOLE, "^\n", ),  # (the first record's `^`: the rest of the file is gone)
    ("MT940#v1", MT940_WHOLE, ":86:Shop 4"),  # inside the last transaction
    ("XML#OFX#v1", OFX_WHOLE, "<STMTTRN><TRNTYPE>POS</TRNTYPE><DTPOSTED>20240104"),  # mid-list
    ("XML#OFX#v1", OFX_WHOLE, "</OFX>"),
    ("Tabular3column#v1", CSV_WHOLE, '200.00"'),  # inside the last line's quoted amount ("-1,": rejected)
])
def test_a_file_cut_short_stops_an_exception_review_import_for_review(
        c: FakeContainer, world: World, file_format: str, whole: str, cut_before: str):
    """A file that ends inside its statement is staged with a FileTruncated warning naming its last line, so an
    exceptionReview import waits for a person; the whole file goes on by itself."""
    account = world.account(IBAN)
    imp, outcome = world.processed(whole.encode(), account, file_format=file_format,
                                   review_level=ReviewLevel.EXCEPTION, bypass_replay_validation=True)
    assert outcome == "confirm", imp.error_details
    c.lifecycle.release(world.get(imp.id))
    cut = whole[:whole.index(cut_before)]
    imp, outcome = world.processed(cut.encode(), account, file_format=file_format,
                                   review_level=ReviewLevel.EXCEPTION)
    assert outcome == "review"
    [warning] = [d for d in imp.error_details if d.code == "FileTruncated"]
    assert (warning.severity, warning.line_number) == (Severity.WARNING, cut.rstrip().count("\n") + 1)
    assert "cut short" in warning.message
    assert list(c.staging.all_rows(imp.chunk_keys))  # what came before the cut is staged for the review


OCA_BALANCE_CSV = ('"Date","Label","Amount","Balance","Partner Name","Bank Account"\n'
               '"12/15/2018","Your best supplier","-33.50","-23.50","John Doe","123456789"\n'
               '"12/15/2018","Your payment","1,533.50","1,510.00","Azure Interior",""\n')  # (oca-balance.csv)
OCA_BALANCE_MAPPING = {"columns": {"date": "Date", "description": "Label", "amount": "Amount", "balance": "Balance"},
                   "delimiter": ",", "decimalSeparator": ".", "dateStyle": "middleEndian"}


@pytest.mark.parametrize(("cut_before", "staged", "rejected"), [
    ('.50","1,510.00"', [(2, Decimal("-33.50"))], (3, '"12/15/2018","Your payment","1,533')),  # qa41a F1, byte 173
    ('3.50","-23.50"', [], (2, '"12/15/2018","Your best supplier","-3')),  # byte 101, in the only line
])
def test_a_csv_cut_inside_an_amount_rejects_its_line_and_warns(c: FakeContainer, world: World, cut_before: str,
                                                               staged: list, rejected: tuple):
    """qa41a F1: the cut line was staged with its cut amount (1533.00 for 1533.50, -3.00 for -33.50) and booked,
    `errorDetails` empty. Now it is rejected and the import warns FileTruncated at the file's last line."""
    cut = OCA_BALANCE_CSV[:OCA_BALANCE_CSV.index(cut_before)]
    imp, outcome = world.processed(cut.encode(), world.account(), file_format="CSV#mapped#v1",
                                   mapping=OCA_BALANCE_MAPPING)
    assert outcome == ("review" if staged else "failed")  # (no line left to import: InvalidSourceData)
    [warning] = [d for d in imp.error_details if d.code == "FileTruncated"]
    assert (warning.severity, warning.line_number) == (Severity.WARNING, rejected[0])
    assert [(r.line_number, r.amount) for r in c.staging.all_rows(imp.chunk_keys)] == staged
    [error] = [d for key in imp.error_chunk_keys for d in c.staging.page_errors([key], chunk=0, skip=0, limit=10)[0]]
    assert (error.code, error.line_number, error.actual_value) == ("InvalidLine", *rejected)
    assert "never closed" in error.message


def test_a_value_date_that_does_not_exist_is_booked_with_a_note_naming_its_line(c: FakeContainer, world: World):
    """MT940 `:61:1602300301`: February 30 was moved to the 29th without a word; the report says so now."""
    statement = (":20:STARTUMSE\n:25:12345678/1020304050\n:28C:00000/001\n:60F:C160229EUR1200,00\n"
                 ":61:1602300301DR6,00N024NONREF\n:86:805?00ENTGELTABSCHLUSS?20Pauschalen\n:62F:C160301EUR1194,00\n-\n")
    imp, outcome = world.processed(statement.encode(), world.account("12345678/1020304050"), file_format="MT940#v1")
    assert outcome == "review", imp.error_details
    [note] = [d for d in imp.error_details if d.code == "DateCorrected"]
    assert (note.severity, note.line_number, note.actual_value) == (Severity.INFO, 5, "160230")
    assert "2016-02-29" in note.message
    [row] = c.staging.all_rows(imp.chunk_keys)
    assert (row.date_posted, row.value_date, row.amount) == (date(2016, 3, 1), date(2016, 2, 29), Decimal("-6.00"))


CAMT_SAMPLE = (SAMPLES / "camt053/oca-test-camt053.xml").read_bytes()
OFX_CLOSING = ofx(IBAN, [Card(date(2024, 1, 2), Decimal("-5.00"), "Plain", "F1")], [], closing=Decimal("-5"),
                  day=date(2024, 1, 3)).encode()


@pytest.mark.parametrize(("file_format", "account", "content", "written", "instead", "code"), [
    ("CAMT053#v1", "NL77ABNA0574908765", CAMT_SAMPLE, "15568.27", "15568..27", "BalanceUnreadable"),
    ("CAMT053#v1", "NL77ABNA0574908765", CAMT_SAMPLE, "2014-01-05</Dt>", "2014-02-30", "StatementDateUnreadable"),
    ("XML#OFX#v1", IBAN, OFX_CLOSING, "-5.00</BALAMT>", "-5.005", "BalanceUnreadable"),
    ("XML#OFX#v1", IBAN, OFX_CLOSING, "20240103</DTEND>", "20240230", "StatementDateUnreadable"),
])
def test_a_statement_balance_or_day_that_does_not_read_is_a_warning_naming_its_line(
        c: FakeContainer, world: World, file_format: str, account: str, content: bytes, written: str,
        instead: str, code: str):
    """A camt OPBD `15568..27` was left out with no word, and took the file's only warning (BalanceMismatch) with
    it; a day that does not exist was dropped silently. Now each is a warning at its line; a day's balance keeps its
    amount, so the sample's BalanceMismatch still shows."""
    line = content[:content.index(written.encode())].count(b"\n") + 1
    damaged = content.replace(written.encode(), written.replace(written.split("<")[0], instead).encode(), 1)
    imp, outcome = world.processed(damaged, world.account(account), file_format=file_format)
    assert outcome == "review", imp.error_details
    [note] = [d for d in imp.error_details if d.code == code]
    assert (note.severity, note.line_number, note.actual_value) == (Severity.WARNING, line, instead)
    assert ("BalanceMismatch" in _codes(imp.error_details)) == (code != "BalanceUnreadable" and content is CAMT_SAMPLE)


def test_mt940_balances_that_do_not_read_or_are_missing_are_warned_about_and_every_line_is_staged(
        c: FakeContainer, world: World):
    """qa41a F5: a `:62F:` dated 131308 rejected the intact `:61:` line before it (InvalidLine 'not a date: 13-13-08'
    at the `:61:`'s line); a closing finer than EUR, and a statement without its `:60F:`, went on without a word."""
    shops = [Line(date(2024, 1, d), Decimal(f"-{d}.50"), f"Shop {d}") for d in (2, 3)]
    first = mt940(IBAN, 1, Decimal("100.00"), shops, opened=date(2024, 1, 1), closed=date(2024, 1, 31)).replace(
        ":62F:C240131", ":62F:C241331")
    second = mt940(IBAN, 2, Decimal("94.00"), [Line(date(2024, 2, 2), Decimal("-1.00"), "Shop")],
                   opened=date(2024, 1, 31), closed=date(2024, 2, 29)).replace(":60F:C240131EUR94,00\r\n", "")
    third = mt940(IBAN, 3, Decimal("93.00"), [Line(date(2024, 3, 2), Decimal("-1.00"), "Shop")],
                  opened=date(2024, 2, 29), closed=date(2024, 3, 31)).replace("EUR92,00", "EUR92,005")
    imp, outcome = world.processed((first + second + third).encode(), world.account(IBAN), file_format="MT940#v1",
                                   review_level=ReviewLevel.EXCEPTION)
    assert outcome == "review"
    notes = {d.code: (d.severity, d.line_number, d.actual_value) for d in imp.error_details}
    assert notes["StatementDateUnreadable"] == (Severity.WARNING, 9, ":62F:C241331EUR94,00")
    assert notes["BalanceUnreadable"][1:] == (24, ":62F:C240331EUR92,005")
    assert notes["BalanceMissing"] == (Severity.WARNING, 11, ":20:STMT0002")
    assert "RejectedLines" not in notes and "InvalidLine" not in notes
    assert [r.amount for r in c.staging.all_rows(imp.chunk_keys)] == [Decimal("-2.50"), Decimal("-3.50"),
                                                                      Decimal("-1.00"), Decimal("-1.00")]


def test_lines_of_unlisted_accounts_are_ignored_and_counted(c: FakeContainer, world: World):
    account = world.account("DE89370400440532013000")
    imp, outcome = world.processed(JSON_TWO_ACCOUNTS, account, file_format="JSON#v0")
    assert outcome == "review"
    rows = list(c.staging.all_rows(imp.chunk_keys))
    assert [(r.description, r.currency) for r in rows] == [("Salary", "EUR"), ("Rent", "EUR")]
    assert imp.summary is not None and imp.summary.ignored_line_count == 1 and imp.summary.currencies == ["EUR"]
    assert _codes(imp.error_details) == ["UnlistedAccountLines"]
    assert [d.bank_account_id for d in imp.discovered_accounts] == [account, None]


def test_lines_in_another_currency_than_their_account_are_staged_with_a_warning(c: FakeContainer, world: World):
    euros = world.account("DE89370400440532013000", currency="EUR")
    pounds = world.account("GB33BUKB20201555555555", currency="USD")  # the file says GBP
    imp, outcome = world.processed(JSON_TWO_ACCOUNTS, euros, pounds, file_format="JSON#v0",
                                   review_level=ReviewLevel.EXCEPTION)
    assert outcome == "review"  # a warning stops an exceptionReview import for review
    (warning,) = [d for d in imp.error_details if d.code == "CurrencyMismatch"]
    assert warning.severity == Severity.WARNING and warning.message.startswith("1 line(s)")
    assert [(r.description, r.currency) for r in c.staging.all_rows(imp.chunk_keys)][-1] == ("Coffee", "GBP")


def test_a_deleted_import_is_not_processed(c: FakeContainer, world: World):
    imp = world.create(world.account())
    imp.status = ImportStatus.DELETED
    assert c.processing.process(imp) == "done"


def test_the_warnings_policy_and_the_review_decision():
    tally = _Tally(rejected=2, ignored=1, pending=3)
    warnings = report_warnings(tally, overlap=4)
    assert [(w.code, w.severity.value) for w in warnings] == [
        ("RejectedLines", "warning"), ("TransactionDateOverlap", "warning"), ("UnlistedAccountLines", "info"),
        ("PendingEntriesSkipped", "info")]
    assert warnings[1].message == "4 transaction(s) already in the ledger on the days this file covers"
    notes = report_warnings(_Tally(pending=1), overlap=0)
    assert next_step(ReviewLevel.EXCEPTION, 0, notes) == "confirm"
    assert next_step(ReviewLevel.EXCEPTION, 0, warnings) == "review"
    assert next_step(ReviewLevel.MINIMAL, 0, warnings) == "confirm"
    assert next_step(ReviewLevel.MINIMAL, 1, []) == "review"
    assert next_step(ReviewLevel.FULL, 0, []) == "review"


class _Ticks:
    """A clock that moves one second each time it is read: the parse's row loop reads it once per run of
    events it takes from the reader (`_FEED_EVENTS`, or one block of a CSV reader's columns)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_a_parse_past_its_budget_ends_in_error_naming_the_line_reached_and_frees_the_account(
        c: FakeContainer, world: World):
    # Given an import of 12,000 lines (several blocks of the CSV reader) queued behind on its account, and a
    # parse budget of 3 ticks
    account = world.account()
    lines = b"".join(f"2024-01-{n % 28 + 1:02d},Line {n},-{n}.00\n".encode() for n in range(12_000))
    imp = world.create(account)
    world.upload(imp, b"Date,Description,Amount\n" + lines)
    world.claim(imp.id)
    queued, token = world.queued(account)
    # When the parse runs out of its time
    c.processing.budget_seconds = 3
    outcome = c.processing.process(world.get(imp.id), clock=_Ticks())
    # Then the import is in error, saying where it stopped; nothing is staged and the queue moves on
    failed = world.get(imp.id)
    assert outcome == "failed" and failed.status == ImportStatus.ERROR
    detail = failed.error_details[0]
    assert detail.code == "ProcessingTimeout" and detail.target == "File"
    assert detail.line_number is not None and 2 <= detail.line_number < 12_000
    assert f"line {detail.line_number}" in detail.message
    assert c.objects.keys(f"staging/org-1/co-1/{imp.id}/") == []
    assert c.workflow_engine.outputs(token) == [{"action": "claim"}]
    assert world.claim(queued.id) == "process"


def test_the_parse_budget_is_the_least_of_lambdas_time_the_steps_timeout_and_the_configured_one():
    assert parse_budget() is None
    assert parse_budget(remaining_seconds=900) == 870  # 30 s kept for what follows the parse
    assert parse_budget(remaining_seconds=900, step_timeout_seconds=60) == 54  # a tenth of a short run
    assert parse_budget(remaining_seconds=900, step_timeout_seconds=60, configured_seconds=0.5) == 0.5
    assert parse_budget(configured_seconds=5) == 5


def test_a_parse_within_its_budget_is_not_cut_short(c: FakeContainer, world: World):
    c.processing.budget_seconds = 1000
    imp = world.create(world.account())
    world.upload(imp, CSV)
    world.claim(imp.id)
    assert c.processing.process(world.get(imp.id), clock=_Ticks()) == "review"


def test_a_run_after_another_run_of_the_step_decided_keeps_that_outcome(c: FakeContainer, world: World):
    """A Process run Step Functions timed out goes on, late; the step's retry then finds the import as
    that run left it: an error stays an error (its accounts are released), a go-ahead stays one."""
    failed, outcome = world.processed(b"")
    assert outcome == "failed"
    assert c.processing.process(world.get(failed.id)) == "failed" and world.get(failed.id).status == ImportStatus.ERROR
    going, outcome = world.processed(CSV, review_level=ReviewLevel.MINIMAL)
    assert outcome == "confirm"
    before = world.get(going.id)
    assert c.processing.process(before) == "confirm"
    after = world.get(going.id)
    assert after.generation == before.generation and after.chunk_keys == before.chunk_keys


def test_a_run_after_another_run_staged_the_file_leaves_the_review_as_it_is(c: FakeContainer, world: World):
    """The retry of a Process run that saved (and then timed out, or lost a later write) finds the import
    awaiting confirmation: it answers review, and the staged rows and the decisions made on them stay."""
    imp, _ = world.awaiting(CSV)
    staged = world.get(imp.id)
    line = next(c.staging.all_rows(staged.chunk_keys))
    c.review_service.set_decision(imp.tenant, imp.id, line.transaction_id, "skip")
    assert c.processing.process(world.get(imp.id)) == "review"
    after = world.get(imp.id)
    assert (after.generation, after.chunk_keys, after.status) == (
        staged.generation, staged.chunk_keys, ImportStatus.AWAITING_CONFIRMATION)
    assert all(c.objects.keys(key) for key in after.chunk_keys)
    assert c.imports.decisions(after) == {line.transaction_id: "skip"}


def test_two_runs_of_one_generation_stage_apart_so_the_loser_never_removes_the_winners_chunks(
        c: FakeContainer, world: World):
    """A Process run Step Functions timed out goes on beside its retry: both read the import at the same
    generation. Each stages under a prefix of its own, so whichever loses the save (and removes what it
    staged) leaves the chunks the saved import points to."""
    imp = world.create(world.account())
    world.upload(imp, CSV)
    world.claim(imp.id)
    late, retry = world.get(imp.id), world.get(imp.id)
    assert c.processing.process(retry) == "review"
    saved = world.get(imp.id)
    with pytest.raises(Conflict):
        c.processing.process(late)
    assert world.get(imp.id).staging_prefix == saved.staging_prefix
    assert all(c.objects.keys(key) for key in saved.chunk_keys)


def test_a_csv_handed_over_in_blocks_is_staged_a_block_at_a_time(c: FakeContainer, world: World,
                                                                   monkeypatch: pytest.MonkeyPatch):
    # Given a CSV of many blocks (the reader hands each over as columns)
    monkeypatch.setattr(csv_feed, "BLOCK_SIZE", 1024)
    lines = b"".join(f"2024-01-{n % 28 + 1:02d},Line {n},-{n}.00\n".encode() for n in range(3000))
    account = world.account()
    imp = world.create(account)
    world.upload(imp, b"Date,Description,Amount\n" + lines)
    world.claim(imp.id)
    ahead: list[int] = []
    feed = processing.ProcessingService.feed

    def watched(run, events, deadline=None):
        def pulled():
            taken = 0
            for event in events:
                if isinstance(event, LineBlock):
                    ahead.append(taken - run.rows.chunks.count)  # lines taken but not staged yet
                    taken += len(event)
                yield event
        feed(run, pulled(), deadline)

    monkeypatch.setattr(processing.ProcessingService, "feed", staticmethod(watched))
    # When it is processed
    assert c.processing.process(world.get(imp.id)) == "review"
    # Then every block was staged before the next was read: the lines in memory are one block's
    assert len(ahead) > 50 and set(ahead) == {0}
    assert world.get(imp.id).summary.transaction_details_count == 3000


def test_a_statement_reusing_a_bank_id_on_a_day_imported_again_finds_each_line_as_itself(c: FakeContainer,
                                                                                          world: World):
    """A bank that reuses X1 for two lines of one day: the file imported again (bypassing the replay check) finds
    every line as the ledger's line of its own id, so confirming it writes nothing and the first import keeps all
    its lines."""
    content = ("Datum;Text;Betrag;Id\n01.02.2024;Miete Februar;-800,00;X1\n01.02.2024;Gutschrift Müller;250,00;X1\n"
               "01.02.2024;Kaffee;-3,50;X2\n02.02.2024;Bäckerei;-4,20;X1\n").encode()
    mapping = {"columns": {"date": "Datum", "description": "Text", "amount": "Betrag", "bankTransactionId": "Id"}}
    account = world.account()
    first = world.completed(content, account, file_format="CSV#mapped#v1", mapping=mapping)
    again, outcome = world.processed(content, account, file_format="CSV#mapped#v1", mapping=mapping,
                                     bypass_replay_validation=True)
    assert outcome == "review"
    rows = list(c.staging.all_rows(again.chunk_keys))
    assert [(r.duplicate_reason or {}).get("reason") for r in rows] == ["alreadyImported"] * 4
    assert all(r.default_decision == "skip" and r.duplicate_of == r.transaction_id for r in rows)
    assert {line.import_id for line in c.ledger.all(world.tenant, account)} == {first.id}


def test_a_csv_account_column_naming_other_accounts_leaves_their_lines_out(c: FakeContainer, world: World):
    """An import of a CSV with an account column names one account: the lines of the other accounts the file
    holds (one the tenant has, one unknown) are left out and counted (UnlistedAccountLines), never booked into
    the named account; a reference matches spaces and case aside."""
    content = (b"Datum;Konto;Text;Betrag\n01.03.2024;NL91ABNA0417164300;Miete;-800,00\n"
               b"01.03.2024;NL20INGB0001234567;Gehalt;2500,00\n02.03.2024;nl91 abna 0417 1643 00;Kaffee;-3,50\n"
               b"02.03.2024;XX00UNKNOWN;Fremd;-1,00\n")
    mapping = {"columns": {"date": "Datum", "account": "Konto", "description": "Text", "amount": "Betrag"}}
    mine, other = world.account("NL91ABNA0417164300"), world.account("NL20INGB0001234567")
    done = world.completed(content, mine, file_format="CSV#mapped#v1", mapping=mapping)
    assert [r.description for r in c.staging.all_rows(done.chunk_keys)] == ["Miete", "Kaffee"]
    assert done.summary is not None and done.summary.ignored_line_count == 2
    assert "UnlistedAccountLines" in _codes(done.error_details)
    assert sorted(line.description for line in c.ledger.all(world.tenant, mine)) == ["Kaffee", "Miete"]
    assert c.ledger.all(world.tenant, other) == []


BALANCE_MAPPING = {"columns": {"date": "Datum", "description": "Text", "amount": "Betrag", "balance": "Saldo"},
                   "delimiter": ";", "decimalSeparator": ","}


@pytest.mark.parametrize("rows", [
    ["02.01.2024;A;-10,00;", "03.01.2024;B;-5,00;85,00", "04.01.2024;C;20,00;105,00"],
    ["02.01.2024;A;-10,00;90,00", "03.01.2024;B;-5,00;", "04.01.2024;C;20,00;105,00"],
    ["02.01.2024;A;-10,00;90,00", "03.01.2024;B;-5,00;85,00", "04.01.2024;C;20,00;"],
    ["04.01.2024;C;20,00;", "03.01.2024;B;-5,00;85,00", "02.01.2024;A;-10,00;"],
])
def test_a_line_with_an_empty_balance_cell_still_moves_the_running_balance(c: FakeContainer, world: World,
                                                                          rows: list[str]):
    """A booked line whose balance cell is empty moved money all the same: the statement opens at 100.00 and
    closes at 105.00 with no check failing (it was a false BalanceMismatch and a wrong opening), dated by its
    oldest and newest line (they were null)."""
    content = ("Datum;Text;Betrag;Saldo\n" + "\n".join(rows) + "\n").encode()
    imp, outcome = world.processed(content, world.account(IBAN), file_format="CSV#mapped#v1",
                                   mapping=BALANCE_MAPPING, date_style=DateStyle.LITTLE_ENDIAN)
    assert outcome == "review"
    [statement] = imp.statements
    assert (statement.opening, statement.closing, statement.checks) == (Decimal("100.00"), Decimal("105.00"), [])
    assert (statement.opening_date, statement.closing_date) == (date(2024, 1, 2), date(2024, 1, 4))


FINE_MAPPING = {"columns": {"date": "Datum", "description": "Text", "amount": "Betrag", "balance": "Saldo",
                            "originalAmount": "Fremdbetrag", "originalCurrency": "Whg"},
                "delimiter": ";", "decimalSeparator": ","}
FINE_CSV = (b"Datum;Text;Betrag;Saldo;Fremdbetrag;Whg\n02.01.2024;Plain;-5,00;95,00;-4;USD\n"
            b"03.01.2024;Fine;-10,00;85,005;;\n04.01.2024;Yen;-1,00;84,00;-123,5;JPY\n"
            b"05.01.2024;Dinar;-1,00;83,00;-1,0005;BHD\n")
FINE_JSON = json.dumps({"bankAccounts": [{"accountIdentifier": IBAN, "currency": "EUR", "transactions": [
    {"datePosted": "2024-01-02", "amount": "-5.00", "description": "Plain", "balance": "95.00"},
    {"datePosted": "2024-01-03", "amount": "-10.00", "description": "Fine", "balance": "85.005"},
    {"datePosted": "2024-01-04", "amount": "-1.00", "description": "Yen", "originalAmount": "-123.5",
     "originalCurrency": "JPY"}]}]}).encode()


@pytest.mark.parametrize(("file_format", "content", "extra", "expected"), [
    ("CSV#mapped#v1", FINE_CSV, {"mapping": FINE_MAPPING, "date_style": DateStyle.LITTLE_ENDIAN},
     [(3, "Saldo", "85.005"), (4, "Fremdbetrag", "-123.5"), (5, "Fremdbetrag", "-1.0005")]),
    ("JSON#v0", FINE_JSON, {}, [(2, "$.bankAccounts[0].transactions[1].balance", "85.005"),
                                (3, "$.bankAccounts[0].transactions[2].originalAmount", "-123.5")]),
])
def test_a_balance_or_original_amount_finer_than_its_currency_rejects_its_line(
        c: FakeContainer, world: World, file_format: str, content: bytes, extra: dict, expected: list):
    """A balance is written to its line's currency's decimals and an original amount to its own currency's (an
    integer of minor units is the contract): a finer one rejects its line (InvalidAmount at its place); it was
    staged, and the report's integer then disagreed with its decimal."""
    imp, outcome = world.processed(content, world.account(IBAN), file_format=file_format, **extra)
    assert outcome == "review"
    assert [r.description for r in c.staging.all_rows(imp.chunk_keys)] == ["Plain"]
    rejected = [d for key in imp.error_chunk_keys for d in c.staging.page_errors([key], chunk=0, skip=0,
                                                                               limit=10)[0]]
    assert [(d.line_number, d.target, d.actual_value) for d in rejected if d.line_number is not None] == expected
    assert {d.code for d in rejected} == {"InvalidAmount"}


CARD_MAPPING = {"columns": {"date": "Datum", "description": "Text", "amount": "Betrag", "balance": "Saldo",
                            "originalAmount": "Fremdbetrag", "originalCurrency": "Whg"},
                "delimiter": ";", "decimalSeparator": ","}
CARD_CSV = (b"Datum;Text;Betrag;Saldo;Fremdbetrag;Whg\n02.01.2024;Shop;10,00;10,00;11,00;CHF\n"
            b"03.01.2024;Refund;-4,00;6,00;;\n04.01.2024;Fee;0,00;6,00;-0,00;USD\n")


@pytest.mark.parametrize("block_size", [None, 64])
def test_a_card_accounts_balances_and_original_amounts_turn_with_its_amounts(
        c: FakeContainer, world: World, monkeypatch: pytest.MonkeyPatch, block_size: int | None):
    """A card account (transactionSign reversed) turns every amount; each row's balance and original amount turn
    with it, so they agree with the row's amount and its statement (they kept the file's sign). By rows and by
    blocks of columns."""
    if block_size is not None:
        monkeypatch.setattr(csv_feed, "BLOCK_SIZE", block_size)
    card = world.account(IBAN)
    imp = c.import_service.create(world.tenant, CreateImport(
        file_format="CSV#mapped#v1", mapping=CARD_MAPPING, date_style=DateStyle.LITTLE_ENDIAN,
        bank_accounts=[ImportAccount(id=card, transaction_sign=TransactionSign.REVERSED)]))
    world.upload(imp, CARD_CSV)
    assert world.claim(imp.id) == "process"
    assert c.processing.process(world.get(imp.id)) == "review"
    rows = [(str(r.amount), str(r.balance), None if r.original_amount is None else str(r.original_amount),
             r.original_currency)
            for r in c.staging.all_rows(world.get(imp.id).chunk_keys)]
    assert rows == [("-10.00", "-10.00", "-11.00", "CHF"), ("4.00", "-6.00", None, None),
                    ("0.00", "-6.00", "0.00", "USD")]
    [statement] = world.get(imp.id).statements
    assert (statement.opening, statement.closing, statement.checks) == (Decimal("0.00"), Decimal("-6.00"), [])


def test_lines_with_the_wrong_number_of_columns_are_one_kind_of_problem(c: FakeContainer, world: World):
    """validationDetails lists kinds of problem: 150 lines of too few or too many columns are one kind (their
    targets named each line, so they made 100 kinds and crowded the bad amounts out); every line stays in
    errordetails with its own target."""
    rows = ["Date,Description,Amount", "2024-01-02,Plain,-5.00"]
    rows += [f"2024-01-03,Short {i}" if i % 2 else f"2024-01-03,Wide {i},-1.00,x" for i in range(150)]
    rows += ["2024-01-04,Bad,abc", "2024-01-05,Also bad,1.2.3"]
    imp, outcome = world.processed(("\n".join(rows) + "\n").encode())
    assert outcome == "review"
    kinds = [(d.code, d.target, d.count, d.first_line_number) for d in imp.validation_details]
    assert kinds == [("InvalidLine", None, 150, 3), ("InvalidAmount", "Amount", 2, 153)]
    assert imp.summary is not None and imp.summary.rejected_line_count == 152
    rejected = [d for key in imp.error_chunk_keys for d in c.staging.page_errors([key], chunk=0, skip=0,
                                                                               limit=1000)[0]]
    assert rejected[0].target == "line 3" and len(rejected) == 152


@pytest.mark.parametrize("block_size", [None, 256])
def test_blank_and_delimiter_only_lines_are_no_lines_and_the_rest_keep_their_numbers(
        c: FakeContainer, world: World, monkeypatch: pytest.MonkeyPatch, block_size: int | None):
    """As README says: a blank line, or one of only delimiters and blanks, is neither staged nor rejected nor
    counted, and the lines after it keep their own numbers (by rows and by blocks of columns)."""
    if block_size is not None:
        monkeypatch.setattr(csv_feed, "BLOCK_SIZE", block_size)
    rows = ["Date,Description,Amount"] + [f"2024-01-{1 + i % 28:02d},Line {i},-1.00" for i in range(60)]
    for at, filler in ((10, ",,"), (30, "  ,  , "), (50, "")):
        rows.insert(at, filler)
    imp, outcome = world.processed(("\n".join(rows) + "\n").encode())
    assert outcome == "review"
    staged = {r.description: r.line_number for r in c.staging.all_rows(imp.chunk_keys)}
    assert len(staged) == 60 and imp.summary is not None and imp.summary.rejected_line_count == 0
    assert (staged["Line 8"], staged["Line 9"], staged["Line 59"]) == (10, 12, 64)
    assert imp.validation_details == [] and imp.summary.ignored_line_count == 0


def test_json_lines_rejected_at_the_same_member_are_one_kind_of_problem(c: FakeContainer, world: World):
    """A JSON target names its line's index (`transactions[7].balance`): the kind is the member of every line
    (`transactions[*].balance`), so 150 bad balances are one kind and a bad day stays in sight."""
    transactions = [{"datePosted": "2024-01-02", "amount": "-1.00", "description": f"T{i}", "balance": "1.001"}
                    for i in range(150)]
    transactions += [{"datePosted": "2024-02-31", "amount": "-1.00", "description": "Day"},
                     {"datePosted": "2024-01-03", "amount": "-2.00", "description": "Good"}]
    content = json.dumps({"bankAccounts": [{"accountIdentifier": IBAN, "currency": "EUR",
                                            "transactions": transactions}]}).encode()
    imp, outcome = world.processed(content, world.account(IBAN), file_format="JSON#v0")
    assert outcome == "review"
    kinds = [(d.code, d.target, d.count) for d in imp.validation_details]
    assert kinds == [("InvalidAmount", "$.bankAccounts[0].transactions[*].balance", 150),
                     ("InvalidDate", "$.bankAccounts[0].transactions[*].datePosted", 1)]


@pytest.mark.parametrize(("target", "kind"), [
    ("line 17", None), ("Betrag", "Betrag"), ("STMTTRN/TRNAMT", "STMTTRN/TRNAMT"), (None, None),
    ("$.bankAccounts[1].transactions[12].balance", "$.bankAccounts[1].transactions[*].balance"),
    ("/Document/BkToCstmrStmt/Stmt[2]/Ntry[22]/Amt", "/Document/BkToCstmrStmt/Stmt[2]/Ntry/Amt"),
])
def test_a_kind_of_problem_names_the_place_of_every_line(target: str | None, kind: str | None):
    assert problem_target(target) == kind


QIF_OPENING = ("### exported by a test ###\n!Type:Class\nNTest class\n^\n!Type:Bank\n"
               "D01/21/2024\nT{opening}\nCX\nPOpening Balance\nL[Checking]\n^\n"
               + "".join(f"D01/2{d}/2024\nT-{d}.50\nPShop {d}\n^\n" for d in (2, 3)))


@pytest.mark.parametrize(("opening", "outcome_wanted", "severity"), [
    ("0.00", "confirm", Severity.INFO), ("1,250.00", "review", Severity.WARNING)])
def test_a_qif_opening_balance_is_no_line_and_a_clean_quiffen_like_file_needs_no_review(
        c: FakeContainer, world: World, opening: str, outcome_wanted: str, severity: Severity):
    """qa42b F6: comment lines were a rejected line at line 1 (so a clean file stopped for review), and Quicken's
    `Opening Balance` record was staged as a transaction (a non-zero one booked as income)."""
    account = world.account(IBAN)
    imp, outcome = world.processed(QIF_OPENING.format(opening=opening).encode(), account, file_format="QIF#v1",
                                   review_level=ReviewLevel.EXCEPTION)
    assert outcome == outcome_wanted, imp.error_details
    assert not [d for d in imp.error_details if d.severity == Severity.ERROR]
    [note] = [d for d in imp.error_details if d.code == "OpeningBalance"]
    assert (note.severity, note.line_number, note.actual_value) == (severity, 6, opening)
    assert sorted(row.amount for row in c.staging.all_rows(imp.chunk_keys)) == [Decimal("-3.50"), Decimal("-2.50")]
