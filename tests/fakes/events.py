"""An EventBridge client in memory, for `tximport.services.events.EventPublisher`."""

from __future__ import annotations

import json
from typing import Any


class FakeEventBridge:
    """Accepts `put_events` and keeps what was put."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{len(self.entries)}"} for _ in Entries]}

    @property
    def changes(self) -> list[tuple[str, str | None, str]]:
        """(importId, oldStatus, newStatus) of every status event, in order."""
        details = [json.loads(entry["Detail"]) for entry in self.entries]
        return [(d["importId"], d["oldStatus"], d["newStatus"]) for d in details]
