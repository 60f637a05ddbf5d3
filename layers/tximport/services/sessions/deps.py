"""What the import-session use cases need: repositories and adapters, injected (fakes in unit tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from tximport.errors import NotFound, ValidationFailed
from tximport.models import BankAccount, Tenant
from tximport.sessions.ids import parse_staged_id
from tximport.sessions.models import ImportSession, Scope, StagedTransaction, TypeSums
from tximport.storage.sessions import CatalogRepository, SessionsRepository
from tximport.storage.sessions_adapters import EnrichmentStarter, EventSink

#: the most staged lines a session holds (and an upload adds)
MAX_LINES_PER_SESSION = 25_000


class LedgerPort(Protocol):
    """The ledger as sessions use it (tximport.storage.ledger.SessionLedger)."""

    def days(self, tenant: Tenant, account_id: str, *, newest_first: bool = True) -> Iterator[str]: ...

    def day_items(self, tenant: Tenant, account_id: str, day: str) -> list[dict[str, Any]]: ...

    def sum_between(self, tenant: Tenant, account_id: str, start: date | None, end: date) -> TypeSums: ...

    def invoice_sums(self, tenant: Tenant, card_id: str, billing_month: str) -> TypeSums: ...

    def write_lines(self, tenant: Tenant, rows: list[dict[str, Any]]) -> int: ...

    def mark_paid(self, tenant: Tenant, account_id: str, low: str, high: str) -> int: ...


class AccountsPort(Protocol):
    def get(self, tenant: Tenant, account_id: str) -> BankAccount: ...


@dataclass
class Deps:
    repo: SessionsRepository
    catalog: CatalogRepository
    ledger: LedgerPort
    accounts: AccountsPort
    events: EventSink
    starter: EnrichmentStarter
    today: Callable[[], date] = field(default=lambda: datetime.now(UTC).date())

    def session(self, scope: Scope, session_id: str) -> ImportSession:
        return self.repo.get_session(scope.tenant, scope.workspace_id, session_id)

    def locate(self, scope: Scope, staged_id: str) -> tuple[ImportSession, StagedTransaction]:
        """A staged line by its id alone (the id carries its session's number and its sequence)."""
        parsed = parse_staged_id(staged_id)
        session = self.repo.session_by_number(scope.tenant, scope.workspace_id, parsed[0]) if parsed else None
        line = self.repo.get_line(scope.tenant, session, parsed[1]) if session and parsed else None
        if session is None or line is None or line.id != staged_id:
            raise NotFound(f"staged transaction {staged_id} not found", code="StagedTransactionNotFound",
                           target="id")
        return session, line

    def account(self, scope: Scope, account_id: str, target: str) -> BankAccount:
        try:
            return self.accounts.get(scope.tenant, account_id)
        except NotFound:
            raise ValidationFailed(f"bank account {account_id} not found", code="UnknownAccount",
                                   target=target) from None
