"""What is kept per entry: the entry as posted, and after a run its result with the explanation. One
`EntryRecord` per entry is written to the run's result chunks (and copied into a manual override)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from tximport.reconciliation.models import (
    Candidate,
    Direction,
    Entry,
    EntryResult,
    MatchStatus,
    Rule,
    RunnerUp,
    StatementLine,
)


class _Record(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class SuggestionRecord(_Record):
    line: str
    day: str
    score: float
    parts: dict[str, float] = Field(default_factory=dict)
    amount_delta: Decimal = Field(alias="amountDelta")
    date_delta: int = Field(alias="dateDelta")


class RunnerUpRecord(_Record):
    line: str
    score: float
    regret: float
    reason: str


class EntryRecord(_Record):
    """One entry and (once matched) its result."""

    index: int = Field(alias="i")
    type: Direction
    amount: Decimal
    description: str
    transaction_date: date = Field(alias="transactionDate")
    external_ref: str | None = Field(default=None, alias="externalRef")
    currency: str | None = None
    status: MatchStatus = MatchStatus.UNMATCHED
    rule: Rule | None = None
    line: str | None = None
    line_day: str | None = Field(default=None, alias="lineDay")
    score: float | None = None
    parts: dict[str, float] | None = None
    amount_delta: Decimal | None = Field(default=None, alias="amountDelta")
    date_delta: int | None = Field(default=None, alias="dateDelta")
    runner_up: RunnerUpRecord | None = Field(default=None, alias="runnerUp")
    ambiguous: bool = False
    reason: str | None = None
    suggestions: list[SuggestionRecord] = Field(default_factory=list)
    #: set on overrides: who decided (MANUAL) and what the run had said
    manual: bool = False

    def entry(self) -> Entry:
        return Entry(index=self.index, direction=self.type, amount=self.amount, description=self.description,
                     transaction_date=self.transaction_date, external_ref=self.external_ref,
                     currency=self.currency)

    def unmatched(self, reason: str) -> EntryRecord:
        """This entry with its match taken away: the line it had is free again, so it leads the entry's
        suggestions (scored as it was), before those it kept; the run's runner-up explained an alternative to
        that match and goes."""
        freed = [SuggestionRecord(line=self.line, day=self.line_day or "", score=self.score or 0.0,
                                  parts=self.parts or {}, amount_delta=self.amount_delta or Decimal(0),
                                  date_delta=self.date_delta or 0)] if self.line else []
        kept = [s for s in self.suggestions if s.line != self.line]
        return self.model_copy(update={"status": MatchStatus.UNMATCHED, "rule": None, "line": None,
                                       "line_day": None, "reason": reason, "manual": True, "runner_up": None,
                                       "ambiguous": False, "suggestions": freed + kept})


def pending(entry: Entry) -> EntryRecord:
    """An entry before any run."""
    return EntryRecord(index=entry.index, type=entry.direction, amount=entry.amount, description=entry.description,
                       transaction_date=entry.transaction_date, external_ref=entry.external_ref,
                       currency=entry.currency)


def record_of(entry: Entry, result: EntryResult, lines: dict[str, StatementLine]) -> EntryRecord:
    """The record of one entry after the engine's run."""
    record = pending(entry)
    record.status, record.rule, record.line = result.status, result.rule, result.line
    record.line_day = lines[result.line].booking_date.isoformat() if result.line else None
    record.score, record.parts = result.score, _rounded(result.parts)
    record.amount_delta, record.date_delta = result.amount_delta, result.date_delta
    record.runner_up = _runner_up(result.runner_up)
    record.ambiguous, record.reason = result.ambiguous, result.reason or None
    record.suggestions = [_suggestion(s, lines) for s in result.suggestions]
    return record


def _runner_up(value: RunnerUp | None) -> RunnerUpRecord | None:
    if value is None:
        return None
    return RunnerUpRecord(line=value.line, score=value.score, regret=value.regret, reason=value.reason)


def _suggestion(candidate: Candidate, lines: dict[str, StatementLine]) -> SuggestionRecord:
    return SuggestionRecord(line=candidate.line, day=lines[candidate.line].booking_date.isoformat(),
                            score=candidate.score, parts=_rounded(candidate.parts) or {},
                            amount_delta=candidate.amount_delta, date_delta=candidate.date_delta)


def _rounded(parts: dict[str, float] | None) -> dict[str, float] | None:
    return None if parts is None else {k: round(v, 4) for k, v in parts.items()}


def is_matched(status: MatchStatus) -> bool:
    return status in (MatchStatus.MATCHED, MatchStatus.MANUAL)
