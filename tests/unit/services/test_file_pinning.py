"""The committed file is the reviewed file: the upload's version is pinned when processing starts, and
a later PUT over the key fails the import (FileChanged) before the commit, or is removed after it."""

from __future__ import annotations

import pytest

from tests.fakes.container import FakeContainer
from tests.unit.services.world import CSV, World
from tximport.errors import Conflict
from tximport.models import ImportStatus, ReviewLevel

OTHER_FILE = b"Date,Description,Amount\n2024-01-05,Other,-1.00\n"


def _code(world: World, import_id: str) -> str:
    imp = world.get(import_id)
    assert imp.status == ImportStatus.ERROR, imp.status
    return imp.error_details[0].code


def _event(c: FakeContainer, key: str) -> str:
    return c.uploads.on_object_created(key, None)


def test_processing_pins_the_version_and_reads_only_it(c: FakeContainer, world: World):
    imp, outcome = world.processed(CSV)
    (only,) = c.objects.versions(imp.s3_key)
    assert outcome == "review" and (imp.file_version_id, imp.file_etag) == (only.version_id, only.etag)
    assert not c.uploaded_files.changed(imp)


def test_two_uploads_before_processing_fail_file_changed(c: FakeContainer, world: World):
    imp = world.create(world.account())
    world.upload(imp, CSV)
    assert _event(c, imp.s3_key) == "started"
    world.upload(imp, OTHER_FILE)  # right after the first: nothing is pinned yet
    assert _event(c, imp.s3_key) == "duplicate"
    assert c.processing.process(world.get(imp.id)) == "failed"
    assert _code(world, imp.id) == "FileChanged"
    assert c.objects.keys(f"staging/org-1/co-1/{imp.id}/") == []


def test_an_upload_while_processing_is_caught_when_the_read_ends(c: FakeContainer, world: World):
    imp = world.create(world.account())
    world.upload(imp, CSV)
    world.claim(imp.id)
    original = c.staging.row_writer

    def upload_meanwhile(prefix: str):  # the second PUT lands after the pin, while lines are staged
        world.upload(imp, OTHER_FILE)
        return original(prefix)

    c.staging.row_writer = upload_meanwhile  # type: ignore[method-assign]
    assert c.processing.process(world.get(imp.id)) == "failed"
    assert _code(world, imp.id) == "FileChanged"
    assert c.objects.keys(f"staging/org-1/co-1/{imp.id}/") == []


def test_an_upload_event_while_processing_fails_the_import_and_processing_stops(c: FakeContainer, world: World):
    imp = world.create(world.account())
    world.upload(imp, CSV)
    world.claim(imp.id)
    original = c.staging.row_writer

    def event_meanwhile(prefix: str):
        world.upload(imp, OTHER_FILE)
        assert _event(c, imp.s3_key) == "fileChanged"  # the pin was saved before the read began
        return original(prefix)

    c.staging.row_writer = event_meanwhile  # type: ignore[method-assign]
    assert c.processing.process(world.get(imp.id)) == "failed"
    assert _code(world, imp.id) == "FileChanged"


def test_an_upload_after_review_fails_the_import_and_ends_the_wait(c: FakeContainer, world: World):
    account = world.account()
    imp, token = world.awaiting(CSV, account)
    world.upload(imp, OTHER_FILE)
    assert _event(c, imp.s3_key) == "fileChanged"
    assert _code(world, imp.id) == "FileChanged"
    assert (token, {"action": "fileChanged"}) in c.workflow_engine.resumed
    with pytest.raises(Conflict):
        c.import_service.confirm(world.tenant, imp.id)
    # its account is free again
    _, outcome = world.processed(CSV.replace(b"Rent", b"Rent March"), account)
    assert outcome == "review"


def test_a_confirm_that_won_keeps_the_reviewed_file_when_the_later_upload_is_seen_at_the_commit(
        c: FakeContainer, world: World):
    """The confirm answered 204 (document 002: it cannot be undone) before the later upload's event was handled:
    the commit step finds the key changed, removes the later upload and commits the reviewed lines."""
    imp, _ = world.awaiting(CSV)
    c.import_service.confirm(world.tenant, imp.id)
    world.upload(imp, OTHER_FILE)  # its event not delivered yet
    assert c.workflow.begin_commit(world.get(imp.id)) == world.get(imp.id).chunk_keys
    assert world.get(imp.id).status == ImportStatus.FINAL_PROCESSING and world.get(imp.id).commit_started
    assert [v.version_id for v in c.objects.versions(imp.s3_key)] == [imp.file_version_id]
    assert c.objects.objects[imp.s3_key] == CSV
    assert _event(c, imp.s3_key) == "duplicate"  # the late event finds only the pinned version


def test_an_import_that_confirms_by_itself_fails_before_the_commit_when_its_file_changed(
        c: FakeContainer, world: World):
    """No client confirmed it (a review level that confirms by itself): the later upload fails it, as in review."""
    imp, outcome = world.processed(CSV, review_level=ReviewLevel.MINIMAL)
    assert outcome == "confirm" and imp.status == ImportStatus.FINAL_PROCESSING
    world.upload(imp, OTHER_FILE)  # its event not delivered yet
    with pytest.raises(Conflict) as raised:
        c.workflow.begin_commit(world.get(imp.id))
    assert raised.value.code == "FileChanged" and _code(world, imp.id) == "FileChanged"
    assert world.get(imp.id).commit_started is None


def test_an_upload_after_the_commit_began_is_removed(c: FakeContainer, world: World):
    done = world.completed(CSV)
    world.upload(done, OTHER_FILE)
    assert _event(c, done.s3_key) == "removed"
    assert world.get(done.id).status == ImportStatus.COMPLETE
    assert [v.version_id for v in c.objects.versions(done.s3_key)] == [done.file_version_id]
    assert c.objects.objects[done.s3_key] == CSV


def test_the_pinned_uploads_own_event_again_changes_nothing(c: FakeContainer, world: World):
    imp, _ = world.awaiting(CSV)
    assert _event(c, imp.s3_key) == "duplicate"
    assert world.get(imp.id).status == ImportStatus.AWAITING_CONFIRMATION


def test_delete_removes_every_version_and_an_upload_after_it_is_removed(c: FakeContainer, world: World):
    imp, _ = world.awaiting(CSV)
    c.import_service.delete(world.tenant, imp.id)
    assert c.objects.versions(imp.s3_key) == []
    world.upload(imp, OTHER_FILE)  # the presigned URL is still valid
    assert _event(c, imp.s3_key) == "removed"
    assert c.objects.versions(imp.s3_key) == [] and world.get(imp.id).status == ImportStatus.DELETED


def test_a_confirm_that_wins_the_race_keeps_the_reviewed_file(c: FakeContainer, world: World):
    """The upload event reads the import awaiting confirmation, a confirm wins the write: the event
    reads it again, now committing, and removes the later version instead."""
    imp, _ = world.awaiting(CSV)
    stale = world.get(imp.id)
    c.import_service.confirm(world.tenant, imp.id)
    world.upload(imp, OTHER_FILE)
    assert c.uploaded_files.on_later_upload(stale) == "removed"
    assert world.get(imp.id).status == ImportStatus.FINAL_PROCESSING
    assert c.workflow.begin_commit(world.get(imp.id)) == world.get(imp.id).chunk_keys
