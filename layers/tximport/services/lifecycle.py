"""Status changes of an import, in one place: every change is saved with optimistic locking (the
imports table's stream announces it, see services/events.py), and releasing an import's accounts
resumes the oldest import queued behind it.

Answering the parked confirmation token is linearised on the import: the action that wins one
conditional write takes the token (`take_token`), and only then sends it (`send_taken`). A concurrent
action loses that write and changes nothing; a token that no longer waits (the confirmation window
closed) puts the import back as it was, unless the workflow's expiry got there first."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from tximport.adapters.workflow import WorkflowEngine
from tximport.errors import Conflict, Unavailable
from tximport.models import ErrorDetail, Import, ImportStatus, Tenant, TokenAction, TokenTaken
from tximport.storage.repository import ImportsStore, LocksStore

log = logging.getLogger(__name__)


#: how a revert names itself as an accounts' holder: apart from its import, so that what releases an ended
#: import's accounts (the reaper, a late clean-up) never releases a revert's hold
REVERT_HOLDER_PREFIX = "revert#"


def revert_holder(import_id: str) -> str:
    return f"{REVERT_HOLDER_PREFIX}{import_id}"


def held_by(holder: str) -> tuple[str, bool]:
    """The import a holder names, and whether it is that import's revert."""
    if holder.startswith(REVERT_HOLDER_PREFIX):
        return holder[len(REVERT_HOLDER_PREFIX):], True
    return holder, False


#: how an import session's commit names itself as the holder of the accounts it writes (a lease: `hold`)
SESSION_HOLDER_PREFIX = "session#"


def session_holder(session_id: str) -> str:
    return f"{SESSION_HOLDER_PREFIX}{session_id}"


def describe_holder(holder: str) -> str:
    """Who holds an account, in words: an import (processed, awaiting confirmation or committed), its revert,
    or an import session's commit."""
    if holder.startswith(SESSION_HOLDER_PREFIX):
        return f"the commit of import session {holder[len(SESSION_HOLDER_PREFIX):]}"
    import_id, reverting = held_by(holder)
    return f"the revert of import {import_id}" if reverting else f"import {import_id}"


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

    # the parked confirmation token --------------------------------------------------------------
    def take_token(self, imp: Import, action: TokenAction, status: ImportStatus, **changes: Any) -> Import:
        """Take the import's parked token for `action` in the one conditional write that also saves
        `status` and `changes` (Conflict for the loser of a race: nothing changed). Answers the import
        as it was before, for `send_taken` to put back if the token no longer waits."""
        token = imp.task_token
        if token is None:
            raise Conflict(f"import {imp.id} has no parked task token", code="InvalidImportStatus",
                           target="status")
        before = imp.model_copy(deep=True)
        undo = before.model_dump(mode="json", include={"status", *changes})
        imp.task_token = None
        imp.token_taken = TokenTaken(action=action, token=token, undo=undo)
        self.transition(imp, status, **changes)
        return before

    def send_taken(self, imp: Import, before: Import, output: dict[str, Any]) -> None:
        """Send the token `imp` took (after its write won). When the token no longer waits, put `before`
        back (conditional on the write we made, so an expiry that moved on meanwhile is kept) and answer
        Conflict ConfirmationExpired. A failure to reach the engine leaves the token taken (a retried
        confirm sends it again; otherwise the expiry ends the import) and answers Unavailable."""
        taken = imp.token_taken
        if taken is None:
            raise RuntimeError(f"import {imp.id} has no taken token to send")
        try:
            sent = self.resume(taken.token, output)
        except Exception as exc:
            log.warning("sending the task token of %s failed: %s", imp.id, exc)
            raise Unavailable("the workflow did not answer; call again") from exc
        if sent:
            return
        before.version = imp.version
        try:
            self.imports.save(before)
        except Conflict:
            latest = self.imports.get(imp.tenant, imp.id)
            handed_on = latest.token_taken
            if (latest.status == imp.status and handed_on is not None and handed_on.action == taken.action
                    and handed_on.at == taken.at):
                return  # a retried attempt of the waiting step took our decision with its own token
            log.info("import %s moved on while its token expired", imp.id)
        raise Conflict("the import is no longer waiting for confirmation: the confirmation window closed",
                       code="ConfirmationExpired", target="status")

    # accounts ------------------------------------------------------------------------------
    def account_ids(self, imp: Import) -> list[str]:
        return sorted({a.id for a in imp.bank_accounts})

    def acquire(self, imp: Import, *, revert: bool = False) -> bool:
        """Take every account of the import, or none (all or nothing, in a fixed order); with `revert`, for the
        import's revert (its own holder name: what releases the import's accounts leaves a revert's alone)."""
        owner = revert_holder(imp.id) if revert else imp.id
        taken: list[str] = []
        for account_id in self.account_ids(imp):
            if not self.locks.acquire(imp.tenant, account_id, owner):
                for done in taken:
                    self.locks.release(imp.tenant, done, owner)
                return False
            taken.append(account_id)
        return True

    def release(self, imp: Import, *, revert: bool = False) -> None:
        """Give back the import's accounts (with `revert`, its revert's) and wake the oldest import waiting for
        each of them."""
        for account_id in self.account_ids(imp):
            if revert:
                self.locks.release(imp.tenant, account_id, revert_holder(imp.id))
            else:
                self.locks.remove_import(imp.tenant, account_id, imp.id)
                self.locks.release(imp.tenant, account_id, imp.id)
        for account_id in self.account_ids(imp):
            self.resume_next(imp.tenant, account_id)

    def hold(self, tenant: Tenant, account_ids: Iterable[str], holder: str, until: int) -> tuple[str, str] | None:
        """Take every account for a writer that is no import (an import session's commit) until `until` (epoch
        seconds; taking them again renews the lease), all or none in a fixed order, so that no import is
        processed, reviewed or committed against them meanwhile (one arriving queues behind the hold). Answers
        None, or the first account it could not take and who holds it."""
        taken: list[str] = []
        for account_id in sorted(set(account_ids)):
            if not self.locks.acquire(tenant, account_id, holder, until=until):
                for done in taken:
                    self.locks.release(tenant, done, holder)
                return account_id, self.locks.holder(tenant, account_id) or "another writer"
            taken.append(account_id)
        return None

    def free(self, tenant: Tenant, account_ids: Iterable[str], holder: str) -> None:
        """Give back the accounts `hold` took, and wake the oldest import waiting for each."""
        accounts = sorted(set(account_ids))
        for account_id in accounts:
            self.locks.release(tenant, account_id, holder)
        for account_id in accounts:
            self.resume_next(tenant, account_id)

    def resume_next(self, tenant: Tenant, account_id: str) -> None:
        """Resume the oldest waiter of an account whose lock is free (it retries its claim)."""
        if self.locks.holder(tenant, account_id) is not None:
            return
        for waiter in self.locks.waiting(tenant, account_id):
            if not self.locks.dequeue(tenant, account_id, waiter.sk):
                continue  # somebody else resumed it
            if self.resume(waiter.task_token, {"action": "claim"}):
                return

    def resume(self, token: str, output: dict[str, Any]) -> bool:
        """Send a task token its output; False when the task no longer waits (timed out, ended)."""
        return self.workflow.resume(token, output)
