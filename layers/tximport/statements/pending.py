"""Pending lines and their booked lines, reversals and the lines they reverse: the matching rules.

* A booked line replaces an open pending line of its account when it has the same bank reference, or
  the same amount, is booked within `window_days` of the pending line (from one day before it) and its
  text is similar (one text holds the other, or they share at least half of their words).
* A pending line older than `window_days` before the newest line of an import, never replaced, is
  expired (reported by that import: `PendingExpired`).
* A reversal (camt `RvslInd`, MT940 `RC`/`RD`) reverses the latest earlier line of its account with the
  opposite amount and the same bank reference or a similar text, within `window_days` before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class LineKey:
    """What matching needs of a line."""

    transaction_id: str
    day: date
    amount: Decimal
    description: str = ""
    bank_transaction_id: str | None = None


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def similar(a: str, b: str) -> bool:
    """Whether two bank texts name the same thing (card texts grow or shrink between pending and booked)."""
    x, y = " ".join(_WORD.findall(a.lower())), " ".join(_WORD.findall(b.lower()))
    if not x or not y:
        return not x and not y
    if x in y or y in x:
        return True
    wa, wb = _words(a), _words(b)
    return len(wa & wb) * 2 >= min(len(wa), len(wb))


def match_pending(booked: LineKey, open_pending: list[LineKey], window_days: int) -> LineKey | None:
    """The open pending line `booked` replaces, or None."""
    if booked.bank_transaction_id:
        for p in open_pending:
            if p.bank_transaction_id == booked.bank_transaction_id:
                return p
    for p in open_pending:
        if (p.amount == booked.amount and p.day - timedelta(days=1) <= booked.day <= p.day + timedelta(days=window_days)
                and similar(p.description, booked.description)):
            return p
    return None


def expired(open_pending: list[LineKey], as_of: date, window_days: int) -> list[LineKey]:
    """Pending lines not booked within `window_days` of `as_of`."""
    return [p for p in open_pending if p.day + timedelta(days=window_days) < as_of]


def reversed_line(reversal: LineKey, earlier: list[LineKey], window_days: int) -> LineKey | None:
    """The line `reversal` reverses among `earlier` lines (the latest that fits), or None."""
    found = None
    for line in earlier:
        if line.transaction_id == reversal.transaction_id or line.amount != -reversal.amount:
            continue
        if not reversal.day - timedelta(days=window_days) <= line.day <= reversal.day:
            continue
        same_ref = bool(reversal.bank_transaction_id) and line.bank_transaction_id == reversal.bank_transaction_id
        if (same_ref or similar(line.description, reversal.description)) and (found is None or line.day >= found.day):
            found = line
    return found
