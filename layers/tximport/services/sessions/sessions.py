"""Sessions: create (account or card context, with its invoice), read one with its balances, list,
update, delete."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tximport.errors import Conflict, ValidationFailed
from tximport.ids import new_id
from tximport.models import utcnow
from tximport.services.sessions.catalog import CatalogService
from tximport.services.sessions.deps import Deps
from tximport.sessions.balances import Balances, day_before, month_bounds, session_balances
from tximport.sessions.commands import SessionChanges, SessionInput
from tximport.sessions.models import (
    MONTH_PATTERN,
    ImportSession,
    RecurringBinding,
    Scope,
    SessionType,
    StagedTransaction,
    TypeSums,
)
from tximport.sessions.rules import allowed_types

MONTH = re.compile(MONTH_PATTERN)
#: an asynchronous enrichment older than this is taken as dead (its state machine times out sooner)
ENRICHMENT_STALE = timedelta(minutes=20)


@dataclass(slots=True)
class SessionDetail:
    session: ImportSession
    balances: Balances
    lines: list[StagedTransaction]
    next_cursor: int | None
    bindings: list[RecurringBinding]


def enrichment_running(session: ImportSession) -> bool:
    """True while an asynchronous enrichment runs (a run past ENRICHMENT_STALE is taken as dead)."""
    running = session.enrichment
    if not running:
        return False
    started = datetime.fromisoformat(str(running.get("started_at")))
    return datetime.now(UTC) - started < ENRICHMENT_STALE


class SessionService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps
        self.catalog = CatalogService(deps)

    def _context(self, scope: Scope, inp: SessionInput) -> tuple[str, Decimal]:
        """The name of the account or card (checked), and the default target_value."""
        if bool(inp.account_id) == bool(inp.card_id):
            raise ValidationFailed("give exactly one of account_id and card_id", code="ContextRequired",
                                   target="account_id" if not inp.account_id else "card_id")
        if not inp.billing_month or not MONTH.match(inp.billing_month):
            raise ValidationFailed("billing_month is required, as YYYY-MM", code="InvalidBillingMonth",
                                   target="billing_month")
        if inp.account_id:
            account = self.d.account(scope, inp.account_id, "account_id")
            return account.name or account.account_identifier, Decimal(0)
        card = self.catalog.get_ref(scope, "card", str(inp.card_id), "card_id")
        self.catalog.open_invoice(scope, card.id, inp.billing_month)
        # the card payments made to this invoice (user guide: the card context's default target)
        paid = self.d.ledger.invoice_sums(scope.tenant, card.id, inp.billing_month).card_payment
        return card.name, paid

    def create(self, scope: Scope, inp: SessionInput) -> ImportSession:
        name, default_target = self._context(scope, inp)
        number = self.d.repo.next_session_number(scope.tenant, scope.workspace_id)
        session = ImportSession(
            id=new_id(), workspace_id=scope.workspace_id, user_id=scope.user_id, number=number,
            description=inp.description or f"{name} | {inp.billing_month}", account_id=inp.account_id or None,
            card_id=inp.card_id or None, billing_month=str(inp.billing_month),
            target_value=default_target if inp.target_value is None else inp.target_value)
        self.d.repo.create_session(scope.tenant, session)
        return session

    def list_all(self, scope: Scope) -> list[ImportSession]:
        return self.d.repo.list_sessions(scope.tenant, scope.workspace_id)

    def balances(self, scope: Scope, session: ImportSession) -> Balances:
        first, last = month_bounds(session.billing_month)
        if session.type == SessionType.CARD:
            before = self.d.ledger.invoice_sums(scope.tenant, session.context_id, session.billing_month)
            month = TypeSums()
        else:
            before = self.d.ledger.sum_between(scope.tenant, session.context_id, None, day_before(first))
            until = min(last, self.d.today())
            month = self.d.ledger.sum_between(scope.tenant, session.context_id, first, until) \
                if until >= first else TypeSums()
        return session_balances(session, before=before, month=month)

    def get(self, scope: Scope, session_id: str, *, page_size: int = 100, cursor: int = 0) -> SessionDetail:
        """One session with its balances, stats, one page of lines and its bindings."""
        session = self.d.session(scope, session_id)
        if session.enrichment and not enrichment_running(session):
            session.enrichment = None  # a dead run: shown as not running (enrich again resets its lines)
        lines, nxt = self.d.repo.page(scope.tenant, session, limit=page_size, start=cursor)
        return SessionDetail(session, self.balances(scope, session), lines, nxt,
                             self.d.repo.bindings(scope.tenant, session))

    def update(self, scope: Scope, session_id: str, changes: SessionChanges) -> ImportSession:
        """Change description, billing_month, target_value, account_id or card_id. A session with lines
        keeps its kind of context (their types belong to it); giving one context drops the other."""
        session = self.d.session(scope, session_id)
        given = changes.model_fields_set
        account_id = changes.account_id if "account_id" in given else session.account_id
        card_id = changes.card_id if "card_id" in given else session.card_id
        if changes.account_id and "card_id" not in given:
            card_id = None
        if changes.card_id and "account_id" not in given:
            account_id = None
        month = changes.billing_month or session.billing_month
        context_changed = (account_id, card_id, month) != (session.account_id, session.card_id,
                                                           session.billing_month)
        if context_changed:
            self._context(scope, SessionInput(account_id, card_id, month))
            new_kind = SessionType.CARD if card_id else SessionType.ACCOUNT
            if new_kind != session.type and session.total:
                raise Conflict("the session has staged lines of its context: remove them before moving it "
                               f"to a {new_kind.value.lower()} context", code="SessionHasLines", target="card_id")
        session.account_id, session.card_id, session.billing_month = account_id or None, card_id or None, month
        if changes.description is not None:
            session.description = changes.description
        if changes.target_value is not None:
            session.target_value = changes.target_value
        session.updated_at = utcnow()
        return self.d.repo.save_session(scope.tenant, session)

    def delete(self, scope: Scope, session_id: str) -> None:
        session = self.d.session(scope, session_id)
        if enrichment_running(session):
            raise Conflict("an enrichment of this session is running", code="EnrichmentRunning", target="id")
        self.d.repo.lock(scope.tenant, session)
        self.d.repo.delete_session(scope.tenant, session)


def check_types(session: ImportSession, types: list[Any]) -> None:
    """Every given type must belong to the session's context."""
    allowed = allowed_types(session.type)
    for index, kind in enumerate(types):
        if kind is not None and kind not in allowed:
            raise ValidationFailed(f"{kind} is not a type of a {session.type.value.lower()} session "
                                   f"({', '.join(sorted(allowed))})", code="TypeNotAllowed", target=f"[{index}].type")
