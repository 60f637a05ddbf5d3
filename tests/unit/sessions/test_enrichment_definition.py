"""The enrichment workflow definition: every Task retries, is caught and has a time limit; every failure
ends in Abandon (no line stays PROCESSING); payloads carry ids and sequence numbers only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from infra.definitions import ENRICHMENT_STATE_MACHINE


def _states(machine: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in machine["States"].items():
        yield name, state
        if "ItemProcessor" in state:
            yield from _states(state["ItemProcessor"])


def test_every_task_retries_is_caught_and_times_out():
    machine = json.loads(ENRICHMENT_STATE_MACHINE.asl_file.read_text())
    tasks = [(n, s) for n, s in _states(machine) if s["Type"] == "Task"]
    assert {n for n, _ in tasks} == {"Prepare", "EnrichSegment", "Finish", "Abandon"}
    for name, state in tasks:
        assert state.get("Retry") and state.get("Catch") and state.get("TimeoutSeconds"), name
    assert machine["TimeoutSeconds"] > 0


def test_every_failure_path_runs_abandon_first():
    machine = json.loads(ENRICHMENT_STATE_MACHINE.asl_file.read_text())
    for name in ("Prepare", "EnrichSegments", "Finish"):
        assert [c["Next"] for c in machine["States"][name]["Catch"]] == ["Abandon"], name
    assert machine["States"]["Abandon"]["Next"] == "EnrichmentFailed"


def test_payloads_carry_keys_only():
    machine = json.loads(ENRICHMENT_STATE_MACHINE.render({"sessions": "arn:s"}))
    allowed = {"action", "tenant.$", "workspaceId.$", "sessionId.$", "runId.$", "start.$", "end.$", "error.$"}
    for _, state in _states(machine):
        payload = (state.get("Parameters") or {}).get("Payload")
        if payload is not None:
            assert set(payload) <= allowed
            assert state["Parameters"]["FunctionName"] == "arn:s"
