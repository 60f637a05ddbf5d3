"""Gathers `StatementTotals` while processing streams a file: one open statement per account reference,
closed by the `StatementBalances` event the reader yields after the statement's lines. A statement keeps its
lines by currency (a PayPal export's one balance column runs per currency); `finish` settles each as its own
currency's statement and one of each other currency (`StatementTotals.foreign`).

Memory is one small aggregate per currency of an open statement and the closed statements' totals (a handful
per file; a daily MT940 export for a year is 365 of them), each with the sums of its last days until `finish`.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    """The lines of one statement in one currency: their totals and running balance."""

    __slots__ = ("running", "totals")

    def __init__(self, totals: StatementTotals, running: RunningBalance | None = None) -> None:
        self.totals = totals
        self.running = running if running is not None else RunningBalance()


class _Statement:
    """An open statement of one account reference: its lines by currency (`buckets`, in the order the lines name
    them). A line naming no currency follows the line before it (`last`: the currency of the last line taken);
    those before any line named one are kept under None, until the statement is settled (`_settled`)."""

    __slots__ = ("account_id", "buckets", "index", "last")

    def __init__(self, account_id: str, index: int, last: str | None = None) -> None:
        self.account_id = account_id
        self.index = index
        self.buckets: dict[str | None, _Open] = {}
        self.last = last

    def bucket(self, ref: str | None, currency: str | None) -> _Open:
        found = self.buckets.get(currency)
        if found is None:
            found = self.buckets[currency] = _Open(StatementTotals(
                bank_account_id=self.account_id, account_ref=ref, index=self.index, currency=currency))
        return found

    def gathered(self, ref: str | None, balances: StatementBalances | None = None, reversed_sign: bool = False
                 ) -> Gathered:
        return Gathered(ref, self.account_id, self.index, self.last,
                        [CurrencyLines(o.totals, o.running.state()) for o in self.buckets.values()],
                        balances, reversed_sign)

    @classmethod
    def resumed(cls, gathered: Gathered) -> _Statement:
        found = cls(gathered.bank_account_id, gathered.index, gathered.last)
        for item in gathered.lines:
            found.buckets[item.totals.currency] = _Open(item.totals, RunningBalance.resumed(item.running))
        return found

    def join(self, later: Gathered) -> None:
        """Continue with the lines `later` (a later range's part of this statement) took: each currency's after
        this one's, the lines naming none before any named one after this one's last line."""
        for item in later.lines:
            currency = item.totals.currency if item.totals.currency is not None else self.last
            earlier = self.buckets.get(currency)
            if earlier is None:
                self.buckets[currency] = _Open(item.totals, RunningBalance.resumed(item.running))
            else:
                _combine(earlier, item.totals, item.running)
                earlier.totals = item.totals
        if later.last is not None:
            self.last = later.last


class StatementCollector:
    """Per account and statement: count, sum, first/last day, overlap with the account's last confirmed
    statement, the running-balance check, and the balances the file states. A statement whose lines name
    several currencies is settled at the end (`finish`) as one statement of its own currency (`_own`) and one
    of each other currency (`StatementTotals.foreign`), each with its own sums and running balance."""

    def __init__(self, last: dict[str, StatementRecord | None], currencies: dict[str, str | None] | None = None
                 ) -> None:
        self.last = last  # bank account id -> its last confirmed statement
        self.currencies = currencies or {}  # bank account id -> its currency
        self._open: dict[str | None, _Statement] = {}
        self._count: dict[str, int] = {}
        self.closed: list[Gathered] = []
        #: the currency buckets the last `lines` took lines into: one, or each line's by its number
        self._taken: _Open | dict[int, _Open] | None = None

    def _statement(self, ref: str | None, account_id: str) -> _Statement:
        found = self._open.get(ref)
        if found is None:
            index = self._count[account_id] = self._count.get(account_id, 0) + 1
            found = self._open[ref] = _Statement(account_id, index)
        return found

    def line(self, ref: str | None, account_id: str, *, amount: Decimal, day: date, currency: str | None,
             line_number: int, file_amount: Decimal, balance: Decimal | None, duplicate: bool | None) -> None:
        """One booked line of a listed account (`amount` signed as the ledger keeps it; `file_amount` and
        `balance` as the file writes them). `duplicate` None: the line is not staged (outside productDates)."""
        self.lines(ref, account_id, amounts=[amount], days=[day], currencies=[currency], line_numbers=[line_number],
                   file_amounts=[file_amount], balances=[balance])
        if duplicate is not None:
            self.verdicts(ref, account_id, [(line_number, day, duplicate)])

    def lines(self, ref: str | None, account_id: str, *, amounts: list[Decimal], days: list[date],
              currencies: list[str | None], line_numbers: Sequence[int], file_amounts: list[Decimal],
              balances: list[Decimal | None], span: tuple[date, date] | None = None) -> Decimal | None:
        """Consecutive booked lines of one account reference, as columns in file order (what `line` takes one
        at a time; `currencies`: each line's, None where none is known; `span`: the first and last of `days`,
        where known). Answers the sum of `amounts` where they are of one currency (None: of several)."""
        statement = self._statement(ref, account_id)
        first = currencies[0]
        if currencies.count(first) == len(currencies):  # the common call: one currency
            if first is not None:
                statement.last = first
            bucket = self._taken = statement.bucket(ref, statement.last)
            return _take(bucket, amounts, days, line_numbers, file_amounts, balances, span)
        keys: list[str | None] = []
        last = statement.last
        for currency in currencies:
            last = currency if currency is not None else last
            keys.append(last)
        statement.last = last
        taken: dict[int, _Open] = {}
        for key in dict.fromkeys(keys):
            at = [i for i, k in enumerate(keys) if k == key]
            bucket = statement.bucket(ref, key)
            numbers = [line_numbers[i] for i in at]
            taken.update(dict.fromkeys(numbers, bucket))
            _take(bucket, [amounts[i] for i in at], [days[i] for i in at], numbers, [file_amounts[i] for i in at],
                  [balances[i] for i in at])
        self._taken = taken
        return None

    def counts_overlap(self, account_id: str) -> bool:
        """Whether the account's lines need their verdicts (`verdicts`): it has a confirmed statement."""
        return self.last.get(account_id) is not None

    def verdicts(self, ref: str | None, account_id: str, verdicts: list[tuple[int, date, bool]]) -> None:
        """Whether each of the staged lines just taken (`lines`) is a possible duplicate, by line number and day:
        the lines dated within the account's last confirmed statement count as its overlap."""
        last = self.last.get(account_id)
        taken = self._taken
        if last is None or not verdicts or taken is None:
            return
        for line_number, day, duplicate in verdicts:
            if day <= last.end_date:
                bucket = taken if isinstance(taken, _Open) else taken[line_number]
                bucket.totals.add_overlap(day, duplicate)

    def balances(self, event: StatementBalances, account_id: str, *, reversed_sign: bool) -> None:
        """The balances that close the open statement of `event.account_ref`."""
        statement = self._statement(event.account_ref, account_id)
        if not statement.buckets:  # a statement without lines
            statement.bucket(event.account_ref, event.currency)
        self._close(event.account_ref, statement, event, reversed_sign)

    def part(self) -> CollectorPart:
        """What this collector gathered over one range of a split file, its open statements left open."""
        return CollectorPart(closed=list(self.closed),
                             open=[s.gathered(ref) for ref, s in self._open.items()])

    def absorb(self, part: CollectorPart) -> None:
        """Continue with what a later range gathered (`part`), exactly as if its lines and balances had come
        here: a statement still open continues in the range's first statement of its account reference,
        and the range's statements are numbered on from this one's."""
        merged = self._numbered(part)
        for gathered in part.closed:
            earlier = merged.get(id(gathered))
            if earlier is not None:
                self._open.pop(gathered.ref, None)
                earlier.join(gathered)
                gathered = earlier.gathered(gathered.ref, gathered.balances, gathered.reversed_sign)
            self.closed.append(gathered)
        for gathered in part.open:
            earlier = merged.get(id(gathered))
            if earlier is not None:
                earlier.join(gathered)
            else:
                self._open[gathered.ref] = _Statement.resumed(gathered)

    def _numbered(self, part: CollectorPart) -> dict[int, _Statement]:
        """Number the part's statements on from this collector's (per account, in the order they were
        opened); answers the open statement each continuing one continues (by the part's statement's id)."""
        statements = sorted([*part.closed, *part.open], key=lambda g: (g.bank_account_id, g.index))
        merged: dict[int, _Statement] = {}
        seen: set[str | None] = set()
        for gathered in statements:
            account_id = gathered.bank_account_id
            earlier = self._open.get(gathered.ref) if gathered.ref not in seen else None
            seen.add(gathered.ref)
            if earlier is not None and earlier.account_id == account_id:
                merged[id(gathered)] = earlier
                gathered.index = earlier.index
            else:
                gathered.index = self._count[account_id] = self._count.get(account_id, 0) + 1
        return merged

    def finish(self, *, reversed_accounts: frozenset[str] = frozenset()) -> list[StatementTotals]:
        """Every statement, in the order they closed (statements without stated balances last); a statement's
        lines in other currencies than its own follow it, numbered after the account's statements."""
        for ref, statement in list(self._open.items()):
            self._close(ref, statement, None, statement.account_id in reversed_accounts)
        settled: list[StatementTotals] = []
        for gathered in self.closed:
            settled += self._settled(gathered)
        return settled

    def _close(self, ref: str | None, statement: _Statement, event: StatementBalances | None,
               reversed_sign: bool) -> None:
        self._open.pop(ref, None)
        if event is not None or any(b.totals.count for b in statement.buckets.values()):
            self.closed.append(statement.gathered(ref, event, reversed_sign))

    def _settled(self, gathered: Gathered) -> list[StatementTotals]:
        """A closed statement's totals: its own currency's lines with the balances the file states (`balances`),
        then each other currency's lines as a statement of their own, its balances from its running balance."""
        items = list(gathered.lines)
        if len(items) > 1 and items[0].totals.currency is None:  # lines naming no currency before any named one
            lead = _Open(items[0].totals, RunningBalance.resumed(items[0].running))
            _combine(lead, items[1].totals, items[1].running)
            items[1:2] = [CurrencyLines(items[1].totals, lead.running.state())]
            del items[0]
        own = items.pop(self._own(gathered, items))
        own.totals.index = gathered.index
        settled = [_finished(own.totals, own.running, gathered.balances, gathered.reversed_sign)]
        for item in items:
            account_id = gathered.bank_account_id
            item.totals.index = self._count[account_id] = self._count.get(account_id, 0) + 1
            item.totals.foreign = True
            settled.append(_finished(item.totals, item.running, None, gathered.reversed_sign))
        return settled

    def _own(self, gathered: Gathered, items: list[CurrencyLines]) -> int:
        """Which of a statement's currencies is its own: its account's, else its stated balances', where its lines
        name it; else the first its lines name."""
        named = [(item.totals.currency or "").upper() for item in items]
        for currency in (self.currencies.get(gathered.bank_account_id),
                         gathered.balances.currency if gathered.balances else None):
            if currency and currency.upper() in named:
                return named.index(currency.upper())
        return 0


def _take(bucket: _Open, amounts: list[Decimal], days: list[date], line_numbers: Sequence[int],
          file_amounts: list[Decimal], balances: list[Decimal | None], span: tuple[date, date] | None = None
          ) -> Decimal:
    """Count lines of one currency into their bucket (`StatementCollector.lines`; `span`: the first and last of
    `days`, where known); answers the sum of their amounts."""
    totals = bucket.totals
    totals.count += len(amounts)
    moved = _add_day_sums(totals.day_sums, days, amounts)
    totals.total += moved
    if type(line_numbers) is range and line_numbers.step > 0:  # (a block's: in order)
        lowest, highest = line_numbers[0], line_numbers[-1]
    else:
        lowest, highest = min(line_numbers), max(line_numbers)
    totals.first_line = _least(totals.first_line, lowest)
    totals.last_line = _most(totals.last_line, highest)
    first, last = span or (min(days), max(days))
    if totals.first_day is None or first < totals.first_day:
        totals.first_day, totals.first_day_line = first, line_numbers[days.index(first)]
    if totals.last_day is None or last > totals.last_day:
        totals.last_day, totals.last_day_line = last, line_numbers[days.index(last)]
    running = bucket.running
    running.dated(days[0], days[-1])
    if balances.count(None) == len(balances):  # (counted by identity first: None is None)
        running.moved(moved if file_amounts is amounts else sum(file_amounts, Decimal(0)))
        return moved
    add = running.add
    for line_number, file_amount, balance in zip(line_numbers, file_amounts, balances, strict=True):
        add(line_number, file_amount, balance)
    return moved


def _finished(totals: StatementTotals, state: RunningState, event: StatementBalances | None, reversed_sign: bool
              ) -> StatementTotals:
    """`totals` with its balances (`event`, else those its running balance implies) and what follows from them."""
    running = RunningBalance.resumed(state)
    totals.running_break = running.first_break
    if event is None:  # a balance column states them line by line
        event = running.stated(totals.account_ref, totals.currency, oldest=totals.first_day, newest=totals.last_day)
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
    return totals


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


def _add_day_sums(sums: dict[date, Decimal], days: list[date], amounts: list[Decimal]) -> Decimal:
    """Add the lines' amounts to their days' sums, a run of one day at a time (files list their lines by day);
    the days long before the latest are dropped. Answers the lines' sum (the runs' sums added: Decimal sums
    are exact at `DECIMAL_PRECISION`, so the same as the amounts added one by one)."""
    start = 0
    runs: list[Decimal] = []
    for day, run in groupby(days):
        end = start + len(list(run))
        moved = sum(amounts[start:end], Decimal(0))
        runs.append(moved)
        sums[day] = sums.get(day, Decimal(0)) + moved
        start = end
    if len(sums) > RECENT_DAYS:
        newest = max(sums)
        for day in [d for d in sums if (newest - d).days > RECENT_DAYS]:
            del sums[day]
    return sum(runs, Decimal(0))


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
class CurrencyLines:
    """One currency's lines of a statement: their totals and running balance."""

    totals: StatementTotals
    running: RunningState


@dataclass(slots=True)
class Gathered:
    """A statement as a collector gathered it (open, or closed by `balances`; settled by `finish`): its account
    reference, account, number, the currency of its last line, its lines by currency, and what closed it."""

    ref: str | None
    bank_account_id: str
    index: int
    last: str | None
    lines: list[CurrencyLines]
    balances: StatementBalances | None = None
    reversed_sign: bool = False


@dataclass(slots=True)
class CollectorPart:
    """What a collector gathered over one range of a split file (see `StatementCollector.part`)."""

    closed: list[Gathered]
    open: list[Gathered]


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
