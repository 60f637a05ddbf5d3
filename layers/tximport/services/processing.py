"""Parse and validate an uploaded file: stream it, stage rows in chunks, write the report.

Answers the workflow's next step: `review` (wait for confirmation; also after account discovery, until
the caller names the accounts), `confirm` (the review level lets it go on by itself), `done` (the import
was deleted meanwhile), `failed` (status error: also a file with no importable line) or `split` (a file
above the split size: its ranges are processed by the workflow's Map, then merged by the reduce,
`tximport.services.split`).

One run over a file is a `_Run`: it takes the parse events a few hundred at a time (the cyclic garbage
collector paused, `tximport.gcpause`), gathers parsed lines into batches and stages each batch a column at
a time. A CSV reader hands its plain blocks over as columns (`base.LineBlock`, one at a time): such a block is
staged from its columns, with no `ParsedLine` built or read per line, unless a check over them refuses it (then
it goes as the lines it stands for). Checks over a batch's columns (one account reference, one currency, every
amount written to its currency's decimals, every day within productDates) usually show that no line needs a check
of its own; otherwise the batch goes line by line into segments (consecutive lines of one account,
`_Accounts`). A segment's columns then give the signs, the deterministic ids (`tximport.services.line_ids`: the
lines counted in file order, hashed in one pass where they are read; a segment of lines each the first of its kind
on its day that nothing read is staged without them, and its readers compute them: `tximport.storage.staging`),
the duplicate verdicts, the pending and reversal links (`_Links`, only where a line has one), the
statement checks' lines (`StatementCollector`: the one per-statement aggregate), the report's counters
(`_Tally`, once per batch) and the chunk lines, written as JSON text. The warnings policy
(`report_warnings`) and the review-level decision (`next_step`) read the tally. The row-at-a-time path this
replaced is kept in tests/support/reference/row_processing.py as the oracle of the differential tests.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import islice
from json.encoder import encode_basestring_ascii
from operator import attrgetter
from typing import Any, Literal

from tximport import money
from tximport.errors import Conflict
from tximport.formats import base, ranges
from tximport.formats.accounts import candidates
from tximport.formats.dates import EARLIEST_DAY, LATEST_DAY, bookable
from tximport.formats.registry import get_format
from tximport.gcpause import collector_paused
from tximport.ids import plain_decimal, reissued_id
from tximport.models import (
    FINAL_STATUSES,
    MAX_VALIDATION_DETAILS,
    CurrencyTotal,
    Decision,
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
from tximport.services.duplicates import DuplicateDetector, Verdict
from tximport.services.lifecycle import Lifecycle
from tximport.services.line_ids import Bases, LineIds, amount_texts, joined_ids
from tximport.services.pinning import FILE_CHANGED, FILE_CHANGED_MESSAGE, UploadedFiles
from tximport.services.statements import StatementService
from tximport.statements.collect import StatementCollector
from tximport.statements.pending import LineKey, expired, match_pending, reversed_line
from tximport.storage.ledger import LedgerStore, storable
from tximport.storage.objects import ObjectChanged, ObjectSource, ObjectStore
from tximport.storage.split import SplitDocuments, manifest_key
from tximport.storage.staging import Staging, TypedWriter, staging_json, staging_prefix

log = logging.getLogger(__name__)

REPLAY_DETECTED = "ReplayDetected"
#: the note of a run that found the file's accounts, none being named (`_discovered`)
ACCOUNT_DISCOVERY = "AccountDiscovery"
PROCESSING_TIMEOUT = "ProcessingTimeout"

#: of the time a Process run has, the share kept for what follows the parse (closing the staged chunks, the
#: statement checks, the report's save), at most `_RESERVE_MAX_SECONDS`
_RESERVE_SHARE = 0.1
_RESERVE_MAX_SECONDS = 30.0

#: the workflow's next step after processing
Outcome = Literal["review", "confirm", "done", "failed", "split"]
#: the note of an import processed again because its accounts' ledger changed under its review (ImportService.
#: review_again): it stays across the runs, saying why the review changed
REVIEWED_AGAIN = "ReviewedAgain"

#: rows of the file a reversal may reverse, per account (besides the ledger's lines)
_RECENT_ROWS = 2000
#: how far back a reversal looks for the line it reverses
_REVERSAL_WINDOW_DAYS = 60
_MAX_EXPIRED_REPORTED = 50

@dataclass(slots=True)
class _Side:
    """The staged lines of one sign: how many, and their sum."""

    count: int = 0
    total: Decimal = Decimal(0)


@dataclass(slots=True)
class _Tally:
    """What a run saw, as plain counters (updated once per batch, so no validated model here)."""

    credits: _Side = field(default_factory=_Side)
    debits: _Side = field(default_factory=_Side)
    #: the credits and debits of each currency (None: no currency known)
    by_currency: dict[str | None, tuple[_Side, _Side]] = field(default_factory=dict)
    first_day: date | None = None
    last_day: date | None = None
    duplicates: int = 0
    #: staged lines in another currency than their bank account's
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

    def add_batch(self, by_currency: dict[str | None, tuple[_Side, _Side]], first: date | None,
                  last: date | None) -> None:
        """Count a batch's staged lines in (their credits and debits by currency, their first and last day)."""
        for currency, (credits, debits) in by_currency.items():
            sides = self.by_currency.get(currency)
            if sides is None:
                sides = self.by_currency[currency] = (_Side(), _Side())
            for total, part in ((self.credits, credits), (sides[0], credits), (self.debits, debits),
                                (sides[1], debits)):
                total.count += part.count
                total.total += part.total
        if first is not None and (self.first_day is None or first < self.first_day):
            self.first_day = first
        if last is not None and (self.last_day is None or last > self.last_day):
            self.last_day = last

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
            rejected_line_count=self.rejected,
            ignored_line_count=self.ignored, currencies=sorted(self.currencies), totals=totals)


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
        """The import's account `ref` names (a single-account format's lines are its one account's, unless a line
        names another account in an account column: those are another account's lines, left out)."""
        if ref not in self._resolved:
            if (self._single and ref is None) or (ref is None and len(self._accounts) == 1):
                self._resolved[ref] = self._accounts[0] if self._accounts else None
            elif ref is None:  # a statement naming no account, and several named: none is its own
                self._resolved[ref] = None
            else:
                pairs = [(a.id, a.account_identifier or "") for a in self._accounts]
                found = candidates(ref, pairs, self._fuzzy, self._banks.get(ref))
                if len(found) > 1:
                    self.ambiguous[ref] = [f"{a.id} ({a.account_identifier})" for a in self._accounts if a.id in found]
                self._resolved[ref] = next((a for a in self._accounts if [a.id] == found), None)
        return self._resolved[ref]


#: a statement whose account reference names several of the import's accounts (its lines are left out)
AMBIGUOUS_ACCOUNT = "AmbiguousAccount"


def ambiguous_note(event: base.StatementAccount, accounts: list[str]) -> base.FileNote:
    return base.FileNote(AMBIGUOUS_ACCOUNT, f"the statement of account {event.account_ref} may be any of "
                         f"{len(accounts)} bank accounts named on the import ({', '.join(accounts)}): its lines were "
                         "left out; import it with the one account it belongs to", severity="warning",
                         line_number=event.line_number, actual_value=event.account_ref)


_UNKNOWN = object()

#: parsed lines handled at once (the per-line work is a tight loop over a batch; memory stays one batch)
BATCH_LINES = 4096
#: parse events taken from the reader at once (the deadline is checked after each such run of events)
_FEED_EVENTS = 512
#: parse events taken at once from a parser that hands over `LineBlock`s, after lines (a block holds a
#: thousand lines or so: a block is taken alone, and a few events at a time keep the lines in memory bounded)
_FEED_BLOCKS = 8


def _event_line(event: base.ParseEvent) -> int | None:
    if isinstance(event, base.LineBlock):
        return event.line_numbers[-1] if event.line_numbers else None
    return getattr(event, "line_number", None)
#: distinct values kept by the small caches of the batch loop (days' ISO text, amounts' normalized text)
_CACHE_LIMIT = 50_000

_string = encode_basestring_ascii  # a JSON string literal, escaped as json.dumps escapes it


def _opt_text(name: str, value: str | None) -> str:
    return "" if value is None else f',"{name}":{_string(value)}'


_optional = attrgetter("value_date", "bank_transaction_id", "reference", "counterparty_name",
                       "counterparty_account", "balance", "original_amount", "original_currency")
_NO_OPTIONAL = (None,) * 8


def _money_text(name: str, value: Decimal, flip: bool) -> str:
    """A money field of a chunk line (a zero unsigned, as amounts are: `_unsigned_zeros`; `flip`: a card
    account's, turned with its amounts)."""
    if flip:
        value = -value
    return f',"{name}":"{plain_decimal(value if value else abs(value))}"'


def _row_tail(line: base.ParsedLine, flip: bool) -> str:
    """The optional fields of a staged row's chunk line (absent values are left out; `flip`: the balance and
    original amount of a card account, turned with its amounts)."""
    tail = ""
    if line.value_date is not None:
        tail += f',"valueDate":"{line.value_date.isoformat()}"'
    tail += _opt_text("bankTransactionId", line.bank_transaction_id)
    tail += _opt_text("reference", line.reference)
    tail += _opt_text("counterpartyName", line.counterparty_name)
    tail += _opt_text("counterpartyAccount", line.counterparty_account)
    if line.balance is not None:
        tail += _money_text("balance", line.balance, flip)
    if line.original_amount is not None:
        tail += _money_text("originalAmount", line.original_amount, flip)
    return tail + _opt_text("originalCurrency", line.original_currency)


def _row_tails(cols: _Columns, staged: _Staged) -> list[str] | None:
    """The optional fields of each staged row's chunk line (`_row_tail`); None where no line has one."""
    if cols.block is not None:
        return _block_tails(cols.block, cols.reversed)
    optional = list(map(_optional, staged.lines))
    if optional.count(_NO_OPTIONAL) == len(optional):
        return None
    flip = cols.reversed
    return ["" if o == _NO_OPTIONAL else _row_tail(line, flip)
            for o, line in zip(optional, staged.lines, strict=True)]


def _block_tails(block: base.LineBlock, flip: bool) -> list[str] | None:
    """`_row_tail` of every line of a block, a column at a time; None where it has no optional column."""
    parts: list[list[str]] = []
    if block.value_dates is not None:
        parts.append(["" if d is None else f',"valueDate":"{d.isoformat()}"' for d in block.value_dates])
    for name, texts in (("bankTransactionId", block.bank_ids), ("reference", block.references),
                        ("counterpartyName", block.counterparty_names),
                        ("counterpartyAccount", block.counterparty_accounts)):
        if texts is not None:
            parts.append([_opt_text(name, text) for text in texts])
    for name, numbers in (("balance", block.balances), ("originalAmount", block.original_amounts)):
        if numbers is not None:
            parts.append(["" if v is None else _money_text(name, v, flip) for v in numbers])
    if block.original_currencies is not None:
        parts.append([_opt_text("originalCurrency", text) for text in block.original_currencies])
    return list(map("".join, zip(*parts, strict=True))) if parts else None


def _verdict_tail(verdict: Verdict | None) -> str:
    """A chunk line's verdict fields (a new line leaves them out: `decode_row` reads their absence as
    `possibleDuplicate` false, `defaultDecision` import)."""
    if verdict is None:
        return "}"
    reason = {"reason": verdict.reason, "certain": verdict.certain, **verdict.evidence}
    return (f',"possibleDuplicate":true,"duplicateOf":{_string(verdict.duplicate_of)},'
            f'"duplicateReason":{staging_json(reason)},"defaultDecision":"{"skip" if verdict.certain else "import"}"}}')


#: a row of the file a later reversal may reverse: LineKey's fields (id, day, amount, description, bank id)
_RecentRow = tuple[str, date, Decimal, str, str | None]


class _Links:
    """Links a run's rows to the ledger (tximport.statements.pending): a booked row to the open pending line
    it replaces, a reversal to the line it reverses; what stays pending too long is expired."""

    def __init__(self, ledger: LedgerStore, tenant: Tenant, window_days: int, *, reversals: bool = True) -> None:
        self.ledger, self.tenant, self.window = ledger, tenant, window_days
        #: the file's format marks reversals: the file's latest rows are kept for them
        self.reversals = reversals
        self.pending: dict[str, list[LineKey]] = {}  # open pending lines per account, read once
        #: the file's latest rows per account (reversals), as LineKey's fields
        self.recent: dict[str, deque[_RecentRow]] = {}
        self.days: OrderedDict[tuple[str, date], list[LineKey]] = OrderedDict()  # ledger days read for reversals
        self.booked_days: dict[str, set[date]] = {}
        self.last_day: date | None = None
        # what the reduce of a split file checks ranges against each other with: the pending lines
        # replaced, the lines reversed, and the accounts whose reversals looked back past the range's start
        self.replaced_ids: list[str] = []
        self.reversed_ids: list[str] = []
        self.short_lookback: set[str] = set()

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

    def open(self, account_id: str) -> list[LineKey]:
        """The account's open pending lines not matched yet in this run (read once per account)."""
        found = self.pending.get(account_id)
        if found is None:
            found = self.pending[account_id] = self.ledger.open_pending(self.tenant, account_id)
        return found

    def recent_rows(self, account_id: str) -> deque[_RecentRow]:
        """The account's latest staged rows of this file (a reversal may reverse one of them)."""
        found = self.recent.get(account_id)
        if found is None:
            found = self.recent[account_id] = deque(maxlen=_RECENT_ROWS)
        return found

    def replaced(self, key: LineKey, pool: list[LineKey]) -> str | None:
        """The id of the open pending line (of `pool`, the account's) the booked line `key` replaces."""
        match = match_pending(key, pool, self.window)
        if match is None:
            return None
        pool.remove(match)
        self.replaced_ids.append(match.transaction_id)
        return match.transaction_id

    def reversed(self, account_id: str, key: LineKey, recent: deque[_RecentRow]) -> str | None:
        """The id of the line the reversal `key` reverses: one of the file's rows or the ledger's lines."""
        target = -key.amount  # only a row of the opposite amount can be reversed by it (`reversed_line`)
        earlier = [LineKey(*row) for row in recent if row[2] == target]
        if len(recent) < _RECENT_ROWS:  # all of the account's rows of this run so far
            self.short_lookback.add(account_id)
        for back in range(_REVERSAL_WINDOW_DAYS + 1):
            earlier += self._ledger_day(account_id, key.day - timedelta(days=back))
        found = reversed_line(key, earlier, _REVERSAL_WINDOW_DAYS)
        if found is None:
            return None
        self.reversed_ids.append(found.transaction_id)
        return found.transaction_id

    def seen(self, last_day: date | None) -> None:
        """The newest day a batch staged (what expiry is measured from)."""
        if last_day is not None and (self.last_day is None or last_day > self.last_day):
            self.last_day = last_day

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


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a parse must stop, on a monotonic clock: a run past it ends the import in error
    (ProcessingTimeout) before the Process step's timeout, so its account is released at once."""

    at: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def within(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    def passed(self) -> bool:
        return self.clock() >= self.at


def parse_budget(*, remaining_seconds: float | None = None, step_timeout_seconds: float | None = None,
                 configured_seconds: float | None = None) -> float | None:
    """The seconds a parse may take: the least of Lambda's remaining time and the step's timeout, less a
    reserve for the work after the parse, and of the configured budget (None: no limit known)."""
    limits = [x for x in (remaining_seconds, step_timeout_seconds) if x is not None]
    budget = None
    if limits:
        time_left = min(limits)
        budget = time_left - min(_RESERVE_MAX_SECONDS, time_left * _RESERVE_SHARE)
    if configured_seconds is not None:
        budget = configured_seconds if budget is None else min(budget, configured_seconds)
    return budget


def _links_tail(pending: bool, reversal: bool, replaces: str | None, reversal_of: str | None) -> str:
    """The statement-truth fields of a chunk line (only where set, as `encode_row` leaves them)."""
    tail = ',"reversal":true' if reversal else ""
    if pending:
        tail += ',"pending":true'
    tail += _opt_text("replacesPendingId", replaces)
    return tail + _opt_text("reversalOf", reversal_of)


#: a gathered event: a parsed line, or a rejected one (kept in the batch so errors stay in file order)
_Gathered = base.ParsedLine | base.LineError

_REF = attrgetter("account_ref")
_PENDING = attrgetter("pending")
_REVERSAL = attrgetter("reversal")
_CURRENCY = attrgetter("currency")
_DAY = attrgetter("date_posted")
_AMOUNT = attrgetter("amount")
_BALANCE = attrgetter("balance")
_ORIGINAL = attrgetter("original_amount")
_ORIGINAL_CURRENCY = attrgetter("original_currency")
_LINE_NUMBER = attrgetter("line_number")
_DESCRIPTION = attrgetter("description")
_BANK_ID = attrgetter("bank_transaction_id")
_ZERO = Decimal(0)
#: the quantum of each currency exponent (an amount written with exactly its currency's decimals has it)
_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(0, 7)}


#: per currency exponent: a decimal beyond it, in decimal texts
_EXTRA_DECIMAL = {places: re.compile(rf"\.[0-9]{{{places + 1}}}") for places in range(0, 7)}
#: a decimal text this long or shorter has fewer than 38 significant digits (the ledger's limit)
_SHORT_TEXT = 30


@dataclass(slots=True)
class _Plain:
    """Amounts written plainly (`plain_money`): their texts, with what the check found over them, kept for the
    columns, the ids and the counters (each a pass over the texts otherwise)."""

    texts: list[str]
    #: the texts joined by line breaks
    joined: str
    #: the longest text's length
    longest: int
    #: whether a text ends in a zero after its point (None: not known)
    zero_ended: bool | None = None


def _plain(values: list[Decimal], currency: str | None, places: int | None = None,
           written: base.WrittenAmounts | None = None) -> _Plain | None:
    """`plain_money`, with the passes over the texts kept. Where the reader's texts come with what their shapes
    tell (`written.shapes`: digits, a sign and a point only), their decimals and lengths are not looked for again."""
    texts = list(map(str, values)) if written is None else written.texts
    limit = money.exponent(currency) if places is None else places
    extra = _EXTRA_DECIMAL.get(limit)
    joined = "\n".join(texts)
    shapes = written.shapes if written is not None else None
    if shapes is not None:
        if extra is None or shapes.decimals > limit or shapes.longest > _SHORT_TEXT:
            return None
        return _Plain(texts, joined, shapes.longest, shapes.zero_ended)
    if extra is None or "E" in joined or "N" in joined or "I" in joined or extra.search(joined):
        return None
    longest = max(map(len, texts), default=0)
    return None if longest > _SHORT_TEXT else _Plain(texts, joined, longest)


def plain_money(values: list[Decimal], currency: str | None, places: int | None = None,
                written: base.WrittenAmounts | None = None) -> list[str] | None:
    """The decimal texts of `values`, where every one is written plainly (no exponent, finite), has at most the
    currency's decimals (or `places`) and fewer than 30 characters: then each fits its currency and is
    storable, with no check of its own. None says only that the values need checking one by one. `written`: the
    values as `str()` writes them, where known (a reader's, `LineBlock.written`)."""
    found = _plain(values, currency, places, written)
    return None if found is None else found.texts


def _present(values: list[Decimal | None]) -> list[Decimal]:
    """The values that are there (`is not None`: comparing a Decimal with None by `==` costs ten times more)."""
    return [v for v in values if v is not None]


def plain_extras(balances: list[Decimal | None] | None, originals: list[Decimal | None] | None,
                 original_currencies: list[str | None] | None, currency: str | None) -> bool:
    """Whether the balances (in `currency`) and the original amounts (each in its own currency, else in
    `currency`) present are all plain (`plain_money`): else the lines need checking one by one."""
    if balances is not None and plain_money(_present(balances), currency) is None:
        return False
    if originals is None:
        return True
    present = _present(originals)
    if not present:
        return True
    named = set(original_currencies) if original_currencies is not None else {None}
    places = min(money.exponent(c or currency) for c in named)  # (the fewest decimals any of them allows)
    return plain_money(present, currency, places) is not None


class _BlockLines(Sequence[base.ParsedLine]):
    """The lines of a `LineBlock`, built only where a check needs them one by one (the block's columns serve
    the rest: `_Columns.of`)."""

    __slots__ = ("block", "_lines")

    def __init__(self, block: base.LineBlock) -> None:
        self.block = block
        self._lines: list[base.ParsedLine] | None = None

    def __len__(self) -> int:
        return len(self.block)

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __iter__(self) -> Iterator[base.ParsedLine]:
        return iter(self._all())

    def _all(self) -> list[base.ParsedLine]:
        if self._lines is None:
            self._lines = self.block.lines()
        return self._lines


_Lines = list[base.ParsedLine] | _BlockLines


@dataclass(slots=True)
class _Staged:
    """The staged lines of a segment with their currencies."""

    lines: _Lines
    currencies: list[str | None]
    #: the lines' amounts as the file signs them, as decimal texts (None: not known yet)
    plain: _Plain | None = None
    #: the first and last of the lines' days (None: not known yet)
    span: tuple[date, date] | None = None


@dataclass(slots=True)
class _Segment:
    """Consecutive kept lines of a batch with one account reference and account, each with its currency
    (the line's, else its statement's, else its account's) and whether it is staged (`staged` None: all;
    False: outside productDates, only the statement checks count it)."""

    ref: str | None
    account: ImportBankAccount
    lines: _Lines
    currencies: list[str | None]
    staged: list[bool] | None
    #: the lines' amounts as decimal texts, where known already (all lines staged)
    plain: _Plain | None = None
    #: the first and last of the lines' days, where known already (all lines staged)
    span: tuple[date, date] | None = None

    def add(self, line: base.ParsedLine, currency: str | None, staged: bool) -> None:
        assert isinstance(self.lines, list)
        self.lines.append(line)
        self.currencies.append(currency)
        assert self.staged is not None
        self.staged.append(staged)

    def staged_lines(self) -> _Staged:
        if self.staged is None or False not in self.staged:
            return _Staged(self.lines, self.currencies, self.plain, self.span)
        pairs = [(line, c) for line, c, staged in zip(self.lines, self.currencies, self.staged, strict=True) if staged]
        return _Staged([p[0] for p in pairs], [p[1] for p in pairs])


#: a decimal text of a zero with a sign (`-0.00`, `-0`, `+0` never reaches here: Decimal writes no plus)
_SIGNED_ZERO = re.compile(r"^-0*(?:\.0*)?$", re.MULTILINE)


def _unsigned_zeros(amounts: list[Decimal], texts: list[str]) -> tuple[list[Decimal], list[str]]:
    """The amounts and their texts with every zero unsigned (`-0.00` as a file may write it is `0.00`, with
    its decimals): a zero is no debit, and the staged row, the ledger and the ids write it one way."""
    unsigned = [a.copy_abs() if not a and a.is_signed() else a for a in amounts]
    return unsigned, [t[1:] if t[:1] == "-" and not a else t for a, t in zip(unsigned, texts, strict=True)]


@dataclass(slots=True)
class _Columns:
    """The columns of a segment's staged lines (amounts signed as the ledger keeps them)."""

    days: list[date]
    isos: list[str]
    amounts: list[Decimal]
    #: the amounts' plain decimal texts (`plain_decimal`), and those joined by line breaks
    texts: list[str]
    joined: str
    #: the longest text's length, and whether a text ends in a zero after its point (None: not known)
    longest: int | None
    zero_ended: bool | None
    #: the first and last day
    span: tuple[date, date]
    descriptions: list[str]
    bank_ids: list[str | None]
    line_numbers: Sequence[int]
    pendings: list[bool]
    #: whether a line has a bank id, and whether one is pending
    banked: bool
    pending: bool
    #: the block the lines are (none of them pending or a reversal), where they are a block's
    block: base.LineBlock | None = None
    #: the account reverses the file's signs (a card account): its balances and original amounts turn too
    reversed: bool = False

    @classmethod
    def of(cls, staged: _Staged, reversed_sign: bool, isos: dict[date, str]) -> _Columns:
        lines = staged.lines
        block = lines.block if type(lines) is _BlockLines else None
        days = block.days if block is not None else list(map(_DAY, lines))
        day_isos = _isos(days, isos)
        amounts = block.amounts if block is not None else list(map(_AMOUNT, lines))
        if reversed_sign:
            amounts = [-a for a in amounts]
        plain = staged.plain if not reversed_sign else None
        zero_ended = None
        if plain is not None:
            texts, joined, longest, zero_ended = plain.texts, plain.joined, plain.longest, plain.zero_ended
        else:
            texts, longest = list(map(str, amounts)), None
            joined = "\n".join(texts)
            if "E" in joined:  # str() chose an exponent for some
                texts = [plain_decimal(a) for a in amounts]
                joined = "\n".join(texts)
        if "-0" in joined and _SIGNED_ZERO.search(joined):  # (a text starting -0 is rare: one scan first)
            amounts, texts = _unsigned_zeros(amounts, texts)
            joined, longest, zero_ended = "\n".join(texts), None, None
        span = staged.span or (min(days), max(days))
        if block is not None:  # (a block's descriptions are texts, none of its lines is pending)
            n = len(days)
            bank_ids = block.bank_ids
            return cls(days, day_isos, amounts, texts, joined, longest, zero_ended, span, block.descriptions,
                       bank_ids or [None] * n, block.line_numbers, [False] * n, bool(bank_ids and any(bank_ids)),
                       False, block, reversed_sign)
        descriptions = list(map(_DESCRIPTION, lines))
        if None in descriptions:
            descriptions = [d or "" for d in descriptions]
        bank_ids, pendings = list(map(_BANK_ID, lines)), list(map(_PENDING, lines))
        return cls(days, day_isos, amounts, texts, joined, longest, zero_ended, span, descriptions, bank_ids,
                   list(map(_LINE_NUMBER, lines)), pendings, any(bank_ids), True in pendings, None, reversed_sign)


def _isos(days: list[date], isos: dict[date, str]) -> list[str]:
    """The days' ISO texts (`isos`: a cache of them, kept up to `_CACHE_LIMIT` days)."""
    try:
        return list(map(isos.__getitem__, days))
    except KeyError:
        if len(isos) > _CACHE_LIMIT:
            isos.clear()
        isos.update((day, day.isoformat()) for day in set(days) if day not in isos)
        return list(map(isos.__getitem__, days))


@dataclass(slots=True)
class _BatchCounts:
    """A batch's counters (added to the run's tally once per batch)."""

    sides: dict[str | None, tuple[_Side, _Side]] = field(default_factory=dict)
    first: date | None = None
    last: date | None = None
    duplicates: int = 0

    def count(self, currencies: list[str | None], cols: _Columns, verdicts: list[Verdict | None],
              total: Decimal | None = None) -> None:
        """Count a segment's staged lines in (`total`: the sum of their amounts, where the statement checks took it)."""
        self.duplicates += len(verdicts) - verdicts.count(None)
        first, last = cols.span
        self.first = first if self.first is None else min(self.first, first)
        self.last = last if self.last is None else max(self.last, last)
        if currencies.count(currencies[0]) == len(currencies):
            self._add_column(currencies[0], cols, total)
            return
        by_currency: dict[str | None, list[Decimal]] = {}
        for currency, amount in zip(currencies, cols.amounts, strict=True):
            by_currency.setdefault(currency, []).append(amount)
        for currency, amounts in by_currency.items():
            self._add(currency, amounts)

    def _sides(self, currency: str | None) -> tuple[_Side, _Side]:
        sides = self.sides.get(currency)
        if sides is None:
            sides = self.sides[currency] = (_Side(), _Side())
        return sides

    def _add(self, currency: str | None, amounts: list[Decimal]) -> None:
        credits = [a for a in amounts if a >= _ZERO]  # (against a Decimal: against the int 0 it costs twice)
        debits = [a for a in amounts if a < _ZERO] if len(credits) < len(amounts) else []
        for side, part in zip(self._sides(currency), (credits, debits), strict=True):
            side.count += len(part)
            side.total = sum(part, side.total)

    def _add_column(self, currency: str | None, cols: _Columns, total: Decimal | None) -> None:
        """`_add` of a segment's amounts, all of one currency, from their total (`total`, else summed here): the
        debits are told by their texts' minus (a zero is unsigned), and where some lines are credits and some
        debits only the credits are picked out and summed; the debits' sum is the total less theirs. The sums
        are exact (`_plain` amounts in 80 digits), so each is the one added up line by line, written with the
        finest exponent of its own lines (`_finest_debit`)."""
        amounts, joined = cols.amounts, cols.joined
        n = len(amounts)
        debits = joined.count("\n-") + joined.startswith("-")
        if total is None:
            total = sum(amounts, _ZERO)
        credit_side, debit_side = self._sides(currency)
        if debits in (0, n):
            side = debit_side if debits else credit_side
            side.count += n
            side.total += total
            return
        credits = [a for a in amounts if a >= _ZERO]
        credit_sum = sum(credits, _ZERO)
        debit_sum = total - credit_sum
        if not _finest_debit(joined, debit_sum):
            debit_sum = sum([a for a in amounts if a < _ZERO], _ZERO)
        credit_side.count += len(credits)
        credit_side.total += credit_sum
        debit_side.count += n - len(credits)
        debit_side.total += debit_sum


#: per number of decimals: a debit's decimal text with that many (one line of texts joined by line breaks)
_DEBIT_DECIMALS: dict[int, re.Pattern[str]] = {}


def _finest_debit(joined: str, debit_sum: Decimal) -> bool:
    """Whether `debit_sum` (computed as the total less the credits: the finest exponent of all the lines) has the
    finest exponent of the debits' own: one of them is written with as many decimals (`joined`: the lines' texts),
    as a debit usually is. (A sum's exponent is its terms' finest, start's 0 included.)"""
    exponent = debit_sum.as_tuple().exponent
    if not isinstance(exponent, int) or exponent >= 0:
        return exponent == 0
    pattern = _DEBIT_DECIMALS.get(-exponent)
    if pattern is None:
        pattern = _DEBIT_DECIMALS[-exponent] = re.compile(rf"^-[0-9]*\.[0-9]{{{-exponent}}}$", re.MULTILINE)
    return pattern.search(joined) is not None


def _foreign(currencies: list[str | None], expected: str) -> int:
    """How many of `currencies` name another currency than `expected` (a bank account's)."""
    expected = expected.upper()
    return sum(1 for c in currencies if c and c.upper() != expected)


_PLAIN_TAIL = _verdict_tail(None)


class _SegmentIds:
    """A segment's ids, hashed only where they are read (`line_ids.Bases`) and joined with their days only where
    they are read whole (the duplicate check, the links). A segment whose ids nothing read and whose lines are
    each the first of its kind on its day is staged without them: a reader computes each one from its line
    (`tximport.storage.staging`), as most are read once, by the commit."""

    __slots__ = ("counted", "joined")

    def __init__(self, counted: Bases) -> None:
        self.counted = counted
        #: the ids, once joined (None: not yet)
        self.joined: list[str] | None = None

    def all(self) -> list[str]:
        """The ids (joined once: a change to the list is a change to the ids)."""
        if self.joined is None:
            self.joined = joined_ids(self.counted.isos, self.counted.hashes())
        return self.joined

    def left_to_readers(self) -> bool:
        """Whether the chunk lines go without their ids (nothing read them, each line's is its first's)."""
        return self.joined is None and self.counted.firsts


def _chunk_text(account_id: str, ids: _SegmentIds, cols: _Columns, staged: _Staged, verdicts: list[Verdict | None],
                links: list[str] | None) -> str:
    """The chunk lines of a segment's staged lines, as `encode_row` writes them (absent values left out), in one
    text, each ended by a line break. The common segment (one currency, no optional field, no verdict, no link) is
    written a column at a time (`_plain_rows`); the others a line at a time (`_json_lines`)."""
    currencies = staged.currencies
    row_tails = _row_tails(cols, staged)
    if (row_tails is None and links is None and verdicts.count(None) == len(verdicts)
            and currencies.count(currencies[0]) == len(currencies)):
        return "".join(_plain_rows(account_id, ids, cols, currencies[0]))
    lines = _json_lines(account_id, ids.all(), cols, currencies, verdicts, row_tails, links)
    lines.append("")
    return "\n".join(lines)


def _plain_rows(account_id: str, ids: _SegmentIds, cols: _Columns, currency: str | None) -> list[str]:
    """The parts of the common segment's chunk lines, in order, to be joined once: the constant texts of a line's
    template repeated, its fields laid in by slices over its places (the template's empty texts), a column at a
    time (no string built per line). The id is left out where its readers compute it, else written from its day and
    hash where nothing joined the ids (`_SegmentIds`)."""
    account = f'","bankAccountId":{_string(account_id)},"amount":"'
    after = f'","currency":{"null" if currency is None else _string(currency)},"datePosted":"'
    n = len(cols.isos)
    if ids.left_to_readers():
        parts = [f'{{"bankAccountId":{_string(account_id)},"amount":"', "", after, "", '","description":', "",
                 ',"lineNumber":', "", "}\n"] * n
        first = 1
    elif ids.joined is None:
        parts = ['{"transactionId":"', "", "-", "", account, "", after, "", '","description":', "", ',"lineNumber":',
                 "", "}\n"] * n
        parts[1::13], parts[3::13] = cols.isos, ids.counted.hashes()
        first = 5
    else:
        parts = ['{"transactionId":"', "", account, "", after, "", '","description":', "", ',"lineNumber":', "",
                 "}\n"] * n
        parts[1::11] = ids.joined
        first = 3
    step = first + 8
    parts[first::step] = cols.texts
    parts[first + 2::step] = cols.isos
    parts[first + 4::step] = map(_string, cols.descriptions)
    parts[first + 6::step] = map(str, cols.line_numbers)
    return parts


def _json_lines(account_id: str, ids: list[str], cols: _Columns, currencies: list[str | None],
                verdicts: list[Verdict | None], row_tails: list[str] | None, links: list[str] | None) -> list[str]:
    """The chunk lines of a segment's staged lines one by one, each with its tail: its optional fields
    (`row_tails`), its links (`links`) and its verdict."""
    account = f'","bankAccountId":{_string(account_id)},"amount":"'
    currency_texts = [f'","currency":{"null" if c is None else _string(c)},"datePosted":"' for c in currencies]
    tails = [(row_tails[i] if row_tails is not None else "") + (links[i] if links is not None else "")
             + _verdict_tail(verdict) for i, verdict in enumerate(verdicts)]
    return [f'{{"transactionId":"{tx_id}{account}{text}{currency}{iso}","description":{_string(description)},'
            f'"lineNumber":{number}{tail}'
            for tx_id, text, currency, iso, description, number, tail in zip(
                ids, cols.texts, currency_texts, cols.isos, cols.descriptions, cols.line_numbers, tails, strict=True)]


class _Run:
    """One pass over a file: every parse event goes to its place (staged rows, rejected lines, the
    accounts the file names, the statements' lines and balances) and is tallied.

    Parsed (and rejected) lines are gathered into batches of `BATCH_LINES`; each batch is staged a segment
    and a column at a time (see the module's docstring), its chunk lines handed to the chunk writer as one
    block; the report's counters are added once per batch and the discovered accounts are counted per
    batch, so no model is built per line. A statement event (account, balances) first stages the lines
    before it."""

    def __init__(self, imp: Import, fmt: base.FileFormat, options: base.ParseOptions, detector: DuplicateDetector,
                 rows: TypedWriter[StagedRow], errors: TypedWriter[ErrorDetail],
                 statements: StatementCollector | None = None, links: _Links | None = None) -> None:
        self.discovery = fmt.accounts_supported == "multi" and not imp.bank_accounts
        self.include_pending = imp.include_pending
        self.product = imp.product_dates
        self.accounts = _Accounts(imp, fmt)
        self.amount_target, self.date_target = fmt.amount_target, fmt.date_target
        #: what the parse is given (a run's parse takes these), and where it says the file's amounts are
        self.options = options
        self.detector = detector
        self.ids = LineIds()
        self.rows, self.errors = rows, errors
        self.tally = _Tally()
        self.discovered: dict[str, DiscoveredAccount] = {}
        self.statements = statements
        self.links = links
        #: lines gathered for the next flush (the list is kept: callers may append to it)
        self.batch: list[_Gathered] = []
        #: whether the batch holds a rejected line (then it goes line by line)
        self._rejected_in_batch = False
        self._iso: dict[date, str] = {}
        #: what the file says about itself, by code (the first note of each code)
        self.notes: dict[str, base.FileNote] = {}
        self._currencies: dict[tuple[str | None, str], str | None | object] = {}
        #: per staged chunk (by index): the first and last day of its rows (the reduce of a split file
        #: reads only the chunks holding a day two ranges share)
        self.chunk_days: dict[int, tuple[date, date]] = {}
        self._span: tuple[date, date] | None = None

    def take(self, event: base.ParseEvent) -> None:
        if isinstance(event, base.LineBlock):
            self.take_block(event)
            return
        if isinstance(event, (base.ParsedLine, base.LineError)):
            self.batch.append(event)
            if type(event) is base.LineError:
                self._rejected_in_batch = True
            if len(self.batch) >= BATCH_LINES:
                self.flush()
            return
        self.flush()  # the lines before a statement event belong to what came before it
        self._currencies.clear()  # an account event may name a statement's currency
        if isinstance(event, base.FileNote):
            first = self.notes.setdefault(event.code, event)
            if first is not event:
                first.absorb(event)
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

    def take_block(self, block: base.LineBlock) -> None:
        """A block of lines handed over as columns: staged from them where the checks over its columns show no
        line needs one of its own (`_block_segment`), else as the lines it stands for."""
        if self.batch:
            self.flush()
        if block.bank_ids is not None:
            block.bank_ids = base.placeholders_cleared(block.bank_ids)
        segment = self._block_segment(block)
        if segment is None:
            self.batch += block.lines()
            self.flush()
            return
        self._write(self._stage([segment]))

    def _block_segment(self, block: base.LineBlock) -> _Segment | None:
        """The block as one segment, as `_whole` decides for lines (a block's lines name no account reference and
        none is pending or a reversal; None: the block goes line by line)."""
        if self.discovery or not block:
            return None
        account = self.accounts.of(None)
        if account is None:
            return None
        one, currency = self._one_currency(None, account, block.currencies or [None])
        span = self._bookable_span(block.days) if one else None
        if span is None:
            return None
        plain = _plain(block.amounts, currency, written=block.written)
        if plain is None or not plain_extras(block.balances, block.original_amounts, block.original_currencies,
                                             currency):
            return None
        return _Segment(None, account, _BlockLines(block), [currency] * len(block), None, plain, span)

    def _one_currency(self, ref: str | None, account: ImportBankAccount, currencies: list[str | None]
                      ) -> tuple[bool, str | None]:
        """Whether lines that name `currencies` have one currency, and which (none named: their statement's or
        account's)."""
        n = len(currencies)
        if currencies.count(None) == n:
            return True, self._currency(ref, account)
        if currencies.count(currencies[0]) == n:
            return True, currencies[0]
        return False, None

    def _bookable_span(self, days: list[date]) -> tuple[date, date] | None:
        """The first and last of `days`, where every one of them is booked by a ledger and lies within productDates
        (None: not every one)."""
        first, last = min(days), max(days)
        product = self.product
        if bookable(first) and bookable(last) and (product is None or (product.covers(first) and product.covers(last))):
            return first, last
        return None

    def _balances(self, event: base.StatementBalances) -> None:
        if self.statements is None or self.discovery:
            return
        account = self.accounts.of(event.account_ref)
        if account is not None:
            self.statements.balances(event, account.id,
                                     reversed_sign=account.transaction_sign == TransactionSign.REVERSED)

    def _reject(self, event: base.LineError) -> None:
        self.tally.reject(event)
        self.errors.write(ErrorDetail.model_construct(
            severity=Severity.ERROR, code=event.code, message=event.message, target=event.target,
            line_number=event.line_number, actual_value=event.actual_value))

    def flush(self) -> None:
        """Stage the gathered lines."""
        if not self.batch:
            return
        batch = self.batch[:]
        self.batch.clear()
        base.clear_placeholder_ids(batch if not self._rejected_in_batch else  # type: ignore[arg-type]
                                   [line for line in batch if type(line) is base.ParsedLine])
        self._count_discovered(batch)
        if self.discovery:
            self._rejected_in_batch = False
            for event in batch:
                if type(event) is base.LineError:
                    self._reject(event)
            return
        kept = self._kept(batch)
        if kept:
            self._write(self._stage(kept))

    def _write(self, texts: list[tuple[str, int]]) -> None:
        """The chunk lines of a batch (texts of them, each with how many) to the staged chunks."""
        if texts:
            first_chunk = self.rows.chunks.filling
            for text, count in texts:
                self.rows.write_text(text, count)
            self._note_span(first_chunk, self.rows.chunks.last_written)

    def _note_span(self, first_chunk: int, last_chunk: int) -> None:
        """Widen the day spans of the chunks a batch went into."""
        span = self._span
        if span is None:
            return
        for index in range(first_chunk, last_chunk + 1):
            known = self.chunk_days.get(index)
            self.chunk_days[index] = span if known is None else (min(known[0], span[0]), max(known[1], span[1]))

    def _count_discovered(self, batch: list[_Gathered]) -> None:
        if self._rejected_in_batch:
            counts = Counter(line.account_ref for line in batch if type(line) is base.ParsedLine)
        else:
            counts = Counter(map(_REF, batch))
        for ref, count in counts.items():
            if ref is None:
                continue
            entry = self.discovered.get(ref)
            if entry is None:
                entry = self.discovered[ref] = DiscoveredAccount(account_identifier=ref)
            entry.transaction_count += count

    def _kept(self, batch: list[_Gathered]) -> list[_Segment]:
        """The lines to stage, as segments of one account (with those outside productDates, which the statement
        checks count); the others counted by why they are left out, rejected lines written in file order."""
        if not self._rejected_in_batch:
            whole = self._whole(batch)  # type: ignore[arg-type]
            if whole is not None:
                return [whole]
        self._rejected_in_batch = False
        tally, product, include_pending, accounts = self.tally, self.product, self.include_pending, self.accounts
        segments: list[_Segment] = []
        current: _Segment | None = None
        for line in batch:
            if type(line) is base.LineError:
                if line.pending and not include_pending:  # left out unread, as a readable one would be
                    tally.pending += 1
                else:
                    self._reject(line)
                continue
            assert isinstance(line, base.ParsedLine)
            if line.pending and not include_pending:
                tally.pending += 1
                continue
            if not bookable(line.date_posted):
                self._reject(base.LineError(
                    line.line_number, base.INVALID_DATE, f"{line.date_posted} is not a day a transaction is booked "
                    f"on ({EARLIEST_DAY} to {LATEST_DAY})", actual_value=line.date_posted.isoformat(),
                    target=self.options.places.date_of(line) or self.date_target))
                continue
            account = accounts.of(line.account_ref)
            if account is None:
                if line.account_ref is None:  # its statement names no account, and the import several
                    self._reject(base.LineError(
                        line.line_number, base.REQUIRED_VALUE_MISSING, "the line's statement names no account "
                        "and the import names several: import it with the one account it belongs to",
                        target="account"))
                else:
                    tally.ignored += 1
                continue
            currency = line.currency or self._currency(line.account_ref, account)
            staged = product is None or product.covers(line.date_posted)
            if not staged:
                tally.out_of_range += 1
            elif not self._money_fits(line, currency):
                continue
            if current is None or current.account is not account or current.ref != line.account_ref:
                current = _Segment(line.account_ref, account, [], [], [])
                segments.append(current)
            current.add(line, currency, staged)
        return segments

    def _whole(self, lines: list[base.ParsedLine]) -> _Segment | None:
        """The whole batch as one segment, where checks over its columns show no line needs one of its own:
        one account reference, known and listed; no pending line left out; one currency; every day within
        productDates; every amount, balance and original amount written to its currency's decimals and
        storable (None: the batch goes line by line)."""
        ref = lines[0].account_ref
        n = len(lines)
        if list(map(_REF, lines)).count(ref) != n:
            return None
        if not self.include_pending and True in map(_PENDING, lines):
            return None
        account = self.accounts.of(ref)
        if account is None:
            return None
        one, currency = self._one_currency(ref, account, list(map(_CURRENCY, lines)))
        span = self._bookable_span(list(map(_DAY, lines))) if one else None
        if span is None:
            return None
        plain = _plain(list(map(_AMOUNT, lines)), currency)
        if plain is None:
            return None
        originals = list(map(_ORIGINAL, lines))
        named = list(map(_ORIGINAL_CURRENCY, lines)) if originals.count(None) != n else None
        if not plain_extras(list(map(_BALANCE, lines)), originals, named, currency):
            return None
        return _Segment(ref, account, lines, [currency] * n, None, plain, span)

    def _money_fits(self, line: base.ParsedLine, currency: str | None) -> bool:
        """Whether the line's numbers are stored exactly and each is a whole number of its currency's minor
        units (the amount and the balance the line's currency's, the original amount its own); else the line is
        rejected (InvalidAmount, naming the first that is not)."""
        balance, original = line.balance, line.original_amount
        if not (storable(line.amount) and (balance is None or storable(balance))
                and (original is None or storable(original))):
            self._reject_unstorable(line)
            return False
        places = self.options.places
        # integers of minor units are the contract: a number finer than its currency is refused, never rounded
        for value, of, name, target in (
                (line.amount, currency, "", self._amount_place),
                (balance, currency, "the balance ", places.balance_of),
                (original, line.original_currency or currency, "the original amount ", places.original_of)):
            if value is not None and not money.fits(value, of):
                self._reject(base.LineError(
                    line.line_number, base.INVALID_AMOUNT,
                    f"{name}{format(value, 'f')} has more decimals than {of or 'an amount of unknown currency'} "
                    f"allows ({money.exponent(of)})", actual_value=format(value, "f"), target=target(line)))
                return False
        return True

    def _currency(self, ref: str | None, account: ImportBankAccount) -> str | None:
        """The currency of a line that names none: its statement's, else its account's (kept per reference
        until the next statement event)."""
        key = (ref, account.id)
        found = self._currencies.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            entry = self.discovered.get(ref or "")
            found = self._currencies[key] = (entry.currency if entry else None) or account.currency
        return found  # type: ignore[return-value]

    def _reject_unstorable(self, line: base.ParsedLine) -> None:
        """A number the ledger cannot store exactly rejects its line here (InvalidAmount, naming the first
        such number), never the commit: a commit that fails part-way would have to be undone."""
        places = self.options.places
        for name, value, place in (("amount", line.amount, self._amount_place),
                                   ("balance", line.balance, places.balance_of),
                                   ("originalAmount", line.original_amount, places.original_of)):
            if value is not None and not storable(value):
                self._reject(base.LineError(
                    line.line_number, base.INVALID_AMOUNT,
                    f"the {name} has more digits or a larger magnitude than the ledger stores exactly "
                    "(38 significant digits, 1E-130 to 1E+126)", actual_value=str(value)[:100], target=place(line)))
                return

    def _amount_place(self, line: base.ParsedLine) -> str:
        """Where the file states the line's amount, as the format's own line errors name it."""
        return self.options.places.of(line) or self.amount_target

    def _stage(self, segments: list[_Segment]) -> list[tuple[str, int]]:
        """The chunk lines of a batch, a segment (one account's consecutive lines) at a time, column by column:
        ids, verdicts, links, statement lines, counters, then the JSON text (a segment's lines in one text, with
        how many)."""
        out: list[tuple[str, int]] = []
        batch = _BatchCounts()
        for segment in segments:
            self._stage_segment(segment, out, batch)
        self.tally.duplicates += batch.duplicates
        self.tally.add_batch(batch.sides, batch.first, batch.last)
        self._span = (batch.first, batch.last) if batch.first is not None and batch.last is not None else None
        if self.links is not None:
            self.links.seen(batch.last)
        return out

    def _stage_segment(self, segment: _Segment, out: list[tuple[str, int]], batch: _BatchCounts) -> None:
        account = segment.account
        reversed_sign = account.transaction_sign == TransactionSign.REVERSED
        staged = segment.staged_lines()
        cols = _Columns.of(staged, reversed_sign, self._iso) if staged.lines else None
        total = None
        if self.statements is not None:
            whole = cols is not None and len(staged.lines) == len(segment.lines) and not cols.pending
            total = self._statement_lines(segment, reversed_sign, cols if whole else None)
            total = total if whole else None
        if cols is None:
            return
        expected = account.currency
        if expected and staged.currencies.count(expected) != len(staged.currencies):
            self.tally.foreign += _foreign(staged.currencies, expected)
        ids = _SegmentIds(self.ids.counted(
            account.id, cols.days, cols.isos, amount_texts(cols.amounts, cols.texts, cols.longest, cols.zero_ended),
            cols.descriptions,
            cols.bank_ids if cols.banked else None, cols.line_numbers, cols.pendings if cols.pending else None))
        verdicts = self._verdicts(account.id, ids, cols)
        tails = self._links(account.id, ids, cols, staged.lines, verdicts) if self.links is not None else None
        if self.statements is not None:
            self._statement_verdicts(segment, cols, verdicts)
        batch.count(staged.currencies, cols, verdicts, total)
        out.append((_chunk_text(account.id, ids, cols, staged, verdicts, tails), len(verdicts)))

    def _verdicts(self, account_id: str, segment_ids: _SegmentIds, cols: _Columns) -> list[Verdict | None]:
        """The duplicate verdict of each staged line (None: new); a line whose id a ledger line of another amount
        has gets its own first (the ids change)."""
        detector = self.detector
        if detector.quiet(account_id) and not cols.banked:  # nothing to compare with
            detector.file_days().update((account_id, day) for day in set(cols.days))
            return [None] * len(cols.days)
        ids = segment_ids.all()
        if cols.banked:  # a bank id that gave a line the id of a ledger line of another amount: its own id
            collides = detector.collides
            for i, (tx_id, day, amount, bank_id) in enumerate(zip(ids, cols.days, cols.amounts, cols.bank_ids,
                                                                 strict=True)):
                if bank_id and collides(account_id, tx_id, day, amount):
                    ids[i] = reissued_id(tx_id, amount)
        detector.prefetch(account_id, cols.days)
        check = detector.check
        return [check(account_id, tx_id, day, amount, description, bank_id) for tx_id, day, amount, description, bank_id
                in zip(ids, cols.days, cols.amounts, cols.descriptions, cols.bank_ids, strict=True)]

    def _links(self, account_id: str, segment_ids: _SegmentIds, cols: _Columns, lines: _Lines,
               verdicts: list[Verdict | None]) -> list[str] | None:
        """Pending and reversal links of the staged lines (their chunk lines' tails; None: no line has one). A
        booked line that replaces a pending line is not its duplicate (its verdict goes)."""
        links = self.links
        assert links is not None
        recent = links.recent_rows(account_id)
        pool = links.open(account_id) if False in cols.pendings else None
        if not pool and not cols.pending and (cols.block is not None or not any(map(_REVERSAL, lines))):
            if links.reversals:  # (a later line of the file may reverse one of these)
                keep = -_RECENT_ROWS
                recent.extend(zip(segment_ids.all()[keep:], cols.days[keep:], cols.amounts[keep:],
                                  cols.descriptions[keep:], cols.bank_ids[keep:], strict=True))
            return None
        tails: list[str] = []
        for i, (line, tx_id, day, amount, description, bank_id) in enumerate(zip(
                lines, segment_ids.all(), cols.days, cols.amounts, cols.descriptions, cols.bank_ids, strict=True)):
            key = LineKey(tx_id, day, amount, description, bank_id)
            replaces = links.replaced(key, pool) if pool and not line.pending else None
            verdict = verdicts[i]
            if replaces is not None and verdict is not None and verdict.duplicate_of == replaces:
                verdicts[i] = None  # not a duplicate: it books the pending line
            reversal_of = links.reversed(account_id, key, recent) if line.reversal else None
            recent.append((tx_id, day, amount, description, bank_id))
            linked = line.pending or line.reversal or replaces is not None
            tails.append(_links_tail(line.pending, line.reversal, replaces, reversal_of) if linked else "")
        return tails

    def _statement_lines(self, segment: _Segment, reversed_sign: bool, cols: _Columns | None) -> Decimal | None:
        """The segment's booked lines, each with its currency, go to the statement checks (a booked balance leaves
        pending lines out); `cols`: the columns of all of them, where every line is staged and booked. Answers the
        sum of their amounts where they have one currency (None: not known)."""
        collector = self.statements
        assert collector is not None
        lines, currencies = segment.lines, segment.currencies
        block = lines.block if type(lines) is _BlockLines else None
        booked: _Lines
        balances: list[Decimal | None]
        if block is not None:  # (a block's lines are all booked)
            booked, balances = lines, block.balances or [None] * len(lines)
        else:
            if True in map(_PENDING, lines):
                kept = [(line, c) for line, c in zip(lines, currencies, strict=True) if not line.pending]
                booked, currencies = [k[0] for k in kept], [k[1] for k in kept]
            else:
                booked = lines
            balances = list(map(_BALANCE, booked))
        if not booked:
            return None
        numbers: Sequence[int]
        span = None
        if cols is not None:
            amounts, days, numbers, span = cols.amounts, cols.days, cols.line_numbers, cols.span
            if reversed_sign:
                file_amounts = block.amounts if block is not None else list(map(_AMOUNT, booked))
            else:
                file_amounts = amounts
        else:
            file_amounts = list(map(_AMOUNT, booked))
            amounts = [-a for a in file_amounts] if reversed_sign else file_amounts
            days, numbers = list(map(_DAY, booked)), list(map(_LINE_NUMBER, booked))
        return collector.lines(segment.ref, segment.account.id, amounts=amounts, days=days, currencies=currencies,
                               line_numbers=numbers, file_amounts=file_amounts, balances=balances, span=span)

    def _statement_verdicts(self, segment: _Segment, cols: _Columns, verdicts: list[Verdict | None]) -> None:
        """The verdicts of the segment's staged booked lines (`cols`: their columns), for the statement checks'
        overlap counts."""
        collector = self.statements
        assert collector is not None
        if not collector.counts_overlap(segment.account.id):
            return
        found = [(number, day, verdict is not None) for number, day, verdict, pending in zip(
            cols.line_numbers, cols.days, verdicts, cols.pendings, strict=True) if not pending]
        collector.verdicts(segment.ref, segment.account.id, found)


@dataclass(slots=True)
class Pass:
    """What a pass over the whole file leaves for the report: one run's, or a split file's ranges merged."""

    chunk_keys: list[str]
    error_chunk_keys: list[str]
    tally: _Tally
    discovered: dict[str, DiscoveredAccount]
    discovery: bool
    overlap: int
    collector: StatementCollector | None
    expired: list[ErrorDetail]
    #: what the file says about itself (the first note of each code)
    notes: dict[str, base.FileNote] = field(default_factory=dict)


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
                 staging: Staging, files: UploadedFiles, statements: StatementService | None = None,
                 pending_window_days: int = 10, budget_seconds: float | None = None,
                 split_bytes: int = 0) -> None:
        self.lifecycle = lifecycle
        #: the configured parse budget (PROCESS_BUDGET_SECONDS), besides the run's own time limits
        self.budget_seconds = budget_seconds
        #: a file above this many bytes is processed in ranges (0: never)
        self.split_bytes = split_bytes
        self.pending_window_days = pending_window_days
        self.statements = statements
        self.imports = lifecycle.imports
        self.ledger = ledger
        self.objects = objects
        self.staging = staging
        self.files = files

    def process(self, imp: Import, *, remaining_seconds: float | None = None,
                step_timeout_seconds: float | None = None, clock: Callable[[], float] = time.monotonic) -> Outcome:
        """Run the whole parse of `imp`; answers the next workflow step. A parse that outlasts its budget
        (`parse_budget` of the run's remaining time, the step's timeout and the configured budget) ends
        the import in error, `ProcessingTimeout` naming the line it reached, its accounts released."""
        budget = parse_budget(remaining_seconds=remaining_seconds, step_timeout_seconds=step_timeout_seconds,
                              configured_seconds=self.budget_seconds)
        deadline = Deadline.within(budget, clock) if budget is not None else None
        if imp.status == ImportStatus.DELETED:
            return "done"
        # another run of this step (a run Step Functions timed out goes on, late) already decided: its
        # outcome stands (processing again would take an import out of error, its accounts released)
        if imp.status == ImportStatus.ERROR:
            return "failed"
        if imp.status == ImportStatus.FINAL_PROCESSING:
            return "confirm"
        # ...and an import it staged is reviewed as staged: processing it again would start a generation
        # that drops the chunks a reader is paging through and the decisions already made
        if imp.status == ImportStatus.AWAITING_CONFIRMATION:
            return "review"
        if imp.status == ImportStatus.COMPLETE:
            return "done"
        try:
            return self._process(imp, deadline)
        except Conflict:
            # a later upload's event failed the import meanwhile (FileChanged): that is its outcome
            if self.imports.get(imp.tenant, imp.id).status in FINAL_STATUSES:
                return "failed"
            raise

    def _process(self, imp: Import, deadline: Deadline | None) -> Outcome:
        """Pin the uploaded file's version, check its size, read it (stopping at `deadline`)."""
        fmt = get_format(imp.file_format)
        first_run = imp.file_version_id is None
        pinned = self.files.pin(imp)
        if pinned is None:
            return self._fail(imp, FILE_CHANGED, FILE_CHANGED_MESSAGE)
        if pinned.size == 0:
            return self._fail(imp, base.EMPTY_FILE, "the uploaded file is empty")
        if pinned.size > fmt.max_file_size:
            return self._fail(imp, base.FILE_TOO_LARGE, f"the file has {pinned.size} bytes; {fmt.file_format} "
                              f"accepts at most {fmt.max_file_size}")
        try:
            if first_run:  # the pin is on the import before a byte is read: a later upload is told apart
                self.imports.save(imp)
            source = ObjectSource(self.objects, imp.s3_key, pinned.size, pinned.etag, pinned.version_id)
            return self._read(imp, fmt, source, deadline)
        except ObjectChanged:
            return self._fail(imp, FILE_CHANGED, FILE_CHANGED_MESSAGE)

    def _read(self, imp: Import, fmt: base.FileFormat, source: ObjectSource, deadline: Deadline | None) -> Outcome:
        if imp.bank_accounts:  # named now: the discovery run's note no longer holds, whatever this run ends in
            imp.error_details = [d for d in imp.error_details if d.code != ACCOUNT_DISCOVERY]
        if imp.bank_accounts and imp.bypass_replay_validation:
            # not checked, but remembered once complete: a later import of the file without the bypass is a replay
            imp.file_sha256 = source.sha256()
        elif imp.bank_accounts:
            replayed = self._replay(imp, source)
            if replayed:
                return replayed
        # a re-run (amend) starts a new generation; the old staged rows go
        old_prefix = imp.staging_prefix
        imp.generation += 1
        if self.split_bytes:
            # the ranges and the reduce find a split file's manifest by its generation (a second run of
            # this generation loses the import's conditional save before any range reads)
            prefix = staging_prefix(imp.tenant, imp.id, imp.generation)
            try:
                if self._begin_split(imp, fmt, source, prefix, old_prefix):
                    return "split"
            except base.FileError as exc:
                self.staging.delete(prefix)
                return self._fail(imp, exc.code, exc.message, target=exc.target, extra=exc.details)
        prefix = staging_prefix(imp.tenant, imp.id, imp.generation, run=uuid.uuid4().hex[:12])
        return self.stage_whole(imp, fmt, source, prefix, old_prefix, deadline)

    def stage_whole(self, imp: Import, fmt: base.FileFormat, source: ObjectSource, prefix: str,
                    old_prefix: str | None, deadline: Deadline | None = None) -> Outcome:
        """Stage the whole file in one run under `prefix`; the generation before it goes."""
        try:
            outcome = self._stage(imp, fmt, source, prefix, deadline)
        except base.FileError as exc:
            self.staging.delete(prefix)
            return self._fail(imp, exc.code, exc.message, target=exc.target, extra=exc.details)
        except (ObjectChanged, Conflict):
            self.staging.delete(prefix)
            raise
        self.drop_generation(imp, old_prefix, prefix)
        return outcome

    def drop_generation(self, imp: Import, old_prefix: str | None, prefix: str) -> None:
        """The staged rows and decisions of the generation before this one go."""
        if old_prefix and old_prefix != prefix:
            self.staging.delete(old_prefix)
            # decisions belong to the generation they were made on: the old one's no longer apply
            self.imports.delete_decisions(imp, generation=imp.generation - 1)

    def _begin_split(self, imp: Import, fmt: base.FileFormat, source: ObjectSource, prefix: str,
                     old_prefix: str | None) -> int:
        """A file above the split size is cut into ranges (`tximport.formats.ranges`) listed in a manifest
        beside the staged chunks; answers how many (0: the file is read whole)."""
        plan = ranges.plan(fmt, source, self.parse_options(imp), self.split_bytes)
        if len(plan.ranges) < 2:
            return 0
        doc = {"plan": plan.to_json(), "oldPrefix": old_prefix}
        SplitDocuments(self.objects).put(manifest_key(prefix), json.dumps(doc).encode())
        self.imports.save(imp)  # the new generation (and the pinned version) before any range reads
        return len(plan.ranges)

    def split_ranges(self, imp: Import) -> list[int]:
        """The range indexes of the import's split file (what the workflow's Map iterates over)."""
        prefix = staging_prefix(imp.tenant, imp.id, imp.generation)
        doc = json.loads(SplitDocuments(self.objects).get(manifest_key(prefix)))
        return list(range(len(doc["plan"]["ranges"])))

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

    def parse_options(self, imp: Import, fmt: base.FileFormat | None = None) -> base.ParseOptions:
        """What the parser takes from the import (it checks the mapping document again: once per file); `fmt`
        given, its lines as columns where the format hands them over so."""
        return base.ParseOptions(date_style=imp.date_style, mapping=imp.mapping.to_json() if imp.mapping else None,
                                 include_pending=imp.include_pending, blocks=fmt is not None and fmt.hands_blocks)

    def new_run(self, imp: Import, fmt: base.FileFormat, prefix: str) -> _Run:
        """A run over (a range of) the import's file, staging under `prefix`."""
        detector = DuplicateDetector(self.ledger, imp.tenant)
        collector = self.statements.collector(imp) if self.statements and imp.bank_accounts else None
        links = _Links(self.ledger, imp.tenant, self.pending_window_days, reversals=fmt.reversals) \
            if imp.bank_accounts else None
        return _Run(imp, fmt, self.parse_options(imp, fmt), detector, self.staging.row_writer(prefix),
                    self.staging.error_writer(prefix), collector, links)

    @staticmethod
    def feed(run: _Run, events: Iterator[base.ParseEvent], deadline: Deadline | None = None) -> None:
        """Every event of a parse through `run` (lines gathered into batches here, without a call); past
        `deadline` the parse stops (ProcessingTimeout, naming the line reached)."""
        with collector_paused():
            ProcessingService._feed(run, events, deadline)

    @staticmethod
    def _feed(run: _Run, events: Iterator[base.ParseEvent], deadline: Deadline | None) -> None:
        """`feed`, the collector paused."""
        take, batch, only_lines, only_blocks = run.take, run.batch, {base.ParsedLine}, {base.LineBlock}
        passed = deadline.passed if deadline is not None else None
        reached = 0
        blocks = run.options.blocks
        size = 1 if blocks else _FEED_EVENTS
        while chunk := list(islice(events, size)):
            kinds = set(map(type, chunk))
            if kinds == only_lines:  # the common chunk
                batch += chunk  # type: ignore[arg-type]
                if len(batch) >= BATCH_LINES:
                    run.flush()
            elif kinds == only_blocks:  # a reader's columns
                for block in chunk:
                    run.take_block(block)  # type: ignore[arg-type]
            else:
                for event in chunk:
                    take(event)
            if blocks:  # a block at a time (the deadline checked after each), lines a few at a time
                size = 1 if base.LineBlock in kinds else _FEED_BLOCKS
            if passed is not None:
                reached = next((n for n in map(_event_line, reversed(chunk)) if n), reached)
                if passed():
                    raise base.FileError(
                        PROCESSING_TIMEOUT, f"processing did not finish in the time it has; it stopped at line "
                        f"{reached}: split the file into smaller ones", details={"lineNumber": reached})
        run.flush()

    def _stage(self, imp: Import, fmt: base.FileFormat, source: ObjectSource, prefix: str,
               deadline: Deadline | None = None) -> Outcome:
        run = self.new_run(imp, fmt, prefix)
        self.feed(run, fmt.parser(source, run.options), deadline)
        overlap = run.detector.overlap_count() if not run.discovery else 0
        return self.finish(imp, prefix, Pass(
            chunk_keys=run.rows.close(), error_chunk_keys=run.errors.close(), tally=run.tally,
            discovered=run.discovered, discovery=run.discovery, overlap=overlap, collector=run.statements,
            expired=run.links.expired() if run.links is not None else [], notes=run.notes))

    def finish(self, imp: Import, prefix: str, done: Pass) -> Outcome:
        """The report of a pass over the whole file (one run's, or a split file's merged ranges), and the
        workflow's next step."""
        imp.staging_prefix = prefix
        imp.chunk_keys = done.chunk_keys
        imp.error_chunk_keys = done.error_chunk_keys
        tally = done.tally
        imp.summary = tally.summary(overlap=done.overlap,
                                    accounts=len(done.discovered) if done.discovered else len(imp.bank_accounts))
        imp.discovered_accounts = list(done.discovered.values())
        imp.validation_details = list(tally.problems.values())
        imp.interim_report = base.INTERIM_REPORT in done.notes
        notes = [ErrorDetail(severity=Severity(n.severity), code=n.code, message=n.counted_message,
                             line_number=n.line_number, actual_value=n.actual_value) for n in done.notes.values()]
        warnings = report_warnings(tally, done.overlap) + notes
        if self.statements is not None and done.collector is not None:
            warnings += self.statements.assess(imp, done.collector)
            self._skip_repeated(imp)
        warnings += done.expired
        imp.error_details = [d for d in imp.error_details if d.severity == Severity.ERROR or d.code == REVIEWED_AGAIN
                             ] + warnings
        if self.files.changed(imp):  # another upload landed while this one was read: nothing of it goes on
            raise ObjectChanged(f"{imp.s3_key} has another version than the one processing read")
        if done.discovery:
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

    def _skip_repeated(self, imp: Import) -> None:
        """The lines of a statement the file holds twice start as `skip` (a decision the review shows and can
        change): confirmed as they are, the statement's lines are written once."""
        spans = StatementService.repeated_lines(imp)
        if not spans:
            return
        skipped: dict[str, Decision] = {
            row.transaction_id: "skip" for row in self.staging.all_rows(imp.chunk_keys)
            if row.line_number is not None and any(
                account == row.bank_account_id and first <= row.line_number <= last for account, first, last in spans)}
        self.imports.preset_decisions(imp, skipped)

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
            severity=Severity.INFO, code=ACCOUNT_DISCOVERY,
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
        line = (extra or {}).get("lineNumber", (extra or {}).get("line"))  # (MT940 and QIF name it `line`)
        detail = ErrorDetail(code=code, message=message, target=target,
                             line_number=line if isinstance(line, int) and line > 0 else None)
        if extra:
            candidates = extra.get("candidates")
            if candidates:
                detail.message = f"{message} (candidates: {', '.join(map(str, candidates))})"
            imp.error_context = extra
        self.lifecycle.fail(imp, [detail])
        return "failed"
