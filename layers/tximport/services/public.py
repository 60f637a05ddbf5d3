"""`POST /api/public/v1/transactions`: up to 1,000 transactions posted as JSON go straight into the
ledger, deduplicated by accountIdentifier + transactionId (a line without a transactionId is identified
by its content and its occurrence in the request, like a file line)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from tximport.formats.accounts import match_account
from tximport.ids import transaction_id
from tximport.models import Tenant, iso, utcnow
from tximport.storage import keys
from tximport.storage.ledger import LedgerRepository
from tximport.storage.repository import AccountsRepository

SOURCE_ID = "public-api"
MAX_TRANSACTIONS = 1000


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
    def __init__(self, *, accounts: AccountsRepository, ledger: LedgerRepository) -> None:
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
        pairs = self._accounts(tenant)
        resolved: dict[str, str | None] = {}
        occurrences: Counter[tuple[str, str, str, str]] = Counter()
        rows: list[dict[str, Any]] = []
        errors: list[RejectedTransaction] = []
        committed = iso(utcnow())
        for index, item in enumerate(items):
            try:
                if not isinstance(item, dict):
                    raise _Invalid("InvalidValue", "a transaction must be an object", f"$.transactions[{index}]")
                ref = _text(item, "accountIdentifier", index, required=True) or ""
                if ref not in resolved:
                    resolved[ref] = match_account(ref, pairs, True)
                account_id = resolved[ref]
                if account_id is None:
                    raise _Invalid("BankAccountNotFound", f"no bank account has the identifier {ref!r}",
                                   f"$.transactions[{index}].accountIdentifier")
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
                occurrences[occurrence_key] += 1
                tx_id = transaction_id(account_id, date_posted=posted, amount=signed, description=description,
                                       bank_transaction_id=bank_id, occurrence=occurrences[occurrence_key])
                rows.append({
                    "transactionId": tx_id, "bankAccountId": account_id, "amount": signed,
                    "currency": _currency(item, "currency", index, required=True),
                    "datePosted": posted.isoformat(), "valueDate": valuta.isoformat() if valuta else None,
                    "description": description, "bankTransactionId": bank_id,
                    "reference": purchased.isoformat() if purchased else None,
                    "originalAmount": _amount(item, "originalAmount", index, required=False),
                    "originalCurrency": _currency(item, "originalCurrency", index, required=False),
                    "importId": SOURCE_ID, "committed": committed,
                })
            except _Invalid as exc:
                errors.append(RejectedTransaction(index, exc.code, exc.message, exc.target))
        unique = {(r["bankAccountId"], r["transactionId"]): r for r in rows}
        existing = self._existing(tenant, list(unique.values()))
        new_rows = [r for k, r in unique.items() if k not in existing]
        self.ledger.write(tenant, new_rows)
        return IngestResult(existing=len(rows) - len(new_rows), new=len(new_rows), errors=errors)

    def _existing(self, tenant: Tenant, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        table = self.ledger.table_name
        for start in range(0, len(rows), 100):
            request_keys = [{"pk": {"S": keys.ledger_day_pk(tenant, r["bankAccountId"], r["datePosted"])},
                             "sk": {"S": f"TX#{r['transactionId']}"}} for r in rows[start:start + 100]]
            pending: dict[str, Any] = {table: {"Keys": request_keys,
                                               "ProjectionExpression": "bankAccountId, transactionId"}}
            while pending:
                answer = self.ledger.client.batch_get_item(RequestItems=pending)
                for item in answer.get("Responses", {}).get(table, []):
                    found.add((item["bankAccountId"]["S"], item["transactionId"]["S"]))
                pending = answer.get("UnprocessedKeys") or {}
        return found
