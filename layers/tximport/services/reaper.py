"""Imports whose workflow ended without leaving them final.

An execution that ended (SUCCEEDED, FAILED, TIMED_OUT, ABORTED) while its import is still queued,
processing, awaiting confirmation or in final processing would hold that import's bank accounts for
good, and every import queued behind them. The reaper ends such an import in `error` (`WorkflowEnded`,
saying how the execution ended) and releases its accounts, which resumes the oldest import waiting for
each. Step Functions tells it when an execution ends (an EventBridge rule on the import machine's
execution status changes); a scheduled sweep asks Step Functions about every in-flight import that has
not changed for a while, so an event that was lost is caught by the next sweep. Both are safe to run
any number of times: a final import only has its accounts released again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tximport.adapters.workflow import WorkflowEngine
from tximport.errors import Conflict, NotFound, TransientError
from tximport.models import IN_FLIGHT_STATUSES, ErrorDetail, Tenant, utcnow
from tximport.services.lifecycle import Lifecycle

log = logging.getLogger(__name__)

#: how an execution can have ended
ENDED = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
WORKFLOW_ENDED = "WorkflowEnded"


@dataclass(slots=True)
class Sweep:
    """What one sweep did: how many in-flight imports it asked about, and which it ended."""

    checked: int = 0
    reaped: list[str] = field(default_factory=list)


class ReaperService:
    def __init__(self, *, lifecycle: Lifecycle, workflow: WorkflowEngine, quiet_seconds: int = 300) -> None:
        self.lifecycle = lifecycle
        self.imports = lifecycle.imports
        self.workflow = workflow
        #: the sweep leaves alone imports that changed more recently than this
        self.quiet_seconds = quiet_seconds

    def execution_ended(self, tenant: Tenant, import_id: str, status: str, cause: str | None = None) -> bool:
        """The import's execution ended with `status`: end the import if it is not final yet (True when
        it did), and release its accounts either way."""
        if status not in ENDED:
            return False
        for _ in range(5):
            try:
                imp = self.imports.get(tenant, import_id)
            except NotFound:
                return False
            if imp.status not in IN_FLIGHT_STATUSES:
                self.lifecycle.release(imp)  # final: it holds nothing (a crash may have left a lock; a revert
                # holds the accounts under a holder name of its own, left alone)
                return False
            left_in = imp.status.value
            message = f"the import's workflow ended ({status}) without finishing it"
            if cause:
                message = f"{message}: {cause}"
            try:
                self.lifecycle.fail(imp, [ErrorDetail(code=WORKFLOW_ENDED, message=message[:1000], target="File")])
            except Conflict:
                continue  # a call that was in flight changed it: look again
            log.warning("import %s was left %s by its ended execution (%s): now error", import_id, left_in, status)
            return True
        raise TransientError(f"import {import_id} kept changing while its ended workflow was recorded")

    def sweep(self, *, now: datetime | None = None, stop: Callable[[], bool] | None = None) -> Sweep:
        """Ask Step Functions about every in-flight import unchanged for `quiet_seconds`, and end those
        whose execution ended (or never existed). `stop()` turning true ends the sweep early."""
        done = Sweep()
        cutoff = (now or utcnow()) - timedelta(seconds=self.quiet_seconds)
        for imp in self.imports.in_flight(cutoff):
            if stop is not None and stop():
                break
            done.checked += 1
            status = self.workflow.status(imp.id)  # the execution is named after its import
            ended = status is None or status in ENDED
            if ended and self.execution_ended(imp.tenant, imp.id, status or "ABORTED",
                                              None if status else "no execution was found"):
                done.reaped.append(imp.id)
        return done
