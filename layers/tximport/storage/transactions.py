"""A transaction's fields by the API's names (`transactionId`, `amount`, `datePosted`, ...), as staged
chunk lines (storage/staging.py) and ledger items (storage/ledger.py) both hold them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def transaction_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    """The `tximport.models.Transaction` fields of a stored line (amounts may be numbers or decimal
    strings, dates ISO text)."""
    value_date = item.get("valueDate")
    purchase_date = item.get("purchaseDate")
    line_number = item.get("lineNumber")
    return {
        "transaction_id": item["transactionId"],
        "bank_account_id": item["bankAccountId"],
        "amount": Decimal(str(item["amount"])),
        "date_posted": date.fromisoformat(item["datePosted"]),
        "description": item.get("description") or "",
        "currency": item.get("currency"),
        "balance": _decimal(item.get("balance")),
        "original_amount": _decimal(item.get("originalAmount")),
        "original_currency": item.get("originalCurrency"),
        "line_number": None if line_number is None else int(line_number),
        "value_date": date.fromisoformat(value_date) if value_date else None,
        "bank_transaction_id": item.get("bankTransactionId"),
        "reference": item.get("reference"),
        "counterparty_name": item.get("counterpartyName"),
        "counterparty_account": item.get("counterpartyAccount"),
        "purchase_date": date.fromisoformat(purchase_date) if purchase_date else None,
        "reversal": bool(item.get("reversal")),
        "pending": bool(item.get("pending")),
        "replaces_pending_id": item.get("replacesPendingId"),
        "reversal_of": item.get("reversalOf"),
        "replaced_by": item.get("replacedBy"),
    }
