"""What a staged line must satisfy against its session's context (account or card), whoever puts it there: a
POST or an upload staging it, a PUT changing it, a bind (a session with lines never moves to another context)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tximport.errors import ValidationFailed
from tximport.services.sessions.deps import Deps, check_amount, check_currency, line_currency
from tximport.sessions.models import ImportSession, RecurringItem, Scope, SessionType, StagedTransactionType
from tximport.sessions.rules import allowed_types


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


def check_line(deps: Deps, scope: Scope, session: ImportSession, currency: str | None, amount: Decimal,
               data: dict[str, Any], kind: StagedTransactionType | None, prefix: str) -> None:
    """One line against its session (`currency`: its account's): the currency it names, its amount's decimals,
    its transfer's other account and its type. Raises the 400 a POST of the line answers, naming the field under
    `prefix` (`[0]` in a POST). `data`'s currency code is written upper case, as the ledger writes codes."""
    check_currency(data, currency, _at(prefix, "data.currency"))
    check_amount(amount, line_currency(data, currency), _at(prefix, "amount"))
    check_transfer(deps, scope, session, data, currency, _at(prefix, "data"))
    check_types(session, [kind], prefix)
