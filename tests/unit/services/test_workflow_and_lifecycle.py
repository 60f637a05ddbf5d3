"""WorkflowService and Lifecycle on fakes: claims, the queue, confirmation, commit bookkeeping, failure."""

from __future__ import annotations

import json

import pytest

from tests.fakes.container import FakeContainer
from tests.unit.services.world import CSV, World
from tximport.errors import Conflict
from tximport.models import ErrorDetail, ImportStatus


def test_claim_processes_waits_behind_the_holder_or_stops(c: FakeContainer, world: World):
    account = world.account()
    first = world.create(account)
    second = world.create(account)

    assert world.claim(first.id) == "process"
    assert world.claim(first.id) == "process"  # re-entrant: a retried claim
    assert world.claim(second.id) == "wait" and world.get(second.id).status == ImportStatus.QUEUED
    assert world.get(first.id).execution_arn == "arn:execution" and world.get(first.id).file_uploaded
    deleted = world.get(first.id)
    deleted.status = ImportStatus.DELETED
    c.imports.save(deleted)
    assert world.claim(first.id) == "stop"


def test_a_queued_import_resumes_when_the_holder_completes(c: FakeContainer, world: World):
    account = world.account()
    holder, _ = world.awaiting(CSV, account)
    queued, token = world.queued(account)
    assert c.workflow_engine.outputs(token) == []

    c.import_service.confirm(world.tenant, holder.id)
    c.workflow.begin_commit(world.get(holder.id))
    c.workflow.complete(world.get(holder.id))

    assert c.workflow_engine.outputs(token) == [{"action": "claim"}]
    assert world.claim(queued.id) == "process"


def test_enqueue_resumes_at_once_when_the_account_came_free_meanwhile(c: FakeContainer, world: World):
    account = world.account()
    holder = world.create(account)
    queued = world.create(account)
    world.claim(holder.id)
    world.claim(queued.id)
    c.lifecycle.release(world.get(holder.id))  # the release happened before the token was parked
    token = c.workflow_engine.park()
    c.workflow.enqueue(world.get(queued.id), token)
    assert c.workflow_engine.outputs(token) == [{"action": "claim"}]


def test_release_skips_a_waiter_whose_token_no_longer_waits(c: FakeContainer, world: World):
    account = world.account()
    holder, waiters = world.create(account), [world.create(account) for _ in range(2)]
    world.claim(holder.id)
    tokens = []
    for imp in waiters:
        world.claim(imp.id)
        tokens.append(c.workflow_engine.park())
        c.workflow.enqueue(world.get(imp.id), tokens[-1])
    c.workflow_engine.expire(tokens[0])

    c.lifecycle.release(world.get(holder.id))

    assert c.workflow_engine.outputs(tokens[1]) == [{"action": "claim"}]
    assert c.locks.waiting(world.tenant, account) == []


def test_accounts_are_taken_all_or_none(c: FakeContainer, world: World):
    a, b = world.account("A1"), world.account("B1")
    c.locks.acquire(world.tenant, b, "someone-else")
    imp = world.create(a, b, file_format="CAMT053#v1")
    assert not c.lifecycle.acquire(imp)
    assert c.locks.holder(world.tenant, a) is None


def test_await_parks_the_token_and_a_deleted_import_ends_the_wait(c: FakeContainer, world: World):
    imp, outcome = world.processed()
    token = c.workflow_engine.park()
    c.workflow.await_confirmation(imp, token)
    waiting = world.get(imp.id)
    assert waiting.status == ImportStatus.AWAITING_CONFIRMATION and waiting.task_token == token
    c.workflow.await_confirmation(world.get(imp.id), token)  # a retried step: the same token stays parked
    assert world.get(imp.id).version == waiting.version and world.get(imp.id).task_token == token

    gone = world.create(world.account("OTHER1"))
    gone.status = ImportStatus.DELETED
    other = c.workflow_engine.park()
    c.workflow.await_confirmation(gone, other)
    assert c.workflow_engine.outputs(other) == [{"action": "delete"}]


def test_expire_fails_only_an_import_still_awaiting_confirmation(c: FakeContainer, world: World):
    imp, _ = world.awaiting()
    c.workflow.expire(world.get(imp.id))
    expired = world.get(imp.id)
    assert expired.status == ImportStatus.ERROR and expired.error_details[0].code == "ConfirmationExpired"
    assert c.locks.holder(world.tenant, imp.bank_accounts[0].id) is None
    c.workflow.expire(expired)
    assert world.get(imp.id).version == expired.version


def test_begin_commit_answers_the_chunks_and_complete_records_the_file(c: FakeContainer, world: World):
    imp, _ = world.awaiting()
    with pytest.raises(Conflict):  # not confirmed yet
        c.workflow.begin_commit(world.get(imp.id))
    c.import_service.confirm(world.tenant, imp.id)
    assert c.workflow.begin_commit(world.get(imp.id)) == imp.chunk_keys
    c.workflow.complete(world.get(imp.id))
    done = world.get(imp.id)
    assert done.status == ImportStatus.COMPLETE and done.completed is not None and done.task_token is None
    assert c.imports.replay_of(world.tenant, imp.bank_accounts[0].id, imp.file_sha256 or "") == imp.id
    c.workflow.complete(done)  # again: nothing changes
    assert world.get(imp.id).version == done.version
    with pytest.raises(Conflict):
        c.workflow.begin_commit(done)


def test_fail_records_the_cause_the_state_machine_caught(c: FakeContainer, world: World):
    imp, _ = world.awaiting()
    cause = json.dumps({"errorType": "TransientError", "errorMessage": "the ledger kept throttling"})
    c.workflow.fail(world.get(imp.id), {"Error": "States.TaskFailed", "Cause": cause})
    failed = world.get(imp.id)
    assert failed.status == ImportStatus.ERROR
    assert failed.error_details[0].code == "ProcessingError"
    assert failed.error_details[0].message == "the ledger kept throttling (TransientError)"
    c.workflow.fail(failed, None)  # already failed: nothing more
    assert len(world.get(imp.id).error_details) == len(failed.error_details)


def test_a_step_timing_out_says_so_and_what_to_do(c: FakeContainer, world: World):
    imp, _ = world.awaiting()
    c.workflow.fail(world.get(imp.id), {"Error": "States.Timeout", "Cause": ""})
    (detail,) = [d for d in world.get(imp.id).error_details if d.severity == "error"]
    assert detail.code == "ProcessingError" and detail.message.endswith("send the file again, or in parts (Timeout)")


def test_fail_never_overrides_a_deleted_import(c: FakeContainer, world: World):
    imp = world.create(world.account())
    imp.status = ImportStatus.DELETED
    c.imports.save(imp)
    c.lifecycle.fail(world.get(imp.id), [ErrorDetail(code="ProcessingError", message="late")])
    assert world.get(imp.id).status == ImportStatus.DELETED
