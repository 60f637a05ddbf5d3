"""Request and response shapes of the reconciliation dialect (JSON:API style, as the document shows them).

Requests are validated with these models; answers are built by `api/reconciliation_views.py` and written
with amounts as exact JSON numbers, so the response models here document the answers (OpenAPI) without
re-validating them (validation would turn the numbers into floats or strings)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from tximport.formats.values import check_storable
from tximport.ids import canonical_id
from tximport.reconciliation.ids import is_uuid
from tximport.reconciliation.models import (
    MAX_AMOUNT,
    MAX_AMOUNT_DIGITS,
    MAX_ENTRIES,
    Direction,
    MatchingOptions,
    MatchStatus,
    ReconciliationStatus,
)

PREFIX = "/baas/api/v1/reconciliations"
#: dates the dialect takes (a bound keeps date arithmetic, such as a window around a period, in range)
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


_WRITTEN_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _written_date(value: Any) -> Any:
    """A date comes as text (`2024-01-31`), as 003 types it: a number is no date (pydantic would read it as a
    Unix time), nor is a datetime (pydantic would take one at midnight, `2024-01-31T00:00:00Z`, as its day)."""
    if isinstance(value, int | float | Decimal) or (isinstance(value, str) and not _WRITTEN_DAY.fullmatch(value)):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


def _json_number(value: Any) -> Any:
    """A number comes as a JSON number, as 003 types it: text that reads as one (`"1500"`) or a boolean is
    refused, where pydantic's lax mode would take it."""
    if isinstance(value, str | bool):
        raise ValueError("a number is written as a JSON number (not text, not true/false)")
    return value


def _uuid(value: str) -> str:
    """A UUID as 003 types `filter[accountId]`: 8-4-4-4-12 hexadecimal digits, in either case (kept in lower case,
    as ids are stored); anything else is refused rather than matching nothing (an empty page would read as an
    account without reconciliations)."""
    if not is_uuid(value):
        raise ValueError("a UUID is written as 8-4-4-4-12 hexadecimal digits")
    return value.lower()


Day = Annotated[date, Field(ge=EARLIEST, le=LATEST), BeforeValidator(_written_date)]
#: a UUID in a query filter (`filter[accountId]`)
UuidFilter = Annotated[str, AfterValidator(_uuid), WithJsonSchema({"type": "string", "format": "uuid"})]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
#: an id of ours (an account, a statement line): a UUID in lower case, whatever case a client writes it in
IdRef = Annotated[Ref, AfterValidator(canonical_id)]


class _In(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class EntryIn(_In):
    """One expected entry."""

    type: Direction = Field(description="CREDIT or DEBIT")
    amount: Annotated[Decimal, BeforeValidator(_json_number), AfterValidator(check_storable)] = Field(
        gt=0, lt=MAX_AMOUNT, decimal_places=4, examples=[5000.00],
        description=f"the entry's amount, positive (its direction is `type`), with at most {MAX_AMOUNT_DIGITS} digits "
                    "before the decimal point (what a bank statement holds) and no more decimals than the account's "
                    "currency has")
    description: Text = Field(examples=["Pagamento NF 12345"])
    transaction_date: Day = Field(alias="transactionDate", examples=["2024-01-10"],
                                   description="within the period")
    external_ref: Ref | None = Field(default=None, alias="externalRef", examples=["ERP-PAG-12345"])


class MatchingOptionsIn(MatchingOptions):
    """Tolerances, windows and thresholds of one reconciliation (`matchingOptions`, all optional), each a JSON
    number.

    Scores run from 0 to 1: the weighted sum of the parts (amount, date, text, reference, counterparty);
    a part that cannot be judged (no counterparty on the line) is left out and the weights of the others
    are scaled up.
    """

    @field_validator("*", mode="before")
    @classmethod
    def _numbers(cls, value: Any) -> Any:
        return _json_number(value)


class CreateAttributes(_In):
    account_id: IdRef = Field(alias="accountId", examples=["550e8400-e29b-41d4-a716-446655440100"],
                            description="one of the tenant's bank accounts (`/bankaccounts`)")
    period_start: Day = Field(alias="periodStart", examples=["2024-01-01"])
    period_end: Day = Field(alias="periodEnd", examples=["2024-01-31"],
                             description="at most 90 days after periodStart, both included")
    source: Literal["FILE_UPLOAD", "API_IMPORT"] = Field(examples=["API_IMPORT"])
    entries: list[EntryIn] = Field(max_length=MAX_ENTRIES, description=(
        f"1 to {MAX_ENTRIES:,} entries (more answer 422; the request body is also capped at 6 MB by Lambda)"))
    matching_options: MatchingOptionsIn | None = Field(default=None, alias="matchingOptions", description=(
        "our extension: tolerances, windows and thresholds of this reconciliation (defaults apply to what is "
        "left out)"))


class CreateData(_In):
    type: Literal["reconciliations"]
    attributes: CreateAttributes


class CreateReconciliationRequest(_In):
    data: CreateData


class EntryChangeAttributes(_In):
    match_status: Literal["MANUAL", "UNMATCHED"] = Field(alias="matchStatus", description=(
        "MANUAL matches the entry to `matchedStatementId` by hand; UNMATCHED takes its match away"))
    matched_statement_id: IdRef | None = Field(default=None, alias="matchedStatementId", description=(
        "the ledger line: its statement UUID (as answers show it) or its ledger transactionId"))


class EntryChangeData(_In):
    type: Literal["reconciliation-entries"]
    attributes: EntryChangeAttributes


class EntryChangeRequest(_In):
    data: EntryChangeData


# --- answers (documentation) ------------------------------------------------------------------------
class _Out(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Links(_Out):
    self: str


class ReconciliationAttributes(_Out):
    account_id: str = Field(alias="accountId")
    status: ReconciliationStatus
    period_start: date = Field(alias="periodStart")
    period_end: date = Field(alias="periodEnd")
    total_entries: int = Field(alias="totalEntries")
    matched_entries: int = Field(alias="matchedEntries", description="MATCHED and MANUAL entries")
    unmatched_entries: int = Field(alias="unmatchedEntries")
    total_amount: float = Field(alias="totalAmount", description="sum of the entries' absolute amounts",
                                examples=[23000.00])
    matched_amount: float = Field(alias="matchedAmount")
    unmatched_amount: float = Field(alias="unmatchedAmount")
    source: Literal["FILE_UPLOAD", "API_IMPORT", "AUTOMATIC"]
    failure_reason: str | None = Field(alias="failureReason")
    completed_at: str | None = Field(alias="completedAt")
    created_at: str = Field(alias="createdAt")
    updated_at: str = Field(alias="updatedAt")
    manual_entries: int = Field(alias="manualEntries", description="our extension: entries matched by hand")
    ambiguous_entries: int = Field(alias="ambiguousEntries", description="our extension")
    suggested_entries: int = Field(alias="suggestedEntries", description="our extension")
    currency: str | None = Field(description="our extension: the account's currency")
    matching_options: dict[str, Any] = Field(alias="matchingOptions", description="our extension")


class ReconciliationResource(_Out):
    type: Literal["reconciliations"]
    id: str
    links: Links
    attributes: ReconciliationAttributes


class ReconciliationDocument(_Out):
    data: ReconciliationResource
    links: Links


class PageMeta(_Out):
    total_items: int = Field(alias="totalItems")
    total_pages: int = Field(alias="totalPages")
    current_page: int = Field(alias="currentPage")
    items_per_page: int = Field(alias="itemsPerPage")
    has_next_page: bool = Field(alias="hasNextPage")
    has_previous_page: bool = Field(alias="hasPreviousPage")


class PageLinks(_Out):
    self: str
    first: str
    prev: str | None
    next: str | None
    last: str


class ReconciliationList(_Out):
    data: list[ReconciliationResource]
    meta: PageMeta
    links: PageLinks


class Explanation(_Out):
    rule: Literal["EXACT_REFERENCE", "SCORED", "MANUAL"] | None
    score: float | None
    parts: dict[str, float] | None = Field(description="amount, date, text, reference, counterparty (0 to 1)")
    amount_delta: float | None = Field(alias="amountDelta", description="line amount minus entry amount")
    date_delta_days: int | None = Field(alias="dateDeltaDays", description="line date minus entry date")


class EntryAttributes(_Out):
    type: Direction
    amount: float
    description: str
    transaction_date: date = Field(alias="transactionDate")
    match_status: MatchStatus = Field(alias="matchStatus")
    matched_statement_id: str | None = Field(alias="matchedStatementId")
    external_ref: str | None = Field(alias="externalRef")
    matched_transaction_id: str | None = Field(alias="matchedTransactionId",
                                               description="our extension: the ledger line's transactionId")
    match: Explanation | None = Field(description="our extension: why the entry matched")
    runner_up: dict[str, Any] | None = Field(alias="runnerUp", description=(
        "our extension: the best alternative and what taking it would cost (regret, in score)"))
    ambiguous: bool = Field(description="our extension: a tie or near tie kept this entry UNMATCHED")
    reason: str | None = Field(description="our extension: the outcome in words")
    suggestions: list[dict[str, Any]] = Field(description=(
        "our extension: candidates below the auto threshold; after an unmatch by hand, the line it freed"))


class EntryResource(_Out):
    type: Literal["reconciliation-entries"]
    id: str
    attributes: EntryAttributes


class EntryDocument(_Out):
    data: EntryResource


class EntryList(_Out):
    data: list[EntryResource]
    meta: PageMeta
    links: PageLinks


class ErrorOut(_Out):
    code: Literal["VALIDATION", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "UNPROCESSABLE"]
    message: str
    status_code: int = Field(alias="statusCode")
    details: dict[str, Any] = Field(description="`field` names the field at fault")
