"""Status changes of an import, in one place: every change is saved with optimistic locking (the
imports table's stream announces it, see services/events.py), and releasing an import's accounts
resumes the oldest import queued behind it."""

from __future__ import annotations

import logging
from typing import Any

from tximport.adapters.workflow import WorkflowEngine
from tximport.models import ErrorDetail, Import, ImportStatus
from tximport.storage.repository import ImportsStore, LocksStore

log = logging.getLogger(__name__)


class Lifecycle:
    """Moves imports between statuses and manages their account locks."""

    def __init__(self, imports: ImportsStore, locks: LocksStore, workflow: WorkflowEngine) -> None:
        self.imports = imports
        self.locks = locks
        self.workflow = workflow

    def transition(self, imp: Import, status: ImportStatus, **changes: Any) -> Import:
        """Save `imp` with a new status (and other changes); the table's stream announces the change."""
        imp.status = status
        for name, value in changes.items():
            setattr(imp, name, value)
        self.imports.save(imp)
        return imp

    def fail(self, imp: Import, details: list[ErrorDetail]) -> Import:
        """Status error with `details`, accounts released (never over a deleted import)."""
        if imp.status in (ImportStatus.DELETED, ImportStatus.ERROR):
            self.release(imp)
            return imp
        imp.error_details = [*details, *imp.error_details]  # the reason it failed comes first
        imp.task_token = None
        self.transition(imp, ImportStatus.ERROR)
        self.release(imp)
        return imp

    # accounts ------------------------------------------------------------------------------
    def account_ids(self, imp: Import) -> list[str]:
        return sorted({a.id for a in imp.bank_accounts})

    def acquire(self, imp: Import) -> bool:
        """Take every account of the import, or none (all or nothing, in a fixed order)."""
        taken: list[str] = []
        for account_id in self.account_ids(imp):
            if not self.locks.acquire(imp.tenant, account_id, imp.id):
                for done in taken:
                    self.locks.release(imp.tenant, done, imp.id)
                return False
            taken.append(account_id)
        return True

    def release(self, imp: Import) -> None:
        """Give back the import's accounts and wake the oldest import waiting for each of them."""
        for account_id in self.account_ids(imp):
            self.locks.remove_import(imp.tenant, account_id, imp.id)
            self.locks.release(imp.tenant, account_id, imp.id)
        for account_id in self.account_ids(imp):
            self.resume_next(imp, account_id)

    def resume_next(self, imp: Import, account_id: str) -> None:
        """Resume the oldest waiter of an account whose lock is free (it retries its claim)."""
        if self.locks.holder(imp.tenant, account_id) is not None:
            return
        for waiter in self.locks.waiting(imp.tenant, account_id):
            if not self.locks.dequeue(imp.tenant, account_id, waiter.sk):
                continue  # somebody else resumed it
            if self.resume(waiter.task_token, {"action": "claim"}):
                return

    def resume(self, token: str, output: dict[str, Any]) -> bool:
        """Send a task token its output; False when the task no longer waits (timed out, ended)."""
        return self.workflow.resume(token, output)
