"""The batch path of processing against the row-at-a-time path it replaced (the oracle kept in
tests/support/reference): on the same import, file and ledger both must stage the same rows (ids,
amounts, verdicts, every field), the same rejected lines with their line numbers, the same summary,
discovered accounts, report (the statement checks' reports too) and outcome; pending lines, the pending
lines booked lines replace and the lines reversals reverse are linked the same."""

from __future__ import annotations

import copy
import json
import random
import threading
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.fakes.container import FakeContainer
from tests.support.mirrors import committed_line, mirror_line
from tests.support.reference import row_processing
from tests.support.reference.row_processing import ProcessingService as RowProcessingService
from tests.support.samples import SAMPLES
from tests.support.statements import PAYPAL_MAPPING, Entry, camt053, paypal_csv, paypal_lines
from tests.unit.formats.test_samples_csv_qif import CSV_CASES
from tests.unit.services.world import TENANT, World
from tximport.commands import CreateImport, ImportAccount
from tximport.formats import csv_feed
from tximport.formats.base import DateStyle
from tximport.models import ErrorDetail, Import, LedgerLine, ProductDates, StagedRow, TransactionSign, utcnow
from tximport.services import processing
from tximport.statements.models import StatementRecord


@dataclass
class Outcome:
    outcome: str
    imp: dict[str, Any]
    rows: list[StagedRow]
    errors: list[ErrorDetail]


def _result(c: FakeContainer, outcome: str, import_id: str) -> Outcome:
    imp = c.imports.get(TENANT, import_id)
    report = imp.model_dump(include={"status", "summary", "discovered_accounts", "error_details",
                                     "validation_details", "interim_report", "error_context", "file_sha256",
                                     "generation", "statements", "statement_count"})
    report["chunks"] = len(imp.chunk_keys)
    errors = c.staging.page_errors(imp.error_chunk_keys, chunk=0, skip=0, limit=10**9)[0]
    return Outcome(outcome, report, list(c.staging.all_rows(imp.chunk_keys)), errors)


_LOCKS: dict[type, Any] = {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock}


def _copied(store: Any) -> Any:
    """A deep copy of a fake store, with new locks of its own (a lock cannot be copied)."""
    memo = {id(v): _LOCKS[type(v)]() for v in vars(store).values() if type(v) in _LOCKS}
    return copy.deepcopy(store, memo)


def _both(c: FakeContainer, imp: Import) -> tuple[Outcome, Outcome]:
    """Process the claimed import by both paths, each on its own copy of the stores (one ledger)."""
    other = FakeContainer()
    other.settings.chunk_rows = c.settings.chunk_rows
    for name in ("imports", "objects", "locks", "accounts"):
        other.__dict__[name] = _copied(getattr(c, name))
    other.__dict__["ledger"] = c.ledger
    rows_path = RowProcessingService(lifecycle=other.lifecycle, ledger=other.ledger, objects=other.objects,
                                     staging=other.staging, statements=c.processing.statements,
                                     pending_window_days=c.processing.pending_window_days)
    expected = _result(other, rows_path.process(other.imports.get(TENANT, imp.id)), imp.id)
    actual = _result(c, c.processing.process(c.imports.get(TENANT, imp.id)), imp.id)
    c.lifecycle.release(c.imports.get(TENANT, imp.id))  # the next import of the accounts goes ahead
    return actual, expected


def _compare(c: FakeContainer, world: World, content: bytes, *account_ids: str, **extra: Any) -> Outcome:
    imp = world.create(*account_ids, **extra)
    world.upload(imp, content)
    assert world.claim(imp.id) == "process"
    actual, expected = _both(c, imp)
    assert actual.outcome == expected.outcome
    assert actual.imp == expected.imp
    assert len(actual.rows) == len(expected.rows)
    for mine, theirs in zip(actual.rows, expected.rows, strict=True):
        assert mine == theirs
    assert actual.errors == expected.errors
    return actual


def _ledger_line(account: str, day: date, amount: str, description: str, tx: str, bank_id: str | None = None
                 ) -> LedgerLine:
    return LedgerLine(transaction_id=tx, bank_account_id=account, amount=Decimal(amount), date_posted=day,
                      description=description, bank_transaction_id=bank_id, import_id="earlier",
                      committed=utcnow())


SAMPLE_FORMATS = {"camt053": "CAMT053#v1", "mt940": "MT940#v1", "ofx": "XML#OFX#v1", "qif": "QIF#v1"}


@pytest.mark.parametrize("path", sorted(p for kind in SAMPLE_FORMATS for p in (SAMPLES / kind).iterdir()),
                         ids=lambda p: p.name)
def test_every_sample_file_stages_the_same_by_both_paths(c: FakeContainer, world: World, path):
    file_format = SAMPLE_FORMATS[path.parent.name]
    content = path.read_bytes()
    extra: dict[str, Any] = {"file_format": file_format, "bypass_replay_validation": True,
                             "date_style": DateStyle.LITTLE_ENDIAN if file_format == "QIF#v1" else None}
    found = _compare(c, world, content, **extra)  # multi-account formats: discovery
    identifiers = [d["account_identifier"] for d in found.imp["discovered_accounts"]] or ["GB33BUKB20201555555555"]
    accounts = [world.account(identifier) for identifier in identifiers[:3]]
    _compare(c, world, content, *accounts, fuzzy_account_matching=True, **extra)
    # again, against a ledger holding the first import's lines: every verdict path
    for row in found.rows:
        c.ledger.write(TENANT, [LedgerLine.confirmed(row, import_id="x", committed=utcnow())])
    _compare(c, world, content, *accounts, **extra)


@pytest.mark.parametrize("name", sorted(CSV_CASES))
@pytest.mark.parametrize("card", [False, True])
def test_every_csv_sample_stages_the_same_by_both_paths(c: FakeContainer, world: World, name: str, card: bool):
    """The real CSV exports (with their mappings), whichever way the reader hands their blocks over (columns or
    lines), into an account and into a card account (signs reversed), then again against the first import's
    lines in the ledger."""
    content = (SAMPLES / "csv" / name).read_bytes()
    account = world.account()
    sign = TransactionSign.REVERSED if card else TransactionSign.ORIGINAL

    def compare() -> Outcome:
        return _compare_command(c, world, content, CreateImport(
            file_format="CSV#mapped#v1", mapping=CSV_CASES[name][0], bypass_replay_validation=True,
            bank_accounts=[ImportAccount(id=account, transaction_sign=sign)]))

    first = compare()
    assert first.rows
    c.ledger.write(TENANT, [LedgerLine.confirmed(r, import_id="x", committed=utcnow()) for r in first.rows])
    assert all(r.possible_duplicate for r in compare().rows)


def _export_with_optional_columns(rng: random.Random, lines: int) -> bytes:
    """A bank export with value dates, bank ids (placeholders and a few repeated), references, counterparties,
    balances and original amounts; now and then an amount finer than the currency or a balance beyond what the
    ledger stores (those batches go line by line)."""
    out = ["Buchung;Valuta;Text;Betrag;Ref;Kunde;Saldo;Fremd;FremdWhg;Status"]
    balance = Decimal("1000.00")
    for i in range(lines):
        day = date(2024, 1, 1) + timedelta(days=i // 25)
        amount = Decimal(rng.randrange(-50_000, 30_000)) / 100
        balance += amount
        ref = rng.choice(["", "NONREF", f"R{i}", f"R{i}", f"R{i // 2}"])
        foreign = f"{amount * 2}" if i % 7 == 0 else ""
        foreign = {700: "12.5", 1204: "3.125"}.get(i, foreign)  # finer than JPY, than USD
        written = "1.005" if i == 1500 else f"{amount}"
        saldo = {2600: "9" * 40, 2001: f"{balance}1"}.get(i, f"{balance}")  # (2001: finer than EUR)
        foreign_currency = "JPY" if i == 700 else "USD" if foreign else ""
        out.append(f"{day};{day + timedelta(days=i % 3)};Zahlung {rng.randrange(40)};{written};{ref};"
                   f"{rng.choice(['', 'ACME GmbH', 'Müller'])};{saldo};{foreign};{foreign_currency};"
                   f"{'gebucht' if i % 11 else 'Gebucht'}")
    return ("\n".join(out) + "\n").encode()


EXPORT_MAPPING = {"columns": {"date": "Buchung", "valueDate": "Valuta", "description": "Text", "amount": "Betrag",
                              "bankTransactionId": "Ref", "counterpartyName": "Kunde", "balance": "Saldo",
                              "originalAmount": "Fremd", "originalCurrency": "FremdWhg", "status": "Status"},
                  "statusValues": {"pending": ["vorgemerkt"], "booked": ["gebucht", "Gebucht"]},
                  "decimalSeparator": ".", "dateStyle": "bigEndian"}


@pytest.mark.parametrize("seed", range(3))
def test_exports_with_optional_columns_stage_the_same_by_both_paths(c: FakeContainer, world: World, seed: int,
                                                                   monkeypatch: pytest.MonkeyPatch):
    """The reader hands such blocks over as columns too: staged rows (their optional fields), verdicts by bank
    id, rejected lines and the statement checks' balances as the row oracle has them; into a card account too."""
    monkeypatch.setattr(csv_feed, "BLOCK_SIZE", 8192)
    handed: list[bool] = []
    by_block = processing._Run._block_segment
    monkeypatch.setattr(processing._Run, "_block_segment", lambda run, block: _noted(handed, by_block(run, block)))
    c.settings.chunk_rows = 500
    content = _export_with_optional_columns(random.Random(seed), 3000)
    account = world.account()
    extra = {"file_format": "CSV#mapped#v1", "mapping": EXPORT_MAPPING, "bypass_replay_validation": True}
    first = _compare(c, world, content, account, **extra)
    # columns; the blocks with a number finer than its currency line by line
    assert handed.count(True) > 10 and handed.count(False) == 4
    assert any(r.bank_transaction_id for r in first.rows) and any(r.balance is not None for r in first.rows)
    assert {(e.line_number, e.target) for e in first.errors if "decimals" in e.message} == {
        (702, "Fremd"), (1206, "Fremd"), (1502, "Betrag"), (2003, "Saldo")}
    assert {e.line_number for e in first.errors} >= {2602}
    c.ledger.write(TENANT, [LedgerLine.confirmed(r, import_id="x", committed=utcnow()) for r in first.rows[::3]])
    again = _compare(c, world, content, account, **extra)
    assert sum(r.possible_duplicate for r in again.rows) >= len(first.rows) // 3
    card = world.account("DE89370400440532013000")
    _compare_command(c, world, content, CreateImport(
        file_format="CSV#mapped#v1", mapping=EXPORT_MAPPING, bypass_replay_validation=True,
        bank_accounts=[ImportAccount(id=card, transaction_sign=TransactionSign.REVERSED)]))


def _statement(rng: random.Random, lines: int) -> tuple[bytes, list[tuple[date, str, str]]]:
    """A CSV with identical lines, out-of-order days (beyond the occurrence window), zero amounts and a
    few rejected lines; answers it and its lines."""
    start = date(2024, 1, 1)
    words = ["Coffee", "coffee  shop", "Rent", "Salary", "AMAZON MKTPLACE", "Amazon Mktplace ref 1", "Interest"]
    amounts = ["-3.50", "-3.5", "0.00", "-0.00", "2500.00", "-20.00", "0.01", "-1200.00", "1E+2"]
    out = ["Date,Description,Amount"]
    kept: list[tuple[date, str, str]] = []
    for i in range(lines):
        if rng.random() < 0.03:
            out.append(f"2024-13-{i % 28 + 1:02d},Broken,{amounts[0]}")
            continue
        day = start + timedelta(days=rng.randrange(0, 120) if rng.random() < 0.3 else i // 6)
        description, amount = rng.choice(words), rng.choice(amounts)
        out.append(f"{day.isoformat()},{description},{amount}")
        kept.append((day, description, amount))
    return ("\n".join(out) + "\n").encode(), kept


@pytest.mark.parametrize("seed", range(6))
def test_generated_statements_stage_the_same_by_both_paths(c: FakeContainer, world: World, seed: int,
                                                          entry_window: int):
    rng = random.Random(seed)
    c.settings.chunk_rows = 97  # chunk boundaries inside the batches
    content, lines = _statement(rng, 900)
    account = world.account()
    ledger = []
    for n, (day, description, amount) in enumerate(rng.sample(lines, 60)):
        ledger.append(_ledger_line(account, day + timedelta(days=rng.randrange(-3, 4)), amount,
                                   description.upper(), f"L{n}"))
    for n, (day, _, amount) in enumerate(rng.sample(lines, 40)):  # transfers other accounts' sessions booked here
        ledger.append(mirror_line(account, day + timedelta(days=rng.randrange(-4, 5)), amount, staged=f"M{n}",
                                  card_payment=n % 3 == 0))
    for n, (day, description, amount) in enumerate(rng.sample(lines, 40)):  # a session committed them
        ledger.append(committed_line(account, day, amount, description.upper() if n % 4 else f"typed {n}",
                                     staged=f"S{n}"))
    c.ledger.write(TENANT, ledger)
    common = {"date_style": DateStyle.BIG_ENDIAN, "bypass_replay_validation": True}
    first = _compare(c, world, content, account, **common)
    assert any(r.possible_duplicate for r in first.rows) and first.errors
    reasons = {(r.duplicate_reason or {}).get("reason") for r in first.rows}
    assert {"transferMirror", "alreadyCommitted", "sameDayCommittedLine"} <= reasons
    # the first import's own lines in the ledger: certain duplicates by id
    c.ledger.write(TENANT, [LedgerLine.confirmed(r, import_id="x", committed=utcnow()) for r in first.rows[::5]])
    _compare(c, world, content, account, **common)
    _compare_card(c, world, content, date(2024, 1, 20))


def _compare_card(c: FakeContainer, world: World, content: bytes, start: date) -> Outcome:
    """The CSV into a card account (signs reversed) from `start` (productDates) by both paths."""
    card = world.account("DE89370400440532013000")
    return _compare_command(c, world, content, CreateImport(
        file_format="Tabular3column#v1", date_style=DateStyle.BIG_ENDIAN, bank_accounts=[ImportAccount(
            id=card, transaction_sign=TransactionSign.REVERSED, product_dates=ProductDates(
                transaction_start_date=start))]))


def _compare_command(c: FakeContainer, world: World, content: bytes, command: CreateImport) -> Outcome:
    """The import `command` creates, of `content`, by both paths."""
    imp = c.import_service.create(TENANT, command)
    world.upload(imp, content)
    assert world.claim(imp.id) == "process"
    actual, expected = _both(c, imp)
    assert (actual.outcome, actual.imp, actual.rows, actual.errors) == (
        expected.outcome, expected.imp, expected.rows, expected.errors)
    return actual


def _clean_statement(rng: random.Random, lines: int) -> bytes:
    """A CSV ordered by day: most batches take the column checks' way, identical lines and amounts of one or
    two decimals included; the `-0.001` of line 5,001 (rejected) sends its batch line by line."""
    words = ["Coffee", "coffee  shop", "Rent", "Überweisung Miete", "  Salary ", "AMAZON MKTPLACE", "Zinsen"]
    amounts = ["-3.50", "-3.5", "0.00", "2500", "-20.00", "0.01", "-1200.10"]
    out = ["Date,Description,Amount"]
    for i in range(lines):
        amount = "-0.001" if i == 4999 else rng.choice(amounts)
        out.append(f"{date(2024, 1, 1) + timedelta(days=i // 40)},{rng.choice(words)},{amount}")
    return ("\n".join(out) + "\n").encode()


def test_clean_files_batched_by_columns_stage_the_same_as_line_by_line(c: FakeContainer, world: World,
                                                                      monkeypatch: pytest.MonkeyPatch):
    whole: list[bool] = []
    blocks: list[bool] = []
    by_columns, by_block = processing._Run._whole, processing._Run._block_segment
    monkeypatch.setattr(processing._Run, "_whole", lambda run, lines: _noted(whole, by_columns(run, lines)))
    monkeypatch.setattr(processing._Run, "_block_segment", lambda run, block: _noted(blocks, by_block(run, block)))
    c.settings.chunk_rows = 1000
    content = _clean_statement(random.Random(1), 9_000)  # three batches, the second with a line to reject
    account = world.account()
    common = {"date_style": DateStyle.BIG_ENDIAN, "bypass_replay_validation": True}
    first = _compare(c, world, content, account, **common)
    assert len(first.rows) == 9_000 - 1 and [e.line_number for e in first.errors] == [5001]
    # the CSV reader hands its blocks over as columns: the block with the rejected line went line by line
    assert blocks.count(False) == 1 and len(blocks) > 3 and whole == [False]
    c.ledger.write(TENANT, [LedgerLine.confirmed(r, import_id="x", committed=utcnow()) for r in first.rows[::7]])
    _compare(c, world, content, account, **common)
    actual = _compare_card(c, world, content, date(2024, 1, 1))
    assert [r.amount for r in actual.rows[:50]] == [-r.amount for r in first.rows[:50]]


def test_blocks_of_one_sign_and_debits_written_coarser_than_credits_are_summed_the_same(
        c: FakeContainer, world: World, monkeypatch: pytest.MonkeyPatch):
    """The report's credit and debit sums of blocks whose lines are all credits, all debits, or whose debits are
    written with fewer decimals than the credits (or the other way round), zeros signed or not: each sum as the
    lines add up one by one, exponent included (`12.5` and `-3` sum to 12.5 and -3, not 12.5 and -3.0)."""
    monkeypatch.setattr(csv_feed, "BLOCK_SIZE", 512)
    kinds = [["12.50", "0.10", "7"], ["-12.50", "-0.1", "-7"], ["12.55", "1.5", "-3", "-40"],
             ["-12.55", "-1.5", "3", "40"], ["-0.00", "0", "-2.5", "1.25"], ["100", "-100", "0.0"]]
    out = ["Date,Description,Amount"]
    for i in range(1200):
        kind = kinds[(i // 25) % len(kinds)]
        out.append(f"{date(2024, 1, 1) + timedelta(days=i // 30)},Line {i % 7},{kind[i % len(kind)]}")
    content = ("\n".join(out) + "\n").encode()
    actual = _compare(c, world, content, world.account(), date_style=DateStyle.BIG_ENDIAN,
                      bypass_replay_validation=True)
    assert len(actual.rows) == 1200
    _compare_card(c, world, content, date(2024, 1, 1))


def _noted(seen: list[bool], segment: Any) -> Any:
    seen.append(segment is not None)
    return segment


def test_json_with_bank_ids_currencies_and_two_accounts_stages_the_same(c: FakeContainer, world: World):
    rng = random.Random(7)

    def transactions(prefix: str) -> list[dict[str, Any]]:
        return [{"transactionId": f"{prefix}{rng.randrange(0, 40)}", "datePosted": f"2024-02-{rng.randrange(1, 9):02d}",
                 "amount": rng.choice(["-3.50", "12.00", "-0.00"]), "description": rng.choice(["A", "B b", "Café"]),
                 **({"currency": "CHF"} if rng.random() < 0.2 else {})} for _ in range(300)]

    content = json.dumps({"bankAccounts": [
        {"accountIdentifier": "DE89370400440532013000", "currency": "EUR", "transactions": transactions("t")},
        {"accountIdentifier": "GB33BUKB20201555555555", "transactions": transactions("u")},
    ]}).encode()
    first = world.account("DE89370400440532013000")
    second = world.account("GB33BUKB20201555555555")
    c.ledger.write(TENANT, [_ledger_line(first, date(2024, 2, 3), "12.00", "x", "L1", "t5"),
                            _ledger_line(second, date(2024, 2, 1), "-3.50", "a", "L2")])
    _compare(c, world, content, first, second, file_format="JSON#v0")
    _compare(c, world, content, file_format="JSON#v0")  # discovery
    _compare(c, world, content, second, file_format="JSON#v0")  # one account listed, the other ignored


def test_amounts_finer_than_their_currency_are_rejected_at_the_same_places_by_both_paths(c: FakeContainer,
                                                                                        world: World):
    """Both paths name the place of a too fine amount as the format does (a JSONPath per line, the CSV column)."""
    rng = random.Random(11)

    def transactions() -> list[dict[str, Any]]:
        return [{"datePosted": f"2024-03-{rng.randrange(1, 9):02d}", "description": "x",
                 "amount": rng.choice(["-3.50", "12.00", "-1.005", "0.001"])} for _ in range(200)]

    content = json.dumps({"bankAccounts": [
        {"accountIdentifier": "DE89370400440532013000", "currency": "EUR", "transactions": transactions()},
        {"accountIdentifier": "GB33BUKB20201555555555", "currency": "JPY", "transactions": transactions()},
    ]}).encode()
    found = _compare(c, world, content, world.account("DE89370400440532013000"),
                     world.account("GB33BUKB20201555555555"), file_format="JSON#v0")
    assert {(e.target or "").split(".")[1] for e in found.errors} == {"bankAccounts[0]", "bankAccounts[1]"}
    assert all(e.code == "InvalidAmount" and (e.target or "").endswith("].amount") for e in found.errors)
    csv = ("Datum;Text;Betrag\n" + "".join(f"2024-03-0{i % 9 + 1};x;{rng.choice(['-3,50', '1,005'])}\n"
                                           for i in range(300))).encode()
    found = _compare(c, world, csv, world.account(), file_format="CSV#mapped#v1",
                     mapping={"columns": {"date": "Datum", "description": "Text", "amount": "Betrag"},
                              "delimiter": ";", "decimalSeparator": ","})
    assert found.errors and {e.target for e in found.errors} == {"Betrag"}


def test_each_statement_is_totalled_apart_and_the_totals_add_up_to_the_summary(c: FakeContainer, world: World):
    """Per-statement totals (the statement checks' reports: lines, sum, first/last day, balances) of a
    multi-statement MT940 file, checked against its staged rows and the summary (and the row path's)."""
    content = (SAMPLES / "mt940" / "mt940-jejik-abnamro.sta").read_bytes()
    found = _compare(c, world, content, file_format="MT940#v1")
    identifiers = [d["account_identifier"] for d in found.imp["discovered_accounts"]]
    accounts = [world.account(identifier) for identifier in identifiers]
    listed = _compare(c, world, content, *accounts, file_format="MT940#v1", bypass_replay_validation=True)
    statements = listed.imp["statements"]
    rows = listed.rows
    summary = listed.imp["summary"]
    assert len(statements) > 1 and listed.imp["statement_count"] == len(statements)
    assert sum(s["line_count"] for s in statements) == len(rows)
    assert sum(s["line_sum"] for s in statements) == sum(r.amount for r in rows)
    assert min(s["start_date"] for s in statements) <= summary["transaction_range_start_date"]
    assert any(s["closing"] is not None for s in statements)
    for report in statements:
        assert report["bank_account_id"] in accounts


def _pending_and_reversals(account: str) -> bytes:
    """A camt.053 statement with pending entries, booked entries that replace pending lines of the ledger
    (by reference, by amount and text), reversals of the file's and of the ledger's lines."""
    day = date(2024, 3, 10)
    entries = [
        Entry(day, Decimal("-12.50"), "CARD COFFEE BAR", "P-NEW-1", status="PDNG"),
        Entry(day, Decimal("-40.00"), "GROCER 123", "REF-PEND-1"),  # books the ledger's pending by reference
        Entry(day, Decimal("-19.99"), "STREAMING SERVICE MONTHLY", "B-2"),  # by amount and text
        Entry(day, Decimal("100.00"), "SALARY", "B-3"),
        Entry(day + timedelta(days=1), Decimal("-100.00"), "SALARY", "B-3", reversal=True),  # the file's line
        Entry(day + timedelta(days=1), Decimal("75.00"), "REFUND SHOP", "L-REV", reversal=True),  # a ledger line
        Entry(day + timedelta(days=2), Decimal("-8.00"), "CARD KIOSK", "P-NEW-2", status="PDNG"),
    ]
    return camt053("DE89370400440532013000", "STMT-1", Decimal("1000.00"), entries, day=day + timedelta(days=2)
                   ).encode()


@pytest.mark.parametrize("include_pending", [True, False])
def test_pending_lines_replaced_pending_and_reversals_link_the_same_by_both_paths(
        c: FakeContainer, world: World, include_pending: bool):
    account = world.account("DE89370400440532013000")
    day = date(2024, 3, 10)
    pending = [_ledger_line(account, day - timedelta(days=2), "-40.00", "GROCER", "PEND1", "REF-PEND-1"),
               _ledger_line(account, day - timedelta(days=1), "-19.99", "STREAMING SERVICE", "PEND2"),
               _ledger_line(account, day - timedelta(days=30), "-5.00", "OLD HOLD", "PEND3")]
    for line in pending:
        line.pending = True
    c.ledger.write(TENANT, [*pending, _ledger_line(account, day - timedelta(days=3), "-75.00", "SHOP", "L-SHOP",
                                                   "L-REV")])
    found = _compare(c, world, _pending_and_reversals(account), account, file_format="CAMT053#v1",
                     include_pending=include_pending)
    by_ref = {r.bank_transaction_id: r for r in found.rows}
    assert by_ref["REF-PEND-1"].replaces_pending_id == "PEND1"
    assert by_ref["B-2"].replaces_pending_id == "PEND2"
    reversals = [r for r in found.rows if r.reversal]
    assert len(reversals) == 2 and all(r.reversal_of for r in reversals)
    assert any(r.reversal_of == "L-SHOP" for r in reversals)
    assert [r.pending for r in found.rows].count(True) == (2 if include_pending else 0)
    assert any(d["code"] == "PendingExpired" for d in found.imp["error_details"])
    assert found.imp["statements"] and found.imp["statements"][0]["line_count"] == 5


def test_numbers_the_ledger_cannot_store_reject_their_lines_the_same_by_both_paths(
        c: FakeContainer, world: World, monkeypatch: pytest.MonkeyPatch):
    """The processing check behind the readers' own (InvalidAmount naming the number): a reader that let a
    balance or an original amount through, between rejected lines of the reader's, keeps file order."""
    import dataclasses

    from tximport.formats import registry

    def widened(file_format: str) -> Any:
        fmt = registry.get_format(file_format)

        def parser(source: Any, options: Any) -> Any:
            for event in fmt.parser(source, options):
                number = getattr(event, "line_number", 0)
                if type(event).__name__ == "ParsedLine" and number % 7 == 3:
                    event = dataclasses.replace(event, balance=Decimal("1E+200"))
                elif type(event).__name__ == "ParsedLine" and number % 11 == 4:
                    event = dataclasses.replace(event, original_amount=Decimal("0." + "0" * 140 + "1"))
                yield event

        return dataclasses.replace(fmt, parser=parser)

    monkeypatch.setattr(processing, "get_format", widened)
    monkeypatch.setattr(row_processing, "get_format", widened)
    content, _ = _statement(random.Random(3), 300)
    found = _compare(c, world, content, world.account(), date_style=DateStyle.BIG_ENDIAN,
                     bypass_replay_validation=True)
    targets = [e.target for e in found.errors if e.code == "InvalidAmount"]
    assert "balance" in targets and "originalAmount" in targets
    assert [e.line_number for e in found.errors] == sorted(e.line_number for e in found.errors)


@pytest.mark.parametrize("include_pending", [True, False])
def test_a_balance_column_running_per_currency_stages_the_same_by_both_paths(
        c: FakeContainer, world: World, include_pending: bool):
    """A PayPal export (qa42b F3): a statement per currency, each with its running balance; some lines pending, some
    already in the ledger, and the account's last statement ending within the file's days (overlap counts)."""
    lines = paypal_lines(random.Random(5), 120, interleaved=True)
    lines = [replace(p, status="Pending") if n % 9 == 4 else p for n, p in enumerate(lines)]
    mapping = {**PAYPAL_MAPPING, "columns": {**PAYPAL_MAPPING["columns"], "status": "Status"}}
    account = world.account(currency="USD")
    c.statements.history.put(TENANT, [StatementRecord(
        bank_account_id=account, import_id="earlier", index=1, currency="USD", closing=Decimal("0.89"),
        closing_date=date(2024, 3, 5), end_date=date(2024, 3, 5))])
    c.ledger.write(TENANT, [_ledger_line(account, p.day, str(p.net), f"Payment {n}", f"L{n}")
                            for n, p in enumerate(lines) if n % 5 == 0 and n < 40])
    found = _compare(c, world, paypal_csv(lines), account, file_format="CSV#mapped#v1", mapping=mapping,
                     include_pending=include_pending, bypass_replay_validation=True)
    assert [(s["currency"], s["foreign"]) for s in found.imp["statements"]] == [
        ("USD", False), ("EUR", True), ("GBP", True)]
    assert any(r.possible_duplicate for r in found.rows)
    assert "StatementOverlap" in [ch["code"] for ch in found.imp["statements"][0]["checks"]]
