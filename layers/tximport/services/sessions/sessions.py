"""Sessions: create (account or card context, with its invoice), read one with its balances, list,
update, delete."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tximport.errors import Conflict, NotFound, ValidationFailed
from tximport.ids import new_id
from tximport.models import utcnow
from tximport.services.sessions.catalog import CatalogService
from tximport.services.sessions.deps import Deps, amount_problem
from tximport.sessions.balances import (
    Balances,
    day_before,
    invoice_paid,
    invoice_value,
    month_bounds,
    session_balances,
)
from tximport.sessions.commands import SessionChanges, SessionInput
from tximport.sessions.models import (
    MONTH_PATTERN,
    ImportSession,
    RecurringBinding,
    Scope,
    SessionType,
    StagedTransaction,
)

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


def generated_description(name: str, billing_month: str) -> str:
    """The description a session is given when the client sends none (`name` repeats it)."""
    return f"{name} | {billing_month}"


def enrichment_running(session: ImportSession) -> bool:
    """True while an asynchronous enrichment runs (a run past ENRICHMENT_STALE is taken as dead)."""
    running = session.enrichment
    if not running:
        return False
    started = datetime.fromisoformat(str(running.get("started_at")))
    return datetime.now(UTC) - started < ENRICHMENT_STALE


def where_of(session: ImportSession) -> str:
    """The field that names the session's context."""
    return "account_id" if session.account_id else "card_id"


class SessionService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps
        self.catalog = CatalogService(deps)

    def _name(self, scope: Scope, account_id: str | None, card_id: str | None) -> str:
        """The name of the account or card (checked: 400 naming account_id or card_id when unknown)."""
        if account_id:
            account = self.d.account(scope, account_id, "account_id")
            return account.name or account.account_identifier
        return str(self.catalog.get_ref(scope, "card", str(card_id), "card_id").name)

    def _context(self, scope: Scope, inp: SessionInput) -> tuple[str, Decimal]:
        """The name of the account or card (checked), and the default target_value."""
        if bool(inp.account_id) == bool(inp.card_id):
            raise ValidationFailed("give exactly one of account_id and card_id", code="ContextRequired",
                                   target="account_id" if not inp.account_id else "card_id")
        if not inp.billing_month or not MONTH.match(inp.billing_month):
            raise ValidationFailed("billing_month is required, as YYYY-MM", code="InvalidBillingMonth",
                                   target="billing_month")
        name = self._name(scope, inp.account_id, inp.card_id)
        if inp.account_id:
            return name, Decimal(0)
        self.catalog.open_invoice(scope, str(inp.card_id), inp.billing_month)
        # the card payments made to this invoice (user guide: the card context's default target), an ignored one
        # paying nothing
        return name, invoice_paid(self.d.ledger.invoice_lines(scope.tenant, str(inp.card_id), inp.billing_month))

    def create(self, scope: Scope, inp: SessionInput) -> ImportSession:
        name, default_target = self._context(scope, inp)
        if inp.target_value is not None:
            self._check_target(scope, inp.target_value, inp.account_id)
        number = self.d.repo.next_session_number(scope.tenant, scope.workspace_id)
        session = ImportSession(
            id=new_id(), workspace_id=scope.workspace_id, user_id=scope.user_id, number=number,
            description=inp.description or generated_description(name, str(inp.billing_month)),
            account_id=inp.account_id or None, card_id=inp.card_id or None, billing_month=str(inp.billing_month),
            target_value=default_target if inp.target_value is None else inp.target_value)
        self.d.repo.create_session(scope.tenant, session)
        return session

    def list_all(self, scope: Scope) -> list[ImportSession]:
        return self.d.repo.list_sessions(scope.tenant, scope.workspace_id)

    def balances(self, scope: Scope, session: ImportSession) -> Balances:
        """An account's balances come from the ledger's day totals (one `BAL#` item a day, as the ledger's own
        balance: pending lines left out), never from its lines; a card's from the lines its invoice holds."""
        if session.type == SessionType.CARD:
            invoice = self.d.ledger.invoice_sums(scope.tenant, session.context_id, session.billing_month)
            return session_balances(session, initial=invoice_value(invoice), month=Decimal(0))
        first, last = month_bounds(session.billing_month)
        before, until = day_before(first), min(last, self.d.today())
        totals = self.d.ledger.day_totals(scope.tenant, session.context_id, None, max(before, until))
        initial = sum((total for day, total in totals if day <= before), Decimal(0))
        month = sum((total for day, total in totals if before < day <= until), Decimal(0))
        return session_balances(session, initial=initial, month=month)

    def get(self, scope: Scope, session_id: str, *, page_size: int = 1000, cursor: int = 0) -> SessionDetail:
        """One session with its balances, stats, one page of lines and its bindings."""
        session = self.d.session(scope, session_id)
        if session.enrichment and not enrichment_running(session):
            session.enrichment = None  # a dead run: shown as not running (enrich again resets its lines)
        lines, nxt = self.d.repo.page(scope.tenant, session, limit=page_size, start=cursor)
        return SessionDetail(session, self.balances(scope, session), lines, nxt,
                             self.d.repo.bindings(scope.tenant, session))

    def update(self, scope: Scope, session_id: str, changes: SessionChanges) -> ImportSession:
        """Change description, billing_month, target_value, account_id or card_id; giving one context drops the
        other. A session with staged lines keeps its account or card (409 SessionHasLines, and nothing changes):
        its lines were checked, taken from their file and marked as possible duplicates against that context,
        so they go to no other. A generated description follows a move (or a new month)."""
        session = self.d.session(scope, session_id)
        given = changes.model_fields_set
        account_id = changes.account_id if "account_id" in given else session.account_id
        card_id = changes.card_id if "card_id" in given else session.card_id
        if changes.account_id and "card_id" not in given:
            card_id = None
        if changes.card_id and "account_id" not in given:
            account_id = None
        moved = session.model_copy(update={"account_id": account_id or None, "card_id": card_id or None,
                                           "billing_month": changes.billing_month or session.billing_month})
        if (moved.account_id, moved.card_id, moved.billing_month) == (session.account_id, session.card_id,
                                                                     session.billing_month):
            return self._save(scope, session, changes)
        self._context(scope, SessionInput(moved.account_id, moved.card_id, moved.billing_month))
        if moved.context_id != session.context_id and session.total:
            raise Conflict(f"the session has {session.total} staged line(s), checked, taken from their file and "
                           f"marked as possible duplicates against {session.type.value.lower()} "
                           f"{session.context_id}: remove them before moving it (or stage them in a session of "
                           f"{moved.context_id})", code="SessionHasLines", target=where_of(moved))
        if enrichment_running(session):
            raise Conflict("an enrichment of this session is running", code="EnrichmentRunning", target="id")
        if "description" not in given and session.description == self._generated(scope, session):
            moved.description = generated_description(self._name(scope, moved.account_id, moved.card_id),
                                                      moved.billing_month)
        # held while the lines are checked: no line is staged or changed meanwhile (they would be checked against
        # the context the session is leaving)
        owner = self.d.repo.lock(scope.tenant, session)
        try:
            if session.context_id != moved.context_id and next(self.d.repo.lines(scope.tenant, session), None):
                raise Conflict("a line was staged while the session was being moved: remove it before moving "
                               "the session", code="SessionHasLines", target=where_of(moved))
            return self._save(scope, moved, changes, owner=owner)
        finally:
            self.d.repo.unlock(scope.tenant, session, owner)

    def _generated(self, scope: Scope, session: ImportSession) -> str | None:
        """The description a session of this context and month is created with (None: its context is gone)."""
        try:
            return generated_description(self._name(scope, session.account_id, session.card_id),
                                         session.billing_month)
        except (ValidationFailed, NotFound):
            return None

    def _save(self, scope: Scope, session: ImportSession, changes: SessionChanges, *, owner: str | None = None
              ) -> ImportSession:
        if changes.description is not None:
            session.description = changes.description
        if changes.target_value is not None:
            self._check_target(scope, changes.target_value, session.account_id)
            session.target_value = changes.target_value
        session.updated_at = utcnow()
        return self.d.repo.save_session(scope.tenant, session, owner=owner)

    def _check_target(self, scope: Scope, target: Decimal, account_id: str | None) -> None:
        """A target_value is compared with sums of the session's lines: it has at most their currency's decimals
        (the account's; a card's lines have 2), else 400 InvalidAmount naming target_value."""
        currency = self.d.account(scope, account_id, "account_id").currency if account_id else None
        problem = amount_problem(target, currency) if target else None
        if problem:
            raise ValidationFailed(problem, code="InvalidAmount", target="target_value")

    def delete(self, scope: Scope, session_id: str) -> None:
        session = self.d.session(scope, session_id)
        if enrichment_running(session):
            raise Conflict("an enrichment of this session is running", code="EnrichmentRunning", target="id")
        self.d.repo.lock(scope.tenant, session)
        self.d.repo.delete_session(scope.tenant, session)

