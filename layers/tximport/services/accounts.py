"""Bank accounts: the placeholder accounts imports are made into."""

from __future__ import annotations

from tximport.commands import CreateBankAccount
from tximport.ids import new_id
from tximport.models import BankAccount, Tenant
from tximport.storage.repository import AccountsStore


class AccountService:
    def __init__(self, accounts: AccountsStore) -> None:
        self.accounts = accounts

    def create(self, tenant: Tenant, command: CreateBankAccount) -> BankAccount:
        """Create a placeholder bank account."""
        account = BankAccount(id=new_id(), bank_id=command.bank_id, country_code=command.country_code,
                              account_identifier=command.account_identifier, name=command.name,
                              currency=command.currency)
        self.accounts.put(tenant, account)
        return account

    def get(self, tenant: Tenant, account_id: str) -> BankAccount:
        """One of the tenant's accounts (NotFound BankAccountNotFound otherwise)."""
        return self.accounts.get(tenant, account_id)

    def list_page(self, tenant: Tenant, *, limit: int, cursor: str | None) -> tuple[list[BankAccount], str | None]:
        """A page of the tenant's accounts and the cursor of the next one."""
        return self.accounts.list_page(tenant, limit=limit, cursor=cursor)
