"""The container's own wiring, with every adapter and repository in memory."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from tests.fakes.events import FakeEventBridge
from tests.fakes.objects import InMemoryObjects
from tests.fakes.reconciliations import InMemoryReconciliations
from tests.fakes.repositories import (
    InMemoryAccounts,
    InMemoryImports,
    InMemoryLedger,
    InMemoryLocks,
    InMemorySettings,
)
from tests.fakes.store import MemoryStore
from tests.fakes.workflow import FakeWorkflow
from tximport.config import Settings
from tximport.container import Container
from tximport.storage.sessions import OutboxSink, outbox_event


class FakeContainer(Container):
    """Services exactly as `Container` wires them; the fakes are its adapters, so a test arranges and
    inspects them there (`c.objects`, `c.imports`, `c.ledger`, `c.workflow_engine`, `c.events_client`,
    `c.reconciliation_store`, `c.reconcile_engine`; for import sessions `c.sessions_store`, `c.outbox`,
    `c.enrichment_engine`).
    Settings may be changed (`c.settings.chunk_rows = 2`) until a service is first used."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(Settings(imports_table="imports", ledger_table="ledger", bucket="bucket",
                                  state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:import",
                                  reconcile_state_machine_arn="arn:aws:states:us-east-1:123456789012:"
                                                              "stateMachine:reconcile",
                                  event_bus_name="tximport", sessions_table="sessions",
                                  revert_state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:revert",
                                  enrichment_state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:"
                                                               "enrichment", **settings))

    def _client(self, name: str) -> Any:
        raise AssertionError(f"a unit test asked for a real {name} client")

    @cached_property
    def events_client(self) -> FakeEventBridge:
        return FakeEventBridge()

    @cached_property
    def objects(self) -> InMemoryObjects:
        return InMemoryObjects()

    @cached_property
    def accounts(self) -> InMemoryAccounts:
        return InMemoryAccounts()

    @cached_property
    def imports(self) -> InMemoryImports:
        return InMemoryImports()

    @cached_property
    def settings_store(self) -> InMemorySettings:
        return InMemorySettings()

    @cached_property
    def locks(self) -> InMemoryLocks:
        return InMemoryLocks()

    @cached_property
    def ledger(self) -> InMemoryLedger:
        return InMemoryLedger()

    @cached_property
    def workflow_engine(self) -> FakeWorkflow:
        return FakeWorkflow()

    @cached_property
    def reconcile_engine(self) -> FakeWorkflow:
        return FakeWorkflow("reconcile")

    @cached_property
    def reconciliation_store(self) -> InMemoryReconciliations:
        return InMemoryReconciliations(self.ledger)

    @cached_property
    def reverts(self) -> FakeWorkflow:
        return FakeWorkflow("revert")

    @cached_property
    def sessions_store(self) -> MemoryStore:
        return MemoryStore()

    @cached_property
    def statement_store(self) -> MemoryStore:
        """The imports table as far as statement histories go."""
        return MemoryStore()

    @cached_property
    def outbox(self) -> MemoryStore:
        """The imports table as far as session events go: their outbox items."""
        return MemoryStore()

    @cached_property
    def session_events(self) -> OutboxSink:
        return OutboxSink(self.outbox)

    @cached_property
    def enrichment_engine(self) -> FakeWorkflow:
        return FakeWorkflow()

    def session_events_published(self) -> list[tuple[str, dict[str, Any]]]:
        """(detail type, detail) of every session event in the outbox, in the order written."""
        items = sorted(self.outbox.items.values(), key=lambda item: str(item["sk"]))
        return [outbox_event(item) for item in items]
