"""ReconciliationStatusChanged from the imports table's stream: the translator of reconciliation items."""

from __future__ import annotations

from datetime import date

from tximport.reconciliation.models import Reconciliation, ReconciliationStatus, Source
from tximport.services.events import StreamChange, default_translators
from tximport.services.reconciliations.status_events import reconciliation_status_events


def _item(status: ReconciliationStatus, sk: str = "RECON#r1") -> dict:
    rec = Reconciliation(id="r1", organisation_id="o", company_id="c", account_id="a", period_start=date(2024, 1, 1),
                         period_end=date(2024, 1, 31), source=Source.API_IMPORT, status=status, entries_key="k/",
                         failure_reason="boom" if status == ReconciliationStatus.FAILED else None)
    return {"pk": "T#o#c", "sk": sk, "doc": rec.model_dump_json(), "status": status.value, "version": 1}


def _change(old: dict | None, new: dict | None, sk: str = "RECON#r1") -> StreamChange:
    return StreamChange(event_id="ev-1", sequence_number="1", table="imports", keys={"pk": "T#o#c", "sk": sk},
                        old=old, new=new)


def test_a_new_reconciliation_and_each_status_change_are_announced():
    created = reconciliation_status_events(_change(None, _item(ReconciliationStatus.PENDING)))
    assert [(e.detail_type, e.detail["oldStatus"], e.detail["newStatus"]) for e in created] == [
        ("ReconciliationStatusChanged", None, "PENDING")]
    assert created[0].detail["reconciliationId"] == "r1" and created[0].detail["accountId"] == "a"
    failed = reconciliation_status_events(_change(_item(ReconciliationStatus.PROCESSING),
                                                  _item(ReconciliationStatus.FAILED)))
    assert failed[0].detail["failureReason"] == "boom"
    assert reconciliation_status_events(_change(_item(ReconciliationStatus.PROCESSING),
                                                _item(ReconciliationStatus.PROCESSING))) == []


def test_a_withdrawal_is_announced_with_the_status_it_had():
    """A DELETE removed the reconciliation and published nothing: its consumers never learnt it was gone."""
    (event,) = reconciliation_status_events(_change(_item(ReconciliationStatus.COMPLETED), None))
    assert event.detail_type == "ReconciliationWithdrawn" and event.time is not None
    assert {k: event.detail[k] for k in ("reconciliationId", "accountId", "status", "periodStart", "periodEnd")} == {
        "reconciliationId": "r1", "accountId": "a", "status": "COMPLETED", "periodStart": "2024-01-01",
        "periodEnd": "2024-01-31"}
    assert reconciliation_status_events(_change({"pk": "T#o#c", "sk": "RECON#r1"}, None)) == []


def test_the_registry_routes_reconciliation_items_only():
    registry = default_translators()
    events = registry.translate(_change(_item(ReconciliationStatus.PENDING), _item(ReconciliationStatus.PROCESSING)))
    assert [e.detail["newStatus"] for e in events] == ["PROCESSING"] and events[0].detail["eventId"] == "ev-1"
    for sk in ("RECONDAY#a#2024-01-01", "RECONOVR#r1#00000001"):
        assert registry.translate(_change(None, {"pk": "T#o#c", "sk": sk, "reconciliationId": "r1"}, sk)) == []
