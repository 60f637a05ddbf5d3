"""The statement rules: arithmetic, running balance, continuity and overlap.

* arithmetic: opening + sum(lines) = closing, compared in the currency's minor units
  (`BalanceMismatch` with the expected closing, the computed one and the difference);
* running balance: each line's stated balance = the previous line's balance + the line's amount (and the
  amounts of the lines between them that state none); the first line where that breaks is named
  (`BalanceMismatch` with its line number). Files list lines oldest first or newest first: both readings
  are followed and the one that holds longest decides;
* continuity: a statement's opening equals the account's last confirmed closing (`StatementGap`
  with the days between the two statements and the amount missing). A statement without an opening
  (OFX states only a closing) starts from closing - sum(lines);
* overlap: a statement that starts before the last confirmed statement ends, with lines dated within
  that period that are not duplicates of ledger lines (`StatementOverlap` with their days and count).
* currencies: a statement's lines in another currency than its own (a PayPal export's balance column runs per
  currency) are a statement of their own (`StatementTotals.foreign`): checked for arithmetic and running balance
  alone, never for continuity or overlap against the history, which is in the account's currency;
* repetition: a statement the file holds twice (the same id, balances and lines: `StatementRepeated`), which is
  then not checked for continuity.
  Such a statement is checked for overlap, not for a gap (its opening is an earlier balance). One that
  starts on the day the last one ends (an intraday cut-off) is checked for a gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from tximport.formats.base import Balance, StatementBalances
from tximport.statements.models import (
    BALANCE_MISMATCH,
    DATE_OUTSIDE_STATEMENT,
    STATEMENT_GAP,
    STATEMENT_OVERLAP,
    STATEMENT_REPEATED,
    RunningBreak,
    StatementCheck,
    StatementRecord,
    StatementReport,
    StatementTotals,
)

#: ISO 4217 currencies whose minor unit is not the hundredth (the rest have two decimals)
_EXPONENTS = {
    **dict.fromkeys(("BIF", "BYR", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
                     "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    "CLF": 4, "UYW": 4,
}


def exponent(currency: str | None) -> int:
    """The minor units of `currency` (ISO 4217); two for an unknown or missing code."""
    return _EXPONENTS.get((currency or "").upper(), 2)


def to_minor(amount: Decimal, currency: str | None) -> Decimal:
    """`amount` rounded to its currency's minor unit (what 'to the cent' compares)."""
    return amount.quantize(Decimal(1).scaleb(-exponent(currency)))


@dataclass(slots=True)
class RunningState:
    """A `RunningBalance`'s state: its first and last line with a balance (line, amount, balance), the amounts
    of the lines without one before the first (`lead`) and after the last (`between`), and the breaks found."""

    first: tuple[int, Decimal, Decimal] | None
    previous: tuple[int, Decimal, Decimal] | None
    ascending: RunningBreak | None
    descending: RunningBreak | None
    lead: Decimal = Decimal(0)
    between: Decimal = Decimal(0)
    #: the days of the first and the last line taken, in file order
    first_day: date | None = None
    last_day: date | None = None
    #: the pairs of consecutive stated balances that follow, read oldest first and newest first
    up_holds: int = 0
    down_holds: int = 0


class RunningBalance:
    """Follows a running-balance column line by line, in both directions, with constant memory.

    A line without a stated balance still moves money: its amount is carried to the next line that states
    one (and, before the first or after the last such line, into the opening or the closing)."""

    def __init__(self) -> None:
        self._first: tuple[int, Decimal, Decimal] | None = None  # line, amount, balance
        self._previous: tuple[int, Decimal, Decimal] | None = None
        self._ascending: RunningBreak | None = None
        self._descending: RunningBreak | None = None
        self._lead = Decimal(0)  # the lines without a balance before the first line with one
        self._between = Decimal(0)  # ... since the last line with one
        self._first_day: date | None = None  # the first and the last line's days, in file order
        self._last_day: date | None = None
        self._up_holds = self._down_holds = 0  # the pairs that follow in each reading

    def add(self, line_number: int, amount: Decimal, balance: Decimal | None) -> None:
        """Take the next line of the file."""
        if balance is None:
            self.moved(amount)
            return
        previous, between = self._previous, self._between
        self._previous, self._between = (line_number, amount, balance), Decimal(0)
        if previous is None:
            self._first = self._previous
            return
        prev_line, prev_amount, prev_balance = previous
        if prev_balance + between + amount == balance:
            self._up_holds += 1
        elif self._ascending is None:
            self._ascending = RunningBreak(line_number, prev_balance + between + amount, balance)
        if balance + between + prev_amount == prev_balance:
            self._down_holds += 1
        else:
            # newest first: the lines before this one moved the balance from this line's to the one stated before.
            # Read from the oldest line, the first break is the last one met here, at the newer line of the pair
            self._descending = RunningBreak(prev_line, balance + between + prev_amount, prev_balance)

    def moved(self, amount: Decimal) -> None:
        """Take the next lines of the file, none of which states a balance: `amount` is their sum."""
        if self._previous is None:
            self._lead += amount
        else:
            self._between += amount

    def dated(self, first: date, last: date) -> None:
        """The days of the first and the last of the lines just taken (in file order)."""
        if self._first_day is None:
            self._first_day = first
        self._last_day = last

    def state(self) -> RunningState:
        """What the balance has followed so far (a range of a split file hands it to the reduce)."""
        return RunningState(self._first, self._previous, self._ascending, self._descending, self._lead,
                            self._between, self._first_day, self._last_day, self._up_holds, self._down_holds)

    @classmethod
    def resumed(cls, state: RunningState) -> RunningBalance:
        """A running balance that has followed what `state` says."""
        found = cls()
        found._first, found._previous = state.first, state.previous
        found._ascending, found._descending = state.ascending, state.descending
        found._lead, found._between = state.lead, state.between
        found._first_day, found._last_day = state.first_day, state.last_day
        found._up_holds, found._down_holds = state.up_holds, state.down_holds
        return found

    def then(self, later: RunningState) -> None:
        """Follow the lines `later` followed after this one's (the next range of a split file): exactly as
        if they had been added here one by one."""
        self.moved(later.lead)
        if later.first_day is not None and later.last_day is not None:
            self.dated(later.first_day, later.last_day)
        if later.first is None:
            return
        self._up_holds += later.up_holds
        self._down_holds += later.down_holds
        if self._previous is None:
            self._first, self._previous = later.first, later.previous
            self._ascending, self._descending = later.ascending, later.descending
            self._between = later.between
            return
        # the first line of the later part checks against the last of this one; the later part's own
        # breaks count only where this one has none
        self.add(*later.first)
        self._ascending = self._ascending or later.ascending
        self._descending = later.descending or self._descending
        self._previous, self._between = later.previous, later.between

    @property
    def first_break(self) -> RunningBreak | None:
        """None while one reading holds; else the break of the reading that held longest (`_newest_first`)."""
        up, down = self._ascending, self._descending
        if up is None or down is None:
            return None
        return down if self._newest_first() else up

    def _newest_first(self) -> bool:
        """Whether the file lists the lines newest first: the reading that holds where only one does; else its
        days where its first and last line's days differ (a wrong balance cannot turn the file then); else the
        reading in which more of its consecutive stated balances follow; oldest first where nothing says."""
        up, down = self._ascending, self._descending
        if (up is None) != (down is None):
            return up is not None
        first, last = self._first_day, self._last_day
        if first is not None and last is not None and first != last:
            return first > last
        return self._down_holds > self._up_holds

    def stated(self, account_ref: str | None, currency: str | None, *, oldest: date | None = None,
               newest: date | None = None) -> StatementBalances | None:
        """The opening and closing the column implies: before the oldest line, after the newest (the lines
        without a balance before and after the stated ones counted in), dated `oldest` and `newest`."""
        first, last = self._first, self._previous
        if first is None or last is None:
            return None
        if self._newest_first():
            opening, closing = last[2] - last[1] - self._between, first[2] + self._lead
        else:
            opening, closing = first[2] - first[1] - self._lead, last[2] + self._between
        return StatementBalances(account_ref=account_ref, currency=currency,
                                 opening=Balance(opening, oldest), closing=Balance(closing, newest))


def _earlier(last: StatementRecord, in_file: bool) -> str:
    """How a check names the statement before: the file's own, or the account's last confirmed one."""
    return "the statement before it in this file" if in_file else "the last confirmed statement"


def _gap(report: StatementReport, opening: Decimal, last: StatementRecord, currency: str | None, in_file: bool
         ) -> StatementCheck | None:
    missing = to_minor(opening - last.closing, currency)
    if not missing:
        return None
    start = last.end_date + timedelta(days=1)
    end = (report.start_date - timedelta(days=1)) if report.start_date else None
    if report.opening_date is not None and (end is None or report.opening_date < end):
        end = report.opening_date  # the day the opening balance is stated for (MT940: the previous closing day)
    days = end is not None and end >= start
    # (no day between the two statements: they do not join, but no day is uncovered)
    between = end is not None and not days
    span = f" ({start.isoformat()} to {end.isoformat()})" if days and end else ""
    what = (f"they do not join although no day lies between them, {missing} apart" if between
            else f"a statement{span} is missing, moving {missing}")
    return StatementCheck(
        code=STATEMENT_GAP, expected=last.closing, computed=opening, difference=missing,
        start_date=None if between else start, end_date=end if days else None, previous_import_id=last.import_id,
        message=f"the statement opens at {opening} but {_earlier(last, in_file)} closed at {last.closing} on "
                f"{last.closing_date.isoformat()}: {what}")


def _overlap(totals: StatementTotals, last: StatementRecord, in_file: bool) -> StatementCheck:
    return StatementCheck(
        code=STATEMENT_OVERLAP, start_date=totals.overlap_first_day, end_date=totals.overlap_last_day,
        line_count=totals.overlap_new, previous_import_id=last.import_id,
        message=f"{totals.overlap_new} line(s) fall within the period of {_earlier(last, in_file)} "
                f"(up to {last.end_date.isoformat()}) and are not duplicates of its lines")


#: how far a line may be dated outside its statement's period before it is named (`DateOutsideStatement`): a value
#: date standing in for the booking day may fall on the days around it (a weekend, a holiday; cheques valued ten
#: days on); a day and month written the wrong way round move a date by 29 days or more
OUTSIDE_DAYS = 14


def _outside(totals: StatementTotals) -> list[StatementCheck]:
    """A `DateOutsideStatement` check for the earliest line dated before the period the file states for the
    statement (camt `FrToDt`, OFX `DTSTART`), and one for the latest dated after it (its end, else the closing
    balance's day: MT940 `:62F:`), each more than OUTSIDE_DAYS away. An MT940 opening's day is not taken for
    the start: some banks write the day the file was made there; nor is a period of one day (an OFX `DTSTART` and
    `DTEND` both the moment of the download)."""
    b = totals.balances
    if b is None or totals.first_day is None or totals.last_day is None:
        return []
    start = b.period_start
    end = b.period_end or (b.closing.day if b.closing else None)
    slack = timedelta(days=OUTSIDE_DAYS)
    found = []
    if start is not None and end is not None and start < end and totals.first_day < start - slack:
        found.append(_dated_outside(totals.first_day, totals.first_day_line, start, end, "before the statement's "
                                    f"start ({start.isoformat()})", (start - totals.first_day).days))
    if end is not None and totals.last_day > end + slack:
        found.append(_dated_outside(totals.last_day, totals.last_day_line, start, end, "after the statement's "
                                    f"end ({end.isoformat()})", (totals.last_day - end).days))
    return found


def _dated_outside(day: date, line: int | None, start: date | None, end: date | None, where: str, days: int
                   ) -> StatementCheck:
    at = f"line {line}" if line is not None else "a line"
    return StatementCheck(
        code=DATE_OUTSIDE_STATEMENT, line_number=line, start_date=start, end_date=end,
        message=f"{at} is dated {day.isoformat()}, {days} days {where} as the file states it: check the line's "
                "date (its day and month the wrong way round?)")


def repeated(report: StatementReport, earlier: StatementReport) -> StatementCheck:
    """The check of a statement that repeats an earlier statement of the same file (`StatementReport.identity`):
    its lines are in the file twice, and would be imported twice."""
    return StatementCheck(
        code=STATEMENT_REPEATED, line_count=report.line_count, start_date=report.start_date,
        end_date=report.end_date, repeats_statement=earlier.index,
        message=f"the statement repeats statement {earlier.index} of this file (the same statement id, balances "
                f"and {report.line_count} line(s) summing to {report.line_sum}): its lines are in the file twice, "
                "so they are skipped (decision skip; import them in the review if the bank booked them twice)")


def assess(totals: StatementTotals, last: StatementRecord | None, *, account_identifier: str | None = None,
           in_file: bool = False) -> StatementReport:
    """The report of one statement: its figures and the checks that fail (`in_file`: `last` is the statement
    before it in the same file, not the account's last confirmed one)."""
    b = totals.balances
    currency = totals.currency or (b.currency if b else None)
    opening = b.opening.amount if b and b.opening else None
    closing = b.closing.amount if b and b.closing else None
    report = StatementReport(
        bank_account_id=totals.bank_account_id, account_identifier=account_identifier or totals.account_ref,
        index=totals.index, statement_id=b.statement_id if b else None, sequence=b.sequence if b else None,
        currency=currency, opening=opening, opening_date=b.opening.day if b and b.opening else None,
        closing=closing, closing_date=b.closing.day if b and b.closing else None,
        available=b.available.amount if b and b.available else None,
        interim=bool(b and (b.opening_interim or b.closing_interim)),
        computed_closing=opening + totals.total if opening is not None else None,
        line_count=totals.count, line_sum=totals.total, start_date=totals.start, end_date=totals.end,
        first_line=totals.first_line, last_line=totals.last_line, after_closing=totals.after_closing,
        foreign=totals.foreign)
    checks = report.checks
    brk = totals.running_break
    # a broken running-balance column is named at its line (the statement's sum would only repeat it)
    if opening is not None and closing is not None and brk is None:
        difference = to_minor(opening + totals.total - closing, currency)
        if difference:
            checks.append(StatementCheck(
                code=BALANCE_MISMATCH, expected=closing, computed=opening + totals.total, difference=difference,
                message=f"opening {opening} + lines {totals.total} = {opening + totals.total}, but the statement "
                        f"closes at {closing} (difference {difference})"))
    if brk is not None:
        checks.append(StatementCheck(
            code=BALANCE_MISMATCH, expected=brk.expected, computed=brk.stated, line_number=brk.line_number,
            difference=to_minor(brk.stated - brk.expected, currency),
            message=f"the running balance breaks at line {brk.line_number}: the line states {brk.stated}, "
                    f"the line before and its amount give {brk.expected}"))
    checks.extend(_outside(totals))
    if last is None or totals.foreign:
        return report
    if report.start_date is not None and report.start_date < last.end_date:
        # starts within the earlier statement: its opening is not the earlier closing, by design
        if totals.overlap_new:
            checks.append(_overlap(totals, last, in_file))
        return report
    start_from = opening if opening is not None else (closing - totals.total if closing is not None else None)
    if start_from is not None:
        gap = _gap(report, start_from, last, currency, in_file)
        if gap:
            checks.append(gap)
    return report
