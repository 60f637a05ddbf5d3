"""The workflow engine in memory."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
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
        #: how each finished execution ended
        self.ended: dict[str, str] = {}
        self.waiting: set[str] = set()
        self.resumed: list[tuple[str, dict[str, Any]]] = []
        self.refuse_starts = False
        #: answers of `resume`, in order, before the token is looked at (e.g. an error to raise)
        self.resume_errors: list[Exception] = []
        #: called once with the token before the next `resume` looks at it (e.g. a timeout happening then)
        self.before_resume: Callable[[str], None] | None = None
        self._tokens = itertools.count(1)
        self._lock = threading.Lock()

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
        hook, self.before_resume = self.before_resume, None
        if hook is not None:
            hook(token)
        with self._lock:
            if self.resume_errors:
                raise self.resume_errors.pop(0)
            if token not in self.waiting:
                return False
            self.waiting.remove(token)
            self.resumed.append((token, output))
            return True

    def status(self, name: str) -> str | None:
        if name not in self.executions:
            return None
        return self.ended.get(name, "RUNNING")

    def end(self, name: str, status: str = "SUCCEEDED") -> None:
        """The execution named `name` ended (SUCCEEDED, FAILED, TIMED_OUT or ABORTED)."""
        self.ended[name] = status
        self.finished.add(name)

    def outputs(self, token: str) -> list[dict[str, Any]]:
        return [output for resumed, output in self.resumed if resumed == token]
