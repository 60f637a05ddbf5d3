"""The row-at-a-time DuplicateDetector that the batch path replaced, kept unchanged as the oracle of the
differential tests (the batch path must stage, judge and report exactly what this does).

Duplicate detection, explained.

A staged line is compared with the account's ledger and with the file itself:

* same bank transaction id (FITID, AcctSvcrRef, a supplied transactionId) as a ledger line within
  `window_days`, or as an earlier line of the file on the same day -> duplicate
  (`reason: sameBankTransactionId`);
* the same transaction id as a ledger line (same content, same occurrence) -> duplicate
  (`reason: alreadyImported`);
* otherwise a line a session committed (not a mirror) on the same day with the same amount and description (as ids
  compare them), not taken by an earlier line of the run -> duplicate (`reason: alreadyCommitted`); a line the
  public endpoint wrote, likewise (`reason: alreadyPosted`);
* otherwise a mirror line (another account's session wrote it here for a transfer or card payment) of the same
  amount within MIRROR_DAYS that no earlier line of the run took -> duplicate (`reason: transferMirror` or
  `cardPaymentMirror`), the nearest day first, then the earlier, in the ledger's order;
* otherwise (after the similar rule below) a line a session committed on the same day with the same amount, any
  text, not taken -> possible duplicate (`reason: sameDayCommittedLine`);
* otherwise the same amount, a date within `window_days` and a similar description (rapidfuzz
  token-set ratio >= `min_similarity`) as a ledger line -> possible duplicate
  (`reason: similarLedgerLine`, with the score and the day difference as evidence).

Identical lines inside one file (two equal coffees on one day) are never flagged against each other:
their occurrence index gives them different ids and both are imported.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from rapidfuzz import fuzz

from tximport.models import LedgerLine, Tenant
from tximport.sessions.ids import is_mirror, mirror_reason
from tximport.sessions.models import TransactionStatus
from tximport.storage.ledger import LedgerStore

#: how far a mirror line may lie from the line answering it
MIRROR_DAYS = 5


@dataclass(slots=True)
class Verdict:
    duplicate_of: str
    reason: str
    evidence: dict[str, Any]
    certain: bool


def _same_bank_id(line: LedgerLine, bank_transaction_id: str, amount: Decimal, days_apart: int | None) -> Verdict:
    evidence: dict[str, Any] = {"bankTransactionId": bank_transaction_id, "in": "ledger"}
    if days_apart is not None:
        evidence["daysApart"] = days_apart
    if line.amount != amount:
        evidence["amountsDiffer"] = True
    return Verdict(line.transaction_id, "sameBankTransactionId", evidence, line.amount == amount)


class DuplicateDetector:
    """Loads the ledger day by day (only days near the file's lines) and judges each staged line."""

    #: ledger days kept in memory (statements run in date order, so recent days serve them; an unordered
    #: file only re-reads days that hold ledger lines, see `_ledger_days`)
    CACHED_DAYS = 400

    def __init__(self, ledger: LedgerStore, tenant: Tenant, *, window_days: int = 3,
                 min_similarity: float = 85.0) -> None:
        self.ledger = ledger
        self.tenant = tenant
        self.window_days = window_days
        self.min_similarity = min_similarity
        # memory stays bounded whatever the file size: ledger lines and the file's bank ids are kept
        # for a window of recent days only (a day read again later is simply read again)
        self._days: OrderedDict[tuple[str, date], list[LedgerLine]] = OrderedDict()
        self._day_counts: dict[tuple[str, date], int] = {}
        self._file_bank_ids: OrderedDict[tuple[str, date], dict[tuple[str, Decimal], str]] = OrderedDict()
        self._file_days: set[tuple[str, date]] = set()
        # the days on which each account has ledger lines at all (one query per account): a day not in it
        # needs no read, so a new account, or a file beyond the ledger's range, costs no lookups
        self._ledger_days: dict[str, set[date]] = {}
        self._taken: set[str] = set()

    def _has_lines(self, account_id: str, day: date) -> bool:
        days = self._ledger_days.get(account_id)
        if days is None:
            days = self._ledger_days[account_id] = set(self.ledger.days(self.tenant, account_id, newest_first=False))
        return day in days

    def _day(self, account_id: str, day: date) -> list[LedgerLine]:
        key = (account_id, day)
        if not self._has_lines(account_id, day):
            self._day_counts[key] = 0
            return []
        lines = self._days.get(key)
        if lines is not None:
            self._days.move_to_end(key)
            return lines
        lines = self.ledger.day_lines(self.tenant, account_id, day)
        self._days[key] = lines
        self._day_counts[key] = len(lines)
        if len(self._days) > self.CACHED_DAYS:
            self._days.popitem(last=False)
        return lines

    def overlap_count(self) -> int:
        """Existing ledger lines on the days the file covers (a warning in the report)."""
        total = 0
        for key in self._file_days:
            if key not in self._day_counts:
                self._day(*key)
            total += self._day_counts[key]
        return total

    def collides(self, account_id: str, transaction_id: str, day: date, amount: Decimal) -> bool:
        """Whether the ledger holds a line of this id on this day with another amount."""
        return any(line.transaction_id == transaction_id and line.amount != amount
                   for line in self._day(account_id, day))

    def check(self, account_id: str, transaction_id: str, day: date, amount: Decimal, description: str,
              bank_transaction_id: str | None) -> Verdict | None:
        """Judge one staged line; None when it is new."""
        self._file_days.add((account_id, day))
        if bank_transaction_id:
            seen = self._file_bank_ids.get((account_id, day))
            if seen is None:
                seen = self._file_bank_ids[(account_id, day)] = {}
                if len(self._file_bank_ids) > self.CACHED_DAYS:
                    self._file_bank_ids.popitem(last=False)
            earlier = seen.get((bank_transaction_id, amount))  # another amount: the bank reuses its ids
            if earlier is None:
                seen[(bank_transaction_id, amount)] = transaction_id
            else:
                return Verdict(earlier, "sameBankTransactionId",
                               {"bankTransactionId": bank_transaction_id, "in": "file"}, True)
        same_day = self._day(account_id, day)
        for line in same_day:
            if line.transaction_id == transaction_id:
                self._posted_taken(line)  # a feed's line it is answers no other line
                return Verdict(line.transaction_id, "alreadyImported", {"in": "ledger"}, True)
        for line in same_day:
            if bank_transaction_id and line.bank_transaction_id == bank_transaction_id:
                self._posted_taken(line)
                return _same_bank_id(line, bank_transaction_id, amount, None)
        best: tuple[float, LedgerLine] | None = None
        for offset in range(-self.window_days, self.window_days + 1):
            for line in self._day(account_id, day + timedelta(days=offset)):
                if bank_transaction_id and line.bank_transaction_id == bank_transaction_id:
                    # booked a day or two after it was pending, under the same bank id
                    self._posted_taken(line)
                    return _same_bank_id(line, bank_transaction_id, amount, abs(offset))
                if line.amount != amount:
                    continue
                if bank_transaction_id and line.bank_transaction_id and \
                        line.bank_transaction_id != bank_transaction_id:
                    continue  # both carry bank ids and they differ: different transactions
                score = fuzz.token_set_ratio(description.casefold(), line.description.casefold())
                if score >= self.min_similarity and (best is None or score > best[0]):
                    best = (score, line)
        session_line = (self._committed(account_id, day, amount, description, bank_transaction_id)
                        or self._mirror(account_id, day, amount, bank_transaction_id))
        if session_line is not None:
            return session_line
        if best is None:
            return self._same_day_committed(account_id, day, amount, bank_transaction_id)
        score, line = best
        return Verdict(line.transaction_id, "similarLedgerLine",
                       {"in": "ledger", "similarity": round(score, 1), "amount": format(amount, "f"),
                        "daysApart": abs((line.date_posted - day).days), "ledgerDescription": line.description},
                       False)

    def _posted_taken(self, line: LedgerLine) -> None:
        if line.session is None and line.import_id == "public-api":
            self._taken.add(line.transaction_id)

    def _same_day_committed(self, account_id: str, day: date, amount: Decimal, bank_transaction_id: str | None
                            ) -> Verdict | None:
        for line in self._day(account_id, day):
            if line.session is None or is_mirror(line) or line.amount != amount or line.transaction_id in self._taken:
                continue
            if line.session.status == TransactionStatus.IGNORE:
                continue
            if bank_transaction_id and line.bank_transaction_id and line.bank_transaction_id != bank_transaction_id:
                continue
            return Verdict(line.transaction_id, "sameDayCommittedLine",
                           {"in": "ledger", "amount": format(amount, "f"), "daysApart": 0,
                            "ledgerDescription": line.description}, False)
        return None

    def _committed(self, account_id: str, day: date, amount: Decimal, description: str,
                   bank_transaction_id: str | None) -> Verdict | None:
        for line in self._day(account_id, day):
            posted = line.session is None and line.import_id == "public-api"  # a feed's line: one of its own too
            if (line.session is None and not posted) or is_mirror(line) or line.amount != amount \
                    or line.transaction_id in self._taken:
                continue
            if line.session is not None and line.session.status == TransactionStatus.IGNORE:
                continue
            if " ".join(line.description.split()).casefold() != " ".join(description.split()).casefold():
                continue
            if bank_transaction_id and line.bank_transaction_id and line.bank_transaction_id != bank_transaction_id:
                continue
            self._taken.add(line.transaction_id)
            return Verdict(line.transaction_id, "alreadyPosted" if posted else "alreadyCommitted", {"in": "ledger"},
                           True)
        return None

    def _mirror(self, account_id: str, day: date, amount: Decimal, bank_transaction_id: str | None) -> Verdict | None:
        for offset in sorted(range(-MIRROR_DAYS, MIRROR_DAYS + 1), key=lambda o: (abs(o), o)):
            try:
                near = day + timedelta(days=offset)
            except OverflowError:
                continue
            for line in self._day(account_id, near):
                if line.amount != amount or not is_mirror(line) or line.transaction_id in self._taken:
                    continue
                if line.session is not None and line.session.status == TransactionStatus.IGNORE:
                    continue
                if bank_transaction_id and line.bank_transaction_id and \
                        line.bank_transaction_id != bank_transaction_id:
                    continue
                self._taken.add(line.transaction_id)
                counterpart = line.session.counterpart_account_id if line.session is not None else None
                return Verdict(line.transaction_id, mirror_reason(line),
                               {"in": "ledger", "counterpartAccountId": counterpart, "amount": format(amount, "f"),
                                "daysApart": abs(offset), "ledgerDescription": line.description}, True)
        return None
