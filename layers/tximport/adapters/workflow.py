"""The workflow engine behind small interfaces: starting an execution (an import's, or one run of a
reconciliation's matching, an import's revert) and answering parked task tokens (Step Functions).

`StepFunctionsEngine` is the boto3 implementation the container injects; unit tests use an in-memory fake
with the same behaviour (tests/fakes).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

#: errors that say a task token no longer waits (timed out, answered, or its execution ended)
_GONE = ("TaskDoesNotExist", "TaskTimedOut", "InvalidToken", "ExecutionDoesNotExist")


class StartRefused(Exception):
    """The engine refused to start the execution (not a transient failure of the call)."""


class WorkflowEngine(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> str | None:
        """Start an execution named `name` (one per import, or per run of a reconciliation); answers its ARN,
        or None when an execution of that name already exists (S3 events arrive at least once). StartRefused
        when the engine refuses it."""
        ...

    def resume(self, token: str, output: dict[str, Any]) -> bool:
        """Send a parked task token its output; False when the task no longer waits."""
        ...

    def status(self, name: str) -> str | None:
        """The status of the execution named `name` (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED),
        or None when there is none."""
        ...


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class StepFunctionsEngine:
    """`WorkflowEngine` on one Step Functions state machine (a boto3 `stepfunctions` client)."""

    def __init__(self, client: Any, state_machine_arn: str | None, *, setting: str = "STATE_MACHINE_ARN") -> None:
        self.client = client
        self.state_machine_arn = state_machine_arn
        self.setting = setting  # what carries the ARN, for the message when it is missing

    def start(self, name: str, payload: dict[str, Any]) -> str | None:
        if not self.state_machine_arn:
            raise RuntimeError(f"{self.setting} is not configured")
        try:
            answer = self.client.start_execution(stateMachineArn=self.state_machine_arn, name=name,
                                                 input=json.dumps(payload))
        except ClientError as exc:
            if _code(exc) == "ExecutionAlreadyExists":
                return None
            raise StartRefused(f"the execution {name} was not started: {exc}") from exc
        return str(answer["executionArn"])

    def resume(self, token: str, output: dict[str, Any]) -> bool:
        try:
            self.client.send_task_success(taskToken=token, output=json.dumps(output))
        except ClientError as exc:
            if _code(exc) in _GONE:
                log.info("task token no longer waits (%s)", _code(exc))
                return False
            raise
        return True

    def status(self, name: str) -> str | None:
        if not self.state_machine_arn:
            raise RuntimeError("STATE_MACHINE_ARN is not configured")
        # an execution's ARN is its state machine's, with `execution` and its name
        arn = f"{self.state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"
        try:
            return str(self.client.describe_execution(executionArn=arn)["status"])
        except ClientError as exc:
            if _code(exc) == "ExecutionDoesNotExist":
                return None
            raise
