"""Fault injection for the local stack: make one invocation of a function fail, to watch the state
machine's Retry (and our idempotency) at work. Read only here, by the local lambdas seam; never in the
layer or on AWS.

`TXIMPORT_LOCAL_FAULTS` holds faults separated by commas, each

    <function>[@<importId>]:<invocation>[:before|after]

- `function`: a function's short name (`workflow`, `process`, `commit`, `revert`, ...);
- `@importId`: count only the invocations whose event names that import (tests run many at once);
- `invocation`: which one fails, counted from 1 (from when the variable took its current value);
- `before` (the default): the invocation fails before the handler runs, so nothing was done;
  `after`: the handler runs to its end and its answer is lost, as when the process dies between its
  writes and its reply (the crash between the ledger write and the status write, for instance).

The failure is reported as `Lambda.ServiceException` (the error AWS reports when the Lambda service
itself fails, and that every task of the workflows retries).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Any, Literal

ENV = "TXIMPORT_LOCAL_FAULTS"
ERROR_TYPE = "Lambda.ServiceException"

When = Literal["before", "after"]


@dataclass(frozen=True)
class Fault:
    function: str
    invocation: int
    when: When = "before"
    import_id: str | None = None


def parse(value: str) -> list[Fault]:
    """The faults `value` names (ValueError naming the part that does not read)."""
    faults: list[Fault] = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        pieces = part.split(":")
        if len(pieces) not in (2, 3) or not pieces[1].isdigit() or int(pieces[1]) < 1:
            raise ValueError(f"{ENV}: {part!r} is not <function>[@<importId>]:<invocation>[:before|after]")
        when = pieces[2] if len(pieces) == 3 else "before"
        if when not in ("before", "after"):
            raise ValueError(f"{ENV}: {part!r}: say before or after, not {when!r}")
        function, _, import_id = pieces[0].partition("@")
        faults.append(Fault(function, int(pieces[1]), when, import_id or None))  # type: ignore[arg-type]
    return faults


class FaultInjector:
    """Counts invocations per fault while `TXIMPORT_LOCAL_FAULTS` keeps one value (a new value starts
    the counts again) and says when one must fail."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: str | None = None
        self._faults: list[Fault] = []
        self._counts: dict[Fault, int] = {}

    def due(self, function: str, event: Any) -> When | None:
        """Whether this invocation of `function` (its short name) with `event` must fail, and when."""
        value = os.environ.get(ENV, "")
        if not value and self._value is None:
            return None
        with self._lock:
            if value != self._value:
                self._value, self._faults, self._counts = value, parse(value), {}
            for fault in self._faults:
                if fault.function != function or (fault.import_id and fault.import_id not in _text(event)):
                    continue
                self._counts[fault] = count = self._counts.get(fault, 0) + 1
                if count == fault.invocation:
                    return fault.when
        return None


def _text(event: Any) -> str:
    return event if isinstance(event, str) else json.dumps(event, default=str)


def failure(function_name: str, when: When) -> dict[str, Any]:
    """The error payload a faulted invocation answers."""
    done = "after it ran" if when == "after" else "before it ran"
    return {"errorType": ERROR_TYPE, "errorMessage": f"injected fault: {function_name} failed {done} ({ENV})"}
