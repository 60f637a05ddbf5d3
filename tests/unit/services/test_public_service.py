"""PublicTransactionsService on fakes: posted transactions straight into the ledger, deduplicated by
accountIdentifier + transactionId whatever the dates, unknown accounts created unless the tenant said no."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.fakes.container import FakeContainer
from tests.unit.services.world import CSV, World
from tximport.commands import PostedTransaction, UpdateSettings
from tximport.errors import Conflict
from tximport.models import BankAccount, ImportStatus, utcnow
from tximport.services.public import RejectedTransaction


def _tx(**extra: Any) -> PostedTransaction:
    base: dict[str, Any] = {"account_identifier": "GB33 BUKB 2020 1555 5555 55", "transaction_id": "tx-1",
                            "text": "Coffee", "credit_debit": "debit", "amount": Decimal("3.50"), "currency": "GBP",
                            "valuta_at": date(2024, 3, 1)}
    return PostedTransaction(**{**base, **extra})


def _post(c: FakeContainer, world: World, *items: PostedTransaction, rejected: list[RejectedTransaction] | None = None):
    return c.public.ingest(world.tenant, list(enumerate(items)), rejected or [])


def test_new_transactions_are_written_and_existing_ones_counted(c: FakeContainer, world: World):
    account = world.account("GB33BUKB20201555555555")

    first = _post(c, world, _tx(), _tx(transaction_id="tx-2", credit_debit="credit", amount=Decimal("10")))
    again = _post(c, world, _tx(), _tx(transaction_id="tx-3"))

    assert (first.new, first.existing, first.errors) == (2, 0, [])
    assert (again.new, again.existing) == (1, 1)
    assert [(i.result, i.bank_account_id) for i in again.items] == [("existing", account), ("new", account)]
    lines = c.ledger.all(world.tenant, account)
    assert sorted(line.amount for line in lines) == [Decimal("-3.50"), Decimal("-3.50"), Decimal("10")]
    assert {line.import_id for line in lines} == {"public-api"}


def test_a_resend_with_other_dates_is_existing_and_moves_the_line(c: FakeContainer, world: World):
    account = world.account("GB33BUKB20201555555555")
    _post(c, world, _tx(purchased_at=date(2024, 2, 28)))

    corrected = _post(c, world, _tx(valuta_at=date(2024, 3, 2)))
    booked = _post(c, world, _tx(valuta_at=date(2024, 3, 2), booked_at=date(2024, 3, 4)))
    same = _post(c, world, _tx(valuta_at=date(2024, 3, 2)))

    assert (corrected.new, corrected.existing) == (0, 1)
    assert corrected.items[0].updated_fields == ("valueDate", "datePosted")
    assert booked.items[0].updated_fields == ("datePosted",)
    assert same.items[0].updated_fields == ()  # no bookedAt this time: the booking day stays
    (line,) = c.ledger.all(world.tenant, account)  # one row, never a second or third
    assert (line.value_date, line.date_posted, line.purchase_date) == (
        date(2024, 3, 2), date(2024, 3, 4), date(2024, 2, 28))
    assert line.reference is None  # purchasedAt is its own field


def test_a_resend_with_another_amount_or_text_says_what_it_kept(c: FakeContainer, world: World):
    """The transactionId names the transaction first sent: a resend with another amount, sign or text stays
    `existing` and keeps the stored values, and says which it kept (it said nothing)."""
    account = world.account("GB33BUKB20201555555555")
    _post(c, world, _tx())
    resent = _post(c, world, _tx(credit_debit="credit", amount=Decimal("99.00"), text="Coffee shop"))
    same = _post(c, world, _tx())
    assert (resent.existing, resent.items[0].kept_fields) == (1, ("amount", "creditDebit", "text"))
    assert same.items[0].kept_fields == ()
    (line,) = c.ledger.all(world.tenant, account)
    assert line.amount == Decimal("-3.50")


def test_the_same_transaction_twice_in_one_request_is_one_row(c: FakeContainer, world: World):
    account = world.account("GB33BUKB20201555555555")
    result = _post(c, world, _tx(), _tx(valuta_at=date(2024, 3, 5)))
    assert [(i.result, i.updated_fields) for i in result.items] == [
        ("new", ()), ("existing", ("valueDate", "datePosted"))]
    assert [line.date_posted for line in c.ledger.all(world.tenant, account)] == [date(2024, 3, 5)]


def test_an_unknown_account_gets_a_placeholder_unless_the_tenant_says_no(c: FakeContainer, world: World):
    result = _post(c, world, _tx(account_identifier="DE89 3704 0044 0532 0130 00"),
                   _tx(account_identifier="DE89370400440532013000", transaction_id="tx-2"),
                   _tx(account_identifier="card ****1234", transaction_id="tx-3"))
    assert result.new == 3
    assert [i.account_created for i in result.items] == [True, False, True]
    (iban, _), (card, _) = result.created_accounts
    assert (iban, card) == ("DE89 3704 0044 0532 0130 00", "card ****1234")
    accounts = {a.account_identifier: a for a in c.account_service.all(world.tenant)}
    assert accounts["DE89 3704 0044 0532 0130 00"].country_code == "DEU"  # the IBAN's country
    assert accounts["card ****1234"].country_code == "ZZZ"  # the tenant's placeholder country

    c.settings_service.update(world.tenant, UpdateSettings(auto_create_accounts=False))
    refused = _post(c, world, _tx(account_identifier="FR7630006000011234567890189"))
    assert [(e.code, e.target) for e in refused.errors] == [
        ("BankAccountNotFound", "$.transactions[0].accountIdentifier")]


def test_rejected_items_are_counted_in_their_place(c: FakeContainer, world: World):
    world.account("GB33BUKB20201555555555")
    bad = RejectedTransaction(0, "InvalidAmount", "amount must be positive", "$.transactions[0].amount")
    result = c.public.ingest(world.tenant, [(1, _tx())], [bad])
    assert (result.new, len(result.errors)) == (1, 1)
    assert [(i.index, i.result) for i in result.items] == [(0, "error"), (1, "new")]


def test_identical_lines_without_an_id_are_two_transactions(c: FakeContainer, world: World):
    account = world.account("GB33BUKB20201555555555")
    same = _tx(transaction_id=None)
    assert _post(c, world, same, same).new == 2
    assert _post(c, world, same, same).existing == 2
    assert len(c.ledger.all(world.tenant, account)) == 2


def test_an_identifier_several_accounts_have_is_refused_and_never_gets_a_new_account(c: FakeContainer, world: World):
    first = world.account("GB33BUKB20201555555555")
    c.accounts.put(world.tenant, BankAccount(id="twin", bank_id="b", country_code="GBR",
                                             account_identifier="GB33BUKB20201555555555"))
    result = _post(c, world, _tx(), _tx(transaction_id="tx-2"))
    assert (result.new, result.existing) == (0, 0)
    assert [(e.code, e.target) for e in result.errors] == [
        ("AmbiguousBankAccount", "$.transactions[0].accountIdentifier"),
        ("AmbiguousBankAccount", "$.transactions[1].accountIdentifier")]
    assert sorted(a.id for a in c.account_service.all(world.tenant)) == sorted([first, "twin"])
    assert c.ledger.all(world.tenant, first) == [] and c.ledger.all(world.tenant, "twin") == []


def test_a_request_that_finds_its_line_written_meanwhile_answers_existing(c: FakeContainer, world: World,
                                                                          monkeypatch: Any):
    """Two requests post one transaction without an id: the second writes it between the first's read and write.
    The first answers `existing` (001: newTransactions counts what it newly created) and the ledger holds one line."""
    account = world.account("GB33BUKB20201555555555")
    plain = _tx(transaction_id=None, text="Racing")
    read = c.ledger.existing
    raced: list[Any] = []

    def existing_then_a_concurrent_post(*args: Any, **kwargs: Any) -> Any:
        found = read(*args, **kwargs)
        monkeypatch.setattr(c.ledger, "existing", read)
        raced.append(_post(c, world, plain))  # the other request, all of it, after this one's read
        return found

    monkeypatch.setattr(c.ledger, "existing", existing_then_a_concurrent_post)
    first = _post(c, world, plain)
    assert (raced[0].new, raced[0].existing) == (1, 0)
    assert (first.new, first.existing, [i.result for i in first.items]) == (0, 1, ["existing"])
    assert [line.description for line in c.ledger.all(world.tenant, account)] == ["Racing"]


def test_an_identifier_names_its_account_exactly_spaces_and_case_aside(c: FakeContainer, world: World):
    """The identifier is the account's key (document 001): a masked card number or an altered number is another
    account, never the current account it resembles (`****5678` went to `12345678`, silently); spaces and case
    do not count."""
    current = world.account("12345678")
    iban = world.account("GB33BUKB20201555555555")
    result = _post(c, world, *[_tx(account_identifier=ident, transaction_id=f"tx-{n}") for n, ident in enumerate(
        ["****5678", "xx12345678", "012345678", "1234 5678", "gb33 bukb 2020 1555 5555 55"])])
    assert [(i.bank_account_id in (current, iban), i.account_created) for i in result.items] == [
        (False, True), (False, True), (False, True), (True, False), (True, False)]
    assert [i.bank_account_id for i in result.items[3:]] == [current, iban]


def test_a_confirm_while_public_lines_are_written_under_a_review_waits_and_the_review_is_made_again(
        c: FakeContainer, world: World, monkeypatch: pytest.MonkeyPatch):
    """The feed's request began before the confirm: its lines are on a day the review reaches, so the review is held
    while they are written (a confirm then is a 409 that changes nothing) and made again once they are."""
    account = world.account("GB33BUKB20201555555555")
    imp, token = world.awaiting(CSV, account)
    real_write = c.ledger.write_claimed
    refused: list[str] = []

    def confirm_meanwhile(tenant, claimed):  # the confirm lands while the feed's lines are written
        with pytest.raises(Conflict) as busy:
            c.import_service.confirm(world.tenant, imp.id)
        refused.append(busy.value.code)
        return real_write(tenant, claimed)

    monkeypatch.setattr(c.ledger, "write_claimed", confirm_meanwhile)
    posted = _post(c, world, _tx(text="Coffee", valuta_at=date(2024, 1, 2)))
    assert refused == ["BankAccountBusy"] and posted.reviewed_again == [imp.id]
    after = world.get(imp.id)
    assert after.status == ImportStatus.PROCESSING and after.feed_hold_until is None
    assert c.workflow_engine.outputs(token) == [{"action": "amend"}]


def test_a_public_write_that_changes_nothing_lets_the_review_go_and_an_old_hold_holds_nothing(
        c: FakeContainer, world: World):
    account = world.account("GB33BUKB20201555555555")
    _post(c, world, _tx(valuta_at=date(2024, 1, 3)))
    imp, _ = world.awaiting(CSV, account)
    again = _post(c, world, _tx(valuta_at=date(2024, 1, 3)))  # the same transaction: nothing written
    assert again.existing == 1 and again.reviewed_again == []
    assert world.get(imp.id).feed_hold_until is None and world.get(imp.id).status == ImportStatus.AWAITING_CONFIRMATION
    stale = world.get(imp.id)  # a writer that died holding it: the hold ends by itself
    stale.feed_hold_until = utcnow() - timedelta(seconds=1)
    c.imports.save(stale)
    c.import_service.confirm(world.tenant, imp.id)
    assert world.get(imp.id).status == ImportStatus.FINAL_PROCESSING
