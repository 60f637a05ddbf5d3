"""In-memory twins of what import-session use cases touch besides the Store: the ledger, bank accounts,
the event bus and the enrichment state machine. With tests/support/memory_store.py they let every
session service run in milliseconds with no sockets."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from tests.support.memory_store import MemoryStore
from tximport.errors import NotFound
from tximport.models import BankAccount, Tenant
from tximport.services.sessions.deps import Deps
from tximport.sessions.balances import ledger_sums
from tximport.sessions.models import Scope, TransactionStatus, TypeSums, Workspace
from tximport.storage.sessions import CatalogRepository, SessionsRepository


class FakeLedger:
    """Ledger lines by (tenant, account) -> {transactionId: row}; the same contract as SessionLedger."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self.writes = 0

    def _lines(self, tenant: Tenant, account_id: str) -> dict[str, dict[str, Any]]:
        return self.rows.setdefault((tenant.key, account_id), {})

    def add(self, tenant: Tenant, account_id: str, day: str, amount: str, description: str = "x",
            **extra: Any) -> None:
        """A line as a file import would write it (signed amount, no type) unless `extra` says more."""
        tx = str(uuid.uuid4())
        self._lines(tenant, account_id)[tx] = {"transactionId": tx, "bankAccountId": account_id, "datePosted": day,
                                               "amount": Decimal(amount), "description": description, **extra}

    def days(self, tenant: Tenant, account_id: str, *, newest_first: bool = True) -> Iterator[str]:
        return iter(sorted({r["datePosted"] for r in self._lines(tenant, account_id).values()},
                           reverse=newest_first))

    def day_items(self, tenant: Tenant, account_id: str, day: str) -> list[dict[str, Any]]:
        return [r for r in self._lines(tenant, account_id).values() if r["datePosted"] == day]

    def sum_between(self, tenant: Tenant, account_id: str, start: date | None, end: date) -> TypeSums:
        return ledger_sums(r for r in self._lines(tenant, account_id).values()
                           if (start is None or r["datePosted"] >= start.isoformat())
                           and r["datePosted"] <= end.isoformat())

    def invoice_sums(self, tenant: Tenant, card_id: str, billing_month: str) -> TypeSums:
        return ledger_sums(r for r in self._lines(tenant, card_id).values() if r.get("billingMonth") == billing_month)

    def write_lines(self, tenant: Tenant, rows: list[dict[str, Any]]) -> int:
        for row in rows:
            self.writes += 1
            self._lines(tenant, row["bankAccountId"])[row["transactionId"]] = {
                k: v for k, v in row.items() if v is not None}
        return len(rows)

    def mark_paid(self, tenant: Tenant, account_id: str, low: str, high: str) -> int:
        changed = 0
        for row in self._lines(tenant, account_id).values():
            period = row["billingMonth"] if row.get("cardId") == account_id else row["datePosted"]
            if row.get("transactionStatus") == TransactionStatus.VALIDATING and low <= period <= high + "~":
                row["transactionStatus"] = TransactionStatus.PAID.value
                changed += 1
        return changed

    def all(self, tenant: Tenant, account_id: str) -> list[dict[str, Any]]:
        return list(self._lines(tenant, account_id).values())


class FakeAccounts:
    def __init__(self) -> None:
        self.accounts: dict[tuple[str, str], BankAccount] = {}

    def add(self, tenant: Tenant, name: str = "Conta Corrente", identifier: str = "12345-6") -> BankAccount:
        account = BankAccount(id=str(uuid.uuid4()), bank_id="b", country_code="BRA", account_identifier=identifier,
                              name=name)
        self.accounts[(tenant.key, account.id)] = account
        return account

    def get(self, tenant: Tenant, account_id: str) -> BankAccount:
        found = self.accounts.get((tenant.key, account_id))
        if found is None:
            raise NotFound(f"bank account {account_id} not found", code="BankAccountNotFound")
        return found


class FakeEvents:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        self.published.append((detail_type, detail))


class FakeStarter:
    def __init__(self) -> None:
        self.started: list[tuple[str, dict[str, Any]]] = []
        self.fail = False

    def start(self, name: str, payload: dict[str, Any]) -> str:
        if self.fail:
            raise RuntimeError("cannot start")
        self.started.append((name, payload))
        return f"arn:aws:states:local:0:execution:enrich:{name}"


class World:
    """Everything wired on fakes, with one tenant and one workspace."""

    def __init__(self, today: date = date(2024, 3, 31)) -> None:
        self.store = MemoryStore()
        self.ledger = FakeLedger()
        self.accounts = FakeAccounts()
        self.events = FakeEvents()
        self.starter = FakeStarter()
        self.deps = Deps(repo=SessionsRepository(self.store), catalog=CatalogRepository(self.store),
                         ledger=self.ledger, accounts=self.accounts, events=self.events, starter=self.starter,
                         today=lambda: today)
        self.tenant = Tenant(organisation_id="org", company_id="co")
        workspace = Workspace(id=str(uuid.uuid4()), name="Casa", organisation_id="org", company_id="co")
        self.deps.repo.create_workspace(self.tenant, workspace)
        self.scope = Scope(self.tenant, workspace.id, user_id="user-1")
        self.admin = Scope(self.tenant, workspace.id, user_id="admin-1", roles=frozenset({"admin"}))
