"""Binding staged lines to recurring items: what a bind copies, and which bindings to suggest.

Bind (the user guide): the recurring item is looked up in the order incomes, expenses, transfers, card
transactions; the line takes its type, description, category, subcategory and tags, and
`data.recurring_<kind>_id`. Beyond the document, enrichment suggests bindings (one per recurring item:
the staged line with the closest amount, date near the expected day, similar description) that the
user confirms or rejects.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rapidfuzz import fuzz

from tximport.sessions.models import (
    ACCOUNT_TYPES,
    CARD_TYPES,
    Frequency,
    RecurringItem,
    RecurringType,
    SessionType,
    StagedTransaction,
    StagedTransactionType,
)

#: the lookup order of the user guide (recurring_incomes, _expenses, _transfers, _card_transactions)
LOOKUP_ORDER = (RecurringType.INCOME, RecurringType.EXPENSE, RecurringType.TRANSFER,
                RecurringType.CARD_TRANSACTION)
TYPE_OF = {
    RecurringType.INCOME: StagedTransactionType.INCOME,
    RecurringType.EXPENSE: StagedTransactionType.EXPENSE,
    RecurringType.TRANSFER: StagedTransactionType.TRANSFER,
    RecurringType.CARD_TRANSACTION: StagedTransactionType.CARD_EXPENSE,
}
DATA_FIELD = {
    RecurringType.INCOME: "recurring_income_id",
    RecurringType.EXPENSE: "recurring_expense_id",
    RecurringType.TRANSFER: "recurring_transfer_id",
    RecurringType.CARD_TRANSACTION: "recurring_card_transaction_id",
}

#: suggestion thresholds: amount within 10 % (at least 1.00), date within 5 days, score at least 0.6
AMOUNT_TOLERANCE = Decimal("0.10")
AMOUNT_FLOOR = Decimal("1.00")
DAY_WINDOW = 5
MIN_SCORE = 0.6


def fits_context(item: RecurringItem, kind: SessionType) -> bool:
    """Card transactions bind in card sessions, the other three in account sessions."""
    card = item.type == RecurringType.CARD_TRANSACTION
    return card == (kind == SessionType.CARD)


def apply_binding(line: StagedTransaction, item: RecurringItem, session_account_id: str | None) -> None:
    """Copy what the recurring item decides onto the line (in place)."""
    line.type = TYPE_OF[item.type]
    for field in DATA_FIELD.values():
        line.data.pop(field, None)
    line.data[DATA_FIELD[item.type]] = item.id
    if item.description:
        line.data.setdefault("original_description", line.description)
        line.description = item.description
        line.data["description"] = item.description  # the guide's example keeps it in data too
    if item.category_id:
        line.data["category_id"] = item.category_id
    if item.sub_category_id:
        line.data["subcategory_id"] = item.sub_category_id
    else:
        line.data.pop("subcategory_id", None)
    if item.tag_ids:
        line.data["tag_ids"] = sorted({*line.data.get("tag_ids", []), *item.tag_ids})
    if item.type == RecurringType.TRANSFER:
        outgoing = item.source_account_id in (None, session_account_id)
        other = item.destination_account_id if outgoing else item.source_account_id
        if other:
            line.data["destination_account_id" if outgoing else "source_account_id"] = other
        # the line's sign says the direction: an outgoing transfer is negative in its account
        line.amount = -abs(line.amount) if outgoing else abs(line.amount)


def expected_day(item: RecurringItem, billing_month: str) -> date | None:
    """The day the item is expected in the billing month (its start date's day of month), or None when
    it is not due that month (ended, not started, or a quarterly/yearly item in another month)."""
    year, month = (int(p) for p in billing_month.split("-"))
    start = item.start_date
    if start is None:
        return None
    last = monthrange(year, month)[1]
    day = date(year, month, min(start.day, last))
    if day < start.replace(day=1) or (item.end_date and day > item.end_date):
        return None
    months = (year - start.year) * 12 + month - start.month
    if item.frequency == Frequency.QUARTERLY and months % 3:
        return None
    if item.frequency == Frequency.YEARLY and months % 12:
        return None
    return day


@dataclass(frozen=True, slots=True)
class Candidate:
    item: RecurringItem
    line: StagedTransaction
    score: float
    reasons: dict[str, object]


def score(item: RecurringItem, line: StagedTransaction, due: date | None) -> Candidate | None:
    """How well a line fits a recurring item (None when it does not fit at all)."""
    amount, expected = abs(line.amount), abs(item.amount)
    tolerance = max(AMOUNT_FLOOR, expected * AMOUNT_TOLERANCE)
    gap = abs(amount - expected)
    if gap > tolerance:
        return None
    days = abs((line.transaction_date - due).days) if due else None
    if days is not None and days > DAY_WINDOW:
        return None
    similarity = fuzz.token_set_ratio(item.description.casefold(), line.description.casefold()) / 100
    amount_score = 1 - float(gap / tolerance) if tolerance else 1.0
    day_score = 1 - days / (DAY_WINDOW + 1) if days is not None else 0.5
    total = 0.4 * amount_score + 0.2 * day_score + 0.4 * similarity
    if total < MIN_SCORE:
        return None
    return Candidate(item, line, round(total, 4), {
        "amount_difference": str(gap), "days_from_expected": days, "description_similarity": round(similarity, 3)})


def suggest(items: Iterable[RecurringItem], lines: Sequence[StagedTransaction], kind: SessionType,
            billing_month: str, context_id: str) -> list[Candidate]:
    """At most one suggestion per recurring item and per line: the best-scoring pairs first. Lines
    already bound are left alone."""
    allowed = CARD_TYPES if kind == SessionType.CARD else ACCOUNT_TYPES
    free = [ln for ln in lines if not any(ln.data.get(f) for f in DATA_FIELD.values()) and ln.type in allowed]
    candidates: list[Candidate] = []
    for item in items:
        if not item.is_active or not fits_context(item, kind):
            continue
        if kind == SessionType.CARD and item.card_id != context_id:
            continue
        if kind == SessionType.ACCOUNT and context_id not in (item.account_id, item.source_account_id,
                                                              item.destination_account_id):
            continue
        due = expected_day(item, billing_month)
        if due is None:
            continue
        candidates += [c for c in (score(item, ln, due) for ln in free) if c is not None]
    chosen: list[Candidate] = []
    used_items: set[str] = set()
    used_lines: set[str] = set()
    for candidate in sorted(candidates, key=lambda c: (-c.score, c.line.seq, c.item.id)):
        if candidate.item.id in used_items or candidate.line.id in used_lines:
            continue
        used_items.add(candidate.item.id)
        used_lines.add(candidate.line.id)
        chosen.append(candidate)
    return chosen
