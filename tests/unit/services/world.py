"""Arranging imports in a fake world the way the API and the state machine would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakes.container import FakeContainer
from tximport.commands import CreateBankAccount, CreateImport, ImportAccount
from tximport.models import Import, ImportStatus, Tenant

TENANT = Tenant(organisation_id="org-1", company_id="co-1")
OTHER = Tenant(organisation_id="org-2", company_id="co-2")

CSV = b"Date,Description,Amount\n2024-01-02,Coffee,-3.50\n2024-01-03,Salary,2500.00\n2024-01-04,Rent,-1200.00\n"


DEFAULT_IDENTIFIER = "GB33BUKB20201555555555"


@dataclass
class World:
    c: FakeContainer
    tenant: Tenant
    #: the number of the last numbered identifier given to an account made without one (an identifier names one
    #: account of a tenant)
    unnamed: int = 0

    def account(self, identifier: str | None = None, bank_id: str = "demo-bank", currency: str | None = None) -> str:
        """A new bank account: with `identifier`, else the default one while no account has it, then numbered ones."""
        if identifier is None:
            taken = {a.account_identifier for a in self.c.account_service.all(self.tenant)}
            identifier = DEFAULT_IDENTIFIER
            while identifier in taken:
                self.unnamed += 1
                identifier = f"{DEFAULT_IDENTIFIER}-{self.unnamed}"
        return self.c.account_service.create(self.tenant, CreateBankAccount(
            bank_id=bank_id, country_code="GBR", account_identifier=identifier, currency=currency)).id

    def create(self, *account_ids: str, file_format: str = "Tabular3column#v1", **extra: Any) -> Import:
        command = CreateImport(file_format=file_format, bank_accounts=[ImportAccount(id=a) for a in account_ids],
                               **extra)
        return self.c.import_service.create(self.tenant, command)

    def get(self, import_id: str) -> Import:
        return self.c.imports.get(self.tenant, import_id)

    def upload(self, imp: Import, content: bytes) -> None:
        self.c.objects.upload(imp.s3_key, content)

    def claim(self, import_id: str) -> str:
        return self.c.workflow.claim(self.get(import_id), "arn:execution")

    def processed(self, content: bytes = CSV, *account_ids: str, **extra: Any) -> tuple[Import, str]:
        """An import of `content` (a new account unless given) claimed and processed: the import and
        the outcome."""
        imp = self.create(*(account_ids or (self.account(),)), **extra)
        self.upload(imp, content)
        assert self.claim(imp.id) == "process"
        outcome = self.c.processing.process(self.get(imp.id))
        return self.get(imp.id), outcome

    def awaiting(self, content: bytes = CSV, *account_ids: str, **extra: Any) -> tuple[Import, str]:
        """An import waiting for confirmation, and its parked task token."""
        imp, outcome = self.processed(content, *account_ids, **extra)
        assert outcome == "review", imp.error_details
        token = self.c.workflow_engine.park()
        self.c.workflow.await_confirmation(imp, token)
        imp = self.get(imp.id)
        assert imp.status == ImportStatus.AWAITING_CONFIRMATION
        return imp, token

    def queued(self, account_id: str) -> tuple[Import, str]:
        """An import uploaded while another holds its account, queued with its parked task token."""
        imp = self.create(account_id)
        self.upload(imp, CSV)
        assert self.claim(imp.id) == "wait"
        token = self.c.workflow_engine.park()
        self.c.workflow.enqueue(self.get(imp.id), token)
        return self.get(imp.id), token

    def completed(self, content: bytes = CSV, *account_ids: str, **extra: Any) -> Import:
        """An import confirmed and committed, as the state machine runs it."""
        imp, _ = self.awaiting(content, *account_ids, **extra)
        self.c.import_service.confirm(self.tenant, imp.id)
        chunks = self.c.workflow.begin_commit(self.get(imp.id))
        for chunk in chunks:
            self.c.commit.commit_chunk(self.get(imp.id), chunk)
        self.c.commit.refresh_balances(self.get(imp.id))
        self.c.workflow.complete(self.get(imp.id))
        return self.get(imp.id)
