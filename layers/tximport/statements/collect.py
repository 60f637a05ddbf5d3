"""Gathers `StatementTotals` while processing streams a file: one open statement per account reference,
closed by the `StatementBalances` event the reader yields after the statement's lines.

Memory is one small aggregate per open statement and the closed statements' totals (a handful per file;
a daily MT940 export for a year is 365 of them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from itertools import groupby
from typing import TypeVar

from tximport import money
from tximport.formats.base import Balance, StatementBalances
from tximport.statements.models import StatementRecord, StatementTotals
from tximport.statements.rules import RunningBalance, RunningState


class _Open:
    __slots__ = ("running", "totals")

    def __init__(self, totals: StatementTotals) -> None:
        self.totals = totals
        self.running = RunningBalance()


class StatementCollector:
    """Per account and statement: count, sum, first/last day, overlap with the account's last confirmed
    statement, the running-balance check, and the balances the file states."""

    def __init__(self, last: dict[str, StatementRecord | None]) -> None:
        self.last = last  # bank account id -> its last confirmed statement
        self._open: dict[str | None, _Open] = {}
        self._count: dict[str, int] = {}
        self.closed: list[StatementTotals] = []
        self._closed_running: list[RunningState] = []  # the closed statements' running balances

    def _statement(self, ref: str | None, account_id: str, currency: str | None) -> _Open:
        found = self._open.get(ref)
        if found is None:
            index = self._count[account_id] = self._count.get(account_id, 0) + 1
            found = self._open[ref] = _Open(StatementTotals(bank_account_id=account_id, account_ref=ref, index=index,
                                                            currency=currency))
        return found

    def line(self, ref: str | None, account_id: str, *, amount: Decimal, day: date, currency: str | None,
             line_number: int, file_amount: Decimal, balance: Decimal | None, duplicate: bool | None) -> None:
        """One booked line of a listed account (`amount` signed as the ledger keeps it; `file_amount` and
        `balance` as the file writes them). `duplicate` None: the line is not staged (outside productDates)."""
        self.lines(ref, account_id, amounts=[amount], days=[day], currency=currency, line_numbers=[line_number],
                   file_amounts=[file_amount], balances=[balance])
        if duplicate is not None:
            self.verdicts(ref, account_id, [(day, duplicate)])

    def lines(self, ref: str | None, account_id: str, *, amounts: list[Decimal], days: list[date],
              currency: str | None, line_numbers: list[int], file_amounts: list[Decimal],
              balances: list[Decimal | None]) -> None:
        """Consecutive booked lines of one account reference, as columns in file order (what `line` takes one
        at a time; `currency` the first they name)."""
        current = self._statement(ref, account_id, currency)
        totals = current.totals
        totals.count += len(amounts)
        moved = sum(amounts, Decimal(0))
        totals.total += moved
        totals.first_line = _least(totals.first_line, min(line_numbers))
        totals.last_line = _most(totals.last_line, max(line_numbers))
        first, last = min(days), max(days)
        if totals.first_day is None or first < totals.first_day:
            totals.first_day, totals.first_day_line = first, line_numbers[days.index(first)]
        if totals.last_day is None or last > totals.last_day:
            totals.last_day, totals.last_day_line = last, line_numbers[days.index(last)]
        totals.currency = totals.currency or currency
        _add_day_sums(totals.day_sums, days, amounts)
        current.running.dated(days[0], days[-1])
        if balances.count(None) == len(balances):  # (counted by identity first: None is None)
            current.running.moved(moved if file_amounts is amounts else sum(file_amounts, Decimal(0)))
            return
        add = current.running.add
        for line_number, file_amount, balance in zip(line_numbers, file_amounts, balances, strict=True):
            add(line_number, file_amount, balance)

    def counts_overlap(self, account_id: str) -> bool:
        """Whether the account's lines need their verdicts (`verdicts`): it has a confirmed statement."""
        return self.last.get(account_id) is not None

    def verdicts(self, ref: str | None, account_id: str, verdicts: list[tuple[date, bool]]) -> None:
        """Whether each of the staged lines just taken (`lines`) is a possible duplicate, by day: the lines
        dated within the account's last confirmed statement count as its overlap."""
        last = self.last.get(account_id)
        if last is None or not verdicts:
            return
        totals = self._open[ref].totals
        for day, duplicate in verdicts:
            if day <= last.end_date:
                totals.add_overlap(day, duplicate)

    def balances(self, event: StatementBalances, account_id: str, *, reversed_sign: bool) -> None:
        """The balances that close the open statement of `event.account_ref`."""
        current = self._statement(event.account_ref, account_id, event.currency)
        self._close(event.account_ref, current, event, reversed_sign)

    def part(self) -> CollectorPart:
        """What this collector gathered over one range of a split file, its open statements left open."""
        return CollectorPart(closed=list(self.closed), closed_running=list(self._closed_running),
                             open=[OpenStatement(ref, o.totals, o.running.state()) for ref, o in self._open.items()])

    def absorb(self, part: CollectorPart) -> None:
        """Continue with what a later range gathered (`part`), exactly as if its lines and balances had come
        here: a statement still open continues in the range's first statement of its account reference,
        and the range's statements are numbered on from this one's."""
        merged = self._numbered(part)
        for totals, running in zip(part.closed, part.closed_running, strict=True):
            earlier = merged.get(id(totals))
            if earlier is not None:
                self._open.pop(totals.account_ref, None)
                _combine(earlier, totals, running)
                totals.running_break = earlier.running.first_break
            self.closed.append(totals)
        for statement in part.open:
            earlier = merged.get(id(statement.totals))
            if earlier is not None:
                _combine(earlier, statement.totals, statement.running)
                earlier.totals = statement.totals
                self._open[statement.ref] = earlier
            else:
                current = self._open[statement.ref] = _Open(statement.totals)
                current.running = RunningBalance.resumed(statement.running)

    def _numbered(self, part: CollectorPart) -> dict[int, _Open]:
        """Number the part's statements on from this collector's (per account, in the order they were
        opened); answers the open statement each continuing one continues (by the part's totals' id)."""
        statements = [(t.bank_account_id, t.index, t) for t in part.closed]
        statements += [(s.totals.bank_account_id, s.totals.index, s.totals) for s in part.open]
        merged: dict[int, _Open] = {}
        seen: set[str | None] = set()
        for account_id, _, totals in sorted(statements, key=lambda x: (x[0], x[1])):
            earlier = self._open.get(totals.account_ref) if totals.account_ref not in seen else None
            seen.add(totals.account_ref)
            if earlier is not None and earlier.totals.bank_account_id == account_id:
                merged[id(totals)] = earlier
                totals.index = earlier.totals.index
            else:
                totals.index = self._count[account_id] = self._count.get(account_id, 0) + 1
        return merged

    def finish(self, *, reversed_accounts: frozenset[str] = frozenset()) -> list[StatementTotals]:
        """Every statement, in the order they closed (statements without stated balances last)."""
        for ref, current in list(self._open.items()):
            self._close(ref, current, None, current.totals.bank_account_id in reversed_accounts)
        return self.closed

    def _close(self, ref: str | None, current: _Open, event: StatementBalances | None, reversed_sign: bool) -> None:
        self._open.pop(ref, None)
        totals = current.totals
        running = current.running
        totals.running_break = running.first_break
        if event is None:  # a balance column states them line by line
            event = running.stated(ref, totals.currency, oldest=totals.first_day, newest=totals.last_day)
        if event is not None:
            totals.currency = totals.currency or event.currency
            event = _fitting(event, totals.currency)
        if event is not None and reversed_sign:
            event = _flipped(event)
        totals.balances = event
        closing_day = event.closing.day if event is not None and event.closing is not None else None
        if closing_day is not None and totals.last_day is not None and totals.last_day > closing_day:
            totals.after_closing = sum((v for d, v in totals.day_sums.items() if d > closing_day), Decimal(0))
        totals.day_sums = {}
        if event is not None or totals.count:
            self.closed.append(totals)
            self._closed_running.append(running.state())


def _combine(earlier: _Open, later: StatementTotals, running: RunningState) -> None:
    """`later` (a range's part of a statement) becomes the whole statement: `earlier`'s lines first."""
    first = earlier.totals
    later.count += first.count
    later.total = first.total + later.total
    if first.first_day is not None and (later.first_day is None or first.first_day <= later.first_day):
        later.first_day, later.first_day_line = first.first_day, first.first_day_line
    if first.last_day is not None and (later.last_day is None or first.last_day >= later.last_day):
        later.last_day, later.last_day_line = first.last_day, first.last_day_line
    later.first_line = _least(first.first_line, later.first_line)
    later.last_line = _most(first.last_line, later.last_line)
    later.currency = first.currency or later.currency
    later.day_sums = _merged_sums(first.day_sums, later.day_sums)
    later.overlap_new += first.overlap_new
    later.overlap_duplicates += first.overlap_duplicates
    later.overlap_first_day = _least(first.overlap_first_day, later.overlap_first_day)
    later.overlap_last_day = _most(first.overlap_last_day, later.overlap_last_day)
    earlier.running.then(running)


#: the days before a statement's latest whose line sums it keeps (its lines dated after its closing balance's day
#: are its latest: forward value days, a few weeks at most)
RECENT_DAYS = 92


def _add_day_sums(sums: dict[date, Decimal], days: list[date], amounts: list[Decimal]) -> None:
    """Add the lines' amounts to their days' sums, a run of one day at a time (files list their lines by day);
    the days long before the latest are dropped."""
    start = 0
    for day, run in groupby(days):
        end = start + len(list(run))
        sums[day] = sums.get(day, Decimal(0)) + sum(amounts[start:end], Decimal(0))
        start = end
    if len(sums) > RECENT_DAYS:
        newest = max(sums)
        for day in [d for d in sums if (newest - d).days > RECENT_DAYS]:
            del sums[day]


def _merged_sums(first: dict[date, Decimal], later: dict[date, Decimal]) -> dict[date, Decimal]:
    merged = dict(first)
    for day, total in later.items():
        merged[day] = merged.get(day, Decimal(0)) + total
    return merged


_Ordered = TypeVar("_Ordered", date, int)


def _least(a: _Ordered | None, b: _Ordered | None) -> _Ordered | None:
    return b if a is None else a if b is None else min(a, b)


def _most(a: _Ordered | None, b: _Ordered | None) -> _Ordered | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass(slots=True)
class OpenStatement:
    """A statement a range left open: its account reference, totals and running balance."""

    ref: str | None
    totals: StatementTotals
    running: RunningState


@dataclass(slots=True)
class CollectorPart:
    """What a collector gathered over one range of a split file (see `StatementCollector.part`)."""

    closed: list[StatementTotals]
    closed_running: list[RunningState]
    open: list[OpenStatement]


def _fitting(event: StatementBalances, currency: str | None) -> StatementBalances:
    """`event` without the balances finer than `currency` (`100.005` EUR): left out, as a balance that does not
    read, since the report gives each as an integer of minor units that must be exact."""
    def fits(balance: Balance | None) -> Balance | None:
        return balance if balance is None or money.fits(balance.amount, currency) else None

    opening, closing, available = fits(event.opening), fits(event.closing), fits(event.available)
    if (opening, closing, available) == (event.opening, event.closing, event.available):
        return event
    return replace(event, opening=opening, closing=closing, available=available)


def _flip(balance: Balance | None) -> Balance | None:
    return Balance(-balance.amount, balance.day) if balance else None


def _flipped(event: StatementBalances) -> StatementBalances:
    """`event` in the ledger's sign when the account reverses the file's signs (a card statement)."""
    return replace(event, opening=_flip(event.opening), closing=_flip(event.closing), available=_flip(event.available))
