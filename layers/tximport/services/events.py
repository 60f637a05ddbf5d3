"""Status-change events on EventBridge, so clients need not poll."""

from __future__ import annotations

import json
import logging
from typing import Any

from tximport.models import Import, iso, utcnow

log = logging.getLogger(__name__)

SOURCE = "tximport"
DETAIL_TYPE = "ImportStatusChanged"


class EventPublisher:
    """Publishes `ImportStatusChanged` events (source `tximport`) to the service's bus."""

    def __init__(self, client: Any, bus_name: str) -> None:
        self.client = client
        self.bus_name = bus_name

    def status_changed(self, imp: Import, old: str | None, new: str) -> None:
        detail: dict[str, Any] = {
            "importId": imp.id,
            "organisationId": imp.organisation_id,
            "companyId": imp.company_id,
            "oldStatus": old,
            "newStatus": new,
            "bankAccountIds": [a.id for a in imp.bank_accounts],
            "time": iso(utcnow()),
        }
        if imp.error_details and new == "error":
            detail["errorCodes"] = sorted({e.code for e in imp.error_details})
        try:
            answer = self.client.put_events(Entries=[{
                "Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(detail),
                "EventBusName": self.bus_name, "Resources": [],
            }])
            if answer.get("FailedEntryCount"):
                log.warning("event not accepted: %s", answer.get("Entries"))
        except Exception:  # an event is a notification: never fail the import for it
            log.exception("could not publish status event for import %s", imp.id)

