"""The public endpoint's items as the document writes them: exactly its currencies, positive plain
decimal amounts the ledger stores exactly and within the currency's decimals, days written YYYY-MM-DD."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tximport import money
from tximport.api.routes.public import _read


def _tx(**extra: object) -> dict[str, object]:
    base = {"accountIdentifier": "GB33BUKB20201555555555", "transactionId": "tx-1", "amount": "3.50",
            "currency": "GBP", "valutaAt": "2024-03-01"}
    return {key: value for key, value in {**base, **extra}.items() if value is not None}


@pytest.mark.parametrize(("field", "value", "code"), [
    ("amount", "0", "InvalidAmount"),
    ("amount", "0.00", "InvalidAmount"),
    ("amount", "-1", "InvalidAmount"),
    ("amount", "+1", "InvalidAmount"),
    ("amount", "١٢٣", "InvalidAmount"),
    ("amount", "1_000", "InvalidAmount"),
    ("amount", "1e3", "InvalidAmount"),
    ("amount", "1,50", "InvalidAmount"),
    ("amount", " 1.50", "InvalidAmount"),
    ("amount", "1" * 41, "InvalidAmount"),  # more digits than the ledger stores exactly
    ("amount", "0.001", "InvalidAmount"),  # finer than GBP's 2 decimals
    ("amount", 3.5, "InvalidAmount"),  # a JSON number, not the document's string
    ("currency", "ABC", "InvalidCurrency"),
    ("currency", "gbp", "InvalidCurrency"),
    ("originalCurrency", "XYZ", "InvalidCurrency"),
    ("originalAmount", "0", "InvalidAmount"),
    ("valutaAt", "20240101", "InvalidDate"),
    ("valutaAt", "2024-W01-1", "InvalidDate"),
    ("valutaAt", "2024-02-30", "InvalidDate"),
    ("bookedAt", "2024-1-1", "InvalidDate"),
    ("purchasedAt", "01.01.2024", "InvalidDate"),
    ("valutaAt", None, "RequiredValueMissing"),
    ("creditDebit", "sideways", "InvalidValue"),
    ("text", "\ud800", "InvalidValue"),
    ("colour", "red", "UnknownField"),
])
def test_only_the_documents_forms_are_accepted(field: str, value: object, code: str):
    posted, rejected = _read([_tx(**{field: value})])
    assert posted == []
    assert [(r.index, r.code, r.target) for r in rejected] == [(0, code, f"$.transactions[0].{field}")]


def test_a_foreign_amount_needs_its_currency():
    posted, rejected = _read([_tx(originalAmount="10.00")])
    assert posted == []
    assert [(r.code, r.target) for r in rejected] == [("RequiredValueMissing", "$.transactions[0].originalCurrency")]


def test_the_documents_forms_are_read_exactly():
    posted, rejected = _read([
        _tx(amount="1234.5", currency="BHD", originalAmount="1500", originalCurrency="JPY",
            purchasedAt="2024-02-28", bookedAt="2024-03-02", creditDebit="debit"),
        "not an object"])
    ((index, item),) = posted
    assert index == 0 and (item.amount, item.currency) == (Decimal("1234.5"), "BHD")
    assert (item.original_amount, item.original_currency) == (Decimal("1500"), "JPY")
    assert (item.purchased_at, item.valuta_at, item.booked_at) == (
        date(2024, 2, 28), date(2024, 3, 1), date(2024, 3, 2))
    assert [(r.index, r.code) for r in rejected] == [(1, "InvalidValue")]


def test_every_currency_of_the_document_is_accepted():
    posted, rejected = _read([_tx(currency=c, amount="1") for c in money.PUBLIC_CURRENCIES])
    assert rejected == [] and len(posted) == len(money.PUBLIC_CURRENCIES) == 178
