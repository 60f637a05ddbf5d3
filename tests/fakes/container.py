"""The services wired to in-memory fakes, as `tximport.container.Container` wires them to AWS."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from tests.fakes.events import FakeEventBridge
from tests.fakes.objects import InMemoryObjects
from tests.fakes.repositories import InMemoryAccounts, InMemoryImports, InMemoryLedger, InMemoryLocks
from tests.fakes.workflow import FakeInvoker, FakeWorkflow
from tximport.services.accounts import AccountService
from tximport.services.commit import CommitService
from tximport.services.events import EventPublisher
from tximport.services.imports import ImportService
from tximport.services.ledger_queries import LedgerQueries
from tximport.services.lifecycle import Lifecycle
from tximport.services.processing import ProcessingService
from tximport.services.public import PublicTransactionsService
from tximport.services.revert import RevertService
from tximport.services.review import ReviewService
from tximport.services.uploads import UploadService
from tximport.services.workflow import WorkflowService
from tximport.storage.staging import Staging


@dataclass
class FakeContainer:
    """Everything in memory; the fakes are attributes, so a test can arrange and inspect them."""

    chunk_rows: int = 50_000
    upload_ttl: int = 900
    retention_days: int = 365
    revert_window: int = 30 * 24 * 3600
    confirmation_timeout: int = 7 * 24 * 3600
    objects: InMemoryObjects = field(default_factory=InMemoryObjects)
    accounts: InMemoryAccounts = field(default_factory=InMemoryAccounts)
    imports: InMemoryImports = field(default_factory=InMemoryImports)
    locks: InMemoryLocks = field(default_factory=InMemoryLocks)
    ledger: InMemoryLedger = field(default_factory=InMemoryLedger)
    events: FakeEventBridge = field(default_factory=FakeEventBridge)
    engine: FakeWorkflow = field(default_factory=FakeWorkflow)
    reverts: FakeInvoker = field(default_factory=FakeInvoker)

    @cached_property
    def staging(self) -> Staging:
        return Staging(self.objects, self.chunk_rows)

    @cached_property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(self.imports, self.locks, EventPublisher(self.events, "tximport"), self.engine)

    @cached_property
    def account_service(self) -> AccountService:
        return AccountService(self.accounts)

    @cached_property
    def import_service(self) -> ImportService:
        return ImportService(accounts=self.accounts, lifecycle=self.lifecycle, objects=self.objects,
                             staging=self.staging, upload_ttl=self.upload_ttl, retention_days=self.retention_days,
                             revert_window=self.revert_window, reverts=self.reverts)

    @cached_property
    def review_service(self) -> ReviewService:
        return ReviewService(imports=self.imports, staging=self.staging)

    @cached_property
    def ledger_queries(self) -> LedgerQueries:
        return LedgerQueries(accounts=self.accounts, ledger=self.ledger)

    @cached_property
    def public(self) -> PublicTransactionsService:
        return PublicTransactionsService(accounts=self.accounts, ledger=self.ledger)

    @cached_property
    def processing(self) -> ProcessingService:
        return ProcessingService(lifecycle=self.lifecycle, ledger=self.ledger, objects=self.objects,
                                 staging=self.staging)

    @cached_property
    def commit(self) -> CommitService:
        return CommitService(imports=self.imports, ledger=self.ledger, staging=self.staging)

    @cached_property
    def workflow(self) -> WorkflowService:
        return WorkflowService(self.lifecycle)

    @cached_property
    def revert(self) -> RevertService:
        return RevertService(lifecycle=self.lifecycle, ledger=self.ledger, staging=self.staging, workers=1,
                             margin_seconds=1)

    @cached_property
    def uploads(self) -> UploadService:
        return UploadService(lifecycle=self.lifecycle, workflow=self.engine,
                             confirmation_timeout=self.confirmation_timeout,
                             queue_timeout=self.confirmation_timeout * 2)
