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
from tximport.services.sessions.checks import check_line, check_recurring_fits
from tximport.services.sessions.deps import Deps
from tximport.sessions.balances import Balances, day_before, month_bounds, session_balances
from tximport.sessions.binding import DATA_FIELD
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
        # the card payments made to this invoice (user guide: the card context's default target)
        paid = self.d.ledger.invoice_sums(scope.tenant, str(inp.card_id), inp.billing_month).card_payment
        return name, paid

    def create(self, scope: Scope, inp: SessionInput) -> ImportSession:
        name, default_target = self._context(scope, inp)
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
        keeps its kind of context (their types belong to it); giving one context drops the other. A move
        to another account or card checks every staged line there as staging it there would (409
        SessionHasLines naming the first that does not fit, and nothing changes), and a generated
        description follows the move."""
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
        if moved.type != session.type and session.total:
            raise Conflict("the session has staged lines of its context: remove them before moving it "
                           f"to a {moved.type.value.lower()} context", code="SessionHasLines", target="card_id")
        if enrichment_running(session):
            raise Conflict("an enrichment of this session is running", code="EnrichmentRunning", target="id")
        if "description" not in given and session.description == self._generated(scope, session):
            moved.description = generated_description(self._name(scope, moved.account_id, moved.card_id),
                                                      moved.billing_month)
        # held while the lines are checked: no line is staged or changed meanwhile (they would be checked against
        # the context the session is leaving)
        owner = self.d.repo.lock(scope.tenant, session)
        try:
            if session.context_id != moved.context_id:
                self.lines_fit(scope, session, moved)
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

    def lines_fit(self, scope: Scope, session: ImportSession, moved: ImportSession) -> None:
        """Every staged line of `session` as staging it in `moved` (another account or card) would check it, and
        the lines' amounts in the currency `moved` keeps: else 409 SessionHasLines naming the first line that
        does not fit (its id, and beside it the 400 staging it there answers)."""
        new = self.d.currency(scope, moved)
        try:
            old = self.d.currency(scope, session)
        except ValidationFailed:
            old = None  # the account it leaves is gone: its lines are checked as they are
        for line in self.d.repo.lines(scope.tenant, session):
            try:
                if old and new and old.upper() != new.upper():
                    raise ValidationFailed(f"its amount is in {old} and account {moved.account_id} keeps {new}",
                                           code="CurrencyMismatch", target="amount")
                check_line(self.d, scope, moved, new, line.amount, dict(line.data), line.type, "")
                self._binding_fits(scope, moved, new, line)
            except ValidationFailed as exc:
                where = "account_id" if moved.account_id else "card_id"
                raise Conflict(f"staged transaction {line.id} does not fit {where} {moved.context_id}: "
                               f"{exc.message} (change or remove it before moving the session)",
                               code="SessionHasLines", target=where,
                               details=[{"staged_transaction_id": line.id, "line_number": line.line_number,
                                         "code": exc.code, "field": exc.target, "message": exc.message}]) from None

    def _binding_fits(self, scope: Scope, moved: ImportSession, currency: str | None, line: StagedTransaction) -> None:
        """A bound line pays its recurring item from the session's account or card: the item must be of it."""
        for name in DATA_FIELD.values():
            item_id = line.data.get(name)
            item = self.catalog.find_recurring(scope, str(item_id)) if item_id else None
            if item is not None:
                check_recurring_fits(self.d, scope, moved, item, currency, f"data.{name}")

    def _save(self, scope: Scope, session: ImportSession, changes: SessionChanges, *, owner: str | None = None
              ) -> ImportSession:
        if changes.description is not None:
            session.description = changes.description
        if changes.target_value is not None:
            session.target_value = changes.target_value
        session.updated_at = utcnow()
        return self.d.repo.save_session(scope.tenant, session, owner=owner)

    def delete(self, scope: Scope, session_id: str) -> None:
        session = self.d.session(scope, session_id)
        if enrichment_running(session):
            raise Conflict("an enrichment of this session is running", code="EnrichmentRunning", target="id")
        self.d.repo.lock(scope.tenant, session)
        self.d.repo.delete_session(scope.tenant, session)

