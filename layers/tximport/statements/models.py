"""What the statement rules take and answer.

`StatementTotals` is what processing gathers per account and statement while it streams the file
(count, sum, first/last day, the balances the file states); `StatementRecord` is one confirmed
statement in an account's history; `StatementReport` is one statement as the import report shows it,
with its checks. Reports and records are stored (in the import document, in the history), so they are
pydantic models; the totals are plain counters updated once per line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from tximport.formats.base import StatementBalances

# Check codes (README "Statement checks").
BALANCE_MISMATCH = "BalanceMismatch"
STATEMENT_GAP = "StatementGap"
STATEMENT_OVERLAP = "StatementOverlap"
STATEMENT_REPEATED = "StatementRepeated"
DATE_OUTSIDE_STATEMENT = "DateOutsideStatement"


@dataclass(slots=True)
class RunningBreak:
    """The first line where a running-balance column does not follow from the line before."""

    line_number: int
    expected: Decimal
    stated: Decimal


@dataclass(slots=True)
class StatementTotals:
    """One statement of one bank account as processing saw it. Amounts are in the ledger's sign
    convention (the account's `transactionSign` applied), balances too."""

    bank_account_id: str
    account_ref: str | None
    index: int  # 1-based position of the statement among the account's statements in the file
    currency: str | None = None
    count: int = 0
    total: Decimal = Decimal(0)
    first_day: date | None = None
    last_day: date | None = None
    #: the file lines of its first and last booked line
    first_line: int | None = None
    last_line: int | None = None
    #: the file lines of the earliest and the latest dated line (the first of each in file order)
    first_day_line: int | None = None
    last_day_line: int | None = None
    balances: StatementBalances | None = None
    #: the first break of a running-balance column, if any
    running_break: RunningBreak | None = None
    #: the sums of its lines by day, for the days near its latest (`collect.RECENT_DAYS`): what its closing
    #: balance's day leaves after it (`after_closing`), once known
    day_sums: dict[date, Decimal] = field(default_factory=dict)
    #: the sum of its lines dated after its closing balance's day, which that closing already holds
    after_closing: Decimal = Decimal(0)
    #: lines dated within an earlier confirmed statement's period: not duplicates / duplicates
    overlap_new: int = 0
    overlap_duplicates: int = 0
    overlap_first_day: date | None = None
    overlap_last_day: date | None = None
    #: the lines of a statement in another currency than the statement's own: a statement of their own, checked
    #: on their own figures alone (no continuity with the account's history, which they never enter)
    foreign: bool = False

    def add(self, amount: Decimal, day: date, line_number: int | None = None) -> None:
        """Count one staged line."""
        self.count += 1
        self.total += amount
        if self.first_day is None or day < self.first_day:
            self.first_day, self.first_day_line = day, line_number
        if self.last_day is None or day > self.last_day:
            self.last_day, self.last_day_line = day, line_number

    def add_overlap(self, day: date, duplicate: bool) -> None:
        """Count one line dated within an earlier statement's period."""
        if duplicate:
            self.overlap_duplicates += 1
            return
        self.overlap_new += 1
        if self.overlap_first_day is None or day < self.overlap_first_day:
            self.overlap_first_day = day
        if self.overlap_last_day is None or day > self.overlap_last_day:
            self.overlap_last_day = day

    @property
    def start(self) -> date | None:
        """The first day the statement covers: its stated period, else its first line (no later than its end: a
        line dated after the closing balance's day, `DateOutsideStatement`, moves no start past the end)."""
        stated = self.balances.period_start if self.balances else None
        if stated is not None or self.first_day is None:
            return stated
        end = self.end
        return self.first_day if end is None or self.first_day <= end else end

    @property
    def end(self) -> date | None:
        """The last day the statement covers: its stated period, its closing day, else its last line."""
        b = self.balances
        stated = (b.period_end or (b.closing.day if b.closing else None)) if b else None
        return stated or self.last_day


class StatementRecord(BaseModel):
    """A confirmed statement in an account's history: what the next statement must start from."""

    bank_account_id: str
    import_id: str
    index: int
    statement_id: str | None = None
    currency: str | None = None
    opening: Decimal | None = None
    closing: Decimal
    closing_date: date
    start_date: date | None = None
    end_date: date
    #: the sum of its lines dated after `closing_date` (forward-dated value days the closing already holds): the
    #: ledger, which sums lines by their day, balances `closing - after_closing` at the end of `closing_date`
    after_closing: Decimal = Decimal(0)

    @property
    def anchor(self) -> Decimal:
        """The account's balance at the end of `closing_date`, its lines summed by their day."""
        return self.closing - self.after_closing


class StatementCheck(BaseModel):
    """One rule's verdict on a statement (only failed checks are listed)."""

    code: str
    message: str
    expected: Decimal | None = None
    computed: Decimal | None = None
    difference: Decimal | None = None
    line_number: int | None = None
    #: StatementGap: the days no statement covers; StatementOverlap: the days covered twice
    start_date: date | None = None
    end_date: date | None = None
    #: StatementOverlap: lines in the earlier period that are not duplicates
    line_count: int | None = None
    #: StatementGap / StatementOverlap: the earlier statement's import
    previous_import_id: str | None = None
    #: StatementRepeated: the index of the earlier statement of the same file this one repeats
    repeats_statement: int | None = None


class StatementReport(BaseModel):
    """One statement of one account, as the import report (`statement.statements`) shows it."""

    bank_account_id: str
    account_identifier: str | None = None
    index: int
    statement_id: str | None = None
    sequence: str | None = None
    currency: str | None = None
    opening: Decimal | None = None
    opening_date: date | None = None
    closing: Decimal | None = None
    closing_date: date | None = None
    available: Decimal | None = None
    interim: bool = False
    #: opening + the sum of the statement's lines
    computed_closing: Decimal | None = None
    line_count: int = 0
    line_sum: Decimal = Decimal(0)
    start_date: date | None = None
    end_date: date | None = None
    #: the file lines of its first and last booked line
    first_line: int | None = None
    last_line: int | None = None
    #: the sum of its lines dated after its closing balance's day (StatementRecord.after_closing)
    after_closing: Decimal = Decimal(0)
    #: the lines of a statement in another currency than its own (`StatementTotals.foreign`)
    foreign: bool = False
    checks: list[StatementCheck] = Field(default_factory=list)

    def identity(self) -> tuple[object, ...] | None:
        """What makes two statements of one file the same statement written twice: the account, the statement's
        id and sequence, its balances, and its lines' count, sum and days (None: too little to tell, a
        statement without lines, or without an id and without balances)."""
        if not self.line_count or (self.statement_id is None and self.sequence is None
                                   and (self.opening is None or self.closing is None)):
            return None
        return (self.bank_account_id, self.statement_id, self.sequence, self.opening, self.opening_date,
                self.closing, self.closing_date, self.line_count, self.line_sum, self.start_date, self.end_date)

    def record(self, import_id: str) -> StatementRecord | None:
        """The history entry this statement leaves once confirmed (none without a closing to start from, nor for
        lines in another currency than their statement's own: the history is in the account's currency)."""
        closing = self.closing if self.closing is not None else None
        if closing is None or self.end_date is None or self.foreign:
            return None
        return StatementRecord(
            bank_account_id=self.bank_account_id, import_id=import_id, index=self.index,
            statement_id=self.statement_id, currency=self.currency, opening=self.opening, closing=closing,
            closing_date=self.closing_date or self.end_date, start_date=self.start_date, end_date=self.end_date,
            after_closing=self.after_closing if self.closing_date else Decimal(0))
