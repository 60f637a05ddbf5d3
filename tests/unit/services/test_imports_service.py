"""ImportService on fakes: create, upload URL, delete, confirm, amend and the revert request."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from tests.fakes.container import FakeContainer
from tests.unit.services.world import CSV, OTHER, World
from tximport.adapters.workflow import StartRefused
from tximport.commands import CreateImport, FlipSigns, ImportAccount
from tximport.errors import Conflict, NotFound, TooManyRequests, ValidationFailed
from tximport.models import ImportStatus, ProductDates, ReviewLevel, TransactionSign, utcnow
from tximport.services.imports import MAX_AMENDS
from tximport.services.lifecycle import revert_holder

# --- create -----------------------------------------------------------------------------------------

def test_create_names_the_accounts_and_awaits_the_file(world: World, c: FakeContainer):
    account = world.account("GB33BUKB20201555555555")

    imp = world.create(account, review_level=ReviewLevel.EXCEPTION, file_name="s.csv")

    stored = world.get(imp.id)
    assert stored.status == ImportStatus.AWAITING_FILE_UPLOAD and stored.review_level == ReviewLevel.EXCEPTION
    assert [(a.id, a.account_identifier, a.country_code) for a in stored.bank_accounts] == [
        (account, "GB33BUKB20201555555555", "GBR")]
    assert stored.s3_key == f"uploads/org-1/co-1/{imp.id}" and stored.api_type == "single"
    assert stored.bank_id == "demo-bank"


def test_create_expires_after_the_configured_retention():
    c = FakeContainer(retention_days=30)
    world = World(c, OTHER)
    imp = world.create(world.account())
    assert abs(imp.expires_at - (time.time() + 30 * 24 * 3600)) < 60  # type: ignore[operator]


def test_a_single_account_format_takes_exactly_one_account(world: World):
    for accounts in ((), (world.account("A1"), world.account("A2"))):
        with pytest.raises(ValidationFailed) as err:
            world.create(*accounts)
        assert err.value.code == "BankAccountsInvalid" and err.value.target == "bankAccounts"


def test_an_account_listed_twice_is_refused(world: World):
    account = world.account()
    with pytest.raises(ValidationFailed) as err:
        world.create(account, account, file_format="CAMT053#v1")
    assert err.value.code == "BankAccountsInvalid"


def test_an_unknown_account_is_named_by_its_position(world: World):
    known = world.account()
    with pytest.raises(NotFound) as err:
        world.create(known, "nope", file_format="CAMT053#v1")
    assert err.value.code == "BankAccountNotFound" and err.value.target == "bankAccounts[1].id"


def test_another_tenants_account_is_not_found(world: World, c: FakeContainer):
    theirs = World(c, OTHER).account()
    with pytest.raises(NotFound):
        world.create(theirs)


def test_accounts_of_different_banks_are_processed_separately(world: World):
    with pytest.raises(ValidationFailed) as err:
        world.create(world.account("A1", "bank-a"), world.account("B1", "bank-b"), file_format="CAMT053#v1")
    assert err.value.code == "BankAccountsMustBeProcessedSeparately"


def test_mapping_is_required_checked_and_typed_for_the_mapped_format(world: World):
    account = world.account()
    with pytest.raises(ValidationFailed) as missing:
        world.create(account, file_format="CSV#mapped#v1")
    assert missing.value.code == "MappingRequired"
    with pytest.raises(ValidationFailed) as bad:
        world.create(account, file_format="CSV#mapped#v1", mapping={"columns": {"amount": "Amount"}})
    assert bad.value.code == "InvalidMapping" and bad.value.target == "mapping"
    assert {"problem": "the 'date' column is required"} in bad.value.details
    with pytest.raises(ValidationFailed) as other_format:
        world.create(account, mapping={"columns": {}})
    assert other_format.value.code == "MappingNotSupported"

    imp = world.create(account, file_format="CSV#mapped#v1",
                       mapping={"columns": {"date": "Date", "amount": "Amount"}, "decimalSeparator": ","})

    mapping = world.get(imp.id).mapping
    assert mapping is not None and mapping.columns == {"date": ("Date",), "amount": ("Amount",)}
    assert mapping.decimal_separator == "," and mapping.to_json() == {
        "columns": {"date": "Date", "amount": "Amount"}, "decimalSeparator": ","}


def test_product_dates_and_pending_entries_are_kept_typed(world: World, c: FakeContainer):
    account = world.account()
    dates = ProductDates(transaction_start_date=date(2024, 1, 1), transaction_end_date=date(2024, 1, 31))
    imp = c.import_service.create(world.tenant, CreateImport(
        file_format="CAMT053#v1", include_pending=True,
        bank_accounts=[ImportAccount(id=account, product_dates=dates, transaction_sign=TransactionSign.REVERSED)]))
    stored = world.get(imp.id)
    assert stored.product_dates == dates and stored.include_pending is True
    assert stored.bank_accounts[0].transaction_sign == TransactionSign.REVERSED
    assert stored.api_type == "multi"


def test_the_upload_url_is_a_presigned_put_for_the_import_key(world: World, c: FakeContainer):
    imp = world.create(world.account())
    assert c.import_service.upload_url(imp) == f"https://bucket.invalid/{imp.s3_key}?X-Amz-Expires=900"


def test_imports_list_newest_first_by_page(world: World, c: FakeContainer):
    account = world.account()
    made = [world.create(account).id for _ in range(5)]
    seen, cursor = [], None
    while True:
        page, cursor = c.import_service.list_page(world.tenant, limit=2, cursor=cursor, status=None)
        seen += [i.id for i in page]
        if not cursor:
            break
    assert seen == made[::-1]


# --- delete -----------------------------------------------------------------------------------------

def test_delete_is_refused_while_processing(world: World, c: FakeContainer):
    imp = world.create(world.account())
    world.upload(imp, CSV)
    world.claim(imp.id)
    with pytest.raises(Conflict) as err:
        c.import_service.delete(world.tenant, imp.id)
    assert err.value.code == "InvalidImportStatus"


def test_delete_ends_the_wait_removes_everything_and_wakes_the_next_import(world: World, c: FakeContainer):
    account = world.account()
    imp, token = world.awaiting(CSV, account)
    _, waiter = world.queued(account)
    c.imports.put_decision(imp, "some-line", "skip")

    deleted = c.import_service.delete(world.tenant, imp.id)

    assert deleted.status == ImportStatus.DELETED and world.get(imp.id).status == ImportStatus.DELETED
    assert deleted.error_details[-1].code == "Deleted"
    assert c.workflow_engine.outputs(token) == [{"action": "delete"}]
    assert c.objects.keys(f"staging/org-1/co-1/{imp.id}/") == [] and imp.s3_key not in c.objects.objects
    assert c.imports.decisions(imp) == {}
    assert c.workflow_engine.outputs(waiter) == [{"action": "claim"}]
    assert c.locks.holder(world.tenant, account) is None
    assert c.import_service.delete(world.tenant, imp.id).status == ImportStatus.DELETED  # again: nothing new


@pytest.mark.parametrize("completed", [False, True])
def test_a_delete_that_loses_its_write_to_another_delete_answers_as_it_does(world: World, c: FakeContainer,
                                                                            monkeypatch: pytest.MonkeyPatch,
                                                                            completed: bool):
    """Two deletes read the import at once and the other's write wins: this one, refused by its condition, reads the
    import deleted and answers so (idempotent), not 409. One that loses to a confirm is still a 409."""
    imp = world.completed() if completed else world.awaiting(CSV)[0]
    stale = [world.get(imp.id)]  # what the losing call read, before the winner's write
    real_get = c.imports.get
    monkeypatch.setattr(c.imports, "get", lambda tenant, import_id: stale.pop() if stale else real_get(tenant,
                                                                                                       import_id))
    winner = real_get(world.tenant, imp.id)
    c.lifecycle.transition(winner, ImportStatus.DELETED)  # the other delete's write
    assert c.import_service.delete(world.tenant, imp.id).status == ImportStatus.DELETED
    assert world.get(imp.id).status == ImportStatus.DELETED and not stale
    lost, _ = world.awaiting(CSV)
    stale.append(world.get(lost.id))
    c.import_service.confirm(world.tenant, lost.id)
    with pytest.raises(Conflict):
        c.import_service.delete(world.tenant, lost.id)
    assert world.get(lost.id).status == ImportStatus.FINAL_PROCESSING


def test_a_reverting_import_is_not_deleted(world: World, c: FakeContainer):
    imp = world.completed()
    c.import_service.revert(world.tenant, imp.id)
    with pytest.raises(Conflict) as err:
        c.import_service.delete(world.tenant, imp.id)
    assert err.value.target == "revertStatus"


def test_deleting_a_complete_import_forgets_its_file_digest(world: World, c: FakeContainer):
    account = world.account()
    imp = world.completed(CSV, account)
    assert c.imports.replay_of(world.tenant, account, imp.file_sha256 or "") == imp.id
    c.import_service.delete(world.tenant, imp.id)
    assert c.imports.replay_of(world.tenant, account, imp.file_sha256 or "") is None


# --- confirm ----------------------------------------------------------------------------------------

def test_confirm_resumes_the_workflow_once(world: World, c: FakeContainer):
    imp, token = world.awaiting()

    c.import_service.confirm(world.tenant, imp.id)
    c.import_service.confirm(world.tenant, imp.id)

    assert world.get(imp.id).status == ImportStatus.FINAL_PROCESSING and world.get(imp.id).task_token is None
    assert c.workflow_engine.outputs(token) == [{"action": "confirm"}]


def test_confirm_before_review_is_a_conflict(world: World, c: FakeContainer):
    imp = world.create(world.account())
    with pytest.raises(Conflict) as err:
        c.import_service.confirm(world.tenant, imp.id)
    assert err.value.code == "InvalidImportStatus"


def test_confirm_after_the_wait_timed_out_is_confirmation_expired(world: World, c: FakeContainer):
    imp, token = world.awaiting()
    c.workflow_engine.expire(token)
    with pytest.raises(Conflict) as err:
        c.import_service.confirm(world.tenant, imp.id)
    assert err.value.code == "ConfirmationExpired"


# --- amend ------------------------------------------------------------------------------------------

def test_amend_flips_the_sign_forgets_decisions_and_processes_again(world: World, c: FakeContainer):
    imp, token = world.awaiting()
    account = imp.bank_accounts[0].id
    c.imports.put_decision(imp, "some-line", "skip")

    c.import_service.amend(world.tenant, imp.id, FlipSigns(bank_account_ids=[account, account]))

    amended = world.get(imp.id)
    assert amended.status == ImportStatus.PROCESSING and amended.amend_count == 1
    assert amended.bank_accounts[0].transaction_sign == TransactionSign.REVERSED
    assert amended.token_taken is not None and amended.token_taken.action == "amend"
    assert c.workflow_engine.outputs(token) == [{"action": "amend"}]
    # the decisions were made on the old generation: processing again starts a new one without them
    c.processing.process(amended)
    reprocessed = world.get(imp.id)
    assert reprocessed.generation == imp.generation + 1 and c.imports.decisions(reprocessed) == {}
    assert c.imports.decision_items == {}


def test_amend_names_an_account_outside_the_import(world: World, c: FakeContainer):
    imp, _ = world.awaiting()
    with pytest.raises(ValidationFailed) as err:
        c.import_service.amend(world.tenant, imp.id, FlipSigns(bank_account_ids=["elsewhere"]))
    assert err.value.code == "BankAccountNotInImport" and err.value.target == "flipTransactions.bankAccountIds[0]"


def test_the_eleventh_amend_is_refused(world: World, c: FakeContainer):
    imp, _ = world.awaiting()
    imp.amend_count = MAX_AMENDS
    c.imports.save(imp)
    with pytest.raises(TooManyRequests) as err:
        c.import_service.amend(world.tenant, imp.id, FlipSigns(bank_account_ids=[imp.bank_accounts[0].id]))
    assert err.value.code == "AmendLimitReached"


# --- revert request ---------------------------------------------------------------------------------

def test_revert_marks_the_import_and_starts_its_workflow_once(world: World, c: FakeContainer):
    imp = world.completed()

    asked, running = c.import_service.revert(world.tenant, imp.id)
    again, still = c.import_service.revert(world.tenant, imp.id)

    assert running and still and asked.revert.status == again.revert.status == "reverting"
    assert list(c.reverts.executions.values()) == [
        {"importId": imp.id, "tenant": {"organisationId": "org-1", "companyId": "co-1"}, "refreshedThrough": 0}]
    assert list(c.reverts.executions) == [world.get(imp.id).revert.execution]


def test_a_revert_whose_workflow_ended_without_an_outcome_is_started_again(world: World, c: FakeContainer):
    imp = world.completed()
    c.import_service.revert(world.tenant, imp.id)
    first = world.get(imp.id).revert.execution
    assert first is not None
    c.reverts.end(first, "FAILED")  # e.g. its failure record failed too: the import is left reverting

    _, running = c.import_service.revert(world.tenant, imp.id)

    second = world.get(imp.id).revert.execution
    assert running and second not in (None, first) and c.reverts.status(second or "") == "RUNNING"
    assert c.revert.run(world.tenant, imp.id).imp.revert.status == "reverted"


def test_only_a_complete_import_within_the_window_is_reverted(world: World, c: FakeContainer):
    imp, _ = world.awaiting()
    with pytest.raises(Conflict) as status:
        c.import_service.revert(world.tenant, imp.id)
    assert status.value.code == "InvalidImportStatus"
    done = world.completed()
    done.completed = utcnow() - timedelta(days=31)
    c.imports.save(done)
    with pytest.raises(Conflict) as late:
        c.import_service.revert(world.tenant, done.id)
    assert late.value.code == "RevertWindowPassed"


def test_a_revert_that_cannot_be_started_is_marked_failed(world: World, c: FakeContainer):
    imp = world.completed()
    c.reverts.refuse_starts = True
    with pytest.raises(StartRefused):
        c.import_service.revert(world.tenant, imp.id)
    failed = world.get(imp.id)
    assert failed.revert.status == "revertFailed" and failed.error_details[-1].code == "RevertFailed"


def test_a_reverted_import_answers_done(world: World, c: FakeContainer):
    imp = world.completed()
    c.import_service.revert(world.tenant, imp.id)
    c.revert.run(world.tenant, imp.id)
    reverted, running = c.import_service.revert(world.tenant, imp.id)
    assert not running and reverted.revert.status == "reverted"


def test_a_revert_waits_while_another_import_holds_the_account_against_the_ledger_as_it_is(
        world: World, c: FakeContainer):
    """The later import's review compared its lines with the ledger the revert would change (a line shown as
    already imported would be in no ledger line after it): 409 until that import is confirmed or deleted."""
    account = world.account()
    first = world.completed(CSV, account)
    later, _ = world.awaiting(CSV + b"2024-01-05,Books,-20.00\n", account, bypass_replay_validation=True)
    with pytest.raises(Conflict) as busy:
        c.import_service.revert(world.tenant, first.id)
    assert (busy.value.code, busy.value.target) == ("BankAccountBusy", "bankAccounts")
    assert later.id in busy.value.message
    assert world.get(first.id).revert.status is None and len(c.ledger.all(world.tenant, account)) == 3
    c.import_service.delete(world.tenant, later.id)
    _, running = c.import_service.revert(world.tenant, first.id)
    assert running and world.get(first.id).revert.status == "reverting"


def test_an_import_of_the_account_queues_behind_a_revert_until_it_ends(world: World, c: FakeContainer):
    """A revert holds its accounts until it ends: an import uploaded meanwhile is not reviewed against lines
    that are about to leave the ledger; it queues, and goes on once the revert is done."""
    account = world.account()
    first = world.completed(CSV, account)
    c.import_service.revert(world.tenant, first.id)  # reverting: the revert function has not run yet
    later, token = world.queued(account)
    assert world.get(later.id).status == ImportStatus.QUEUED

    c.revert.run(world.tenant, first.id)

    assert world.get(first.id).revert.status == "reverted" and c.ledger.all(world.tenant, account) == []
    assert (token, {"action": "claim"}) in c.workflow_engine.resumed
    assert world.claim(later.id) == "process"


def test_a_revert_that_stopped_part_way_keeps_the_accounts_until_a_revert_finishes_it(world: World,
                                                                                        c: FakeContainer):
    """Some of its lines are gone, some not: an import reviewed now would take those still to go for lines already
    imported. It stays queued, and the import cannot be deleted (its staged lines say which lines remain)."""
    account = world.account()
    first = world.completed(CSV, account)
    c.import_service.revert(world.tenant, first.id)
    later, token = world.queued(account)
    c.ledger.fail_deletes_after = 1  # a throttled table: one line removed, then the revert stops

    stopped = c.revert.run(world.tenant, first.id).imp

    assert (stopped.revert.status, stopped.revert.line_count) == ("revertFailed", 1)
    assert c.lifecycle.locks.holder(world.tenant, account) == revert_holder(first.id)
    assert world.claim(later.id) == "wait"
    with pytest.raises(Conflict) as kept:
        c.import_service.delete(world.tenant, first.id)
    assert (kept.value.code, kept.value.target) == ("InvalidImportStatus", "revertStatus")
    c.ledger.fail_deletes_after = None
    c.import_service.revert(world.tenant, first.id)
    assert c.revert.run(world.tenant, first.id).imp.revert.status == "reverted"
    assert (token, {"action": "claim"}) in c.workflow_engine.resumed
    assert world.claim(later.id) == "process"


def test_a_revert_stopped_before_removing_a_line_gives_the_accounts_back(world: World, c: FakeContainer):
    account = world.account()
    first = world.completed(CSV, account)
    c.import_service.revert(world.tenant, first.id)
    c.ledger.fail_deletes_after = 0  # the first delete fails

    assert c.revert.run(world.tenant, first.id).imp.revert.status == "revertFailed"

    assert c.lifecycle.locks.holder(world.tenant, account) is None
    # the next import takes the account at once (processed() claims it), and is reviewed
    _, outcome = world.processed(CSV + b"2024-01-05,Books,-20.00\n", account, bypass_replay_validation=True)
    assert outcome == "review"


def test_a_revert_that_cannot_be_started_gives_the_accounts_back(world: World, c: FakeContainer):
    account = world.account()
    imp = world.completed(CSV, account)
    c.reverts.refuse_starts = True
    with pytest.raises(StartRefused):
        c.import_service.revert(world.tenant, imp.id)
    assert c.lifecycle.locks.holder(world.tenant, account) is None


def test_a_revert_asked_while_the_completion_gives_the_accounts_back_waits_for_it(
        world: World, c: FakeContainer, monkeypatch: pytest.MonkeyPatch):
    """The completion step writes status complete, then releases the accounts: a client reverting as soon as it
    reads complete finds the import still holding them. The revert waits for that release (it was 409)."""
    account = world.account()
    imp = world.completed(CSV, account)
    assert c.locks.acquire(world.tenant, account, imp.id)  # the completion has not given the account back yet
    pauses: list[float] = []

    def completion_releases(seconds: float) -> None:
        pauses.append(seconds)
        c.locks.release(world.tenant, account, imp.id)

    monkeypatch.setattr("tximport.services.imports.time.sleep", completion_releases)
    _, running = c.import_service.revert(world.tenant, imp.id)
    assert running and pauses == [0.05] and world.get(imp.id).revert.status == "reverting"
    assert c.locks.holder(world.tenant, account) == revert_holder(imp.id)


def test_a_revert_waits_for_the_imports_own_release_a_bounded_time(
        world: World, c: FakeContainer, monkeypatch: pytest.MonkeyPatch):
    account = world.account()
    imp = world.completed(CSV, account)
    assert c.locks.acquire(world.tenant, account, imp.id)  # a completion that does not give it back
    pauses: list[float] = []
    monkeypatch.setattr("tximport.services.imports.time.sleep", pauses.append)
    with pytest.raises(Conflict) as busy:
        c.import_service.revert(world.tenant, imp.id)
    assert (busy.value.code, busy.value.target) == ("BankAccountBusy", "bankAccounts")
    assert "giving its bank accounts back" in busy.value.message and sum(pauses) < 2
    assert world.get(imp.id).revert.status is None and c.locks.holder(world.tenant, account) == imp.id
