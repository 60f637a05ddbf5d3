"""The workflow's own steps (claim, queue, await confirmation, commit bookkeeping, complete, fail)."""

from __future__ import annotations

import logging
import time
from typing import Any

from tximport.errors import Conflict
from tximport.models import ErrorDetail, Import, ImportStatus, Severity, utcnow
from tximport.services.lifecycle import Lifecycle
from tximport.tasks import step_error

log = logging.getLogger(__name__)


class WorkflowService:
    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self.imports = lifecycle.imports

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
                self.lifecycle.resume_next(imp, account_id)

    def await_confirmation(self, imp: Import, token: str) -> None:
        """Park the confirmation task token on the import."""
        if imp.status == ImportStatus.DELETED:
            self.lifecycle.resume(token, {"action": "delete"})
            return
        imp.task_token = token
        if imp.status != ImportStatus.AWAITING_CONFIRMATION:
            self.lifecycle.transition(imp, ImportStatus.AWAITING_CONFIRMATION)
        else:
            self.imports.save(imp)

    def expire(self, imp: Import) -> None:
        """Nobody confirmed in time."""
        if imp.status != ImportStatus.AWAITING_CONFIRMATION:
            return
        self.lifecycle.fail(imp, [ErrorDetail(
            code="ConfirmationExpired",
            message="the import was not confirmed within the confirmation window and has expired")])

    def begin_commit(self, imp: Import) -> list[str]:
        if imp.status not in (ImportStatus.FINAL_PROCESSING, ImportStatus.AWAITING_CONFIRMATION):
            raise Conflict(f"import {imp.id} is {imp.status.value}, not confirmable", code="InvalidStatus")
        imp.task_token = None
        self.lifecycle.transition(imp, ImportStatus.FINAL_PROCESSING)
        return imp.chunk_keys

    def complete(self, imp: Import) -> None:
        if imp.status == ImportStatus.COMPLETE:
            return
        self.lifecycle.transition(imp, ImportStatus.COMPLETE, completed=utcnow())
        if imp.file_sha256:
            for account in imp.bank_accounts:
                self.imports.put_replay(imp.tenant, account.id, imp.file_sha256, imp.id, imp.expires_at)
        self.lifecycle.release(imp)

    def fail(self, imp: Import, error: dict[str, Any] | None) -> None:
        message, code = step_error(error, code="ProcessingError", message="processing failed")
        if code in ("States.Timeout", "States.TaskFailed", "States.Runtime"):
            code = "ProcessingError"
        self.lifecycle.fail(imp, [ErrorDetail(severity=Severity.ERROR, code="ProcessingError",
                                              message=f"{message} ({code})"[:1000], target="File")])


def expires_at(days: int) -> int:
    return int(time.time()) + days * 24 * 3600
