"""The user guide's formulas for GET one session: initial_balance, context_value, current_total,
stats and status, from per-type sums (ledger sums from the ledger repository, staged sums from the
session's counters)."""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from tximport.models import LedgerLine
from tximport.sessions.models import (
    ImportSession,
    SessionStatus,
    SessionType,
    StagedTransactionType,
    TransactionStatus,
    TypeSums,
)
from tximport.sessions.rules import type_sums


def account_balance(s: TypeSums) -> Decimal:
    """incomes + amount, expenses - amount, transfers - (source) / + (destination), card payments -,
    investment deposits -, investment withdrawals + (user guide, "Contexto de Conta")."""
    return (s.income - s.expense - s.transfer_out + s.transfer_in - s.card_payment
            - s.investment_deposit + s.investment_withdrawal)


def invoice_value(s: TypeSums) -> Decimal:
    """card_expenses - card_chargebacks (user guide, "Contexto de Cartão")."""
    return s.card_expense - s.card_chargeback


def ledger_sums(lines: Iterable[LedgerLine]) -> TypeSums:
    """Per-type sums of ledger lines. A session line has its `type`; a file-import line has none and
    counts by its sign: + as an income, - as an expense (its signed amount adds to the balance as is).
    A line's signed ledger amount gives a transfer's direction (- leaves the account, + arrives). A line committed
    IGNORE counts in no sum (as in the ledger's balances)."""
    total = TypeSums()
    for line in lines:
        if line.session is not None and line.session.status == TransactionStatus.IGNORE:
            continue
        if line.session is not None:
            kind = line.session.type
        else:
            kind = StagedTransactionType.INCOME if line.amount >= 0 else StagedTransactionType.EXPENSE
        total = total.plus(type_sums(kind, line.amount, {}))
    return total


def paying_payments(lines: Iterable[LedgerLine]) -> list[LedgerLine]:
    """The card payments among `lines` that pay (a payment committed IGNORE pays nothing)."""
    return [line for line in lines if line.session is not None
            and line.session.type == StagedTransactionType.CARD_PAYMENT
            and line.session.status != TransactionStatus.IGNORE]


def invoice_paid(lines: Iterable[LedgerLine]) -> Decimal:
    """What the card payments among an invoice's `lines` paid into it (a card session's default target)."""
    return sum((abs(line.amount) for line in paying_payments(lines)), Decimal(0))


def final_payment(lines: list[LedgerLine]) -> str | None:
    """The ledger id of an invoice's final payment (entity.CardPayment's `is_final_payment`): among the card
    payments the invoice's `lines` hold, by day (then id), the one whose running sum first reaches what the
    invoice amounts to (the guide's card expenses - chargebacks, a card session's initial_balance). A payment
    committed IGNORE pays nothing. None while the payments fall short, or when the invoice amounts to nothing."""
    owed = invoice_value(ledger_sums(lines))
    if owed <= 0:
        return None
    payments = sorted(paying_payments(lines), key=lambda line: (line.date_posted, line.transaction_id))
    paid = Decimal(0)
    for line in payments:
        paid += abs(line.amount)
        if paid >= owed:
            return line.transaction_id
    return None


def month_bounds(billing_month: str) -> tuple[date, date]:
    """The first and last day of a YYYY-MM month."""
    year, month = (int(part) for part in billing_month.split("-"))
    return date(year, month, 1), date(year, month, monthrange(year, month)[1])


def day_before(day: date) -> date:
    return day - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Balances:
    initial_balance: Decimal
    context_value: Decimal
    #: what the session's own staged lines add (context_value - initial_balance - the month's ledger)
    current_total: Decimal
    ready: int
    total: int
    status: SessionStatus


def session_balances(session: ImportSession, *, initial: Decimal, month: Decimal) -> Balances:
    """Account: initial = the ledger's balance before the billing month; context = initial + the month's
    ledger lines (up to today) + staged. Card: initial = the invoice's committed expenses - chargebacks
    (`month` is 0); context = initial + staged. status OK when every line is READY and target_value ==
    context_value (not blocking: an indicator)."""
    staged = session.sums
    current = invoice_value(staged) if session.type == SessionType.CARD else account_balance(staged)
    context = initial + month + current
    ok = session.total == session.ready and session.target_value == context
    return Balances(initial, context, current, session.ready, session.total,
                    SessionStatus.OK if ok else SessionStatus.PENDING)
