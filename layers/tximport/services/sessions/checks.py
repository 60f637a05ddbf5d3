"""What a staged line must satisfy against its session's context (account or card), whoever puts it there: a
POST or an upload staging it, a PUT changing it, a bind (a session with lines never moves to another context)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from tximport.errors import ValidationFailed
from tximport.services.sessions.deps import Deps, check_amount, check_currency, line_currency
from tximport.sessions.models import (
    MONTH_PATTERN,
    ImportSession,
    Invoice,
    InvoiceStatus,
    RecurringItem,
    Scope,
    SessionType,
    StagedTransactionType,
)
from tximport.sessions.rules import allowed_types

_MONTH = re.compile(MONTH_PATTERN)


def _at(prefix: str, name: str) -> str:
    """`[0]` + `amount` -> `[0].amount`; `` + `amount` -> `amount`."""
    return f"{prefix}.{name}" if prefix else name


def check_types(session: ImportSession, types: list[Any], prefix: str | None = None) -> None:
    """Every given type must belong to the session's context (400 TypeNotAllowed naming `[i].type`, or
    `<prefix>.type` for one line)."""
    allowed = allowed_types(session.type)
    for index, kind in enumerate(types):
        if kind is not None and kind not in allowed:
            raise ValidationFailed(f"{kind} is not a type of a {session.type.value.lower()} session "
                                   f"({', '.join(sorted(allowed))})", code="TypeNotAllowed",
                                   target=_at(f"[{index}]" if prefix is None else prefix, "type"))


def check_transfer(deps: Deps, scope: Scope, session: ImportSession, data: dict[str, Any], currency: str | None,
                   target: str) -> None:
    """A transfer goes to (or comes from) another account of the same currency: its mirror line is the same
    amount there (400 InvalidValue, CurrencyMismatch, UnknownAccount naming `<target>.<field>`)."""
    for name in ("destination_account_id", "source_account_id"):
        other = data.get(name)
        if not isinstance(other, str) or not other:
            continue
        if session.type == SessionType.ACCOUNT and other == session.context_id:
            raise ValidationFailed("a transfer goes to or comes from another account than the session's",
                                   code="InvalidValue", target=f"{target}.{name}")
        theirs = deps.account(scope, other, f"{target}.{name}").currency
        if currency and theirs and currency.upper() != theirs.upper():
            raise ValidationFailed(f"account {other} keeps {theirs} and this line is in {currency}",
                                   code="CurrencyMismatch", target=f"{target}.{name}")


def check_recurring_fits(deps: Deps, scope: Scope, session: ImportSession, item: RecurringItem, currency: str | None,
                         target: str) -> None:
    """A line pays only an item of its own account or card (a transfer: its source or destination) and
    currency: else 400 RecurringContextMismatch or CurrencyMismatch, and no slot of another account is paid."""
    named = [item.card_id] if session.type == SessionType.CARD else [
        item.account_id, item.source_account_id, item.destination_account_id]
    own = {context for context in named if context}
    if own and session.context_id not in own:
        raise ValidationFailed(f"recurring item {item.id} belongs to {', '.join(sorted(own))}, not to this "
                               f"session's {session.context_id}", code="RecurringContextMismatch", target=target)
    if item.currency and currency and item.currency.upper() != currency.upper():
        raise ValidationFailed(f"recurring item {item.id} is in {item.currency} and this session's lines in "
                               f"{currency}", code="CurrencyMismatch", target=target)


def payment_invoice(session: ImportSession, kind: StagedTransactionType | None, data: dict[str, Any]
                    ) -> tuple[str, str] | None:
    """The invoice (card, billing month) a card payment goes into: its `data.card_id`'s invoice of its
    `data.billing_month`, the session's month when it names none (None for another line, or a payment naming no
    card yet)."""
    card, month = data.get("card_id"), data.get("billing_month")
    if kind != StagedTransactionType.CARD_PAYMENT or not isinstance(card, str) or not card:
        return None
    return card, month if isinstance(month, str) and month else session.billing_month


def check_card_payment(deps: Deps, scope: Scope, session: ImportSession, data: dict[str, Any],
                       kind: StagedTransactionType | None, target: str) -> None:
    """A paid invoice never takes lines, card payments included: a payment into a PAID invoice is a 400
    InvoicePaid naming `<target>.billing_month` (where the payment says which invoice it pays). An OPEN or
    CLOSED invoice (closed for purchases, waiting for its payment), or one not made yet, takes it."""
    key = payment_invoice(session, kind, data)
    if key is not None:
        refuse_paid(deps.catalog.get_invoice(scope.tenant, scope.workspace_id, *key), key, target)


def refuse_paid(invoice: Invoice | None, key: tuple[str, str], target: str, line_id: str | None = None) -> None:
    """400 InvoicePaid when the invoice `key` (card, month) a card payment goes into is PAID."""
    if invoice is not None and invoice.status == InvoiceStatus.PAID:
        line = f"staged transaction {line_id}: " if line_id else ""
        raise ValidationFailed(f"{line}the invoice of card {key[0]} for {key[1]} is PAID and takes no more payments: "
                               "name the invoice it pays in data.billing_month (the session's month when left out)",
                               code="InvoicePaid", target=f"{target}.billing_month")


def check_data(data: dict[str, Any], prefix: str) -> None:
    """The `data` fields whose value decides what a commit writes have their shape: `ignore` a JSON boolean (a
    `"true"` booked the copy it meant to set aside), `billing_month` a month `YYYY-MM` (a payment into `"2024-4"`
    left the account and reached no invoice). 400 ValidationError naming `<prefix>.ignore` or
    `<prefix>.billing_month`."""
    if "ignore" in data and not isinstance(data["ignore"], bool):
        raise ValidationFailed("data.ignore is true (set the line aside: committed IGNORE) or false (a line of its "
                               f"own), as a JSON boolean, not {_json(data['ignore'])}", code="ValidationError",
                               target=_at(prefix, "ignore"))
    month = data.get("billing_month")
    if month is not None and not (isinstance(month, str) and _MONTH.fullmatch(month)):
        raise ValidationFailed(f"data.billing_month is the invoice's month, written YYYY-MM, not {_json(month)}",
                               code="ValidationError", target=_at(prefix, "billing_month"))


def _json(value: Any) -> str:
    """A value as the client wrote it in JSON (`null`, `"true"`, `1`)."""
    return json.dumps(value, default=str, ensure_ascii=False)


def check_line(deps: Deps, scope: Scope, session: ImportSession, currency: str | None, amount: Decimal,
               data: dict[str, Any], kind: StagedTransactionType | None, prefix: str) -> None:
    """One line against its session (`currency`: its account's): the currency it names, its amount's decimals,
    its transfer's other account, its type and its card payment's invoice. Raises the 400 a POST of the line
    answers, naming the field under `prefix` (`[0]` in a POST). `data`'s currency code is written upper case, as
    the ledger writes codes."""
    check_data(data, _at(prefix, "data"))
    check_currency(data, currency, _at(prefix, "data.currency"))
    check_amount(amount, line_currency(data, currency), _at(prefix, "amount"))
    check_transfer(deps, scope, session, data, currency, _at(prefix, "data"))
    check_types(session, [kind], prefix)
    check_card_payment(deps, scope, session, data, kind, _at(prefix, "data"))
