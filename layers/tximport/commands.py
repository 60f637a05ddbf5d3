"""What callers ask the services to do, as domain inputs (no wire names, no HTTP): the API converts its
request models into these, and the import-sessions and reconciliation dialects do the same (the latter's
are in tximport/reconciliation/commands.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tximport.models import DateStyle, ProductDates, ReviewLevel, TransactionSign


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CreateBankAccount(Command):
    """A placeholder bank account."""

    bank_id: str
    country_code: str
    account_identifier: str
    name: str | None = None
    currency: str | None = None


class ImportAccount(Command):
    """A bank account named on a new import, with what the caller says about it."""

    id: str
    account_identifier: str | None = None
    country_code: str | None = None
    bank_identifier: str | None = None
    transaction_sign: TransactionSign = TransactionSign.ORIGINAL
    product_dates: ProductDates | None = None


class CreateImport(Command):
    """A new import of a file still to be uploaded."""

    file_format: str
    file_name: str | None = None
    description: str | None = None
    date_style: DateStyle | None = None
    review_level: ReviewLevel = ReviewLevel.FULL
    bank_accounts: list[ImportAccount] = Field(default_factory=list)
    bank_id: str | None = None
    source: str | None = None
    data_source: str | None = None
    #: the calling application (its x-application header)
    source_product: str | None = None
    api_type: Literal["single", "multi"] | None = None
    fuzzy_account_matching: bool = False
    bypass_replay_validation: bool = False
    #: the column mapping document of a mapped CSV format, checked when the import is created
    mapping: dict[str, Any] | None = None
    include_pending: bool = False


class FlipSigns(Command):
    """Amend an import awaiting confirmation: reverse the sign convention of these accounts."""

    bank_account_ids: list[str] = Field(min_length=1)



class AccountChoice(Command):
    """A bank account named to continue a discovery: by id, or by the identifier the file uses (with the
    country, to create a placeholder account when the tenant has none with that identifier)."""

    id: str | None = None
    account_identifier: str | None = None
    country_code: str | None = None
    bank_identifier: str | None = None
    transaction_sign: TransactionSign = TransactionSign.ORIGINAL


class NameAccounts(Command):
    """Continue an import created without bank accounts (account discovery): import into these."""

    accounts: list[AccountChoice] = Field(min_length=1)


#: what amendtransactions asks
Amendment = FlipSigns | NameAccounts


class PostedTransaction(Command):
    """One transaction posted to the public endpoint, checked: a positive amount that fits its currency,
    days as days."""

    account_identifier: str
    transaction_id: str | None = None
    text: str | None = None
    credit_debit: Literal["credit", "debit"] | None = None
    amount: Decimal
    currency: str
    original_amount: Decimal | None = None
    original_currency: str | None = None
    purchased_at: date | None = None
    valuta_at: date
    booked_at: date | None = None


class UpdateSettings(Command):
    """Change some of a tenant's settings (None leaves a setting as it is)."""

    auto_create_accounts: bool | None = None
    placeholder_bank_id: str | None = None
    placeholder_country_code: str | None = None
