"""Statement checks through the services on fakes: processing reports them, complete keeps the history,
revert gives the account its previous closing back, retried steps add nothing twice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.fakes.container import FakeContainer
from tests.support.samples import SAMPLES
from tests.support.statements import month
from tests.unit.services.world import World

D = Decimal
REF = "NL91TEST0000000001"


def _mt940(world: World, account: str, text: str):
    return world.completed(text.encode(), account, file_format="MT940#v1")


def test_history_follows_completes_and_reverts(c: FakeContainer, world: World):
    account = world.account(REF)
    jan = _mt940(world, account, month(REF, 1, 2024, 1, D("100.00"), ["-30.00"]))
    assert [s.checks for s in jan.statements] == [[]]
    last = c.statements.history.last(world.tenant, account)
    assert last is not None and (last.closing, last.import_id) == (D("70.00"), jan.id)
    c.workflow.complete(jan)  # a retried step: the same items, nothing new
    feb = _mt940(world, account, month(REF, 2, 2024, 2, D("70.00"), ["-20.00"]))
    assert c.statements.history.last(world.tenant, account).closing == D("50.00")  # type: ignore[union-attr]
    c.statements.reverted(world.get(feb.id))
    assert c.statements.history.last(world.tenant, account).import_id == jan.id  # type: ignore[union-attr]


def test_a_gap_warns_and_exception_review_waits(c: FakeContainer, world: World):
    account = world.account(REF)
    _mt940(world, account, month(REF, 1, 2024, 1, D("100.00"), ["-30.00"]))
    imp, outcome = world.processed(month(REF, 3, 2024, 3, D("60.00"), ["1.00"]).encode(), account,
                                   file_format="MT940#v1", review_level="exceptionReview")
    assert outcome == "review"
    (warning,) = [d for d in imp.error_details if d.code == "StatementGap"]
    assert warning.severity == "warning" and "70.00" in warning.message
    (report,) = imp.statements
    (check,) = report.checks
    assert (check.expected, check.computed, check.difference) == (D("70.00"), D("60.00"), D("-10.00"))


def test_a_retried_commit_chunk_counts_once_in_the_day_balances(c: FakeContainer, world: World):
    account = world.account(REF)
    imp = _mt940(world, account, month(REF, 1, 2024, 1, D("100.00"), ["-30.00", "5.00"]))
    c.commit.commit_chunk(imp, imp.chunk_keys[0])  # Step Functions retries a chunk
    page = c.ledger_queries.page_with_balances(world.tenant, account, limit=10, cursor=None)
    assert page.balance is not None and page.balance.amount == D("75.00")
    assert page.running == [D("75.00"), D("70.00")]


def test_a_statement_the_file_holds_twice_is_named_as_repeated_not_as_a_gap(c: FakeContainer, world: World):
    """A file with the same statement written twice (the same :20:/:28C:, balances and lines) staged every line
    twice with only a StatementGap against itself; the repeat is named, and checked for nothing else."""
    account = world.account(REF)
    jan = month(REF, 1, 2024, 1, D("100.00"), ["-30.00", "-5.00"])
    imp, outcome = world.processed((jan + jan).encode(), account, file_format="MT940#v1",
                                   review_level="exceptionReview")
    assert outcome == "review"
    first, second = imp.statements
    assert first.checks == []
    (check,) = second.checks
    assert (check.code, check.repeats_statement, check.line_count) == ("StatementRepeated", 1, 2)
    (warning,) = [d for d in imp.error_details if d.code.startswith("Statement")]
    assert (warning.code, warning.severity) == ("StatementRepeated", "warning")
    assert "repeats statement 1 of this file" in warning.message and "skipped" in warning.message
    # the repeat's lines start as skip: confirmed as they are, the statement is written once
    rows = list(c.staging.all_rows(imp.chunk_keys))
    decisions = c.imports.decisions(imp)
    assert [decisions.get(r.transaction_id, r.default_decision) for r in rows] == ["import"] * 2 + ["skip"] * 2
    assert (second.first_line, second.last_line) == (rows[2].line_number, rows[3].line_number)


def test_a_statement_the_file_holds_twice_is_written_once(c: FakeContainer, world: World):
    account = world.account(REF)
    jan = month(REF, 1, 2024, 1, D("100.00"), ["-30.00", "-5.00"])
    _mt940(world, account, jan + jan)
    page = c.ledger_queries.page_with_balances(world.tenant, account, limit=10, cursor=None)
    assert page.running == [D("65.00"), D("70.00")]


def test_a_statement_that_differs_from_one_of_the_same_id_is_no_repeat(c: FakeContainer, world: World):
    account = world.account(REF)
    jan = month(REF, 1, 2024, 1, D("100.00"), ["-30.00", "-5.00"])
    corrected = month(REF, 1, 2024, 1, D("100.00"), ["-30.00", "-6.00"])
    imp, _ = world.processed((jan + corrected).encode(), account, file_format="MT940#v1")
    assert "StatementRepeated" not in [check.code for s in imp.statements for check in s.checks]


def test_a_gap_between_two_statements_of_one_file_names_the_one_before_it(c: FakeContainer, world: World):
    """The gap's message named 'the last confirmed statement', and its previousImportId this very import."""
    account = world.account(REF)
    text = month(REF, 1, 2024, 1, D("100.00"), ["-30.00"]) + month(REF, 2, 2024, 2, D("60.00"), ["1.00"])
    imp = _mt940(world, account, text)
    (warning,) = [d for d in imp.error_details if d.code == "StatementGap"]
    assert "the statement before it in this file closed at 70.00" in warning.message
    assert "confirmed" not in warning.message
    later, _ = world.processed(month(REF, 3, 2024, 3, D("50.00"), ["1.00"]).encode(), account,
                               file_format="MT940#v1")
    (gap,) = [d for d in later.error_details if d.code == "StatementGap"]
    assert "the last confirmed statement closed at 61.00" in gap.message


def _swapped_rabobank() -> bytes:
    """The Rabobank sample with line 10's day and month swapped: `:61:130102D...` (statement 1, 2013-01-01 to
    2013-01-08) written `:61:130201D...`."""
    content = (SAMPLES / "mt940" / "mt940-jejik-rabobank-iban.sta").read_bytes()
    assert content.count(b":61:130102D") == 1
    return content.replace(b":61:130102D", b":61:130201D")


def test_a_line_dated_after_its_statement_is_named_at_its_line(c: FakeContainer, world: World):
    """It was staged and booked on 2013-02-01 with no word, after its statement's :62F: of 2013-01-08 and after the
    next statement's end, which left the ledger's balance 10.00 off the bank's (qa41a F2)."""
    account = world.account("NL71RABO0123456789")
    imp, outcome = world.processed(_swapped_rabobank(), account, file_format="MT940#v1", bypass_replay_validation=True)
    assert outcome == "review"
    (warning,) = [d for d in imp.error_details if d.code == "DateOutsideStatement"]
    assert (warning.severity, warning.line_number) == ("warning", 10)
    assert "line 10 is dated 2013-02-01, 24 days after the statement's end (2013-01-08)" in warning.message
    first, second = imp.statements
    assert [c.code for c in first.checks] == ["DateOutsideStatement"] and second.checks == []
    fresh = World(FakeContainer(), world.tenant)
    untouched, _ = fresh.processed((SAMPLES / "mt940" / "mt940-jejik-rabobank-iban.sta").read_bytes(),
                                   fresh.account("NL71RABO0123456789"), file_format="MT940#v1",
                                   bypass_replay_validation=True)
    assert [d.code for d in untouched.error_details if d.code == "DateOutsideStatement"] == []


def test_a_camt_entry_booked_outside_its_statements_period_is_named(c: FakeContainer, world: World):
    content = (SAMPLES / "camt053" / "oca-test-camt053.xml").read_bytes()
    at = content.index(b"2014-01-05", content.index(b"<BookgDt>"))
    line = content.count(b"\n", 0, at) + 1
    imp, _ = world.processed(content[:at] + b"2014-05-01" + content[at + 10:], world.account("NL77ABNA0574908765"),
                             file_format="CAMT053#v1", bypass_replay_validation=True)
    (warning,) = [d for d in imp.error_details if d.code == "DateOutsideStatement"]
    assert "116 days after the statement's end (2014-01-05)" in warning.message
    assert warning.line_number is not None and warning.line_number <= line


def test_a_statement_whose_lines_all_fall_after_its_end_starts_no_later_than_it_ends(c: FakeContainer, world: World):
    """qa42a L2: with its lines dated after its :62F:, the statement was reported from 2013-01-20 to 2013-01-08."""
    content = (SAMPLES / "mt940" / "mt940-jejik-rabobank-iban.sta").read_bytes()
    content = content.replace(b":61:130101D", b":61:130120D").replace(b":61:130102D", b":61:130301D")
    imp, _ = world.processed(content, world.account("NL71RABO0123456789"), file_format="MT940#v1",
                             bypass_replay_validation=True)
    first = imp.statements[0]
    assert (first.start_date, first.end_date) == (date(2013, 1, 8), date(2013, 1, 8))
    assert [(ch.code, ch.line_number) for ch in first.checks] == [("DateOutsideStatement", 10)]


def test_a_statement_that_lost_both_balances_is_reported_apart_from_the_next(c: FakeContainer, world: World):
    """qa42a L3: an MT940 statement without :60F: and :62F: mid-file was taken into the next one, whose
    BalanceMismatch then blamed a statement whose own figures agree. It closes as a statement of its own, with no
    balance, and the next one is checked on its own figures."""
    text = (SAMPLES / "mt940" / "mt940-jejik-rabobank-iban.sta").read_text()
    second = text.index(":20:", text.index(":20:") + 1)
    damaged = text[:second].replace(":60F:C130101EUR000000001000,00\n", "").replace(
        ":62F:C130108EUR000000000965,00\n", "") + text[second:]
    imp, _ = world.processed(damaged.encode(), world.account("NL71RABO0123456789"), file_format="MT940#v1",
                             bypass_replay_validation=True)
    first, then = imp.statements
    assert (first.line_count, first.opening, first.closing, first.checks) == (2, None, None, [])
    assert (then.line_count, [ch.code for ch in then.checks]) == (2, [])


FORWARD_DATED = """:20:STMT1
:25:{ref}
:28C:1
:60F:C240101EUR100,00
:61:240102D10,00NTRFNONREF
:86:Rent
:61:240112C5,00NMSCNONREF
:86:Refund, value dated ten days on
:62F:C240102EUR95,00
-
"""


def test_lines_of_a_statement_dated_after_its_closing_day_count_once_in_the_balance(c: FakeContainer, world: World):
    """qa42b F1: a real MT940 whose closing (dated the 17th) already holds four lines value dated up to the 27th. The
    balance was anchored on the closing and its day, and the day sums after that day added those lines again: the
    account showed 109,471.64 where the bank's closing is 84,437.04."""
    account = world.account(REF)
    imp = _mt940(world, account, FORWARD_DATED.format(ref=REF))
    (report,) = imp.statements
    assert (report.closing, report.after_closing) == (D("95.00"), D("5.00"))
    page = c.ledger_queries.page_with_balances(world.tenant, account, limit=10, cursor=None)
    assert page.balance is not None and (page.balance.amount, page.balance.as_of) == (D("95.00"), date(2024, 1, 12))
    assert page.running == [D("95.00"), D("90.00")]
    # and the next statement, opening at that closing, follows on
    feb = month(REF, 2, 2024, 2, D("95.00"), ["-20.00"])
    nxt = _mt940(world, account, feb)
    assert [s.checks for s in nxt.statements] == [[]]
    assert c.ledger_queries.page_with_balances(world.tenant, account, limit=10, cursor=None).balance.amount == D(
        "75.00")  # type: ignore[union-attr]
