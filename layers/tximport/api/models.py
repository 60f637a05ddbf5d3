"""Request and response shapes of the HTTP API (camelCase on the wire), kept apart from the domain
models. Every request body is wrapped in `{"data": ...}` and every answer in
`{"data", "links", "meta", "error"}`, as the reference API does."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from tximport import commands
from tximport.ids import SAFE_ID_PATTERN
from tximport.models import DateStyle, ReviewLevel, TransactionSign
from tximport.models import ProductDates as DomainProductDates

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,3}$")]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
#: an id of ours that becomes part of stored keys: letters, digits, `.`, `_`, `-` (tximport.ids)
KeyId = Annotated[str, StringConstraints(pattern=SAFE_ID_PATTERN)]
#: an id in a path (`/imports/{import_id}`): the same alphabet; anything else is a 400 before any lookup
PathId = Annotated[str, Path(pattern=SAFE_ID_PATTERN, description="1 to 128 letters, digits, `.`, `_` or `-`, "
                                                                  "starting with a letter or digit")]
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
    transaction_start_date: date | None = Field(default=None, alias="transactionStartDate")
    transaction_end_date: date | None = Field(default=None, alias="transactionEndDate")

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
    fuzzy_account_matching: bool = Field(default=False, alias="fuzzyAccountMatching")
    bypass_replay_validation: bool = Field(default=False, alias="bypassReplayValidation")
    mapping: dict[str, Any] | None = Field(default=None, description="column mapping for CSV#mapped#v1")
    include_pending: bool = Field(default=False, alias="includePending",
                                  description="import pending (not booked) entries where a format marks them")

    @field_validator("mapping")
    @classmethod
    def _small_mapping(cls, mapping: dict[str, Any] | None) -> dict[str, Any] | None:
        # request bodies are read with Decimal numbers: measure them as the JSON text they came as
        if mapping is not None and len(json.dumps(mapping, default=str)) > MAX_MAPPING_BYTES:
            raise ValueError(f"a mapping has at most {MAX_MAPPING_BYTES} bytes of JSON")
        return mapping

    def to_command(self) -> commands.CreateImport:
        return commands.CreateImport(
            file_format=self.file_format, file_name=self.file_name, description=self.description,
            date_style=self.date_style, review_level=self.review_level,
            bank_accounts=[a.to_command() for a in self.bank_accounts], bank_id=self.bank_id, source=self.source,
            api_type=self.api_type, fuzzy_account_matching=self.fuzzy_account_matching,
            bypass_replay_validation=self.bypass_replay_validation, mapping=self.mapping,
            include_pending=self.include_pending)


class CreateImportRequest(ApiModel):
    data: CreateImport


class FlipTransactions(ApiModel):
    bank_account_ids: list[KeyId] = Field(alias="bankAccountIds", min_length=1, max_length=100)


class Amend(ApiModel):
    flip_transactions: FlipTransactions = Field(alias="flipTransactions")

    def to_command(self) -> commands.FlipSigns:
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
