"""The AWS calls of import sessions behind small adapters: how session events leave (the outbox of
`tximport.storage.sessions`, published from the table's stream) and the asynchronous enrichment's
Step Functions execution. Unit tests use the in-memory twins in tests/support."""

from __future__ import annotations

import json
from typing import Any, Protocol


class EventSink(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any]) -> None: ...


class EnrichmentStarter(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> str: ...


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
