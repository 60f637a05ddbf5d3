"""Read a reconciliation, list them with filters, page their entries."""

from __future__ import annotations

from datetime import date

from tximport.models import Tenant
from tximport.reconciliation.commands import ListFilter
from tximport.reconciliation.errors import Missing
from tximport.reconciliation.ids import is_uuid
from tximport.reconciliation.models import MatchStatus, Reconciliation
from tximport.reconciliation.records import EntryRecord
from tximport.services.reconciliations.pages import page
from tximport.storage.ledger import LedgerStore
from tximport.storage.reconciliation_results import ALL, ResultChunkStore
from tximport.storage.reconciliations import ReconciliationsStore


class ReconciliationQueries:
    def __init__(self, *, store: ReconciliationsStore, results: ResultChunkStore, ledger: LedgerStore) -> None:
        self.store, self.results, self.ledger = store, results, ledger

    def get(self, tenant: Tenant, reconciliation_id: str) -> Reconciliation:
        rec = self.store.get(tenant, reconciliation_id) if is_uuid(reconciliation_id) else None
        if rec is None:
            raise Missing(f"reconciliation {reconciliation_id} not found", details={"field": "id"})
        return rec

    def list_page(self, tenant: Tenant, where: ListFilter, number: int, size: int
                  ) -> tuple[list[Reconciliation], int]:
        """Page `number` (from 1) of the tenant's reconciliations, newest first, and how many match."""
        found = [r for r in self.store.list_all(tenant) if where.admits(r)]
        start = (number - 1) * size
        return found[start:start + size], len(found)

    def entries_page(self, tenant: Tenant, reconciliation_id: str, status: MatchStatus | None, number: int,
                     size: int) -> tuple[Reconciliation, list[EntryRecord], int]:
        """Page `number` of the entries (all, or those in `status`), reading only the chunks it touches."""
        rec = self.get(tenant, reconciliation_id)
        if rec.results is None:
            return rec, [], 0
        overrides = self.store.overrides(rec) if rec.overrides else {}
        records, total = page(rec.results, status.value if status else ALL, overrides, (number - 1) * size, size,
                              self.results.chunk)
        return rec, self._live_suggestions(rec, records), total

    def _live_suggestions(self, rec: Reconciliation, records: list[EntryRecord]) -> list[EntryRecord]:
        """The records with the suggestions whose ledger lines are gone left out (a revert removed them after
        the run: a manual match to one would be a 404); one batch read for the page."""
        refs = {(rec.account_id, date.fromisoformat(s.day), s.line) for r in records for s in r.suggestions}
        if not refs:
            return records
        there = {line for _, line in self.ledger.existing(rec.tenant, refs)}
        return [r if all(s.line in there for s in r.suggestions) else
                r.model_copy(update={"suggestions": [s for s in r.suggestions if s.line in there]})
                for r in records]
