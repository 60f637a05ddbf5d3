"""Statement checks through the services on fakes: processing reports them, complete keeps the history,
revert gives the account its previous closing back, retried steps add nothing twice."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tests.fakes.container import FakeContainer
from tests.support.samples import SAMPLES
from tests.support.statements import PAYPAL_MAPPING, Entry, PayPalLine, camt053, month, paypal_csv
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


def _paypal(world: World, lines: list[PayPalLine], account: str, **extra: Any):
    return world.processed(paypal_csv(lines), account, file_format="CSV#mapped#v1", mapping=PAYPAL_MAPPING,
                           bypass_replay_validation=True, **extra)


def _figures(imp) -> list[tuple[object, ...]]:
    return [(s.index, s.currency, s.opening, s.closing, s.line_count, s.line_sum, s.foreign,
             [(ch.code, ch.line_number) for ch in s.checks]) for s in imp.statements]


#: the first lines of each currency of qa42b's real PayPal statement (lines 2-5 EUR, 6-9 USD)
PAYPAL_BLOCKS = [PayPalLine(date(2018, 9, 4), "EUR", D("-1058.09"), D("-1057.34")),
                 PayPalLine(date(2018, 9, 4), "EUR", D("1058.09"), D("0.75")),
                 PayPalLine(date(2018, 9, 11), "EUR", D("-3105.58"), D("-3104.83")),
                 PayPalLine(date(2018, 9, 11), "EUR", D("3105.58"), D("0.75")),
                 PayPalLine(date(2018, 9, 4), "USD", D("1261.04"), D("1261.93")),
                 PayPalLine(date(2018, 9, 4), "USD", D("-1261.00"), D("0.93")),
                 PayPalLine(date(2018, 9, 10), "USD", D("3698.20"), D("3699.13")),
                 PayPalLine(date(2018, 9, 11), "USD", D("-3699.00"), D("0.13"))]


def test_a_balance_column_that_runs_per_currency_is_checked_per_currency(c: FakeContainer, world: World):
    """qa42b F3: a real PayPal statement on a USD account, its EUR lines first: the running balance was said to
    break at the first USD line (EUR 0.75 + its amount), and the statement opened at a EUR figure and closed at a
    USD one, its lineSum the two added. The USD lines are the statement, the EUR lines one of their own."""
    imp, _ = _paypal(world, PAYPAL_BLOCKS, world.account(currency="USD"))
    assert _figures(imp) == [(1, "USD", D("0.89"), D("0.13"), 4, D("-0.76"), False, []),
                             (2, "EUR", D("0.75"), D("0.75"), 4, D("0.00"), True, [])]
    usd, eur = imp.statements
    assert (usd.first_line, usd.last_line, eur.first_line, eur.last_line) == (6, 9, 2, 5)
    assert [(d.code, d.severity) for d in imp.error_details] == [("CurrencyMismatch", "warning")]  # the EUR lines


def _interleaved(wrong: bool = False) -> list[PayPalLine]:
    """PayPal's activity download: conversions write each currency's line beside the other's (line 6 states a
    balance 0.01 off where `wrong`)."""
    day = date(2016, 1, 4)
    rows = [("USD", "79.75", "79.75"), ("USD", "-50.00", "29.75"), ("EUR", "43.34", "43.34"),
            ("USD", "1580.68", "1610.43"), ("USD", "-78.02", "1532.42" if wrong else "1532.41"),
            ("AUD", "100.00", "100.00"), ("AUD", "-100.00", "0.00"), ("EUR", "-12431.37", "-12388.03"),
            ("USD", "-1400.00", "132.41"), ("EUR", "12431.37", "43.34"), ("USD", "2487.69", "2620.10")]
    return [PayPalLine(day + timedelta(days=n), currency, D(net), D(balance))
            for n, (currency, net, balance) in enumerate(rows)]


def test_interleaved_currencies_are_followed_each_on_its_own(c: FakeContainer, world: World):
    imp, _ = _paypal(world, _interleaved(), world.account(currency="USD"))
    assert _figures(imp) == [(1, "USD", D("0.00"), D("2620.10"), 6, D("2620.10"), False, []),
                             (2, "EUR", D("0.00"), D("43.34"), 3, D("43.34"), True, []),
                             (3, "AUD", D("0.00"), D("0.00"), 2, D("0.00"), True, [])]


def test_a_break_within_one_currency_is_named_at_its_line(c: FakeContainer, world: World):
    imp, _ = _paypal(world, _interleaved(wrong=True), world.account(currency="USD"))
    usd, eur, aud = imp.statements
    (check,) = usd.checks
    assert (check.code, check.line_number, check.expected, check.computed) == (
        "BalanceMismatch", 6, D("1532.41"), D("1532.42"))
    assert eur.checks == aud.checks == []
    (warning,) = [d for d in imp.error_details if d.code == "BalanceMismatch"]
    assert warning.line_number == 6 and "statement 1 of bank account" in warning.message


def test_a_line_naming_no_currency_follows_the_line_before_it(c: FakeContainer, world: World):
    """On an account without a currency the file's empty cell leaves a line's currency unknown: it runs on in the
    balance of the line before it (the first lines, in the first currency named)."""
    day = date(2024, 5, 2)
    lines = [PayPalLine(day, "", D("1.00"), D("1.00")), PayPalLine(day, "USD", D("2.00"), D("3.00")),
             PayPalLine(day, "EUR", D("5.00"), D("5.00")), PayPalLine(day, "", D("1.00"), D("6.00")),
             PayPalLine(day, "USD", D("-1.00"), D("2.00"))]
    imp, _ = _paypal(world, lines, world.account())
    assert _figures(imp) == [(1, "USD", D("0.00"), D("2.00"), 3, D("2.00"), False, []),
                             (2, "EUR", D("0.00"), D("6.00"), 2, D("6.00"), True, [])]


def test_another_currencys_statement_never_enters_the_history_nor_anchors_the_balance(c: FakeContainer,
                                                                                    world: World):
    """The history, and the ledger's balance anchored on it, are in the account's currency: a statement of the
    file's EUR lines (ending after the USD ones) is checked on its own figures, never against the history."""
    account = world.account(currency="USD")
    later = date(2016, 2, 1)
    content = paypal_csv([*_interleaved(), PayPalLine(later, "EUR", D("-10.00"), D("33.34"))])
    imp = world.completed(content, account, file_format="CSV#mapped#v1", mapping=PAYPAL_MAPPING)
    assert [(s.currency, s.foreign, s.end_date) for s in imp.statements] == [
        ("USD", False, date(2016, 1, 14)), ("EUR", True, later), ("AUD", True, date(2016, 1, 10))]
    last = c.statements.history.last(world.tenant, account)
    assert last is not None and (last.currency, last.opening, last.closing, last.closing_date) == (
        "USD", D("0.00"), D("2620.10"), date(2016, 1, 14))
    page = c.ledger_queries.page_with_balances(world.tenant, account, limit=1, cursor=None)
    assert page.balance is not None and page.balance.statement == last
    # the EUR lines the review imported are in the ledger, in EUR, and out of the USD balance
    assert page.balance.amount == D("2620.10")
    (eur,) = [line for line in c.ledger.all(world.tenant, account) if line.date_posted == later]
    assert (eur.currency, eur.amount, eur.foreign_currency) == ("EUR", D("-10.00"), True)
    # the next file: its USD lines follow on; its EUR lines open anywhere, never a gap against the USD history
    following = [PayPalLine(date(2016, 2, 3), "EUR", D("5.00"), D("500.00")),
                 PayPalLine(date(2016, 2, 4), "USD", D("-20.00"), D("2600.10"))]
    nxt, _ = _paypal(world, following, account)
    assert [(s.currency, s.checks) for s in nxt.statements] == [("USD", []), ("EUR", [])]
    c.lifecycle.release(world.get(nxt.id))  # (the next import of the account goes ahead)
    gap, _ = _paypal(world, [following[0], PayPalLine(date(2016, 2, 4), "USD", D("-20.00"), D("2500.10"))], account)
    assert [(s.currency, [ch.code for ch in s.checks]) for s in gap.statements] == [
        ("USD", ["StatementGap"]), ("EUR", [])]


def test_a_statement_whose_account_names_no_currency_is_in_its_stated_balances_currency(c: FakeContainer,
                                                                                      world: World):
    """A camt.053 statement in EUR with an entry in USD first, on an account without a currency: the EUR entries add
    up to its balances, the USD entry is reported apart (it was added to the EUR lines: a BalanceMismatch)."""
    iban = "DE89370400440532013000"
    day = date(2024, 3, 8)
    text = camt053(iban, "S1", D("100.00"), [Entry(day, D("-10.00"), "SHOP", "E1"), Entry(day, D("-5.00"), "CAFE",
                                                                                          "E2")], day=day)
    usd = camt053(iban, "S1", D("0"), [Entry(day, D("250.00"), "USD TRANSFER", "U1")], day=day).replace(
        'Ccy="EUR">250.00', 'Ccy="USD">250.00')
    at = text.index("<Ntry>")
    usd_entry = usd[usd.index("<Ntry>"):usd.index("</Ntry>") + len("</Ntry>")]
    imp, _ = world.processed((text[:at] + usd_entry + text[at:]).encode(), world.account(iban),
                             file_format="CAMT053#v1", bypass_replay_validation=True)
    assert _figures(imp) == [(1, "EUR", D("100.00"), D("85.00"), 2, D("-15.00"), False, []),
                             (2, "USD", None, None, 1, D("250.00"), True, [])]
