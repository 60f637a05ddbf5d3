"""The status a client sets on a staged line is done (PUT `/staged-transactions/{id}`): READY (the override of a
duplicate mark included) or a 400 saying what READY lacks, PENDING a hold; on in-memory fakes: Given a session, when
a line's status is set, then what the store and the ledger hold after a commit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests.unit.sessions.world import World
from tximport.errors import Conflict, ValidationFailed
from tximport.services.sessions.catalog import CatalogService
from tximport.services.sessions.commit import CommitService
from tximport.services.sessions.sessions import SessionService
from tximport.services.sessions.staged import StagedService
from tximport.sessions.commands import SessionInput, StagedChanges, StagedInput
from tximport.sessions.models import (
    CategoryType,
    ImportSession,
    StagedTransaction,
    StagedTransactionStatus,
)

S = StagedTransactionStatus
D = Decimal


@pytest.fixture()
def w() -> World:
    return World()


def account_session(w: World, account_id: str | None = None) -> tuple[str, ImportSession]:
    account_id = account_id or w.account().id
    return account_id, SessionService(w.deps).create(w.scope, SessionInput(account_id, None, "2024-03"))


def category(w: World, kind: CategoryType = CategoryType.EXPENSE) -> str:
    return CatalogService(w.deps).create(w.scope, "category", {"name": kind.value, "type": kind}).id


def stage(w: World, session_id: str, *rows: tuple[int, str, str, dict[str, Any]]) -> list[StagedTransaction]:
    return StagedService(w.deps).add(w.scope, session_id, [
        StagedInput(amount=D(a), transaction_date=date(2024, 3, d), description=desc, **kw) for d, a, desc, kw in rows])


def update(w: World, line_id: str, **changes: Any) -> StagedTransaction:
    return StagedService(w.deps).update(w.scope, line_id, StagedChanges(**changes))


def refused(call: Any) -> tuple[str, str | None]:
    with pytest.raises(ValidationFailed) as error:
        call()
    return error.value.code, error.value.target


def test_ready_on_a_line_lacking_what_ready_needs_is_refused_naming_status(w: World):
    _, session = account_session(w)
    (line,) = stage(w, session.id, (2, "-5", "Cafe", {}))
    with pytest.raises(ValidationFailed) as error:
        update(w, line.id, status=S.READY, description="Cafe da manha")
    assert (error.value.code, error.value.target) == ("MissingFields", "status")
    assert [d["field"] for d in error.value.details] == ["data.category_id"]
    kept = StagedService(w.deps).get(w.scope, line.id)
    assert (kept.status, kept.description, kept.version) == (S.PENDING, "Cafe", 0)


def test_processing_is_not_a_status_a_client_sets(w: World):
    _, session = account_session(w)
    (line,) = stage(w, session.id, (2, "-5", "Cafe", {"data": {"category_id": category(w)}}))
    assert refused(lambda: update(w, line.id, status=S.PROCESSING)) == ("StatusNotSettable", "status")


def test_pending_holds_a_line_back_from_commit_until_ready_releases_it(w: World):
    account_id, session = account_session(w)
    filed = {"data": {"category_id": category(w)}}
    held, other = stage(w, session.id, (2, "-5", "Cafe", filed), (3, "-9", "Mercado", filed))
    on_hold = update(w, held.id, status=S.PENDING)
    assert (on_hold.status, on_hold.on_hold) == (S.PENDING, True)
    # other changes keep the hold; the counters follow the status
    assert update(w, held.id, description="Cafe da manha").status == S.PENDING
    assert (w.deps.session(w.scope, session.id).ready, w.deps.session(w.scope, session.id).pending) == (1, 1)
    first = CommitService(w.deps).commit(w.scope, session.id)
    assert (first.committed, first.held_back) == (1, 0)
    assert [ln.description for ln in w.lines(account_id)] == ["Mercado"]
    released = update(w, held.id, status=S.READY)
    assert (released.status, released.on_hold) == (S.READY, False)
    assert CommitService(w.deps).commit(w.scope, session.id).committed == 1
    assert sorted(ln.description for ln in w.lines(account_id)) == ["Cafe da manha", "Mercado"]


def test_ready_overrides_a_copy_held_back_at_commit_and_the_next_commit_books_it(w: World):
    """qa39a F3: two identical coffees in two sessions, the second staged READY before the first was committed; its
    commit held it back as alreadyCommitted (PENDING), and no documented call could book it."""
    account_id, first = account_session(w)
    _, second = account_session(w, account_id)
    filed = {"data": {"category_id": category(w)}}
    stage(w, first.id, (2, "-3.50", "Coffee Shop", filed))
    (line,) = stage(w, second.id, (2, "-3.50", "Coffee Shop", filed))
    assert line.status == S.READY
    CommitService(w.deps).commit(w.scope, first.id)
    held = CommitService(w.deps).commit(w.scope, second.id)
    assert (held.committed, held.held_back) == (0, 1)
    marked = StagedService(w.deps).get(w.scope, line.id)
    assert marked.status == S.PENDING and marked.data["possible_duplicate"]["reason"] == "alreadyCommitted"
    overridden = update(w, line.id, status=S.READY)
    assert overridden.status == S.READY
    assert overridden.data["possible_duplicate"] == {**marked.data["possible_duplicate"], "overridden": True}
    result = CommitService(w.deps).commit(w.scope, second.id)
    assert (result.committed, result.held_back) == (1, 0)
    assert [ln.amount for ln in w.lines(account_id)] == [D("-3.50"), D("-3.50")]


def test_ready_overrides_a_line_repeating_one_the_session_holds(w: World):
    """A line posted again later in the same session is alreadyStaged (certain, PENDING): READY books both."""
    account_id, session = account_session(w)
    filed = {"data": {"category_id": category(w)}}
    stage(w, session.id, (2, "-3.50", "Coffee Shop", filed))
    (again,) = stage(w, session.id, (2, "-3.50", "Coffee Shop", filed))
    assert again.status == S.PENDING and again.data["possible_duplicate"]["reason"] == "alreadyStaged"
    assert update(w, again.id, status=S.READY).data["possible_duplicate"]["overridden"] is True
    assert CommitService(w.deps).commit(w.scope, session.id).committed == 2
    assert len(w.lines(account_id)) == 2


def test_an_override_goes_with_the_mark_when_the_line_changes(w: World):
    """A PUT that changes the day, amount, description or type judges the line again: a new mark needs a new
    decision."""
    account_id, first = account_session(w)
    filed = {"data": {"category_id": category(w)}}
    stage(w, first.id, (2, "-3.50", "Coffee Shop", filed))
    CommitService(w.deps).commit(w.scope, first.id)
    _, second = account_session(w, account_id)
    (again,) = stage(w, second.id, (2, "-3.50", "Coffee Shop", filed))
    assert again.data["possible_duplicate"]["reason"] == "alreadyCommitted"
    update(w, again.id, status=S.READY)
    moved = update(w, again.id, amount=D("-4.00"))
    assert "possible_duplicate" not in moved.data and moved.status == S.READY
    back = update(w, again.id, amount=D("-3.50"))
    assert back.status == S.PENDING and "overridden" not in back.data["possible_duplicate"]
    # READY sent with the change decides on the new mark at once
    both = update(w, again.id, amount=D("-4.00"), status=S.READY)
    assert both.status == S.READY and "possible_duplicate" not in both.data
    assert update(w, again.id, amount=D("-3.50"), status=S.READY).data["possible_duplicate"]["overridden"] is True


def test_a_status_change_is_a_conditional_write_a_busy_session_refuses(w: World):
    """While a commit holds the session a status change is 409 and changes nothing; once free it is done."""
    _, session = account_session(w)
    (line,) = stage(w, session.id, (2, "-5", "Cafe", {"data": {"category_id": category(w)}}))
    owner = w.deps.repo.lock(w.tenant, w.deps.session(w.scope, session.id))
    with pytest.raises(Conflict) as busy:
        update(w, line.id, status=S.PENDING)
    assert busy.value.code == "SessionBusy"
    assert StagedService(w.deps).get(w.scope, line.id).status == S.READY
    w.deps.repo.unlock(w.tenant, w.deps.session(w.scope, session.id), owner)
    assert update(w, line.id, status=S.PENDING).status == S.PENDING
