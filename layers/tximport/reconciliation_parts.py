"""The reconciliation use cases, wired (beside `container.py`) to the container's adapters and repositories:
the reconciliations repository, the result chunks in the bucket, the ledger, the accounts and the reconcile
workflow. Unit tests get the same wiring on in-memory fakes (tests/fakes/container.py). Status events come
from the imports table's stream (services/reconciliations/status_events.py)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from tximport.services.reconciliations.create import CreateReconciliation
from tximport.services.reconciliations.manual import ManualDecisions
from tximport.services.reconciliations.matching import MatchingRun
from tximport.services.reconciliations.queries import ReconciliationQueries
from tximport.services.reconciliations.withdraw import Withdrawal

if TYPE_CHECKING:
    from tximport.container import Container


class ReconciliationParts:
    """The reconciliation use cases, built once per process."""

    def __init__(self, container: Container) -> None:
        self.c = container

    @cached_property
    def create(self) -> CreateReconciliation:
        c = self.c
        return CreateReconciliation(accounts=c.accounts, store=c.reconciliation_store, results=c.reconciliation_results,
                                    executions=c.reconcile_engine)

    @cached_property
    def queries(self) -> ReconciliationQueries:
        c = self.c
        return ReconciliationQueries(store=c.reconciliation_store, results=c.reconciliation_results, ledger=c.ledger)

    @cached_property
    def manual(self) -> ManualDecisions:
        c = self.c
        return ManualDecisions(store=c.reconciliation_store, results=c.reconciliation_results, ledger=c.ledger,
                               executions=c.reconcile_engine)

    @cached_property
    def matching(self) -> MatchingRun:
        c = self.c
        return MatchingRun(store=c.reconciliation_store, results=c.reconciliation_results, ledger=c.ledger)

    @cached_property
    def withdraw(self) -> Withdrawal:
        c = self.c
        return Withdrawal(store=c.reconciliation_store, results=c.reconciliation_results, ledger=c.ledger)
