"""Reading the ledger: an account's confirmed transactions, newest first, with their running balance, or
the tenant's across its accounts.

A running balance is anchored on the account's last confirmed statement (its closing balance and day,
tximport.storage.statements) and moved by the per-day sums the ledger keeps (`BAL#` items,
tximport.storage.ledger): the balance at the end of a day is the anchor plus the day sums after the
anchor's day up to it (or minus those after it up to the anchor). Without a statement the anchor is
zero before the account's first line. A page then costs the day items between the anchor and the
page's first day and one read of that day's later lines, never a scan of the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from tximport.errors import NotFound, ValidationFailed
from tximport.models import ImportStatus, LedgerLine, Tenant
from tximport.services.accounts import all_accounts
from tximport.services.lifecycle import held_by
from tximport.services.public import SOURCE_ID
from tximport.statements.models import StatementRecord
from tximport.storage.ledger import LedgerStore, counts_in_balance
from tximport.storage.repository import AccountsStore, ImportsStore, LocksStore
from tximport.storage.statements import StatementHistory


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """The account's balance after its newest booked line, and the statement it is anchored on; amount and
    day None while nothing is known (no statement and no booked line)."""

    amount: Decimal | None
    as_of: date | None
    statement: StatementRecord | None
    #: the import whose lines are being written to the account's ledger or removed from it right now: the day
    #: sums follow its lines as they are recomputed, so the figures are provisional until it ends
    changing_import_id: str | None = None


@dataclass(slots=True)
class LedgerPage:
    lines: list[LedgerLine]
    next_cursor: str | None
    #: each line's balance after it (`include=balance`), in the order of `lines`
    running: list[Decimal] | None = None
    balance: AccountBalance | None = None


class LedgerQueries:
    def __init__(self, *, accounts: AccountsStore, ledger: LedgerStore, imports: ImportsStore,
                 statements: StatementHistory | None = None, locks: LocksStore | None = None) -> None:
        self.accounts = accounts
        self.ledger = ledger
        self.imports = imports
        self.statements = statements
        self.locks = locks

    def page(self, tenant: Tenant, account_id: str, *, limit: int, cursor: str | None
             ) -> tuple[list[LedgerLine], str | None]:
        """A page of an account's ledger, newest first, and the cursor of the next one (NotFound
        BankAccountNotFound for an account the tenant does not have)."""
        self.accounts.get(tenant, account_id)
        return self.ledger.list_page(tenant, account_id, limit=limit, cursor=cursor)

    def search(self, tenant: Tenant, *, account_id: str | None = None, start: date | None = None,
               end: date | None = None, import_id: str | None = None, limit: int, cursor: str | None
               ) -> tuple[list[LedgerLine], str | None]:
        """A page of the tenant's ledger across its accounts (or one), newest first, between two days and
        of one import when asked. An import's filter reads only its accounts and the days it covers."""
        if start and end and start > end:
            raise ValidationFailed("dateFrom is after dateTo", code="ValidationError", target="dateFrom")
        if account_id is not None:
            account_ids = [self.accounts.get(tenant, account_id).id]
        else:
            account_ids = [a.id for a in all_accounts(self.accounts, tenant)]
        if import_id is not None and import_id != SOURCE_ID:
            imp = self.imports.get(tenant, import_id)  # NotFound ImportNotFound
            account_ids = [a for a in account_ids if a in {b.id for b in imp.bank_accounts}]
            if imp.summary and imp.summary.transaction_range_start_date:
                start = max(d for d in (start, imp.summary.transaction_range_start_date) if d)
            if imp.summary and imp.summary.transaction_range_end_date:
                end = min(d for d in (end, imp.summary.transaction_range_end_date) if d)
        return self.ledger.tenant_page(tenant, account_ids, start=start, end=end, import_id=import_id,
                                       limit=limit, cursor=cursor)

    def page_with_balances(self, tenant: Tenant, account_id: str, *, limit: int, cursor: str | None) -> LedgerPage:
        """`page`, with each line's running balance and the account's current balance."""
        lines, nxt = self.page(tenant, account_id, limit=limit, cursor=cursor)
        changing = self._changing(tenant, account_id)  # asked before and after the sums are read
        anchor = self.statements.last(tenant, account_id) if self.statements else None
        running: list[Decimal] = []
        if lines:
            first = lines[0]
            balance = self._end_of_day(tenant, account_id, first.date_posted, anchor) - self.ledger.sum_later_in_day(
                tenant, account_id, first.date_posted, first.transaction_id)
            for line in lines:
                running.append(balance)
                if counts_in_balance(line):  # else the balance before it is the one after it
                    balance -= line.amount
        current = self._current(tenant, account_id, anchor)
        changing = self._changing(tenant, account_id) or changing
        return LedgerPage(lines, nxt, running, replace(current, changing_import_id=changing))

    def _changing(self, tenant: Tenant, account_id: str) -> str | None:
        """The import holding the account while its commit writes lines (or its failed commit removes them), or
        while its revert removes them (or has stopped part-way); None otherwise (an import being processed or
        reviewed changes nothing)."""
        holder = self.locks.holder(tenant, account_id) if self.locks is not None else None
        if holder is None:
            return None
        import_id, reverting = held_by(holder)
        try:
            imp = self.imports.get(tenant, import_id)
        except NotFound:
            return None
        changing = imp.revert_unfinished if reverting else imp.status == ImportStatus.FINAL_PROCESSING
        return imp.id if changing else None

    def _current(self, tenant: Tenant, account_id: str, anchor: StatementRecord | None) -> AccountBalance:
        """The balance after the newest booked line (or the anchor's closing, when later): the day sums after
        the anchor (all of them without one). Days whose lines are all pending or gone count for nothing,
        so an account with no statement and no booked line has no balance yet (None, not zero)."""
        totals = self.ledger.day_totals(tenant, account_id, anchor.closing_date if anchor else None, None)
        if anchor is None and not totals:
            return AccountBalance(None, None, None)
        start = anchor.anchor if anchor else Decimal(0)
        as_of = totals[-1][0] if totals else anchor.closing_date if anchor else None
        return AccountBalance(start + sum((t for _, t in totals), Decimal(0)), as_of, anchor)

    def _end_of_day(self, tenant: Tenant, account_id: str, day: date, anchor: StatementRecord | None) -> Decimal:
        if anchor is None:
            return sum((t for _, t in self.ledger.day_totals(tenant, account_id, None, day)), Decimal(0))
        if day >= anchor.closing_date:
            later = self.ledger.day_totals(tenant, account_id, anchor.closing_date, day)
            return anchor.anchor + sum((t for _, t in later), Decimal(0))
        between = self.ledger.day_totals(tenant, account_id, day, anchor.closing_date)
        return anchor.anchor - sum((t for _, t in between), Decimal(0))
