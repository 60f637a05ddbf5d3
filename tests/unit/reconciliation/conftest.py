"""The reconciliation services wired to in-memory fakes; sockets are refused in this package's tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from tests.unit.reconciliation.fakes import (
    FakeAccounts,
    FakeExecutions,
    FakeLedger,
    FakeReconciliations,
    FakeS3,
    fake_objects,
)
from tximport.adapters.reconciliation import S3ResultObjects
from tximport.models import BankAccount, Tenant
from tximport.reconciliation.models import Direction, Entry, Source, StatementLine
from tximport.services.reconciliations.create import CreateReconciliation, NewReconciliation
from tximport.services.reconciliations.manual import ManualDecisions
from tximport.services.reconciliations.matching import MatchingRun
from tximport.services.reconciliations.queries import ReconciliationQueries

TENANT = Tenant(organisation_id="org", company_id="co")
ACCOUNT = "acc-1"


@pytest.fixture(autouse=True)
def _no_sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*_: object, **__: object) -> None:
        raise RuntimeError("unit tests may not open sockets")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield


@dataclass
class World:
    accounts: FakeAccounts
    ledger: FakeLedger
    store: FakeReconciliations
    objects: S3ResultObjects
    s3: FakeS3
    executions: FakeExecutions
    create: CreateReconciliation
    queries: ReconciliationQueries
    run: MatchingRun
    manual: ManualDecisions

    def settle(self, rec_id: str, tenant: Tenant = TENANT) -> None:
        """What the workflow does for the last started run."""
        _, run = self.executions.started[-1]
        assert self.run.begin(tenant, rec_id, run) == "match"
        self.run.match(tenant, rec_id, run)


@pytest.fixture()
def world() -> World:
    accounts, ledger = FakeAccounts(), FakeLedger()
    accounts.add(TENANT, BankAccount(id=ACCOUNT, bank_id="b", country_code="BR", account_identifier="1",
                                     currency="BRL"))
    store = FakeReconciliations(ledger)
    objects, s3 = fake_objects()
    executions = FakeExecutions()
    return World(
        accounts, ledger, store, objects, s3, executions,
        CreateReconciliation(accounts=accounts, store=store, objects=objects, executions=executions),
        ReconciliationQueries(store=store, objects=objects),
        MatchingRun(store=store, objects=objects, ledger=ledger),
        ManualDecisions(store=store, objects=objects, ledger=ledger, executions=executions))


def doc_entries() -> list[Entry]:
    """The document's three entries."""
    return [
        Entry(0, Direction.DEBIT, Decimal("5000.00"), "Pagamento NF 12345", date(2024, 1, 10), "ERP-PAG-12345"),
        Entry(1, Direction.CREDIT, Decimal("15000.00"), "Recebimento cliente ABC", date(2024, 1, 12), "ERP-REC-67890"),
        Entry(2, Direction.DEBIT, Decimal("3000.00"), "Pagamento fornecedor XYZ", date(2024, 1, 15), "ERP-PAG-11111"),
    ]


def doc_lines() -> list[StatementLine]:
    return [
        StatementLine("2024-01-10-" + "a" * 32, Direction.DEBIT, Decimal("5000.00"), date(2024, 1, 10),
                      "TED ERP-PAG-12345", "BRL"),
        StatementLine("2024-01-13-" + "b" * 32, Direction.CREDIT, Decimal("15000.00"), date(2024, 1, 13),
                      "PIX RECEBIDO CLIENTE ABC", "BRL"),
        StatementLine("2024-01-20-" + "c" * 32, Direction.DEBIT, Decimal("3000.00"), date(2024, 1, 20),
                      "TARIFA PACOTE", "BRL"),
    ]


def request(entries: list[Entry] | None = None, start: date = date(2024, 1, 1), end: date = date(2024, 1, 31),
            account: str = ACCOUNT) -> NewReconciliation:
    return NewReconciliation(account_id=account, period_start=start, period_end=end, source=Source.API_IMPORT,
                             entries=entries if entries is not None else doc_entries())
