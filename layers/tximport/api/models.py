"""Request and response shapes of the HTTP API (camelCase on the wire), kept apart from the domain
models. Every request body is wrapped in `{"data": ...}` and every answer in
`{"data", "links", "meta", "error"}`, as the reference API does."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Context, Decimal
from typing import Annotated, Any, Literal, overload

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

from tximport import commands, money
from tximport.formats.base import is_placeholder_id
from tximport.formats.dates import EARLIEST_DAY, LATEST_DAY, bookable
from tximport.ids import SAFE_ID_PATTERN, canonical_id
from tximport.models import DateStyle, ReviewLevel, TransactionSign
from tximport.models import ProductDates as DomainProductDates
from tximport.services.public import MAX_TEXT_CHARS

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,3}$")]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
#: a UUID of ours in lower case, whatever case a client writes it in (`tximport.ids.canonical_id`)
Canonical = AfterValidator(canonical_id)
#: an id of ours that becomes part of stored keys: letters, digits, `.`, `_`, `-` (tximport.ids)
KeyId = Annotated[str, StringConstraints(pattern=SAFE_ID_PATTERN), Canonical]
_PATH_ID = "1 to 128 letters, digits, `.`, `_` or `-`, starting with a letter or digit"
#: an id in a path (`/imports/{import_id}`): the same alphabet; anything else is a 400 before any lookup (its
#: schema spelled out: a validator after `Path` hides the pattern from the generated one)
PathId = Annotated[str, Path(pattern=SAFE_ID_PATTERN, description=_PATH_ID), Canonical,
                   WithJsonSchema({"description": _PATH_ID, "pattern": SAFE_ID_PATTERN, "type": "string"})]


def _day_text(value: Any) -> Any:
    # pydantic reads a number (0, 86400) or a string of digits as a Unix time: a day is written YYYY-MM-DD
    digits = isinstance(value, str) and value.strip().lstrip("+-").isdigit()
    if digits or isinstance(value, bool | int | float | Decimal):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


#: a day as the documents write it, YYYY-MM-DD (a number is no day)
Day = Annotated[date, BeforeValidator(_day_text), WithJsonSchema({"type": "string", "format": "date"})]
#: a short label (a source, a bank's identifier)
Label = Annotated[str, StringConstraints(max_length=255)]
#: the largest column mapping, as JSON (the schema in GET /fileformats; it is stored with the import)
MAX_MAPPING_BYTES = 16_384


class ApiModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", str_strip_whitespace=True)


class CreateBankAccount(ApiModel):
    """A placeholder bank account."""

    bank_id: Identifier = Field(alias="bankId", examples=["demo-bank"])
    country_code: CountryCode = Field(alias="countryCode", examples=["GBR"])
    account_identifier: Identifier = Field(alias="accountIdentifier", examples=["GB33BUKB20201555555555"])
    name: str | None = Field(default=None, max_length=200, examples=["Current account"])
    currency: CurrencyCode | None = Field(default=None, examples=["GBP"])


    def to_command(self) -> commands.CreateBankAccount:
        return commands.CreateBankAccount(bank_id=self.bank_id, country_code=self.country_code,
                                          account_identifier=self.account_identifier, name=self.name,
                                          currency=self.currency)


class CreateBankAccountRequest(ApiModel):
    data: CreateBankAccount


class ProductDates(ApiModel):
    transaction_start_date: Day | None = Field(default=None, alias="transactionStartDate")
    transaction_end_date: Day | None = Field(default=None, alias="transactionEndDate")

    @model_validator(mode="after")
    def _ordered(self) -> ProductDates:
        if self.transaction_start_date and self.transaction_end_date and \
                self.transaction_start_date > self.transaction_end_date:
            raise ValueError("transactionStartDate is after transactionEndDate")
        return self

    def to_domain(self) -> DomainProductDates:
        return DomainProductDates(transaction_start_date=self.transaction_start_date,
                                  transaction_end_date=self.transaction_end_date)


class ImportBankAccountIn(ApiModel):
    id: KeyId = Field(examples=["0190f7a2-5b1e-7c3d-9a4b-1234567890ab"])
    account_identifier: Identifier | None = Field(default=None, alias="accountIdentifier")
    country_code: CountryCode | None = Field(default=None, alias="countryCode")
    bank_identifier: Identifier | None = Field(default=None, alias="bankIdentifier")
    transaction_sign: TransactionSign = Field(default=TransactionSign.ORIGINAL, alias="transactionSign")
    product_dates: ProductDates | None = Field(default=None, alias="productDates")

    def to_command(self) -> commands.ImportAccount:
        return commands.ImportAccount(
            id=self.id, account_identifier=self.account_identifier, country_code=self.country_code,
            bank_identifier=self.bank_identifier, transaction_sign=self.transaction_sign,
            product_dates=self.product_dates.to_domain() if self.product_dates else None)


class CreateImport(ApiModel):
    """What a new import says about the file that will be uploaded."""

    file_format: Identifier = Field(alias="fileFormat", examples=["Tabular3column#v1"])
    file_name: str | None = Field(default=None, alias="fileName", max_length=255, examples=["statement.csv"])
    description: str | None = Field(default=None, max_length=1000)
    date_style: DateStyle | None = Field(default=None, alias="dateStyle",
                                         description="bigEndian (Y-M-D), littleEndian (D-M-Y), middleEndian "
                                                     "(M-D-Y); inferred from the whole date column if left out")
    review_level: ReviewLevel = Field(default=ReviewLevel.FULL, alias="reviewLevel")
    bank_accounts: list[ImportBankAccountIn] = Field(default_factory=list, alias="bankAccounts", max_length=100)
    bank_id: Identifier | None = Field(default=None, alias="bankId")
    source: Label | None = None
    api_type: Literal["single", "multi"] | None = Field(default=None, alias="apiType")
    data_source: Label | None = Field(default=None, alias="dataSource")
    fuzzy_account_matching: StrictBool = Field(default=False, alias="fuzzyAccountMatching")
    bypass_replay_validation: StrictBool = Field(default=False, alias="bypassReplayValidation")
    mapping: dict[str, Any] | None = Field(default=None, description="column mapping for CSV#mapped#v1")
    include_pending: StrictBool = Field(default=False, alias="includePending",
                                  description="import pending (not booked) entries where a format marks them")

    @field_validator("mapping")
    @classmethod
    def _small_mapping(cls, mapping: dict[str, Any] | None) -> dict[str, Any] | None:
        # request bodies are read with Decimal numbers: measure them as the JSON text they came as
        if mapping is not None and len(json.dumps(mapping, default=str)) > MAX_MAPPING_BYTES:
            raise ValueError(f"a mapping has at most {MAX_MAPPING_BYTES} bytes of JSON")
        return mapping

    def to_command(self, *, source_product: str | None = None) -> commands.CreateImport:
        return commands.CreateImport(
            file_format=self.file_format, file_name=self.file_name, description=self.description,
            date_style=self.date_style, review_level=self.review_level,
            bank_accounts=[a.to_command() for a in self.bank_accounts], bank_id=self.bank_id, source=self.source,
            data_source=self.data_source, source_product=source_product, api_type=self.api_type,
            fuzzy_account_matching=self.fuzzy_account_matching,
            bypass_replay_validation=self.bypass_replay_validation, mapping=self.mapping,
            include_pending=self.include_pending)


class CreateImportRequest(ApiModel):
    data: CreateImport


class FlipTransactions(ApiModel):
    bank_account_ids: list[KeyId] = Field(alias="bankAccountIds", min_length=1, max_length=100)


class AccountChoice(ApiModel):
    """A bank account by id, or by the identifier the file uses with its country (an existing account
    with that identifier, else a new placeholder account)."""

    id: KeyId | None = Field(default=None, examples=["0190f7a2-5b1e-7c3d-9a4b-1234567890ab"])
    account_identifier: Identifier | None = Field(default=None, alias="accountIdentifier",
                                                  examples=["NL77ABNA0574908765"])
    country_code: CountryCode | None = Field(default=None, alias="countryCode", examples=["NLD"])
    bank_identifier: Identifier | None = Field(default=None, alias="bankIdentifier")
    transaction_sign: TransactionSign = Field(default=TransactionSign.ORIGINAL, alias="transactionSign")

    @model_validator(mode="after")
    def _named(self) -> AccountChoice:
        if not self.id and not (self.account_identifier and self.country_code):
            raise ValueError("name the bank account by id, or by accountIdentifier and countryCode")
        return self

    def to_command(self) -> commands.AccountChoice:
        return commands.AccountChoice(id=self.id, account_identifier=self.account_identifier,
                                      country_code=self.country_code, bank_identifier=self.bank_identifier,
                                      transaction_sign=self.transaction_sign)


class Amend(ApiModel):
    """Either flip the signs of accounts, or name the accounts of an import created without any."""

    flip_transactions: FlipTransactions | None = Field(default=None, alias="flipTransactions")
    bank_accounts: list[AccountChoice] | None = Field(default=None, alias="bankAccounts", min_length=1,
                                                      max_length=100)

    @model_validator(mode="after")
    def _one(self) -> Amend:
        if (self.flip_transactions is None) == (self.bank_accounts is None):
            raise ValueError("give either flipTransactions or bankAccounts")
        return self

    def to_command(self) -> commands.Amendment:
        if self.bank_accounts is not None:
            return commands.NameAccounts(accounts=[a.to_command() for a in self.bank_accounts])
        assert self.flip_transactions is not None  # noqa: S101 - the validator above ensures it
        return commands.FlipSigns(bank_account_ids=self.flip_transactions.bank_account_ids)


class AmendRequest(ApiModel):
    data: Amend


class Decision(ApiModel):
    decision: Literal["import", "skip"]


class DecisionRequest(ApiModel):
    data: Decision


class Detect(ApiModel):
    """The first bytes of a file (up to 64 KiB), base64-encoded."""

    content: str = Field(min_length=1, description="base64 of the file's first bytes (at most 65,536 bytes "
                                                   "once decoded)", examples=["RGF0ZSxEZXNjcmlwdGlvbixBbW91bnQK"])
    file_name: str | None = Field(default=None, alias="fileName", max_length=255,
                                  description="breaks ties between candidates by extension",
                                  examples=["statement.csv"])


class DetectRequest(ApiModel):
    data: Detect


# --- the public transactions endpoint -------------------------------------------------------------
#: an amount as the public document writes it: digits, optionally a dot and more digits (ASCII only: no
#: sign, exponent, grouping, underscore or other script's digits)
_PLAIN_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_PLAIN_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: DynamoDB numbers hold 38 significant digits: more cannot be stored exactly
MAX_SIGNIFICANT_DIGITS = 38


def _plain_amount(value: Any, name: str) -> Decimal:
    if not isinstance(value, str) or not _PLAIN_AMOUNT.fullmatch(value):
        raise PydanticCustomError("InvalidAmount", f"{name} must be a positive decimal string such as \"12.50\"")
    amount = Decimal(value)
    if amount == 0:
        raise PydanticCustomError("InvalidAmount", f"{name} must be positive")
    if len(amount.normalize(_WIDE).as_tuple().digits) > MAX_SIGNIFICANT_DIGITS:
        raise PydanticCustomError("InvalidAmount", f"{name} has more than {MAX_SIGNIFICANT_DIGITS} significant "
                                                   "digits: the ledger cannot store it exactly")
    return amount


_WIDE = Context(prec=80)


def _currency(value: Any, name: str) -> str:
    if not isinstance(value, str) or value not in _PUBLIC_CURRENCIES:
        raise PydanticCustomError("InvalidCurrency", f"{name} must be one of the document's ISO 4217 codes")
    return value


_PUBLIC_CURRENCIES = frozenset(money.PUBLIC_CURRENCIES)


class PublicTransactionIn(BaseModel):
    """One transaction of the public document: amounts are positive decimal strings, days YYYY-MM-DD."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    account_identifier: str = Field(alias="accountIdentifier", min_length=1, max_length=128,
                                    description="the account this transaction belongs to (an IBAN, a masked "
                                                "card number ...)", examples=["GB33BUKB20201555555555"])
    transaction_id: str | None = Field(default=None, alias="transactionId", min_length=1, max_length=256,
                                       description="with accountIdentifier, what deduplicates", examples=["tx-1"])
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS, examples=["Coffee"])
    credit_debit: Literal["credit", "debit"] | None = Field(
        default=None, alias="creditDebit", description="the direction of the positive amount: debit is money out; "
                                                       "left out, the transaction is a credit")
    amount: Annotated[str, WithJsonSchema({"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$",
                                           "examples": ["3.50"]})] = Field(
        description="positive decimal string, at most the currency's decimals")
    currency: Annotated[str, WithJsonSchema({"type": "string", "enum": list(money.PUBLIC_CURRENCIES)})]
    original_amount: Annotated[str | None, WithJsonSchema({"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"})] \
        = Field(default=None, alias="originalAmount")
    original_currency: Annotated[str | None, WithJsonSchema(
        {"type": "string", "enum": list(money.PUBLIC_CURRENCIES)})] = Field(default=None, alias="originalCurrency")
    purchased_at: Annotated[str | None, WithJsonSchema({"type": "string", "format": "date"})] = Field(
        default=None, alias="purchasedAt")
    valuta_at: Annotated[str, WithJsonSchema({"type": "string", "format": "date", "examples": ["2024-03-01"]})] \
        = Field(alias="valutaAt")
    booked_at: Annotated[str | None, WithJsonSchema({"type": "string", "format": "date"})] = Field(
        default=None, alias="bookedAt")

    @field_validator("amount", "original_amount", mode="before")
    @classmethod
    def _amount_form(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None:
            _plain_amount(value, to_camel(info.field_name or "amount"))
        return value

    @field_validator("currency", "original_currency", mode="before")
    @classmethod
    def _currency_form(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None:
            _currency(value, to_camel(info.field_name or "currency"))
        return value

    @field_validator("purchased_at", "valuta_at", "booked_at", mode="before")
    @classmethod
    def _day_form(cls, value: Any, info: ValidationInfo) -> Any:
        name = to_camel(info.field_name or "valutaAt")
        if value is not None and (not isinstance(value, str) or not _PLAIN_DAY.fullmatch(value)):
            raise PydanticCustomError("InvalidDate", f"{name} must be a day written YYYY-MM-DD")
        if value is not None:
            try:
                day = date.fromisoformat(value)
            except ValueError:
                raise PydanticCustomError("InvalidDate", f"{name} is not a day of the calendar") from None
            if not bookable(day):
                raise PydanticCustomError("InvalidDate", f"{name} lies outside {EARLIEST_DAY} to {LATEST_DAY}")
        return value

    @field_validator("account_identifier", "transaction_id", "text", mode="after")
    @classmethod
    def _encodable(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise PydanticCustomError("InvalidValue", "the text holds a lone surrogate") from None
        return value

    @field_validator("account_identifier", "transaction_id", mode="after")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        # blank, an identifier would name one account for every blank one, an id one line for every blank one
        if value is not None and not value.strip():
            raise PydanticCustomError("InvalidValue", "the value is blank (only whitespace)")
        return value

    def to_command(self) -> commands.PostedTransaction:
        """The checked transaction (raises pydantic's ValidationError naming the field at fault)."""
        amount = _plain_amount(self.amount, "amount")
        currency = _currency(self.currency, "currency")
        if not money.fits(amount, currency):
            raise _invalid("amount", "InvalidAmount", f"amount has more decimals than {currency} allows "
                                                      f"({money.exponent(currency)})", self.amount)
        original = _plain_amount(self.original_amount, "originalAmount") if self.original_amount is not None \
            else None
        original_currency = _currency(self.original_currency, "originalCurrency") \
            if self.original_currency is not None else None
        if original is not None and original_currency is None:  # a foreign amount says nothing without its currency
            raise _invalid("originalCurrency", "RequiredValueMissing",
                           "originalCurrency is required with originalAmount", self.original_currency)
        if original is not None and original_currency and not money.fits(original, original_currency):
            raise _invalid("originalAmount", "InvalidAmount",
                           f"originalAmount has more decimals than {original_currency} allows", self.original_amount)
        return commands.PostedTransaction(
            account_identifier=self.account_identifier.strip(), transaction_id=_own_id(self.transaction_id),
            text=self.text, credit_debit=self.credit_debit, amount=amount, currency=currency,
            original_amount=original, original_currency=original_currency,
            purchased_at=_day(self.purchased_at, "purchasedAt"), valuta_at=_day(self.valuta_at, "valutaAt"),
            booked_at=_day(self.booked_at, "bookedAt"))


def _own_id(transaction_id: str | None) -> str | None:
    """A transactionId that only says there is none (`NOTPROVIDED`, `N/A`, all zeros: the placeholders a bank
    file's ids are read with) is no id: such transactions are told apart by their content, as without one."""
    return None if transaction_id is None or is_placeholder_id(transaction_id) else transaction_id


def _invalid(field: str, code: str, message: str, value: Any) -> ValidationError:
    return ValidationError.from_exception_data("PublicTransaction", [InitErrorDetails(
        type=PydanticCustomError(code, message), loc=(field,), input=value)])


@overload
def _day(value: str, name: str) -> date: ...
@overload
def _day(value: None, name: str) -> None: ...
@overload
def _day(value: str | None, name: str) -> date | None: ...
def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        if not _PLAIN_DAY.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise _invalid(name, "InvalidDate", f"{name} must be a day written YYYY-MM-DD", value) from None


class UpdateSettings(ApiModel):
    """The settings to change; the others stay as they are."""

    auto_create_accounts: StrictBool | None = Field(
        default=None, alias="autoCreateAccounts",
        description="an unknown accountIdentifier posted to /api/public/v1/transactions creates a placeholder "
                    "bank account (true, the default) or is refused with BankAccountNotFound (false)")
    placeholder_bank_id: Identifier | None = Field(default=None, alias="placeholderBankId",
                                                   description="the bankId of such placeholder accounts")
    placeholder_country_code: CountryCode | None = Field(
        default=None, alias="placeholderCountryCode",
        description="their countryCode when the identifier is no IBAN (an IBAN's own country wins)")

    def to_command(self) -> commands.UpdateSettings:
        return commands.UpdateSettings(auto_create_accounts=self.auto_create_accounts,
                                       placeholder_bank_id=self.placeholder_bank_id,
                                       placeholder_country_code=self.placeholder_country_code)


class UpdateSettingsRequest(ApiModel):
    data: UpdateSettings
