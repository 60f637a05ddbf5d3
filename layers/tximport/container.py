"""Wiring: AWS clients are created once per process and injected into the adapters and repositories, and
those into the services. Unit tests use the same wiring with in-memory adapters (tests/fakes/container.py)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

from tximport.adapters.secrets import Secrets, SecretsManagerSecrets
from tximport.adapters.workflow import StepFunctionsEngine, WorkflowEngine
from tximport.auth import JwksVerifier, TokenVerifier
from tximport.config import ConfigError, Settings
from tximport.reconciliation_parts import ReconciliationParts
from tximport.services.accounts import AccountService
from tximport.services.commit import CommitService
from tximport.services.events import EventBusPublisher, StatusEventPublisher
from tximport.services.imports import ImportService
from tximport.services.ledger_queries import LedgerQueries
from tximport.services.lifecycle import Lifecycle
from tximport.services.pinning import UploadedFiles
from tximport.services.processing import ProcessingService
from tximport.services.public import PublicTransactionsService
from tximport.services.reaper import ReaperService
from tximport.services.revert import RevertService
from tximport.services.review import ReviewService
from tximport.services.sessions.bundle import SessionsUseCases
from tximport.services.sessions.deps import Deps as SessionsDeps
from tximport.services.settings import SettingsService
from tximport.services.split import SplitProcessing
from tximport.services.statements import StatementService
from tximport.services.uploads import UploadService
from tximport.services.workflow import WorkflowService
from tximport.storage.idempotency import IdempotentCalls, TenantIdempotencyLayer
from tximport.storage.kv import DynamoStore, Store
from tximport.storage.ledger import LedgerRepository, LedgerStore
from tximport.storage.objects import ObjectStore, S3Objects
from tximport.storage.pagination import CursorSigner
from tximport.storage.reconciliation_results import ResultChunkStore
from tximport.storage.reconciliations import DynamoReconciliations, ReconciliationsStore
from tximport.storage.repository import (
    AccountsRepository,
    AccountsStore,
    ImportsRepository,
    ImportsStore,
    LocksRepository,
    LocksStore,
    SettingsRepository,
    SettingsStore,
)
from tximport.storage.sessions import CatalogRepository, EventSink, OutboxSink, SessionsRepository
from tximport.storage.staging import Staging
from tximport.storage.statements import StatementHistory

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

    # adapters and repositories: what the services are wired to (tests put in-memory fakes here) ------
    @cached_property
    def objects(self) -> ObjectStore:
        """The bucket: uploaded files and staged chunks."""
        return S3Objects(self.s3, self.settings.bucket)

    @cached_property
    def accounts(self) -> AccountsStore:
        return AccountsRepository(self.imports_table)

    @cached_property
    def imports(self) -> ImportsStore:
        return ImportsRepository(self.imports_table)

    @cached_property
    def settings_store(self) -> SettingsStore:
        """The tenants' settings."""
        return SettingsRepository(self.imports_table)

    @cached_property
    def locks(self) -> LocksStore:
        return LocksRepository(self.imports_table)

    @cached_property
    def ledger(self) -> LedgerStore:
        return LedgerRepository(self.ledger_table, self.dynamodb, self.dynamodb_bulk)

    @cached_property
    def dynamodb_bulk(self) -> Any:
        """A DynamoDB client without botocore's parameter validation, for the ledger's bulk writes of
        items the repository builds itself (storage.ledger.encode_staged)."""
        session = self.session or boto3.session.Session()
        return session.client("dynamodb", config=_CONFIG.merge(Config(parameter_validation=False)))

    @cached_property
    def workflow_engine(self) -> WorkflowEngine:
        return StepFunctionsEngine(self.sfn, self.settings.state_machine_arn)

    @cached_property
    def token_verifier(self) -> TokenVerifier | None:
        """Verifies bearer tokens against the issuer's keys (None when no issuer is configured)."""
        s = self.settings
        if not s.jwt_issuer:
            return None
        return JwksVerifier(issuer=s.jwt_issuer, audiences=[a.strip() for a in (s.jwt_audience or "").split(",")
                                                            if a.strip()], jwks_url=s.jwks_url)

    @cached_property
    def reconcile_engine(self) -> WorkflowEngine:
        """The reconciliation matching workflow (statemachines/reconcile.asl.json)."""
        return StepFunctionsEngine(self.sfn, self.settings.reconcile_state_machine_arn,
                                   setting="RECONCILE_STATE_MACHINE_ARN")

    @cached_property
    def reconciliation_store(self) -> ReconciliationsStore:
        # a manual match is one DynamoDB transaction over both tables: the repository builds the ledger's
        # conditional mark updates with the ledger repository itself
        return DynamoReconciliations(self.imports_table, self.dynamodb,
                                     LedgerRepository(self.ledger_table, self.dynamodb))

    @cached_property
    def reverts(self) -> WorkflowEngine | None:
        """The revert workflow (statemachines/revert.asl.json), started by the API."""
        arn = self.settings.revert_state_machine_arn
        return StepFunctionsEngine(self.sfn, arn, setting="REVERT_STATE_MACHINE_ARN") if arn else None

    @cached_property
    def secrets(self) -> Secrets:
        return SecretsManagerSecrets(self._client("secretsmanager"))

    @cached_property
    def cursors(self) -> CursorSigner:
        """Seals the API's pagination cursors with the deployment's key (read once per process)."""
        secret = self.settings.cursor_key_secret
        if not secret:
            raise ConfigError("tximport configuration is invalid: CURSOR_KEY_SECRET: Field required")
        return CursorSigner(self.secrets.secret_string(secret).encode())

    # services -------------------------------------------------------------------------------------------
    @cached_property
    def staging(self) -> Staging:
        return Staging(self.objects, self.settings.chunk_rows)

    @cached_property
    def reconciliation_results(self) -> ResultChunkStore:
        return ResultChunkStore(self.objects)

    @cached_property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(self.imports, self.locks, self.workflow_engine)

    @cached_property
    def account_service(self) -> AccountService:
        return AccountService(self.accounts)

    @cached_property
    def import_service(self) -> ImportService:
        s = self.settings
        return ImportService(accounts=self.accounts, lifecycle=self.lifecycle, objects=self.objects,
                             staging=self.staging, upload_ttl=s.upload_url_ttl_seconds, retention_days=s.retention_days,
                             revert_window=s.revert_window_seconds, reverts=self.reverts)

    @cached_property
    def review_service(self) -> ReviewService:
        return ReviewService(imports=self.imports, staging=self.staging)

    @cached_property
    def ledger_queries(self) -> LedgerQueries:
        return LedgerQueries(accounts=self.accounts, ledger=self.ledger, imports=self.imports,
                             statements=StatementHistory(self.statement_store), locks=self.locks)

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
        return PublicTransactionsService(accounts=self.accounts, ledger=self.ledger, settings=self.settings_store,
                                         reviews=self.import_service)

    @cached_property
    def settings_service(self) -> SettingsService:
        return SettingsService(self.settings_store)

    @cached_property
    def processing(self) -> ProcessingService:
        return ProcessingService(lifecycle=self.lifecycle, ledger=self.ledger, objects=self.objects,
                                 staging=self.staging, files=self.uploaded_files, statements=self.statements,
                                 pending_window_days=self.settings.pending_window_days,
                                 budget_seconds=self.settings.process_budget_seconds,
                                 split_bytes=self.settings.split_bytes)

    @cached_property
    def split(self) -> SplitProcessing:
        """The ranges and the reduce of a file processed in ranges."""
        return SplitProcessing(self.processing)

    @cached_property
    def statement_store(self) -> Store:
        """The accounts' statement histories live in the imports table (storage/statements.py)."""
        return DynamoStore(self.dynamodb, self.settings.imports_table)

    @cached_property
    def statements(self) -> StatementService:
        return StatementService(StatementHistory(self.statement_store))

    @cached_property
    def uploaded_files(self) -> UploadedFiles:
        return UploadedFiles(self.objects, self.lifecycle)

    @cached_property
    def commit(self) -> CommitService:
        return CommitService(imports=self.imports, ledger=self.ledger, staging=self.staging)

    @cached_property
    def workflow(self) -> WorkflowService:
        return WorkflowService(self.lifecycle, self.statements, files=self.uploaded_files)

    @cached_property
    def revert(self) -> RevertService:
        return RevertService(lifecycle=self.lifecycle, ledger=self.ledger, staging=self.staging,
                             statements=self.statements, reconciliations=self.reconciliation_store,
                             chunks_per_run=self.settings.revert_chunks_per_run or None)

    @cached_property
    def reaper(self) -> ReaperService:
        return ReaperService(lifecycle=self.lifecycle, workflow=self.workflow_engine,
                             quiet_seconds=self.settings.reaper_quiet_seconds)

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
        return UploadService(lifecycle=self.lifecycle, workflow=self.workflow_engine, files=self.uploaded_files,
                             confirmation_timeout=s.confirmation_timeout_seconds,
                             queue_timeout=s.confirmation_timeout_seconds * 2)

    @cached_property
    def reconciliations(self) -> ReconciliationParts:
        """The reconciliation use cases (tximport/reconciliation_parts.py)."""
        return ReconciliationParts(self)

    # import sessions ------------------------------------------------------------------------------------
    @cached_property
    def sessions_store(self) -> Store:
        """The import-sessions table: workspaces, sessions, staged lines and their catalog."""
        if not self.settings.sessions_table:
            raise RuntimeError("SESSIONS_TABLE_NAME is not configured")
        return DynamoStore(self.dynamodb, self.settings.sessions_table)

    @cached_property
    def session_events(self) -> EventSink:
        """Session events leave as outbox items of the imports table, published from its stream."""
        return OutboxSink(DynamoStore(self.dynamodb, self.settings.imports_table))

    @cached_property
    def enrichment_engine(self) -> WorkflowEngine:
        """The import sessions' enrichment state machine."""
        return StepFunctionsEngine(self.sfn, self.settings.enrichment_state_machine_arn,
                                   setting="ENRICHMENT_STATE_MACHINE_ARN")

    @cached_property
    def sessions_deps(self) -> SessionsDeps:
        store = self.sessions_store
        return SessionsDeps(repo=SessionsRepository(store), catalog=CatalogRepository(store), ledger=self.ledger,
                            accounts=self.accounts, events=self.session_events, enrichment=self.enrichment_engine,
                            writers=self.lifecycle)

    @cached_property
    def sessions(self) -> SessionsUseCases:
        """The import-session use cases."""
        return SessionsUseCases(self.sessions_deps)
