"""Duplicate detection, explained.

A staged line is compared with the account's ledger and with the file itself:

* same bank transaction id (FITID, AcctSvcrRef, a supplied transactionId) and amount as a ledger line within
  `window_days`, or as an earlier line of the file on the same day -> duplicate (`reason:
  sameBankTransactionId`); a ledger line of another amount under the bank id makes it a possible duplicate
  (`amountsDiffer`), a line of the file of another amount nothing: a bank that reuses its ids gets each line an
  id of its own (in the file its occurrence; against the ledger `tximport.ids.reissued_id`, `collides`);
* the same transaction id as a ledger line (same content, same occurrence) -> duplicate
  (`reason: alreadyImported`);
* otherwise a line an import session committed on the same day, of the same amount and description (as ids
  compare them) -> duplicate (`reason: alreadyCommitted`): the statement a session staged comes as a file; a
  session's line has an id of its own, so the id check cannot see it; likewise a line the public endpoint wrote
  (a feed's, under its transactionId) -> duplicate (`reason: alreadyPosted`);
* otherwise a mirror line of the same amount within `MIRROR_DAYS`: the line another account's import session
  wrote here for a transfer or card payment to this account, which this account's statement shows under its
  own description -> duplicate (`reason: transferMirror` or `cardPaymentMirror`, the other account as
  `counterpartAccountId`; the nearest day first, then the earlier, in the ledger's order);
* otherwise the same amount, a date within `window_days` and a similar description (rapidfuzz
  token-set ratio >= `min_similarity`) as a ledger line -> possible duplicate
  (`reason: similarLedgerLine`, with the score and the day difference as evidence);
* otherwise a line an import session of the account committed on the same day with the same amount, whatever
  its text (a session's line carries the text its client gave it, e.g. "TRANSFER TO B" for the bank's "SEPA OUT
  B") -> possible duplicate (`reason: sameDayCommittedLine`).

A session's line (committed or mirror) answers one line of the run: the first that takes it, in file order (two
coffees a session committed and two in the file: both copies, a third only looks like them). A line committed
IGNORE (a settled copy, kept as a record: it counts in no balance) answers none: what it copied answers.

Identical lines inside one file (two equal coffees on one day) are never flagged against each other:
their occurrence index gives them different ids and both are imported.

How it runs: the ledger is read one account-day at a time (only days that hold ledger lines, from the
account's day index, and only days near the file's lines), and each day read is indexed once by
transaction id, bank id and amount. A file line is then a few dict lookups on the days of its window
(a join per day, not a scan of the day's lines); the fuzzy scorer runs only against ledger lines of the
same amount. The verdicts are exactly the row-by-row scan's (tests/support/reference/row_duplicates.py
is that scan, kept as the oracle of tests/unit/test_duplicates.py).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from rapidfuzz import fuzz

from tximport.ids import normalized_description
from tximport.models import LedgerLine, Tenant
from tximport.sessions.ids import COMMITTED_REASON, is_mirror, mirror_reason
from tximport.storage.ledger import LedgerStore, ignored

#: the import id of the lines the public endpoint (001) writes (`tximport.services.public.SOURCE_ID`)
PUBLIC_SOURCE_ID = "public-api"
#: a line the public endpoint wrote on the line's day with its amount and text (a feed's copy of the statement's line;
#: it has an id of its own, from its transactionId, so the ids cannot find it): certain, one for one
POSTED_REASON = "alreadyPosted"


@dataclass(slots=True)
class Verdict:
    duplicate_of: str
    reason: str
    evidence: dict[str, Any]
    certain: bool


class _DayIndex:
    """The ledger lines of one account-day, indexed for the join (positions keep the ledger's order)."""

    __slots__ = ("by_amount", "by_bank_id", "by_id", "committed", "committed_amounts", "count", "lines", "mirrors",
                 "posted")

    def __init__(self, lines: list[LedgerLine]) -> None:
        self.lines = lines
        self.count = len(lines)
        self.by_id: dict[str, int] = {}
        self.by_bank_id: dict[str, int] = {}
        self.by_amount: dict[Decimal, list[int]] = {}
        #: the lines import sessions committed by amount: the mirror lines (`tximport.sessions.ids.is_mirror`), the
        #: others by their description as ids compare them
        self.mirrors: dict[Decimal, list[LedgerLine]] = {}
        self.committed: dict[tuple[Decimal, str], list[LedgerLine]] = {}
        self.committed_amounts: dict[Decimal, list[LedgerLine]] = {}
        #: the ids of the public endpoint's lines (each answers one line of a file, by id or by content)
        self.posted: set[str] = set()
        for position, line in enumerate(lines):
            self.by_id.setdefault(line.transaction_id, position)
            if line.bank_transaction_id:
                self.by_bank_id.setdefault(line.bank_transaction_id, position)
            self.by_amount.setdefault(line.amount, []).append(position)
            if line.session is None and line.import_id == PUBLIC_SOURCE_ID:  # the public endpoint's (a feed's) line
                self.committed.setdefault((line.amount, normalized_description(line.description)), []).append(line)
                self.posted.add(line.transaction_id)
                continue
            if line.session is None or ignored(line):  # a record of a settled copy answers no line
                continue
            if is_mirror(line):
                self.mirrors.setdefault(line.amount, []).append(line)
            else:
                self.committed.setdefault((line.amount, normalized_description(line.description)), []).append(line)
                self.committed_amounts.setdefault(line.amount, []).append(line)


_EMPTY = _DayIndex([])


def _near(day: date, window_days: int) -> list[tuple[int, date]]:
    """The days within `window_days` of `day` with their offsets (those the calendar has: 9999-12-31 has no
    day after it)."""
    found: list[tuple[int, date]] = []
    for offset in range(-window_days, window_days + 1):
        try:
            found.append((offset, day + timedelta(days=offset)))
        except OverflowError:
            continue
    return found


def _same_bank_id(line: LedgerLine, bank_transaction_id: str, amount: Decimal, days_apart: int | None) -> Verdict:
    """A ledger line under the same bank id: certain with the same amount, else possible (`amountsDiffer`)."""
    evidence: dict[str, Any] = {"bankTransactionId": bank_transaction_id, "in": "ledger"}
    if days_apart is not None:
        evidence["daysApart"] = days_apart
    if line.amount != amount:
        evidence["amountsDiffer"] = True
    return Verdict(line.transaction_id, "sameBankTransactionId", evidence, line.amount == amount)


def _bank_ids_agree(line: LedgerLine, bank_transaction_id: str | None) -> bool:
    """Whether a ledger line may be the line's copy as far as bank ids go: not both given and different."""
    return not (bank_transaction_id and line.bank_transaction_id and line.bank_transaction_id != bank_transaction_id)


def _nearest(pair: tuple[int, _DayIndex]) -> tuple[int, int]:
    """Days by their distance, the earlier of two as near first."""
    return abs(pair[0]), pair[0]


class DuplicateDetector:
    """Loads the ledger day by day (only days near the file's lines) and judges each staged line."""

    #: ledger days kept in memory (statements run in date order, so recent days serve them; an unordered
    #: file only re-reads days that hold ledger lines, see `_ledger_days`)
    CACHED_DAYS = 400
    #: ledger lines kept in memory beyond CACHED_DAYS days (a file not in date order over a ledger of a few lines a
    #: day keeps every day it needs, each read once, rather than reading days again and again)
    CACHED_LINES = 50_000
    #: ledger days read at once by `prefetch`
    PREFETCH_BATCH = 32
    #: how far a transfer's money may arrive from the day the other account's session booked it (a mirror line):
    #: a transfer between banks on a Friday before a holiday Monday arrives on Tuesday
    MIRROR_DAYS = 5

    def __init__(self, ledger: LedgerStore, tenant: Tenant, *, window_days: int = 3,
                 min_similarity: float = 85.0, session_lines: bool = True) -> None:
        self.ledger = ledger
        self.tenant = tenant
        self.window_days = window_days
        self.min_similarity = min_similarity
        #: whether the lines import sessions committed make duplicates (import sessions weigh them themselves,
        #: after their own staged copies)
        self.session_lines = session_lines
        #: the days a line's window reaches (a mirror line's are the widest)
        self.reach = max(window_days, self.MIRROR_DAYS)
        #: the session lines the run's lines took, in the order they took them (the reduce of a split file checks
        #: that no two ranges took one)
        self.taken: dict[str, None] = {}
        # memory stays bounded whatever the file size: ledger days and the file's bank ids are kept
        # for a window of recent days only (a day read again later is simply read again)
        self._days: OrderedDict[tuple[str, date], _DayIndex] = OrderedDict()
        self._cached_lines = 0
        self._day_counts: dict[tuple[str, date], int] = {}
        self._file_bank_ids: OrderedDict[tuple[str, date], dict[tuple[str, Decimal], str]] = OrderedDict()
        self._file_days: set[tuple[str, date]] = set()
        #: the (account, day) pairs that had lines with a bank id (the reduce of a split file checks them)
        self.bank_id_days: set[tuple[str, date]] = set()
        # the days on which each account has ledger lines at all (one query per account): a day not in it
        # needs no read, so a new account, or a file beyond the ledger's range, costs no lookups
        self._ledger_days: dict[str, set[date]] = {}
        # per (account, day) of the file: the window's days that hold ledger lines, as (offset, day)
        self._windows: dict[tuple[str, date], list[tuple[int, date]]] = {}

    def _account_days(self, account_id: str) -> set[date]:
        days = self._ledger_days.get(account_id)
        if days is None:
            days = self._ledger_days[account_id] = set(self.ledger.days(self.tenant, account_id, newest_first=False))
        return days

    def _day(self, account_id: str, day: date) -> _DayIndex:
        key = (account_id, day)
        if day not in self._account_days(account_id):
            self._day_counts[key] = 0
            return _EMPTY
        index = self._days.get(key)
        if index is not None:
            self._days.move_to_end(key)
            return index
        return self._remember(account_id, day, self.ledger.day_lines(self.tenant, account_id, day))

    def _remember(self, account_id: str, day: date, lines: list[LedgerLine]) -> _DayIndex:
        key = (account_id, day)
        index = self._days[key] = _DayIndex(lines)
        self._day_counts[key] = index.count
        self._cached_lines += index.count
        while len(self._days) > self.CACHED_DAYS and self._cached_lines > self.CACHED_LINES:
            self._cached_lines -= self._days.popitem(last=False)[1].count
        return index

    def prefetch(self, account_id: str, days: Iterable[date]) -> None:
        """Read the ledger days the windows of `days` need and the cache does not hold, PREFETCH_BATCH at once in
        parallel, in the order `days` needs them, while the cache has room for them (the others are read as they
        come): checking a file's lines one by one read those days one query after another."""
        wanted = list(dict.fromkeys(near for day in days for _, near in self._window(account_id, day)
                                    if (account_id, near) not in self._days))
        for start in range(0, len(wanted), self.PREFETCH_BATCH):
            if self._cached_lines >= self.CACHED_LINES // 2:  # a dense ledger: the rest as the lines need them
                return
            batch = wanted[start:start + self.PREFETCH_BATCH]
            for day, lines in self.ledger.days_lines(self.tenant, account_id, batch).items():
                self._remember(account_id, day, lines)

    def _window(self, account_id: str, day: date) -> list[tuple[int, date]]:
        """The days within `reach` of `day` (in offset order) on which the account has ledger lines."""
        key = (account_id, day)
        found = self._windows.get(key)
        if found is None:
            if len(self._windows) > self.CACHED_DAYS:
                self._windows.clear()
            ledger_days = self._account_days(account_id)
            found = self._windows[key] = [(offset, near) for offset, near in _near(day, self.reach)
                                          if near in ledger_days]
        return found

    def lines_near(self, account_id: str, day: date, amount: Decimal, reach: int | None = None) -> list[LedgerLine]:
        """The account's ledger lines of `amount` within `reach` days of `day` (the window's, unless given), nearest
        day first."""
        days = self.window_days if reach is None else min(reach, self.reach)
        window = sorted(self._window(account_id, day), key=lambda pair: (abs(pair[0]), pair[0]))
        found: list[LedgerLine] = []
        for offset, near in window:
            if abs(offset) > days:
                continue
            index = self._day(account_id, near)
            found += [index.lines[position] for position in index.by_amount.get(amount, [])]
        return found

    def quiet(self, account_id: str) -> bool:
        """Whether the account has no ledger line at all: then only a line's bank id can make it a
        duplicate (of an earlier line of the file), and a line without one needs no check."""
        return not self._account_days(account_id)

    def overlap_count(self) -> int:
        """Existing ledger lines on the days the file covers (a warning in the report)."""
        total = 0
        for key in self._file_days:
            if key not in self._day_counts:
                self._day(*key)
            total += self._day_counts[key]
        return total

    def add_file_days(self, days: set[tuple[str, date]]) -> None:
        """Count (account, day) pairs another run judged in too (the reduce of a split file)."""
        self._file_days |= days

    def file_days(self) -> set[tuple[str, date]]:
        """The (account, day) pairs the judged lines cover (the reduce step of a split file merges them)."""
        return self._file_days

    def collides(self, account_id: str, transaction_id: str, day: date, amount: Decimal) -> bool:
        """Whether the ledger holds a line of this id on this day with another amount: a bank id reused across
        statements gave the line an id that is not its own (it takes `tximport.ids.reissued_id`)."""
        if day not in self._account_days(account_id):
            return False
        index = self._day(account_id, day)
        position = index.by_id.get(transaction_id)
        return position is not None and index.lines[position].amount != amount

    def check(self, account_id: str, transaction_id: str, day: date, amount: Decimal, description: str,
              bank_transaction_id: str | None) -> Verdict | None:
        """Judge one staged line; None when it is new."""
        self._file_days.add((account_id, day))
        if bank_transaction_id:
            earlier = self._seen_in_file(account_id, day, bank_transaction_id, transaction_id, amount)
            if earlier is not None:
                return Verdict(earlier, "sameBankTransactionId",
                               {"bankTransactionId": bank_transaction_id, "in": "file"}, True)
        window = self._window(account_id, day)
        if not window:  # no ledger line within reach: nothing to compare with
            return None
        within = self.window_days
        if not self.session_lines:
            window = [(offset, near) for offset, near in window if -within <= offset <= within]
        wide = [(offset, self._day(account_id, near)) for offset, near in window]
        days = [pair for pair in wide if -within <= pair[0] <= within] if self.reach > within else wide
        certain = self._certain(days, transaction_id, bank_transaction_id, amount)
        if certain is not None:
            if any(certain.duplicate_of in index.posted for _, index in days):  # a feed's line it is: it answers
                # no other line (by content, as alreadyPosted)
                self.taken[certain.duplicate_of] = None
            return certain
        return ((self._session_line(days, wide, amount, description, bank_transaction_id)
                    if self.session_lines else None)
                or self._similar(days, day, amount, description, bank_transaction_id)
                or (self._same_day_committed(days, amount, bank_transaction_id) if self.session_lines else None))

    def _seen_in_file(self, account_id: str, day: date, bank_transaction_id: str, transaction_id: str,
                      amount: Decimal) -> str | None:
        """The id of an earlier line of the file with the same bank id and amount on the same day (and remembers
        the first line of each bank id and amount). A line of another amount under the same bank id is no
        duplicate: the bank reuses its ids (the line has an id of its own, `tximport.ids.transaction_id`)."""
        seen = self._file_bank_ids.get((account_id, day))
        if seen is None:
            seen = self._file_bank_ids[(account_id, day)] = {}
            self.bank_id_days.add((account_id, day))
            if len(self._file_bank_ids) > self.CACHED_DAYS:
                self._file_bank_ids.popitem(last=False)
        key = (bank_transaction_id, amount)
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = transaction_id
        return earlier

    @staticmethod
    def _certain(days: list[tuple[int, _DayIndex]], transaction_id: str, bank_transaction_id: str | None,
                 amount: Decimal) -> Verdict | None:
        """The same id on the same day (the line itself: a line of that id and another amount gave this one an id
        of its own, `collides`), else the same bank id within the window (the first in the ledger's order, as a
        scan of the days from the earliest would find it): certain with the same amount; a line of another amount
        under the bank id only may be one (a bank that reuses its ids)."""
        for offset, index in days:
            if offset != 0:
                continue
            by_id = index.by_id.get(transaction_id)
            by_bank = index.by_bank_id.get(bank_transaction_id) if bank_transaction_id else None
            if by_id is not None:
                return Verdict(index.lines[by_id].transaction_id, "alreadyImported", {"in": "ledger"}, True)
            if by_bank is not None:
                return _same_bank_id(index.lines[by_bank], bank_transaction_id or "", amount, None)
        if bank_transaction_id:
            for offset, index in days:
                position = index.by_bank_id.get(bank_transaction_id)
                if position is not None:
                    # booked a day or two after it was pending, under the same bank id
                    return _same_bank_id(index.lines[position], bank_transaction_id, amount, abs(offset))
        return None

    def _session_line(self, days: list[tuple[int, _DayIndex]], wide: list[tuple[int, _DayIndex]], amount: Decimal,
                      description: str, bank_transaction_id: str | None) -> Verdict | None:
        """The session line the line repeats, which it takes: a line committed on its day with its amount and
        description, else a mirror of its amount within MIRROR_DAYS (`_mirror`, over the `wide` days). None of the
        run's lines took it before."""
        committed = next((index.committed.get((amount, normalized_description(description)))
                          for offset, index in days if offset == 0 and index.committed), None)
        for line in committed or ():
            if line.transaction_id not in self.taken and _bank_ids_agree(line, bank_transaction_id):
                self.taken[line.transaction_id] = None
                return Verdict(line.transaction_id, COMMITTED_REASON if line.session is not None else POSTED_REASON,
                               {"in": "ledger"}, True)
        return self._mirror(wide, amount, bank_transaction_id)

    def _mirror(self, days: list[tuple[int, _DayIndex]], amount: Decimal, bank_transaction_id: str | None
                ) -> Verdict | None:
        """The first mirror line of the amount within MIRROR_DAYS no line of the run took yet (the nearest day
        first, then the earlier; in the ledger's order), which the line takes."""
        if not any(amount in index.mirrors for _, index in days):
            return None
        for offset, index in sorted(days, key=_nearest):
            for line in index.mirrors.get(amount, ()):
                if line.transaction_id in self.taken or not _bank_ids_agree(line, bank_transaction_id):
                    continue
                self.taken[line.transaction_id] = None
                counterpart = line.session.counterpart_account_id if line.session is not None else None
                return Verdict(line.transaction_id, mirror_reason(line),
                               {"in": "ledger", "counterpartAccountId": counterpart, "amount": format(amount, "f"),
                                "daysApart": abs(offset), "ledgerDescription": line.description}, True)
        return None

    def _same_day_committed(self, days: list[tuple[int, _DayIndex]], amount: Decimal,
                            bank_transaction_id: str | None) -> Verdict | None:
        """The first line a session committed on the line's day with its amount (any text), no line of the run
        took: a possible duplicate (it is not taken: the reviewer decides)."""
        for offset, index in days:
            for line in index.committed_amounts.get(amount, ()) if offset == 0 else ():
                if line.transaction_id not in self.taken and _bank_ids_agree(line, bank_transaction_id):
                    return Verdict(line.transaction_id, "sameDayCommittedLine",
                                   {"in": "ledger", "amount": format(amount, "f"), "daysApart": 0,
                                    "ledgerDescription": line.description}, False)
        return None

    def _similar(self, days: list[tuple[int, _DayIndex]], day: date, amount: Decimal, description: str,
                 bank_transaction_id: str | None) -> Verdict | None:
        """The most similar ledger line of the same amount within the window (the first of equal scores)."""
        best: tuple[float, LedgerLine] | None = None
        folded: str | None = None
        for _offset, index in days:
            for position in index.by_amount.get(amount, ()):
                line = index.lines[position]
                if bank_transaction_id and line.bank_transaction_id and \
                        line.bank_transaction_id != bank_transaction_id:
                    continue  # both carry bank ids and they differ: different transactions
                if folded is None:
                    folded = description.casefold()
                score = fuzz.token_set_ratio(folded, line.description.casefold())
                if score >= self.min_similarity and (best is None or score > best[0]):
                    best = (score, line)
        if best is None:
            return None
        score, line = best
        return Verdict(line.transaction_id, "similarLedgerLine",
                       {"in": "ledger", "similarity": round(score, 1), "amount": format(amount, "f"),
                        "daysApart": abs((line.date_posted - day).days), "ledgerDescription": line.description},
                       False)
