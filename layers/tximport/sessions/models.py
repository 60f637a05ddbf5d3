"""Domain models of import sessions. Money is Decimal, dates are dates, enums are the documents' names.

The enums of the document (`entity.StagedTransactionType`, `StagedTransactionStatus`, `TransactionStatus`,
`InvoiceStatus`, `RecurringType`, `CategoryType`) list no values there ("Sem propriedades"); the values
below are the ones the user guide uses, and ours where it names none (README, "Import sessions").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tximport.models import Tenant, utcnow


class StagedTransactionType(StrEnum):
    INCOME = "INCOME"
    EXPENSE = "EXPENSE"
    TRANSFER = "TRANSFER"
    CARD_PAYMENT = "CARD_PAYMENT"
    INVESTMENT_DEPOSIT = "INVESTMENT_DEPOSIT"
    INVESTMENT_WITHDRAWAL = "INVESTMENT_WITHDRAWAL"
    CARD_EXPENSE = "CARD_EXPENSE"
    CARD_CHARGEBACK = "CARD_CHARGEBACK"


class StagedTransactionStatus(StrEnum):
    READY = "READY"
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"


class TransactionStatus(StrEnum):
    """The status of a committed (ledger) transaction."""

    PENDING = "PENDING"
    VALIDATING = "VALIDATING"
    PAID = "PAID"
    IGNORE = "IGNORE"


class InvoiceStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    PAID = "PAID"


class SessionType(StrEnum):
    """`type` of a session: which context it has."""

    ACCOUNT = "ACCOUNT"
    CARD = "CARD"


class SessionStatus(StrEnum):
    """`status` of GET one session: OK when every line is READY and target_value == context_value."""

    OK = "OK"
    PENDING = "PENDING"


class CategoryType(StrEnum):
    INCOME = "INCOME"
    EXPENSE = "EXPENSE"


class RecurringType(StrEnum):
    """The four recurring tables of the user guide, in the order bind looks them up."""

    INCOME = "income"
    EXPENSE = "expense"
    TRANSFER = "transfer"
    CARD_TRANSACTION = "card_transaction"


class Frequency(StrEnum):
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    BIWEEKLY = "BIWEEKLY"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    YEARLY = "YEARLY"


class BindingSource(StrEnum):
    MANUAL = "MANUAL"
    SUGGESTED = "SUGGESTED"


class BindingStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"


#: a billing month, YYYY-MM, of the years 1900 to 2999 (the dates the service keeps to; year 0 is no date)
MONTH_PATTERN = r"^(19\d{2}|2\d{3})-(0[1-9]|1[0-2])$"

ACCOUNT_TYPES = frozenset({
    StagedTransactionType.INCOME, StagedTransactionType.EXPENSE, StagedTransactionType.TRANSFER,
    StagedTransactionType.CARD_PAYMENT, StagedTransactionType.INVESTMENT_DEPOSIT,
    StagedTransactionType.INVESTMENT_WITHDRAWAL,
})
CARD_TYPES = frozenset({StagedTransactionType.CARD_EXPENSE, StagedTransactionType.CARD_CHARGEBACK})


@dataclass(slots=True, kw_only=True)
class SessionLedgerEntry:
    """What a ledger line committed from an import session carries besides the transaction: its type,
    its status (VALIDATING, IGNORE, then PAID at close), where it was filed and where it came from."""

    type: StagedTransactionType
    status: TransactionStatus
    workspace_id: str
    session_id: str
    staged_transaction_id: str
    category_id: str | None = None
    subcategory_id: str | None = None
    tag_ids: list[str] = field(default_factory=list)
    #: the card invoice the line belongs to (card lines, and card payments)
    billing_month: str | None = None
    card_id: str | None = None
    #: the other account of a transfer (or the account that paid a card)
    counterpart_account_id: str | None = None
    #: the line of the other account that already showed this money when the line was committed (its statement
    #: imported first): no mirror line was written there
    counterpart_transaction_id: str | None = None
    recurring_id: str | None = None
    #: which `data.recurring_*_id` field named the recurring item
    recurring_type: str | None = None


class Model(BaseModel):
    model_config = ConfigDict(validate_assignment=False, extra="ignore")


@dataclass(frozen=True, slots=True)
class Scope:
    """Who is calling and where: the tenant (verified token), the workspace (checked header), the user
    (`sub` claim) and the roles (`roles` claim)."""

    tenant: Tenant
    workspace_id: str
    user_id: str = "unknown"
    roles: frozenset[str] = frozenset()

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


class Workspace(Model):
    id: str
    name: str
    organisation_id: str
    company_id: str
    created_at: datetime = Field(default_factory=utcnow)


class TypeSums(Model):
    """Magnitudes summed per type (a transfer by its direction), the input of the balance formulas."""

    income: Decimal = Decimal(0)
    expense: Decimal = Decimal(0)
    transfer_out: Decimal = Decimal(0)
    transfer_in: Decimal = Decimal(0)
    card_payment: Decimal = Decimal(0)
    investment_deposit: Decimal = Decimal(0)
    investment_withdrawal: Decimal = Decimal(0)
    card_expense: Decimal = Decimal(0)
    card_chargeback: Decimal = Decimal(0)

    def plus(self, other: TypeSums) -> TypeSums:
        return TypeSums(**{name: getattr(self, name) + getattr(other, name) for name in TypeSums.model_fields})


class ImportSession(Model):
    """A session: the staging area of one account or card for one billing month."""

    id: str
    workspace_id: str
    user_id: str
    number: int = Field(description="per-workspace sequence number, carried inside staged line ids")
    description: str
    account_id: str | None = None
    card_id: str | None = None
    billing_month: str
    target_value: Decimal = Decimal(0)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    version: int = 0
    # counters, kept by every write of a staged line (never recomputed by reading the lines)
    total: int = 0
    ready: int = 0
    pending: int = 0
    processing: int = 0
    sums: TypeSums = Field(default_factory=TypeSums)
    #: the next staged line sequence number (lines are keyed by it, in blocks)
    next_seq: int = 0
    #: an asynchronous enrichment run, while one runs: {"run_id", "started_at", "execution_arn"}
    enrichment: dict[str, Any] | None = None
    #: the last enrichment's outcome (counts, or the error of a failed run)
    last_enrichment: dict[str, Any] | None = None

    @property
    def type(self) -> SessionType:
        return SessionType.CARD if self.card_id else SessionType.ACCOUNT

    @property
    def context_id(self) -> str:
        """The ledger "account" of the session: the bank account, or the card."""
        return self.card_id or self.account_id or ""


class StagedTransaction(Model):
    id: str
    session_id: str
    seq: int
    type: StagedTransactionType
    status: StagedTransactionStatus = StagedTransactionStatus.PENDING
    transaction_date: date
    amount: Decimal
    description: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    line_number: int | None = None
    processing_enrichment: bool = False
    #: the client set PENDING (PUT `status`): the line stays PENDING, held back from commit, until it sets READY
    on_hold: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    version: int = 0


class Card(Model):
    id: str
    workspace_id: str
    name: str
    closing_date: int | None = None
    due_date: int | None = None
    credit_limit: Decimal | None = None
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Invoice(Model):
    card_id: str
    billing_month: str
    status: InvoiceStatus = InvoiceStatus.OPEN
    #: the session whose close paid it (a retried close of that session finishes its own close)
    paid_by_session_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    version: int = 0


class Category(Model):
    id: str
    workspace_id: str
    name: str
    type: CategoryType
    color: str | None = None
    icon: str | None = None
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Subcategory(Model):
    id: str
    workspace_id: str
    category_id: str
    name: str
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Tag(Model):
    id: str
    workspace_id: str
    name: str
    color: str | None = None
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class RecurringItem(Model):
    """A recurring income, expense, transfer or card transaction (the four tables of the guide)."""

    id: str
    workspace_id: str
    type: RecurringType
    description: str
    amount: Decimal
    account_id: str | None = None
    card_id: str | None = None
    source_account_id: str | None = None
    destination_account_id: str | None = None
    #: the ISO 4217 code of `amount`: its account's (a transfer's source account's); a card item's as it names it
    currency: str | None = None
    category_id: str | None = None
    sub_category_id: str | None = None
    tag_ids: list[str] = Field(default_factory=list)
    frequency: Frequency = Frequency.MONTHLY
    start_date: date | None = None
    end_date: date | None = None
    include_in_summary: bool = True
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class EnrichmentRule(Model):
    """A workspace's own rule: every condition given must hold; the first matching rule (by priority,
    then creation) sets what it names."""

    id: str
    workspace_id: str
    name: str
    priority: int = 100
    description_contains: str | None = None
    description_regex: str | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    counterparty: str | None = None
    category_id: str | None = None
    subcategory_id: str | None = None
    tag_ids: list[str] = Field(default_factory=list)
    set_description: str | None = None
    set_type: StagedTransactionType | None = None
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class LearningExample(Model):
    """A committed line's description and what it was filed under: what enrichment learns from."""

    key: str
    description: str
    category_type: CategoryType
    category_id: str
    subcategory_id: str | None = None
    tag_ids: list[str] = Field(default_factory=list)
    count: int = 1
    last_seen: datetime = Field(default_factory=utcnow)


class RecurringBinding(Model):
    id: str
    workspace_id: str
    session_id: str
    staged_transaction_id: str
    recurring_transaction_id: str
    recurring_type: RecurringType
    recurring_amount: Decimal
    recurring_description: str
    source: BindingSource
    status: BindingStatus
    score: float | None = None
    reasons: dict[str, Any] = Field(default_factory=dict)
    confirmed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
