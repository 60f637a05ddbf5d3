"""Bank accounts: the placeholder accounts imports are made into."""

from __future__ import annotations

from tximport.commands import CreateBankAccount
from tximport.errors import Conflict
from tximport.formats.accounts import same_identifier
from tximport.ids import new_id
from tximport.models import BankAccount, Tenant
from tximport.storage.repository import AccountsStore


class AccountService:
    def __init__(self, accounts: AccountsStore) -> None:
        self.accounts = accounts

    def create(self, tenant: Tenant, command: CreateBankAccount) -> BankAccount:
        """Create a placeholder bank account; an identifier (spaces and case aside) another of the tenant's accounts
        has is Conflict BankAccountExists: files and posted transactions name their account by it, so two accounts
        with one identifier could not be told apart. Two creates of one identifier at once: one wins (the identifier
        is claimed with a conditional write)."""
        existing = same_identifier(command.account_identifier, [(a.id, a.account_identifier) for a in self.all(tenant)])
        account = BankAccount(id=new_id(), bank_id=command.bank_id, country_code=command.country_code,
                              account_identifier=command.account_identifier, name=command.name,
                              currency=command.currency)
        holder = existing[0] if existing else self.accounts.claim_identifier(tenant, command.account_identifier,
                                                                             account.id)
        if holder != account.id:  # its id in the details too: a client retrying a create reads it there
            raise Conflict(f"bank account {holder} has the identifier {command.account_identifier!r} already",
                           code="BankAccountExists", target="accountIdentifier",
                           details=[{"target": "accountIdentifier", "code": "BankAccountExists",
                                     "bankAccountId": holder}])
        self.accounts.put(tenant, account)
        return account

    def get(self, tenant: Tenant, account_id: str) -> BankAccount:
        """One of the tenant's accounts (NotFound BankAccountNotFound otherwise)."""
        return self.accounts.get(tenant, account_id)

    def list_page(self, tenant: Tenant, *, limit: int, cursor: str | None) -> tuple[list[BankAccount], str | None]:
        """A page of the tenant's accounts and the cursor of the next one."""
        return self.accounts.list_page(tenant, limit=limit, cursor=cursor)

    def all(self, tenant: Tenant) -> list[BankAccount]:
        """Every account of the tenant."""
        return all_accounts(self.accounts, tenant)

    def find_or_create(self, tenant: Tenant, identifier: str, *, country_code: str, bank_id: str,
                       currency: str | None = None, known: list[BankAccount] | None = None
                       ) -> tuple[BankAccount, bool]:
        """The tenant's account with this identifier (spaces and case aside), else a new placeholder
        account for it; answers it and whether it was created. Two callers creating the same identifier
        at once get the same account (the identifier is claimed with a conditional write)."""
        accounts = self.all(tenant) if known is None else known
        found = same_identifier(identifier, [(a.id, a.account_identifier) for a in accounts])
        if len(set(found)) > 1:  # never a third: which of them is meant cannot be told
            raise Conflict(f"bank accounts {', '.join(sorted(set(found)))} all have the identifier {identifier!r}",
                           code="AmbiguousBankAccount", target="accountIdentifier")
        if found:
            return next(a for a in accounts if a.id == found[0]), False
        account = BankAccount(id=new_id(), bank_id=bank_id, country_code=country_code,
                              account_identifier=identifier.strip(), currency=currency)
        holder = self.accounts.claim_identifier(tenant, identifier, account.id)
        if holder != account.id:
            return self.accounts.get(tenant, holder), False
        self.accounts.put(tenant, account)
        return account, True


def all_accounts(accounts: AccountsStore, tenant: Tenant) -> list[BankAccount]:
    """Every account of the tenant, read page by page."""
    found: list[BankAccount] = []
    cursor: str | None = None
    while True:
        page, cursor = accounts.list_page(tenant, limit=1000, cursor=cursor)
        found.extend(page)
        if not cursor:
            return found
