"""Statement checks through the services on fakes: processing reports them, complete keeps the history,
revert gives the account its previous closing back, retried steps add nothing twice."""

from __future__ import annotations

from decimal import Decimal

from tests.fakes.container import FakeContainer
from tests.support.statements import month
from tests.unit.services.world import World

D = Decimal
REF = "NL91TEST0000000001"


def _mt940(world: World, account: str, text: str):
    return world.completed(text.encode(), account, file_format="MT940#v1")


def test_history_follows_completes_and_reverts(c: FakeContainer, world: World):
    account = world.account(REF)
    jan = _mt940(world, account, month(REF, 1, 2024, 1, D("100.00"), ["-30.00"]))
    assert [s.checks for s in jan.statements] == [[]]
    last = c.statements.history.last(world.tenant, account)
    assert last is not None and (last.closing, last.import_id) == (D("70.00"), jan.id)
    c.workflow.complete(jan)  # a retried step: the same items, nothing new
    feb = _mt940(world, account, month(REF, 2, 2024, 2, D("70.00"), ["-20.00"]))
    assert c.statements.history.last(world.tenant, account).closing == D("50.00")  # type: ignore[union-attr]
    c.statements.reverted(world.get(feb.id))
    assert c.statements.history.last(world.tenant, account).import_id == jan.id  # type: ignore[union-attr]


def test_a_gap_warns_and_exception_review_waits(c: FakeContainer, world: World):
    account = world.account(REF)
    _mt940(world, account, month(REF, 1, 2024, 1, D("100.00"), ["-30.00"]))
    imp, outcome = world.processed(month(REF, 3, 2024, 3, D("60.00"), ["1.00"]).encode(), account,
                                   file_format="MT940#v1", review_level="exceptionReview")
    assert outcome == "review"
    (warning,) = [d for d in imp.error_details if d.code == "StatementGap"]
    assert warning.severity == "warning" and "70.00" in warning.message
    (report,) = imp.statements
    (check,) = report.checks
    assert (check.expected, check.computed, check.difference) == (D("70.00"), D("60.00"), D("-10.00"))


def test_a_retried_commit_chunk_counts_once_in_the_day_balances(c: FakeContainer, world: World):
    account = world.account(REF)
    imp = _mt940(world, account, month(REF, 1, 2024, 1, D("100.00"), ["-30.00", "5.00"]))
    c.commit.commit_chunk(imp, imp.chunk_keys[0])  # Step Functions retries a chunk
    page = c.ledger_queries.page_with_balances(world.tenant, account, limit=10, cursor=None)
    assert page.balance is not None and page.balance.amount == D("75.00")
    assert page.running == [D("75.00"), D("70.00")]
