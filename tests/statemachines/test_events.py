"""Status events through the local stack as on AWS: the imports table's stream -> the events function ->
EventBridge. An event EventBridge refuses is published later from the same stream record, never lost."""

from __future__ import annotations

import json
from typing import Any

from tests.support.client import Api, poll

CSV = b"date,description,amount\n2024-05-01,Coffee,-3.50\n2024-05-02,Salary,2500.00\n"


def _mine(api: Api, import_id: str) -> list[dict[str, Any]]:
    return [e for e in api.ok("GET", "/local/events")["data"] if e["detail"].get("importId") == import_id]


def test_every_event_carries_a_distinct_event_id(api: Api):
    account = api.create_account()
    imp = api.import_file(account, CSV)
    api.confirm_and_complete(imp["id"])
    events = poll(lambda: (e := _mine(api, imp["id"])) and e[-1]["detail"]["newStatus"] == "complete" and e,
                  what="the complete event")
    ids = [e["detail"]["eventId"] for e in events]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(e["detail"]["bankAccountIds"] == [account] for e in events)


def test_a_refused_event_is_published_from_its_stream_record_with_the_next_write(api: Api, monkeypatch):
    from moto.events.models import EventsBackend

    # Given EventBridge refuses the first entries that name this tenant
    put_events = EventsBackend.put_events
    refused: list[dict[str, Any]] = []

    def refusing_once(backend: Any, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not refused and any(api.organisation_id in json.loads(e.get("Detail") or "{}").values()
                               for e in entries):
            refused.extend(entries)
            return [{"ErrorCode": "InternalFailure", "ErrorMessage": "refused for the test"} for _ in entries]
        return put_events(backend, entries)

    monkeypatch.setattr(EventsBackend, "put_events", refusing_once)

    # When an import is created, its first status event is refused
    import_id, _ = api.create_import(api.create_account())
    assert [json.loads(e["Detail"])["importId"] for e in refused] == [import_id]
    assert _mine(api, import_id) == [], "not on the bus yet"

    # Then the next write to the table delivers the record again, and the event arrives once
    api.create_account()
    (event,) = _mine(api, import_id)
    assert (event["detail"]["oldStatus"], event["detail"]["newStatus"]) == (None, "awaitingFileUpload")
    assert event["detail"]["eventId"]
