"""`ReconciliationStatusChanged` events from the imports table's stream: the translator registered for
reconciliation items (sort key `RECON#...`) in `tximport.services.events.default_translators`. Every saved
status change is announced at least once, with the stream record's `eventId`, like the imports' events; so is a
reconciliation's removal by its DELETE (`ReconciliationWithdrawn`)."""

from __future__ import annotations

from tximport.models import utcnow
from tximport.reconciliation.events import DETAIL_TYPE, WITHDRAWN_DETAIL_TYPE, status_detail, withdrawn_detail
from tximport.services.events import Event, StreamChange
from tximport.storage import keys
from tximport.storage.reconciliations import DynamoReconciliations

#: the sort-key prefix of reconciliation items (not their day claims `RECONDAY#` or overrides `RECONOVR#`)
PREFIX = keys.reconciliation_sk("")


def reconciliation_status_events(change: StreamChange) -> list[Event]:
    """One event for a new reconciliation, for each change of its status, and for its removal (a withdrawal)."""
    if change.new is None and change.old and "doc" in change.old:
        when = utcnow()
        return [Event(WITHDRAWN_DETAIL_TYPE, withdrawn_detail(DynamoReconciliations.from_item(dict(change.old)), when),
                      time=when)]
    if change.new is None or "doc" not in change.new:
        return []  # no reconciliation item of ours
    new = DynamoReconciliations.from_item(dict(change.new))
    old = DynamoReconciliations.from_item(dict(change.old)) if change.old and "doc" in change.old else None
    if old is not None and old.status == new.status:
        return []
    detail = status_detail(new, old.status.value if old else None, new.status.value)
    return [Event(DETAIL_TYPE, detail, time=new.updated)]
