"""The workflow engine and the asynchronous invoker in memory."""

from __future__ import annotations

import itertools
from typing import Any

from tximport.adapters.workflow import StartRefused


class FakeWorkflow:
    """`tximport.adapters.workflow.WorkflowEngine`: executions by name, and task tokens that wait until
    they are resumed once (a resumed, expired or unknown token answers False, as Step Functions does).

    As in Step Functions, starting a running execution again with the same input answers the same
    execution; another input, or a finished execution of that name, starts nothing."""

    def __init__(self, machine: str = "import") -> None:
        self.machine = machine
        self.executions: dict[str, dict[str, Any]] = {}
        self.finished: set[str] = set()
        self.waiting: set[str] = set()
        self.resumed: list[tuple[str, dict[str, Any]]] = []
        self.refuse_starts = False
        self._tokens = itertools.count(1)

    def start(self, name: str, payload: dict[str, Any]) -> str | None:
        if self.refuse_starts:
            raise StartRefused(f"the execution {name} was not started")
        arn = f"arn:aws:states:us-east-1:123456789012:execution:{self.machine}:{name}"
        if name in self.executions:
            return arn if self.executions[name] == payload and name not in self.finished else None
        self.executions[name] = payload
        return arn

    def park(self) -> str:
        """A task token that waits (what a `.waitForTaskToken` state hands its task)."""
        token = f"token-{next(self._tokens)}"
        self.waiting.add(token)
        return token

    def expire(self, token: str) -> None:
        """The task timed out: its token no longer waits."""
        self.waiting.discard(token)

    def resume(self, token: str, output: dict[str, Any]) -> bool:
        if token not in self.waiting:
            return False
        self.waiting.remove(token)
        self.resumed.append((token, output))
        return True

    def outputs(self, token: str) -> list[dict[str, Any]]:
        return [output for resumed, output in self.resumed if resumed == token]


class FakeInvoker:
    """`tximport.adapters.workflow.AsyncInvoker` that records what it was asked to run."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.fail = False

    def invoke(self, payload: dict[str, Any]) -> None:
        if self.fail:
            raise ConnectionError("the function could not be invoked")
        self.payloads.append(payload)
