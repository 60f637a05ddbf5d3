"""Withdraw a reconciliation (`DELETE`, our extension beside 003): release every ledger line it holds, give its
period's days back and remove it, so that the period can be reconciled again.

A reconciliation holds up to MAX_ENTRIES lines, more than one DynamoDB transaction takes, so the withdrawal is a
sequence of idempotent steps behind one conditional write:

1. the reconciliation is marked `withdrawing`, conditional on the version read: a manual match, an unmatch or a
   re-run that saved first makes this a 409 (read it again), and once it is marked every one of them is a 409;
2. the marks it left on the ledger lines of its period widened by the date window (where every line it can
   match is booked) are removed, each conditional on the mark still naming this reconciliation;
3. its days are released, then the reconciliation is removed (conditional on the version) with its overrides,
   then its staged entries and results.

A withdrawal interrupted after step 1 and before the reconciliation is removed leaves a reconciliation that
still holds its period and some lines and accepts no change but a DELETE, which continues it; one interrupted
after it leaves only objects nothing reads (overrides, chunks under the reconciliation's own prefix).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from tximport.models import LineMark, Tenant
from tximport.reconciliation.errors import Clash, Missing
from tximport.reconciliation.ids import is_uuid
from tximport.reconciliation.models import Reconciliation, ReconciliationStatus
from tximport.storage.ledger import LedgerStore
from tximport.storage.reconciliation_results import ResultChunkStore
from tximport.storage.reconciliations import ReconciliationsStore

log = logging.getLogger(__name__)

#: statuses in which a matching run may still write marks and results: no withdrawal until it ends
RUNNING = frozenset({ReconciliationStatus.PENDING, ReconciliationStatus.PROCESSING})


class Withdrawal:
    def __init__(self, *, store: ReconciliationsStore, results: ResultChunkStore, ledger: LedgerStore) -> None:
        self.store, self.results, self.ledger = store, results, ledger

    def __call__(self, tenant: Tenant, reconciliation_id: str) -> None:
        """Withdraw one of the tenant's reconciliations (404 for another tenant's or an unknown id; 409 while it is
        matching, or when another change of it landed first)."""
        rec = self.store.get(tenant, reconciliation_id) if is_uuid(reconciliation_id) else None
        if rec is None:
            raise Missing(f"reconciliation {reconciliation_id} not found", details={"field": "id"})
        if rec.status in RUNNING:
            raise Clash(f"the reconciliation is {rec.status.value}: withdraw it once matching has ended",
                        details={"field": "status", "status": rec.status.value})
        if not rec.withdrawing:
            rec.withdrawing = True
            self.store.save(rec)  # Clash (409) when a manual change or a re-run saved first
        released = self._release_lines(rec)
        self.store.release_days(rec)
        try:
            self.store.delete(rec)
        except Clash:
            if self.store.get(tenant, rec.id) is not None:
                raise
            return  # a concurrent DELETE finished it
        self.results.delete_prefix(rec.entries_key)
        log.info("reconciliation %s withdrawn: %d ledger line(s) released", rec.id, released)

    def _release_lines(self, rec: Reconciliation) -> int:
        """Remove this reconciliation's marks from the ledger lines it may have matched (automatically or by hand:
        both only ever match a line booked in the period widened by the date window); answers how many."""
        window = timedelta(days=rec.options.date_window_days)
        marks = [LineMark(rec.account_id, line.date_posted.isoformat(), line.transaction_id, rec.id,
                          line.reconciliation.entry_id, line.reconciliation.match_status)
                 for line in self.ledger.lines_between(rec.tenant, rec.account_id, rec.period_start - window,
                                                       rec.period_end + window)
                 if line.reconciliation is not None and line.reconciliation.reconciliation_id == rec.id]
        if marks:
            self.ledger.unmark(rec.tenant, marks)  # each only if this entry still holds the line
        return len(marks)
