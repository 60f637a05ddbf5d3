"""The rules of staged lines: the sign rule, which types a context allows, what each type needs to be
READY, how a line counts in the balances, and the counter deltas a write makes on its session."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tximport.sessions.models import (
    ACCOUNT_TYPES,
    CARD_TYPES,
    ImportSession,
    SessionType,
    StagedTransaction,
    StagedTransactionStatus,
    StagedTransactionType,
    TypeSums,
)

T = StagedTransactionType

#: what each type needs in `data` besides date, amount and description to be READY (user guide:
#: "Cada tipo de transação requer campos específicos para ser salva no banco final")
REQUIRED_DATA: dict[StagedTransactionType, tuple[str, ...]] = {
    T.INCOME: ("category_id",),
    T.EXPENSE: ("category_id",),
    T.CARD_EXPENSE: ("category_id",),
    T.CARD_CHARGEBACK: (),
    T.CARD_PAYMENT: ("card_id",),
    T.INVESTMENT_DEPOSIT: (),
    T.INVESTMENT_WITHDRAWAL: (),
    # a transfer needs its other account: destination when money leaves, source when it arrives
    T.TRANSFER: (),
}


def allowed_types(kind: SessionType) -> frozenset[StagedTransactionType]:
    """Account sessions take the six account types, card sessions the two card types (user guide)."""
    return CARD_TYPES if kind == SessionType.CARD else ACCOUNT_TYPES


def type_by_sign(kind: SessionType, amount: Decimal) -> StagedTransactionType:
    """The documented sign rule: account + INCOME, - EXPENSE; card + CARD_EXPENSE, - CARD_CHARGEBACK."""
    if kind == SessionType.CARD:
        return T.CARD_EXPENSE if amount >= 0 else T.CARD_CHARGEBACK
    return T.INCOME if amount >= 0 else T.EXPENSE


def transfer_outgoing(amount: Decimal, data: dict[str, Any]) -> bool:
    """A transfer leaves the session's account when its amount is negative, or when it names a
    destination and no source."""
    if amount < 0:
        return True
    if amount > 0:
        return False
    return bool(data.get("destination_account_id")) and not data.get("source_account_id")


def missing_fields(line_type: StagedTransactionType, amount: Decimal, description: str,
                   data: dict[str, Any]) -> list[str]:
    """What a line still lacks to be READY (empty when it is complete). An ignored line (`data.ignore`)
    needs only its date, amount and description: it is committed with status IGNORE. A certain copy (of a
    ledger line, or of a line the session holds: a POST retried, a file uploaded twice) needs the client's
    decision (`copy_decided`), or its removal."""
    missing: list[str] = []
    if not description.strip():
        missing.append("description")
    if amount == 0:
        missing.append("amount")
    duplicate = data.get("possible_duplicate")
    if isinstance(duplicate, dict) and duplicate.get("certain") is True and not copy_decided(data):
        missing.append("data.ignore")
    if data.get("ignore") is True:
        return missing
    for name in REQUIRED_DATA[line_type]:
        if not data.get(name):
            missing.append(f"data.{name}")
    if line_type == T.TRANSFER:
        other = "destination_account_id" if transfer_outgoing(amount, data) else "source_account_id"
        if not data.get(other):
            missing.append(f"data.{other}")
    return missing


def copy_decided(data: dict[str, Any]) -> bool:
    """Whether the client decided what a line marked as a copy (`data.possible_duplicate`) is: `data.ignore`
    (false: a line of its own, booked; true: committed IGNORE), or READY set on the line (PUT `status`), which
    records `possible_duplicate.overridden: true`. A commit judges a decided line no more."""
    mark = data.get("possible_duplicate")
    return "ignore" in data or (isinstance(mark, dict) and mark.get("overridden") is True)


def computed_status(line: StagedTransaction) -> StagedTransactionStatus:
    """PROCESSING while enrichment runs; PENDING while the client holds the line (`on_hold`: it set PENDING);
    READY when every required field is set, else PENDING."""
    if line.processing_enrichment:
        return StagedTransactionStatus.PROCESSING
    if line.on_hold or missing_fields(line.type, line.amount, line.description, line.data):
        return StagedTransactionStatus.PENDING
    return StagedTransactionStatus.READY


def with_status(line: StagedTransaction) -> StagedTransaction:
    """The line with its status computed (what a client sets goes through `on_hold` and the copy mark)."""
    line.status = computed_status(line)
    return line


def type_sums(line_type: StagedTransactionType, amount: Decimal, data: dict[str, Any]) -> TypeSums:
    """How one line counts: its magnitude under its type (a transfer under its direction). The type
    gives the direction, so `-100.00 EXPENSE` and `100.00 EXPENSE` both subtract 100.00."""
    magnitude = abs(amount)
    field = {
        T.INCOME: "income", T.EXPENSE: "expense", T.CARD_PAYMENT: "card_payment",
        T.INVESTMENT_DEPOSIT: "investment_deposit", T.INVESTMENT_WITHDRAWAL: "investment_withdrawal",
        T.CARD_EXPENSE: "card_expense", T.CARD_CHARGEBACK: "card_chargeback",
    }.get(line_type)
    if line_type == T.TRANSFER:
        field = "transfer_out" if transfer_outgoing(amount, data) else "transfer_in"
    return TypeSums(**{field: magnitude}) if field else TypeSums()


def ledger_amount(kind: SessionType, line_type: StagedTransactionType, amount: Decimal,
                  data: dict[str, Any]) -> Decimal:
    """The signed amount a line has in its ledger partition (+ money in, - money out, as file imports
    write): an account's income and withdrawals are +, its expenses, payments and deposits -; a card's
    expenses are - (spent) and its chargebacks + (given back)."""
    magnitude = abs(amount)
    positive = {T.INCOME, T.INVESTMENT_WITHDRAWAL, T.CARD_CHARGEBACK}
    if line_type == T.TRANSFER:
        return -magnitude if transfer_outgoing(amount, data) else magnitude
    return magnitude if line_type in positive else -magnitude


def counters_of(line: StagedTransaction | None) -> dict[str, Decimal | int]:
    """The contribution of one line to its session's counters (nothing for None): its status, and its amount under
    its type unless it is to be ignored (`data.ignore: true`)."""
    if line is None:
        return {}
    out: dict[str, Decimal | int] = {"total": 1, line.status.value.lower(): 1}
    if line.data.get("ignore") is True:  # a copy the client settled: committed IGNORE, it counts in no sum
        return out
    sums = type_sums(line.type, line.amount, line.data)
    for name in TypeSums.model_fields:
        value = getattr(sums, name)
        if value:
            out[f"sum_{name}"] = value
    return out


def counter_delta(old: StagedTransaction | None, new: StagedTransaction | None) -> dict[str, Decimal | int]:
    """What replacing `old` by `new` adds to the session's counters (an insert when old is None, a
    removal when new is None); zero entries are left out."""
    delta: dict[str, Decimal | int] = dict(counters_of(new))
    for key, value in counters_of(old).items():
        delta[key] = delta.get(key, 0) - value
    return {k: v for k, v in delta.items() if v != 0}


def apply_counters(session: ImportSession, delta: dict[str, Decimal | int]) -> ImportSession:
    """The session with `delta` added to its counters (the in-memory twin of DynamoDB's ADD)."""
    for key, value in delta.items():
        if key.startswith("sum_"):
            name = key[4:]
            setattr(session.sums, name, getattr(session.sums, name) + Decimal(value))
        else:
            setattr(session, key, getattr(session, key) + int(value))
    return session
