"""The row-at-a-time ProcessingService that the batch path replaced, kept as the oracle of the differential
tests (the batch path must stage, judge, link and report exactly what this does), with the statement
checks and the pending / reversal links it gained (issue 12).

Parse and validate an uploaded file: stream it, stage rows in chunks, write the report.

Answers the workflow's next step: `review` (wait for confirmation; also after account discovery, until
the caller names the accounts), `confirm` (the review level lets it go on by itself), `done` (the import
was deleted meanwhile) or `failed` (status error: also a file with no importable line).

One run over a file is a `_Run`: it resolves each line's bank account (`_Accounts`), builds the staged
row (`_RowBuilder`: sign, deterministic id, duplicate verdict), and tallies what it saw (`_Tally`);
the warnings policy (`report_warnings`) and the review-level decision (`next_step`) read the tally.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from tests.support.reference.row_duplicates import DuplicateDetector
from tximport import money
from tximport.formats import base
from tximport.formats.accounts import candidates
from tximport.formats.dates import EARLIEST_DAY, LATEST_DAY, bookable
from tximport.formats.registry import get_format
from tximport.ids import content_key, reissued_id, transaction_id
from tximport.models import (
    MAX_VALIDATION_DETAILS,
    CurrencyTotal,
    DiscoveredAccount,
    ErrorDetail,
    Import,
    ImportBankAccount,
    ImportStatus,
    ReviewLevel,
    Severity,
    StagedRow,
    Summary,
    Tenant,
    TransactionSign,
    ValidationDetail,
    problem_target,
)
from tximport.services.lifecycle import Lifecycle
from tximport.services.processing import AMBIGUOUS_ACCOUNT, ambiguous_note
from tximport.services.statements import StatementService
from tximport.statements.collect import StatementCollector
from tximport.statements.pending import LineKey, expired, match_pending, reversed_line
from tximport.storage.ledger import LedgerStore, storable
from tximport.storage.objects import ObjectChanged, ObjectSource, ObjectStore
from tximport.storage.staging import Staging, TypedWriter, staging_prefix

log = logging.getLogger(__name__)

FILE_CHANGED = "FileChanged"
REPLAY_DETECTED = "ReplayDetected"

#: the workflow's next step after processing
Outcome = Literal["review", "confirm", "done", "failed"]

#: rows of the file a reversal may reverse, per account (besides the ledger's lines)
_RECENT_ROWS = 2000
#: how far back a reversal looks for the line it reverses
_REVERSAL_WINDOW_DAYS = 60
_MAX_EXPIRED_REPORTED = 50

#: identical-line counters kept over the days kept (the least recently met days are dropped beyond it)
ENTRY_WINDOW = 100_000


class _Occurrences:
    """Counts identical lines so their ids differ, with memory bounded by ENTRY_WINDOW counters.

    Line by line: when a line's day is not the previous line's, the counters the previous day gained are added
    up, the day becomes the most recent, and the least recently met days are dropped while the counters kept
    (the day entered with what it had) exceed the window (never the day entered). A date that comes back after
    its counters were dropped gets the line number mixed into the occurrence, which keeps ids unique (and still
    deterministic for the same file)."""

    def __init__(self) -> None:
        self._by_date: OrderedDict[date, dict[bytes, int]] = OrderedDict()
        self._evicted: set[date] = set()
        self._day: date | None = None
        self._size = 0
        self._entries = 0

    def _enter(self, day: date) -> None:
        if self._day is not None:  # the counters the day just left gained
            self._entries += len(self._by_date[self._day]) - self._size
        if day in self._by_date:
            self._by_date.move_to_end(day)
        else:
            self._by_date[day] = {}
        while self._entries > ENTRY_WINDOW and len(self._by_date) > 1:
            old, dropped = self._by_date.popitem(last=False)
            self._entries -= len(dropped)
            self._evicted.add(old)
        self._day, self._size = day, len(self._by_date[day])

    def next(self, day: date, key: bytes, line_number: int) -> int:
        if day != self._day:
            self._enter(day)
        counters = self._by_date[day]
        n = counters.get(key, 0) + 1
        counters[key] = n
        if day in self._evicted:
            return n * 1_000_000_000 + line_number
        return n


@dataclass(slots=True)
class _Side:
    """The staged lines of one sign: how many, and their sum."""

    count: int = 0
    total: Decimal = Decimal(0)


@dataclass(slots=True)
class _Tally:
    """What a run saw, as plain counters (updated once per line, so no validated model here)."""

    credits: _Side = field(default_factory=_Side)
    debits: _Side = field(default_factory=_Side)
    #: the credits and debits of each currency (None: no currency known)
    by_currency: dict[str | None, tuple[_Side, _Side]] = field(default_factory=dict)
    first_day: date | None = None
    last_day: date | None = None
    duplicates: int = 0
    foreign: int = 0
    # lines left out, by why
    rejected: int = 0
    ignored: int = 0
    pending: int = 0
    out_of_range: int = 0
    #: the kinds of problem among the rejected lines, by (code, target)
    problems: dict[tuple[str, str | None], ValidationDetail] = field(default_factory=dict)

    @property
    def lines(self) -> int:
        return self.credits.count + self.debits.count

    @property
    def currencies(self) -> set[str]:
        return {c for c in self.by_currency if c}

    def add(self, amount: Decimal, posted: date, currency: str | None) -> None:
        sides = self.by_currency.get(currency)
        if sides is None:
            sides = self.by_currency[currency] = (_Side(), _Side())
        credit = amount >= 0
        for side in (self.credits, sides[0]) if credit else (self.debits, sides[1]):
            side.count += 1
            side.total += amount
        if self.first_day is None or posted < self.first_day:
            self.first_day = posted
        if self.last_day is None or posted > self.last_day:
            self.last_day = posted

    def reject(self, error: base.LineError) -> None:
        """Count a rejected line under its kind of problem (validationDetails)."""
        self.rejected += 1
        target = problem_target(error.target)
        key = (error.code, target)
        problem = self.problems.get(key)
        if problem is None:
            if len(self.problems) >= MAX_VALIDATION_DETAILS:
                key = next(reversed(self.problems))  # the last kind counts the rest
                problem = self.problems[key]
            else:
                problem = self.problems[key] = ValidationDetail(
                    code=error.code, target=target, message=error.message, first_line_number=error.line_number)
        problem.count += 1

    def summary(self, *, overlap: int, accounts: int) -> Summary:
        """`statement.summary` of the import report."""
        totals = [CurrencyTotal(currency=c, credit_count=cr.count, credit_sum=cr.total, debit_count=db.count,
                                debit_sum=db.total)
                  for c, (cr, db) in sorted(self.by_currency.items(), key=lambda kv: kv[0] or "")]
        return Summary(
            account_details_count=accounts, transaction_details_count=self.lines,
            transaction_credit_count=self.credits.count, transaction_credit_sum=self.credits.total,
            transaction_debit_count=self.debits.count, transaction_debit_sum=self.debits.total,
            transaction_range_start_date=self.first_day, transaction_range_end_date=self.last_day,
            transaction_date_overlap_count=overlap, possible_duplicate_count=self.duplicates,
            rejected_line_count=self.rejected, ignored_line_count=self.ignored, currencies=sorted(self.currencies),
            totals=totals)


class _Accounts:
    """Which of the import's bank accounts a file's account reference names (decided once per reference)."""

    def __init__(self, imp: Import, fmt: base.FileFormat) -> None:
        self._accounts = imp.bank_accounts
        self._single = fmt.accounts_supported == "single"
        self._fuzzy = imp.fuzzy_account_matching
        self._resolved: dict[str | None, ImportBankAccount | None] = {}
        self._banks: dict[str, str] = {}
        #: the references that name more than one of the import's accounts, with those accounts' ids
        self.ambiguous: dict[str, list[str]] = {}

    def named(self, event: base.StatementAccount) -> None:
        """Learns the bank a statement names beside its account (OFX BANKID, a camt servicer BIC)."""
        if event.bank_id and event.account_ref not in self._resolved:
            self._banks[event.account_ref] = event.bank_id

    def of(self, ref: str | None) -> ImportBankAccount | None:
        if ref not in self._resolved:
            if ref is None:  # (a single-account format's line naming another account is that account's)
                self._resolved[ref] = self._accounts[0] if self._accounts else None
            else:
                pairs = [(a.id, a.account_identifier or "") for a in self._accounts]
                found = candidates(ref, pairs, self._fuzzy, self._banks.get(ref))
                if len(found) > 1:
                    self.ambiguous[ref] = [f"{a.id} ({a.account_identifier})" for a in self._accounts if a.id in found]
                self._resolved[ref] = next((a for a in self._accounts if [a.id] == found), None)
        return self._resolved[ref]


class _RowBuilder:
    """A parsed line of an account as its staged row: the account's sign convention, the line's
    deterministic id, and what the duplicate check says about it."""

    def __init__(self, detector: DuplicateDetector) -> None:
        self.detector = detector
        self.occurrences = _Occurrences()

    def build(self, line: base.ParsedLine, account: ImportBankAccount, currency: str | None) -> StagedRow:
        flip = account.transaction_sign == TransactionSign.REVERSED
        amount = -line.amount if flip else line.amount
        if not amount:
            amount = abs(amount)  # a zero is unsigned (`-0.00` as a file may write it is `0.00`)
        # a card account's balance and original amount turn with its amounts
        balance, original = line.balance, line.original_amount
        if flip:
            balance = -balance if balance is not None else None
            original = -original if original is not None else None
        description = line.description or ""
        day = line.date_posted
        occurrence = self.occurrences.next(day, content_key(account.id, day, amount, description),
                                           line.line_number)
        bank_id = line.bank_transaction_id
        bank_occurrence = self.occurrences.next(day, b"B\x1f" + bank_id.encode(), line.line_number) if bank_id else 1
        tx_id = transaction_id(account.id, date_posted=day, amount=amount, description=description,
                               bank_transaction_id=bank_id, occurrence=occurrence, pending=line.pending,
                               bank_occurrence=bank_occurrence)
        if bank_id and self.detector.collides(account.id, tx_id, day, amount):
            tx_id = reissued_id(tx_id, amount)
        verdict = self.detector.check(account.id, tx_id, day, amount, description, line.bank_transaction_id)
        return StagedRow(
            transaction_id=tx_id, bank_account_id=account.id, amount=amount, currency=currency,
            date_posted=day, value_date=line.value_date, description=description,
            line_number=line.line_number, bank_transaction_id=line.bank_transaction_id,
            reference=line.reference, counterparty_name=line.counterparty_name,
            counterparty_account=line.counterparty_account, balance=balance,
            original_amount=original, original_currency=line.original_currency,
            reversal=line.reversal,
            possible_duplicate=verdict is not None,
            duplicate_of=verdict.duplicate_of if verdict else None,
            duplicate_reason=({"reason": verdict.reason, "certain": verdict.certain, **verdict.evidence}
                              if verdict else None),
            default_decision="skip" if verdict and verdict.certain else "import",
        )


class _Links:
    """Links a run's rows to the ledger (tximport.statements.pending): a booked row to the open pending line
    it replaces, a reversal to the line it reverses; what stays pending too long is expired."""

    def __init__(self, ledger: LedgerStore, tenant: Tenant, window_days: int) -> None:
        self.ledger, self.tenant, self.window = ledger, tenant, window_days
        self.pending: dict[str, list[LineKey]] = {}  # open pending lines per account, read once
        self.recent: dict[str, deque[LineKey]] = {}  # the file's latest rows per account (reversals)
        self.days: OrderedDict[tuple[str, date], list[LineKey]] = OrderedDict()  # ledger days read for reversals
        self.booked_days: dict[str, set[date]] = {}
        self.last_day: date | None = None

    def _ledger_day(self, account_id: str, day: date) -> list[LineKey]:
        """The ledger's lines of one day (read once per run; the latest days kept)."""
        booked = self.booked_days.get(account_id)
        if booked is None:  # the days the account has lines on, read once (only when a reversal comes)
            booked = self.booked_days[account_id] = set(self.ledger.days(self.tenant, account_id))
        if day not in booked:
            return []
        found = self.days.get((account_id, day))
        if found is None:
            found = [LineKey(x.transaction_id, x.date_posted, x.amount, x.description, x.bank_transaction_id)
                     for x in self.ledger.day_lines(self.tenant, account_id, day)]
            self.days[(account_id, day)] = found
            if len(self.days) > _REVERSAL_WINDOW_DAYS * 4:
                self.days.popitem(last=False)
        return found

    def _open(self, account_id: str) -> list[LineKey]:
        if account_id not in self.pending:
            self.pending[account_id] = self.ledger.open_pending(self.tenant, account_id)
        return self.pending[account_id]

    def link(self, row: StagedRow) -> None:
        """Set `replaces_pending_id` / `reversal_of` on `row` where a line fits."""
        key = LineKey(row.transaction_id, row.date_posted, row.amount, row.description, row.bank_transaction_id)
        if self.last_day is None or row.date_posted > self.last_day:
            self.last_day = row.date_posted
        if not row.pending:
            pool = self._open(row.bank_account_id)
            match = match_pending(key, pool, self.window) if pool else None
            if match is not None:
                pool.remove(match)
                row.replaces_pending_id = match.transaction_id
                if row.duplicate_of == match.transaction_id:  # not a duplicate: it books the pending line
                    row.possible_duplicate, row.duplicate_of, row.duplicate_reason = False, None, None
                    row.default_decision = "import"
        recent = self.recent.setdefault(row.bank_account_id, deque(maxlen=_RECENT_ROWS))
        if row.reversal:
            earlier = list(recent)
            for back in range(_REVERSAL_WINDOW_DAYS + 1):
                earlier += self._ledger_day(row.bank_account_id, row.date_posted - timedelta(days=back))
            found = reversed_line(key, earlier, _REVERSAL_WINDOW_DAYS)
            row.reversal_of = found.transaction_id if found else None
        recent.append(key)

    def expired(self) -> list[ErrorDetail]:
        """`PendingExpired` for each open pending line not booked within the window of the file's newest line."""
        if self.last_day is None:
            return []
        found = [(account_id, p) for account_id, pool in self.pending.items()
                 for p in expired(pool, self.last_day, self.window)]
        return [ErrorDetail(severity=Severity.INFO, code="PendingExpired", target=p.transaction_id,
                            message=f"the pending line {p.transaction_id} of bank account {account_id} "
                                    f"({p.day.isoformat()}, {p.amount}) was not booked within {self.window} days")
                for account_id, p in found[:_MAX_EXPIRED_REPORTED]]


class _Run:
    """One pass over a file: every parse event goes to its place (staged rows, rejected lines, the
    accounts the file names) and is tallied."""

    def __init__(self, imp: Import, fmt: base.FileFormat, places: base.AmountPlaces, detector: DuplicateDetector,
                 rows: TypedWriter[StagedRow], errors: TypedWriter[ErrorDetail],
                 statements: StatementCollector | None = None, links: _Links | None = None) -> None:
        self.discovery = fmt.accounts_supported == "multi" and not imp.bank_accounts
        self.include_pending = imp.include_pending
        self.product = imp.product_dates
        self.accounts = _Accounts(imp, fmt)
        #: where the parse says its lines' amounts are, else where the format says
        self.places, self.amount_place, self.date_place = places, fmt.amount_target, fmt.date_target
        self.builder = _RowBuilder(detector)
        self.rows, self.errors = rows, errors
        self.tally = _Tally()
        self.discovered: dict[str, DiscoveredAccount] = {}
        self.statements = statements
        self.links = links
        #: what the file says about itself, by code (the first note of each code)
        self.notes: dict[str, base.FileNote] = {}
        self.note_counts: Counter[str] = Counter()  # every note of each code, the first included

    def take(self, event: base.ParseEvent) -> None:
        if isinstance(event, base.ParsedLine):
            self._line(event)
        elif isinstance(event, base.LineError) and event.pending and not self.include_pending and not self.discovery:
            self.tally.pending += 1
        elif isinstance(event, base.LineError):
            self._reject(event)
        elif isinstance(event, base.FileNote):
            self.notes.setdefault(event.code, event)
            self.note_counts[event.code] += 1
        elif isinstance(event, base.StatementBalances):
            self._balances(event)
        else:
            entry = self.discovered.setdefault(event.account_ref, DiscoveredAccount(
                account_identifier=event.account_ref, currency=event.currency, bank=event.bank_id))
            self.accounts.named(event)
            account = None if self.discovery else self.accounts.of(event.account_ref)
            entry.bank_account_id = account.id if account else None
            ambiguous = self.accounts.ambiguous.get(event.account_ref)
            if ambiguous:
                self.notes.setdefault(AMBIGUOUS_ACCOUNT, ambiguous_note(event, ambiguous))

    def _reject(self, event: base.LineError) -> None:
        self.tally.reject(event)
        self.errors.write(ErrorDetail.model_construct(
            severity=Severity.ERROR, code=event.code, message=event.message, target=event.target,
            line_number=event.line_number, actual_value=event.actual_value))

    def _line(self, line: base.ParsedLine) -> None:
        tally = self.tally
        if line.bank_transaction_id is not None and base.is_placeholder_id(line.bank_transaction_id):
            line.bank_transaction_id = None
        if line.account_ref is not None:
            entry = self.discovered.get(line.account_ref)
            if entry is None:
                entry = self.discovered[line.account_ref] = DiscoveredAccount(account_identifier=line.account_ref)
            entry.transaction_count += 1
        if self.discovery:
            return
        if line.pending and not self.include_pending:
            tally.pending += 1
            return
        if not bookable(line.date_posted):
            self._reject(base.LineError(
                line.line_number, base.INVALID_DATE, f"{line.date_posted} is not a day a transaction is booked "
                f"on ({EARLIEST_DAY} to {LATEST_DAY})", actual_value=line.date_posted.isoformat(),
                    target=self.places.date_of(line) or self.date_place))
            return
        account = self.accounts.of(line.account_ref)
        if account is None:
            tally.ignored += 1
            return
        currency = line.currency
        if not currency:  # the statement's currency, else the account's, where the line names none
            statement = self.discovered.get(line.account_ref or "")
            currency = (statement.currency if statement else None) or account.currency
        if self.product is not None and not self.product.covers(line.date_posted):
            tally.out_of_range += 1
            self._statement_line(line, account, currency, None)
            return
        if not self._storable(line):
            return
        if not self._fits(line, currency):
            return
        row = self.builder.build(line, account, currency)
        if self.links is not None:
            row.pending, row.reversal = line.pending, line.reversal
            self.links.link(row)
        self._statement_line(line, account, currency, row.possible_duplicate)
        if row.possible_duplicate:
            tally.duplicates += 1
        if account.currency and currency and currency.upper() != account.currency.upper():
            tally.foreign += 1
        tally.add(row.amount, row.date_posted, currency)
        self.rows.write(row)

    def _fits(self, line: base.ParsedLine, currency: str | None) -> bool:
        """Integers of minor units are the contract: a number finer than its currency is refused, never rounded
        (the amount and the balance in the line's currency, the original amount in its own)."""
        checks = [(line.amount, currency, "", self._amount_place(line))]
        if line.balance is not None:
            checks.append((line.balance, currency, "the balance ", self.places.balance_of(line)))
        if line.original_amount is not None:
            checks.append((line.original_amount, line.original_currency or currency, "the original amount ",
                           self.places.original_of(line)))
        for value, of, name, target in checks:
            if not money.fits(value, of):
                self._reject(base.LineError(
                    line.line_number, base.INVALID_AMOUNT,
                    f"{name}{format(value, 'f')} has more decimals than {of or 'an amount of unknown currency'} "
                    f"allows ({money.exponent(of)})", actual_value=format(value, "f"), target=target))
                return False
        return True

    def _storable(self, line: base.ParsedLine) -> bool:
        """A number the ledger cannot store exactly rejects its line here (InvalidAmount, naming it),
        never the commit: a commit that fails part-way would have to be undone."""
        for name, value in (("amount", line.amount), ("balance", line.balance),
                            ("originalAmount", line.original_amount)):
            if value is not None and not storable(value):
                self._reject(base.LineError(
                    line.line_number, base.INVALID_AMOUNT,
                    f"the {name} has more digits or a larger magnitude than the ledger stores exactly "
                    "(38 significant digits, 1E-130 to 1E+126)", actual_value=str(value)[:100],
                    target=self._amount_place(line) if name == "amount" else
                    self.places.balance_of(line) if name == "balance" else self.places.original_of(line)))
                return False
        return True

    def _amount_place(self, line: base.ParsedLine) -> str:
        """The place the parse names for the line's amount, else its format's."""
        named = self.places.of(line)
        return self.amount_place if named is None else named


    def _statement_line(self, line: base.ParsedLine, account: ImportBankAccount, currency: str | None,
                        duplicate: bool | None) -> None:
        if self.statements is None or line.pending:  # a booked balance leaves pending lines out
            return
        amount = -line.amount if account.transaction_sign == TransactionSign.REVERSED else line.amount
        self.statements.line(line.account_ref, account.id, amount=amount, day=line.date_posted, currency=currency,
                             line_number=line.line_number, file_amount=line.amount, balance=line.balance,
                             duplicate=duplicate)

    def _balances(self, event: base.StatementBalances) -> None:
        if self.statements is None or self.discovery:
            return
        account = self.accounts.of(event.account_ref)
        if account is not None:
            self.statements.balances(event, account.id,
                                     reversed_sign=account.transaction_sign == TransactionSign.REVERSED)


def report_warnings(tally: _Tally, overlap: int) -> list[ErrorDetail]:
    """What the report warns about (severity warning) and notes (severity info)."""
    found: list[tuple[Severity, str, int, str]] = [
        (Severity.WARNING, "RejectedLines", tally.rejected, "{} line(s) were rejected; see errordetails"),
        (Severity.WARNING, "TransactionDateOverlap", overlap,
         "{} transaction(s) already in the ledger on the days this file covers"),
        (Severity.WARNING, "PossibleDuplicates", tally.duplicates,
         "{} line(s) may be duplicates, of ledger lines or of lines before them in this file (see each line's "
         "duplicateReason)"),
        (Severity.WARNING, "CurrencyMismatch", tally.foreign,
         "{} line(s) are in another currency than their bank account's"),
        (Severity.INFO, "UnlistedAccountLines", tally.ignored,
         "{} line(s) belong to no single account listed on the import and were ignored"),
        (Severity.INFO, "PendingEntriesSkipped", tally.pending, "{} pending (not booked) entr(y/ies) skipped"),
        (Severity.INFO, "OutsideProductDates", tally.out_of_range, "{} line(s) outside productDates left out"),
    ]
    return [ErrorDetail(severity=severity, code=code, message=message.format(count))
            for severity, code, count, message in found if count]


def next_step(review_level: ReviewLevel, rejected: int, warnings: list[ErrorDetail]) -> Outcome:
    """minimalReview goes on unless lines were rejected; exceptionReview unless anything warns;
    fullReview always waits for confirmation."""
    warns = any(w.severity == Severity.WARNING for w in warnings)
    goes_on = (review_level == ReviewLevel.MINIMAL and not rejected) or (
        review_level == ReviewLevel.EXCEPTION and not warns)
    return "confirm" if goes_on else "review"


class ProcessingService:
    def __init__(self, *, lifecycle: Lifecycle, ledger: LedgerStore, objects: ObjectStore,
                 staging: Staging, statements: StatementService | None = None, pending_window_days: int = 10) -> None:
        self.lifecycle = lifecycle
        self.pending_window_days = pending_window_days
        self.statements = statements
        self.imports = lifecycle.imports
        self.ledger = ledger
        self.objects = objects
        self.staging = staging

    def process(self, imp: Import) -> Outcome:
        """Run the whole parse of `imp`; answers the next workflow step."""
        if imp.status == ImportStatus.DELETED:
            return "done"
        fmt = get_format(imp.file_format)
        head = self.objects.head(imp.s3_key)
        if head.size == 0:
            return self._fail(imp, base.EMPTY_FILE, "the uploaded file is empty")
        if head.size > fmt.max_file_size:
            return self._fail(imp, base.FILE_TOO_LARGE,
                              f"the file has {head.size} bytes; {fmt.file_format} accepts at most {fmt.max_file_size}")
        if imp.file_etag and head.etag != imp.file_etag:
            return self._fail(imp, FILE_CHANGED, "the uploaded file was replaced after processing began; "
                              "create a new import for the new file")
        imp.file_etag = head.etag
        source = ObjectSource(self.objects, imp.s3_key, head.size, head.etag)
        try:
            return self._read(imp, fmt, source)
        except ObjectChanged:
            return self._fail(imp, FILE_CHANGED, "the uploaded file was replaced while it was being read; "
                              "create a new import for the new file")

    def _read(self, imp: Import, fmt: base.FileFormat, source: ObjectSource) -> Outcome:
        if imp.bank_accounts and imp.bypass_replay_validation:
            imp.file_sha256 = source.sha256()  # remembered once complete, though not checked
        elif imp.bank_accounts:
            replayed = self._replay(imp, source)
            if replayed:
                return replayed
        # a re-run (amend) starts a new generation; the old staged rows go
        old_prefix = imp.staging_prefix
        imp.generation += 1
        prefix = staging_prefix(imp.tenant, imp.id, imp.generation)
        try:
            outcome = self._stage(imp, fmt, source, prefix)
        except base.FileError as exc:
            self.staging.delete(prefix)
            return self._fail(imp, exc.code, exc.message, target=exc.target, extra=exc.details)
        except ObjectChanged:
            self.staging.delete(prefix)
            raise
        if old_prefix and old_prefix != prefix:
            self.staging.delete(old_prefix)
            # decisions belong to the generation they were made on: the old one's no longer apply
            self.imports.delete_decisions(imp, generation=imp.generation - 1)
        return outcome

    def _replay(self, imp: Import, source: ObjectSource) -> Outcome | None:
        """Fails the import when the same file was already imported into one of its accounts."""
        digest = source.sha256()
        for account in imp.bank_accounts:
            earlier = self.imports.replay_of(imp.tenant, account.id, digest)
            if earlier and earlier != imp.id:
                return self._fail(imp, REPLAY_DETECTED,
                                  f"this file was already imported into bank account {account.id} by import "
                                  f"{earlier}; create the import with bypassReplayValidation: true to import it "
                                  "again", target="File", extra={"duplicateImportId": earlier})
        imp.file_sha256 = digest
        return None

    def _stage(self, imp: Import, fmt: base.FileFormat, source: ObjectSource, prefix: str) -> Outcome:
        # the parser takes the mapping document (and checks it again: once per file)
        options = base.ParseOptions(date_style=imp.date_style, mapping=imp.mapping.to_json() if imp.mapping else None,
                                    include_pending=imp.include_pending)
        detector = DuplicateDetector(self.ledger, imp.tenant)
        collector = self.statements.collector(imp) if self.statements and imp.bank_accounts else None
        links = _Links(self.ledger, imp.tenant, self.pending_window_days) if imp.bank_accounts else None
        run = _Run(imp, fmt, options.places, detector, self.staging.row_writer(prefix),
                   self.staging.error_writer(prefix), collector, links)
        for event in fmt.parser(source, options):
            run.take(event)
        imp.staging_prefix = prefix
        imp.chunk_keys = run.rows.close()
        imp.error_chunk_keys = run.errors.close()
        tally = run.tally
        overlap = detector.overlap_count() if not run.discovery else 0
        imp.summary = tally.summary(overlap=overlap,
                                    accounts=len(run.discovered) if run.discovered else len(imp.bank_accounts))
        imp.discovered_accounts = list(run.discovered.values())
        imp.validation_details = list(tally.problems.values())
        imp.interim_report = base.INTERIM_REPORT in run.notes
        more = {code: f" ({n - 1} more in the file)" if n > 1 else "" for code, n in run.note_counts.items()}
        notes = [ErrorDetail(severity=Severity(n.severity), code=n.code, line_number=n.line_number,
                             message=n.message + more[n.code], actual_value=n.actual_value) for n in run.notes.values()]
        warnings = report_warnings(tally, overlap) + notes
        if self.statements is not None and collector is not None:
            warnings += self.statements.assess(imp, collector)
        if links is not None:
            warnings += links.expired()
        imp.error_details = [d for d in imp.error_details if d.severity == Severity.ERROR] + warnings
        if run.discovery:
            return self._discovered(imp)
        nothing = self._nothing_to_import(imp, tally, notes)
        if nothing is not None:
            return nothing
        outcome = next_step(imp.review_level, tally.rejected, warnings)
        # the amend that took the last token is done with: the await step that follows parks a new one
        # (and must not mistake that amend for a decision taken from one of its own earlier attempts)
        imp.token_taken = None
        if outcome == "confirm":
            self.lifecycle.transition(imp, ImportStatus.FINAL_PROCESSING)
        else:
            # stays `processing` until the await step has parked its task token, so a client never
            # sees awaitingConfirmation before a confirm can be accepted
            self.imports.save(imp)
        return outcome

    def _discovered(self, imp: Import) -> Outcome:
        """Account discovery (a multi-account file, no accounts named): the import waits in
        awaitingConfirmation with the accounts the file holds in accountIdentifiers, until the caller
        names the accounts to import into (amendtransactions with bankAccounts) or deletes it."""
        if not imp.discovered_accounts:
            return self._fail(imp, base.INVALID_SOURCE_DATA, "the file holds no statement with a bank account to "
                              "discover (it holds no transaction, or its statements name no account): create the "
                              "import with the bank account in bankAccounts", target="File")
        names = ", ".join(a.account_identifier for a in imp.discovered_accounts)
        imp.error_details = [*imp.error_details, ErrorDetail(
            severity=Severity.INFO, code="AccountDiscovery",
            message=f"no bank accounts were named: the file holds {len(imp.discovered_accounts)} account(s) "
                    f"({names}); name the ones to import (amendtransactions with bankAccounts) or delete "
                    "the import")]
        self.imports.save(imp)  # awaitingConfirmation once the await step has parked its token
        return "review"

    def _nothing_to_import(self, imp: Import, tally: _Tally, notes: list[ErrorDetail]) -> Outcome | None:
        """A file without one importable line ends in error, saying why (never a silent complete)."""
        if tally.lines:
            return None
        left_out = [(tally.ignored, "belong to no single bank account named on the import"),
                    (tally.pending, "are pending (not booked; includePending imports them)"),
                    (tally.out_of_range, "fall outside productDates")]
        reasons = [f"{count} {why}" for count, why in left_out if count]
        if tally.rejected:
            reasons.insert(0, f"{tally.rejected} were rejected (see errordetails)")
        if reasons:
            return self._fail(imp, base.INVALID_SOURCE_DATA, "no line of the file can be imported: "
                              + "; ".join(reasons), target="File")
        more = "".join(f". {n.message}" for n in notes)
        return self._fail(imp, base.EMPTY_FILE, f"the file holds no transactions to import{more}", target="File")

    def _fail(self, imp: Import, code: str, message: str, *, target: str | None = "File",
              extra: dict[str, Any] | None = None) -> Outcome:
        detail = ErrorDetail(code=code, message=message, target=target)
        if extra:
            candidates = extra.get("candidates")
            if candidates:
                detail.message = f"{message} (candidates: {', '.join(map(str, candidates))})"
            imp.error_context = extra
        self.lifecycle.fail(imp, [detail])
        return "failed"
