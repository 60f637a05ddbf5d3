"""Bind staged lines to recurring items (the document's body, one object or an array), and confirm or
reject the bindings enrichment suggested."""

from __future__ import annotations

from tximport.errors import Conflict, NotFound, ValidationFailed
from tximport.ids import new_id
from tximport.models import utcnow
from tximport.services.sessions.catalog import CatalogService
from tximport.services.sessions.checks import check_recurring_fits
from tximport.services.sessions.deps import Deps
from tximport.sessions.binding import apply_binding, fits_context
from tximport.sessions.commands import BindRequest
from tximport.sessions.models import (
    BindingSource,
    BindingStatus,
    ImportSession,
    RecurringBinding,
    RecurringItem,
    Scope,
    StagedTransaction,
)
from tximport.sessions.rules import with_status
from tximport.storage.kv import ConditionFailed


class BindService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps
        self.catalog = CatalogService(deps)

    def _resolve(self, scope: Scope, session: ImportSession, request: BindRequest, index: int
                 ) -> tuple[StagedTransaction, RecurringItem]:
        where = f"[{index}]"
        try:
            owner, line = self.d.locate(scope, request.staged_transaction_id)
        except NotFound:
            raise NotFound(f"staged transaction {request.staged_transaction_id} not found",
                           code="StagedTransactionNotFound", target=f"{where}.staged_transaction_id") from None
        if owner.id != session.id:
            raise ValidationFailed("the staged transaction belongs to another session", code="WrongSession",
                                   target=f"{where}.staged_transaction_id")
        item = self.catalog.find_recurring(scope, request.recurring_transaction_id)
        if item is None:
            raise NotFound(f"recurring transaction {request.recurring_transaction_id} not found",
                           code="RecurringNotFound", target=f"{where}.recurring_transaction_id")
        if not fits_context(item, session.type):
            raise ValidationFailed(f"a recurring {item.type.value} does not bind in a "
                                   f"{session.type.value.lower()} session", code="RecurringContextMismatch",
                                   target=f"{where}.recurring_transaction_id")
        check_recurring_fits(self.d, scope, session, item, self.d.currency(scope, session),
                             f"{where}.recurring_transaction_id")
        if line.processing_enrichment:
            raise Conflict("the line is being enriched; retry when it is no longer PROCESSING",
                           code="LineProcessing", target=f"{where}.staged_transaction_id")
        return line, item

    def _apply(self, scope: Scope, session: ImportSession, line: StagedTransaction, item: RecurringItem
               ) -> StagedTransaction:
        new = line.model_copy(deep=True)
        apply_binding(new, item, session.account_id)
        new.updated_at = utcnow()
        return self.d.repo.replace_line(scope.tenant, session, line, with_status(new), session_version=session.version)

    def bind(self, scope: Scope, session_id: str, requests: list[BindRequest]) -> list[StagedTransaction]:
        """Every request is checked before any line changes; then each line takes its recurring item."""
        session = self.d.session(scope, session_id)
        resolved = [self._resolve(scope, session, r, i) for i, r in enumerate(requests)]
        out = []
        for line, item in resolved:
            bound = self._apply(scope, session, line, item)
            self._record(scope, session, bound, item, BindingSource.MANUAL)
            out.append(bound)
        return out

    def _record(self, scope: Scope, session: ImportSession, line: StagedTransaction, item: RecurringItem,
                source: BindingSource, binding: RecurringBinding | None = None) -> RecurringBinding:
        now = utcnow()
        binding = binding or RecurringBinding(
            id=new_id(), workspace_id=scope.workspace_id, session_id=session.id, staged_transaction_id=line.id,
            recurring_transaction_id=item.id, recurring_type=item.type, recurring_amount=item.amount,
            recurring_description=item.description, source=source, status=BindingStatus.CONFIRMED)
        binding.status, binding.confirmed_at, binding.updated_at = BindingStatus.CONFIRMED, now, now
        self.d.repo.put_binding(scope.tenant, binding)
        return binding

    def bindings(self, scope: Scope, session_id: str) -> list[RecurringBinding]:
        """The session's bindings: suggested (PENDING) and confirmed."""
        return self.d.repo.bindings(scope.tenant, self.d.session(scope, session_id))

    def confirm(self, scope: Scope, session_id: str, binding_id: str) -> tuple[RecurringBinding, StagedTransaction]:
        """The binding turns CONFIRMED in a write conditional on it being PENDING still (a reject or a confirm that
        wins first makes this a 409 that changed nothing), then its line takes the recurring item (should that
        fail, the binding is PENDING again)."""
        session = self.d.session(scope, session_id)
        pending = self.d.repo.get_binding(scope.tenant, session, binding_id)
        if pending.status != BindingStatus.PENDING:
            raise Conflict("the binding is already confirmed", code="BindingNotPending", target="binding_id")
        line, item = self._resolve(scope, session, BindRequest(pending.staged_transaction_id,
                                                               pending.recurring_transaction_id), 0)
        now = utcnow()
        confirmed = pending.model_copy(update={"status": BindingStatus.CONFIRMED, "confirmed_at": now,
                                               "updated_at": now})
        try:
            self.d.repo.put_binding(scope.tenant, confirmed, over_pending=True)
        except ConditionFailed:
            raise _taken(binding_id) from None
        try:
            bound = self._apply(scope, session, line, item)
        except Exception:
            self.d.repo.put_binding(scope.tenant, pending)
            raise
        return confirmed, bound

    def reject(self, scope: Scope, session_id: str, binding_id: str) -> RecurringBinding:
        """A suggestion goes, in a delete conditional on it being PENDING still (a confirm that wins first makes this
        a 409 that changed nothing)."""
        session = self.d.session(scope, session_id)
        binding = self.d.repo.get_binding(scope.tenant, session, binding_id)
        if binding.status != BindingStatus.PENDING:
            raise Conflict("a confirmed binding cannot be deleted", code="BindingNotPending", target="binding_id")
        try:
            self.d.repo.delete_pending_binding(scope.tenant, binding)
        except ConditionFailed:
            raise _taken(binding_id) from None
        return binding


def _taken(binding_id: str) -> Conflict:
    return Conflict(f"the binding {binding_id} was confirmed or rejected by another call meanwhile",
                    code="BindingNotPending", target="binding_id")
