"""Reading the ledger: an account's confirmed transactions, or the tenant's across its accounts."""

from __future__ import annotations

from datetime import date

from tximport.errors import ValidationFailed
from tximport.models import LedgerLine, Tenant
from tximport.services.accounts import all_accounts
from tximport.services.public import SOURCE_ID
from tximport.storage.ledger import LedgerStore
from tximport.storage.repository import AccountsStore, ImportsStore


class LedgerQueries:
    def __init__(self, *, accounts: AccountsStore, ledger: LedgerStore, imports: ImportsStore) -> None:
        self.accounts = accounts
        self.ledger = ledger
        self.imports = imports

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
