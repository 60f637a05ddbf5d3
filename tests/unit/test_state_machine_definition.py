"""The one workflow definition: every Task can retry, is caught, and has a time limit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from infra.definitions import STATE_MACHINE_FILE, render_definition


def _states(machine: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in machine["States"].items():
        yield name, state
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from _states(processor)


def test_every_task_has_retry_catch_and_a_timeout():
    machine = json.loads(STATE_MACHINE_FILE.read_text())
    tasks = [(n, s) for n, s in _states(machine) if s["Type"] == "Task"]
    assert len(tasks) >= 8
    for name, state in tasks:
        assert state.get("Retry"), f"{name} has no Retry"
        assert state.get("Catch"), f"{name} has no Catch"
        assert "TimeoutSeconds" in state or "TimeoutSecondsPath" in state, f"{name} has no timeout"


def test_every_transition_names_an_existing_state():
    def check(machine: dict[str, Any]) -> None:
        names = set(machine["States"])
        assert machine["StartAt"] in names
        for name, state in machine["States"].items():
            targets = [state.get("Next"), state.get("Default")]
            targets += [c["Next"] for c in state.get("Choices", [])]
            targets += [c["Next"] for c in state.get("Catch", [])]
            for target in filter(None, targets):
                assert target in names, f"{name} -> {target}"
            processor = state.get("ItemProcessor")
            if processor:
                check(processor)

    check(json.loads(STATE_MACHINE_FILE.read_text()))


def test_substitution_leaves_no_variable_and_carries_no_rows():
    text = render_definition({"WorkflowFunctionArn": "arn:w", "ProcessFunctionArn": "arn:p",
                              "CommitFunctionArn": "arn:c"})
    assert "${" not in text
    machine = json.loads(text)
    # payloads pass ids and keys only
    for _, state in _states(machine):
        payload = (state.get("Parameters") or {}).get("Payload") or {}
        if isinstance(payload, dict):
            assert set(payload) <= {"action", "importId.$", "tenant.$", "executionArn.$", "taskToken.$", "error.$"}
