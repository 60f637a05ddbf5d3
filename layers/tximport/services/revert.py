"""Reverting a complete import, run by the revert function (the API only asks for it).

The ledger lines an import wrote are removed chunk by chunk, with bounded parallelism, by a delete
conditional on the line's importId: a line another import wrote is never touched, and running again
removes nothing more. Progress (lines removed, chunks done) is saved after each chunk, so a run that
stops (out of time, an error, Lambda's own retry of an asynchronous invocation) is continued by the
next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from tximport.errors import Conflict
from tximport.models import ErrorDetail, Import, ImportStatus, Severity, Tenant, utcnow
from tximport.services.lifecycle import Lifecycle
from tximport.services.statements import StatementService
from tximport.storage.ledger import LedgerStore, PartialDelete
from tximport.storage.staging import Staging

log = logging.getLogger(__name__)


class RevertService:
    def __init__(self, *, lifecycle: Lifecycle, ledger: LedgerStore, staging: Staging,
                 workers: int = 16, margin_seconds: float = 10.0, statements: StatementService | None = None) -> None:
        self.lifecycle = lifecycle
        self.statements = statements
        self.imports = lifecycle.imports
        self.ledger = ledger
        self.staging = staging
        self.workers = workers
        self.margin_ms = int(margin_seconds * 1000)

    def run(self, tenant: Tenant, import_id: str, *, remaining_ms: Callable[[], int] | None = None) -> Import:
        """Remove the ledger lines this import wrote and mark it reverted; on failure, or when the
        invocation runs out of time, mark it revertFailed (a new revert continues from there).
        Safe to run twice: a reverted import, or one whose revert nobody asked for, is left as it is."""
        imp = self.imports.get(tenant, import_id)
        if imp.revert.status != "reverting":
            return imp
        try:
            # saving first makes this run the owner: a concurrent run of the same request fails its
            # next save (optimistic lock) and stops
            self.imports.save(imp)
        except Conflict:
            return self.imports.get(tenant, import_id)

        def out_of_time() -> bool:
            return remaining_ms is not None and remaining_ms() < self.margin_ms

        try:
            for index in range(imp.revert.chunks_done, len(imp.chunk_keys)):
                try:
                    removed, complete = self.ledger.delete_many_if_from_import(
                        tenant, self.staging.rows(imp.chunk_keys[index]), imp.id,
                        workers=self.workers, stop=out_of_time)
                except PartialDelete as exc:
                    self._progress(imp, exc.removed, index)
                    raise exc.cause from exc
                self._reopen_pending(imp, index)
                self._progress(imp, removed, index + 1 if complete else index)
                if not complete:
                    return self._failed(tenant, import_id, ErrorDetail(
                        severity=Severity.ERROR, code="RevertIncomplete",
                        message=f"the revert ran out of time after removing {imp.revert.line_count} ledger "
                                "line(s); revert again to continue"))
        except Conflict:
            log.info("revert of %s continues in another run", import_id)
            return self.imports.get(tenant, import_id)
        except Exception as exc:
            log.exception("revert of %s failed", import_id)
            return self._failed(tenant, import_id, ErrorDetail(
                severity=Severity.ERROR, code="RevertFailed",
                message=f"the revert failed ({type(exc).__name__}: {exc}); revert again to continue"[:1000]))
        return self._finish(imp)

    def undo_commit(self, tenant: Tenant, import_id: str) -> int:
        """A commit that failed part-way (the import is still finalProcessing): remove every ledger line
        it wrote, and say so on the import; answers how many went. Safe to run again (the deletes are
        conditional on the line's importId). Any other status is left alone: a complete import keeps
        its lines, and one that never reached the commit wrote none. A failure raises, for the
        workflow's retry (lines already removed are not counted twice)."""
        imp = self.imports.get(tenant, import_id)
        if imp.status != ImportStatus.FINAL_PROCESSING:
            return 0
        removed = 0
        for chunk_key in imp.chunk_keys:
            try:
                done, _ = self.ledger.delete_many_if_from_import(tenant, self.staging.rows(chunk_key), imp.id,
                                                                 workers=self.workers)
            except PartialDelete as exc:
                raise exc.cause from exc
            removed += done
        for index in range(len(imp.chunk_keys)):
            self._reopen_pending(imp, index)
        self._undone(tenant, import_id, removed)
        return removed

    def _undone(self, tenant: Tenant, import_id: str, removed: int) -> None:
        """Record on the import (still finalProcessing: the failure is recorded next) that its lines are
        gone: revert status reverted, and a note in its details. A retried undo records it once."""
        for _ in range(5):
            imp = self.imports.get(tenant, import_id)
            if imp.status != ImportStatus.FINAL_PROCESSING:
                return
            imp.revert.status = "reverted"
            imp.revert.line_count = removed
            imp.error_details = [*(d for d in imp.error_details if d.code != "CommitUndone"), ErrorDetail(
                severity=Severity.INFO, code="CommitUndone",
                message=f"the commit failed part-way: the {removed} ledger line(s) it had written were removed")]
            try:
                self.imports.save(imp)
                return
            except Conflict:
                continue
        raise Conflict(f"import {import_id} kept changing while its undone commit was recorded",
                       code="ConcurrentUpdate")

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
        imp.error_details = [*imp.error_details, ErrorDetail(
            severity=Severity.INFO, code="Reverted", message=f"reverted: {removed} ledger line(s) removed")]
        if imp.file_sha256:
            for account in imp.bank_accounts:
                self.imports.delete_replay(imp.tenant, account.id, imp.file_sha256, imp.id)
        self.imports.save(imp)  # the table's stream announces it (newStatus "reverted")
        return imp

    def _failed(self, tenant: Tenant, import_id: str, detail: ErrorDetail) -> Import:
        """Record the failure on the latest version of the import (our copy may be stale)."""
        for _ in range(5):
            imp = self.imports.get(tenant, import_id)
            if imp.revert.status != "reverting":
                return imp
            imp.revert.status = "revertFailed"
            imp.error_details = [*imp.error_details, detail]
            try:
                return self.imports.save(imp)
            except Conflict:
                continue
        raise Conflict(f"import {import_id} kept changing while its revert failure was recorded",
                       code="ConcurrentUpdate")
