"""Domain models: tenants, bank accounts, imports, statuses, report and error details, and the
transactions an import stages and the ledger holds.

API request/response shapes live in `tximport.api.models` (and their views in `tximport.api.views`);
DynamoDB and S3 item mapping lives in `tximport.storage`. Money is Decimal, dates are dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tximport.formats.base import DateStyle as DateStyle  # re-exported: the import's dateStyle
from tximport.formats.csv_mapped import CsvMapping
from tximport.ids import SAFE_ID_PATTERN
from tximport.statements.models import StatementReport

#: an id that is part of stored keys (tximport.ids.SAFE_ID_PATTERN)
KeySegment = Annotated[str, StringConstraints(pattern=SAFE_ID_PATTERN)]

if TYPE_CHECKING:  # the sessions package builds on these models: no import at run time (a cycle)
    from tximport.sessions.models import SessionLedgerEntry

#: what happens to a staged line on confirm
Decision = Literal["import", "skip"]
#: where a revert (its workflow) stands: reverting -> reverted, or revertFailed (a new revert continues)
RevertStatus = Literal["reverting", "reverted", "revertFailed"]
#: what took an import's parked confirmation task token (see `TokenTaken`)
TokenAction = Literal["confirm", "amend", "accounts", "delete", "expire", "fileChanged"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    """ISO 8601 with milliseconds and a Z, as the reference API prints timestamps."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


class Tenant(BaseModel):
    """Who is calling: taken only from verified token claims."""

    model_config = ConfigDict(frozen=True)

    # every stored key starts with them: a tenant whose ids could not be key segments cannot exist
    organisation_id: KeySegment
    company_id: KeySegment

    @property
    def key(self) -> str:
        """The prefix of every stored key that belongs to this tenant."""
        return f"{self.organisation_id}/{self.company_id}"


class ImportStatus(StrEnum):
    AWAITING_FILE_UPLOAD = "awaitingFileUpload"
    QUEUED = "queued"
    PROCESSING = "processing"
    AWAITING_CONFIRMATION = "awaitingConfirmation"
    FINAL_PROCESSING = "finalProcessing"
    COMPLETE = "complete"
    ERROR = "error"
    DELETED = "deleted"


#: statuses in which an import holds its bank accounts (one active import per account)
ACTIVE_STATUSES = frozenset(
    {ImportStatus.PROCESSING, ImportStatus.AWAITING_CONFIRMATION, ImportStatus.FINAL_PROCESSING}
)
#: statuses in which an import's workflow is under way: its execution must move it on
IN_FLIGHT_STATUSES = frozenset({ImportStatus.QUEUED, *ACTIVE_STATUSES})
#: statuses an import never leaves by itself: its workflow has nothing left to do
FINAL_STATUSES = frozenset({ImportStatus.COMPLETE, ImportStatus.ERROR, ImportStatus.DELETED})
#: statuses from which DELETE is allowed
DELETABLE_STATUSES = frozenset(
    {ImportStatus.AWAITING_CONFIRMATION, ImportStatus.COMPLETE, ImportStatus.ERROR}
)


class ReviewLevel(StrEnum):
    FULL = "fullReview"
    EXCEPTION = "exceptionReview"
    MINIMAL = "minimalReview"


class TransactionSign(StrEnum):
    ORIGINAL = "original"
    REVERSED = "reversed"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class ErrorDetail(BaseModel):
    """One problem found in an import: a whole-file failure or a rejected line."""

    severity: Severity = Severity.ERROR
    code: str
    message: str
    target: str | None = None
    line_number: int | None = None
    actual_value: str | None = None


class BankAccount(BaseModel):
    """A (placeholder) bank account owned by a tenant."""

    id: str
    bank_id: str
    country_code: str
    account_identifier: str
    name: str | None = None
    currency: str | None = None
    created: datetime = Field(default_factory=utcnow)


class TenantSettings(BaseModel):
    """What a tenant decides for itself (`GET/PATCH /settings`)."""

    #: an unknown accountIdentifier posted to the public transactions endpoint creates a placeholder bank
    #: account for it (else that transaction is refused with BankAccountNotFound)
    auto_create_accounts: bool = True
    #: the bank and country of such placeholder accounts (an IBAN's own country wins)
    placeholder_bank_id: str = "unknown"
    placeholder_country_code: str = "ZZZ"


class ImportBankAccount(BaseModel):
    """A bank account as named on an import, with its sign convention."""

    id: str
    account_identifier: str | None = None
    country_code: str | None = None
    bank_identifier: str | None = None
    transaction_sign: TransactionSign = TransactionSign.ORIGINAL
    #: the bank account's currency, when it has one: the currency of lines whose file names none
    currency: str | None = None


class ProductDates(BaseModel):
    """The days a bank account's product covers: lines posted outside them are left out."""

    model_config = ConfigDict(frozen=True)

    transaction_start_date: date | None = None
    transaction_end_date: date | None = None

    def covers(self, day: date) -> bool:
        """Whether a line posted on `day` falls within the product's dates."""
        start, end = self.transaction_start_date, self.transaction_end_date
        return not ((start and day < start) or (end and day > end))


class CurrencyTotal(BaseModel):
    """The staged lines of one currency (None: the file, its statement and its account name none)."""

    currency: str | None = None
    credit_count: int = 0
    credit_sum: Decimal = Decimal(0)
    debit_count: int = 0
    debit_sum: Decimal = Decimal(0)


class Summary(BaseModel):
    """`statement.summary` of the import report. Sums are Decimal; `totals` has them per currency (a
    file may hold several), and the overall sums add every currency's (meaningful for one currency)."""

    account_details_count: int = 0
    transaction_details_count: int = 0
    transaction_credit_count: int = 0
    transaction_credit_sum: Decimal = Decimal(0)
    transaction_debit_count: int = 0
    transaction_debit_sum: Decimal = Decimal(0)
    transaction_range_start_date: date | None = None
    transaction_range_end_date: date | None = None
    transaction_date_overlap_count: int = 0
    #: lines marked possibleDuplicate (the ledger may hold them already)
    possible_duplicate_count: int = 0
    rejected_line_count: int = 0
    ignored_line_count: int = 0
    currencies: list[str] = Field(default_factory=list)
    totals: list[CurrencyTotal] = Field(default_factory=list)


class ValidationDetail(BaseModel):
    """One kind of problem among the rejected lines: every line rejected with this code at this target
    (`validationDetails` of the import; each line is in errordetails)."""

    code: str
    target: str | None = None
    message: str
    count: int = 0
    first_line_number: int | None = None


#: a target that names a whole line (a CSV line with the wrong number of columns): "line 17"
_WHOLE_LINE = re.compile(r"line [0-9]+")
#: the index of one line in a target: a JSON transaction (`transactions[5]`), a camt entry (`Ntry[5]`)
_JSON_LINE = re.compile(r"(?<=\.transactions)\[[0-9]+\]")
_CAMT_LINE = re.compile(r"(?<=/Ntry)\[[0-9]+\]")


def problem_target(target: str | None) -> str | None:
    """The target a kind of problem is counted under (`ValidationDetail`): a rejected line's own, with the index
    that names its line made every line's (`$.bankAccounts[0].transactions[*].balance`, `.../Stmt[1]/Ntry/Amt`);
    a target naming the whole line (`line 17`) is no place of its own: such lines are one kind, with no target."""
    if target is None or _WHOLE_LINE.fullmatch(target):
        return None
    if "[" not in target:
        return target
    return _JSON_LINE.sub("[*]", target) if target.startswith("$") else _CAMT_LINE.sub("", target)


class DiscoveredAccount(BaseModel):
    """An account found in a multi-account file."""

    account_identifier: str
    currency: str | None = None
    bank_account_id: str | None = None
    transaction_count: int = 0
    #: the bank the file names beside the account (OFX BANKID, a camt servicer BIC), if any
    bank: str | None = None


class PollMonitor(BaseModel):
    """How often an import was polled (`statusMonitor`): counted beside the import's versioned document,
    so a poll never changes the import itself."""

    first_attempt: datetime | None = None
    attempts: int = 0
    last_attempt: datetime | None = None


class RevertProgress(BaseModel):
    """Where the revert of a complete import stands; kept across runs so a new run continues."""

    status: RevertStatus | None = None
    #: ledger lines removed so far (None until the first chunk is done)
    line_count: int | None = None
    #: staged chunks fully handled, in order
    chunks_done: int = 0
    #: the name of the revert workflow's execution that runs it (statemachines/revert.asl.json)
    execution: str | None = None


class TokenTaken(BaseModel):
    """Which action answered the import's parked task token. A task token is single use, so the action
    that wins the conditional write on the import takes it (the token leaves `task_token` and is kept
    here), and only then sends it: a retried call can send it again, a failed send can put it back, and
    the expiry step knows the token it sees here died with the confirmation window."""

    action: TokenAction
    token: str
    at: datetime = Field(default_factory=utcnow)
    #: the fields the action's write changed, as they were before it (by field name, JSON values): an
    #: expiry that ends the import after the token died puts them back, so the losing call changed nothing
    undo: dict[str, Any] = Field(default_factory=dict)


class Import(BaseModel):
    """One import attempt and everything known about it (stored as one JSON document: field names as
    here, the mapping as its documented mapping document)."""

    id: str
    organisation_id: str
    company_id: str
    status: ImportStatus = ImportStatus.AWAITING_FILE_UPLOAD
    file_format: str
    file_name: str | None = None
    description: str | None = None
    date_style: DateStyle | None = None
    review_level: ReviewLevel = ReviewLevel.FULL
    bank_accounts: list[ImportBankAccount] = Field(default_factory=list)
    bank_id: str | None = None
    source: str | None = None
    #: where the data came from, as the caller says (`dataSource`, e.g. AutoEntry)
    data_source: str | None = None
    #: the calling application (its `x-application` header when it created the import)
    source_product: str | None = None
    api_type: Literal["single", "multi"] = "single"
    fuzzy_account_matching: bool = False
    bypass_replay_validation: bool = False
    #: the column mapping of a mapped CSV format
    mapping: CsvMapping | None = None
    #: import pending (not booked) entries where a format marks them
    include_pending: bool = False
    #: lines posted outside these dates are left out
    product_dates: ProductDates | None = None
    s3_key: str
    file_uploaded: bool = False
    file_size: int | None = None
    execution_arn: str | None = None
    summary: Summary | None = None
    discovered_accounts: list[DiscoveredAccount] = Field(default_factory=list)
    #: the statements of the file per account, with their balances and checks (tximport.statements)
    statements: list[StatementReport] = Field(default_factory=list)
    #: how many statements the file holds (`statements` keeps at most services.statements.MAX_REPORTED_STATEMENTS)
    statement_count: int = 0
    error_details: list[ErrorDetail] = Field(default_factory=list)
    #: the kinds of problem among the rejected lines (at most MAX_VALIDATION_DETAILS)
    validation_details: list[ValidationDetail] = Field(default_factory=list)
    #: the file is an interim report (MT942, camt.052): balances and lines may still change
    interim_report: bool = False
    staging_prefix: str | None = None
    chunk_keys: list[str] = Field(default_factory=list)
    #: staged chunks of rejected lines (errordetails pages through them)
    error_chunk_keys: list[str] = Field(default_factory=list)
    #: what the file error that failed the import said besides its message (e.g. the date style candidates)
    error_context: dict[str, Any] | None = None
    generation: int = 0
    amend_count: int = 0
    created: datetime = Field(default_factory=utcnow)
    updated: datetime = Field(default_factory=utcnow)
    expires_at: int | None = None
    #: when the commit began writing the ledger (an import in error with it set may have lines there
    #: that its workflow's clean-up could not remove: a revert removes them)
    commit_started: datetime | None = None
    completed: datetime | None = None
    reverted: datetime | None = None
    revert: RevertProgress = Field(default_factory=RevertProgress)
    #: public transactions (001) are being written into one of its accounts, on a day its review reaches, until
    #: then at the latest: a confirm waits (409) for the writer to send it back to processing
    feed_hold_until: datetime | None = None
    #: the confirmation task token while it is parked and unanswered
    task_token: str | None = None
    #: the action that took the last parked token (None while a token is parked)
    token_taken: TokenTaken | None = None
    file_sha256: str | None = None
    #: the uploaded object's version and ETag, pinned when processing starts: every read is of that
    #: version, and any other version of the key is a later upload (services/pinning.py)
    file_version_id: str | None = None
    file_etag: str | None = None
    version: int = 0

    @property
    def tenant(self) -> Tenant:
        return Tenant(organisation_id=self.organisation_id, company_id=self.company_id)

    @property
    def validation_details_count(self) -> int:
        """`validationDetailsCount`: the length of `validationDetails`."""
        return len(self.validation_details)

    @property
    def holds_failed_commit(self) -> bool:
        """In error after its commit began writing the ledger, and what it wrote was not removed (the
        workflow's clean-up failed too): only a revert removes those lines."""
        return (self.status == ImportStatus.ERROR and self.commit_started is not None
                and self.revert.status != "reverted")

    @property
    def revert_unfinished(self) -> bool:
        """A revert runs, or stopped after removing some of the import's lines (revertFailed): until a revert
        finishes it, the import holds its accounts (an import reviewed against the ledger meanwhile would take
        lines the revert is still to remove for lines already imported)."""
        return self.revert.status == "reverting" or (
            self.revert.status == "revertFailed" and (self.revert.line_count or 0) > 0)

    def without_taken_token(self) -> Import:
        """This import with the changes of the action that took its token undone (the token stays taken:
        it is dead), or itself when no action took one."""
        if self.token_taken is None or not self.token_taken.undo:
            return self
        return Import.model_validate({**self.model_dump(mode="json"), **self.token_taken.undo})


#: how many kinds of problem an import lists in validationDetails (the rest are counted in the last)
MAX_VALIDATION_DETAILS = 100


@dataclass(slots=True, kw_only=True)
class Transaction:
    """A statement line in a bank account; `amount` is signed (positive is money in). Plain slotted
    classes, not validated models: a file stages millions of them."""

    transaction_id: str
    bank_account_id: str
    amount: Decimal
    date_posted: date
    description: str = ""
    currency: str | None = None
    # money beside the amount
    balance: Decimal | None = None
    original_amount: Decimal | None = None
    original_currency: str | None = None
    # where the line came from, and what the bank says about it
    line_number: int | None = None
    value_date: date | None = None
    bank_transaction_id: str | None = None
    reference: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    #: the day the purchase happened (the public endpoint's `purchasedAt`), beside posting and value days
    purchase_date: date | None = None
    #: the bank marks the line as the reversal of an earlier booking (camt `RvslInd`, MT940 `RC`/`RD`)
    reversal: bool = False
    # statement truth (tximport.statements.pending): a pending (not booked) line, the pending line a booked
    # one replaces, the line a reversal reverses, and on a pending line the booked line that replaced it
    pending: bool = False
    replaces_pending_id: str | None = None
    reversal_of: str | None = None
    replaced_by: str | None = None


@dataclass(slots=True, kw_only=True)
class StagedRow(Transaction):
    """A line of an import staged for review: what the duplicate check found, and the decision it
    gets unless the caller decides otherwise."""

    possible_duplicate: bool = False
    duplicate_of: str | None = None
    duplicate_reason: dict[str, Any] | None = None
    default_decision: Decision = "import"


@dataclass(frozen=True, slots=True)
class ReconciliationMark:
    """The reconciliation entry that holds a ledger line (one entry at most: marks are set and cleared
    with conditions, tximport.storage.ledger)."""

    reconciliation_id: str
    entry_id: str
    match_status: str  # MATCHED | MANUAL


@dataclass(frozen=True, slots=True)
class LineMark:
    """A ledger line to mark as held by one reconciliation entry (or to unmark): where the line is, and
    the mark. `replaces` names a FAILED reconciliation whose mark on the line may be overwritten."""

    account_id: str
    day: str  # the line's booking day, ISO
    transaction_id: str
    reconciliation_id: str
    entry_id: str
    status: str  # MATCHED | MANUAL
    replaces: str | None = None

    @property
    def mark(self) -> ReconciliationMark:
        return ReconciliationMark(self.reconciliation_id, self.entry_id, self.status)


@dataclass(slots=True, kw_only=True)
class LedgerLine(Transaction):
    """A confirmed transaction: which import (or the public endpoint) wrote it, and when; the
    reconciliation entry matched to it, if any; a line committed from an import session has no import
    (`import_id` is empty) and carries `session`."""

    import_id: str
    committed: datetime
    reconciliation: ReconciliationMark | None = None
    session: SessionLedgerEntry | None = None
    #: a line of the public endpoint whose booking day came from bookedAt (not from valutaAt): a resend
    #: without bookedAt keeps it
    booked_at_given: bool = False
    #: the line of another account's session whose transfer or card payment this line is (its statement's line,
    #: committed first: that commit wrote no mirror here and linked to this line instead); a line answers one
    linked_by: str | None = None
    #: a file's line in another currency than its bank account's, which the review imported: kept in its own
    #: currency, and left out of the account's balances (they are in the account's currency)
    foreign_currency: bool = False

    @classmethod
    def confirmed(cls, line: Transaction, *, import_id: str, committed: datetime) -> LedgerLine:
        """`line` as the ledger holds it once `import_id` has written it."""
        return cls(**{name: getattr(line, name) for name in _TRANSACTION_FIELDS}, import_id=import_id,
                   committed=committed)


_TRANSACTION_FIELDS = tuple(f.name for f in fields(Transaction))
