"""Reading the ledger: an account's confirmed transactions, newest first."""

from __future__ import annotations

from tximport.models import LedgerLine, Tenant
from tximport.storage.ledger import LedgerStore
from tximport.storage.repository import AccountsStore


class LedgerQueries:
    def __init__(self, *, accounts: AccountsStore, ledger: LedgerStore) -> None:
        self.accounts = accounts
        self.ledger = ledger

    def page(self, tenant: Tenant, account_id: str, *, limit: int, cursor: str | None
             ) -> tuple[list[LedgerLine], str | None]:
        """A page of an account's ledger, newest first, and the cursor of the next one (NotFound
        BankAccountNotFound for an account the tenant does not have)."""
        self.accounts.get(tenant, account_id)
        return self.ledger.list_page(tenant, account_id, limit=limit, cursor=cursor)
