"""The reconciliation services as the container wires them, on the in-memory fakes (tests/fakes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from tests.fakes.container import FakeContainer
from tximport.models import BankAccount, LedgerLine, ReconciliationMark, Tenant, utcnow
from tximport.reconciliation.commands import NewReconciliation
from tximport.reconciliation.ids import ledger_day
from tximport.reconciliation.models import Direction, Entry, Source, StatementLine
from tximport.services.reconciliations.create import CreateReconciliation
from tximport.services.reconciliations.manual import ManualDecisions
from tximport.services.reconciliations.matching import MatchingRun
from tximport.services.reconciliations.queries import ReconciliationQueries

if TYPE_CHECKING:
    from tximport.services.reconciliations.withdraw import Withdrawal

TENANT = Tenant(organisation_id="org", company_id="co")
ACCOUNT = "acc-1"


def ledger_line(line: StatementLine, account: str = ACCOUNT) -> LedgerLine:
    """A statement line as the ledger holds it (signed amount, written by some import)."""
    amount = line.amount if line.direction == Direction.CREDIT else -line.amount
    return LedgerLine(transaction_id=line.transaction_id, bank_account_id=account, amount=amount,
                      date_posted=line.booking_date, description=line.description, currency=line.currency,
                      reference=line.reference, bank_transaction_id=line.bank_transaction_id,
                      counterparty_name=line.counterparty, import_id="imp-1", committed=utcnow())


@dataclass
class World:
    c: FakeContainer

    @property
    def create(self) -> CreateReconciliation:
        return self.c.reconciliations.create

    @property
    def queries(self) -> ReconciliationQueries:
        return self.c.reconciliations.queries

    @property
    def run(self) -> MatchingRun:
        return self.c.reconciliations.matching

    @property
    def manual(self) -> ManualDecisions:
        return self.c.reconciliations.manual

    @property
    def withdraw(self) -> Withdrawal:
        return self.c.reconciliations.withdraw

    @property
    def started(self) -> list[tuple[str, int]]:
        """(reconciliation id, run) of every execution started, in order."""
        return [(p["reconciliationId"], p["run"]) for p in self.c.reconcile_engine.executions.values()]

    def add_lines(self, *lines: StatementLine) -> None:
        self.c.ledger.write(TENANT, [ledger_line(line) for line in lines])

    def mark(self, transaction_id: str) -> ReconciliationMark | None:
        """The mark on a ledger line of the account."""
        day = ledger_day(transaction_id)
        assert day is not None
        found = self.c.ledger.get_lines(TENANT, [(ACCOUNT, day, transaction_id)])
        return found[0].reconciliation if found else None

    def settle(self, rec_id: str, tenant: Tenant = TENANT) -> None:
        """What the workflow does for the last started run."""
        _, run = self.started[-1]
        assert self.run.begin(tenant, rec_id, run) == "match"
        self.run.match(tenant, rec_id, run)


@pytest.fixture()
def world() -> World:
    c = FakeContainer()
    c.accounts.put(TENANT, BankAccount(id=ACCOUNT, bank_id="b", country_code="BR", account_identifier="1",
                                       currency="BRL"))
    return World(c)


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
