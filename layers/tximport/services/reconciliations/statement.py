"""The statement side of a reconciliation: the account's ledger lines (file imports, public transactions
and committed sessions alike: whatever the ledger holds), read through the ledger repository."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from tximport.models import LedgerLine, Tenant
from tximport.reconciliation.ids import ledger_day
from tximport.storage.ledger import LedgerStore


def find(ledger: LedgerStore, tenant: Tenant, account_id: str, transaction_id: str) -> LedgerLine | None:
    """The line with this ledger transaction id (our ids start with the booking day)."""
    day = ledger_day(transaction_id)
    if day is None:
        return None
    found = ledger.get_lines(tenant, [(account_id, day, transaction_id)])
    return found[0] if found else None


def find_digest(ledger: LedgerStore, tenant: Tenant, account_id: str, digest: str, days: Iterable[date]
                ) -> LedgerLine | None:
    """The line whose id is `<day>-<digest>` on one of `days` (a statement UUID names the digest only)."""
    found = ledger.get_lines(tenant, [(account_id, day, f"{day.isoformat()}-{digest}") for day in days])
    return found[0] if found else None
