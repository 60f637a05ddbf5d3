"""The `ReconciliationStatusChanged` event (source `tximport`): what a status change tells its consumers.
The imports table's stream announces it (tximport/services/reconciliations/status_events.py)."""

from __future__ import annotations

from typing import Any

from tximport.models import iso
from tximport.reconciliation.models import Reconciliation

SOURCE = "tximport"
DETAIL_TYPE = "ReconciliationStatusChanged"


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
