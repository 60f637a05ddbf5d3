"""ReviewService on fakes: staged rows with decisions, decisions, the dry run and error details."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.fakes.container import FakeContainer
from tests.unit.services.world import CSV, World
from tximport.commands import FlipSigns
from tximport.errors import Conflict, NotFound, ValidationFailed
from tximport.storage.objects import ObjectMissing


def test_review_pages_cross_chunks_with_each_lines_decision(c: FakeContainer, world: World):
    c.settings.chunk_rows = 2
    imp, _ = world.awaiting()
    rows = list(c.staging.all_rows(imp.chunk_keys))
    c.review_service.set_decision(world.tenant, imp.id, rows[1].transaction_id, "skip")

    seen, cursor = [], None
    while True:
        page = c.review_service.review(world.tenant, imp.id, page_size=2, cursor=cursor)
        assert page.imp.id == imp.id
        seen += [(line.row.description, line.decision) for line in page.lines]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [("Coffee", "import"), ("Salary", "skip"), ("Rent", "import")]


def test_nothing_is_reviewable_before_processing(c: FakeContainer, world: World):
    imp = world.create(world.account())
    with pytest.raises(Conflict) as err:
        c.review_service.review(world.tenant, imp.id, page_size=10, cursor=None)
    assert err.value.code == "InvalidImportStatus"


def test_decisions_need_a_staged_line_and_an_import_awaiting_confirmation(c: FakeContainer, world: World):
    imp, _ = world.awaiting()
    with pytest.raises(NotFound) as err:
        c.review_service.set_decision(world.tenant, imp.id, "no-such-line", "skip")
    assert err.value.code == "TransactionNotFound"
    c.import_service.confirm(world.tenant, imp.id)
    with pytest.raises(Conflict):
        c.review_service.set_decision(world.tenant, imp.id, "no-such-line", "skip")


def test_the_dry_run_counts_adds_and_skips_per_account(c: FakeContainer, world: World):
    imp, _ = world.awaiting()
    rent = next(r for r in c.staging.all_rows(imp.chunk_keys) if r.description == "Rent")
    c.review_service.set_decision(world.tenant, imp.id, rent.transaction_id, "skip")

    plan = c.review_service.dry_run(world.tenant, imp.id)

    [account] = plan.accounts
    assert (plan.add, plan.skip, account.add, account.skip) == (2, 1, 2, 1)
    assert account.add_sum == Decimal("2496.50") and account.skipped_transaction_ids == [rent.transaction_id]


def test_error_details_list_file_problems_then_every_rejected_line(c: FakeContainer, world: World):
    c.settings.chunk_rows = 2
    bad = b"".join(f"2024-01-1{n},Broken {n},x{n}\n".encode() for n in range(5))
    imp, _ = world.awaiting(CSV + bad)

    first = c.review_service.error_details(world.tenant, imp.id, page_size=3, cursor=None)
    rest = c.review_service.error_details(world.tenant, imp.id, page_size=3, cursor=first.next_cursor)

    assert [d.code for d in first.details] == ["RejectedLines", "InvalidAmount", "InvalidAmount"]  # 3 a page
    assert [d.line_number for d in rest.details] == [7, 8, 9] and rest.next_cursor is None
    assert first.total == rest.total == 6
    # a page of one at a time: the whole-file problem, then each line
    seen, cursor = [], None
    while True:
        one = c.review_service.error_details(world.tenant, imp.id, page_size=1, cursor=cursor)
        assert len(one.details) == 1
        seen.append(one.details[0].line_number)
        cursor = one.next_cursor
        if cursor is None:
            break
    assert seen == [None, 5, 6, 7, 8, 9]


class _ReadBeforeTheAmend:
    """The imports store as a reader saw it: the first read answers the import before an amend was
    processed (its chunks since removed), later reads the import as it is."""

    def __init__(self, store, stale) -> None:
        self.store, self.stale = store, stale

    def get(self, tenant, import_id):
        stale, self.stale = self.stale, None
        return stale or self.store.get(tenant, import_id)

    def __getattr__(self, name):
        return getattr(self.store, name)


def _amended_meanwhile(c: FakeContainer, world: World, *, awaiting: bool):
    """An import awaiting confirmation, as read before an amend that was then processed (and reviewed
    again when `awaiting`): the reader's copy points to chunks that are gone."""
    imp, _ = world.awaiting()
    before = world.get(imp.id)
    c.import_service.amend(world.tenant, imp.id, FlipSigns(bank_account_ids=[imp.bank_accounts[0].id]))
    assert c.processing.process(world.get(imp.id)) == "review"
    if awaiting:
        c.workflow.await_confirmation(world.get(imp.id), c.workflow_engine.park())
    assert not any(c.objects.keys(key) for key in before.chunk_keys)
    c.review_service.imports = _ReadBeforeTheAmend(c.review_service.imports, before)
    return before


def test_a_review_read_across_an_amend_answers_the_new_generation(c: FakeContainer, world: World):
    """A page, a dry run, a decision or the error details read while an amend is processed: the reader's
    chunks are gone, so the import is read again and answered as it is now (never a missing chunk)."""
    before = _amended_meanwhile(c, world, awaiting=True)
    page = c.review_service.review(world.tenant, before.id, page_size=10, cursor=None)
    assert page.imp.generation == before.generation + 1
    assert sorted(line.row.amount for line in page.lines) == [Decimal("-2500.00"), Decimal("3.50"),
                                                              Decimal("1200.00")]
    before = _amended_meanwhile(c, world, awaiting=True)
    assert c.review_service.dry_run(world.tenant, before.id).add == 3
    before = _amended_meanwhile(c, world, awaiting=True)
    line = next(c.staging.all_rows(world.get(before.id).chunk_keys))
    c.review_service.set_decision(world.tenant, before.id, line.transaction_id, "skip")
    assert c.imports.decisions(world.get(before.id)) == {line.transaction_id: "skip"}
    before = _amended_meanwhile(c, world, awaiting=True)
    assert c.review_service.error_details(world.tenant, before.id, page_size=10, cursor=None).total == 0


def test_a_review_read_while_the_amend_is_still_processed_is_a_conflict(c: FakeContainer, world: World):
    before = _amended_meanwhile(c, world, awaiting=False)
    with pytest.raises(Conflict) as err:
        c.review_service.dry_run(world.tenant, before.id)
    assert err.value.code == "InvalidImportStatus"
    c.review_service.imports = _ReadBeforeTheAmend(c.review_service.imports.store, before)
    with pytest.raises(Conflict) as err:
        c.review_service.set_decision(world.tenant, before.id, "any", "skip")
    assert err.value.code == "InvalidImportStatus"


def test_a_chunk_lost_under_the_import_it_belongs_to_is_not_hidden(c: FakeContainer, world: World):
    imp, _ = world.awaiting()
    c.staging.delete(imp.staging_prefix)
    with pytest.raises(ObjectMissing):
        c.review_service.dry_run(world.tenant, imp.id)


def test_a_cursor_of_the_review_before_an_amend_is_refused_after_it(c: FakeContainer, world: World):
    """A client paging across an amend would show rows of two generations (debits, then credits) as one review:
    the cursor names its generation, and after the amend it is 400 InvalidCursor (start again)."""
    c.settings.chunk_rows = 2
    imp, _ = world.awaiting()
    first = c.review_service.review(world.tenant, imp.id, page_size=2, cursor=None)
    assert first.next_cursor is not None
    c.import_service.amend(world.tenant, imp.id, FlipSigns(bank_account_ids=[imp.bank_accounts[0].id]))
    assert c.processing.process(world.get(imp.id)) == "review"
    c.workflow.await_confirmation(world.get(imp.id), c.workflow_engine.park())
    for read in (lambda: c.review_service.review(world.tenant, imp.id, page_size=2, cursor=first.next_cursor),
                 lambda: c.review_service.error_details(world.tenant, imp.id, page_size=2, cursor=first.next_cursor)):
        with pytest.raises(ValidationFailed) as err:
            read()
        assert (err.value.code, err.value.target) == ("InvalidCursor", "cursor")
    again = c.review_service.review(world.tenant, imp.id, page_size=2, cursor=None)
    assert c.review_service.review(world.tenant, imp.id, page_size=2, cursor=again.next_cursor).lines
