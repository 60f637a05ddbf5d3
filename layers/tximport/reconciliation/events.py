"""The `ReconciliationStatusChanged` event (source `tximport`): what a status change tells its consumers; and
`ReconciliationWithdrawn` (ours): a reconciliation removed by its DELETE. The imports table's stream announces them
(tximport/services/reconciliations/status_events.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tximport.models import iso
from tximport.reconciliation.models import Reconciliation

SOURCE = "tximport"
DETAIL_TYPE = "ReconciliationStatusChanged"
WITHDRAWN_DETAIL_TYPE = "ReconciliationWithdrawn"


def status_detail(rec: Reconciliation, old: str | None, new: str) -> dict[str, Any]:
    """What a status change of `rec` tells its consumers."""
    detail: dict[str, Any] = {
        "reconciliationId": rec.id, "organisationId": rec.organisation_id, "companyId": rec.company_id,
        "accountId": rec.account_id, "oldStatus": old, "newStatus": new,
        "time": iso(rec.updated),  # when the change was saved, however late it is published
        "matchedEntries": rec.counts.matched_entries, "unmatchedEntries": rec.counts.unmatched_entries,
    }
    if rec.failure_reason and new == "FAILED":
        detail["failureReason"] = rec.failure_reason
    return detail


def withdrawn_detail(rec: Reconciliation, when: datetime) -> dict[str, Any]:
    """What the withdrawal of `rec` (as it was last saved) tells its consumers: the status it had, its counts then."""
    return {
        "reconciliationId": rec.id, "organisationId": rec.organisation_id, "companyId": rec.company_id,
        "accountId": rec.account_id, "status": rec.status.value, "periodStart": rec.period_start.isoformat(),
        "periodEnd": rec.period_end.isoformat(), "time": iso(when),
        "matchedEntries": rec.counts.matched_entries, "unmatchedEntries": rec.counts.unmatched_entries,
    }
