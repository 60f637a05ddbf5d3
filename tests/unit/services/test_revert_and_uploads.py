"""RevertService and UploadService on fakes."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from tests.fakes.container import FakeContainer
from tests.unit.services.world import CSV, World
from tximport.adapters.workflow import StartRefused
from tximport.models import ImportStatus, LedgerLine, utcnow


def _reverting(c: FakeContainer, world: World, content: bytes = CSV):
    imp = world.completed(content)
    c.import_service.revert(world.tenant, imp.id)
    return world.get(imp.id)


# --- revert -----------------------------------------------------------------------------------------

def test_a_revert_removes_only_the_lines_this_import_wrote(c: FakeContainer, world: World):
    imp = _reverting(c, world)
    account = imp.bank_accounts[0].id
    other = LedgerLine(transaction_id="other-line", bank_account_id=account, amount=Decimal(1),
                       date_posted=imp.summary.transaction_range_start_date,  # type: ignore[union-attr]
                       import_id="another-import", committed=utcnow())
    c.ledger.write(world.tenant, [other])

    done = c.revert.run(world.tenant, imp.id)

    assert done.revert.status == "reverted" and done.revert.line_count == 3 and done.reverted is not None
    assert done.error_details[-1].code == "Reverted"
    assert [line.transaction_id for line in c.ledger.all(world.tenant, account)] == ["other-line"]
    assert c.imports.replay_of(world.tenant, account, imp.file_sha256 or "") is None
    again = c.revert.run(world.tenant, imp.id)  # Lambda retries asynchronous invocations
    assert again.revert.line_count == 3 and again.version == done.version


def test_a_revert_out_of_time_fails_and_the_next_one_continues(c: FakeContainer, world: World):
    c.settings.chunk_rows = 1
    imp = _reverting(c, world)
    calls = itertools.count()

    stopped = c.revert.run(world.tenant, imp.id, remaining_ms=lambda: 60_000 if next(calls) < 2 else 0)

    assert stopped.revert.status == "revertFailed" and stopped.error_details[-1].code == "RevertIncomplete"
    assert stopped.revert.line_count == 2 and stopped.revert.chunks_done == 2
    assert c.revert.run(world.tenant, imp.id).revert.status == "revertFailed"  # nobody asked again

    c.import_service.revert(world.tenant, imp.id)
    done = c.revert.run(world.tenant, imp.id, remaining_ms=lambda: 60_000)

    assert done.revert.status == "reverted" and done.revert.line_count == 3
    assert c.ledger.all(world.tenant, imp.bank_accounts[0].id) == []


def test_a_revert_that_fails_midway_keeps_an_exact_count(c: FakeContainer, world: World):
    imp = _reverting(c, world)
    c.ledger.fail_deletes_after = 2

    failed = c.revert.run(world.tenant, imp.id)

    assert failed.revert.status == "revertFailed" and failed.revert.line_count == 2
    assert "ConnectionError" in failed.error_details[-1].message
    c.ledger.fail_deletes_after = None
    c.import_service.revert(world.tenant, imp.id)
    assert c.revert.run(world.tenant, imp.id).revert.line_count == 3


def test_a_run_nobody_asked_for_does_nothing(c: FakeContainer, world: World):
    imp = world.completed()
    assert c.revert.run(world.tenant, imp.id).revert.status is None
    assert len(c.ledger.all(world.tenant, imp.bank_accounts[0].id)) == 3


# --- uploads ----------------------------------------------------------------------------------------

def test_an_upload_starts_the_import_execution_once(c: FakeContainer, world: World):
    imp = world.create(world.account())
    key = imp.s3_key.replace("/", "%2F")

    assert c.uploads.on_object_created(key, 123) == "started"
    assert c.uploads.on_object_created(key, 123) == "duplicate"

    started = world.get(imp.id)
    assert started.status == ImportStatus.PROCESSING and started.file_uploaded and started.file_size == 123
    assert started.execution_arn and c.workflow_engine.executions == {imp.id: {
        "importId": imp.id, "tenant": {"organisationId": "org-1", "companyId": "co-1"},
        "confirmationTimeoutSeconds": 604800, "queueTimeoutSeconds": 1209600}}


def test_an_event_for_a_finished_execution_starts_nothing(c: FakeContainer, world: World):
    imp = world.create(world.account())
    c.workflow_engine.executions[imp.id] = {}
    c.workflow_engine.finished.add(imp.id)
    assert c.uploads.on_object_created(imp.s3_key, 1) == "duplicate"
    assert world.get(imp.id).status == ImportStatus.AWAITING_FILE_UPLOAD


@pytest.mark.parametrize("key", ["elsewhere/file.csv", "uploads/org-1/co-1/unknown-import", "uploads/a/b"])
def test_objects_outside_the_upload_layout_or_without_an_import_are_ignored(c: FakeContainer, key: str):
    assert c.uploads.on_object_created(key, 1) == "ignored"


def test_an_execution_that_cannot_start_fails_the_import(c: FakeContainer, world: World):
    imp = world.create(world.account())
    c.workflow_engine.refuse_starts = True
    with pytest.raises(StartRefused):
        c.uploads.on_object_created(imp.s3_key, 1)
    failed = world.get(imp.id)
    assert failed.status == ImportStatus.ERROR and failed.error_details[0].code == "ProcessingError"
