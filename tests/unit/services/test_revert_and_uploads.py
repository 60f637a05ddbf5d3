"""RevertService and UploadService on fakes."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.fakes.container import FakeContainer
from tests.unit.services.world import CSV, World
from tximport.adapters.workflow import StartRefused
from tximport.errors import Conflict
from tximport.models import ImportStatus, LedgerLine, utcnow
from tximport.tasks import process_timeout


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

    done = c.revert.run(world.tenant, imp.id).imp

    assert done.revert.status == "reverted" and done.revert.line_count == 3 and done.reverted is not None
    assert done.error_details[-1].code == "Reverted"
    assert [line.transaction_id for line in c.ledger.all(world.tenant, account)] == ["other-line"]
    assert c.imports.replay_of(world.tenant, account, imp.file_sha256 or "") is None
    again = c.revert.run(world.tenant, imp.id).imp  # a run retried after its answer was lost
    assert again.revert.line_count == 3 and again.version == done.version


def test_a_run_out_of_time_hands_on_to_the_next_run_which_finishes_the_revert(c: FakeContainer, world: World):
    c.settings.chunk_rows = 1
    imp = _reverting(c, world)
    calls = itertools.count()

    stopped = c.revert.run(world.tenant, imp.id, remaining_ms=lambda: 60_000 if next(calls) < 2 else 0)

    assert stopped.more and stopped.refreshed_through == 2
    assert stopped.imp.revert.status == "reverting" and stopped.imp.revert.line_count == 2
    assert c.imports.get(world.tenant, imp.id).revert.chunks_done == 2
    assert not [d for d in stopped.imp.error_details if d.code == "RevertIncomplete"]

    done = c.revert.run(world.tenant, imp.id, remaining_ms=lambda: 60_000, refreshed_through=2)

    assert not done.more and done.imp.revert.status == "reverted" and done.imp.revert.line_count == 3
    assert c.ledger.all(world.tenant, imp.bank_accounts[0].id) == []
    assert [d.code for d in done.imp.error_details if d.code.startswith("Revert")] == ["Reverted"]


def test_a_run_that_can_remove_nothing_in_its_time_fails_and_a_new_revert_continues(c: FakeContainer, world: World):
    c.settings.chunk_rows = 1
    imp = _reverting(c, world)
    calls = itertools.count()
    c.revert.run(world.tenant, imp.id, remaining_ms=lambda: 60_000 if next(calls) < 2 else 0)

    stuck = c.revert.run(world.tenant, imp.id, remaining_ms=lambda: 0, refreshed_through=2)

    assert not stuck.more and stuck.imp.revert.status == "revertFailed"
    assert stuck.imp.error_details[-1].code == "RevertIncomplete" and stuck.imp.revert.line_count == 2
    assert c.revert.run(world.tenant, imp.id).imp.revert.status == "revertFailed"  # nobody asked again
    c.import_service.revert(world.tenant, imp.id)
    done = c.revert.run(world.tenant, imp.id, remaining_ms=lambda: 60_000)
    assert done.imp.revert.status == "reverted" and done.imp.revert.line_count == 3
    # where it stands now, not where an earlier run stopped
    assert [d.code for d in done.imp.error_details if d.code.startswith("Revert")] == ["Reverted"]


def test_a_run_handles_at_most_its_share_of_chunks_and_the_runs_remove_every_line_once(c: FakeContainer,
                                                                                      world: World):
    c.settings.chunk_rows = 1
    imp = _reverting(c, world)
    c.revert.chunks_per_run = 1
    runs, through = [], 0
    while True:
        run = c.revert.run(world.tenant, imp.id, remaining_ms=lambda: 60_000, refreshed_through=through)
        runs.append((run.more, run.imp.revert.line_count))
        through = run.refreshed_through
        if not run.more:
            break

    assert runs == [(True, 1), (True, 2), (False, 3)]
    assert c.imports.get(world.tenant, imp.id).revert.status == "reverted"


def test_a_revert_recomputes_each_day_once_and_a_new_revert_the_days_of_the_runs_before_it_too(
        c: FakeContainer, world: World):
    c.settings.chunk_rows = 1  # Coffee, Salary and Rent in a chunk each, on three days
    imp = _reverting(c, world)
    account = imp.bank_accounts[0].id
    days = [(account, d) for d in sorted({x.date_posted for x in c.ledger.all(world.tenant, account)})]
    calls = itertools.count()
    c.ledger.refreshed.clear()

    stopped = c.revert.run(world.tenant, imp.id, remaining_ms=lambda: 60_000 if next(calls) < 1 else 0)

    assert stopped.more and c.ledger.refreshed == days[:1]  # once each, after the deletes
    c.ledger.refreshed.clear()
    calls = itertools.count()
    c.revert.run(world.tenant, imp.id, remaining_ms=lambda: 60_000 if next(calls) < 1 else 0,
                 refreshed_through=stopped.refreshed_through)
    assert c.ledger.refreshed == days[1:2]  # the next run of the workflow: its own days only
    c.ledger.refreshed.clear()
    assert c.revert.run(world.tenant, imp.id, remaining_ms=lambda: 0, refreshed_through=2).imp.revert.status \
        == "revertFailed"
    c.ledger.refreshed.clear()
    c.import_service.revert(world.tenant, imp.id)
    assert c.revert.run(world.tenant, imp.id).imp.revert.status == "reverted"
    assert c.ledger.refreshed == days  # a new revert: the earlier runs' days again (one may have stopped before)


def test_a_revert_reads_no_ledger_line_when_no_live_reconciliation_is_near_its_lines(c: FakeContainer,
                                                                                   world: World):
    from tximport.reconciliation.models import Reconciliation, ReconciliationStatus, Source

    imp = _reverting(c, world)
    account = imp.bank_accounts[0].id
    last = max(x.date_posted for x in c.ledger.all(world.tenant, account))
    c.reconciliation_store.create(Reconciliation(  # a month after the import's lines, beyond its 5-day window
        id="rec-later", organisation_id=world.tenant.organisation_id, company_id=world.tenant.company_id,
        account_id=account, period_start=last + timedelta(days=6), period_end=last + timedelta(days=36),
        source=Source.API_IMPORT, status=ReconciliationStatus.COMPLETED, entries_key="k/rec-later"))
    read: list[object] = []
    get_lines = c.ledger.get_lines
    c.ledger.get_lines = lambda tenant, refs: read.append(refs) or get_lines(tenant, refs)  # type: ignore[method-assign]

    assert c.revert.run(world.tenant, imp.id).imp.revert.status == "reverted"
    assert read == []


def test_a_revert_that_fails_midway_keeps_an_exact_count(c: FakeContainer, world: World):
    imp = _reverting(c, world)
    c.ledger.fail_deletes_after = 2

    failed = c.revert.run(world.tenant, imp.id).imp

    assert failed.revert.status == "revertFailed" and failed.revert.line_count == 2
    assert "ConnectionError" in failed.error_details[-1].message
    c.ledger.fail_deletes_after = None
    c.import_service.revert(world.tenant, imp.id)
    assert c.revert.run(world.tenant, imp.id).imp.revert.line_count == 3


def test_a_run_nobody_asked_for_does_nothing(c: FakeContainer, world: World):
    imp = world.completed()
    assert c.revert.run(world.tenant, imp.id).imp.revert.status is None
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
        "confirmationTimeoutSeconds": 604800, "queueTimeoutSeconds": 1209600, "processTimeoutSeconds": 60}}


def test_the_process_step_gets_a_timeout_that_fits_the_file():
    """A runaway parse of a small file ends in error in about a minute, not 15 (issue 13, items 4, 11)."""
    assert process_timeout(123) == 60
    assert process_timeout(1_000_000) == 62  # the 1 MB OFX that took 99 s on a quadratic reader
    assert process_timeout(100_000_000) == 310
    assert process_timeout(250_000_000) == 685  # a 250 MB file
    assert process_timeout(400_000_000) == process_timeout(None) == 900  # the function's own limit


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


# --- a commit that failed part-way (issue 13, item 5) -----------------------------------------------

def _commit_fails_after_one_chunk(c: FakeContainer, world: World):
    """Confirmed, its commit begun, the first of three chunks written, then the commit failed."""
    c.settings.chunk_rows = 1
    imp, _ = world.awaiting()
    c.import_service.confirm(world.tenant, imp.id)
    chunks = c.workflow.begin_commit(world.get(imp.id))
    assert len(chunks) == 3
    c.commit.commit_chunk(world.get(imp.id), chunks[0])
    assert len(c.ledger.all(world.tenant, imp.bank_accounts[0].id)) == 1
    return world.get(imp.id)


def test_undoing_a_failed_commit_removes_what_it_wrote_then_the_failure_is_recorded(c: FakeContainer,
                                                                                   world: World):
    imp = _commit_fails_after_one_chunk(c, world)
    account = imp.bank_accounts[0].id
    other = LedgerLine(transaction_id="other-line", bank_account_id=account, amount=Decimal(1),
                       date_posted=imp.summary.transaction_range_start_date,  # type: ignore[union-attr]
                       import_id="another-import", committed=utcnow())
    c.ledger.write(world.tenant, [other])

    seen = []
    deleting = c.ledger.delete_many_if_from_import

    def watched(*args, **kwargs):  # what a client polling the import sees while its lines go
        seen.append([d.code for d in world.get(imp.id).error_details])
        return deleting(*args, **kwargs)

    c.ledger.delete_many_if_from_import = watched  # type: ignore[method-assign]
    assert c.revert.undo_commit(world.tenant, imp.id) == 1
    assert seen and all("CommitFailed" in codes for codes in seen)
    assert c.revert.undo_commit(world.tenant, imp.id) == 0  # a retried step removes nothing more
    c.workflow.fail(world.get(imp.id), {"Error": "ChunkCommitFailed", "Cause": "boom"})

    failed = world.get(imp.id)
    assert failed.status == ImportStatus.ERROR and failed.error_details[0].code == "ProcessingError"
    assert [d.code for d in failed.error_details].count("CommitUndone") == 1
    assert "CommitFailed" not in [d.code for d in failed.error_details]  # the note while undoing gave way
    assert failed.revert.status == "reverted" and not failed.holds_failed_commit
    assert [line.transaction_id for line in c.ledger.all(world.tenant, account)] == ["other-line"]
    assert c.locks.holder(world.tenant, account) is None
    assert c.import_service.delete(world.tenant, imp.id).status == ImportStatus.DELETED


def test_a_complete_import_keeps_its_lines_when_a_later_step_fails(c: FakeContainer, world: World):
    imp = world.completed()
    assert c.revert.undo_commit(world.tenant, imp.id) == 0
    c.workflow.fail(world.get(imp.id), {"Error": "States.Timeout"})
    assert world.get(imp.id).status == ImportStatus.COMPLETE
    assert len(c.ledger.all(world.tenant, imp.bank_accounts[0].id)) == 3


def test_lines_a_failed_undo_left_are_reverted_and_the_import_is_deleted_only_then(c: FakeContainer,
                                                                                  world: World):
    imp = _commit_fails_after_one_chunk(c, world)
    c.workflow.fail(world.get(imp.id), {"Error": "ChunkCommitFailed"})  # the undo step failed too
    failed = world.get(imp.id)
    assert failed.holds_failed_commit

    with pytest.raises(Conflict) as refused:
        c.import_service.delete(world.tenant, imp.id)
    assert refused.value.target == "revertStatus"
    _, running = c.import_service.revert(world.tenant, imp.id)
    assert running
    done = c.revert.run(world.tenant, imp.id).imp
    assert done.revert.status == "reverted" and done.revert.line_count == 1
    assert c.ledger.all(world.tenant, imp.bank_accounts[0].id) == []
    assert c.import_service.delete(world.tenant, imp.id).status == ImportStatus.DELETED


def test_an_import_that_failed_before_its_commit_cannot_be_reverted(c: FakeContainer, world: World):
    imp, _ = world.awaiting()
    c.workflow.expire(world.get(imp.id))
    with pytest.raises(Conflict):
        c.import_service.revert(world.tenant, imp.id)


# --- revert and reconciliations ---------------------------------------------------------------------

def _marks(c: FakeContainer, world: World, imp, rec_id: str, *lines: int) -> list:
    from tximport.models import LineMark

    account = imp.bank_accounts[0].id
    ledger = c.ledger.all(world.tenant, account)
    return [LineMark(account, ledger[n].date_posted.isoformat(), ledger[n].transaction_id, rec_id,
                     f"{rec_id}-e{ledger[n].transaction_id}", "MATCHED") for n in lines]


def _held_by(c: FakeContainer, world: World, imp, rec_id: str, status: str, *lines: int) -> None:
    """A reconciliation of the import's account, in `status`, whose entries hold the import's `lines`."""
    from tximport.reconciliation.models import Reconciliation, ReconciliationStatus, Source

    account = imp.bank_accounts[0].id
    ledger = c.ledger.all(world.tenant, account)
    first, last = min(x.date_posted for x in ledger), max(x.date_posted for x in ledger)
    c.reconciliation_store.create(Reconciliation(
        id=rec_id, organisation_id=world.tenant.organisation_id, company_id=world.tenant.company_id,
        account_id=account, period_start=first, period_end=last, source=Source.API_IMPORT,
        status=ReconciliationStatus(status), entries_key=f"k/{rec_id}"))
    assert c.ledger.mark(world.tenant, _marks(c, world, imp, rec_id, *lines)) == []


def test_a_revert_of_reconciled_lines_removes_nothing_and_names_the_reconciliations(c: FakeContainer,
                                                                                    world: World):
    imp = _reverting(c, world)
    account = imp.bank_accounts[0].id
    _held_by(c, world, imp, "rec-1", "COMPLETED", 0, 2)

    stopped = c.revert.run(world.tenant, imp.id).imp

    assert stopped.revert.status == "revertFailed" and stopped.reverted is None
    detail = stopped.error_details[-1]
    assert (detail.code, detail.target, detail.actual_value) == ("ReconciledLines", "reconciliations", "rec-1")
    assert "rec-1 (2 line(s))" in detail.message and "UNMATCHED" in detail.message
    assert len(c.ledger.all(world.tenant, account)) == 3 and stopped.revert.line_count in (0, None)

    # the user unmatches the entries, asks again: the revert goes through
    c.ledger.unmark(world.tenant, _marks(c, world, imp, "rec-1", 0, 2))
    c.import_service.revert(world.tenant, imp.id)
    done = c.revert.run(world.tenant, imp.id).imp
    assert done.revert.status == "reverted" and done.revert.line_count == 3
    assert c.ledger.all(world.tenant, account) == []


def test_a_failed_reconciliation_holds_nothing_back(c: FakeContainer, world: World):
    imp = _reverting(c, world)
    _held_by(c, world, imp, "rec-failed", "FAILED", 1)

    done = c.revert.run(world.tenant, imp.id).imp

    assert done.revert.status == "reverted" and done.revert.line_count == 3


def test_a_line_matched_while_the_revert_runs_is_kept_and_the_revert_stops_on_it(c: FakeContainer,
                                                                                 world: World):
    """The check before the first delete passed; an entry matches a line meanwhile: the conditional delete
    keeps it, the revert stops (revertFailed, ReconciledLines) with an exact count, and continues once the
    entry lets go of the line."""
    c.settings.chunk_rows = 1
    imp = _reverting(c, world)
    account = imp.bank_accounts[0].id
    seen = itertools.count()

    def match_the_last_line_once(_line) -> None:
        if next(seen) == 0:
            _held_by(c, world, imp, "rec-late", "PARTIALLY_MATCHED", 2)

    c.ledger.before_delete = match_the_last_line_once
    stopped = c.revert.run(world.tenant, imp.id).imp

    assert stopped.revert.status == "revertFailed" and stopped.error_details[-1].code == "ReconciledLines"
    assert stopped.error_details[-1].actual_value == "rec-late" and stopped.revert.line_count == 2
    assert [x.reconciliation.reconciliation_id for x in c.ledger.all(world.tenant, account)  # type: ignore[union-attr]
            ] == ["rec-late"]
    c.ledger.unmark(world.tenant, _marks(c, world, imp, "rec-late", 0))
    c.import_service.revert(world.tenant, imp.id)
    done = c.revert.run(world.tenant, imp.id).imp
    assert done.revert.status == "reverted" and done.revert.line_count == 3


def test_an_undo_retried_after_failing_part_way_counts_every_line_it_removed(c: FakeContainer, world: World):
    c.settings.chunk_rows = 2
    imp, _ = world.awaiting()
    c.import_service.confirm(world.tenant, imp.id)
    chunks = c.workflow.begin_commit(world.get(imp.id))
    for chunk in chunks:
        c.commit.commit_chunk(world.get(imp.id), chunk)
    c.ledger.fail_deletes_after = 1  # the first chunk's second delete fails (a throttled table)
    with pytest.raises(ConnectionError):
        c.revert.undo_commit(world.tenant, imp.id)
    assert len(c.ledger.all(world.tenant, imp.bank_accounts[0].id)) == 2
    c.ledger.fail_deletes_after = None

    assert c.revert.undo_commit(world.tenant, imp.id) == 2  # the workflow's retry

    undone = world.get(imp.id)
    assert undone.revert.line_count == 3 and c.ledger.all(world.tenant, imp.bank_accounts[0].id) == []
    (note,) = [d for d in undone.error_details if d.code == "CommitUndone"]
    assert "the 3 ledger line(s)" in note.message


def test_a_line_the_review_imports_beside_its_twin_in_the_ledger_keeps_the_twin_and_its_revert_only_its_own(
        c: FakeContainer, world: World):
    """A line whose id a ledger line of another import has (alreadyImported, skipped by default) that the reviewer
    imports all the same is written beside it, never over it; reverting either import removes its own line only."""
    account = world.account()
    first = world.completed(CSV, account)
    second, _ = world.awaiting(CSV + b"2024-01-05,Books,-20.00\n", account, bypass_replay_validation=True)
    twins = [r for r in c.staging.all_rows(second.chunk_keys) if r.possible_duplicate]
    assert [r.duplicate_of for r in twins] == [r.transaction_id for r in twins] and len(twins) == 3
    c.review_service.set_decision(world.tenant, second.id, twins[0].transaction_id, "import")  # the Coffee line
    c.import_service.confirm(world.tenant, second.id)
    for chunk in c.workflow.begin_commit(world.get(second.id)):
        c.commit.commit_chunk(world.get(second.id), chunk)
    c.commit.refresh_balances(world.get(second.id))
    c.workflow.complete(world.get(second.id))

    def ledger() -> list[tuple[str, str, str]]:
        return sorted((x.description or "", str(x.amount), x.import_id) for x in c.ledger.all(world.tenant, account))

    assert ledger() == sorted([("Coffee", "-3.50", first.id), ("Salary", "2500.00", first.id),
                               ("Rent", "-1200.00", first.id), ("Coffee", "-3.50", second.id),
                               ("Books", "-20.00", second.id)])
    c.import_service.revert(world.tenant, second.id)
    assert c.revert.run(world.tenant, second.id).imp.revert.line_count == 2
    assert ledger() == sorted([("Coffee", "-3.50", first.id), ("Salary", "2500.00", first.id),
                               ("Rent", "-1200.00", first.id)])
    c.import_service.revert(world.tenant, first.id)
    assert c.revert.run(world.tenant, first.id).imp.revert.line_count == 3
    assert ledger() == []


def test_a_duplicate_by_bank_id_imported_again_and_again_never_overwrites_the_first_line(c: FakeContainer,
                                                                                          world: World):
    """Three imports of the same line with a bank id, the later two imported all the same: three ledger lines, each
    import's own; reverting the last removes its line only."""
    account = world.account()
    content = b"Date,Description,Amount,Ref\n2024-01-02,Coffee,-3.50,FIT-1\n"
    mapping = {"columns": {"date": "Date", "description": "Description", "amount": "Amount",
                           "bankTransactionId": "Ref"}}
    imports = [world.completed(content, account, file_format="CSV#mapped#v1", mapping=mapping,
                               bypass_replay_validation=True)]
    for _ in range(2):
        imp, _ = world.awaiting(content, account, file_format="CSV#mapped#v1", mapping=mapping,
                                bypass_replay_validation=True)
        (row,) = c.staging.all_rows(imp.chunk_keys)
        assert row.possible_duplicate and row.default_decision == "skip"
        c.review_service.set_decision(world.tenant, imp.id, row.transaction_id, "import")
        c.import_service.confirm(world.tenant, imp.id)
        for chunk in c.workflow.begin_commit(world.get(imp.id)):
            c.commit.commit_chunk(world.get(imp.id), chunk)
        c.workflow.complete(world.get(imp.id))
        imports.append(world.get(imp.id))

    def owners() -> list[str]:
        return sorted(x.import_id for x in c.ledger.all(world.tenant, account))

    assert owners() == sorted(i.id for i in imports)
    c.import_service.revert(world.tenant, imports[2].id)
    assert c.revert.run(world.tenant, imports[2].id).imp.revert.line_count == 1
    assert owners() == sorted(i.id for i in imports[:2])


def test_a_revert_tries_only_the_lines_the_commit_wrote(c: FakeContainer, world: World):
    """The lines the review skipped (certain duplicates by default, a new line by the reviewer) were never written:
    the revert tries no delete for them (it tried two per certain duplicate, and held the account meanwhile), and
    removes the one line the import wrote."""
    account = world.account()
    first = world.completed(CSV, account)
    again, _ = world.awaiting(CSV + b"2024-01-05,Books,-20.00\n2024-01-06,Lamp,-35.00\n", account,
                              bypass_replay_validation=True)
    lamp = next(r for r in c.staging.all_rows(again.chunk_keys) if r.description == "Lamp")
    c.review_service.set_decision(world.tenant, again.id, lamp.transaction_id, "skip")
    c.import_service.confirm(world.tenant, again.id)
    for chunk in c.workflow.begin_commit(world.get(again.id)):
        c.commit.commit_chunk(world.get(again.id), chunk)
    c.workflow.complete(world.get(again.id))
    tried: list[str] = []
    c.ledger.before_delete = lambda line: tried.append(line.description or "")
    c.import_service.revert(world.tenant, again.id)
    assert c.revert.run(world.tenant, again.id).imp.revert.line_count == 1
    assert tried == ["Books"]
    assert sorted(x.import_id for x in c.ledger.all(world.tenant, account)) == [first.id] * 3
