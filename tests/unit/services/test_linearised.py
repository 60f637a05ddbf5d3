"""Confirm, amend, delete, decisions and the expiry are linearised on the import (issue 13, items 2 and 3).

Each of them is one conditional write on the import that wins or loses: the loser gets a 409 and
changes nothing, side effects (the task token, decisions, staged rows, locks) follow only a winning
write, and the token is sent exactly once. The interleavings are made deterministic with the fakes'
hooks (a competitor runs between a call's read and its write); the threaded races at the end check the
same invariants under real thread switches: the ledger always equals exactly what was reviewed.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from tests.fakes.container import FakeContainer
from tests.unit.services.world import World
from tximport.commands import FlipSigns
from tximport.errors import Conflict, Unavailable
from tximport.models import Import, ImportStatus, TransactionSign

#: 20 lines; the tests mark three of them skip
STATEMENT = b"Date,Description,Amount\n" + b"".join(
    f"2024-02-{day:02d},Line {day},-{day}.25\n".encode() for day in range(1, 21))
SKIPPED = ("Line 3", "Line 7", "Line 11")


def _reviewed(world: World) -> tuple[Import, str]:
    """An import of STATEMENT awaiting confirmation with three lines marked skip, and its token."""
    imp, token = world.awaiting(STATEMENT)
    for row in world.c.staging.all_rows(imp.chunk_keys):
        if row.description in SKIPPED:
            world.c.review_service.set_decision(world.tenant, imp.id, row.transaction_id, "skip")
    return world.get(imp.id), token


def _commit(world: World, import_id: str) -> None:
    """What the state machine does after a confirm: begin, commit each chunk, complete."""
    for chunk in world.c.workflow.begin_commit(world.get(import_id)):
        world.c.commit.commit_chunk(world.get(import_id), chunk)
    world.c.commit.refresh_balances(world.get(import_id))
    world.c.workflow.complete(world.get(import_id))


def _ledger(world: World, imp: Import) -> list[str]:
    return sorted(line.description for line in world.c.ledger.all(world.tenant, imp.bank_accounts[0].id))


# the calls a client (or the expiry step) makes, each as (name, call) ------------------------------

def _confirm(world: World, imp: Import) -> None:
    world.c.import_service.confirm(world.tenant, imp.id)


def _amend(world: World, imp: Import) -> None:
    world.c.import_service.amend(world.tenant, imp.id, FlipSigns(bank_account_ids=[imp.bank_accounts[0].id]))


def _delete(world: World, imp: Import) -> None:
    world.c.import_service.delete(world.tenant, imp.id)


def _decide(world: World, imp: Import) -> None:
    row = next(r for r in world.c.staging.all_rows(imp.chunk_keys) if r.description == "Line 5")
    world.c.review_service.set_decision(world.tenant, imp.id, row.transaction_id, "skip")


def _expire(world: World, imp: Import) -> None:
    world.c.workflow.expire(world.get(imp.id))


CALLS: dict[str, Callable[[World, Import], None]] = {
    "confirm": _confirm, "amend": _amend, "delete": _delete, "decide": _decide, "expire": _expire}

#: the status the winner leaves the import in
WINNER_STATUS = {"confirm": ImportStatus.FINAL_PROCESSING, "amend": ImportStatus.PROCESSING,
                 "delete": ImportStatus.DELETED, "expire": ImportStatus.ERROR}


@pytest.mark.parametrize(("loser", "winner"), [
    (loser, winner) for loser in ("confirm", "amend", "delete", "decide") for winner in WINNER_STATUS
    if loser != winner or loser not in ("confirm", "delete")])
def test_the_loser_of_a_race_gets_409_and_changes_nothing(world: World, c: FakeContainer, loser: str, winner: str):
    # Given an import awaiting confirmation with three lines marked skip
    imp, token = _reviewed(world)
    decisions = c.imports.decisions(imp)
    # When `winner` runs between the loser's read and its conditional write
    c.imports.before_write = lambda _: CALLS[winner](world, world.get(imp.id))
    with pytest.raises(Conflict):
        CALLS[loser](world, imp)
    # Then the import is as the winner left it, and only the winner answered the token
    after = world.get(imp.id)
    assert after.status == WINNER_STATUS[winner]
    expected = [] if winner == "expire" else [{"action": winner}]
    assert c.workflow_engine.outputs(token) == expected
    assert after.amend_count == (1 if winner == "amend" else 0)
    assert after.bank_accounts[0].transaction_sign == (
        TransactionSign.REVERSED if winner == "amend" else TransactionSign.ORIGINAL)
    if winner in ("confirm", "amend", "expire"):
        # the decisions of the reviewed generation are exactly the three skips
        assert c.imports.decisions(after) == decisions and len(decisions) == len(SKIPPED)
        assert c.objects.keys(after.staging_prefix or "-")


def test_a_confirm_racing_a_confirm_is_idempotent_and_sends_the_token_once(world: World, c: FakeContainer):
    imp, token = _reviewed(world)
    c.imports.before_write = lambda _: _confirm(world, world.get(imp.id))
    _confirm(world, imp)
    assert world.get(imp.id).status == ImportStatus.FINAL_PROCESSING
    assert c.workflow_engine.outputs(token) == [{"action": "confirm"}]


def test_a_delete_racing_a_delete_is_idempotent_and_sends_the_token_once(world: World, c: FakeContainer):
    imp, token = _reviewed(world)
    c.imports.before_write = lambda _: _delete(world, world.get(imp.id))
    _delete(world, imp)  # its write loses to the other delete's: it answers as that one did
    assert world.get(imp.id).status == ImportStatus.DELETED
    assert c.workflow_engine.outputs(token) == [{"action": "delete"}]


def test_a_confirm_commits_exactly_the_decisions_that_stood_when_it_won(world: World, c: FakeContainer):
    imp, _ = _reviewed(world)
    _confirm(world, imp)
    # a decision after the confirm won is refused, and changes nothing
    with pytest.raises(Conflict) as late:
        _decide(world, imp)
    assert late.value.status_code == 409
    _commit(world, imp.id)
    assert _ledger(world, imp) == sorted(f"Line {d}" for d in range(1, 21) if f"Line {d}" not in SKIPPED)


def test_an_amend_leaves_the_old_decisions_behind_with_their_generation(world: World, c: FakeContainer):
    imp, token = _reviewed(world)
    _amend(world, imp)
    c.processing.process(world.get(imp.id))
    second = c.workflow_engine.park()
    c.workflow.await_confirmation(world.get(imp.id), second)
    amended = world.get(imp.id)
    assert amended.status == ImportStatus.AWAITING_CONFIRMATION and c.imports.decisions(amended) == {}
    with pytest.raises(Conflict):  # a decision on a line of the old generation is refused
        c.imports.put_decision(imp, "any-line", "skip")
    _confirm(world, amended)
    _commit(world, imp.id)
    assert len(_ledger(world, imp)) == 20
    assert all(line.amount > 0 for line in c.ledger.all(world.tenant, imp.bank_accounts[0].id))


# a token that no longer waits (item 3) ------------------------------------------------------------------

@pytest.mark.parametrize("call", ["confirm", "amend"])
def test_a_failed_send_puts_the_import_back_as_it_was(world: World, c: FakeContainer, call: str):
    imp, token = _reviewed(world)
    c.workflow_engine.expire(token)  # the confirmation window closed; the expiry step has not run yet
    with pytest.raises(Conflict) as err:
        CALLS[call](world, imp)
    assert err.value.code == "ConfirmationExpired"
    back = world.get(imp.id)
    assert back.status == ImportStatus.AWAITING_CONFIRMATION and back.task_token == token
    assert back.token_taken is None and back.amend_count == 0
    assert back.bank_accounts[0].transaction_sign == TransactionSign.ORIGINAL
    # then the expiry step ends it
    _expire(world, back)
    expired = world.get(imp.id)
    assert expired.status == ImportStatus.ERROR and expired.error_details[0].code == "ConfirmationExpired"
    assert c.locks.holder(world.tenant, imp.bank_accounts[0].id) is None


@pytest.mark.parametrize("call", ["confirm", "amend"])
def test_the_expiry_wins_over_a_call_whose_token_died_with_the_window(world: World, c: FakeContainer, call: str):
    account = world.account()
    imp, token = _reviewed_on(world, account)
    _, waiter = world.queued(account)

    def timed_out(_: str) -> None:  # the window closes after the call took the token, before it sends it
        c.workflow_engine.expire(token)
        _expire(world, world.get(imp.id))

    c.workflow_engine.before_resume = timed_out
    with pytest.raises(Conflict) as err:
        CALLS[call](world, imp)
    assert err.value.code == "ConfirmationExpired"
    expired = world.get(imp.id)
    assert expired.status == ImportStatus.ERROR and expired.error_details[0].code == "ConfirmationExpired"
    # the losing call changed nothing: what it wrote before its token died was put back
    assert expired.amend_count == 0 and expired.bank_accounts[0].transaction_sign == TransactionSign.ORIGINAL
    assert c.locks.holder(world.tenant, account) is None
    assert c.workflow_engine.outputs(waiter) == [{"action": "claim"}]  # the queue moves on
    assert _ledger(world, imp) == []


def _reviewed_on(world: World, account: str) -> tuple[Import, str]:
    imp, token = world.awaiting(STATEMENT, account)
    return imp, token


def test_a_confirm_the_workflow_did_not_hear_is_sent_again_by_the_next_confirm(world: World, c: FakeContainer):
    imp, token = _reviewed(world)
    c.workflow_engine.resume_errors.append(ConnectionError("the engine did not answer"))
    with pytest.raises(Unavailable):
        _confirm(world, imp)
    taken = world.get(imp.id)
    assert taken.status == ImportStatus.FINAL_PROCESSING and taken.token_taken is not None
    assert c.workflow_engine.outputs(token) == []
    _confirm(world, taken)  # the client calls again
    assert c.workflow_engine.outputs(token) == [{"action": "confirm"}]
    _confirm(world, world.get(imp.id))  # and again: the token no longer waits, nothing happens
    assert c.workflow_engine.outputs(token) == [{"action": "confirm"}]


def test_the_expiry_of_a_final_import_only_releases(world: World, c: FakeContainer):
    imp, _ = _reviewed(world)
    _delete(world, imp)
    _expire(world, imp)
    assert world.get(imp.id).status == ImportStatus.DELETED


def test_a_late_await_never_revives_a_final_import(world: World, c: FakeContainer):
    imp, token = _reviewed(world)
    _expire(world, imp)
    late = c.workflow_engine.park()
    c.workflow.await_confirmation(world.get(imp.id), late)
    assert world.get(imp.id).status == ImportStatus.ERROR
    assert c.workflow_engine.outputs(late) == [{"action": "stop"}]


# threaded races -------------------------------------------------------------------------------------

@pytest.fixture()
def fast_switching() -> Iterator[None]:
    """Switch threads every microsecond, so the races below interleave inside the services' calls."""
    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(saved)


def _race(*calls: Callable[[], None]) -> list[BaseException | None]:
    """Run the calls at once in threads; answer what each raised (None when it returned)."""
    outcomes: list[BaseException | None] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int, call: Callable[[], None]) -> None:
        start.wait()
        try:
            call()
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.usefixtures("fast_switching")
@pytest.mark.parametrize("trial", range(10))
def test_amend_racing_confirm_with_skips_imports_exactly_what_was_reviewed(world: World, c: FakeContainer,
                                                                           trial: int):
    imp, token = _reviewed(world)
    outcomes = _race(lambda: _amend(world, imp), lambda: _confirm(world, imp),
                     lambda: _decide(world, imp))
    sent = [output["action"] for output in c.workflow_engine.outputs(token)]
    assert len(sent) == 1, (sent, outcomes)  # the token was answered exactly once
    winner = sent[0]
    assert all(isinstance(o, Conflict) for o in outcomes if o is not None), outcomes
    if winner == "amend":  # the amended file is processed and reviewed again, then confirmed
        c.processing.process(world.get(imp.id))
        c.workflow.await_confirmation(world.get(imp.id), c.workflow_engine.park())
        _confirm(world, world.get(imp.id))
    reviewed = world.get(imp.id)
    plan = c.review_service.dry_run(world.tenant, imp.id)
    _commit(world, imp.id)
    lines = c.ledger.all(world.tenant, imp.bank_accounts[0].id)
    assert len(lines) == plan.add and sum(line.amount for line in lines) == sum(
        (a.add_sum for a in plan.accounts), Decimal(0))
    if winner == "confirm":
        assert not {line.description for line in lines} & set(SKIPPED)
        assert len(lines) in (17, 16)  # the "Line 5" decision landed before the confirm, or lost
    assert reviewed.generation == imp.generation + (winner == "amend")


# --- a retried await step (issue 13, item 11) ------------------------------------------------------

@pytest.mark.parametrize("action", ["confirm", "amend"])
def test_a_decision_taken_from_a_failed_await_attempt_goes_to_its_retry(c: FakeContainer, world: World,
                                                                       action: str):
    """The await step parked token 1 and failed after (its answer lost): Step Functions retries it with
    token 2, and token 1 died with the failed attempt. A confirm or amend that took token 1 stands: the
    retry hands it on, and the caller, whose send found token 1 dead, is not told 409."""
    account = world.account()
    imp, first = world.awaiting(b"Date,Description,Amount\n2024-01-02,Coffee,-3.50\n", account)
    second = c.workflow_engine.park()

    def retried_attempt(_: str) -> None:
        c.workflow_engine.expire(first)
        c.workflow.await_confirmation(world.get(imp.id), second)

    c.workflow_engine.before_resume = retried_attempt
    if action == "confirm":
        c.import_service.confirm(world.tenant, imp.id)
    else:
        c.import_service.amend(world.tenant, imp.id, FlipSigns(bank_account_ids=[account]))

    assert c.workflow_engine.outputs(second) == [{"action": action}]
    after = world.get(imp.id)
    assert after.status == (ImportStatus.FINAL_PROCESSING if action == "confirm" else ImportStatus.PROCESSING)
    if action == "amend":  # the re-run processes, then the next await parks a token and waits
        c.processing.process(after)
        third = c.workflow_engine.park()
        c.workflow.await_confirmation(world.get(imp.id), third)
        assert world.get(imp.id).status == ImportStatus.AWAITING_CONFIRMATION
        assert c.workflow_engine.outputs(third) == []
