"""Enrichment of a session's PENDING lines: within the call for small sessions, through the enrichment
state machine for large ones (lines PROCESSING meanwhile, then READY or PENDING); binding suggestions;
and `POST /enrichment/transactions`, which answers a suggestion per description."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Literal

from tximport.errors import Conflict
from tximport.ids import new_id
from tximport.models import iso, utcnow
from tximport.services.sessions.catalog import CatalogService
from tximport.services.sessions.deps import Deps
from tximport.services.sessions.sessions import enrichment_running
from tximport.sessions.binding import suggest
from tximport.sessions.enrichment import Enricher, Suggestion
from tximport.sessions.models import (
    BindingSource,
    BindingStatus,
    Category,
    CategoryType,
    EnrichmentRule,
    ImportSession,
    LearningExample,
    RecurringBinding,
    RecurringItem,
    Scope,
    StagedTransactionStatus,
    Subcategory,
)
from tximport.sessions.rules import with_status
from tximport.storage.kv import ConditionFailed
from tximport.storage.sessions import CatalogRepository
from tximport.tasks import EnrichmentInput, TenantRef

#: at most this many PENDING lines are enriched within the call; more go to the state machine
SYNC_LIMIT = 200
#: lines per Map item of the state machine (a segment of sequence numbers)
SEGMENT = 1000


@dataclass(frozen=True, slots=True)
class EnrichedItem:
    description: str | None
    type: CategoryType | None
    suggestion: Suggestion | None
    category_name: str | None = None
    subcategory_name: str | None = None


@dataclass(frozen=True, slots=True)
class EnrichResult:
    """What `POST .../enrich` did: enriched within the call (`sync`, with its counts) or started the
    enrichment workflow (`async`, with its run)."""

    mode: Literal["sync", "async"]
    enriched: int = 0
    ready: int = 0
    pending: int = 0
    needs_review: int = 0
    suggested_bindings: int = 0
    run_id: str | None = None
    execution_arn: str | None = None


def load_enricher(catalog: CatalogRepository, scope: Scope) -> Enricher:
    rules = catalog.list_of(scope.tenant, scope.workspace_id, EnrichmentRule)
    examples = catalog.list_of(scope.tenant, scope.workspace_id, LearningExample)
    return Enricher(rules, examples)


class EnrichService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps
        self.catalog = CatalogService(deps)

    # the route ----------------------------------------------------------------------------------
    def enrich(self, scope: Scope, session_id: str) -> EnrichResult:
        """Enrich every PENDING line: in the call when few, else start the state machine and answer at
        once (the lines turn PROCESSING, then READY or PENDING)."""
        session = self.d.session(scope, session_id)
        if enrichment_running(session):
            raise _already_running()
        if session.pending + session.processing <= SYNC_LIMIT:
            self.reset_processing(scope, session)
            counts = self.enrich_lines(scope, session, 0, None, only_processing=False)
            return EnrichResult("sync", enriched=counts["enriched"], ready=counts["ready"], pending=counts["pending"],
                                needs_review=counts["needs_review"],
                                suggested_bindings=self.suggest_bindings(scope, session))
        run_id = new_id()
        session.enrichment = {"run_id": run_id, "started_at": iso(utcnow())}
        try:
            self.d.repo.save_session(scope.tenant, session)  # 409 when another call changed it meanwhile
        except Conflict:
            if enrichment_running(self.d.session(scope, session_id)):  # another call started the run first
                raise _already_running() from None
            raise
        payload = EnrichmentInput(tenant_ref=TenantRef.of(scope.tenant), workspace_id=scope.workspace_id,
                                  session_id=session.id, run_id=run_id).payload()
        try:
            arn = self.d.enrichment.start(f"enrich-{run_id}", payload)
        except Exception:
            self.d.repo.set_enrichment(scope.tenant, session, None, {"status": "FAILED", "run_id": run_id,
                                                                     "error": "the workflow could not start"})
            raise
        return EnrichResult("async", pending=session.pending, run_id=run_id, execution_arn=arn)

    # the lines ----------------------------------------------------------------------------------
    def enrich_lines(self, scope: Scope, session: ImportSession, start: int, end: int | None, *,
                     only_processing: bool) -> dict[str, int]:
        """Enrich the PENDING (or, in a run, PROCESSING) lines with sequence in [start, end)."""
        enricher = load_enricher(self.d.catalog, scope)
        counts = {"enriched": 0, "ready": 0, "pending": 0, "needs_review": 0}
        wanted = StagedTransactionStatus.PROCESSING if only_processing else StagedTransactionStatus.PENDING
        pairs = []
        for line in self.d.repo.lines(scope.tenant, session, start):
            if end is not None and line.seq >= end:
                break
            if line.status != wanted:
                continue
            new = line.model_copy(deep=True)
            new.processing_enrichment = False
            found = enricher.enrich_line(new, session.type)
            pairs.append((line, with_status(new)))
            counts["enriched"] += found is not None and found.band != "low"
            counts["needs_review"] += bool(found and found.to_data()["needs_review"])
            counts["ready" if new.status == StagedTransactionStatus.READY else "pending"] += 1
        self.d.repo.replace_lines(scope.tenant, session, pairs)
        return counts

    def _set_processing(self, scope: Scope, session: ImportSession, *, processing: bool) -> int:
        """Lines PENDING -> PROCESSING (a run begins), or any line still PROCESSING -> recomputed (it ends)."""
        pairs = []
        for line in self.d.repo.lines(scope.tenant, session):
            if processing and line.status == StagedTransactionStatus.PENDING or \
                    not processing and line.processing_enrichment:
                new = line.model_copy(deep=True)
                new.processing_enrichment = processing
                pairs.append((line, with_status(new)))
        return self.d.repo.replace_lines(scope.tenant, session, pairs)

    def reset_processing(self, scope: Scope, session: ImportSession) -> int:
        """Lines a dead or failed run left PROCESSING go back to PENDING (recomputed)."""
        return self._set_processing(scope, session, processing=False) if session.processing else 0

    def suggest_bindings(self, scope: Scope, session: ImportSession) -> int:
        """Replace the session's pending suggestions with fresh ones (confirmed bindings stay)."""
        items = self.d.catalog.list_of(scope.tenant, scope.workspace_id, RecurringItem)
        old = [b for b in self.d.repo.bindings(scope.tenant, session)
               if b.status == BindingStatus.PENDING and b.source == BindingSource.SUGGESTED]
        for binding in old:  # (one a confirm took meanwhile stays: it is CONFIRMED now)
            with suppress(ConditionFailed):
                self.d.repo.delete_pending_binding(scope.tenant, binding)
        if not items:
            return 0
        lines = list(self.d.repo.lines(scope.tenant, session))
        found = suggest(items, lines, session.type, session.billing_month, session.context_id)
        for candidate in found:
            self.d.repo.put_binding(scope.tenant, RecurringBinding(
                id=new_id(), workspace_id=scope.workspace_id, session_id=session.id,
                staged_transaction_id=candidate.line.id, recurring_transaction_id=candidate.item.id,
                recurring_type=candidate.item.type, recurring_amount=candidate.item.amount,
                recurring_description=candidate.item.description, source=BindingSource.SUGGESTED,
                status=BindingStatus.PENDING, score=candidate.score, reasons=candidate.reasons))
        return len(found)

    # the state machine's steps ------------------------------------------------------------------
    def _run_session(self, scope: Scope, session_id: str, run_id: str) -> ImportSession | None:
        session = self.d.session(scope, session_id)
        return session if (session.enrichment or {}).get("run_id") == run_id else None

    def prepare(self, scope: Scope, session_id: str, run_id: str) -> list[dict[str, int]]:
        """Mark the PENDING lines PROCESSING; answers the segments (sequence ranges) to enrich."""
        session = self._run_session(scope, session_id, run_id)
        if session is None:
            return []
        self._set_processing(scope, session, processing=True)
        return [{"start": s, "end": min(s + SEGMENT, session.next_seq)} for s in range(0, session.next_seq, SEGMENT)]

    def enrich_segment(self, scope: Scope, session_id: str, run_id: str, start: int, end: int) -> dict[str, int]:
        session = self._run_session(scope, session_id, run_id)
        if session is None:
            return {}
        return self.enrich_lines(scope, session, start, end, only_processing=True)

    def finish(self, scope: Scope, session_id: str, run_id: str, error: dict[str, Any] | None = None
               ) -> dict[str, Any]:
        """End a run (succeeded or failed): no line stays PROCESSING, suggestions are refreshed after a
        success, and the session records the outcome."""
        session = self._run_session(scope, session_id, run_id)
        if session is None:
            return {"status": "STALE"}
        reset = self.reset_processing(scope, session)
        outcome: dict[str, Any] = {"run_id": run_id, "finished_at": iso(utcnow()), "reset": reset}
        if error is None:
            outcome |= {"status": "SUCCEEDED", "suggested_bindings": self.suggest_bindings(scope, session)}
        else:
            outcome |= {"status": "FAILED", "error": str(error.get("Cause") or error.get("Error") or error)[:500]}
        self.d.repo.set_enrichment(scope.tenant, session, None, outcome)
        return outcome

    # POST /enrichment/transactions --------------------------------------------------------------
    def enrich_descriptions(self, scope: Scope, items: list[tuple[str | None, CategoryType | None]]
                            ) -> list[EnrichedItem]:
        enricher = load_enricher(self.d.catalog, scope)
        found = [(d, t, enricher.suggest(d or "", t) if d else None) for d, t in items]
        names = self._names(scope, [s for _, _, s in found if s is not None])
        out = []
        for description, kind, suggestion in found:
            if suggestion is not None and suggestion.band == "low":
                out.append(EnrichedItem(description, kind, suggestion))
                continue
            out.append(EnrichedItem(description, kind, suggestion,
                                    names.get(("category", suggestion.category_id or "")) if suggestion else None,
                                    names.get(("subcategory", suggestion.subcategory_id or "")) if suggestion
                                    else None))
        return out

    def _names(self, scope: Scope, suggestions: list[Suggestion]) -> dict[tuple[str, str], str]:
        """The names of the categories and subcategories the suggestions name, by (kind, id)."""
        categories = sorted({(s.category_id,) for s in suggestions if s.category_id})
        subcategories = sorted({(s.subcategory_id,) for s in suggestions if s.subcategory_id})
        names = {("category", key[0]): c.name for key, c in self.d.catalog.get_many(
            scope.tenant, scope.workspace_id, Category, categories).items()}
        names |= {("subcategory", key[0]): c.name for key, c in self.d.catalog.get_many(
            scope.tenant, scope.workspace_id, Subcategory, subcategories).items()}
        return names


def _already_running() -> Conflict:
    return Conflict("an enrichment of this session is already running", code="EnrichmentRunning", target="id")
