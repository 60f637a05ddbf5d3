"""The `ReconciliationStatusChanged` event (source `tximport`), in one place: published on the service's bus
by `tximport.adapters.reconciliation.EventBridgeEvents` today; a stream translator (status events from
the imports table's stream) can build the same detail from the old and new reconciliation items."""

from __future__ import annotations

from typing import Any

from tximport.models import iso, utcnow
from tximport.reconciliation.models import Reconciliation

SOURCE = "tximport"
DETAIL_TYPE = "ReconciliationStatusChanged"


def status_detail(rec: Reconciliation, old: str | None, new: str) -> dict[str, Any]:
    """What a status change of `rec` tells its consumers."""
    detail: dict[str, Any] = {
        "reconciliationId": rec.id, "organisationId": rec.organisation_id, "companyId": rec.company_id,
        "accountId": rec.account_id, "oldStatus": old, "newStatus": new, "time": iso(utcnow()),
        "matchedEntries": rec.counts.matched_entries, "unmatchedEntries": rec.counts.unmatched_entries,
    }
    if rec.failure_reason and new == "FAILED":
        detail["failureReason"] = rec.failure_reason
    return detail
