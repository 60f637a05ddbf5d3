"""Wiring: AWS clients are created once per process and injected into repositories and services."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

from tximport.config import Settings
from tximport.services.commit import CommitService
from tximport.services.events import EventBusPublisher, StatusEventPublisher
from tximport.services.imports import ImportService
from tximport.services.lifecycle import Lifecycle
from tximport.services.processing import ProcessingService
from tximport.services.public import PublicTransactionsService
from tximport.services.revert import RevertService
from tximport.services.sessions.bundle import SessionsUseCases
from tximport.services.sessions.deps import Deps as SessionsDeps
from tximport.services.uploads import UploadService
from tximport.services.workflow import WorkflowService
from tximport.storage.idempotency import IdempotentCalls, TenantIdempotencyLayer
from tximport.storage.kv import DynamoStore
from tximport.storage.ledger import LedgerRepository, SessionLedger
from tximport.storage.repository import AccountsRepository, ImportsRepository, LocksRepository
from tximport.storage.sessions import CatalogRepository, OutboxSink, SessionsRepository
from tximport.storage.sessions_adapters import StepFunctionsStarter

_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=32)


@dataclass
class Container:
    """Everything a handler needs, built lazily from settings and one boto3 session."""

    settings: Settings
    session: Any = None

    def _client(self, name: str) -> Any:
        session = self.session or boto3.session.Session()
        if name == "s3":
            # botocore picks virtual-hosted URLs on AWS and path-style for an IP endpoint (the local stack)
            return session.client("s3", config=Config(signature_version="s3v4",
                                                      retries={"max_attempts": 5, "mode": "standard"}))
        return session.client(name, config=_CONFIG)

    @cached_property
    def s3(self) -> Any:
        return self._client("s3")

    @cached_property
    def sfn(self) -> Any:
        return self._client("stepfunctions")

    @cached_property
    def dynamodb(self) -> Any:
        return self._client("dynamodb")

    @cached_property
    def lambda_client(self) -> Any:
        return self._client("lambda")

    @cached_property
    def events_client(self) -> Any:
        return self._client("events")

    @cached_property
    def _resource(self) -> Any:
        session = self.session or boto3.session.Session()
        return session.resource("dynamodb", config=_CONFIG)

    @cached_property
    def imports_table(self) -> Any:
        return self._resource.Table(self.settings.imports_table)

    @cached_property
    def ledger_table(self) -> Any:
        return self._resource.Table(self.settings.ledger_table)

    @cached_property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(ImportsRepository(self.imports_table), LocksRepository(self.imports_table), self.sfn)

    @cached_property
    def ledger(self) -> LedgerRepository:
        return LedgerRepository(self.ledger_table, self.dynamodb)

    @cached_property
    def import_service(self) -> ImportService:
        s = self.settings
        return ImportService(accounts=AccountsRepository(self.imports_table), lifecycle=self.lifecycle,
                             ledger=self.ledger, s3=self.s3, bucket=s.bucket, upload_ttl=s.upload_url_ttl_seconds,
                             retention_days=s.retention_days, revert_window=s.revert_window_seconds,
                             chunk_rows=s.chunk_rows, lambda_client=self.lambda_client,
                             revert_function=s.revert_function_name)

    @cached_property
    def idempotency_store(self) -> TenantIdempotencyLayer:
        """Idempotency records live in the imports table, in the caller's partition (built once)."""
        return TenantIdempotencyLayer(self.settings.imports_table, boto3_client=self.dynamodb)

    @cached_property
    def idempotency(self) -> IdempotentCalls:
        return IdempotentCalls(self.idempotency_store,
                               expires_after_seconds=self.settings.idempotency_ttl_seconds)

    @cached_property
    def public(self) -> PublicTransactionsService:
        return PublicTransactionsService(accounts=AccountsRepository(self.imports_table), ledger=self.ledger)

    @cached_property
    def processing(self) -> ProcessingService:
        return ProcessingService(lifecycle=self.lifecycle, ledger=self.ledger, s3=self.s3,
                                 bucket=self.settings.bucket, chunk_rows=self.settings.chunk_rows)

    @cached_property
    def commit(self) -> CommitService:
        return CommitService(imports=self.lifecycle.imports, ledger=self.ledger, s3=self.s3,
                             bucket=self.settings.bucket)

    @cached_property
    def workflow(self) -> WorkflowService:
        return WorkflowService(self.lifecycle)

    @cached_property
    def revert(self) -> RevertService:
        return RevertService(lifecycle=self.lifecycle, ledger=self.ledger, s3=self.s3, bucket=self.settings.bucket)

    @cached_property
    def status_events(self) -> StatusEventPublisher:
        """Publishes the status events read from the tables' streams (the events function)."""
        return StatusEventPublisher(EventBusPublisher(self.events_client, self.settings.event_bus_name))

    @cached_property
    def table_keys(self) -> dict[str, str]:
        """Logical table keys by table name, to tell which table a stream record comes from."""
        return {self.settings.imports_table: "imports", self.settings.ledger_table: "ledger"}

    @cached_property
    def uploads(self) -> UploadService:
        s = self.settings
        if not s.state_machine_arn:
            raise RuntimeError("STATE_MACHINE_ARN is not configured")
        return UploadService(lifecycle=self.lifecycle, sfn=self.sfn, state_machine_arn=s.state_machine_arn,
                             confirmation_timeout=s.confirmation_timeout_seconds,
                             queue_timeout=s.confirmation_timeout_seconds * 2)

    @cached_property
    def sessions(self) -> SessionsUseCases:
        """The import-session use cases, on the sessions table, the ledger and their adapters."""
        s = self.settings
        if not s.sessions_table:
            raise RuntimeError("SESSIONS_TABLE_NAME is not configured")
        store = DynamoStore(self.dynamodb, s.sessions_table)
        return SessionsUseCases(SessionsDeps(
            repo=SessionsRepository(store), catalog=CatalogRepository(store), ledger=SessionLedger(self.ledger),
            accounts=AccountsRepository(self.imports_table),
            events=OutboxSink(DynamoStore(self.dynamodb, s.imports_table)),
            starter=StepFunctionsStarter(self.sfn, s.enrichment_state_machine_arn)))
