"""A file processed in ranges (the workflow's Map, then the reduce) against the same file processed in one
run: on the same import, file and ledger both must stage the same rows (ids, verdicts, every field), the
same rejected lines with their line numbers, the same summary, discovered accounts, statement checks and
outcome. The ranges are tiny here (a few hundred bytes) so every boundary case comes up in milliseconds:
identical lines and duplicates on a day two ranges share, an error line in a later range, statements
that run across a boundary (CSV) or are cut between (MT940, CAMT)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.fakes.container import FakeContainer
from tests.support.mirrors import committed_line, mirror_line
from tests.support.samples import SAMPLES
from tests.support.statements import PAYPAL_MAPPING, paypal_csv, paypal_lines
from tests.unit.formats.test_ranges import _camt_statements, _german_csv, _mt940_statements
from tests.unit.services.test_processing_differential import (
    Outcome,
    _copied,
    _ledger_line,
    _result,
    _statement,
)
from tests.unit.services.world import TENANT, World
from tximport.formats.base import DateStyle
from tximport.models import Import, LedgerLine, utcnow
from tximport.services.line_ids import line_id


def _split_run(c: FakeContainer, import_id: str) -> str:
    """Process as the workflow does for a split file: process (answers split), each range, the reduce."""
    outcome = c.processing.process(c.imports.get(TENANT, import_id))
    assert outcome == "split"
    for index in c.processing.split_ranges(c.imports.get(TENANT, import_id)):
        c.split.process_range(c.imports.get(TENANT, import_id), index)
    return c.split.reduce(c.imports.get(TENANT, import_id))


def _both(c: FakeContainer, imp: Import, range_bytes: int) -> tuple[Outcome, Outcome, bool]:
    """The split run on `c`, one run on a copy of the stores (one ledger); and whether the reduce merged
    the ranges (their chunks kept) rather than reading the file in one run."""
    one = FakeContainer()
    one.settings.chunk_rows = c.settings.chunk_rows
    one.settings.split_bytes = 0
    for name in ("imports", "objects", "locks", "accounts"):
        one.__dict__[name] = _copied(getattr(c, name))
    one.__dict__["ledger"] = c.ledger
    expected = _result(one, one.processing.process(one.imports.get(TENANT, imp.id)), imp.id)
    c.settings.split_bytes = range_bytes
    actual = _result(c, _split_run(c, imp.id), imp.id)
    merged = all("/r0" in key for key in c.imports.get(TENANT, imp.id).chunk_keys)
    c.lifecycle.release(c.imports.get(TENANT, imp.id))
    return actual, expected, merged


def _compare(c: FakeContainer, world: World, content: bytes, range_bytes: int, *account_ids: str,
             **extra: Any) -> tuple[Outcome, bool]:
    imp = world.create(*account_ids, bypass_replay_validation=True, **extra)
    world.upload(imp, content)
    assert world.claim(imp.id) == "process"
    actual, expected, merged = _both(c, imp, range_bytes)
    assert actual.outcome == expected.outcome
    actual.imp.pop("chunks")
    expected.imp.pop("chunks")
    assert actual.imp == expected.imp
    assert len(actual.rows) == len(expected.rows)
    for mine, theirs in zip(actual.rows, expected.rows, strict=True):
        assert mine == theirs
    assert actual.errors == expected.errors
    return actual, merged


def _iso_csv(days: int = 12, per_day: int = 9) -> bytes:
    rows = ["date,description,amount"]
    for d in range(days):
        day = (date(2024, 3, 1) + timedelta(days=d)).isoformat()
        for i in range(per_day):
            rows.append(f"{day},{'Coffee' if i % 3 else 'Card payment ' + str(i)},-{3 + i % 2}.50")
    rows[40] = "2024-03-05,Broken,-x"  # an error line in a later range
    return ("\n".join(rows) + "\n").encode()


def _ledger_copies(c: FakeContainer, account: str, rows: list[Any], every: int) -> None:
    """Some of the file's lines already in the ledger (by the one-run ids: the merge must find them)."""
    for row in rows[::every]:
        c.ledger.write(TENANT, [LedgerLine.confirmed(row, import_id="earlier", committed=utcnow())])


@pytest.mark.parametrize("range_bytes", [150, 333, 700])
def test_iso_csv_with_identical_lines_across_boundaries(c: FakeContainer, world: World, range_bytes: int):
    account = world.account()
    found, merged = _compare(c, world, _iso_csv(), range_bytes, account)
    assert merged  # the shared days were joined, not read again in one run
    assert found.imp["summary"]["transaction_details_count"] == 107
    assert [e.line_number for e in found.errors] == [41]
    # again against a ledger holding some of them: the verdicts of the later ranges' lines follow the ids
    _ledger_copies(c, account, found.rows, 4)
    found, merged = _compare(c, world, _iso_csv(), range_bytes, account)
    assert merged
    assert found.imp["summary"]["transaction_date_overlap_count"] > 0
    already = [r for r in found.rows if (r.duplicate_reason or {}).get("reason") == "alreadyImported"]
    assert len(already) == len(found.rows[::4])


def _german_csv_ordered(days: int = 40, per_day: int = 6) -> bytes:
    rows = ["Buchungstag;Verwendungszweck;Betrag"]
    for d in range(days):
        day = date(2024, 1, 1) + timedelta(days=d)
        for i in range(per_day):
            rows.append(f"{day:%d.%m.%Y};Miete {i % 2};-1.{d:03d},{50 * (i % 2):02d}")
    rows[100] = "31.02.2024;Kein Tag;-1,00"
    return ("\r\n".join(rows) + "\r\n").encode("cp1252")


def test_german_csv(c: FakeContainer, world: World, entry_window: int):
    account = world.account()
    _, merged = _compare(c, world, _german_csv_ordered(), 900, account)
    assert merged
    # a file whose days run back and forth is merged while its counters stay in the window; beyond it (a day
    # of a range with shared days comes back after its counters were dropped), it is read again in one run
    _, merged = _compare(c, world, _german_csv(), 2000, account)
    assert merged == (entry_window > 1000)


def test_similar_ledger_lines_on_a_shared_day(c: FakeContainer, world: World):
    account = world.account()
    day = date(2024, 3, 4)
    c.ledger.write(TENANT, [_ledger_line(account, day, "-3.50", "COFFEE", "tx-a"),
                            _ledger_line(account, day, "-4.50", "Coffee shop", "tx-b")])
    found, merged = _compare(c, world, _iso_csv(), 150, account)
    assert merged
    assert any(r.duplicate_of in ("tx-a", "tx-b") for r in found.rows)


def test_bank_ids_repeated_across_a_boundary(c: FakeContainer, world: World):
    mapping = {"columns": {"date": "Date", "description": "Text", "amount": "Amount",
                           "bankTransactionId": "Ref"}}
    rows = ["Date,Text,Amount,Ref"]
    for i in range(60):
        rows.append(f"2024-03-{1 + i // 20:02d},Payment {i % 4},-{i % 13 % 5}.00,REF{i % 13}")  # REF: its amount
    found, merged = _compare(c, world, ("\n".join(rows) + "\n").encode(), 300, world.account(),
                             file_format="CSV#mapped#v1", mapping=mapping)
    # a bank id an earlier range had on a shared day: its occurrence and verdict follow that line, so the
    # whole file is processed in one run (the same result either way)
    assert not merged
    assert any((r.duplicate_reason or {}).get("in") == "file" for r in found.rows)
    assert len({r.transaction_id for r in found.rows}) == len(found.rows)  # a reused bank id: ids of their own


def test_bank_ids_unique_across_a_boundary_are_merged(c: FakeContainer, world: World):
    mapping = {"columns": {"date": "Date", "description": "Text", "amount": "Amount",
                           "bankTransactionId": "Ref"}}
    rows = ["Date,Text,Amount,Ref"] + [f"2024-03-{1 + i // 20:02d},Payment {i % 4},-{i % 5}.00,REF{i}"
                                       for i in range(60)]
    found, merged = _compare(c, world, ("\n".join(rows) + "\n").encode(), 300, world.account(),
                             file_format="CSV#mapped#v1", mapping=mapping)
    assert merged and len(found.rows) == 60


def test_running_balance_across_boundaries(c: FakeContainer, world: World):
    mapping = {"columns": {"date": "Date", "description": "Text", "amount": "Amount", "balance": "Balance"}}
    rows, balance = ["Date,Text,Amount,Balance"], Decimal("100.00")
    for i in range(80):
        amount = Decimal(i % 7 - 3)
        balance += amount if i != 57 else amount + 1  # a break in a later range
        rows.append(f"2024-04-{1 + i // 10:02d},Line {i},{amount},{balance if i % 5 != 2 else ''}")
    found, merged = _compare(c, world, ("\n".join(rows) + "\n").encode(), 400, world.account(),
                             file_format="CSV#mapped#v1", mapping=mapping)
    assert merged
    assert found.imp["statements"]


@pytest.mark.parametrize(("currency", "interleaved", "blanks"), [("USD", False, False), ("USD", True, False),
                                                                (None, True, True)])
@pytest.mark.parametrize("range_bytes", [300, 700])
def test_a_balance_column_running_per_currency_across_boundaries(c: FakeContainer, world: World, currency: str | None,
                                                                 interleaved: bool, blanks: bool, range_bytes: int):
    """A PayPal export (qa42b F3): each currency's balance runs on its own, a statement per currency; their lines cut
    between ranges anywhere (a range may start with a line naming no currency, which follows the earlier range's last
    line), with a break in one currency's balance in a later range."""
    lines = paypal_lines(random.Random(range_bytes), 90, interleaved=interleaved, blanks=blanks)
    broken = lines[70]
    lines[70] = replace(broken, balance=broken.balance + Decimal("0.01"))
    found, merged = _compare(c, world, paypal_csv(lines), range_bytes, world.account(currency=currency),
                             file_format="CSV#mapped#v1", mapping=PAYPAL_MAPPING)
    assert merged
    statements = found.imp["statements"]
    assert sorted(s["currency"] for s in statements) == ["EUR", "GBP", "USD"]
    assert [(s["currency"], s["foreign"]) for s in statements][0] == (currency or statements[0]["currency"], False)
    assert [(ch["code"], ch["line_number"]) for s in statements for ch in s["checks"]] == [("BalanceMismatch", 72)]


def test_mt940_with_several_statements(c: FakeContainer, world: World):
    data = _mt940_statements(10)
    found, _ = _compare(c, world, data, len(data) // 5, file_format="MT940#v1")  # discovery
    accounts = [world.account(d["account_identifier"]) for d in found.imp["discovered_accounts"]]
    _, merged = _compare(c, world, data, len(data) // 5, *accounts, file_format="MT940#v1")
    assert merged


def test_mt940_sample_with_many_messages(c: FakeContainer, world: World):
    data = (SAMPLES / "mt940" / "mt940-betterplace-sepa_mt9401.sta").read_bytes()
    found, _ = _compare(c, world, data, len(data) // 6, file_format="MT940#v1")
    accounts = [world.account(d["account_identifier"]) for d in found.imp["discovered_accounts"]]
    _compare(c, world, data, len(data) // 6, *accounts, file_format="MT940#v1")


def test_camt_with_several_statements(c: FakeContainer, world: World):
    data = _camt_statements(8)
    found, _ = _compare(c, world, data, len(data) // 4, file_format="CAMT053#v1")
    accounts = [world.account(d["account_identifier"]) for d in found.imp["discovered_accounts"]]
    # the statements repeat the sample's reversal: one in a later range may reverse an earlier range's
    # line, so the reduce reads the file in one run
    _, merged = _compare(c, world, data, len(data) // 4, *accounts, file_format="CAMT053#v1")
    assert not merged


@pytest.mark.parametrize("seed", range(4))
def test_generated_unordered_statements(c: FakeContainer, world: World, seed: int, entry_window: int):
    """Days out of order beyond the counters' window, zero amounts, rejected lines: merged or read again in
    one run, the result is the one run's."""
    rng = random.Random(seed)
    c.settings.chunk_rows = 97
    content, lines = _statement(rng, 700)
    account = world.account()
    for n, (day, description, amount) in enumerate(rng.sample(lines, 40)):
        c.ledger.write(TENANT, [_ledger_line(account, day, amount, description.upper(), f"tx-{n}")])
    for n, (day, description, amount) in enumerate(rng.sample(lines, 30)):  # sessions' lines: mirrors, committed
        c.ledger.write(TENANT, [mirror_line(account, day + timedelta(days=rng.randrange(-2, 3)), amount,
                                            staged=f"M{n}"),
                                committed_line(account, day, amount, description, staged=f"S{n}")])
    found, _ = _compare(c, world, content, rng.choice([900, 2500, 6000]), account, date_style=DateStyle.BIG_ENDIAN)
    assert {"transferMirror", "alreadyCommitted"} <= {(r.duplicate_reason or {}).get("reason") for r in found.rows}


def test_a_later_upload_while_the_ranges_run_fails_the_import(c: FakeContainer, world: World):
    c.settings.split_bytes = 300
    imp = world.create(world.account())
    world.upload(imp, _iso_csv())
    assert world.claim(imp.id) == "process"
    assert c.processing.process(world.get(imp.id)) == "split"
    c.split.process_range(world.get(imp.id), 0)
    world.upload(world.get(imp.id), b"date,description,amount\n2024-01-01,Other,1.00\n")  # a second PUT
    for index in c.processing.split_ranges(world.get(imp.id))[1:]:
        c.split.process_range(world.get(imp.id), index)
    assert c.split.reduce(world.get(imp.id)) == "failed"
    done = world.get(imp.id)
    assert done.status.value == "error" and done.error_details[0].code == "FileChanged"


def test_currencies_and_rejected_kinds_across_ranges(c: FakeContainer, world: World):
    """Per-currency totals, amounts finer than their currency (rejected), and the kinds of rejected lines
    (validationDetails: counts and first line) add up across ranges as one run counts them."""
    mapping = {"columns": {"date": "Date", "description": "Text", "amount": "Amount", "currency": "Ccy"}}
    rows = ["Date,Text,Amount,Ccy"]
    for i in range(90):
        currency = ("EUR", "JPY", "BHD")[i % 3]
        amount = {"EUR": "-1.25", "JPY": "300", "BHD": "2.125"}[currency]
        if i % 17 == 5:
            amount = "1.5" if currency == "JPY" else "0.0001"  # finer than the currency
        if i % 23 == 7:
            amount = "x"
        day = "2024-06-31" if i % 29 == 11 else f"2024-06-{1 + i // 9:02d}"
        rows.append(f"{day},Line {i},{amount},{currency}")
    found, merged = _compare(c, world, ("\n".join(rows) + "\n").encode(), 350, world.account(),
                             file_format="CSV#mapped#v1", mapping=mapping)
    assert merged
    assert {t["currency"] for t in found.imp["summary"]["totals"]} == {"EUR", "JPY", "BHD"}
    # a kind is a code at a place: amounts that do not read and amounts finer than their currency are one kind,
    # InvalidAmount at the Amount column (both name it so), the bad dates another
    assert sorted((v["code"], v["target"]) for v in found.imp["validation_details"]) == [
        ("InvalidAmount", "Amount"), ("InvalidDate", "Date")]


def _camt_one_number_two_banks(count: int) -> bytes:
    """camt.053 statements of domestic account 0532013000, serviced by two banks (their BICs) two by two after the
    first: a range of two statements may start with either."""
    banks = ["INGDDEFFXXX" if n % 4 in (1, 2) else "COBADEFFXXX" for n in range(count)]
    statements = "".join(
        f"<Stmt><Id>S{n}</Id><CreDtTm>2024-01-31T10:00:00</CreDtTm><Acct><Id><Othr><Id>0532013000</Id></Othr></Id>"
        f"<Ccy>EUR</Ccy><Svcr><FinInstnId><BIC>{banks[n]}</BIC></FinInstnId></Svcr>"
        f'</Acct><Ntry><Amt Ccy="EUR">{n + 1}.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>'
        f"2024-01-{n + 1:02d}</Dt></BookgDt><AcctSvcrRef>R{n}</AcctSvcrRef></Ntry></Stmt>\n" for n in range(count))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
            "<BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-01-31T10:00:00</CreDtTm></GrpHdr>\n"
            + statements + "</BkToCstmrStmt></Document>\n").encode()


def test_one_number_at_two_banks_cut_into_ranges_is_read_in_one_run(c: FakeContainer, world: World):
    """Each range names the account number under the bank it meets first: the reduce finds two banks for one
    name and reads the file in one run, which tells the two accounts apart."""
    data = _camt_one_number_two_banks(8)
    found, _ = _compare(c, world, data, len(data) // 4, file_format="CAMT053#v1")  # discovery
    assert [(d["account_identifier"], d["bank"]) for d in found.imp["discovered_accounts"]] == [
        ("0532013000", "COBADEFFXXX"), ("INGDDEFFXXX/0532013000", "INGDDEFFXXX")]
    accounts = [world.account("DE89370400440532013000"), world.account("DE48500105170532013000")]
    _, merged = _compare(c, world, data, len(data) // 4, *accounts, file_format="CAMT053#v1",
                         fuzzy_account_matching=True)
    assert not merged


def _months_back_and_forth(months: int = 4, days: int = 12) -> bytes:
    """Each month's days twice over (1..12, then 1..12 again), three lines a day, two of them identical: a month
    holds 72 lines, a day comes back after eleven others."""
    rows = ["date,description,amount"]
    for month in range(1, months + 1):
        for _ in range(2):
            for d in range(1, days + 1):
                day = date(2024, month, d).isoformat()
                rows += [f"{day},Coffee,-3.50", f"{day},Coffee,-3.50", f"{day},Rent {d},-{d}.00"]
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.parametrize("window", [20, 1000])
def test_days_that_leave_the_counters_window_inside_their_range_are_merged(
        c: FakeContainer, world: World, monkeypatch: pytest.MonkeyPatch, window: int):
    """Ranges that share no day meet their days as one run does, whatever the window drops and takes back:
    merged, the same as one run (ids with the line number mixed in where a day came back, with the small
    window)."""
    from tests.support.reference import row_processing
    from tximport.services import line_ids
    monkeypatch.setattr(line_ids, "ENTRY_WINDOW", window)
    monkeypatch.setattr(row_processing, "ENTRY_WINDOW", window)
    content = _months_back_and_forth()
    account = world.account()
    found, merged = _compare(c, world, content, len(content) // 4 + 1, account)
    assert merged
    ids = [r.transaction_id for r in found.rows]
    assert len(ids) == len(set(ids)) == 288
    # counted as in file order without a day dropped: every line with the big window, the first pass alone with the
    # small one (the second pass of each month comes back to days the window dropped)
    counted = {line_id(account, r.date_posted.isoformat(), r.amount, r.description, None, n, 0, False)[1]
               for r in found.rows for n in (1, 2, 3, 4)}
    assert sum(i in counted for i in ids) == (288 if window == 1000 else 144)


def test_a_mirror_line_two_ranges_would_take_is_taken_once_as_in_one_run(c: FakeContainer, world: World):
    """A transfer another account's session booked here near the day two ranges meet at, and lines of its money
    on each side: each range alone gives it to its first line within 5 days; one run to the file's first (May
    5). The reduce reads
    the file in one run then; a mirror only one range reaches is merged."""
    rows = ["date,description,amount"]
    for d in range(1, 21):
        rows += [f"2024-05-{d:02d},Credit {d},100.00", f"2024-05-{d:02d},Shop {d},-{d}.25"]
    content = ("\n".join(rows) + "\n").encode()
    account = world.account()
    c.ledger.write(TENANT, [mirror_line(account, date(2024, 5, 10), "100.00", staged="M1")])
    found, merged = _compare(c, world, content, len(content) // 2, account)
    assert not merged
    taken = [r for r in found.rows if (r.duplicate_reason or {}).get("reason") == "transferMirror"]
    assert [r.description for r in taken] == ["Credit 5"]
    other = world.account()
    c.ledger.write(TENANT, [mirror_line(other, date(2024, 5, 2), "-2.25", staged="M2")])
    found, merged = _compare(c, world, content, len(content) // 2, other)
    assert merged
    assert [r.description for r in found.rows if r.possible_duplicate] == ["Shop 2"]


def test_notes_of_one_code_across_ranges_are_counted_as_in_one_run(c: FakeContainer, world: World):
    """Every statement's `:62F:` finer than EUR: the import names the first and counts the others, split or not."""
    data = _mt940_statements(10).replace(b":62F:C110523EUR876,84", b":62F:C110523EUR876,845")
    assert data.count(b"876,845") == 10
    found, merged = _compare(c, world, data, len(data) // 5, file_format="MT940#v1")
    assert merged
    (note,) = [e for e in found.imp["error_details"] if e["code"] == "BalanceUnreadable"]
    assert note["message"].endswith("(9 more in the file)")
