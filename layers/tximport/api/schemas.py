"""Response shapes of the HTTP API: the one source of truth for what a route answers.

Routes return `Response[<Envelope>]`; with the resolver's validation on, Powertools validates every
answer against its model (an answer that drifts from its model is a 500 and a logged bug, never a
silent change of contract) and serialises it by the wire names. The OpenAPI document
(`docs/openapi.json`, `make openapi`) is generated from the same models.

The file-import document's types are the contract: money it shows as integers (`transactionAmount`,
`transactionCreditSum`) is an integer of the currency's minor units (ISO 4217: JPY 0, EUR 2, BHD 3),
with the exact decimal string beside it under its own name (`amount`, `creditAmount`); datetimes it
shows (`datePosted`, `created`, ...) are ISO 8601 with milliseconds and a Z. Every documented field is
always present (null when unknown). What we add beside the document's fields is documented here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseContentModel
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints, WithJsonSchema
from pydantic.alias_generators import to_camel

from tximport.models import DateStyle, ImportStatus, ReviewLevel, TransactionSign, iso


class Wire(BaseModel):
    """A shape on the wire: camelCase names, and nothing that is not declared (drift fails loudly)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, alias_generator=to_camel)


def _midnight(day: date) -> str:
    return f"{day.isoformat()}T00:00:00.000Z"


#: a point in time: ISO 8601 with milliseconds and a Z (`2022-08-17T10:20:21.945Z`)
Timestamp = Annotated[datetime, PlainSerializer(iso, return_type=str), WithJsonSchema(
    {"type": "string", "format": "date-time", "examples": ["2022-08-17T10:20:21.945Z"]})]
#: a statement day as the document writes it: a datetime at midnight UTC (`2004-10-11T00:00:00.000Z`)
StatementDate = Annotated[date, PlainSerializer(_midnight, return_type=str), WithJsonSchema(
    {"type": "string", "format": "date-time", "examples": ["2004-10-11T00:00:00.000Z"]})]
#: a plain day (`2004-10-11`)
Day = Annotated[date, WithJsonSchema({"type": "string", "format": "date", "examples": ["2004-10-11"]})]
#: money as an integer of the currency's minor units (ISO 4217 exponent): -5000 is -50.00 EUR, -5000 JPY
MinorUnits = Annotated[int, WithJsonSchema(
    {"type": "integer", "description": "integer of the currency's minor units (ISO 4217 exponent)",
     "examples": [-5000]})]
#: money as its exact decimal string, written with the currency's decimals (`"-50.00"`, `"1500"` JPY)
DecimalText = Annotated[str, StringConstraints(pattern=r"^-?[0-9]+(\.[0-9]+)?$"), WithJsonSchema(
    {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "examples": ["-50.00"]})]

DataT = TypeVar("DataT")
MetaT = TypeVar("MetaT", bound=BaseModel)


class EmptyMeta(Wire):
    """`meta` when there is nothing to say: `{}`."""


class CountMeta(Wire):
    count: int = Field(description="items in this page", examples=[2])


class Envelope(Wire, Generic[DataT, MetaT]):
    """`{"data", "links", "meta", "error": null}` around an answer."""

    data: DataT = Field(description="the answer's payload")
    links: dict[str, str] | None = Field(default=None, description="related URLs: self, next page, upload")
    meta: MetaT = Field(description="counts and paging details")
    error: None = Field(default=None, description="always null in a success answer")


# --- errors ---------------------------------------------------------------------------------------
class ErrorItem(Wire):
    model_config = ConfigDict(extra="allow")  # a detail names what its error needs (e.g. maxBytes)

    target: str | None = Field(default=None, description="the field or value at fault", examples=["data.fileFormat"])
    message: str | None = Field(default=None, examples=["Field required"])
    code: str | None = Field(default=None, examples=["missing"])


class ErrorBody(Wire):
    code: str = Field(description="stable, machine-readable error code", examples=["ValidationError"])
    message: str = Field(description="what went wrong, for people", examples=["data.fileFormat: Field required"])
    target: str | None = Field(default=None, description="the field or value at fault",
                               examples=["data.fileFormat"])
    details: list[ErrorItem] | None = Field(default=None, description="more about the error")


class ErrorEnvelope(Wire):
    """Every error answer: `data` and `links` are null and `error` says what happened."""

    data: None = None
    links: None = None
    meta: EmptyMeta = Field(default_factory=EmptyMeta)
    error: ErrorBody


def _error_example(code: str, message: str, target: str | None = None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, **({"target": target} if target else {}), **extra}
    return {"data": None, "links": None, "meta": {}, "error": error}


_ERROR_EXAMPLES: dict[int, tuple[str, dict[str, dict[str, Any]]]] = {
    400: ("Invalid request: the body, a parameter or the file's options are wrong", {
        "validation": {"summary": "a field is missing or malformed", "value": _error_example(
            "ValidationError", "data.fileFormat: Field required", "data.fileFormat",
            details=[{"target": "data.fileFormat", "message": "Field required", "code": "missing"}])},
    }),
    401: ("Missing, expired or invalid bearer token (answered in this envelope on AWS too: the api function "
          "verifies the token)", {
        "missingToken": {"summary": "no token", "value": _error_example(
            "MissingToken", "missing Authorization header", "Authorization")},
    }),
    403: ("The token lacks the scope this route needs", {
        "insufficientScope": {"summary": "scope missing", "value": _error_example(
            "InsufficientScope", "this route needs the scope api:transactions:create", "Authorization")},
    }),
    404: ("No such resource for this tenant, or no such route", {
        "notFound": {"summary": "unknown id", "value": _error_example(
            "ImportNotFound", "import 0190f7a2 not found", "importId")},
    }),
    409: ("The resource is not in a state that allows this", {
        "conflict": {"summary": "wrong status", "value": _error_example(
            "InvalidImportStatus", "the import is processing; this needs awaitingConfirmation", "status")},
    }),
    429: ("Too many requests: API Gateway throttles the caller; retry with backoff", {
        "throttled": {"summary": "throttled", "value": {"message": "Too Many Requests"}},
    }),
}


def errors(*codes: int) -> dict[int, OpenAPIResponse]:
    """The documented error answers of a route (400, 401, 403, 404, 409, 429)."""
    out: dict[int, OpenAPIResponse] = {}
    for code in codes:
        description, examples = _ERROR_EXAMPLES[code]
        out[code] = {"description": description,
                     "content": {"application/json": {"model": ErrorEnvelope, "examples": examples}}}
    return out


_IDEMPOTENCY_CONFLICTS: dict[str, dict[str, Any]] = {
    "idempotencyKeyReused": {"summary": "the Idempotency-Key was used with another body", "value": _error_example(
        "IdempotencyKeyReused", "this Idempotency-Key was already used with a different request body",
        "Idempotency-Key")},
    "idempotencyRequestInProgress": {"summary": "the first request with this key is still running",
                                     "value": _error_example(
                                         "IdempotencyRequestInProgress",
                                         "a request with this Idempotency-Key is still in progress; retry later",
                                         "Idempotency-Key")},
}


def idempotent(responses: dict[int, OpenAPIResponse]) -> dict[int, OpenAPIResponse]:
    """`responses` of a route taking an Idempotency-Key, with the two 409 answers the key can cause."""
    conflict: OpenAPIResponse = responses.get(409) or {
        "description": "The Idempotency-Key cannot be used for this request",
        "content": {"application/json": {"model": ErrorEnvelope, "examples": {}}}}
    content = conflict.get("content", {})["application/json"]
    # a copy: the shared examples of errors() must not grow on every route
    content["examples"] = {**content.get("examples", {}), **_IDEMPOTENCY_CONFLICTS}
    return {**responses, 409: conflict}


def ok(model: type[BaseModel] | None, description: str, status: int = 200,
       example: dict[str, Any] | None = None, *error_codes: int) -> dict[int, OpenAPIResponse]:
    """The success answer of a route (its envelope model and an example) and its error answers."""
    answer: OpenAPIResponse = {"description": description}
    if model is not None:
        content: OpenAPIResponseContentModel = {"model": model}
        if example is not None:
            content["examples"] = {"example": {"value": example}}
        answer["content"] = {"application/json": content}
    return {status: answer, **errors(*error_codes)}


# --- file formats ---------------------------------------------------------------------------------
class FileFormatOut(Wire):
    file_format: str = Field(examples=["CAMT053#v1"])
    description: str = Field(examples=["ISO 20022 camt.053 bank to customer statement"])
    variant: str = Field(examples=["camt.053"])
    version: int = Field(examples=[1])
    max_file_size: int = Field(description="bytes", examples=[250000000])
    file_extensions: list[str] = Field(examples=[["XML", "TXT"]])
    accounts_supported: Literal["single", "multi"]
    template_available: bool = Field(description="ours: GET /fileformats/{id}/template serves one")
    options: dict[str, Any] | None = Field(default=None, description="ours: JSON schema of the format's options")


class CsvColumnOut(Wire):
    index: int = Field(examples=[0])
    header: str | None = Field(examples=["Date"])
    role: str | None = Field(description="CSV#mapped#v1 column role, null when unused", examples=["date"])


class CsvLayoutOut(Wire):
    delimiter: str = Field(examples=[","])
    has_header: bool
    header_row: int | None = Field(description="0-based row of the header")
    columns: list[CsvColumnOut]
    decimal_separator: Literal[".", ","]
    date_style: DateStyle | None = Field(description="null when the dates read both ways")


class CandidateOut(Wire):
    file_format: str = Field(examples=["CSV#mapped#v1"])
    confidence: float = Field(ge=0, le=1, examples=[0.82])
    reason: str = Field(examples=["CSV (6 columns, delimiter ',', header row)"])


class DetectionOut(Wire):
    file_format: str | None = Field(description="null when not recognised or ambiguous", examples=["CAMT053#v1"])
    confidence: float = Field(ge=0, le=1, examples=[0.99])
    candidates: list[CandidateOut]
    csv: CsvLayoutOut | None = Field(default=None, description="the layout, for CSV files")
    suggested_mapping: dict[str, Any] | None = Field(default=None, description="usable as the CSV#mapped#v1 mapping")
    ambiguous: bool = Field(description="several formats fit: see candidates and reasons")
    reasons: list[str] = Field(examples=[["ISO 20022 namespace camt.053.001.02"]])
    encoding: str | None = Field(default=None, examples=["utf-8"])


# --- bank accounts and transactions ---------------------------------------------------------------
class BankAccountOut(Wire):
    id: str = Field(examples=["0190f7a2-5b1e-7c3d-9a4b-1234567890ab"])
    bank_id: str = Field(examples=["demo-bank"])
    country_code: str = Field(examples=["GBR"])
    account_identifier: str = Field(examples=["GB33BUKB20201555555555"])
    name: str | None = Field(examples=["Current account"])
    currency: str | None = Field(examples=["GBP"])
    created: Timestamp


class ReconciliationMarkOut(Wire):
    reconciliation_id: str
    entry_id: str
    match_status: Literal["MATCHED", "MANUAL"]


class TransactionOut(Wire):
    """A transaction: the document's fields, then ours beside them."""

    transaction_id: str
    bank_account_id: str
    transaction_amount: MinorUnits = Field(description="signed integer of the currency's minor units")
    transaction_type: Literal["CREDIT", "DEBIT"]
    date_posted: StatementDate = Field(description="the posting day, as a datetime at midnight UTC")
    description: str = Field(examples=["Shoe purchase"])
    # ours, beside the document's fields
    amount: DecimalText = Field(description="ours: the exact signed amount with the currency's decimals")
    currency: str | None = Field(examples=["EUR"])
    posting_date: Day = Field(description="ours: datePosted as a plain day")
    value_date: Day | None
    purchase_date: Day | None = Field(description="ours: the day of the purchase (public endpoint's purchasedAt)")
    balance: DecimalText | None = Field(description="ours: the balance after the line, where the bank gives it")
    original_amount: DecimalText | None
    original_currency: str | None
    bank_transaction_id: str | None = Field(description="ours: the bank's id (FITID, AcctSvcrRef, transactionId)")
    reference: str | None
    counterparty_name: str | None
    counterparty_account: str | None
    reversal: bool = Field(description="ours: the bank marks the line as a reversal (camt RvslInd, MT940 RC/RD)")
    reversal_of: str | None = Field(description="ours: a reversal: the line it reverses, where it was found")
    pending: bool = Field(description="ours: a pending (not booked) line (`includePending`)")
    replaces_pending_id: str | None = Field(description="ours: a booked line: the pending line it replaces")
    replaced_by: str | None = Field(description="ours: a pending ledger line: the booked line that replaced it")


class LastStatementOut(Wire):
    """The account's last confirmed statement, which the balance is anchored on."""

    closing_balance: MinorUnits = Field(description="the statement's closing balance, in minor units")
    closing_balance_amount: DecimalText = Field(description="the same, as the exact decimal")
    closing_date: Day
    import_id: str
    statement_id: str | None


class AccountBalanceOut(Wire):
    """The account's balance after its newest booked line (`?include=balance`)."""

    balance: MinorUnits | None = Field(description="the balance after the account's newest booked line, in minor "
                                                   "units; null while nothing is known (no statement, no booked line)")
    amount: DecimalText | None = Field(description="the same, as the exact decimal (null with it)",
                                       examples=["1510.00"])
    currency: str | None = Field(examples=["EUR"])
    as_of: Day | None = Field(description="the day of the newest booked line (or of the last statement's closing, "
                                          "when later); null while nothing is known")
    last_statement: LastStatementOut | None
    provisional: bool = Field(default=False, description=(
        "true while an import's lines are being written to the account's ledger (its commit) or removed from it "
        "(its revert, also one stopped part-way, or the undo of a failed commit): the day sums follow its lines "
        "as they are recomputed, so "
        "these figures and the lines' runningBalance are final only once it ends"))
    changing_import_id: str | None = Field(default=None, description="the import doing so (null when not provisional)")


class LedgerMeta(CountMeta):
    balance: AccountBalanceOut | None = Field(default=None, description="with `?include=balance`, else null")


class ReviewRowOut(TransactionOut):
    possible_duplicate: bool
    line_number: int | None = Field(description="ours: where the line is in the file")
    duplicate_of: str | None = Field(description="ours: the ledger line this one may duplicate")
    duplicate_reason: dict[str, Any] | None = Field(description="ours: why (score, day distance, certain)")
    decision: Literal["import", "skip"] = Field(description="ours: what confirm does with the line")


class LedgerRowOut(TransactionOut):
    import_id: str | None = Field(description="the import that wrote the line (public-api for the public "
                                              "endpoint); null for a line committed from an import session")
    committed: Timestamp
    statement_id: str = Field(description="the id reconciliations know the line by (their `matchedStatementId`)")
    reconciliation: ReconciliationMarkOut | None = Field(
        description="the reconciliation entry the line is matched to, if any")
    running_balance: MinorUnits | None = Field(default=None, description=(
        "with `?include=balance`: the account's balance after this line, in minor units (else null)"))
    running_balance_amount: DecimalText | None = Field(default=None, description=(
        "with `?include=balance`: the same, as the exact decimal"))
    # where an import session filed the line (null for lines from imports and the public endpoint)
    type: str | None = Field(default=None, description="the session's transaction type", examples=["EXPENSE"])
    transaction_status: str | None = Field(default=None, description="VALIDATING, IGNORE, then PAID at close")
    category_id: str | None = None
    subcategory_id: str | None = None
    tag_ids: list[str] | None = None
    workspace_id: str | None = None
    session_id: str | None = None
    staged_transaction_id: str | None = None
    billing_month: str | None = None
    card_id: str | None = None
    counterpart_account_id: str | None = None
    counterpart_transaction_id: str | None = Field(default=None, description=(
        "a transfer or card payment whose other account already held a line of the same money when it was "
        "committed (that account's statement imported first): that line; no mirror line was written there"))
    recurring_id: str | None = None
    recurring_type: str | None = None


# --- imports --------------------------------------------------------------------------------------
class CurrencyTotalOut(Wire):
    currency: str | None = Field(examples=["EUR"])
    credit_count: int
    credit_sum: MinorUnits
    credit_amount: DecimalText
    debit_count: int
    debit_sum: MinorUnits
    debit_amount: DecimalText


class SummaryOut(Wire):
    account_details_count: int = Field(examples=[1])
    transaction_details_count: int = Field(examples=[5])
    transaction_credit_count: int = Field(examples=[2])
    transaction_credit_sum: MinorUnits = Field(description="sum of the credit lines' transactionAmount")
    transaction_debit_count: int = Field(examples=[3])
    transaction_debit_sum: MinorUnits = Field(description="sum of the debit lines' transactionAmount")
    transaction_range_start_date: StatementDate | None
    transaction_range_end_date: StatementDate | None
    transaction_date_overlap_count: int = Field(description="ledger lines on the days this file covers")
    # ours
    credit_amount: DecimalText | None = Field(description="ours: the credit sum as a decimal; null when the "
                                                          "lines are in several currencies (see currencyTotals)")
    debit_amount: DecimalText | None = Field(description="ours: the debit sum as a decimal; null when the lines "
                                                         "are in several currencies")
    currency_totals: list[CurrencyTotalOut] = Field(description="ours: counts and sums per currency")
    possible_duplicate_count: int = Field(description="ours: lines marked possibleDuplicate (the ledger may "
                                                      "hold them already)")
    rejected_line_count: int = Field(description="ours: lines rejected (their errors in GET /errordetails)")
    ignored_line_count: int = Field(description="ours: lines of accounts the import does not name "
                                                "(UnlistedAccountLines); lines outside productDates and pending "
                                                "lines left out are counted in their notes (OutsideProductDates, "
                                                "PendingEntriesSkipped), not here")
    currencies: list[str]


class StatementCheckOut(Wire):
    """A failed statement check. Money as the document writes it: integers of the currency's minor
    units, with the exact decimal beside (`<name>Amount`)."""

    code: Literal["BalanceMismatch", "StatementGap", "StatementOverlap", "StatementRepeated", "DateOutsideStatement"]
    message: str
    expected: MinorUnits | None = Field(description="the stated figure (closing, or the last closing)")
    expected_amount: DecimalText | None
    computed: MinorUnits | None = Field(description="the figure the lines (or this opening) give")
    computed_amount: DecimalText | None
    difference: MinorUnits | None = Field(description="computed - expected")
    difference_amount: DecimalText | None
    line_number: int | None = Field(description="where a running balance breaks; the line dated outside the "
                                                "statement")
    start_date: Day | None = Field(description="gap: the days no statement covers; overlap: the lines' days; "
                                               "date outside: the statement's period as the file states it")
    end_date: Day | None
    line_count: int | None = Field(description="overlap: lines that are not duplicates; repeated: the statement's "
                                               "lines")
    previous_import_id: str | None = Field(description="gap, overlap: the import of the statement before (this "
                                                       "import's own id where that statement is in the same file)")
    repeats_statement: int | None = Field(default=None, description="repeated: the index of the earlier statement "
                                                                    "of this file that this one repeats")


class StatementReportOut(Wire):
    """One statement of one account: its balances (minor units, the exact decimal beside), the lines'
    figures and the checks that failed."""

    bank_account_id: str
    account_identifier: str | None
    index: int = Field(description="1-based position of the statement among the account's in the file")
    statement_id: str | None
    sequence: str | None
    currency: str | None
    opening_balance: MinorUnits | None
    opening_balance_amount: DecimalText | None = Field(examples=["100.00"])
    opening_date: Day | None
    closing_balance: MinorUnits | None
    closing_balance_amount: DecimalText | None = Field(examples=["70.50"])
    closing_date: Day | None
    available_balance: MinorUnits | None
    available_balance_amount: DecimalText | None
    computed_closing_balance: MinorUnits | None = Field(description="opening + lineSum")
    computed_closing_balance_amount: DecimalText | None
    line_count: int
    line_sum: MinorUnits
    line_sum_amount: DecimalText
    start_date: Day | None
    end_date: Day | None
    first_line_number: int | None = Field(default=None, description="ours: the file line of its first booked line")
    last_line_number: int | None = Field(default=None, description="ours: the file line of its last booked line")
    interim: bool
    foreign_currency: bool = Field(default=False, description=(
        "ours: the lines of a statement in another currency than the statement's own, reported apart: checked on "
        "their own figures, never for a gap or an overlap, and never the account's last statement"))
    checks: list[StatementCheckOut]


class StatementOut(Wire):
    id: str
    summary: SummaryOut
    statements: list[StatementReportOut] = Field(description=(
        "ours: per account and statement (at most 100): balances, the lines' figures and the checks that fail"))
    statement_count: int = Field(description="ours: every statement of the file (statements lists at most 100)")


class ErrorDetailOut(Wire):
    severity: Literal["error", "warning", "info"]
    code: str = Field(examples=["InvalidAmount"])
    message: str = Field(examples=["not an amount: '12,3,4'"])
    target: str | None = Field(examples=["amount"])
    line_number: int | None = Field(examples=[7])
    actual_value: str | None = Field(examples=["12,3,4"])


class ValidationDetailOut(Wire):
    """One kind of problem among the rejected lines (each line is in errordetails)."""

    code: str = Field(examples=["InvalidDate"])
    target: str | None = Field(examples=["Date"])
    message: str = Field(description="the first such line's message")
    count: int = Field(description="lines rejected with this code at this target")
    first_line_number: int | None


class StatusMonitorOut(Wire):
    """How often the import was polled (GET /imports/{id}); counted beside the import, never a change of it."""

    poll_first_attempt: Timestamp | None
    poll_attempts: int
    poll_last_attempt: Timestamp | None


class ImportAccountOut(Wire):
    id: str
    account_identifier: str | None
    country_code: str | None
    bank_identifier: str | None
    transaction_sign: TransactionSign
    currency: str | None = Field(description="ours: the bank account's currency")


class DiscoveredAccountOut(Wire):
    account_identifier: str = Field(examples=["NL77ABNA0574908765"])
    currency: str | None
    bank_account_id: str | None = Field(description="the bank account it is imported into, once named")
    transaction_count: int
    bank: str | None = Field(default=None, description="the bank the file names beside the account (OFX BANKID, a "
                             "camt servicer BIC), if any")


class ProductDatesOut(Wire):
    transaction_start_date: Day | None
    transaction_end_date: Day | None


class ImportOut(Wire):
    """An import: every documented field, always present (null when unknown), then ours."""

    import_ref: str = Field(alias="_id", description="the import's id (as `id`)")
    id: str = Field(examples=["0190f7a2-5b1e-7c3d-9a4b-1234567890ab"])
    status: ImportStatus
    organisation_id: str
    company_id: str
    file_format: str = Field(examples=["Tabular3column#v1"])
    file_name: str | None
    description: str | None
    date_style: DateStyle | None
    review_level: ReviewLevel
    source: str | None
    data_source: str | None
    source_product: str | None = Field(description="the x-application header of the call that created it")
    api_type: Literal["single", "multi"]
    bank_id: str | None
    bank_accounts: list[ImportAccountOut]
    fuzzy_account_matching: bool
    bypass_replay_validation: bool
    s3_file_path: str
    file_uploaded: bool
    execution_arn: str | None
    status_monitor: StatusMonitorOut
    validation_details: list[ValidationDetailOut]
    validation_details_count: int = Field(description="the length of validationDetails")
    error_details: list[ErrorDetailOut] = Field(description="whole-file problems, warnings and notes")
    account_identifiers: list[DiscoveredAccountOut] = Field(description="the accounts the file holds")
    statement: StatementOut | None = Field(description="with ?include=report, once known; else null")
    created: Timestamp
    updated: Timestamp
    # ours
    interim_report: bool = Field(description="ours: the file is an interim report (MT942): lines may change")
    amend_count: int
    completed: Timestamp | None
    revert_status: Literal["reverting", "reverted", "revertFailed"] | None
    reverted: Timestamp | None = Field(description="when the revert finished")
    reverted_line_count: int | None = Field(description="ledger lines the revert removed")
    mapping: dict[str, Any] | None = Field(description="the CSV#mapped#v1 column mapping")
    product_dates: ProductDatesOut | None
    include_pending: bool
    expires: Timestamp | None = Field(description="when the import expires (12 months after creation)")


class CreatedImportOut(Wire):
    id: str
    status: Literal["awaitingFileUpload"]
    import_response: ImportOut


class ErrorDetailsMeta(Wire):
    count: int
    total: int = Field(description="whole-file problems plus rejected lines")


class ReviewMeta(Wire):
    transaction_count: int
    credit_count: int
    debit_count: int
    date_overlap_count: int
    page_count: int = Field(description="ours: lines in this page")
    interim_report: bool = Field(description="ours: the file is an interim report (MT942)")


class PlanAccountOut(Wire):
    bank_account_id: str
    add: int
    skip: int
    currency: str | None
    add_sum: DecimalText = Field(examples=["1296.50"])
    skipped_transaction_ids: list[str]


class PlanOut(Wire):
    import_id: str
    status: ImportStatus
    add: int
    skip: int
    accounts: list[PlanAccountOut]


# --- the public transactions endpoint -------------------------------------------------------------
class PublicErrorOut(Wire):
    index: int = Field(description="the transaction's position in the request")
    code: str = Field(examples=["InvalidAmount"])
    message: str
    target: str = Field(examples=["$.transactions[0].amount"])


class PublicItemOut(Wire):
    """What happened to one posted transaction (ours, beside the document's counts)."""

    index: int
    result: Literal["new", "existing", "error"]
    bank_account_id: str | None
    transaction_id: str | None = Field(description="the ledger line's id")
    account_created: bool = Field(description="its accountIdentifier was unknown: a placeholder bank account "
                                              "was created for it")
    updated_fields: list[str] = Field(description="an existing transaction resent with other dates: the "
                                                  "fields that were updated")
    kept_fields: list[str] = Field(default_factory=list, description=(
        "an existing transaction resent with another amount, creditDebit, currency or text: those fields, whose "
        "stored values stay (the transactionId names the transaction first sent)"))


class CreatedAccountOut(Wire):
    account_identifier: str
    bank_account_id: str


class PublicResultOut(Wire):
    """Not enveloped: the document's counts, then ours."""

    existing_transactions: int = Field(examples=[0])
    new_transactions: int = Field(examples=[1])
    error_transactions: int = Field(examples=[0])
    errors: list[PublicErrorOut]
    items: list[PublicItemOut]
    created_accounts: list[CreatedAccountOut]


class FileFormatsEnvelope(Envelope[list[FileFormatOut], EmptyMeta]):
    """The formats."""


class DetectionEnvelope(Envelope[DetectionOut, EmptyMeta]):
    """What a file is."""


class BankAccountEnvelope(Envelope[BankAccountOut, EmptyMeta]):
    """A bank account."""


class BankAccountsEnvelope(Envelope[list[BankAccountOut], CountMeta]):
    """A page of bank accounts."""


class LedgerEnvelope(Envelope[list[LedgerRowOut], LedgerMeta]):
    """A page of the ledger."""


class CreatedImportEnvelope(Envelope[CreatedImportOut, EmptyMeta]):
    """A new import and its upload URL."""


class ImportEnvelope(Envelope[ImportOut, EmptyMeta]):
    """An import."""


class ImportsEnvelope(Envelope[list[ImportOut], CountMeta]):
    """A page of imports."""


class ErrorDetailsEnvelope(Envelope[list[ErrorDetailOut], ErrorDetailsMeta]):
    """A page of problems."""


class ReviewEnvelope(Envelope[list[ReviewRowOut], ReviewMeta]):
    """A page of staged transactions."""


class PlanEnvelope(Envelope[PlanOut, EmptyMeta]):
    """What confirm would do."""
