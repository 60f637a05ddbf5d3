"""Response shapes of the HTTP API, for the OpenAPI document.

Each route declares its answers with `responses=` (`ok(...)` for the success envelope and
`errors(...)` for the error envelopes). The models describe the answers; the routes keep answering
plain dicts validated as `dict[str, Any]`, so documenting an answer never changes it (money stays the
decimal string the services write, never a float).
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseContentModel
from pydantic import BaseModel, ConfigDict, Field, create_model

from tximport.models import ImportStatus

Money = str  # a decimal string such as "-12.50": amounts are never JSON numbers


class Doc(BaseModel):
    """Answers may carry more fields than documented; clients must ignore the ones they do not know."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --- errors ---------------------------------------------------------------------------------------
class ErrorItem(Doc):
    target: str | None = Field(default=None, description="the field or value at fault", examples=["data.fileFormat"])
    message: str = Field(examples=["Field required"])
    code: str = Field(examples=["missing"])


class ErrorBody(Doc):
    code: str = Field(description="stable, machine-readable error code", examples=["ValidationError"])
    message: str = Field(description="what went wrong, for people", examples=["data.fileFormat: Field required"])
    target: str | None = Field(default=None, description="the field or value at fault",
                               examples=["data.fileFormat"])
    details: list[ErrorItem] | dict[str, Any] | None = Field(default=None, description="more about the error")


class ErrorEnvelope(Doc):
    """Every error answer: `data` and `links` are null and `error` says what happened."""

    data: None = None
    links: None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    error: ErrorBody


_ERROR_EXAMPLES: dict[int, tuple[str, dict[str, dict[str, Any]]]] = {
    400: ("Invalid request: the body, a parameter or the file's options are wrong", {
        "validation": {"summary": "a field is missing or malformed", "value": {
            "data": None, "links": None, "meta": {}, "error": {
                "code": "ValidationError", "message": "data.fileFormat: Field required",
                "target": "data.fileFormat",
                "details": [{"target": "data.fileFormat", "message": "Field required", "code": "missing"}]}}},
    }),
    401: ("Missing, expired or invalid bearer token", {
        "unauthorized": {"summary": "no token", "value": {
            "data": None, "links": None, "meta": {},
            "error": {"code": "Unauthorized", "message": "missing bearer token"}}},
    }),
    404: ("No such resource for this tenant", {
        "notFound": {"summary": "unknown id", "value": {
            "data": None, "links": None, "meta": {},
            "error": {"code": "ImportNotFound", "message": "import 0190f7a2 not found", "target": "importId"}}},
    }),
    409: ("The resource is not in a state that allows this", {
        "conflict": {"summary": "wrong status", "value": {
            "data": None, "links": None, "meta": {},
            "error": {"code": "InvalidImportStatus",
                      "message": "the import is processing; this needs awaitingConfirmation",
                      "target": "status"}}},
    }),
    429: ("Too many requests: API Gateway throttles the caller; retry with backoff", {
        "throttled": {"summary": "throttled", "value": {"message": "Too Many Requests"}},
    }),
}


def errors(*codes: int) -> dict[int, OpenAPIResponse]:
    """The documented error answers of a route (400, 401, 404, 409, 429)."""
    out: dict[int, OpenAPIResponse] = {}
    for code in codes:
        description, examples = _ERROR_EXAMPLES[code]
        out[code] = {"description": description,
                     "content": {"application/json": {"model": ErrorEnvelope, "examples": examples}}}
    return out


_IDEMPOTENCY_CONFLICTS: dict[str, dict[str, Any]] = {
    "idempotencyKeyReused": {"summary": "the Idempotency-Key was used with another body", "value": {
        "data": None, "links": None, "meta": {}, "error": {
            "code": "IdempotencyKeyReused",
            "message": "this Idempotency-Key was already used with a different request body",
            "target": "Idempotency-Key"}}},
    "idempotencyRequestInProgress": {"summary": "the first request with this key is still running", "value": {
        "data": None, "links": None, "meta": {}, "error": {
            "code": "IdempotencyRequestInProgress",
            "message": "a request with this Idempotency-Key is still in progress; retry later",
            "target": "Idempotency-Key"}}},
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


def envelope(name: str, data: Any, meta: type[BaseModel] | None = None, doc: str = "") -> type[BaseModel]:
    """An envelope model `{"data", "links", "meta", "error": null}` around `data`."""
    model = create_model(
        name,
        __base__=Doc,
        __doc__=doc or f"The answer: `data` holds {name.removesuffix('Envelope')}.",
        data=(data, Field(description="the answer's payload")),
        links=(dict[str, str] | None, Field(default=None, description="related URLs: self, next page, upload")),
        meta=(meta or dict[str, Any], Field(default_factory=dict, description="counts and paging details")),
        error=(None, Field(default=None, description="always null in a success answer")),
    )
    return model


# --- file formats ---------------------------------------------------------------------------------
class FileFormatOut(Doc):
    file_format: str = Field(alias="fileFormat", examples=["CAMT053#v1"])
    description: str = Field(examples=["ISO 20022 camt.053 bank to customer statement"])
    variant: str = Field(examples=["camt.053"])
    version: int = Field(examples=[1])
    max_file_size: int = Field(alias="maxFileSize", description="bytes", examples=[250000000])
    file_extensions: list[str] = Field(alias="fileExtensions", examples=[["XML", "TXT"]])
    accounts_supported: Literal["single", "multi"] = Field(alias="accountsSupported")
    template_available: bool = Field(alias="templateAvailable")
    options: dict[str, Any] | None = Field(default=None, description="JSON schema of the format's options")


class CsvColumnOut(Doc):
    index: int = Field(examples=[0])
    header: str | None = Field(examples=["Date"])
    role: str | None = Field(description="CSV#mapped#v1 column role, null when unused", examples=["date"])


class CsvLayoutOut(Doc):
    delimiter: str = Field(examples=[","])
    has_header: bool = Field(alias="hasHeader")
    header_row: int | None = Field(alias="headerRow", description="0-based row of the header")
    columns: list[CsvColumnOut]
    decimal_separator: Literal[".", ","] = Field(alias="decimalSeparator")
    date_style: Literal["bigEndian", "littleEndian", "middleEndian"] | None = Field(
        alias="dateStyle", description="null when the dates read both ways")


class CandidateOut(Doc):
    file_format: str = Field(alias="fileFormat", examples=["CSV#mapped#v1"])
    confidence: float = Field(ge=0, le=1, examples=[0.82])
    reason: str = Field(examples=["CSV (6 columns, delimiter ',', header row)"])


class DetectionOut(Doc):
    file_format: str | None = Field(alias="fileFormat", description="null when not recognised or ambiguous",
                                    examples=["CAMT053#v1"])
    confidence: float = Field(ge=0, le=1, examples=[0.99])
    candidates: list[CandidateOut]
    csv: CsvLayoutOut | None = Field(default=None, description="the layout, for CSV files")
    suggested_mapping: dict[str, Any] | None = Field(alias="suggestedMapping", default=None,
                                                     description="usable as the CSV#mapped#v1 mapping")
    ambiguous: bool = Field(description="several formats fit: see candidates and reasons")
    reasons: list[str] = Field(examples=[["ISO 20022 namespace camt.053.001.02"]])
    encoding: str | None = Field(default=None, examples=["utf-8"])


# --- bank accounts and ledger ---------------------------------------------------------------------
class BankAccountOut(Doc):
    id: str = Field(examples=["0190f7a2-5b1e-7c3d-9a4b-1234567890ab"])
    bank_id: str = Field(alias="bankId", examples=["demo-bank"])
    country_code: str = Field(alias="countryCode", examples=["GBR"])
    account_identifier: str = Field(alias="accountIdentifier", examples=["GB33BUKB20201555555555"])
    name: str | None = Field(default=None, examples=["Current account"])
    currency: str | None = Field(default=None, examples=["GBP"])
    created: str = Field(description="ISO 8601 timestamp", examples=["2024-03-01T10:00:00Z"])


class ReconciliationMarkOut(Doc):
    reconciliation_id: str = Field(alias="reconciliationId")
    entry_id: str = Field(alias="entryId")
    match_status: Literal["MATCHED", "MANUAL"] = Field(alias="matchStatus")


class TransactionOut(Doc):
    transaction_id: str = Field(alias="transactionId")
    bank_account_id: str = Field(alias="bankAccountId")
    transaction_amount: Money = Field(alias="transactionAmount", description="signed decimal string",
                                      examples=["-12.50"])
    currency: str | None = Field(default=None, examples=["EUR"])
    transaction_type: Literal["CREDIT", "DEBIT"] = Field(alias="transactionType")
    date_posted: str = Field(alias="datePosted", examples=["2024-03-01"])
    value_date: str | None = Field(default=None, alias="valueDate")
    description: str = Field(examples=["Coffee"])
    balance: Money | None = Field(default=None, examples=["1510.00"])
    import_id: str | None = Field(default=None, alias="importId")
    statement_id: str | None = Field(default=None, alias="statementId", description=(
        "ledger lines: the id reconciliations know the line by (their `matchedStatementId`)"))
    reconciliation: ReconciliationMarkOut | None = Field(default=None, description=(
        "ledger lines: the reconciliation entry the line is matched to, if any"))
    pending: bool | None = Field(default=None, description="a pending (not booked) line (`includePending`)")
    replaces_pending_id: str | None = Field(default=None, alias="replacesPendingId", description=(
        "a booked line: the pending line it replaces in the ledger"))
    replaced_by: str | None = Field(default=None, alias="replacedBy", description=(
        "a pending ledger line: the booked line that replaced it"))
    reversal: bool | None = Field(default=None, description="the bank marks the line as a reversal")
    reversal_of: str | None = Field(default=None, alias="reversalOf", description=(
        "a reversal: the line it reverses, where it was found"))
    running_balance: Money | None = Field(default=None, alias="runningBalance", description=(
        "ledger lines with `?include=balance`: the account's balance after this line"), examples=["1510.00"])


class ReviewRowOut(TransactionOut):
    line_number: int | None = Field(default=None, alias="lineNumber")
    possible_duplicate: bool = Field(alias="possibleDuplicate")
    duplicate_of: str | None = Field(default=None, alias="duplicateOf")
    duplicate_reason: str | None = Field(default=None, alias="duplicateReason")
    decision: Literal["import", "skip"]


class CountMeta(Doc):
    count: int = Field(description="items in this page", examples=[2])


# --- imports --------------------------------------------------------------------------------------
class SummaryOut(Doc):
    account_details_count: int = Field(alias="accountDetailsCount")
    transaction_details_count: int = Field(alias="transactionDetailsCount", examples=[3])
    transaction_credit_count: int = Field(alias="transactionCreditCount", examples=[1])
    transaction_credit_sum: Money | None = Field(default=None, alias="transactionCreditSum", examples=["2500.00"])
    transaction_debit_count: int = Field(alias="transactionDebitCount", examples=[2])
    transaction_debit_sum: Money | None = Field(default=None, alias="transactionDebitSum", examples=["-1203.50"])
    transaction_range_start_date: str | None = Field(default=None, alias="transactionRangeStartDate")
    transaction_range_end_date: str | None = Field(default=None, alias="transactionRangeEndDate")
    transaction_date_overlap_count: int = Field(alias="transactionDateOverlapCount",
                                                description="lines that look like ledger duplicates")
    rejected_line_count: int = Field(alias="rejectedLineCount")


class StatementCheckOut(Doc):
    code: Literal["BalanceMismatch", "StatementGap", "StatementOverlap"]
    message: str
    expected: Money | None = Field(default=None, description="the stated figure (closing, or the last closing)")
    computed: Money | None = Field(default=None, description="the figure the lines (or this opening) give")
    difference: Money | None = Field(default=None, description="computed - expected, in the currency's minor unit")
    line_number: int | None = Field(default=None, alias="lineNumber", description="where a running balance breaks")
    start_date: str | None = Field(default=None, alias="startDate", description="gap: the days no statement covers")
    end_date: str | None = Field(default=None, alias="endDate")
    line_count: int | None = Field(default=None, alias="lineCount",
                                   description="overlap: lines that are not duplicates")
    previous_import_id: str | None = Field(default=None, alias="previousImportId")


class StatementReportOut(Doc):
    bank_account_id: str = Field(alias="bankAccountId")
    account_identifier: str | None = Field(default=None, alias="accountIdentifier")
    index: int = Field(description="1-based position of the statement among the account's in the file")
    statement_id: str | None = Field(default=None, alias="statementId")
    sequence: str | None = None
    currency: str | None = None
    opening_balance: Money | None = Field(default=None, alias="openingBalance", examples=["100.00"])
    opening_date: str | None = Field(default=None, alias="openingDate")
    closing_balance: Money | None = Field(default=None, alias="closingBalance", examples=["70.50"])
    closing_date: str | None = Field(default=None, alias="closingDate")
    available_balance: Money | None = Field(default=None, alias="availableBalance")
    computed_closing_balance: Money | None = Field(default=None, alias="computedClosingBalance")
    line_count: int = Field(alias="lineCount")
    line_sum: Money = Field(alias="lineSum")
    start_date: str | None = Field(default=None, alias="startDate")
    end_date: str | None = Field(default=None, alias="endDate")
    interim: bool
    checks: list[StatementCheckOut]


class StatementOut(Doc):
    id: str
    summary: SummaryOut
    statements: list[StatementReportOut] = Field(default_factory=list, description=(
        "per account and statement: balances, the lines' figures and the checks that fail"))
    statement_count: int = Field(default=0, alias="statementCount")


class ErrorDetailOut(Doc):
    severity: Literal["error", "warning", "info"] = "error"
    code: str = Field(examples=["InvalidAmount"])
    message: str = Field(examples=["not an amount: '12,3,4'"])
    target: str | None = Field(default=None, examples=["amount"])
    line_number: int | None = Field(default=None, alias="lineNumber", examples=[7])
    actual_value: str | None = Field(default=None, alias="actualValue", examples=["12,3,4"])


class ImportOut(Doc):
    id: str = Field(examples=["0190f7a2-5b1e-7c3d-9a4b-1234567890ab"])
    status: ImportStatus = Field(examples=["awaitingConfirmation"])
    file_format: str = Field(alias="fileFormat", examples=["CAMT053#v1"])
    file_name: str | None = Field(default=None, alias="fileName")
    review_level: str = Field(alias="reviewLevel", examples=["full"])
    bank_accounts: list[dict[str, Any]] = Field(alias="bankAccounts")
    error_details: list[ErrorDetailOut] = Field(alias="errorDetails", description="whole-file problems")
    statement: StatementOut | None = Field(default=None, description="with ?include=report, once known")
    created: str
    updated: str
    revert_status: Literal["reverting", "reverted", "revertFailed"] | None = Field(
        default=None, alias="revertStatus", description="once a revert was asked for")
    reverted: str | None = Field(default=None, description="when the revert finished")
    reverted_line_count: int | None = Field(default=None, alias="revertedLineCount",
                                            description="ledger lines the revert removed")


class CreatedImportOut(Doc):
    id: str
    status: Literal["awaitingFileUpload"]
    import_response: ImportOut = Field(alias="importResponse")


class ErrorDetailsMeta(Doc):
    count: int
    total: int = Field(description="whole-file problems plus rejected lines")


class ReviewMeta(Doc):
    transaction_count: int = Field(alias="transactionCount")
    credit_count: int = Field(alias="creditCount")
    debit_count: int = Field(alias="debitCount")
    date_overlap_count: int = Field(alias="dateOverlapCount")
    page_count: int = Field(alias="pageCount")


class PlanAccountOut(Doc):
    bank_account_id: str = Field(alias="bankAccountId")
    add: int
    skip: int
    add_sum: Money = Field(alias="addSum", examples=["1296.50"])
    skipped_transaction_ids: list[str] = Field(alias="skippedTransactionIds")


class PlanOut(Doc):
    import_id: str = Field(alias="importId")
    status: str
    add: int
    skip: int
    accounts: list[PlanAccountOut]


class PublicResultOut(Doc):
    """Not enveloped: the counts of the public transactions endpoint."""

    existing_transactions: int = Field(alias="existingTransactions", examples=[0])
    new_transactions: int = Field(alias="newTransactions", examples=[1])
    error_transactions: int = Field(alias="errorTransactions", examples=[0])
    errors: list[dict[str, Any]]


FileFormatsEnvelope = envelope("FileFormatsEnvelope", list[FileFormatOut])
DetectionEnvelope = envelope("DetectionEnvelope", DetectionOut)
BankAccountEnvelope = envelope("BankAccountEnvelope", BankAccountOut)
BankAccountsEnvelope = envelope("BankAccountsEnvelope", list[BankAccountOut], CountMeta)
class LastStatementOut(Doc):
    closing_balance: Money = Field(alias="closingBalance")
    closing_date: str = Field(alias="closingDate")
    import_id: str = Field(alias="importId")
    statement_id: str | None = Field(default=None, alias="statementId")


class AccountBalanceOut(Doc):
    amount: Money = Field(description="the balance after the account's newest line", examples=["1510.00"])
    as_of: str | None = Field(default=None, alias="asOf")
    last_statement: LastStatementOut | None = Field(default=None, alias="lastStatement")


class LedgerMeta(CountMeta):
    balance: AccountBalanceOut | None = Field(default=None, description="with `?include=balance`")


LedgerEnvelope = envelope("LedgerEnvelope", list[TransactionOut], LedgerMeta)
CreatedImportEnvelope = envelope("CreatedImportEnvelope", CreatedImportOut)
ImportEnvelope = envelope("ImportEnvelope", ImportOut)
ImportsEnvelope = envelope("ImportsEnvelope", list[ImportOut], CountMeta)
ErrorDetailsEnvelope = envelope("ErrorDetailsEnvelope", list[ErrorDetailOut], ErrorDetailsMeta)
ReviewEnvelope = envelope("ReviewEnvelope", list[ReviewRowOut], ReviewMeta)
PlanEnvelope = envelope("PlanEnvelope", PlanOut)
