"""What callers ask the reconciliation services, as domain inputs (no wire names, no HTTP): the API turns
its request models and query parameters into these (as `tximport.commands` for the file import). Plain
dataclasses: a reconciliation carries up to MAX_ENTRIES entries, validated once by the API's models."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from tximport.reconciliation.models import Entry, MatchingOptions, Reconciliation, ReconciliationStatus, Source


@dataclass
class NewReconciliation:
    """A reconciliation to create: the account's period and the entries expected in it."""

    account_id: str
    period_start: date
    period_end: date
    source: Source
    entries: list[Entry]
    options: MatchingOptions = field(default_factory=MatchingOptions)


@dataclass(frozen=True)
class ListFilter:
    """`filter[...]` of the list: periodStart is "from" (the period starts on or after it), periodEnd is
    "until" (the period ends on or before it)."""

    account_id: str | None = None
    status: ReconciliationStatus | None = None
    period_start: date | None = None
    period_end: date | None = None

    def admits(self, rec: Reconciliation) -> bool:
        """Whether `rec` passes every filter given."""
        return ((self.account_id is None or rec.account_id == self.account_id)
                and (self.status is None or rec.status == self.status)
                and (self.period_start is None or rec.period_start >= self.period_start)
                and (self.period_end is None or rec.period_end <= self.period_end))
