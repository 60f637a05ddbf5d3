"""ReviewService on fakes: staged rows with decisions, decisions, the dry run and error details."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.fakes.container import FakeContainer
from tests.unit.services.world import CSV, World
from tximport.errors import Conflict, NotFound


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

    assert [d.code for d in first.details] == ["RejectedLines", "InvalidAmount", "InvalidAmount", "InvalidAmount"]
    assert [d.line_number for d in rest.details] == [8, 9] and rest.next_cursor is None
    assert first.total == rest.total == 6
