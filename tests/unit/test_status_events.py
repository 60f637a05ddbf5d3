"""Status events from stream records: which change is announced, with what, and what is retried when
EventBridge refuses an entry. In-memory fakes only (no sockets)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from tximport.models import ErrorDetail, Import, ImportBankAccount, ImportStatus, RevertProgress
from tximport.services.events import (
    IMPORT_STATUS_CHANGED,
    Event,
    EventBusPublisher,
    StatusEventPublisher,
    StreamChange,
    TranslatorRegistry,
    batch_item_failures,
    default_translators,
    stream_changes,
)
from tximport.storage.repository import ImportsRepository

_seq = itertools.count(100)


class CapturingTable:
    """Keeps what a repository writes (the item image a stream record carries)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put_item(self, Item: dict[str, Any], **_: Any) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.items.append(dict(Item))
        return {}


class FakeEventBridge:
    """PutEvents that refuses the entries whose position (across calls) is in `refuse`."""

    def __init__(self, refuse: frozenset[int] = frozenset()) -> None:
        self.refuse = refuse
        self.calls: list[list[dict[str, Any]]] = []
        self.accepted: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        results = []
        offset = sum(len(c) for c in self.calls)
        self.calls.append(Entries)
        for n, entry in enumerate(Entries):
            if offset + n in self.refuse:
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                self.accepted.append(entry)
                results.append({"EventId": f"eb-{offset + n}"})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}

    def details(self) -> list[dict[str, Any]]:
        return [json.loads(e["Detail"]) for e in self.accepted]


def _import(**changes: Any) -> Import:
    imp = Import(id="imp-1", organisation_id="org", company_id="co", file_format="Tabular3column#v1",
                 s3_key="uploads/org/co/imp-1", bank_accounts=[ImportBankAccount(id="acc-1"),
                                                              ImportBankAccount(id="acc-2")])
    return imp.model_copy(update=changes)


def _image(imp: Import) -> dict[str, Any]:
    table = CapturingTable()
    ImportsRepository(table).create(imp)
    return table.items[-1]


def _change(old: Import | None, new: Import | None, *, event_id: str = "rec-1", sk: str | None = None
            ) -> StreamChange:
    some = new or old
    assert some is not None
    return StreamChange(event_id=event_id, sequence_number=str(next(_seq)), table="imports",
                        keys={"pk": "T#org#co", "sk": sk or f"IMPORT#{some.id}"},
                        old=_image(old) if old else None, new=_image(new) if new else None)


def _events(change: StreamChange) -> list[Event]:
    return default_translators().translate(change)


def test_a_new_import_announces_its_first_status_with_the_record_id():
    (event,) = _events(_change(None, _import()))
    assert event.detail_type == IMPORT_STATUS_CHANGED and event.source == "tximport"
    assert event.detail == {
        "importId": "imp-1", "organisationId": "org", "companyId": "co", "oldStatus": None,
        "newStatus": "awaitingFileUpload", "bankAccountIds": ["acc-1", "acc-2"],
        "time": event.detail["time"], "eventId": "rec-1",
    }
    assert event.detail["time"].endswith("Z") and event.time is not None


def test_a_change_of_status_is_announced_and_a_write_without_one_is_not():
    before = _import(status=ImportStatus.PROCESSING)
    after = _import(status=ImportStatus.AWAITING_CONFIRMATION, task_token="t")
    (event,) = _events(_change(before, after))
    assert (event.detail["oldStatus"], event.detail["newStatus"]) == ("processing", "awaitingConfirmation")
    assert _events(_change(after, after.model_copy(update={"task_token": None, "version": 9}))) == []


def test_an_error_names_its_codes():
    failed = _import(status=ImportStatus.ERROR, error_details=[
        ErrorDetail(code="InvalidSourceData", message="x"), ErrorDetail(code="EmptyFile", message="y"),
        ErrorDetail(code="EmptyFile", message="z")])
    (event,) = _events(_change(_import(status=ImportStatus.PROCESSING), failed))
    assert event.detail["errorCodes"] == ["EmptyFile", "InvalidSourceData"]


def test_a_finished_revert_is_announced_once():
    complete = _import(status=ImportStatus.COMPLETE, revert=RevertProgress(status="reverting"))
    reverted = complete.model_copy(update={"revert": RevertProgress(status="reverted")})
    (event,) = _events(_change(complete, reverted))
    assert (event.detail["oldStatus"], event.detail["newStatus"]) == ("complete", "reverted")
    assert _events(_change(reverted, reverted.model_copy(update={"version": 5}))) == []
    failed = complete.model_copy(update={"revert": RevertProgress(status="revertFailed")})
    assert _events(_change(complete, failed)) == []


def test_removed_items_and_other_item_types_announce_nothing():
    assert _events(_change(_import(), None)) == []
    lock = _change(None, _import(), sk="LOCK#acc-1")
    assert _events(lock) == []


def test_other_item_types_register_their_own_translator():
    registry = default_translators()

    def reconciliation_events(change: StreamChange) -> list[Event]:
        new = change.new or {}
        return [Event("ReconciliationStatusChanged", {"status": new.get("status")}),
                Event("ReconciliationMatched", {"status": new.get("status")})]

    registry.register("imports", "RECON#", reconciliation_events)
    change = StreamChange(event_id="r9", sequence_number="1", table="imports", keys={"sk": "RECON#1"},
                          old=None, new={"status": "matched"})
    events = registry.translate(change)
    assert [e.detail_type for e in events] == ["ReconciliationStatusChanged", "ReconciliationMatched"]
    assert [e.detail["eventId"] for e in events] == ["r9", "r9#1"], "distinct, and stable across retries"
    assert registry.prefixes("imports") == ("IMPORT#", "SESSIONEVENT#", "RECON#") and registry.tables() == ("imports",)
    assert TranslatorRegistry().translate(change) == []


def test_every_event_is_put_on_the_bus_in_order_ten_at_a_time():
    bus = FakeEventBridge()
    changes = [_change(_import(status=ImportStatus.QUEUED), _import(status=s), event_id=f"r{n}")
               for n, s in enumerate([ImportStatus.PROCESSING] * 25)]
    assert StatusEventPublisher(EventBusPublisher(bus, "the-bus")).publish(changes) is None
    assert [len(c) for c in bus.calls] == [10, 10, 5]
    assert [d["eventId"] for d in bus.details()] == [f"r{n}" for n in range(25)]
    entry = bus.accepted[0]
    assert (entry["EventBusName"], entry["Source"]) == ("the-bus", "tximport")
    assert entry["DetailType"] == IMPORT_STATUS_CHANGED


def test_a_refused_entry_makes_its_record_the_retry_point():
    bus = FakeEventBridge(refuse=frozenset({12}))
    changes = [_change(_import(status=ImportStatus.QUEUED), _import(status=ImportStatus.PROCESSING),
                       event_id=f"r{n}") for n in range(15)]
    failed = StatusEventPublisher(EventBusPublisher(bus, "b")).publish(changes)
    assert failed == changes[12].sequence_number
    assert batch_item_failures(failed) == {"batchItemFailures": [{"itemIdentifier": failed}]}
    assert batch_item_failures(None) == {"batchItemFailures": []}
    # the retry from record 12 on repeats 13 and 14 with the same event ids (consumers drop repeats)
    retried = FakeEventBridge()
    assert StatusEventPublisher(EventBusPublisher(retried, "b")).publish(changes[12:]) is None
    assert [d["eventId"] for d in retried.details()] == ["r12", "r13", "r14"]


def test_a_record_that_cannot_be_read_is_retried_and_the_ones_before_it_are_published():
    bus = FakeEventBridge()
    good = _change(_import(status=ImportStatus.QUEUED), _import(status=ImportStatus.PROCESSING), event_id="ok")
    broken = StreamChange(event_id="bad", sequence_number="7", table="imports", keys={"sk": "IMPORT#x"},
                          old=None, new={"doc": "{not json"})
    later = _change(_import(status=ImportStatus.PROCESSING), _import(status=ImportStatus.ERROR), event_id="later")
    assert StatusEventPublisher(EventBusPublisher(bus, "b")).publish([good, broken, later]) == "7"
    assert [d["eventId"] for d in bus.details()] == ["ok"]


@pytest.mark.parametrize("event_name", ["INSERT", "MODIFY", "REMOVE"])
def test_stream_records_are_decoded_with_their_table(event_name):
    serialize = TypeSerializer().serialize
    image = _image(_import())
    record = {
        "eventID": "e-1", "eventName": event_name, "eventSource": "aws:dynamodb",
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/tx-imports/stream/2026-01-01T00:00:00",
        "dynamodb": {"SequenceNumber": "42", "Keys": {"pk": serialize("T#org#co"), "sk": serialize("IMPORT#imp-1")},
                     **({"OldImage": {k: serialize(v) for k, v in image.items()}} if event_name != "INSERT" else {}),
                     **({"NewImage": {k: serialize(v) for k, v in image.items()}} if event_name != "REMOVE" else {})},
    }
    (change,) = stream_changes({"Records": [record]}, {"tx-imports": "imports"})
    assert (change.event_id, change.sequence_number, change.table) == ("e-1", "42", "imports")
    assert change.keys["sk"] == "IMPORT#imp-1"
    assert (change.old is None) == (event_name == "INSERT") and (change.new is None) == (event_name == "REMOVE")
    if change.new is not None:
        assert ImportsRepository.from_item(change.new).id == "imp-1"
