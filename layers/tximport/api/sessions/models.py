"""Request and response shapes of the sessions dialect (snake_case, the documents' field names).
Amounts are JSON numbers (documented as `number`, read as exact decimals); dates are YYYY-MM-DD (a
datetime is accepted and its date taken)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from tximport.formats.dates import EARLIEST_DAY, LATEST_DAY, bookable
from tximport.ids import canonical_id
from tximport.services.sessions.deps import MAX_AMOUNT
from tximport.sessions.binding import DATA_FIELD
from tximport.sessions.models import (
    MONTH_PATTERN,
    BindingSource,
    BindingStatus,
    CategoryType,
    Frequency,
    InvoiceStatus,
    RecurringType,
    SessionStatus,
    SessionType,
    StagedTransactionStatus,
    StagedTransactionType,
)

MAX_DATA_BYTES = 16 * 1024
MAX_DATA_DEPTH = 6


#: decimal places a money field the service checks against its currency is read with: a float's artefact
#: (`-1.1400000000000001`, 16 places) is then refused by the currency's rule (InvalidAmount, "more decimals than
#: GBP allows (2)"), as `-1.001` is; other amounts keep at most 6
SENT_PLACES = 20


def _amount(value: Any, places: int = 6) -> Any:
    if isinstance(value, bool):
        raise ValueError("an amount is a number")
    if isinstance(value, float | int | str):
        try:
            value = Decimal(str(value))
        except ArithmeticError:
            raise ValueError("not a decimal number") from None
    if isinstance(value, Decimal) and (not value.is_finite() or abs(value) >= MAX_AMOUNT):
        raise ValueError("an amount is a finite number below 10^12")
    if isinstance(value, Decimal) and value.as_tuple().exponent < -places:  # type: ignore[operator]  # finite
        raise ValueError(f"an amount has at most {places} decimal places")
    return value


def _number(value: Any) -> Any:
    # a field the document types `number` takes a JSON number only: number text ("10.5") is refused, not read
    if isinstance(value, str):
        raise ValueError("a number is sent as a JSON number, not as text")
    return _amount(value, SENT_PLACES)


def _bookable(value: date) -> date:
    if not bookable(value):
        raise ValueError(f"a date lies between {EARLIEST_DAY} and {LATEST_DAY}")
    return value


def _date(value: Any) -> Any:
    # pydantic would read a number, or a string of digits, as a Unix time
    if isinstance(value, int | float | Decimal) or (isinstance(value, str) and value.strip().lstrip("+-").isdigit()):
        raise ValueError("a date is written YYYY-MM-DD (or as an ISO 8601 datetime)")
    if isinstance(value, str) and len(value) > 10 and value[10] in "T ":
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        except ValueError:
            return value
    return value


def _magnitude(value: Any) -> Any:
    # a limit or a bound on amounts' magnitudes: a JSON number, zero or more (-0 is 0), at most 6 decimal places
    value = _amount(_number(value))
    if isinstance(value, Decimal) and value < 0:
        raise ValueError("a magnitude is zero or more")
    return abs(value) if isinstance(value, Decimal) else value


Amount = Annotated[Decimal, BeforeValidator(_amount), WithJsonSchema({"type": "number", "examples": [49.9]})]
#: a credit limit, a rule's bound on amounts' magnitudes: a JSON number, zero or more
Magnitude = Annotated[Decimal, BeforeValidator(_magnitude), WithJsonSchema({"type": "number", "minimum": 0,
                                                                           "examples": [5000.0]})]
#: an amount the client must send as a JSON number (the exact number text is read as a Decimal)
Number = Annotated[Decimal, BeforeValidator(_number), WithJsonSchema({"type": "number", "examples": [2700.0]})]
#: a line's amount as a client sends it: a JSON number
AmountIn = Annotated[Decimal, BeforeValidator(_number), WithJsonSchema({"type": "number", "examples": [49.9]})]
Day = Annotated[date, BeforeValidator(_date), AfterValidator(_bookable),
                WithJsonSchema({"type": "string", "format": "date", "examples": ["2024-03-15"]})]
def _month(value: Any) -> Any:
    if not isinstance(value, str) or re.fullmatch(MONTH_PATTERN, value) is None:
        raise ValueError("a month is written YYYY-MM, from 1900-01 to 2999-12")
    return value


Month = Annotated[str, BeforeValidator(_month), WithJsonSchema(
    {"type": "string", "pattern": MONTH_PATTERN, "examples": ["2024-03"]})]
#: a UUID of ours in lower case, whatever case a client writes it in (`tximport.ids.canonical_id`)
Canonical = AfterValidator(canonical_id)
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True), Canonical]
#: an id in a path (`/import-sessions/{session_id}`), a UUID in either case
RouteId = Annotated[str, Path(description="an id (a UUID in either case)"), Canonical]
#: an id in a query (`?card_id=`), a UUID in either case
IdQuery = Annotated[str | None, Query(max_length=64), Canonical]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(max_length=500)]


def _depth(value: Any, level: int = 0) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DataIn(In):
    """A body with a free `data` object, limited in size and depth before it is stored."""

    @field_validator("data", check_fields=False)
    @classmethod
    def _bounded(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return value
        if _depth(value) > MAX_DATA_DEPTH:
            raise ValueError(f"data nests deeper than {MAX_DATA_DEPTH} levels")
        if len(json.dumps(value, default=str)) > MAX_DATA_BYTES:
            raise ValueError(f"data is larger than {MAX_DATA_BYTES} bytes")
        return _canonical_refs(value)


#: the `data` fields naming something of ours (a UUID in either case names it)
DATA_REFS = ("category_id", "subcategory_id", "sub_category_id", "card_id", "destination_account_id",
             "source_account_id", *DATA_FIELD.values())


def _canonical_refs(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with the ids it names in lower case (`DATA_REFS`, `tag_ids`); the rest as sent."""
    out = {name: canonical_id(value) if name in DATA_REFS and isinstance(value, str) else value
           for name, value in data.items()}
    tag_ids = out.get("tag_ids")
    if isinstance(tag_ids, list):
        out["tag_ids"] = [canonical_id(t) if isinstance(t, str) else t for t in tag_ids]
    return out


# --- requests -------------------------------------------------------------------------------------
class CreateWorkspaceRequest(In):
    name: Name = Field(examples=["Casa"])


class CreateImportSessionRequest(In):
    """v1.createImportSessionRequest: exactly one of account_id and card_id, and billing_month."""

    account_id: Id | None = Field(default=None, description="one of our bank accounts (`/bankaccounts`)")
    card_id: Id | None = Field(default=None, description="a card of the workspace (`/cards`)")
    billing_month: Month | None = Field(default=None, description="YYYY-MM (required)")
    target_value: Number | None = Field(default=None, description="default 0; a card session: the card payments "
                                                                  "of the invoice")
    description: Text | None = Field(default=None, description="default `{account or card name} | {billing_month}`")


class UpdateImportSessionRequest(In):
    """The fields sent change; the others of a session as GET answers it may be sent back as read: they are
    ignored (a typo is still a 400 naming it)."""

    account_id: Id | None = None
    billing_month: Month | None = None
    card_id: Id | None = None
    description: Text | None = None
    target_value: Number | None = None
    id: str | None = Field(default=None, description="ignored")
    workspace_id: str | None = Field(default=None, description="ignored")
    user_id: str | None = Field(default=None, description="ignored")
    name: str | None = Field(default=None, description="ignored (it repeats description)")
    type: str | None = Field(default=None, description="ignored (the context gives it)")
    created_at: str | None = Field(default=None, description="ignored")
    updated_at: str | None = Field(default=None, description="ignored")
    stats: dict[str, Any] | None = Field(default=None, description="ignored")
    enrichment: dict[str, Any] | None = Field(default=None, description="ignored")
    initial_balance: Any = Field(default=None, description="ignored")
    context_value: Any = Field(default=None, description="ignored")
    current_total: Any = Field(default=None, description="ignored")
    status: str | None = Field(default=None, description="ignored")
    transactions: list[Any] | None = Field(default=None, description="ignored")
    staged_transactions: list[Any] | None = Field(default=None, description="ignored")
    next_cursor: str | None = Field(default=None, description="ignored")
    recurring_transaction_bindings: list[Any] | None = Field(default=None, description="ignored")


class CreateStagedTransactionRequest(DataIn):
    """v1.createStagedTransactionRequest. `type` may be left out: the sign rule decides. `status` and
    the other fields of a staged transaction may be sent back as read: they are ignored."""

    amount: AmountIn
    transaction_date: Day
    description: Text = ""
    type: StagedTransactionType | None = Field(default=None, description="left out: account + INCOME, - EXPENSE; "
                                                                         "card + CARD_EXPENSE, - CARD_CHARGEBACK")
    data: dict[str, Any] | None = Field(default=None, examples=[{"category_id": "...", "tags": ["casa"]}])
    line_number: StrictInt | None = Field(default=None, ge=0, le=2**31 - 1)
    status: StagedTransactionStatus | None = Field(default=None, description="ignored: the status is computed")
    id: str | None = Field(default=None, description="ignored")
    session_id: str | None = Field(default=None, description="ignored")
    processing_enrichment: bool | None = Field(default=None, description="ignored")
    created_at: str | None = Field(default=None, description="ignored")
    updated_at: str | None = Field(default=None, description="ignored")


class CreateStagedTransactionsRequest(RootModel[list[CreateStagedTransactionRequest]]):
    root: list[CreateStagedTransactionRequest] = Field(min_length=1, max_length=5000)


class UpdateStagedTransactionRequest(DataIn):
    """v1.updateStagedTransactionRequest: the fields sent change (data keys merge; a null value removes
    the key); `status` is the client's decision (READY or PENDING)."""

    amount: AmountIn | None = None
    data: dict[str, Any] | None = None
    description: Text | None = None
    status: StagedTransactionStatus | None = Field(default=None, description=(
        "READY: the line is READY when it has what READY needs (else 400 MissingFields), a hold is lifted and a "
        "copy mark overridden (`data.possible_duplicate.overridden: true`: commit books the line); PENDING: held "
        "back from commit (`on_hold`) until READY is set; PROCESSING is set by enrichment only (400 "
        "StatusNotSettable). Left out: computed."))
    transaction_date: Day | None = None
    type: StagedTransactionType | None = None
    id: str | None = Field(default=None, description="ignored")
    session_id: str | None = Field(default=None, description="ignored")
    processing_enrichment: bool | None = Field(default=None, description="ignored")
    created_at: str | None = Field(default=None, description="ignored")
    updated_at: str | None = Field(default=None, description="ignored")
    line_number: int | None = Field(default=None, description="ignored")

    @field_validator("amount", "transaction_date", "description", "type")
    @classmethod
    def _kept(cls, value: Any) -> Any:
        # sent as null: a line always has these (leave a field out to keep it)
        if value is None:
            raise ValueError("a staged line always has this field: leave it out to keep it, null cannot remove it")
        return value


class BindRecurringRequest(In):
    recurring_transaction_id: Id
    staged_transaction_id: Id


class EnrichmentInputTransaction(In):
    description: Text | None = None
    type: CategoryType | None = None


class EnrichmentRequest(RootModel[list[EnrichmentInputTransaction]]):
    root: list[EnrichmentInputTransaction] = Field(max_length=1000)


class CardRequest(In):
    name: Name
    closing_date: StrictInt | None = Field(default=None, ge=1, le=31)
    due_date: StrictInt | None = Field(default=None, ge=1, le=31)
    credit_limit: Magnitude | None = None
    is_active: StrictBool | None = None


class CategoryRequest(In):
    name: Name
    type: CategoryType
    color: Annotated[str, StringConstraints(max_length=32)] | None = None
    icon: Annotated[str, StringConstraints(max_length=64)] | None = None
    is_active: StrictBool | None = None


class SubcategoryRequest(In):
    name: Name
    is_active: StrictBool | None = None


class TagRequest(In):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
    color: Annotated[str, StringConstraints(max_length=32)] | None = None
    is_active: StrictBool | None = None


class RecurringInput(In):
    """usecase.RecurringInput (v1.updateRecurringRequest for PATCH: every field optional)."""

    type: RecurringType | None = Field(default=None, description="income, expense, transfer, card_transaction")
    account_id: Id | None = None
    card_id: Id | None = None
    amount: AmountIn | None = None
    category_id: Id | None = None
    sub_category_id: Id | None = None
    description: Text | None = None
    source_account_id: Id | None = None
    destination_account_id: Id | None = None
    currency: Annotated[str, StringConstraints(max_length=16)] | None = Field(
        default=None, description="ISO 4217 code of amount (beside the document's fields): the account's when "
                                  "left out, and it must be the account's (a card item may name any)")
    start_date: Day | None = None
    end_date: Day | None = None
    frequency: Frequency | None = None
    include_in_summary: StrictBool | None = None
    is_active: StrictBool | None = None
    tag_ids: list[Id] | None = Field(default=None, max_length=50)

    @field_validator("type", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("frequency", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class RuleRequest(In):
    """An enrichment rule: every condition given must hold; the first rule (by priority) that matches
    sets what it names."""

    name: Name
    priority: StrictInt = Field(default=100, ge=0, le=1_000_000)
    description_contains: Text | None = None
    description_regex: Annotated[str, StringConstraints(max_length=200)] | None = None
    amount_min: Magnitude | None = Field(default=None, description="compared with the amount's magnitude")
    amount_max: Magnitude | None = Field(default=None, description="at least amount_min")
    counterparty: Text | None = Field(default=None, description="contained in data.counterparty_name")
    category_id: Id | None = None
    subcategory_id: Id | None = None
    tag_ids: list[Id] = Field(default_factory=list, max_length=50)
    set_description: Text | None = None
    set_type: StagedTransactionType | None = None
    is_active: StrictBool | None = None


# --- responses (documentation: the routes answer their own JSON) -----------------------------------
class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorOut(Out):
    error: str = Field(examples=["billing_month is required, as YYYY-MM"])
    code: str = Field(description="machine-readable", examples=["InvalidBillingMonth"])
    field: str | None = Field(default=None, description="the field at fault", examples=["billing_month"])
    details: list[dict[str, Any]] | None = None


class MessageOut(Out):
    message: str = Field(examples=["3 linhas processadas"])


class RejectedLineOut(Out):
    line_number: int | None = Field(examples=[7])
    code: str = Field(examples=["InvalidDate"])
    message: str
    field: str | None = Field(examples=["Date"])


class UploadOut(MessageOut):
    """The document's `message`, then ours: what was staged, what was left out and why."""

    processed: int = Field(description="lines staged")
    file_format: str = Field(examples=["Tabular3column#v1"])
    possible_duplicates: int = Field(description="staged lines that look like ledger lines")
    rejected: list[RejectedLineOut] = Field(description="lines that could not be read, with why")
    pending_skipped: int = Field(description="pending (not booked) entries of the file, not staged")
    other_account_lines: int = Field(description="lines of the file's other accounts, not staged")


class WorkspaceOut(Out):
    id: str
    name: str
    created_at: str


class WorkspaceList(RootModel[list[WorkspaceOut]]):
    pass


class StagedTransactionOut(Out):
    """entity.StagedTransaction (plus line_number and on_hold)."""

    id: str
    session_id: str
    type: StagedTransactionType
    status: StagedTransactionStatus
    transaction_date: str = Field(examples=["2024-03-15"])
    amount: Amount
    description: str
    data: dict[str, Any]
    processing_enrichment: bool
    on_hold: bool = Field(description="(ours) the client set PENDING: held back from commit until it sets READY")
    line_number: int | None = None
    created_at: str
    updated_at: str


class StagedTransactionList(RootModel[list[StagedTransactionOut]]):
    pass


class ImportSessionOut(Out):
    """entity.ImportSession (plus name, status counters)."""

    id: str
    workspace_id: str
    user_id: str
    description: str
    name: str
    account_id: str | None = None
    card_id: str | None = None
    billing_month: str
    target_value: Amount
    type: SessionType
    created_at: str
    stats: dict[str, int] | None = None


class ImportSessionList(RootModel[list[ImportSessionOut]]):
    pass


class SessionStatsOut(Out):
    ready: int
    total: int


class BindingOut(Out):
    """entity.RecurringTransactionBinding."""

    id: str
    session_id: str
    workspace_id: str
    staged_transaction_id: str
    recurring_transaction_id: str
    recurring_type: RecurringType
    recurring_amount: Amount
    recurring_description: str
    source: BindingSource
    status: BindingStatus
    confirmed_at: str | None = None
    created_at: str
    updated_at: str


class BindingList(RootModel[list[BindingOut]]):
    pass


class ImportSessionResponse(ImportSessionOut):
    """usecase.ImportSessionResponse: the session with the user guide's initial_balance, context_value,
    current_total, stats and status, one page of its lines (`transactions` and `staged_transactions`;
    `next_cursor` names the next page) and its recurring bindings."""

    initial_balance: Amount
    context_value: Amount
    current_total: Amount
    status: SessionStatus
    transactions: list[StagedTransactionOut]
    staged_transactions: list[StagedTransactionOut]
    next_cursor: str | None = None
    recurring_transaction_bindings: list[BindingOut]


class EnrichedTransactionOut(Out):
    """usecase.EnrichedTransaction (plus confidence, band, source)."""

    category_id: str | None = None
    category_name: str | None = None
    description: str | None = None
    sub_category_id: str | None = None
    sub_category_name: str | None = None
    type: CategoryType | None = None
    confidence: float | None = None


class EnrichedTransactionList(RootModel[list[EnrichedTransactionOut]]):
    pass


class CardOut(Out):
    id: str
    name: str
    closing_date: int | None = None
    due_date: int | None = None
    credit_limit: Amount | None = None
    is_active: bool


class CardList(RootModel[list[CardOut]]):
    pass


class InvoiceOut(Out):
    card_id: str
    billing_month: str
    status: InvoiceStatus
    card_expenses: list[dict[str, Any]] | None = Field(
        default=None, description="(GET one invoice) its card expenses: entity.CardExpense, amount a magnitude")
    card_chargebacks: list[dict[str, Any]] | None = Field(
        default=None, description="(GET one invoice) its chargebacks: entity.CardChargeback")
    card_payments: list[dict[str, Any]] | None = Field(
        default=None, description="(GET one invoice) the payments that paid it: entity.CardPayment (account_id: "
        "the account that paid; transaction_status: the payment's, which the paying account's close settles; "
        "is_final_payment: true for the one, by day, whose running sum first reaches the invoice's card expenses "
        "minus chargebacks)")


class InvoiceList(RootModel[list[InvoiceOut]]):
    pass


class CategoryOut(Out):
    id: str
    name: str
    type: CategoryType
    is_active: bool


class CategoryList(RootModel[list[CategoryOut]]):
    pass


class SubcategoryOut(Out):
    id: str
    category_id: str
    name: str


class SubcategoryList(RootModel[list[SubcategoryOut]]):
    pass


class TagOut(Out):
    id: str
    name: str


class TagList(RootModel[list[TagOut]]):
    pass


class RecurringOut(Out):
    id: str
    type: RecurringType
    description: str
    amount: Amount
    frequency: Frequency
    is_active: bool
    has_transaction_in_month: bool | None = Field(
        default=None, description="(the GET routes) a committed line paid or ignored one of its slots of `month`")
    payment_status: str | None = Field(default=None, description="(the GET routes) PAID, PENDING (a slot not paid "
                                       "in full), IGNORE, or "
                                       "NOT_DUE when none of its slots falls in `month`")
    pending_amount: Amount | None = Field(default=None, description="(the GET routes) what is still to pay of its "
                                         "slots of `month` (a slot paid in part: the rest)")
    tags: list[dict[str, Any]] | None = Field(default=None, description="(the GET routes) its tags: tag_id, tag")


class RecurringList(RootModel[list[RecurringOut]]):
    pass


class ProjectionSlotOut(Out):
    """A day a recurring item falls due (entity.ProjectionSlot)."""

    amount: Amount = Field(description="what paid it; while PENDING, what is still to pay (the item's amount, less "
                           "what paid part of it)")
    date: str = Field(examples=["2024-03-05"])
    status: str = Field(description="PAID, IGNORE or PENDING")
    transaction_id: str | None = Field(description="the ledger line that paid it (or part of it)")
    type: RecurringType


class ProjectionList(RootModel[list[ProjectionSlotOut]]):
    pass


class PendingSlotOut(Out):
    """A slot no line has paid in full yet (entity.PendingSlot; amount: what is still to pay)."""

    account_id: str | None
    amount: Amount
    card_id: str | None
    category_id: str | None
    description: str
    include_in_summary: bool
    recurring_id: str
    recurring_status: str = Field(description="Active or Inactive")
    reference_date: str = Field(examples=["2024-03-05"])
    sub_category_id: str | None
    tags: list[dict[str, Any]]
    type: RecurringType


class PendingList(RootModel[list[PendingSlotOut]]):
    pass


class CurrencySummaryOut(Out):
    """A month's recurring amounts of the items in one currency."""

    currency: str | None = Field(description="ISO 4217; null for items whose currency is not known (a card "
                                             "item that names none)")
    paid_current_month: Amount
    pending_until_month_end: Amount
    projected_current_month: Amount


class RecurringSummaryOut(Out):
    """A month's recurring amounts (entity.RecurringSummary), and the same per currency."""

    paid_current_month: Amount = Field(description="every currency added, as the document has one number")
    pending_until_month_end: Amount = Field(description="every currency added, as the document has one number")
    projected_current_month: Amount = Field(description="every currency added, as the document has one number")
    by_currency: list[CurrencySummaryOut] = Field(description="ours, beside the document's fields: the three "
                                                              "amounts per currency, by currency code")


class RuleOut(Out):
    id: str
    name: str
    priority: int


class RuleList(RootModel[list[RuleOut]]):
    pass
