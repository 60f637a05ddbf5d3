"""Duplicate detection, explained.

A staged line is compared with the account's ledger and with the file itself:

* same bank transaction id (FITID, AcctSvcrRef, a supplied transactionId) as a ledger line or an
  earlier line of the file -> duplicate (`reason: sameBankTransactionId`);
* the same transaction id as a ledger line (same content, same occurrence) -> duplicate
  (`reason: alreadyImported`);
* otherwise the same amount, a date within `window_days` and a similar description (rapidfuzz
  token-set ratio >= `min_similarity`) as a ledger line -> possible duplicate
  (`reason: similarLedgerLine`, with the score and the day difference as evidence).

Identical lines inside one file (two equal coffees on one day) are never flagged against each other:
their occurrence index gives them different ids and both are imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from rapidfuzz import fuzz

from tximport.models import Tenant
from tximport.storage.ledger import LedgerRepository


@dataclass(frozen=True, slots=True)
class _LedgerLine:
    transaction_id: str
    bank_transaction_id: str | None
    amount: Decimal
    description: str
    day: date


@dataclass(slots=True)
class Verdict:
    duplicate_of: str
    reason: str
    evidence: dict[str, Any]
    certain: bool


class DuplicateDetector:
    """Loads the ledger day by day (only days near the file's lines) and judges each staged line."""

    def __init__(self, ledger: LedgerRepository, tenant: Tenant, *, window_days: int = 3,
                 min_similarity: float = 85.0) -> None:
        self.ledger = ledger
        self.tenant = tenant
        self.window_days = window_days
        self.min_similarity = min_similarity
        self._days: dict[tuple[str, date], list[_LedgerLine]] = {}
        self._file_bank_ids: dict[tuple[str, str], str] = {}
        self._file_days: set[tuple[str, date]] = set()

    def _day(self, account_id: str, day: date) -> list[_LedgerLine]:
        key = (account_id, day)
        lines = self._days.get(key)
        if lines is None:
            lines = [
                _LedgerLine(
                    transaction_id=item["transactionId"],
                    bank_transaction_id=item.get("bankTransactionId"),
                    amount=Decimal(str(item["amount"])),
                    description=str(item.get("description", "")),
                    day=day,
                )
                for item in self.ledger.day_items(self.tenant, account_id, day.isoformat())
            ]
            self._days[key] = lines
        return lines

    def overlap_count(self) -> int:
        """Existing ledger lines on the days the file covers (a warning in the report)."""
        return sum(len(self._day(account, day)) for account, day in self._file_days)

    def check(self, account_id: str, transaction_id: str, day: date, amount: Decimal, description: str,
              bank_transaction_id: str | None) -> Verdict | None:
        """Judge one staged line; None when it is new."""
        self._file_days.add((account_id, day))
        if bank_transaction_id:
            earlier = self._file_bank_ids.get((account_id, bank_transaction_id))
            if earlier is not None:
                return Verdict(earlier, "sameBankTransactionId",
                               {"bankTransactionId": bank_transaction_id, "in": "file"}, True)
            self._file_bank_ids[(account_id, bank_transaction_id)] = transaction_id
        same_day = self._day(account_id, day)
        for line in same_day:
            if line.transaction_id == transaction_id:
                return Verdict(line.transaction_id, "alreadyImported", {"in": "ledger"}, True)
            if bank_transaction_id and line.bank_transaction_id == bank_transaction_id:
                return Verdict(line.transaction_id, "sameBankTransactionId",
                               {"bankTransactionId": bank_transaction_id, "in": "ledger"}, True)
        best: tuple[float, _LedgerLine] | None = None
        for offset in range(-self.window_days, self.window_days + 1):
            for line in self._day(account_id, day + timedelta(days=offset)):
                if line.amount != amount:
                    continue
                if bank_transaction_id and line.bank_transaction_id and \
                        line.bank_transaction_id != bank_transaction_id:
                    continue  # both carry bank ids and they differ: different transactions
                score = fuzz.token_set_ratio(description.casefold(), line.description.casefold())
                if score >= self.min_similarity and (best is None or score > best[0]):
                    best = (score, line)
        if best is None:
            return None
        score, line = best
        return Verdict(line.transaction_id, "similarLedgerLine",
                       {"in": "ledger", "similarity": round(score, 1), "amount": format(amount, "f"),
                        "daysApart": abs((line.day - day).days), "ledgerDescription": line.description},
                       False)
