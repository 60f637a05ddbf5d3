"""Wiring of the reconciliation services (composition root, beside `container.py`): the DynamoDB
repository, the ledger statement, S3 result objects and the Step Functions starter. (Status events come from
the imports table's stream: services/reconciliations/status_events.py.)"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from tximport.adapters.reconciliation import S3ResultObjects, StepFunctionsExecutions
from tximport.errors import NotFound
from tximport.models import BankAccount, Tenant
from tximport.services.reconciliations.create import CreateReconciliation
from tximport.services.reconciliations.manual import ManualDecisions
from tximport.services.reconciliations.matching import MatchingRun
from tximport.services.reconciliations.queries import ReconciliationQueries
from tximport.storage.reconciliation_ledger import LedgerStatement
from tximport.storage.reconciliations import DynamoReconciliations
from tximport.storage.repository import AccountsRepository

if TYPE_CHECKING:
    from tximport.container import Container


class AccountLookup:
    """The tenant's bank accounts, answering None for an unknown one."""

    def __init__(self, accounts: AccountsRepository) -> None:
        self.accounts = accounts

    def find(self, tenant: Tenant, account_id: str) -> BankAccount | None:
        try:
            return self.accounts.get(tenant, account_id)
        except NotFound:
            return None


class ReconciliationParts:
    """The reconciliation use cases, built once per process from the container's clients."""

    def __init__(self, container: Container) -> None:
        self.c = container

    @cached_property
    def store(self) -> DynamoReconciliations:
        return DynamoReconciliations(self.c.imports_table, self.c.dynamodb, self.c.ledger)

    @cached_property
    def objects(self) -> S3ResultObjects:
        return S3ResultObjects(self.c.s3, self.c.settings.bucket)

    @cached_property
    def statement(self) -> LedgerStatement:
        return LedgerStatement(self.c.ledger)

    @cached_property
    def executions(self) -> StepFunctionsExecutions:
        return StepFunctionsExecutions(self.c.sfn, self.c.settings.reconcile_state_machine_arn)

    @cached_property
    def create(self) -> CreateReconciliation:
        return CreateReconciliation(accounts=AccountLookup(AccountsRepository(self.c.imports_table)),
                                    store=self.store, objects=self.objects, executions=self.executions)

    @cached_property
    def queries(self) -> ReconciliationQueries:
        return ReconciliationQueries(store=self.store, objects=self.objects)

    @cached_property
    def manual(self) -> ManualDecisions:
        return ManualDecisions(store=self.store, objects=self.objects, ledger=self.statement,
                               executions=self.executions)

    @cached_property
    def matching(self) -> MatchingRun:
        return MatchingRun(store=self.store, objects=self.objects, ledger=self.statement)
