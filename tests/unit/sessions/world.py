"""Arranging import sessions in a fake world: the container's own wiring on the in-memory fakes of
tests/fakes (the sessions table, the ledger, bank accounts, the outbox, the enrichment state machine),
with one tenant, one workspace and a fixed today."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from tests.fakes.container import FakeContainer
from tximport.commands import CreateBankAccount
from tximport.models import BankAccount, LedgerLine, Tenant, utcnow
from tximport.services.sessions.deps import Deps
from tximport.sessions.models import Scope, SessionLedgerEntry, Workspace


class World:
    def __init__(self, today: date = date(2024, 3, 31)) -> None:
        self.c = FakeContainer()
        self.deps: Deps = self.c.sessions_deps
        self.deps.today = lambda: today
        self.ledger = self.c.ledger
        self.tenant = Tenant(organisation_id="org", company_id="co")
        workspace = Workspace(id=str(uuid.uuid4()), name="Casa", organisation_id="org", company_id="co")
        self.deps.repo.create_workspace(self.tenant, workspace)
        self.scope = Scope(self.tenant, workspace.id, user_id="user-1")
        self.admin = Scope(self.tenant, workspace.id, user_id="admin-1", roles=frozenset({"admin"}))

    def account(self, name: str = "Conta Corrente", identifier: str = "12345-6", currency: str | None = None
                ) -> BankAccount:
        """One of our bank accounts (`/bankaccounts`)."""
        return self.c.account_service.create(self.tenant, CreateBankAccount(
            bank_id="b", country_code="BRA", account_identifier=identifier, name=name, currency=currency))

    def ledger_line(self, account_id: str, day: str, amount: str, description: str = "x",
                    session: SessionLedgerEntry | None = None) -> LedgerLine:
        """A ledger line as a file import writes it (signed amount, no type) unless `session` says more."""
        line = LedgerLine(transaction_id=str(uuid.uuid4()), bank_account_id=account_id, amount=Decimal(amount),
                          date_posted=date.fromisoformat(day), description=description,
                          import_id="" if session else "imp-1", committed=utcnow(), session=session)
        self.ledger.write(self.tenant, [line])
        return line

    def lines(self, account_id: str) -> list[LedgerLine]:
        return self.ledger.all(self.tenant, account_id)

    def published(self) -> list[tuple[str, dict[str, Any]]]:
        """The session events written to the outbox."""
        return self.c.session_events_published()

    def started(self) -> dict[str, dict[str, Any]]:
        """The enrichment executions started: input by execution name."""
        return self.c.enrichment_engine.executions
