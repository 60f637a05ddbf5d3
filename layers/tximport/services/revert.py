"""Reverting a complete import: the runs of the revert workflow (statemachines/revert.asl.json), which the API
starts.

The ledger lines an import wrote are removed chunk by chunk, with bounded parallelism, by a delete
conditional on the line's importId: a line another import wrote is never touched, and running again
removes nothing more. Progress (lines removed, chunks done) is saved after each chunk, so a run that
stops is continued by the next one: a run out of time hands on (`RevertRun.more`) and the workflow runs
the step again, until no line is left; a run retried after a crash, or a new revert after a failure,
continues the same way. One POST /revert finishes a revert of any size.

The revert holds the import's bank accounts from the request (services/imports.py) until it is reverted,
or stopped before removing any line: an import of one of them queues behind it, so no review is made
against lines that are about to leave the ledger. A revert that stopped part-way (revertFailed after
removing lines) keeps holding them until a new revert finishes it.

Ledger lines a reconciliation matched are never removed behind its back: before the first delete every
line of the import is read, and if a live reconciliation (any status but FAILED) holds one, nothing is
removed and the revert ends revertFailed with `ReconciledLines` naming the reconciliations (unmatch their
entries, then revert again). The deletes themselves are conditional on the line carrying no live mark, so
an entry that matches a line while the revert runs keeps its line, and the revert stops the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

from tximport.errors import Conflict
from tximport.models import ErrorDetail, Import, ImportStatus, Severity, Tenant, utcnow
from tximport.reconciliation.models import ReconciliationStatus
from tximport.services.lifecycle import Lifecycle
from tximport.services.statements import StatementService
from tximport.storage.ledger import LedgerStore, LinesHeld, PartialDelete
from tximport.storage.reconciliations import ReconciliationsStore
from tximport.storage.staging import Staging

log = logging.getLogger(__name__)

#: the time a revert keeps, for each day whose lines it removed, to recompute that day's balance before it stops
#: (about what a day took on the local stack with 16 threads; on DynamoDB it takes less)
REFRESH_MS_PER_DAY = 100


@dataclass(frozen=True, slots=True)
class RevertRun:
    """What a run of the revert workflow leaves: the import, whether another run goes on (`more`), and the chunks
    whose days are recomputed (the next run recomputes the days of those after them)."""

    imp: Import
    more: bool
    refreshed_through: int


@dataclass(slots=True)
class _Budget:
    """When a run stops: out of time (the time it keeps for the days it touched counted), or at the chunk it
    may not start (`stop_at`: the run's cap of chunks)."""

    remaining_ms: Callable[[], int] | None
    margin_ms: int
    touched: set[tuple[str, date]]
    stop_at: int | None

    def out_of_time(self) -> bool:
        reserve = self.margin_ms + REFRESH_MS_PER_DAY * len(self.touched)
        return self.remaining_ms is not None and self.remaining_ms() < reserve

    def capped(self, index: int) -> bool:
        return self.stop_at is not None and index >= self.stop_at


class RevertService:
    def __init__(self, *, lifecycle: Lifecycle, ledger: LedgerStore, staging: Staging,
                 workers: int = 16, margin_seconds: float = 10.0, statements: StatementService | None = None,
                 reconciliations: ReconciliationsStore | None = None, chunks_per_run: int | None = None) -> None:
        self.lifecycle = lifecycle
        #: whose marks on the import's lines hold them (None: every mark holds its line)
        self.reconciliations = reconciliations
        self.statements = statements
        self.imports = lifecycle.imports
        self.ledger = ledger
        self.staging = staging
        self.workers = workers
        self.margin_ms = int(margin_seconds * 1000)
        #: the most staged chunks a run of the revert workflow handles before the next run takes over (None: as
        #: many as its time allows)
        self.chunks_per_run = chunks_per_run

    def run(self, tenant: Tenant, import_id: str, *, remaining_ms: Callable[[], int] | None = None,
            refreshed_through: int = 0) -> RevertRun:
        """One run of the revert workflow: remove the ledger lines this import wrote from where its revert stands,
        and mark it reverted once none is left. A run that runs out of time (or has handled `chunks_per_run`
        chunks) after removing lines saves its progress and answers `more`: the workflow runs it again, and the
        import stays reverting. A failure, or a run that could remove nothing, marks it revertFailed (a new
        revert continues from there). Safe to run twice: a reverted import, or one whose revert nobody asked
        for, is left as it is.
        The balances of the days whose lines went are recomputed once, before the run answers (time is kept for
        them: `REFRESH_MS_PER_DAY` for each day touched so far); the days of the chunks from `refreshed_through`
        on, as an earlier run of the same workflow recomputed those before it."""
        imp = self.imports.get(tenant, import_id)
        if imp.revert.status != "reverting":
            return RevertRun(imp, more=False, refreshed_through=refreshed_through)
        try:
            # saving first makes this run the owner: a concurrent run of the same request fails its
            # next save (optimistic lock) and stops
            self.imports.save(imp)
        except Conflict:
            return RevertRun(self.imports.get(tenant, import_id), more=False, refreshed_through=refreshed_through)
        # a run that continues an earlier one recomputes that run's days too (it may have stopped before)
        touched = self._days_of(imp, range(min(refreshed_through, imp.revert.chunks_done), imp.revert.chunks_done))
        budget = _Budget(remaining_ms, self.margin_ms, touched, imp.revert.chunks_done + self.chunks_per_run
                         if self.chunks_per_run else None)
        outcome = self._remove(imp, touched, budget)
        try:
            self.ledger.refresh_totals(tenant, touched, workers=self.workers)
        except Exception as exc:
            log.exception("the balances after the revert of %s were not recomputed", import_id)
            return RevertRun(self._failed(tenant, import_id, ErrorDetail(
                severity=Severity.ERROR, code="RevertFailed", message=f"the balances of the days whose lines "
                f"were removed were not recomputed ({type(exc).__name__}); revert again to continue"[:1000])),
                more=False, refreshed_through=refreshed_through)
        if outcome is None:
            return RevertRun(imp, more=True, refreshed_through=imp.revert.chunks_done)
        return RevertRun(outcome(), more=False, refreshed_through=imp.revert.chunks_done)

    def _remove(self, imp: Import, touched: set[tuple[str, date]], budget: _Budget
                ) -> Callable[[], Import] | None:
        """Remove the import's lines chunk by chunk from where the revert stands, saving progress after each;
        the days of the lines handled go into `touched`. Answers what records the outcome, or None when the run
        stopped with lines left after removing some (the workflow runs it again)."""
        tenant, import_id = imp.tenant, imp.id
        before = (imp.revert.chunks_done, imp.revert.line_count or 0)
        try:
            decisions = self.imports.decisions(imp)  # what the commit wrote is what they chose
            if imp.revert.chunks_done == 0 and not imp.revert.line_count:  # nothing removed yet
                held = self._live(tenant, self._holders(imp, decisions))
                if held:
                    return partial(self._failed, tenant, import_id, reconciled_lines(held, removed=0))
            released: frozenset[str] = frozenset()
            for index in range(imp.revert.chunks_done, len(imp.chunk_keys)):
                if budget.capped(index):
                    return None
                try:
                    removed, complete, released = self._delete_chunk(imp, index, released, budget.out_of_time,
                                                                     touched, decisions)
                except PartialDelete as exc:
                    self._progress(imp, exc.removed, index)
                    raise exc.cause from exc
                except LinesHeld as exc:
                    self._progress(imp, exc.removed, index)
                    return partial(self._failed, tenant, import_id, reconciled_lines(
                        exc.holders, removed=imp.revert.line_count or 0))
                self._reopen_pending(imp, index)
                self._progress(imp, removed, index + 1 if complete else index)
                if not complete:
                    if (imp.revert.chunks_done, imp.revert.line_count or 0) != before:
                        return None  # the next run goes on from here
                    return partial(self._failed, tenant, import_id, ErrorDetail(
                        severity=Severity.ERROR, code="RevertIncomplete",
                        message=f"the revert ran out of time after removing {imp.revert.line_count} ledger "
                                "line(s); revert again to continue"))
        except Conflict:
            log.info("revert of %s continues in another run", import_id)
            return partial(self.imports.get, tenant, import_id)
        except Exception as exc:
            log.exception("revert of %s failed", import_id)
            return partial(self._failed, tenant, import_id, ErrorDetail(
                severity=Severity.ERROR, code="RevertFailed",
                message=f"the revert failed ({type(exc).__name__}: {exc}); revert again to continue"[:1000]))
        return partial(self._finish, imp)

    def fail(self, tenant: Tenant, import_id: str, error: dict[str, Any] | None) -> Import:
        """A run of the revert workflow failed past its retries (`error`: the state machine's Error and Cause):
        revertFailed, and a new revert continues from where the runs stopped."""
        error = error or {}
        what = str(error.get("Error") or "an error")
        return self._failed(tenant, import_id, ErrorDetail(
            severity=Severity.ERROR, code="RevertFailed",
            message=f"the revert failed ({what}); revert again to continue"[:1000]))

    def _days_of(self, imp: Import, chunks: range) -> set[tuple[str, date]]:
        """The (account, day)s of the import's staged lines in these chunks."""
        return {(row.bank_account_id, row.date_posted) for index in chunks
                for row in self.staging.rows(imp.chunk_keys[index])}

    def _delete_chunk(self, imp: Import, index: int, released: frozenset[str], stop: Callable[[], bool],
                      touched: set[tuple[str, date]], decisions: Mapping[str, str]
                      ) -> tuple[int, bool, frozenset[str]]:
        """Remove one chunk's lines (those the commit wrote, as `decisions` chose them); a line held by a FAILED
        reconciliation's mark is removed too (the reconciliation holds nothing any more). Answers (removed,
        complete, the reconciliations released); raises `LinesHeld` naming the live holders, the lines removed
        before it counted."""
        removed = 0
        while True:
            try:
                done, complete = self.ledger.delete_many_if_from_import(
                    imp.tenant, self.staging.written_rows(imp.chunk_keys[index], imp.id, decisions), imp.id,
                    workers=self.workers, stop=stop, released=released, touched=touched)
                return removed + done, complete, released
            except PartialDelete as exc:
                raise PartialDelete(removed + exc.removed, exc.cause) from exc.cause
            except LinesHeld as exc:
                removed += exc.removed
                live = self._live(imp.tenant, exc.holders)
                if live:
                    raise LinesHeld(removed, live) from None
                released |= frozenset(exc.holders)

    def _holders(self, imp: Import, decisions: Mapping[str, str]) -> dict[str, int]:
        """How many of the import's ledger lines each reconciliation holds. Only lines a live reconciliation of
        their account could hold are read (booked in its period widened by its date window, where any line it
        matches is): none when no such reconciliation is near the import's lines."""
        near = self._near(imp)
        if near == []:
            return {}
        found: dict[str, int] = {}
        for chunk_key in imp.chunk_keys:
            refs = [(r.bank_account_id, r.date_posted, r.transaction_id)
                    for r in self.staging.written_rows(chunk_key, imp.id, decisions)
                    if near is None or any(account == r.bank_account_id and first <= r.date_posted <= last
                                           for account, first, last in near)]
            for line in self.ledger.get_lines(imp.tenant, refs) if refs else []:
                if line.reconciliation is not None and line.import_id == imp.id:
                    rec_id = line.reconciliation.reconciliation_id
                    found[rec_id] = found.get(rec_id, 0) + 1
        return found

    def _near(self, imp: Import) -> list[tuple[str, date, date]] | None:
        """(account, first day, last day) where a live reconciliation of one of the import's accounts may hold
        lines; None when every mark counts (no reconciliations store)."""
        if self.reconciliations is None:
            return None
        accounts = set(self.lifecycle.account_ids(imp))
        return [(rec.account_id, rec.period_start - timedelta(days=rec.options.date_window_days),
                 rec.period_end + timedelta(days=rec.options.date_window_days))
                for rec in self.reconciliations.list_all(imp.tenant)
                if rec.account_id in accounts and rec.status != ReconciliationStatus.FAILED]

    def _live(self, tenant: Tenant, holders: dict[str, int]) -> dict[str, int]:
        """The holders whose marks still hold their lines: all but FAILED (or deleted) reconciliations."""
        if self.reconciliations is None:
            return dict(holders)
        live = {}
        for rec_id, count in holders.items():
            rec = self.reconciliations.get(tenant, rec_id)
            if rec is not None and rec.status != ReconciliationStatus.FAILED:
                live[rec_id] = count
        return live

    def undo_commit(self, tenant: Tenant, import_id: str) -> int:
        """A commit that failed part-way (the import is still finalProcessing): remove every ledger line
        it wrote, and say so on the import; answers how many went. Safe to run again (the deletes are
        conditional on the line's importId). Any other status is left alone: a complete import keeps
        its lines, and one that never reached the commit wrote none. A failure raises, for the
        workflow's retry (lines already removed are not counted twice)."""
        imp = self.imports.get(tenant, import_id)
        if imp.status != ImportStatus.FINAL_PROCESSING:
            return 0
        self._record(tenant, import_id, self._undoing)
        removed = 0
        touched: set[tuple[str, date]] = set()  # the days' balances, once, after every chunk (also after a failure)
        decisions = self.imports.decisions(imp)
        try:
            for chunk_key in imp.chunk_keys:
                try:
                    rows = self.staging.written_rows(chunk_key, imp.id, decisions)
                    done, _ = self.ledger.delete_many_if_from_import(tenant, rows, imp.id, workers=self.workers,
                                                                     touched=touched)
                except PartialDelete as exc:  # counted for the retry, which finds these lines gone
                    self._record(tenant, import_id, partial(self._count, removed=exc.removed))
                    raise exc.cause from exc
                removed += done
                if done:
                    self._record(tenant, import_id, partial(self._count, removed=done))
        finally:
            self.ledger.refresh_totals(tenant, touched, workers=self.workers)
        for index in range(len(imp.chunk_keys)):
            self._reopen_pending(imp, index)
        self._record(tenant, import_id, self._undone)
        return removed

    @staticmethod
    def _count(imp: Import, removed: int) -> None:
        """Lines an undo removed, counted across its runs (a retried undo finds the earlier runs' lines gone)."""
        imp.revert.line_count = (imp.revert.line_count or 0) + removed

    @staticmethod
    def _undoing(imp: Import) -> None:
        """While the lines go: a note saying why (a client polling the import sees the commit failed before the
        failure is recorded, and why its lines are leaving the ledger). The revert status stays as it is: an undo
        that fails leaves the rest to a revert, which a `reverting` status would take for one under way."""
        imp.error_details = [*(d for d in imp.error_details if d.code != "CommitFailed"), ErrorDetail(
            severity=Severity.INFO, code="CommitFailed",
            message="the commit failed part-way: the ledger lines it had written are being removed; the import "
                    "then ends in error")]

    @staticmethod
    def _undone(imp: Import) -> None:
        """Its lines are gone: revert status reverted, and a note in its details with how many went in all."""
        imp.revert.status = "reverted"
        removed = imp.revert.line_count = imp.revert.line_count or 0
        imp.error_details = [*(d for d in imp.error_details if d.code not in ("CommitUndone", "CommitFailed")),
                             ErrorDetail(severity=Severity.INFO, code="CommitUndone", message=f"the commit failed "
                                         f"part-way: the {removed} ledger line(s) it had written were removed")]

    def _record(self, tenant: Tenant, import_id: str, change: Callable[[Import], None]) -> None:
        """Save `change` on the import while it is still finalProcessing (the failure is recorded next); a retried
        undo records it once."""
        for _ in range(5):
            imp = self.imports.get(tenant, import_id)
            if imp.status != ImportStatus.FINAL_PROCESSING:
                return
            change(imp)
            try:
                self.imports.save(imp)
                return
            except Conflict:
                continue
        raise Conflict(f"import {import_id} kept changing while its undone commit was recorded",
                       code="ConcurrentUpdate", target="id")

    def _reopen_pending(self, imp: Import, index: int) -> None:
        """The pending lines this chunk's booked lines replaced are open again (idempotent: conditional on the link)."""
        for row in self.staging.rows(imp.chunk_keys[index]):
            if row.replaces_pending_id:
                self.ledger.restore_pending(imp.tenant, row)

    def _progress(self, imp: Import, removed: int, chunks_done: int) -> None:
        imp.revert.line_count = (imp.revert.line_count or 0) + removed
        imp.revert.chunks_done = chunks_done
        self.imports.save(imp)

    def _finish(self, imp: Import) -> Import:
        removed = imp.revert.line_count = imp.revert.line_count or 0
        if self.statements is not None:  # the accounts' previous closings are their last again
            self.statements.reverted(imp)
        imp.reverted = utcnow()
        imp.revert.status = "reverted"
        imp.error_details = [*_without_revert_failures(imp.error_details), ErrorDetail(
            severity=Severity.INFO, code="Reverted", message=f"reverted: {removed} ledger line(s) removed")]
        if imp.file_sha256:
            for account in imp.bank_accounts:
                self.imports.delete_replay(imp.tenant, account.id, imp.file_sha256, imp.id)
        self.imports.save(imp)  # the table's stream announces it (newStatus "reverted")
        self.lifecycle.release(imp, revert=True)  # the imports queued behind the revert go on
        return imp

    def _failed(self, tenant: Tenant, import_id: str, detail: ErrorDetail) -> Import:
        """Record the failure on the latest version of the import (our copy may be stale)."""
        for _ in range(5):
            imp = self.imports.get(tenant, import_id)
            if imp.revert.status != "reverting":
                return imp
            imp.revert.status = "revertFailed"
            imp.error_details = [*_without_revert_failures(imp.error_details), detail]
            try:
                saved = self.imports.save(imp)
            except Conflict:
                continue
            if not saved.revert_unfinished:  # it removed nothing: a new revert takes the accounts again
                self.lifecycle.release(saved, revert=True)
            return saved
        raise Conflict(f"import {import_id} kept changing while its revert failure was recorded",
                       code="ConcurrentUpdate", target="id")


#: what an earlier run of a revert said when it stopped: the next outcome says where the revert stands now
_REVERT_FAILURES = frozenset({"RevertIncomplete", "RevertFailed", "ReconciledLines"})


def _without_revert_failures(details: list[ErrorDetail]) -> list[ErrorDetail]:
    return [d for d in details if d.code not in _REVERT_FAILURES]


def reconciled_lines(holders: dict[str, int], *, removed: int) -> ErrorDetail:
    """Why a revert stopped: the reconciliations holding the import's lines (ids in `actualValue`, comma
    separated, and in the message with how many lines each holds)."""
    named = ", ".join(f"{rec_id} ({count} line(s))" for rec_id, count in sorted(holders.items()))
    return ErrorDetail(
        severity=Severity.ERROR, code="ReconciledLines", target="reconciliations",
        actual_value=",".join(sorted(holders)),
        message=(f"ledger lines of this import are matched by reconciliation(s) {named}: unmatch those entries "
                 "(PATCH /baas/api/v1/reconciliations/{id}/entries/{entry} with matchStatus UNMATCHED), then "
                 f"revert again; {removed} line(s) were removed, the matched lines were kept")[:1000])
