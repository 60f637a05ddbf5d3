"""The workflow's own steps (claim, queue, await confirmation, commit bookkeeping, complete, fail)."""

from __future__ import annotations

import logging
import time
from typing import Any

from tximport.errors import Conflict
from tximport.models import FINAL_STATUSES, ErrorDetail, Import, ImportStatus, Severity, utcnow
from tximport.services.lifecycle import Lifecycle
from tximport.services.pinning import FILE_CHANGED, FILE_CHANGED_MESSAGE, UploadedFiles
from tximport.services.statements import StatementService
from tximport.tasks import step_error

log = logging.getLogger(__name__)


class WorkflowService:
    def __init__(self, lifecycle: Lifecycle, statements: StatementService | None = None, *,
                 files: UploadedFiles) -> None:
        self.lifecycle = lifecycle
        self.imports = lifecycle.imports
        self.statements = statements
        self.files = files

    def claim(self, imp: Import, execution_arn: str | None) -> str:
        """Take the import's accounts: `process` when they are free, `wait` when queued, `stop` when the
        import is no longer startable (deleted, or already handled by an earlier execution)."""
        if imp.status not in (ImportStatus.AWAITING_FILE_UPLOAD, ImportStatus.PROCESSING, ImportStatus.QUEUED):
            return "stop"
        if not self.lifecycle.acquire(imp):
            if imp.status != ImportStatus.QUEUED:
                self.lifecycle.transition(imp, ImportStatus.QUEUED, file_uploaded=True,
                                          execution_arn=execution_arn or imp.execution_arn)
            return "wait"
        self.lifecycle.transition(imp, ImportStatus.PROCESSING, file_uploaded=True,
                                  execution_arn=execution_arn or imp.execution_arn)
        return "process"

    def enqueue(self, imp: Import, token: str) -> None:
        """Park the task token behind the account that is busy. If the account came free meanwhile,
        resume at once (the release that would have woken us may already have happened)."""
        created = imp.created.isoformat()
        for account_id in self.lifecycle.account_ids(imp):
            self.lifecycle.locks.enqueue(imp.tenant, account_id, created, imp.id, token)
        for account_id in self.lifecycle.account_ids(imp):
            if self.lifecycle.locks.holder(imp.tenant, account_id) is None:
                self.lifecycle.resume_next(imp.tenant, account_id)

    def await_confirmation(self, imp: Import, token: str) -> None:
        """Park the confirmation task token on the import (status awaitingConfirmation). An import that
        ended meanwhile (deleted, failed) ends the wait at once; a retried step parks the same token."""
        if imp.status in FINAL_STATUSES:
            self.lifecycle.resume(token, {"action": "delete" if imp.status == ImportStatus.DELETED else "stop"})
            return
        if imp.status == ImportStatus.AWAITING_CONFIRMATION and imp.task_token == token:
            return
        taken = imp.token_taken
        if taken is not None and imp.status in (ImportStatus.FINAL_PROCESSING, ImportStatus.PROCESSING):
            # a confirm or amend took the token of an earlier attempt of this step (which failed after
            # parking it, and was retried): its decision stands and goes to this attempt. The write
            # first, so that the caller, whose token died with that attempt, finds it handed on
            if taken.token != token:
                self.lifecycle.transition(imp, imp.status, token_taken=taken.model_copy(update={"token": token}))
            self.lifecycle.resume(token, {"action": taken.action})
            return
        self.lifecycle.transition(imp, ImportStatus.AWAITING_CONFIRMATION, task_token=token, token_taken=None)

    def expire(self, imp: Import) -> None:
        """The confirmation window closed: the execution ends here, so the import must end too.

        Whatever it shows is settled by the timeout: still awaiting, or taken by a confirm or amend whose
        token died with the window (that call's send fails and its put-back loses to this write, so it
        answers 409 ConfirmationExpired). A final import only has its accounts released (again)."""
        if imp.status in FINAL_STATUSES:
            self.lifecycle.release(imp)
            return
        # a call that took the token is settled by the timeout: what it changed goes back
        self.lifecycle.fail(imp.without_taken_token(), [ErrorDetail(
            code="ConfirmationExpired",
            message="the import was not confirmed within the confirmation window and has expired")])

    def begin_commit(self, imp: Import) -> list[str]:
        """Answers the staged chunk keys of a confirmed import (status finalProcessing, set by the write
        that took the confirmation token, or by processing when the review level confirms by itself)."""
        if imp.status != ImportStatus.FINAL_PROCESSING:
            raise Conflict(f"import {imp.id} is {imp.status.value}, not confirmed", code="InvalidStatus")
        if imp.commit_started is None and self.files.changed(imp):
            if imp.token_taken is not None and imp.token_taken.action == "confirm":
                # a client's confirm won the import (204) before the later upload's event was handled: the confirm
                # stands (document 002: it cannot be undone), and the later upload goes, as once committing
                self.files.keep_pinned(imp)
            else:
                # another file landed on the key since it was read (a review level that confirms by itself): its
                # lines are not what the ledger gets, and the reviewed ones no longer match the stored file. The
                # step fails; RecordFailure keeps this
                self.files.fail(imp)
                raise Conflict(f"import {imp.id}: {FILE_CHANGED_MESSAGE}", code=FILE_CHANGED, target="File")
        if imp.commit_started is None:  # saved before any line is written (a retried step keeps the first)
            self.lifecycle.transition(imp, ImportStatus.FINAL_PROCESSING, commit_started=utcnow())
        return imp.chunk_keys

    def complete(self, imp: Import) -> None:
        """Status complete, the file remembered for replay protection, the statements kept in the accounts'
        histories, the accounts released. Each part runs again when the step is retried (a crash after the
        status write still releases; the history's items are the same ones again)."""
        if self.statements is not None and imp.revert.status is None:  # (a reverted import's stay out)
            self.statements.confirmed(imp)
        if imp.status != ImportStatus.COMPLETE:
            self.lifecycle.transition(imp, ImportStatus.COMPLETE, completed=utcnow())
        if imp.file_sha256:
            for account in imp.bank_accounts:
                self.imports.put_replay(imp.tenant, account.id, imp.file_sha256, imp.id, imp.expires_at)
        self.lifecycle.release(imp)

    def fail(self, imp: Import, error: dict[str, Any] | None) -> None:
        """Status error with the caught error, accounts released. A complete import stays complete (a
        step after its status write failed: its ledger lines are the reviewed file)."""
        if imp.status == ImportStatus.COMPLETE:
            self.lifecycle.release(imp)
            return
        message, code = step_error(error, code="ProcessingError", message="processing failed")
        if code == "States.Timeout":  # the step's Cause says nothing a client can act on
            message = ("a step did not finish within its time limit (the file, or the ledger days its duplicate "
                       "check reads, took longer than allowed): send the file again, or in parts")
        if code in ("States.Timeout", "States.TaskFailed", "States.Runtime"):
            code = "ProcessingError" if code != "States.Timeout" else "Timeout"
        self.lifecycle.fail(imp, [ErrorDetail(severity=Severity.ERROR, code="ProcessingError",
                                              message=f"{message} ({code})"[:1000], target="File")])


def expires_at(days: int) -> int:
    return int(time.time()) + days * 24 * 3600
