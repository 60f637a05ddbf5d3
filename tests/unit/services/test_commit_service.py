"""CommitService on fakes: one staged chunk into the ledger, idempotently."""

from __future__ import annotations

import pytest

from tests.fakes.container import FakeContainer
from tests.unit.services.world import CSV, World


def test_a_chunk_writes_the_lines_to_import_and_a_retry_writes_the_same(c: FakeContainer, world: World):
    c.settings.chunk_rows = 2
    imp, _ = world.awaiting(CSV)
    account = imp.bank_accounts[0].id
    salary = next(r for r in c.staging.all_rows(imp.chunk_keys) if r.description == "Salary")
    c.review_service.set_decision(world.tenant, imp.id, salary.transaction_id, "skip")

    written = [c.commit.commit_chunk(imp, key) for key in imp.chunk_keys]
    again = c.commit.commit_chunk(imp, imp.chunk_keys[0])

    assert written == [1, 1] and again == 1
    lines = c.ledger.all(world.tenant, account)
    assert [line.description for line in lines] == ["Coffee", "Rent"]
    assert {line.import_id for line in lines} == {imp.id} and lines[0].line_number == 2


def test_lines_certain_to_be_duplicates_are_skipped_by_default(c: FakeContainer, world: World):
    first = world.completed()
    imp, _ = world.awaiting(CSV, first.bank_accounts[0].id, bypass_replay_validation=True)
    assert sum(c.commit.commit_chunk(imp, key) for key in imp.chunk_keys) == 0


def test_a_chunk_of_another_import_is_refused(c: FakeContainer, world: World):
    imp, _ = world.awaiting()
    with pytest.raises(ValueError, match="not a staged chunk"):
        c.commit.commit_chunk(imp, "staging/elsewhere/rows-00001.jsonl.gz")
