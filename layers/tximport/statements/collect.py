"""Gathers `StatementTotals` while processing streams a file: one open statement per account reference,
closed by the `StatementBalances` event the reader yields after the statement's lines.

Memory is one small aggregate per open statement and the closed statements' totals (a handful per file;
a daily MT940 export for a year is 365 of them).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from tximport.formats.base import Balance, StatementBalances
from tximport.statements.models import StatementRecord, StatementTotals
from tximport.statements.rules import RunningBalance


class _Open:
    __slots__ = ("running", "totals")

    def __init__(self, totals: StatementTotals) -> None:
        self.totals = totals
        self.running = RunningBalance()


class StatementCollector:
    """Per account and statement: count, sum, first/last day, overlap with the account's last confirmed
    statement, the running-balance check, and the balances the file states."""

    def __init__(self, last: dict[str, StatementRecord | None]) -> None:
        self.last = last  # bank account id -> its last confirmed statement
        self._open: dict[str | None, _Open] = {}
        self._count: dict[str, int] = {}
        self.closed: list[StatementTotals] = []

    def _statement(self, ref: str | None, account_id: str, currency: str | None) -> _Open:
        found = self._open.get(ref)
        if found is None:
            index = self._count[account_id] = self._count.get(account_id, 0) + 1
            found = self._open[ref] = _Open(StatementTotals(bank_account_id=account_id, account_ref=ref, index=index,
                                                            currency=currency))
        return found

    def line(self, ref: str | None, account_id: str, *, amount: Decimal, day: date, currency: str | None,
             line_number: int, file_amount: Decimal, balance: Decimal | None, duplicate: bool | None) -> None:
        """One booked line of a listed account (`amount` signed as the ledger keeps it; `file_amount` and
        `balance` as the file writes them). `duplicate` None: the line is not staged (outside productDates)."""
        current = self._statement(ref, account_id, currency)
        totals = current.totals
        totals.add(amount, day)
        totals.currency = totals.currency or currency
        current.running.add(line_number, file_amount, balance)
        last = self.last.get(account_id)
        if duplicate is not None and last is not None and day <= last.end_date:
            totals.add_overlap(day, duplicate)

    def balances(self, event: StatementBalances, account_id: str, *, reversed_sign: bool) -> None:
        """The balances that close the open statement of `event.account_ref`."""
        current = self._statement(event.account_ref, account_id, event.currency)
        self._close(event.account_ref, current, event, reversed_sign)

    def finish(self, *, reversed_accounts: frozenset[str] = frozenset()) -> list[StatementTotals]:
        """Every statement, in the order they closed (statements without stated balances last)."""
        for ref, current in list(self._open.items()):
            self._close(ref, current, None, current.totals.bank_account_id in reversed_accounts)
        return self.closed

    def _close(self, ref: str | None, current: _Open, event: StatementBalances | None, reversed_sign: bool) -> None:
        self._open.pop(ref, None)
        totals = current.totals
        running = current.running
        totals.running_break = running.first_break
        if event is None:  # a balance column states them line by line
            event = running.stated(ref, totals.currency)
        if event is not None and reversed_sign:
            event = _flipped(event)
        totals.balances = event
        if event is not None:
            totals.currency = totals.currency or event.currency
        if event is not None or totals.count:
            self.closed.append(totals)


def _flip(balance: Balance | None) -> Balance | None:
    return Balance(-balance.amount, balance.day) if balance else None


def _flipped(event: StatementBalances) -> StatementBalances:
    """`event` in the ledger's sign when the account reverses the file's signs (a card statement)."""
    return replace(event, opening=_flip(event.opening), closing=_flip(event.closing), available=_flip(event.available))
