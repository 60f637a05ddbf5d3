"""Commit a session's READY lines to the ledger (status VALIDATING, or IGNORE for `data.ignore`) and
close a session (admin only): VALIDATING -> PAID, the card invoice -> PAID, the session removed."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from tximport.errors import Conflict, Forbidden
from tximport.models import LedgerLine, iso, utcnow
from tximport.services.duplicates import DuplicateDetector
from tximport.services.lifecycle import describe_holder, session_holder
from tximport.services.sessions.catalog import CatalogService
from tximport.services.sessions.checks import payment_invoice, refuse_paid
from tximport.services.sessions.copies import MARK, CopyFinder, answering_line, as_payment
from tximport.services.sessions.deps import Deps, line_currency
from tximport.services.sessions.sessions import enrichment_running
from tximport.sessions.balances import month_bounds
from tximport.sessions.binding import DATA_FIELD
from tximport.sessions.enrichment import category_type_of
from tximport.sessions.ids import is_mirror, ledger_transaction_id
from tximport.sessions.learning import normalise
from tximport.sessions.models import (
    ImportSession,
    Invoice,
    InvoiceStatus,
    LearningExample,
    Scope,
    SessionLedgerEntry,
    SessionType,
    StagedTransaction,
    StagedTransactionStatus,
    StagedTransactionType,
    TransactionStatus,
)
from tximport.sessions.rules import copy_decided, ledger_amount, transfer_outgoing, with_status
from tximport.storage.kv import ConditionFailed
from tximport.storage.ledger import invoice_month

#: lines written to the ledger, then removed from the session, per step
CHUNK = 500
#: the days whose balances a commit recomputes at once (each by a thread of its own)
REFRESH_WORKERS = 8
#: ids per ledger event (events stay far below EventBridge's 256 KB)
IDS_PER_EVENT = 200
#: how long a commit holds the accounts it writes without renewing (each chunk renews): past it, a commit that
#: died holding them holds them no more
ACCOUNT_LEASE_SECONDS = 900
T = StagedTransactionType


def _text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return None if value in (None, "") else str(value)


def _counterpart(line: StagedTransaction) -> str | None:
    """A transfer's other account: where it goes, or where it comes from."""
    return _text(line.data, "destination_account_id" if transfer_outgoing(line.amount, line.data)
                 else "source_account_id")


def _card(session: ImportSession, line: StagedTransaction) -> str | None:
    return session.card_id if session.type == SessionType.CARD else _text(line.data, "card_id")


def mirror_account_of(session: ImportSession, line: StagedTransaction) -> str | None:
    """The account (or card) a line's mirror goes to: a transfer's other account, a card payment's card."""
    if line.type == T.TRANSFER:
        return _counterpart(line)
    return _card(session, line) if line.type == T.CARD_PAYMENT else None


def ledger_lines(session: ImportSession, line: StagedTransaction, committed: datetime,
                 currency: str | None = None) -> list[LedgerLine]:
    """The ledger line of a staged line, and the mirror line a transfer (in the other account) or a card
    payment (in the card's ledger, for its invoice) also makes; `currency`: the session's (its account's),
    where the line names none."""
    data = line.data
    status = TransactionStatus.IGNORE if data.get("ignore") is True else TransactionStatus.VALIDATING
    recurring = next(((f, str(data[f])) for f in DATA_FIELD.values() if data.get(f)), (None, None))
    counterpart = _counterpart(line) if line.type == T.TRANSFER else None
    card_id = _card(session, line)
    billing = session.billing_month if session.type == SessionType.CARD else (
        _text(data, "billing_month") or session.billing_month if line.type == T.CARD_PAYMENT else None)
    entry = SessionLedgerEntry(
        type=line.type, status=status, workspace_id=session.workspace_id, session_id=session.id,
        staged_transaction_id=line.id, category_id=_text(data, "category_id"),
        subcategory_id=_text(data, "subcategory_id"), tag_ids=[str(t) for t in data.get("tag_ids") or []],
        billing_month=billing, card_id=card_id, counterpart_account_id=counterpart, recurring_id=recurring[1],
        recurring_type=recurring[0])
    own = LedgerLine(
        transaction_id=ledger_transaction_id(session.id, line.id, line.transaction_date.isoformat()),
        bank_account_id=session.context_id, amount=ledger_amount(session.type, line.type, line.amount, data),
        date_posted=line.transaction_date, description=line.description, currency=line_currency(data, currency),
        line_number=line.line_number, bank_transaction_id=_text(data, "bank_transaction_id"),
        counterparty_name=_text(data, "counterparty_name"), import_id="", committed=committed, session=entry)
    mirror_account = mirror_account_of(session, line)
    if not mirror_account:
        return [own]
    mirror = replace(own, transaction_id=ledger_transaction_id(session.id, line.id, own.date_posted.isoformat(),
                                                               True),
                     bank_account_id=mirror_account, amount=-own.amount, line_number=None, bank_transaction_id=None,
                     session=replace(entry, counterpart_account_id=session.context_id))
    return [own, mirror]


@dataclass(frozen=True, slots=True)
class _Held:
    """The invoices a commit holds (it may take more as it goes), and the owner it holds them as."""

    invoices: list[Invoice]
    owner: str


@dataclass(frozen=True, slots=True)
class CommitResult:
    """What a commit wrote: lines committed (VALIDATING or IGNORE) and the ledger ids it wrote."""

    committed: int
    validating: int
    ignored: int
    transaction_ids: list[str]
    #: READY lines found to be certain copies when committed (PENDING now, left staged)
    held_back: int = 0
    #: transfers and card payments whose other account already showed the money (no mirror written)
    linked: int = 0


@dataclass(frozen=True, slots=True)
class CloseResult:
    """What a close did: lines turned PAID, staged lines dropped, the card invoice's status."""

    paid: int
    discarded_staged: int
    invoice_status: InvoiceStatus | None
    #: READY lines dropped uncommitted: another session's close settled the invoice they were for
    discarded_ready: int = 0
    invoice_settled_elsewhere: bool = False


class CommitService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps
        self.catalog = CatalogService(deps)

    def _idle(self, session: ImportSession) -> None:
        if enrichment_running(session):
            raise Conflict("an enrichment of this session is running", code="EnrichmentRunning", target="id")

    def commit(self, scope: Scope, session_id: str) -> CommitResult:
        """Write every READY line to the ledger and remove it from the session. Idempotent and resumable:
        ledger ids are deterministic in (session, line), and a line leaves the session only once its
        ledger line is written, so a second call writes nothing twice."""
        session = self.d.session(scope, session_id)
        self._idle(session)
        invoice = self.d.check_invoice_open(scope, session)
        invoices = [invoice] if invoice is not None else self._payment_invoices(scope, session)
        owner = self.d.repo.lock(scope.tenant, session)
        committed = utcnow()
        counts = {"committed": 0, "validating": 0, "ignored": 0, "held_back": 0, "linked": 0}
        days: set[tuple[str, date]] = set()
        lines = list(self.d.repo.lines(scope.tenant, session))  # (a session holds at most 25,000)
        accounts = self._accounts_written(session, lines)
        try:
            ids = self._write_ready(scope, session, lines, invoices, accounts, owner, committed, counts, days)
        finally:
            try:
                # the days' balances once, for every chunk written (chunks share their days: recomputing them
                # after each chunk read a day's lines ten times in a commit of 5,000)
                self.d.ledger.refresh_totals(scope.tenant, days, workers=REFRESH_WORKERS)
            finally:
                for held in invoices:
                    self.d.catalog.release_invoice(scope.tenant, scope.workspace_id, held, owner)
                if self.d.writers is not None:
                    self.d.writers.free(scope.tenant, accounts, session_holder(session.id))
                self.d.repo.unlock(scope.tenant, session, owner)
        self._announce(scope, session, ids, committed)
        return CommitResult(counts["committed"], counts["validating"], counts["ignored"], ids,
                            held_back=counts["held_back"], linked=counts["linked"])

    def _write_ready(self, scope: Scope, session: ImportSession, lines: list[StagedTransaction],
                     invoices: list[Invoice], accounts: set[str], owner: str, committed: datetime,
                     counts: dict[str, int], days: set[tuple[str, date]]) -> list[str]:
        """The READY lines to the ledger, CHUNK at a time, each chunk under a renewed hold of the invoices and of
        the accounts it writes; answers the ledger ids written."""
        ids: list[str] = []
        batch: list[StagedTransaction] = []
        self._hold_accounts(scope, session, accounts, lines)  # before the lines are judged against the ledger again
        finder = self._finder(scope, session, lines)
        for line in lines:
            if line.status == StagedTransactionStatus.READY:
                batch.append(line)
            if len(batch) == CHUNK:
                self._hold(scope, session, invoices, owner)
                self._hold_accounts(scope, session, accounts, lines)
                ids += self._commit_chunk(scope, session, self._judged_again(scope, session, batch, owner, counts,
                                                                             finder), committed, counts, owner, days,
                                          invoices)
                batch = []
        if batch:
            self._hold(scope, session, invoices, owner)
            self._hold_accounts(scope, session, accounts, lines)
            ids += self._commit_chunk(scope, session, self._judged_again(scope, session, batch, owner, counts, finder),
                                      committed, counts, owner, days, invoices)
        return ids

    @staticmethod
    def _accounts_written(session: ImportSession, lines: list[StagedTransaction]) -> set[str]:
        """The accounts (and cards) a commit of the READY lines writes to: the session's own, and those their
        mirrors go to."""
        found = {session.context_id}
        for line in lines:
            if line.status == StagedTransactionStatus.READY and (other := mirror_account_of(session, line)):
                found.add(other)
        return found

    def _hold_accounts(self, scope: Scope, session: ImportSession, accounts: set[str],
                       lines: list[StagedTransaction]) -> None:
        """Hold (or renew the lease on) every account the commit writes, as an import holds its accounts: while a
        file import of one of them is processed, reviewed or committed, this commit judged against a ledger that
        import is about to change (and the import was reviewed without this commit's lines), so it answers 409
        AccountBusy and writes nothing more; an import arriving meanwhile queues behind the hold, and so does
        another session's commit into one of them (409)."""
        if self.d.writers is None:
            return
        until = int(time.time()) + ACCOUNT_LEASE_SECONDS
        busy = self.d.writers.hold(scope.tenant, accounts, session_holder(session.id), until)
        if busy is not None:
            account_id, holder = busy
            field = self._naming(session, lines, account_id)
            kind = "card" if field.endswith("card_id") else "bank account"
            raise Conflict(f"{describe_holder(holder)} holds {kind} {account_id}, which this commit writes to "
                           "(it is processed, awaits confirmation or is committed, against the ledger as it is): "
                           "commit again once it has completed or was deleted", code="AccountBusy", target=field)

    @staticmethod
    def _naming(session: ImportSession, lines: list[StagedTransaction], account_id: str) -> str:
        """The field that names a busy account: the session's own `account_id` (or `card_id`), else the data field
        of the first READY line whose mirror goes there."""
        if account_id == session.context_id:
            return "card_id" if session.type == SessionType.CARD else "account_id"
        for line in lines:
            if line.status == StagedTransactionStatus.READY and mirror_account_of(session, line) == account_id:
                if line.type == T.CARD_PAYMENT:
                    return "data.card_id"
                return "data.destination_account_id" if transfer_outgoing(line.amount, line.data) \
                    else "data.source_account_id"
        return "account_id"

    def _finder(self, scope: Scope, session: ImportSession, lines: list[StagedTransaction]) -> CopyFinder:
        """The commit's copy finder: its ledger days read once (the commit's own lines are no copies), and the lines
        it does not judge again counted first (those left staged, those the client decided on: `copy_decided`): the
        ledger copies and mirrors they answer answer no READY line."""
        finder = CopyFinder(self.d.ledger, scope.tenant, session.context_id, {}, own_session=session.id)
        for line in lines:
            if line.status != StagedTransactionStatus.READY or copy_decided(line.data):
                finder.counted(line.transaction_date, ledger_amount(session.type, line.type, line.amount, line.data),
                               line.description, line.data)
        return finder

    def _announce(self, scope: Scope, session: ImportSession, ids: list[str], committed: datetime) -> None:
        """ImportSessionCommitted, IDS_PER_EVENT ledger ids an event."""
        for start in range(0, len(ids), IDS_PER_EVENT):
            self.d.events.publish("ImportSessionCommitted", {
                "organisationId": scope.tenant.organisation_id, "companyId": scope.tenant.company_id,
                "workspaceId": session.workspace_id, "sessionId": session.id, "accountId": session.context_id,
                "transactionIds": ids[start:start + IDS_PER_EVENT], "time": iso(committed)})

    def _payment_invoices(self, scope: Scope, session: ImportSession) -> list[Invoice]:
        """The invoices an account session's READY card payments go into, as read: none PAID (else 400
        InvoicePaid naming the line, and nothing is written); the commit holds them as a card session's commit
        holds its own, so a close cannot pay one while a payment goes into it."""
        if session.type != SessionType.ACCOUNT or not session.sums.card_payment:
            return []
        found: dict[tuple[str, str], Invoice | None] = {}
        for line in self.d.repo.lines(scope.tenant, session):
            key = payment_invoice(session, line.type, line.data)
            if key is None or line.status != StagedTransactionStatus.READY:
                continue
            if key not in found:
                found[key] = self.d.catalog.get_invoice(scope.tenant, scope.workspace_id, *key)
            refuse_paid(found[key], key, "data", line.id)
        # an invoice not made yet takes the payment: it is made (OPEN), so it shows the payment and a close of the
        # card's session finds it
        return [invoice or self._made(scope, *key) for key, invoice in found.items()]

    def _made(self, scope: Scope, card_id: str, billing_month: str) -> Invoice:
        with contextlib.suppress(Conflict):  # made meanwhile (a card session of that month): the one made
            self.d.catalog.put(scope.tenant, scope.workspace_id, Invoice(card_id=card_id, billing_month=billing_month),
                               create=True)
        made = self.d.catalog.get_invoice(scope.tenant, scope.workspace_id, card_id, billing_month)
        if made is None:
            raise Conflict(f"the invoice of {billing_month} was removed while it was made", code="ConcurrentUpdate",
                           target="billing_month")
        return made

    def _hold(self, scope: Scope, session: ImportSession, invoices: list[Invoice], owner: str) -> None:
        """Before each chunk goes to a card's ledger (a card session's lines, an account session's card payments):
        hold (or renew the hold on) each invoice they go into, conditional on its version still being the one
        read, so a close racing this commit either waits for it (409 InvoiceBusy) or wins and this commit stops
        here with 409 InvoiceNotOpen, its next chunk unwritten (the first time: nothing written at all)."""
        for invoice in invoices:
            try:
                self.d.catalog.hold_invoice(scope.tenant, scope.workspace_id, invoice, owner)
            except ConditionFailed:
                fresh = self.d.catalog.get_invoice(scope.tenant, scope.workspace_id, invoice.card_id,
                                                   invoice.billing_month)
                if fresh is None or fresh.status != InvoiceStatus.OPEN:
                    way_out = ("close or delete this session to discard its lines" if session.type == SessionType.CARD
                               else "move its card payments to another invoice, in data.billing_month")
                    raise Conflict(f"the invoice of {invoice.billing_month} was paid by another session's close: "
                                   f"this commit stopped ({way_out})", code="InvoiceNotOpen",
                                   target="billing_month") from None
                raise Conflict(f"another commit into the invoice of {invoice.billing_month} is running; retry when "
                               "it ends", code="InvoiceBusy", target="billing_month") from None

    def _commit_chunk(self, scope: Scope, session: ImportSession, lines: list[StagedTransaction],
                      committed: datetime, counts: dict[str, int], owner: str, days: set[tuple[str, date]],
                      invoices: list[Invoice]) -> list[str]:
        """Write one chunk's lines (their days added to `days`, whose balances the commit refreshes at the end),
        learn from them and remove them from the session."""
        currency = self.d.currency(scope, session)
        rows = self._mirrors_answered(scope, [row for line in lines
                                              for row in ledger_lines(session, line, committed, currency)], counts,
                                      _Held(invoices, owner))
        days.update((row.bank_account_id, row.date_posted) for row in rows)
        self.d.ledger.write(scope.tenant, rows, refresh=False)
        self._learn(scope, lines)
        self.d.repo.delete_lines(scope.tenant, session, lines, owner=owner)
        for line in lines:
            counts["committed"] += 1
            counts["ignored" if line.data.get("ignore") is True else "validating"] += 1
        return [r.transaction_id for r in rows]

    def _judged_again(self, scope: Scope, session: ImportSession, lines: list[StagedTransaction], owner: str,
                      counts: dict[str, int], finder: CopyFinder) -> list[StagedTransaction]:
        """The READY lines the client has not decided on (`copy_decided`: `data.ignore`, or READY set over a copy
        mark), judged again against the ledger as it is now: a transfer another account's session booked since they
        were staged (its mirror), or the same statement committed since by another session, makes a line a certain
        copy; it is marked, PENDING and left staged (booked, it counted the money twice). Answers the lines to
        write."""
        keep: list[StagedTransaction] = []
        for line in lines:
            data = {name: value for name, value in line.data.items() if name != MARK}
            if not copy_decided(line.data):
                finder.mark(line.transaction_date, ledger_amount(session.type, line.type, line.amount, line.data),
                            line.amount, line.description, data)
            mark = data.get(MARK)
            if isinstance(mark, dict) and mark.get("certain") is True:
                held = with_status(line.model_copy(update={"data": data}))
                self.d.repo.replace_line(scope.tenant, session, line, held, owner=owner)
                counts["held_back"] += 1
            else:
                keep.append(line)
        return keep

    def _mirrors_answered(self, scope: Scope, rows: list[LedgerLine], counts: dict[str, int], held: _Held
                          ) -> list[LedgerLine]:
        """The rows to write, without the mirror lines whose money the other account's ledger shows already (its
        own statement imported first: the mirror counted it twice); the line of such a mirror names the line
        that answers it instead (`counterpart_transaction_id`). `ledger_lines` puts a mirror after its line."""
        out: list[LedgerLine] = []
        detectors: dict[str, DuplicateDetector] = {}
        taken: set[str] = set()
        for row in rows:
            answer = None
            # a line committed IGNORE counts nowhere: its mirror (IGNORE too) proves nothing, and takes no line
            if is_mirror(row) and (row.session is None or row.session.status != TransactionStatus.IGNORE):
                if row.bank_account_id not in detectors:
                    detectors[row.bank_account_id] = DuplicateDetector(self.d.ledger, scope.tenant)
                answer = answering_line(detectors[row.bank_account_id], row, taken, out[-1].transaction_id)
            # the line answers this mirror only (a later commit's mirror of that money is written: a line is linked
            # once); a commit that took it first since it was read leaves this mirror to be written
            if answer is None or not self.d.ledger.link(scope.tenant, answer, out[-1].transaction_id):
                out.append(row)
                continue
            taken.add(answer.transaction_id)
            own = out[-1]
            answer = replace(answer, linked_by=own.transaction_id)
            paying = as_payment(answer, row)  # the card's line of it, typed a chargeback
            if paying is not None and self._movable(scope, answer, held):
                self.d.ledger.retype(scope.tenant, answer, paying)
            if own.session is not None:
                out[-1] = replace(own, session=replace(own.session, counterpart_transaction_id=answer.transaction_id))
            counts["linked"] += 1
        return out

    def _movable(self, scope: Scope, line: LedgerLine, held: _Held) -> bool:
        """Whether this commit holds the invoice the card's `line` is on (taking it now when it is not the one the
        payment pays, which it holds already): retyped as the payment, the line leaves that invoice for the one the
        payment names. An invoice another commit or a close holds, or one no longer OPEN, keeps its line."""
        month = invoice_month(line)
        if month is None:
            return False
        if any(i.card_id == line.bank_account_id and i.billing_month == month for i in held.invoices):
            return True
        invoice = self.d.catalog.get_invoice(scope.tenant, scope.workspace_id, line.bank_account_id, month)
        if invoice is None or invoice.status != InvoiceStatus.OPEN:
            return False
        try:
            self.d.catalog.hold_invoice(scope.tenant, scope.workspace_id, invoice, held.owner)
        except ConditionFailed:
            return False
        held.invoices.append(invoice)  # renewed with the others per chunk, released at the end
        return True

    def _learn(self, scope: Scope, lines: list[StagedTransaction]) -> None:
        """What later enrichment learns from: each committed description and where it was filed."""
        examples: list[LearningExample] = []
        for line in lines:
            kind = category_type_of(line.type)
            category = line.data.get("category_id")
            text = line.data.get("original_description") or line.description
            if kind is None or not category or not normalise(str(text)) or line.data.get("ignore") is True:
                continue
            examples.append(LearningExample(
                key=f"{kind.value}#{normalise(str(text))[:200]}", description=str(text), category_type=kind,
                category_id=str(category), subcategory_id=line.data.get("subcategory_id"),
                tag_ids=list(line.data.get("tag_ids") or [])))
        if examples:
            self.d.catalog.learn(scope.tenant, scope.workspace_id, examples)

    def close(self, scope: Scope, session_id: str) -> CloseResult:
        """Reconcile and end the session. Account: every VALIDATING line of the account dated up to the
        end of the billing month becomes PAID (what the reconciled statement covers). Card: the
        invoice's VALIDATING lines become PAID and the invoice PAID. The session and its staged lines
        go. READY lines not yet committed make it refuse (409): commit first. A card session whose invoice
        another session's close settled can never commit: closing it discards its lines and writes nothing
        (neither the invoice nor the ledger)."""
        if not scope.is_admin:
            raise Forbidden("closing a session needs the admin role", code="AdminRequired", target="roles")
        session = self.d.session(scope, session_id)
        self._idle(session)
        settled = self.d.settled_invoice(scope, session)
        if session.ready and settled is None:
            raise Conflict(f"{session.ready} READY line(s) are not committed: commit the session first",
                           code="UncommittedLines", target="id")
        owner = self.d.repo.lock(scope.tenant, session)
        try:
            paid = 0 if settled is not None else self._reconcile(scope, session)
            discarded = session.total
            self.d.repo.delete_session(scope.tenant, session)
        except BaseException:
            self.d.repo.unlock(scope.tenant, session, owner)
            raise
        self.d.events.publish("ImportSessionClosed", {
            "organisationId": scope.tenant.organisation_id, "companyId": scope.tenant.company_id,
            "workspaceId": session.workspace_id, "sessionId": session.id, "accountId": session.context_id,
            "billingMonth": session.billing_month, "paid": paid, "time": iso(utcnow())})
        if settled is not None:
            return CloseResult(0, discarded, settled.status, discarded_ready=session.ready,
                               invoice_settled_elsewhere=True)
        return CloseResult(paid, discarded, InvoiceStatus.PAID if session.type == SessionType.CARD else None)

    def _reconcile(self, scope: Scope, session: ImportSession) -> int:
        """VALIDATING -> PAID for what the session reconciles (a card's invoice also PAID); answers how many."""
        if session.type == SessionType.CARD:
            # the invoice first, on its version (409 while a commit into it runs: nothing changed yet); a
            # retried close of the session that paid it goes on to mark its lines
            invoice = self.catalog.invoice(scope, session.context_id, session.billing_month)
            if invoice.paid_by_session_id != session.id:
                self.catalog.set_invoice_status(scope, session.context_id, session.billing_month,
                                                InvoiceStatus.PAID, paid_by=session.id)
            return self.d.ledger.mark_paid(scope.tenant, session.context_id, session.billing_month,
                                           session.billing_month)
        return self.d.ledger.mark_paid(scope.tenant, session.context_id, "",
                                       month_bounds(session.billing_month)[1].isoformat())
