"""A recurring item's slots: the days it falls due, each paid, ignored or pending (`GET /recurring/{id}/projection`,
`GET /recurring/pending`, `GET /recurring/summary`, and how each item stands in a month on `GET /recurring`).

An item falls due on its start date (else the day it was created) and every period of its frequency after it
(a monthly item on the 31st falls on the last day of shorter months), up to its end date. A slot is paid by the
ledger lines committed from import sessions bound to the item (`SessionLedgerEntry.recurring_id`) whose day is
nearer to it than to any other slot's (a line a few days early pays the slot it is early for); it is IGNORE when
each of them was committed ignored, PAID once what they paid reaches the item's amount, and PENDING while no line
pays it or they paid only part of it (what is left is still to pay). Only the item's own
ledger is read (its account's, a transfer's source account's, a card item's card's), a day range at a time.
"""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from tximport.errors import NotFound, ValidationFailed
from tximport.models import LedgerLine
from tximport.services.sessions.catalog import CatalogService
from tximport.services.sessions.deps import Deps
from tximport.sessions.models import Frequency, RecurringItem, RecurringType, Scope, TransactionStatus

#: the most pending slots listed for one item (a daily item over three years; older pending slots are left out,
#: paid and ignored ones never)
MAX_SLOTS = 1100
#: a payment may come this many days before the first slot and still pay it
EARLY_DAYS = 31

_DAYS = {Frequency.DAILY: 1, Frequency.WEEKLY: 7, Frequency.BIWEEKLY: 14}
_MONTHS = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.YEARLY: 12}


@dataclass(frozen=True, slots=True)
class Slot:
    """One day an item falls due, and what paid it."""

    item: RecurringItem
    day: date
    status: str  # PAID, IGNORE, PENDING
    #: what paid it (PAID), what its ignored lines amount to (IGNORE), what is still to pay (PENDING)
    amount: Decimal
    transaction_id: str | None = None
    #: what the lines not committed ignored paid of it (part of it while PENDING)
    paid: Decimal = Decimal(0)


@dataclass(slots=True)
class Figures:
    """A month's amounts: the items' amounts of its slots (projected), what paid them (paid, part of a slot
    included), and what is still to pay of them (pending; an IGNORE slot is neither paid nor pending)."""

    projected: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)
    pending: Decimal = Decimal(0)

    def add(self, slot: Slot) -> None:
        self.projected += slot.item.amount
        if slot.status != "IGNORE":
            self.paid += slot.paid
        if slot.status == "PENDING":
            self.pending += slot.amount


@dataclass(frozen=True, slots=True)
class Summary:
    """`GET /recurring/summary`: every item's figures added (the document's one number), and per currency
    (None: items whose currency is not known, e.g. a card's that names none)."""

    total: Figures
    by_currency: dict[str | None, Figures]


@dataclass(frozen=True, slots=True)
class Standing:
    """How an item stands in a month (entity.RecurringExpense's `has_transaction_in_month`, `payment_status`,
    `pending_amount`): whether a committed line paid (all or part of) or ignored one of its slots of the month; PAID
    when each slot of the month is paid in full (IGNORE when each was ignored), PENDING while one is not, NOT_DUE
    when none falls in the month; and what is still to pay of its slots of the month."""

    has_transaction: bool
    payment_status: str
    pending_amount: Decimal


def standing_of(slots: list[Slot], first: date, *, active: bool = True) -> Standing:
    """The standing in the month from `first` of an item whose `slots` run to the month's end. An inactive item
    waits for nothing (as `GET /recurring/pending` and the summary leave it out): only the slots a line paid or
    ignored count."""
    in_month = [slot for slot in slots if slot.day >= first and (active or slot.status != "PENDING")]
    pending = [slot for slot in in_month if slot.status == "PENDING"]
    if not in_month:
        status = "NOT_DUE"
    elif pending:
        status = "PENDING"
    else:
        status = "IGNORE" if all(slot.status == "IGNORE" for slot in in_month) else "PAID"
    paid_into = any(slot.transaction_id is not None for slot in in_month)
    return Standing(paid_into, status, sum((slot.amount for slot in pending), Decimal(0)))


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of a `YYYY-MM` month (400 naming `month` otherwise)."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except ValueError:
        raise ValidationFailed("month is written YYYY-MM", target="month") from None
    if len(month) != 7 or not 1900 <= year <= 2999:
        raise ValidationFailed("month is written YYYY-MM (1900 to 2999)", target="month")
    return first, first.replace(day=calendar.monthrange(year, number)[1])


def _add_months(day: date, months: int, anchor: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(anchor, calendar.monthrange(year, month + 1)[1]))


def _due(item: RecurringItem) -> Iterator[date]:
    """The days `item` falls due, from its start to its end date (or the calendar's end)."""
    start = item.start_date or item.created_at.date()
    step = 0
    while True:
        try:
            if item.frequency in _DAYS:
                day = start + timedelta(days=_DAYS[item.frequency] * step)
            else:
                day = _add_months(start, _MONTHS.get(item.frequency, 1) * step, start.day)
        except (OverflowError, ValueError):
            return
        if item.end_date and day > item.end_date:
            return
        yield day
        step += 1


def due_days(item: RecurringItem, until: date) -> tuple[list[date], date | None]:
    """The days `item` falls due up to `until`, and the next one after."""
    days: list[date] = []
    for day in _due(item):
        if day > until:
            return days, day
        days.append(day)
    return days, None


def _nearest(days: list[date], day: date) -> int:
    """The index of the slot day nearest to `day` (the later of two as near: a payment a day or two early pays
    the slot it is early for)."""
    at = bisect_right(days, day)
    if at == 0:
        return 0
    if at == len(days):
        return at - 1
    return at if (days[at] - day) <= (day - days[at - 1]) else at - 1


def _ledger_of(item: RecurringItem) -> str | None:
    """The ledger a line paying `item` is committed to."""
    if item.type == RecurringType.CARD_TRANSACTION:
        return item.card_id
    if item.type == RecurringType.TRANSFER:
        return item.source_account_id or item.account_id
    return item.account_id


class RecurringSlots:
    def __init__(self, deps: Deps) -> None:
        self.d = deps
        self.catalog = CatalogService(deps)

    def slots(self, scope: Scope, item: RecurringItem, until: date) -> list[Slot]:
        """Every slot of `item` up to `until`, with what paid it."""
        days, after = due_days(item, until)
        if not days:
            return []
        ledger = _ledger_of(item)
        # each bound line pays the slot nearest to its day; the next slot after `until` takes its own
        marks = [*days, after] if after else days
        paying: list[list[LedgerLine]] = [[] for _ in marks]
        horizon = max(until, after - timedelta(days=1)) if after else until
        if ledger:
            for line in self.d.ledger.lines_between(scope.tenant, ledger, days[0] - timedelta(days=EARLY_DAYS),
                                                    horizon):
                if line.session is not None and line.session.recurring_id == item.id and not line.pending:
                    paying[_nearest(marks, line.date_posted)].append(line)
        slots = [self._slot(item, day, lines) for day, lines in zip(days, paying, strict=False)]
        # every resolved slot, and the latest MAX_SLOTS pending ones
        pending = [i for i, slot in enumerate(slots) if slot.status == "PENDING"]
        dropped = set(pending[:-MAX_SLOTS]) if len(pending) > MAX_SLOTS else set()
        return [slot for i, slot in enumerate(slots) if i not in dropped]

    @staticmethod
    def _slot(item: RecurringItem, day: date, lines: list[LedgerLine]) -> Slot:
        """A slot and the lines bound to it: PAID once the lines not committed ignored reach the item's amount,
        PENDING with the rest to pay while they do not (or none is bound), IGNORE when each was ignored."""
        if not lines:
            return Slot(item, day, "PENDING", item.amount)
        paying = [line for line in lines if line.session is None or line.session.status != TransactionStatus.IGNORE]
        if not paying:
            return Slot(item, day, "IGNORE", abs(sum((line.amount for line in lines), Decimal(0))),
                        lines[0].transaction_id)
        paid, due = abs(sum((line.amount for line in paying), Decimal(0))), abs(item.amount)
        if paid < due:
            return Slot(item, day, "PENDING", due - paid, paying[0].transaction_id, paid)
        return Slot(item, day, "PAID", paid, paying[0].transaction_id, paid)

    def projection(self, scope: Scope, item_id: str, month: str | None) -> list[Slot]:
        """The item's slots: every resolved one, and the pending ones up to the end of `month` (this month)."""
        item = self.catalog.get_recurring(scope, item_id)
        _, last = month_bounds(month or self._this_month())
        return self.slots(scope, item, last)

    def standings(self, scope: Scope, items: list[RecurringItem], month: str | None) -> dict[str, Standing]:
        """How each item stands in `month` (this month by default), by item id."""
        first, last = month_bounds(month or self._this_month())
        return {item.id: standing_of(self.slots(scope, item, last), first, active=item.is_active) for item in items}

    def pending(self, scope: Scope, account_id: str | None, card_id: str | None) -> list[Slot]:
        """The pending slots of the active items (of one account or card) up to the end of this month."""
        _, last = month_bounds(self._this_month())
        items = self.catalog.list_recurring(scope, account_id=account_id, card_id=card_id, is_active=True)
        return [slot for item in items for slot in self.slots(scope, item, last) if slot.status == "PENDING"]

    def summary(self, scope: Scope, month: str) -> Summary:
        """The projected, paid and pending amounts of `month` over the active items counted in summaries
        (`include_in_summary`), in all and per currency."""
        first, last = month_bounds(month)
        total = Figures()
        by_currency: dict[str | None, Figures] = {}
        currencies: dict[str, str | None] = {}
        for item in self.catalog.list_recurring(scope, is_active=True):
            if not item.include_in_summary:
                continue
            currency = self._currency(scope, item, currencies)
            for slot in self.slots(scope, item, last):
                if slot.day >= first:
                    total.add(slot)
                    by_currency.setdefault(currency, Figures()).add(slot)
        return Summary(total, by_currency)

    def _currency(self, scope: Scope, item: RecurringItem, known: dict[str, str | None]) -> str | None:
        """The item's currency; an item stored before items kept one: its account's (read once per account)."""
        account_id = item.source_account_id or item.account_id
        if item.currency or item.type == RecurringType.CARD_TRANSACTION or not account_id:
            return item.currency
        if account_id not in known:
            try:
                known[account_id] = self.d.accounts.get(scope.tenant, account_id).currency
            except NotFound:
                known[account_id] = None
        return known[account_id]

    def _this_month(self) -> str:
        return self.d.today().strftime("%Y-%m")
