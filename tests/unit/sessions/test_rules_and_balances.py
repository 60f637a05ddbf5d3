"""The sign rule, statuses, counters and the user guide's worked examples of the balance formulas."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tximport.models import LedgerLine, utcnow
from tximport.sessions.balances import account_balance, final_payment, invoice_value, month_bounds, session_balances
from tximport.sessions.models import (
    ImportSession,
    SessionLedgerEntry,
    SessionStatus,
    SessionType,
    StagedTransaction,
    StagedTransactionStatus,
    StagedTransactionType,
    TransactionStatus,
    TypeSums,
)
from tximport.sessions.rules import (
    apply_counters,
    computed_status,
    counter_delta,
    ledger_amount,
    missing_fields,
    type_by_sign,
    type_sums,
)

T = StagedTransactionType
D = Decimal


def line(t: T, amount: str, **data) -> StagedTransaction:
    return StagedTransaction(id="x", session_id="s", seq=0, type=t, transaction_date=date(2024, 3, 15),
                             amount=D(amount), description="a line", data=data)


def session(**kw) -> ImportSession:
    base = {"id": "s", "workspace_id": "w", "user_id": "u", "number": 1, "description": "d",
            "billing_month": "2024-03", "account_id": "acc"}
    return ImportSession(**{**base, **kw})


@pytest.mark.parametrize(("kind", "amount", "expected"), [
    (SessionType.ACCOUNT, "10", T.INCOME), (SessionType.ACCOUNT, "-10", T.EXPENSE),
    (SessionType.CARD, "10", T.CARD_EXPENSE), (SessionType.CARD, "-10", T.CARD_CHARGEBACK),
])
def test_the_documented_sign_rule(kind, amount, expected):
    assert type_by_sign(kind, D(amount)) == expected


def test_status_is_ready_only_when_the_type_has_what_it_needs():
    assert computed_status(line(T.EXPENSE, "-49.90")) == StagedTransactionStatus.PENDING
    assert computed_status(line(T.EXPENSE, "-49.90", category_id="c")) == StagedTransactionStatus.READY
    assert missing_fields(T.TRANSFER, D("-5"), "x", {}) == ["data.destination_account_id"]
    assert missing_fields(T.TRANSFER, D("5"), "x", {}) == ["data.source_account_id"]
    assert missing_fields(T.CARD_PAYMENT, D("-5"), "x", {}) == ["data.card_id"]
    assert missing_fields(T.CARD_CHARGEBACK, D("-5"), "x", {}) == []
    # an ignored line needs only its basics; a blank description never is READY
    assert computed_status(line(T.EXPENSE, "-1", ignore=True)) == StagedTransactionStatus.READY
    assert missing_fields(T.INCOME, D("1"), " ", {"category_id": "c"}) == ["description"]
    processing = line(T.EXPENSE, "-1", category_id="c")
    processing.processing_enrichment = True
    assert computed_status(processing) == StagedTransactionStatus.PROCESSING


def test_the_type_gives_the_direction_whatever_the_sign():
    assert type_sums(T.EXPENSE, D("-100.00"), {}) == type_sums(T.EXPENSE, D("100.00"), {}) == TypeSums(
        expense=D("100.00"))
    assert type_sums(T.TRANSFER, D("-30"), {}).transfer_out == D(30)
    assert type_sums(T.TRANSFER, D("30"), {}).transfer_in == D(30)
    assert ledger_amount(SessionType.ACCOUNT, T.EXPENSE, D("49.90"), {}) == D("-49.90")
    assert ledger_amount(SessionType.ACCOUNT, T.INVESTMENT_WITHDRAWAL, D("-5"), {}) == D(5)
    assert ledger_amount(SessionType.CARD, T.CARD_EXPENSE, D("150"), {}) == D(-150)
    assert ledger_amount(SessionType.CARD, T.CARD_CHARGEBACK, D("-50"), {}) == D(50)


def test_counter_deltas_add_up_to_the_lines():
    s = session()
    a, b = line(T.EXPENSE, "-100.00"), line(T.INCOME, "2000", category_id="c")
    a.status, b.status = computed_status(a), computed_status(b)
    apply_counters(s, counter_delta(None, a))
    apply_counters(s, counter_delta(None, b))
    assert (s.total, s.ready, s.pending) == (2, 1, 1)
    edited = a.model_copy(deep=True)
    edited.data["category_id"] = "c"
    edited.amount = D("-90")
    edited.status = computed_status(edited)
    apply_counters(s, counter_delta(a, edited))
    assert (s.total, s.ready, s.pending, s.sums.expense) == (2, 2, 0, D(90))
    apply_counters(s, counter_delta(edited, None))
    assert (s.total, s.ready, s.sums.expense, s.sums.income) == (1, 1, D(0), D(2000))


def test_user_guide_account_example():
    """initial = 1000 - 200 + 500 - 150 = 1150; context = 1150 + 2000 - 300 - 100 - 50 = 2700."""
    before = TypeSums()
    for t, amount in [(T.INCOME, "1000.00"), (T.EXPENSE, "-200.00"), (T.INCOME, "500.00"), (T.EXPENSE, "-150.00")]:
        before = before.plus(type_sums(t, D(amount), {}))
    month = type_sums(T.INCOME, D("2000.00"), {}).plus(type_sums(T.EXPENSE, D("-300.00"), {}))
    s = session(target_value=D("2700.00"))
    for amount in ("-100.00", "-50.00"):
        staged = line(T.EXPENSE, amount, category_id="c")
        staged.status = computed_status(staged)
        apply_counters(s, counter_delta(None, staged))
    result = session_balances(s, initial=account_balance(before), month=account_balance(month))
    assert result.initial_balance == D("1150.00")
    assert result.context_value == D("2700.00")
    assert result.current_total == D("-150.00")
    assert (result.ready, result.total, result.status) == (2, 2, SessionStatus.OK)
    s.target_value = D("2699.99")
    assert session_balances(s, initial=D("1150.00"), month=D("1700.00")).status == SessionStatus.PENDING


def test_user_guide_card_example():
    """initial = 500 + 200 - 50 = 650; context = 650 + 150 + 80 = 880."""
    before = TypeSums(card_expense=D("700.00"), card_chargeback=D("50.00"))
    s = session(account_id=None, card_id="card")
    for amount in ("150.00", "80.00"):
        staged = line(type_by_sign(SessionType.CARD, D(amount)), amount, category_id="c")
        staged.status = computed_status(staged)
        apply_counters(s, counter_delta(None, staged))
    result = session_balances(s, initial=invoice_value(before), month=D(0))
    assert (result.initial_balance, result.context_value) == (D("650.00"), D("880.00"))
    assert invoice_value(before) == D(650)


def test_every_account_type_counts_as_the_guide_says():
    sums = TypeSums(income=D(1), expense=D(2), transfer_out=D(4), transfer_in=D(8), card_payment=D(16),
                    investment_deposit=D(32), investment_withdrawal=D(64), card_expense=D(1000))
    assert account_balance(sums) == D(1 - 2 - 4 + 8 - 16 - 32 + 64)
    assert month_bounds("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))


def test_a_recurring_item_falls_due_by_its_frequency_within_its_dates():
    from datetime import date as day
    from decimal import Decimal as Dec

    from tximport.services.sessions.recurring import due_days, month_bounds
    from tximport.sessions.models import Frequency, RecurringItem, RecurringType

    def item(frequency: Frequency, start: day, end: day | None = None) -> RecurringItem:
        return RecurringItem(id="r", workspace_id="w", type=RecurringType.EXPENSE, description="x", amount=Dec(1),
                             frequency=frequency, start_date=start, end_date=end)

    assert due_days(item(Frequency.MONTHLY, day(2024, 1, 31)), day(2024, 4, 30)) == (
        [day(2024, 1, 31), day(2024, 2, 29), day(2024, 3, 31), day(2024, 4, 30)], day(2024, 5, 31))
    assert due_days(item(Frequency.QUARTERLY, day(2023, 11, 30), day(2024, 6, 1)), day(2024, 12, 31)) == (
        [day(2023, 11, 30), day(2024, 2, 29), day(2024, 5, 30)], None)
    assert due_days(item(Frequency.BIWEEKLY, day(2024, 1, 1)), day(2024, 1, 31))[0] == [
        day(2024, 1, 1), day(2024, 1, 15), day(2024, 1, 29)]
    assert len(due_days(item(Frequency.DAILY, day(2000, 1, 1)), day(2000, 12, 31))[0]) == 366
    assert month_bounds("2024-02") == (day(2024, 2, 1), day(2024, 2, 29))


def card_line(n: int, day: int, kind: T, amount: str, status: TransactionStatus = TransactionStatus.VALIDATING
              ) -> LedgerLine:
    """A line of a card's invoice as its ledger keeps it (expenses -, chargebacks and payments +)."""
    return LedgerLine(transaction_id=f"t-{n}", bank_account_id="card", amount=D(amount), date_posted=date(2024, 4, day),
                      description="x", import_id="", committed=utcnow(), session=SessionLedgerEntry(
                          type=kind, status=status, workspace_id="w", session_id="s", staged_transaction_id=f"st-{n}",
                          billing_month="2024-03", card_id="card"))


def test_the_final_payment_is_the_one_whose_running_sum_first_reaches_the_invoice():
    bought = [card_line(1, 1, T.CARD_EXPENSE, "-120.00"), card_line(2, 2, T.CARD_CHARGEBACK, "20.00")]
    ignored = card_line(3, 3, T.CARD_PAYMENT, "100.00", TransactionStatus.IGNORE)
    # listed out of day order: the day decides
    payments = [card_line(6, 9, T.CARD_PAYMENT, "5.00"), card_line(5, 8, T.CARD_PAYMENT, "70.00"),
                card_line(4, 4, T.CARD_PAYMENT, "30.00")]
    assert final_payment([*bought, ignored, payments[2]]) is None  # 30.00 of 100.00: an ignored payment pays nothing
    assert final_payment([*bought, ignored, *payments]) == "t-5"
    assert final_payment(payments) is None  # an invoice of nothing has no final payment
