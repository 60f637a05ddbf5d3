"""`POST /api/public/v1/transactions`: up to 1,000 transactions posted as JSON go straight into the
ledger, deduplicated by accountIdentifier + transactionId (a line without a transactionId is identified
by its content and its occurrence in the request, like a file line)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tximport.formats.accounts import match_account
from tximport.ids import transaction_id
from tximport.models import LedgerLine, Tenant, utcnow
from tximport.storage.ledger import LedgerStore
from tximport.storage.repository import AccountsStore

SOURCE_ID = "public-api"
MAX_TRANSACTIONS = 1000
#: the longest text value of a transaction: a ledger line holds several, and a DynamoDB item at most 400 KB
MAX_TEXT_CHARS = 1000


@dataclass(frozen=True, slots=True)
class RejectedTransaction:
    """A posted transaction that was not written, and why."""

    index: int
    code: str
    message: str
    target: str


@dataclass(slots=True)
class IngestResult:
    """What happened to the posted transactions."""

    existing: int = 0
    new: int = 0
    errors: list[RejectedTransaction] = field(default_factory=list)


class _Invalid(Exception):
    def __init__(self, code: str, message: str, target: str) -> None:
        super().__init__(message)
        self.code, self.message, self.target = code, message, target


def _text(item: dict[str, Any], name: str, index: int, *, required: bool = False) -> str | None:
    value = item.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _Invalid("RequiredValueMissing", f"{name} is required", f"$.transactions[{index}].{name}")
        return None
    if not isinstance(value, str):
        raise _Invalid("InvalidValue", f"{name} must be a string", f"$.transactions[{index}].{name}")
    if len(value) > MAX_TEXT_CHARS:
        raise _Invalid("InvalidValue", f"{name} has at most {MAX_TEXT_CHARS} characters",
                       f"$.transactions[{index}].{name}")
    return value.strip()


def _amount(item: dict[str, Any], name: str, index: int, *, required: bool) -> Decimal | None:
    raw = _text(item, name, index, required=required)
    if raw is None:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _Invalid("InvalidAmount", f"{name} is not a decimal number", f"$.transactions[{index}].{name}") from None
    if not value.is_finite() or value < 0:
        raise _Invalid("InvalidAmount", f"{name} must be a positive number", f"$.transactions[{index}].{name}")
    return value


def _date(item: dict[str, Any], name: str, index: int, *, required: bool = False) -> date | None:
    raw = _text(item, name, index, required=required)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _Invalid("InvalidDate", f"{name} must be YYYY-MM-DD", f"$.transactions[{index}].{name}") from None


def _currency(item: dict[str, Any], name: str, index: int, *, required: bool) -> str | None:
    raw = _text(item, name, index, required=required)
    if raw is not None and (len(raw) != 3 or not raw.isalpha() or not raw.isupper()):
        raise _Invalid("InvalidCurrency", f"{name} must be an ISO 4217 code", f"$.transactions[{index}].{name}")
    return raw


class PublicTransactionsService:
    def __init__(self, *, accounts: AccountsStore, ledger: LedgerStore) -> None:
        self.accounts = accounts
        self.ledger = ledger

    def _accounts(self, tenant: Tenant) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        cursor: str | None = None
        while True:
            page, cursor = self.accounts.list_page(tenant, limit=1000, cursor=cursor)
            pairs.extend((a.id, a.account_identifier) for a in page)
            if not cursor:
                return pairs

    def ingest(self, tenant: Tenant, items: list[Any]) -> IngestResult:
        """Validate each transaction on its own, write the new ones, count the existing ones."""
        reader = _Reader(self._accounts(tenant), committed=utcnow())
        lines: list[LedgerLine] = []
        errors: list[RejectedTransaction] = []
        for index, item in enumerate(items):
            try:
                lines.append(reader.line(item, index))
            except _Invalid as exc:
                errors.append(RejectedTransaction(index, exc.code, exc.message, exc.target))
        unique = {(line.bank_account_id, line.transaction_id): line for line in lines}
        existing = self.ledger.existing(tenant, [(line.bank_account_id, line.date_posted, line.transaction_id)
                                                 for line in unique.values()])
        new_lines = [line for key, line in unique.items() if key not in existing]
        self.ledger.write(tenant, new_lines)
        return IngestResult(existing=len(lines) - len(new_lines), new=len(new_lines), errors=errors)


class _Reader:
    """Reads posted transactions into ledger lines: accounts are matched once per identifier, and
    identical lines are counted so that each gets its own id."""

    def __init__(self, accounts: list[tuple[str, str]], *, committed: datetime) -> None:
        self.accounts = accounts
        self.committed = committed
        self.resolved: dict[str, str | None] = {}
        self.occurrences: Counter[tuple[str, str, str, str]] = Counter()

    def _account(self, item: dict[str, Any], index: int) -> str:
        ref = _text(item, "accountIdentifier", index, required=True) or ""
        if ref not in self.resolved:
            self.resolved[ref] = match_account(ref, self.accounts, True)
        account_id = self.resolved[ref]
        if account_id is None:
            raise _Invalid("BankAccountNotFound", f"no bank account has the identifier {ref!r}",
                           f"$.transactions[{index}].accountIdentifier")
        return account_id

    def line(self, item: Any, index: int) -> LedgerLine:
        """One posted transaction as its ledger line; _Invalid names what is wrong with it."""
        if not isinstance(item, dict):
            raise _Invalid("InvalidValue", "a transaction must be an object", f"$.transactions[{index}]")
        account_id = self._account(item, index)
        amount = _amount(item, "amount", index, required=True) or Decimal(0)
        direction = _text(item, "creditDebit", index)
        if direction not in (None, "credit", "debit"):
            raise _Invalid("InvalidValue", "creditDebit must be credit or debit",
                           f"$.transactions[{index}].creditDebit")
        signed = -amount if direction == "debit" else amount
        valuta = _date(item, "valutaAt", index, required=True)
        booked = _date(item, "bookedAt", index)
        purchased = _date(item, "purchasedAt", index)
        posted: date = booked or valuta  # type: ignore[assignment]  # valutaAt is required
        description = _text(item, "text", index) or ""
        bank_id = _text(item, "transactionId", index)
        occurrence_key = (account_id, posted.isoformat(), format(signed, "f"), description)
        self.occurrences[occurrence_key] += 1
        tx_id = transaction_id(account_id, date_posted=posted, amount=signed, description=description,
                               bank_transaction_id=bank_id, occurrence=self.occurrences[occurrence_key])
        return LedgerLine(
            transaction_id=tx_id, bank_account_id=account_id, amount=signed,
            currency=_currency(item, "currency", index, required=True), date_posted=posted, value_date=valuta,
            description=description, bank_transaction_id=bank_id,
            reference=purchased.isoformat() if purchased else None,
            original_amount=_amount(item, "originalAmount", index, required=False),
            original_currency=_currency(item, "originalCurrency", index, required=False),
            import_id=SOURCE_ID, committed=self.committed)
