"""Every workflow definition: every Task can retry, is caught, and has a time limit."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from infra.definitions import FUNCTIONS, IMPORT_STATE_MACHINE, STATE_MACHINES, StateMachineDef, render_definition


def _states(machine: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in machine["States"].items():
        yield name, state
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from _states(processor)


def test_the_import_workflow_has_its_tasks():
    machine = json.loads(IMPORT_STATE_MACHINE.asl_file.read_text())
    assert len([s for _, s in _states(machine) if s["Type"] == "Task"]) >= 8


@pytest.mark.parametrize("definition", STATE_MACHINES, ids=lambda d: d.name)
def test_every_task_has_retry_catch_and_a_timeout(definition: StateMachineDef):
    machine = json.loads(definition.asl_file.read_text())
    tasks = [(n, s) for n, s in _states(machine) if s["Type"] == "Task"]
    assert tasks, definition.name
    for name, state in tasks:
        assert state.get("Retry"), f"{name} has no Retry"
        assert state.get("Catch"), f"{name} has no Catch"
        assert "TimeoutSeconds" in state or "TimeoutSecondsPath" in state, f"{name} has no timeout"


@pytest.mark.parametrize("definition", STATE_MACHINES, ids=lambda d: d.name)
def test_every_transition_names_an_existing_state(definition: StateMachineDef):
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

    check(json.loads(definition.asl_file.read_text()))


@pytest.mark.parametrize("definition", STATE_MACHINES, ids=lambda d: d.name)
def test_every_variable_is_bound_to_a_function(definition: StateMachineDef):
    assert set(re.findall(r"\$\{(\w+)\}", definition.asl_file.read_text())) == set(definition.functions)
    assert set(definition.invoked_functions) <= {f.name for f in FUNCTIONS}
    text = definition.render({name: f"arn:aws:lambda:::function:{name}" for name in definition.invoked_functions})
    assert "${" not in text
    with pytest.raises(ValueError, match="unsubstituted"):
        render_definition({}, definition.asl_file)


def test_substitution_leaves_no_variable_and_carries_no_rows():
    text = IMPORT_STATE_MACHINE.render({"workflow": "arn:w", "process": "arn:p", "commit": "arn:c",
                                        "revert": "arn:r"})
    assert "${" not in text
    machine = json.loads(text)
    # payloads pass ids and keys only
    for _, state in _states(machine):
        payload = (state.get("Parameters") or {}).get("Payload") or {}
        if isinstance(payload, dict):
            assert set(payload) <= {"action", "importId.$", "tenant.$", "executionArn.$", "taskToken.$", "error.$",
                                    "undoCommit", "refreshBalances", "range.$", "reduce",
                                    "timeoutSeconds.$"}


def test_the_process_step_times_out_as_its_execution_input_says():
    machine = json.loads(IMPORT_STATE_MACHINE.asl_file.read_text())
    process = machine["States"]["Process"]
    assert process["TimeoutSecondsPath"] == "$.processTimeoutSeconds" and "TimeoutSeconds" not in process
    # and the function is told that timeout, so its parse stops before it (ProcessingTimeout)
    assert process["Parameters"]["Payload"]["timeoutSeconds.$"] == "$.processTimeoutSeconds"
