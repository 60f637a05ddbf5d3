"""The statement rules, pure: arithmetic, running balance, continuity, overlap."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tximport.formats.base import Balance, StatementBalances
from tximport.statements.collect import StatementCollector
from tximport.statements.models import StatementRecord, StatementTotals
from tximport.statements.rules import RunningBalance, assess, to_minor

D = Decimal


def _totals(opening: str | None, closing: str | None, amounts: list[str], *, start: date = date(2024, 2, 1),
            end: date = date(2024, 2, 29), currency: str = "EUR") -> StatementTotals:
    totals = StatementTotals(bank_account_id="A1", account_ref="NL01", index=1, currency=currency)
    for n, amount in enumerate(amounts):
        totals.add(D(amount), date(start.year, start.month, min(start.day + n, 28)))
    totals.balances = StatementBalances(
        account_ref="NL01", currency=currency, statement_id="S-2",
        opening=Balance(D(opening), start) if opening is not None else None,
        closing=Balance(D(closing), end) if closing is not None else None, period_start=start, period_end=end)
    return totals


def _record(closing: str, end: date, import_id: str = "IMP-1") -> StatementRecord:
    return StatementRecord(bank_account_id="A1", import_id=import_id, index=1, closing=D(closing), closing_date=end,
                           start_date=date(end.year, end.month, 1), end_date=end)


def _codes(report) -> list[str]:
    return [c.code for c in report.checks]


def test_a_statement_that_adds_up_has_no_checks():
    report = assess(_totals("100.00", "70.50", ["-50.00", "20.50"]), None)
    assert report.checks == []
    assert report.computed_closing == D("70.50")
    assert (report.line_count, report.line_sum) == (2, D("-29.50"))


def test_a_wrong_closing_is_a_balance_mismatch_with_expected_computed_and_difference():
    report = assess(_totals("100.00", "70.00", ["-50.00", "20.50"]), None)
    (check,) = report.checks
    assert check.code == "BalanceMismatch"
    assert (check.expected, check.computed, check.difference) == (D("70.00"), D("70.50"), D("0.50"))


def test_the_check_is_to_the_currencys_minor_unit():
    assert to_minor(D("1.005"), "EUR") == D("1.00")  # half-even
    assert to_minor(D("1.0005"), "BHD") == D("1.000")
    assert assess(_totals("100", "70", ["-30"], currency="JPY"), None).checks == []
    (check,) = assess(_totals("100", "71", ["-30"], currency="JPY"), None).checks
    assert check.difference == D("-1")


def test_the_next_statement_opening_at_the_last_closing_continues():
    last = _record("100.00", date(2024, 1, 31))
    assert assess(_totals("100.00", "70.00", ["-30.00"]), last).checks == []


def test_a_missing_statement_is_a_gap_with_its_days_and_amount():
    last = _record("100.00", date(2023, 12, 31))
    (check,) = assess(_totals("80.00", "50.00", ["-30.00"]), last).checks
    assert check.code == "StatementGap"
    assert (check.expected, check.computed, check.difference) == (D("100.00"), D("80.00"), D("-20.00"))
    assert (check.start_date, check.end_date) == (date(2024, 1, 1), date(2024, 1, 31))
    assert check.previous_import_id == "IMP-1"


def test_statements_that_do_not_join_with_no_day_between_them_name_no_days():
    """The next day's statement opening at another amount: no day is uncovered, so the gap names none (it named
    the day after the last statement as its first, and no last)."""
    last = _record("100.00", date(2024, 1, 31))
    (check,) = assess(_totals("80.00", "50.00", ["-30.00"]), last).checks
    assert (check.code, check.difference) == ("StatementGap", D("-20.00"))
    assert (check.start_date, check.end_date) == (None, None)
    assert "no day lies between them, -20.00 apart" in check.message


def test_a_statement_without_an_opening_starts_from_closing_minus_its_lines():
    last = _record("100.00", date(2024, 1, 31))
    assert assess(_totals(None, "70.00", ["-30.00"]), last).checks == []
    (check,) = assess(_totals(None, "60.00", ["-30.00"]), last).checks
    assert check.code == "StatementGap" and check.difference == D("-10.00")


def test_an_overlap_beyond_duplicates_is_flagged_and_duplicates_alone_are_not():
    last = _record("100.00", date(2024, 2, 15))
    only_duplicates = _totals("40.00", "10.00", ["-30.00"])
    only_duplicates.add_overlap(date(2024, 2, 3), duplicate=True)
    assert assess(only_duplicates, last).checks == []
    overlapping = _totals("40.00", "10.00", ["-30.00"])
    overlapping.add_overlap(date(2024, 2, 3), duplicate=True)
    overlapping.add_overlap(date(2024, 2, 5), duplicate=False)
    (check,) = assess(overlapping, last).checks
    assert check.code == "StatementOverlap"
    assert (check.line_count, check.start_date, check.end_date) == (1, date(2024, 2, 5), date(2024, 2, 5))


def test_running_balance_oldest_first_names_the_first_broken_line():
    running = RunningBalance()
    for line, amount, balance in [(2, "-10", "90"), (3, "5", "95"), (4, "-1", "93"), (5, "1", "94")]:
        running.add(line, D(amount), D(balance))
    brk = running.first_break
    assert brk is not None and (brk.line_number, brk.expected, brk.stated) == (4, D("94"), D("93"))


def test_running_balance_newest_first_holds_and_states_opening_and_closing():
    running = RunningBalance()
    for line, amount, balance in [(2, "1", "94"), (3, "-1", "93"), (4, "5", "94"), (5, "-10", "89")]:
        running.add(line, D(amount), D(balance))
    assert running.first_break is None
    stated = running.stated("X", "EUR")
    assert stated is not None and stated.opening is not None and stated.closing is not None
    assert (stated.opening.amount, stated.closing.amount) == (D("99"), D("94"))


def _followed(lines: list[tuple[int, str, str | None]], *, newest_first: bool = False) -> RunningBalance:
    """The lines taken one by one, each dated by its line number (days descend where line numbers do), or newest
    first by their place in the file."""
    running = RunningBalance()
    for at, (line, amount, balance) in enumerate(lines):
        day = date(2024, 1, 1) + timedelta(days=len(lines) - at if newest_first else line)
        running.dated(day, day)
        running.add(line, D(amount), D(balance) if balance is not None else None)
    return running


def _opening_closing(running: RunningBalance) -> tuple[Decimal, Decimal]:
    stated = running.stated("X", "EUR")
    assert stated is not None and stated.opening is not None and stated.closing is not None
    return stated.opening.amount, stated.closing.amount


def test_a_line_without_a_balance_still_moves_money_oldest_first():
    """Empty balance cells: the lines still move the balance, before the first stated one, between two, after
    the last (opening 100, closing 107; the column holds)."""
    running = _followed([(2, "-10", None), (3, "-5", "85"), (4, "-3", None), (5, "20", "102"), (6, "5", None)])
    assert running.first_break is None
    assert _opening_closing(running) == (D("100"), D("107"))


def test_a_line_without_a_balance_still_moves_money_newest_first():
    running = _followed([(2, "5", None), (3, "20", "102"), (4, "-3", None), (5, "-5", "85"), (6, "-10", None)],
                        newest_first=True)
    assert running.first_break is None
    assert _opening_closing(running) == (D("100"), D("107"))


def test_with_one_stated_balance_the_days_say_which_line_is_the_newest():
    oldest_first = [(2, "-10", None), (3, "-5", "85"), (4, "20", None)]
    assert _opening_closing(_followed(oldest_first)) == (D("100"), D("105"))
    newest_first = [(4, "20", None), (3, "-5", "85"), (2, "-10", None)]  # (dated by line number: days descend)
    assert _opening_closing(_followed(newest_first)) == (D("100"), D("105"))


def test_a_break_after_lines_without_a_balance_is_named_at_its_line():
    running = _followed([(2, "-10", "90"), (3, "-5", None), (4, "-1", None), (5, "20", "105"), (6, "1", "106")])
    brk = running.first_break
    assert brk is not None and (brk.line_number, brk.expected, brk.stated) == (5, D("104"), D("105"))


def test_a_running_balance_resumed_across_any_cut_follows_as_one():
    """A split file hands each range's running balance to the next: cut anywhere (between lines without a
    balance too), the result is the one of the lines taken in one run."""
    rng = random.Random(7)
    for _ in range(200):
        balance, lines = D("50"), []
        for n in range(rng.randint(0, 9)):
            amount = D(rng.randint(-9, 9))
            balance += amount + (1 if rng.random() < 0.05 else 0)
            lines.append((n + 2, str(amount), str(balance) if rng.random() < 0.6 else None))
        if rng.random() < 0.5:
            lines.reverse()
        whole = _followed(lines)
        for cut in range(len(lines) + 1):
            first, later = _followed(lines[:cut]), _followed(lines[cut:])
            joined = RunningBalance.resumed(first.state())
            joined.then(later.state())
            assert (joined.first_break, joined.stated("X", "EUR")) == (whole.first_break, whole.stated("X", "EUR"))


def test_collector_carries_a_block_without_balances_into_the_running_balance():
    collector = StatementCollector({"A1": None})
    day = date(2024, 1, 2)
    collector.lines("R", "A1", amounts=[D("-10"), D("-5")], days=[day, day], currencies=["EUR", "EUR"],
                    line_numbers=[2, 3], file_amounts=[D("-10"), D("-5")], balances=[None, None])
    collector.lines("R", "A1", amounts=[D("-3"), D("20")], days=[day, day], currencies=["EUR", "EUR"],
                    line_numbers=[4, 5], file_amounts=[D("-3"), D("20")], balances=[D("82"), None])
    (totals,) = collector.finish()
    report = assess(totals, None)
    assert report.checks == [] and (report.opening, report.closing) == (D("100"), D("102"))


def test_collector_takes_a_blocks_line_numbers_and_day_span_as_given():
    """A block hands its lines over with their numbers as a range and their first and last day known: the statement
    is the one its lines give as lists (first and last line, the lines of its first and last day)."""
    days = [date(2024, 1, 2), date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 5), date(2024, 1, 5)]
    amounts = [D("-10"), D("2.50"), D("7"), D("-1.25"), D("3")]

    def collected(numbers: Sequence[int], span: tuple[date, date] | None) -> StatementTotals:
        collector = StatementCollector({"A1": None})
        collector.lines("R", "A1", amounts=amounts, days=days, currencies=["EUR"] * 5, line_numbers=numbers,
                        file_amounts=amounts, balances=[None] * 5, span=span)
        (totals,) = collector.finish()
        return totals

    given = collected(range(7, 12), (date(2024, 1, 2), date(2024, 1, 5)))
    assert given == collected(list(range(7, 12)), None)
    assert (given.first_line, given.last_line, given.first_day_line, given.last_day_line) == (7, 11, 7, 10)


def test_collector_answers_the_sum_of_the_lines_of_one_currency_it_takes():
    """The sum it adds to its statement's (the report's counters take it instead of adding the lines again); lines
    of several currencies go to one bucket each, and no one sum is theirs."""
    collector = StatementCollector({"A1": None})
    day = date(2024, 1, 2)
    taken = collector.lines("R", "A1", amounts=[D("-10.50"), D("2.5"), D("7")], days=[day, day, day],
                            currencies=["EUR"] * 3, line_numbers=[2, 3, 4], file_amounts=[D("-10.50"), D("2.5"),
                            D("7")], balances=[None] * 3)
    assert taken is not None and str(taken) == "-1.00"
    assert collector.lines("R", "A1", amounts=[D("1"), D("2")], days=[day, day], currencies=["EUR", "USD"],
                           line_numbers=[5, 6], file_amounts=[D("1"), D("2")], balances=[None, None]) is None


def test_collector_closes_statements_by_their_balances_and_flips_a_reversed_account():
    collector = StatementCollector({"A1": None})
    collector.line("R", "A1", amount=D("-5"), day=date(2024, 1, 2), currency="EUR", line_number=3,
                   file_amount=D("5"), balance=None, duplicate=False)
    collector.balances(StatementBalances("R", "EUR", opening=Balance(D("10")), closing=Balance(D("15"))), "A1",
                       reversed_sign=True)
    collector.line("R", "A1", amount=D("-1"), day=date(2024, 1, 3), currency="EUR", line_number=9,
                   file_amount=D("1"), balance=None, duplicate=False)
    (first, second) = collector.finish()
    assert first.balances is not None and first.balances.closing == Balance(D("-15"))
    assert assess(first, None).checks == []
    assert (second.index, second.count, second.balances) == (2, 1, None)


def test_lines_within_the_last_statement_are_counted_as_overlap():
    last = _record("1", date(2024, 1, 31))
    collector = StatementCollector({"A1": last})
    for day, duplicate in [(date(2024, 1, 30), True), (date(2024, 1, 31), False), (date(2024, 2, 1), False)]:
        collector.line(None, "A1", amount=D("1"), day=day, currency="EUR", line_number=1, file_amount=D("1"),
                       balance=None, duplicate=duplicate)
    (totals,) = collector.finish()
    assert (totals.overlap_new, totals.overlap_duplicates) == (1, 1)


def test_a_stated_balance_finer_than_its_currency_is_left_out():
    """Its integer of minor units would not be exact (`closingBalance: 8500` beside `"85.005"`): left out, as a
    balance that does not read."""
    collector = StatementCollector({"A1": None})
    collector.line("R", "A1", amount=D("-5"), day=date(2024, 1, 2), currency="EUR", line_number=3,
                   file_amount=D("-5"), balance=None, duplicate=False)
    collector.balances(StatementBalances("R", "EUR", opening=Balance(D("90.005")), closing=Balance(D("85.00")),
                                         available=Balance(D("1.5"))), "A1", reversed_sign=False)
    (totals,) = collector.finish()
    assert totals.balances is not None
    assert (totals.balances.opening, totals.balances.closing, totals.balances.available) == (
        None, Balance(D("85.00")), Balance(D("1.5")))


def test_newest_first_a_wrong_balance_on_the_newest_line_is_named_there_and_the_ends_hold():
    """Newest first, the newest line's balance 0.01 off: both readings break at once, the newest-first one holds
    from the oldest line up to it, so it decides: opening 1000.00, closing as stated, the break at that line (the
    oldest-first reading decided, giving a wrong opening and closing, and named the line after it)."""
    running = _followed([(2, "-10.00", "979.99"), (3, "5.00", "990.00"), (4, "-20.00", "985.00"),
                         (5, "5.00", "1005.00")], newest_first=True)
    brk = running.first_break
    assert brk is not None and (brk.line_number, brk.expected, brk.stated) == (2, D("980.00"), D("979.99"))
    assert _opening_closing(running) == (D("1000.00"), D("979.99"))


def test_a_wrong_balance_on_the_oldest_line_is_named_at_the_line_after_it_in_either_order():
    oldest_first = _followed([(2, "5.00", "1005.01"), (3, "-20.00", "985.00"), (4, "5.00", "990.00")])
    newest_first = _followed([(2, "5.00", "990.00"), (3, "-20.00", "985.00"), (4, "5.00", "1005.01")],
                             newest_first=True)
    for running, line in ((oldest_first, 3), (newest_first, 3)):
        brk = running.first_break
        assert brk is not None and (brk.line_number, brk.expected, brk.stated) == (line, D("985.01"), D("985.00"))
        assert _opening_closing(running) == (D("1000.01"), D("990.00"))


def test_a_wrong_balance_beside_an_empty_cell_does_not_turn_the_file():
    """Oldest first, line 3's balance 0.01 off and a later cell empty: the newest-first reading broke at every pair
    and seemed to hold longest across the empty cell; the days say oldest first (qa38b)."""
    running = _followed([(2, "10.00", "110.00"), (3, "-5.00", "104.99"), (4, "-1.00", "104.00"), (5, "2.00", None),
                         (6, "3.00", "109.00")])
    brk = running.first_break
    assert brk is not None and (brk.line_number, brk.expected, brk.stated) == (3, D("105.00"), D("104.99"))
    assert _opening_closing(running) == (D("100.00"), D("109.00"))
    newest = _followed([(2, "-74.93", "1112.11"), (3, "-28.90", None), (4, "98.70", None),
                        (5, "-362.41", "1117.24"), (6, "-132.02", "1479.66"), (7, "377.11", "1611.67")],
                       newest_first=True)
    brk = newest.first_break
    assert brk is not None and (brk.line_number, brk.expected, brk.stated) == (6, D("1479.65"), D("1479.66"))
    assert _opening_closing(newest) == (D("1234.56"), D("1112.11"))


def test_on_one_day_the_reading_that_held_longest_decides():
    running = RunningBalance()
    for line, amount, balance in [(2, "-10.00", "979.99"), (3, "5.00", "990.00"), (4, "-20.00", "985.00"),
                                  (5, "5.00", "1005.00")]:
        running.dated(date(2024, 3, 1), date(2024, 3, 1))
        running.add(line, D(amount), D(balance))
    brk = running.first_break
    assert brk is not None and brk.line_number == 2
    assert _opening_closing(running) == (D("1000.00"), D("979.99"))


def test_a_reading_that_holds_throughout_decides_whatever_the_days():
    """Days that run against a column that holds throughout in one reading (a bank's own order within its days):
    the reading that holds decides, and no break is reported."""
    running = _followed([(2, "1", "94"), (3, "-1", "93"), (4, "5", "94"), (5, "-10", "89")])  # days ascend
    assert running.first_break is None
    assert _opening_closing(running) == (D("99"), D("94"))


def test_on_one_day_a_wrong_oldest_balance_does_not_turn_a_newest_first_file():
    """All on one day, newest first, the oldest line's balance off: newest first, two of the three pairs follow,
    oldest first none; that reading decides (both broke at once, and the file was read oldest first; qa38c)."""
    running = RunningBalance()
    for line, amount, balance in [(2, "2.00", "106.00"), (3, "-1.00", "104.00"), (4, "-5.00", "105.00"),
                                  (5, "10.00", "111.00")]:
        running.dated(date(2024, 3, 5), date(2024, 3, 5))
        running.add(line, D(amount), D(balance))
    brk = running.first_break
    assert brk is not None and (brk.line_number, brk.expected, brk.stated) == (4, D("106.00"), D("105.00"))
    assert _opening_closing(running) == (D("101.00"), D("106.00"))


def _dated(days: list[date], *, period: tuple[date | None, date | None] = (None, None), closing_day: date | None,
           parts: int = 1) -> StatementTotals:
    """A statement of one line a day (lines 10, 11, ...), collected in `parts` ranges as a split file is."""
    collectors = [StatementCollector({"A1": None}) for _ in range(parts)]
    size = -(-len(days) // parts)
    for n, day in enumerate(days):
        collectors[n // size].line("R", "A1", amount=D("1"), day=day, currency="EUR", line_number=10 + n,
                                   file_amount=D("1"), balance=None, duplicate=False)
    collectors[-1].balances(StatementBalances(
        "R", "EUR", opening=Balance(D("0"), date(2031, 1, 1)), closing=Balance(D(len(days)), closing_day),
        period_start=period[0], period_end=period[1]), "A1", reversed_sign=False)
    first = collectors[0]
    for later in collectors[1:]:
        first.absorb(later.part())
    (totals,) = first.finish()
    return totals


@pytest.mark.parametrize("parts", [1, 2, 3])
def test_a_line_dated_well_after_the_closing_day_is_named_at_its_line(parts: int):
    """A day and month written the wrong way round (2013-02-01 for 2013-01-02) in an MT940 statement closing on
    2013-01-08: the first line with the latest day is named, however the file was split."""
    days = [date(2013, 1, 2), date(2013, 2, 1), date(2013, 1, 5), date(2013, 2, 1), date(2013, 1, 8)]
    (check,) = assess(_dated(days, closing_day=date(2013, 1, 8), parts=parts), None).checks
    assert (check.code, check.line_number, check.start_date, check.end_date) == (
        "DateOutsideStatement", 11, None, date(2013, 1, 8))
    assert "line 11 is dated 2013-02-01, 24 days after the statement's end (2013-01-08)" in check.message


@pytest.mark.parametrize("parts", [1, 2])
def test_a_line_dated_well_before_the_stated_period_is_named_at_its_line(parts: int):
    days = [date(2014, 1, 5), date(2014, 1, 6), date(2013, 5, 1), date(2013, 5, 1)]
    period = (date(2014, 1, 5), date(2014, 1, 31))
    (check,) = assess(_dated(days, period=period, closing_day=date(2014, 1, 31), parts=parts), None).checks
    assert (check.code, check.line_number, check.start_date, check.end_date) == (
        "DateOutsideStatement", 12, *period)
    assert "dated 2013-05-01, 249 days before the statement's start (2014-01-05)" in check.message


def test_both_ends_outside_are_each_named():
    days = [date(2014, 3, 1), date(2014, 1, 20), date(2013, 12, 1)]
    period = (date(2014, 1, 1), date(2014, 1, 31))
    checks = assess(_dated(days, period=period, closing_day=None), None).checks
    assert [(c.code, c.line_number) for c in checks] == [("DateOutsideStatement", 12), ("DateOutsideStatement", 10)]


def test_value_dates_days_outside_an_opening_dated_later_and_a_one_day_period_are_not_named():
    """A value date standing in for the booking day may fall two weeks around the period (a cheque valued ten days
    on, in a real MT940); an MT940 opening's day is not the period's start (PostFinance writes the file's day there:
    2031-01-01 in `_dated`); nor is an OFX DTSTART equal to its DTEND (the download's moment, in a real Amex file)."""
    days = [date(2024, 1, 1), date(2024, 2, 14)]
    assert assess(_dated(days, period=(date(2024, 1, 15), date(2024, 1, 31)), closing_day=None), None).checks == []
    assert assess(_dated(days, closing_day=date(2024, 1, 31)), None).checks == []
    assert assess(_dated([date(2024, 2, 15)], closing_day=date(2024, 1, 31)), None).checks[0].line_number == 10
    download = (date(2024, 3, 12), date(2024, 3, 12))
    assert assess(_dated([date(2024, 1, 24)], period=download, closing_day=None), None).checks == []


def test_a_statement_without_a_stated_end_or_balances_is_not_checked_for_dates():
    days = [date(2024, 1, 1), date(2025, 2, 7)]
    assert assess(_dated(days, closing_day=None), None).checks == []
    collector = StatementCollector({"A1": None})
    for n, day in enumerate(days):
        collector.line("R", "A1", amount=D("1"), day=day, currency="EUR", line_number=n, file_amount=D("1"),
                       balance=None, duplicate=False)
    (totals,) = collector.finish()
    assert assess(totals, None).checks == []
