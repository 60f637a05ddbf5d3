"""The statement side of a reconciliation: the account's ledger lines (file imports, public transactions
and committed sessions alike: whatever the ledger holds), read through the ledger repository."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from tximport.models import LedgerLine, Tenant
from tximport.reconciliation.ids import digest_of, ledger_day, statement_id
from tximport.storage.ledger import LedgerStore


def find(ledger: LedgerStore, tenant: Tenant, account_id: str, transaction_id: str) -> LedgerLine | None:
    """The line with this ledger transaction id (our ids start with the booking day)."""
    day = ledger_day(transaction_id)
    if day is None:
        return None
    found = ledger.get_lines(tenant, [(account_id, day, transaction_id)])
    return found[0] if found else None


def find_statement(ledger: LedgerStore, tenant: Tenant, account_id: str, statement: str, days: Iterable[date]
                   ) -> LedgerLine | None:
    """The line booked on one of `days` that the statement UUID names (`statement_id`): first the line whose id
    is `<day>-<the UUID's digits>` (the UUIDs written before they had a version), else the line among those
    booked on `days` whose id gives the UUID, or whose id holds its digits under another day (a public
    transaction a resend moved keeps the id of the day it was first posted on)."""
    wanted, digest = list(days), digest_of(statement)
    if digest is None:
        return None
    found = ledger.get_lines(tenant, [(account_id, day, f"{day.isoformat()}-{digest}") for day in wanted])
    if found:
        return found[0]
    canonical = statement.lower()
    return booked_between(ledger, tenant, account_id, wanted,
                          lambda tx_id: tx_id[11:] == digest or statement_id(tx_id) == canonical)


def booked_between(ledger: LedgerStore, tenant: Tenant, account_id: str, days: list[date],
                   wanted: Callable[[str], bool]) -> LedgerLine | None:
    """The first line booked on one of `days` (consecutive) whose transaction id is `wanted`."""
    if not days:
        return None
    return next((line for line in ledger.lines_between(tenant, account_id, min(days), max(days))
                 if wanted(line.transaction_id)), None)
