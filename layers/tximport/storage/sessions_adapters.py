"""The AWS calls of import sessions behind small adapters: events on EventBridge and the asynchronous
enrichment's Step Functions execution. Unit tests use the in-memory twins in tests/support."""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)

SOURCE = "tximport"


class EventSink(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any]) -> None: ...


class EnrichmentStarter(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> str: ...


class EventBridgeSink:
    """Publishes session events (source `tximport`) to the service's bus; a failed publish is logged,
    never raised: an event is a notification."""

    def __init__(self, client: Any, bus_name: str) -> None:
        self.client = client
        self.bus_name = bus_name

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        try:
            answer = self.client.put_events(Entries=[{"Source": SOURCE, "DetailType": detail_type,
                                                      "Detail": json.dumps(detail, default=str),
                                                      "EventBusName": self.bus_name}])
            if answer.get("FailedEntryCount"):
                log.warning("event not accepted: %s", answer.get("Entries"))
        except Exception:
            log.exception("could not publish %s", detail_type)


class StepFunctionsStarter:
    """Starts the enrichment state machine (execution name = the run id: a retried start is refused by
    Step Functions instead of running twice)."""

    def __init__(self, client: Any, state_machine_arn: str | None) -> None:
        self.client = client
        self.state_machine_arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> str:
        if not self.state_machine_arn:
            raise RuntimeError("ENRICHMENT_STATE_MACHINE_ARN is not configured")
        answer = self.client.start_execution(stateMachineArn=self.state_machine_arn, name=name,
                                             input=json.dumps(payload))
        return str(answer["executionArn"])
