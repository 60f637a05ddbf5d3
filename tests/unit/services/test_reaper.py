"""The reaper on fakes: an import left in flight by an execution that ended goes to error and releases
its accounts (the next queued import starts); a final import is left as it is (issue 13, item 3)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.fakes.container import FakeContainer
from tests.unit.services.world import CSV, World
from tximport.models import ImportStatus, utcnow
from tximport.services.lifecycle import revert_holder
from tximport.tasks import ExecutionStatusChange


@pytest.mark.parametrize("left_in", ["processing", "awaitingConfirmation", "finalProcessing"])
def test_an_ended_execution_ends_its_import_and_the_queue_moves_on(c: FakeContainer, world: World, left_in: str):
    account = world.account()
    imp, _ = world.awaiting(b"Date,Description,Amount\n2024-01-02,Coffee,-3.50\n", account)
    if left_in != "awaitingConfirmation":
        c.lifecycle.transition(world.get(imp.id), ImportStatus(left_in))
    queued, waiter = world.queued(account)

    assert c.reaper.execution_ended(world.tenant, imp.id, "SUCCEEDED") is True

    reaped = world.get(imp.id)
    assert reaped.status == ImportStatus.ERROR and reaped.error_details[0].code == "WorkflowEnded"
    assert "SUCCEEDED" in reaped.error_details[0].message
    assert c.workflow_engine.outputs(waiter) == [{"action": "claim"}]
    assert world.claim(queued.id) == "process"


def test_a_final_import_is_left_as_it_is_but_holds_no_account(c: FakeContainer, world: World):
    imp = world.completed()
    account = imp.bank_accounts[0].id
    c.locks.acquire(world.tenant, account, imp.id)  # a crash between the status write and the release
    assert c.reaper.execution_ended(world.tenant, imp.id, "FAILED", "States.Runtime") is False
    assert world.get(imp.id).status == ImportStatus.COMPLETE and world.get(imp.id).version == imp.version
    assert c.locks.holder(world.tenant, account) is None


def test_a_late_event_of_a_complete_import_leaves_its_revert_holding_the_account(c: FakeContainer, world: World):
    """The event may have read the import before its revert began: what releases the import's accounts leaves
    the revert's hold alone (it holds them under a name of its own)."""
    account = world.account()
    imp = world.completed(CSV, account)
    c.import_service.revert(world.tenant, imp.id)
    assert c.reaper.execution_ended(world.tenant, imp.id, "SUCCEEDED") is False
    c.lifecycle.release(imp)  # the import as the event read it, before the revert
    assert c.lifecycle.locks.holder(world.tenant, account) == revert_holder(imp.id)


def test_a_running_execution_is_no_reason(c: FakeContainer, world: World):
    imp, _ = world.awaiting()
    assert c.reaper.execution_ended(world.tenant, imp.id, "RUNNING") is False
    assert world.get(imp.id).status == ImportStatus.AWAITING_CONFIRMATION


def _quiet_for(c: FakeContainer, world: World, import_id: str, seconds: int) -> None:
    """The import last changed `seconds` ago."""
    stored = world.get(import_id)
    stored.updated = utcnow() - timedelta(seconds=seconds)
    key = (f"T#{world.tenant.organisation_id}#{world.tenant.company_id}", import_id)
    c.imports.docs[key] = stored.model_dump_json()


def test_the_sweep_ends_quiet_imports_whose_execution_ended_and_no_other(c: FakeContainer, world: World):
    ended, running, missing, recent = (world.awaiting()[0] for _ in range(4))
    for imp in (ended, running, recent):
        c.workflow_engine.start(imp.id, {"importId": imp.id})
    c.workflow_engine.end(ended.id, "TIMED_OUT")
    c.workflow_engine.end(recent.id, "FAILED")
    for imp in (ended, running, missing):
        _quiet_for(c, world, imp.id, c.reaper.quiet_seconds + 1)

    swept = c.reaper.sweep()

    assert swept.checked == 3 and sorted(swept.reaped) == sorted([ended.id, missing.id])
    assert world.get(ended.id).status == world.get(missing.id).status == ImportStatus.ERROR
    assert world.get(running.id).status == ImportStatus.AWAITING_CONFIRMATION
    assert world.get(recent.id).status == ImportStatus.AWAITING_CONFIRMATION  # changed too recently
    assert c.reaper.sweep(now=utcnow() + timedelta(seconds=c.reaper.quiet_seconds + 1)).reaped == [recent.id]


def test_the_execution_status_change_event_names_its_import():
    event = {"version": "0", "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
             "detail": {"executionArn": "arn:aws:states:us-east-1:1:execution:m:imp-1",
                        "stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:m", "name": "imp-1",
                        "status": "FAILED", "error": "ImportFailed", "cause": "why",
                        "input": json.dumps({"importId": "imp-1", "tenant": {"organisationId": "o", "companyId": "c"},
                                             "confirmationTimeoutSeconds": 3, "somethingNewer": True})}}
    change = ExecutionStatusChange.model_validate(event).detail
    ref = change.import_ref()
    assert ref is not None and ref.import_id == "imp-1" and ref.tenant.organisation_id == "o"
    assert change.status == "FAILED"
    assert ExecutionStatusChange.model_validate({**event, "detail": {**event["detail"], "input": "{}"}}
                                                ).detail.import_ref() is None
