"""Staged lines: add a batch (sign rule, references, duplicate marks), page, read, update, delete."""

from __future__ import annotations

import time
from typing import Any

from tximport.errors import Conflict, NotFound, ValidationFailed
from tximport.models import utcnow
from tximport.services.sessions.catalog import CatalogService
from tximport.services.sessions.checks import check_card_payment, check_data, check_line, check_transfer
from tximport.services.sessions.copies import MARK, CopyFinder, Held, same_line
from tximport.services.sessions.deps import (
    MAX_LINES_PER_SESSION,
    Deps,
    check_amount,
    check_currency,
    line_currency,
)
from tximport.services.sessions.sessions import enrichment_running
from tximport.sessions.commands import StagedChanges, StagedInput
from tximport.sessions.ids import staged_id
from tximport.sessions.models import (
    ImportSession,
    Scope,
    StagedTransaction,
    StagedTransactionStatus,
    StagedTransactionType,
)
from tximport.sessions.rules import allowed_types, ledger_amount, missing_fields, type_by_sign, with_status

#: how long an add may hold the session (an add of 25,000 lines takes seconds; a crashed one frees it after this)
_ADD_LEASE_SECONDS = 120
#: how long an add waits for another add to end
_ADD_WAIT_SECONDS = 10.0


class StagedService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps
        self.catalog = CatalogService(deps)

    def _prepare_data(self, scope: Scope, data: dict[str, Any], target: str, *,
                      catalog: CatalogService | None = None, tag_ids: dict[str, str] | None = None) -> dict[str, Any]:
        """Tag names become tag ids (creating tags; `tag_ids` keeps the ids of the names met, for the next line);
        every reference must exist (read through `catalog` when given)."""
        catalog = catalog or self.catalog
        known = {} if tag_ids is None else tag_ids
        data = dict(data)
        names = data.pop("tags", None)
        if names is not None:
            if not isinstance(names, list):
                raise ValidationFailed("tags must be a list of names", target=f"{target}.tags")
            if not all(isinstance(name, str) and name in known for name in names):
                known.update(zip(names, catalog.tags_by_name(scope, names, f"{target}.tags"), strict=True))
            data["tag_ids"] = sorted({*data.get("tag_ids", []), *(known[name] for name in names)})
        catalog.check_refs(scope, data, prefix=f"{target}.")
        return data

    def add(self, scope: Scope, session_id: str, inputs: list[StagedInput]) -> list[StagedTransaction]:
        """Stage lines: the type follows the sign rule when left out; each line is marked when it looks
        like a line already in the ledger (`data.possible_duplicate`)."""
        session = self.d.session(scope, session_id)
        self.d.check_invoice_open(scope, session)
        if session.total + len(inputs) > MAX_LINES_PER_SESSION:
            raise ValidationFailed(f"a session holds at most {MAX_LINES_PER_SESSION} staged lines "
                                   f"({session.total} already)", code="SessionFull", target="transactions")
        kinds, prepared = self._checked(scope, session, inputs)
        # one add at a time (a lease on the session: 409 SessionBusy for another add, a commit or a close), so the
        # lines of an add that runs beside another (the same file uploaded twice at once) are marked as repeating
        # the other's, as they are one after the other
        owner = self._lease(scope, session)
        try:
            fresh = self.d.session(scope, session_id)  # with what the adds before this one staged
            if (fresh.account_id, fresh.card_id) != (session.account_id, session.card_id):
                # moved meanwhile: these lines were checked (and taken from their file) against the context it left
                raise Conflict("the session moved to another account or card while these lines were being staged: "
                               "stage them again", code="ConcurrentUpdate", target="id")
            session = fresh
            for data in prepared:  # the copy mark is the server's
                data.pop(MARK, None)
            self._mark_duplicates(scope, session, inputs, kinds, prepared)
            first = self.d.repo.allocate(scope.tenant, session, len(inputs))
            lines = [with_status(StagedTransaction(
                id=staged_id(session.number, first + i), session_id=session.id, seq=first + i, type=kinds[i],
                transaction_date=inp.transaction_date, amount=inp.amount, description=inp.description or "",
                data=prepared[i], line_number=inp.line_number)) for i, inp in enumerate(inputs)]
            self.d.repo.add_lines(scope.tenant, session, lines, max_total=MAX_LINES_PER_SESSION, owner=owner)
        finally:
            self.d.repo.unlock(scope.tenant, session, owner)
        return lines

    def _checked(self, scope: Scope, session: ImportSession, inputs: list[StagedInput]
                 ) -> tuple[list[StagedTransactionType], list[dict[str, Any]]]:
        """Each line checked against the session's context (400 naming `[i].<field>`); answers their types
        (the sign rule's where left out) and their data (tag names become ids). What the lines name is read once
        for them all (`Deps.remembering`)."""
        reads = self.d.remembering()
        catalog, tag_ids = CatalogService(reads), dict[str, str]()
        currency = reads.currency(scope, session)
        kinds = [inp.type or type_by_sign(session.type, inp.amount) for inp in inputs]
        for i, (inp, kind) in enumerate(zip(inputs, kinds, strict=True)):
            check_line(reads, scope, session, currency, inp.amount, inp.data, kind, f"[{i}]")
        prepared = [self._prepare_data(scope, inp.data, f"[{i}].data", catalog=catalog, tag_ids=tag_ids)
                    if inp.data else {} for i, inp in enumerate(inputs)]
        return kinds, prepared

    def _lease(self, scope: Scope, session: ImportSession) -> str:
        """The session for this add: an add beside it is waited for (a few seconds); a commit, close or longer add
        still holding it then is 409 SessionBusy."""
        pause = 0.05
        deadline = time.monotonic() + _ADD_WAIT_SECONDS
        while True:
            try:
                return self.d.repo.lock(scope.tenant, session, seconds=_ADD_LEASE_SECONDS)
            except Conflict:
                if time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 1.0)

    def _mark_duplicates(self, scope: Scope, session: ImportSession, inputs: list[StagedInput],
                         kinds: list[StagedTransactionType], data: list[dict[str, Any]]) -> None:
        """Each line that repeats a ledger line, a line the session holds or a mirror line is marked
        (`copies.CopyFinder`), not dropped."""
        finder = CopyFinder(self.d.ledger, scope.tenant, session.context_id, self._held(scope, session))
        for inp, kind, extra in zip(inputs, kinds, data, strict=True):
            finder.mark(inp.transaction_date, ledger_amount(session.type, kind, inp.amount, extra), inp.amount,
                        inp.description, extra)

    def _held(self, scope: Scope, session: ImportSession) -> Held:
        """The ids of the lines the session holds, by day, amount and description (each matches one new line)."""
        held: Held = {}
        if session.total:
            for line in self.d.repo.lines(scope.tenant, session):
                held.setdefault(same_line(line.transaction_date, line.amount, line.description), []).append(line.id)
        return held

    def page(self, scope: Scope, session_id: str, *, limit: int, cursor: int = 0
             ) -> tuple[list[StagedTransaction], int | None]:
        session = self.d.session(scope, session_id)
        return self.d.repo.page(scope.tenant, session, limit=limit, start=cursor)

    def get(self, scope: Scope, line_id: str) -> StagedTransaction:
        return self.d.locate(scope, line_id)[1]

    def update(self, scope: Scope, line_id: str, changes: StagedChanges) -> StagedTransaction:
        """Change what the client sent (data keys merge; a null value removes a key); the status is
        computed again, with what the client set (`_set_status`). One conditional write: all or nothing."""
        session, line = self.d.locate(scope, line_id)
        if line.processing_enrichment:
            raise Conflict("the line is being enriched; retry when its status is no longer PROCESSING",
                           code="LineProcessing", target="status")
        if changes.status == StagedTransactionStatus.PROCESSING:
            raise ValidationFailed("PROCESSING is the status of a line being enriched, set by POST .../enrich; a "
                                   "client sets READY or PENDING", code="StatusNotSettable", target="status")
        self.d.check_invoice_open(scope, session)
        new = line.model_copy(deep=True)
        currency = self.d.currency(scope, session)
        if changes.data is not None:  # the copy mark is the server's: what a client sends for it is ignored
            merged = {**new.data, **{k: v for k, v in changes.data.items() if k != MARK}}
            new.data = {k: v for k, v in merged.items() if v is not None}
            check_data(new.data, "data")
            check_currency(new.data, currency, "data.currency")
            check_transfer(self.d, scope, session, new.data, currency, "data")
        if changes.amount is not None or changes.data is not None:
            check_amount(changes.amount if changes.amount is not None else new.amount,
                         line_currency(new.data, currency), "amount")
        if changes.amount is not None:
            new.amount = changes.amount
        if changes.transaction_date is not None:
            new.transaction_date = changes.transaction_date
        if changes.description is not None:
            new.description = changes.description
        if changes.type is not None:
            new.type = changes.type
        if changes.data is not None:
            new.data = self._prepare_data(scope, new.data, "data")
        if new.type not in allowed_types(session.type):
            raise ValidationFailed(f"{new.type} is not a type of a {session.type.value.lower()} session",
                                   code="TypeNotAllowed", target="type")
        check_card_payment(self.d, scope, session, new.data, new.type, "data")
        if _key_fields(new) != _key_fields(line):
            self._mark_again(scope, session, new)
        if changes.status is not None:
            _set_status(new, changes.status)
        new.updated_at = utcnow()
        # on the session's version as read: a move to another account meanwhile (checked against the lines as they
        # were) makes this a 409, not a line checked against the account it left
        return self.d.repo.replace_line(scope.tenant, session, line, with_status(new), session_version=session.version)

    def _mark_again(self, scope: Scope, session: ImportSession, line: StagedTransaction) -> None:
        """The copy mark of a line whose day, amount, description or type changed, judged again (a mark that no
        longer holds goes; the line it repeated in the session, if any, still counts)."""
        old = line.data.pop(MARK, None)
        held: Held = {}
        if isinstance(old, dict) and old.get("reason") == "alreadyStaged":
            try:
                twin = self.d.locate(scope, str(old.get("duplicate_of")))[1]
                held[same_line(twin.transaction_date, twin.amount, twin.description)] = [twin.id]
            except NotFound:
                pass
        CopyFinder(self.d.ledger, scope.tenant, session.context_id, held).mark(
            line.transaction_date, ledger_amount(session.type, line.type, line.amount, line.data), line.amount,
            line.description, line.data)

    def delete(self, scope: Scope, line_id: str) -> None:
        session, line = self.d.locate(scope, line_id)
        if self.d.repo.delete_lines(scope.tenant, session, [line]):
            raise Conflict(f"staged transaction {line_id} was changed concurrently; read it again",
                           code="ConcurrentUpdate", target="id")

    def delete_all(self, scope: Scope, session_id: str) -> int:
        """Remove every staged line of a session (the session stays); answers how many."""
        session = self.d.session(scope, session_id)
        if enrichment_running(session):
            raise Conflict("an enrichment of this session is running", code="EnrichmentRunning", target="id")
        owner = self.d.repo.lock(scope.tenant, session)
        try:
            lines = list(self.d.repo.lines(scope.tenant, session))
            self.d.repo.delete_lines(scope.tenant, session, lines, owner=owner)
            bindings = self.d.repo.bindings(scope.tenant, session)
            self.d.repo.delete_bindings(scope.tenant, bindings)
        finally:
            self.d.repo.unlock(scope.tenant, session, owner)
        return len(lines)


def _set_status(line: StagedTransaction, status: StagedTransactionStatus) -> None:
    """The status a client sets (the document lists it among a PUT's fields). PENDING holds the line back from
    commit whatever it has (`on_hold`). READY lifts the hold, and is the client's decision on a copy mark: the mark
    stays, recording `overridden: true`, and the commit books the line and judges it no more (two identical
    coffees are two coffees); a line lacking what READY needs is a 400 MissingFields naming `status`."""
    if status == StagedTransactionStatus.PENDING:
        line.on_hold = True
        return
    line.on_hold = False
    mark = line.data.get(MARK)
    if isinstance(mark, dict):
        line.data[MARK] = {**mark, "overridden": True}
    missing = missing_fields(line.type, line.amount, line.description, line.data)
    if missing:
        raise ValidationFailed(f"the line cannot be READY: it lacks {', '.join(missing)}", code="MissingFields",
                               target="status", details=[{"field": name, "code": "missing"} for name in missing])


def _key_fields(line: StagedTransaction) -> tuple[object, ...]:
    """What the copy checks compare."""
    return line.transaction_date, line.amount, line.description, line.type
