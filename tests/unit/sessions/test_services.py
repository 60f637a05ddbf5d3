"""Every import-session use case on in-memory fakes (no sockets): Given a world, when the use case
runs, then the store, the ledger and the events say what the documents say."""

from __future__ import annotations

import json
import time
from datetime import date
from decimal import Decimal

import pytest

from tests.unit.services.world import World as Files
from tests.unit.sessions.world import World
from tximport.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tximport.services.lifecycle import session_holder
from tximport.services.sessions.bind import BindService
from tximport.services.sessions.catalog import CatalogService
from tximport.services.sessions.commit import CommitService
from tximport.services.sessions.enrich import SYNC_LIMIT, EnrichService
from tximport.services.sessions.sessions import SessionService
from tximport.services.sessions.staged import StagedService
from tximport.services.sessions.upload import UploadService
from tximport.services.sessions.workspaces import Owned, WorkspaceService
from tximport.sessions.commands import BindRequest, SessionChanges, SessionInput, StagedChanges, StagedInput
from tximport.sessions.models import (
    CategoryType,
    InvoiceStatus,
    LearningExample,
    SessionLedgerEntry,
    SessionStatus,
    StagedTransactionStatus,
    StagedTransactionType,
    TransactionStatus,
)

T = StagedTransactionType
D = Decimal


@pytest.fixture()
def w() -> World:
    return World()


def account_session(w: World, **kw):
    account = w.account()
    session = SessionService(w.deps).create(w.scope, SessionInput(account.id, None, "2024-03", **kw))
    return account, session


def card_session(w: World, month: str = "2024-03"):
    card = CatalogService(w.deps).create(w.scope, "card", {"name": "Visa Gold"})
    return card, SessionService(w.deps).create(w.scope, SessionInput(None, card.id, month))


def stage(w: World, session_id: str, *rows) -> list:
    return StagedService(w.deps).add(w.scope, session_id, [
        StagedInput(amount=D(a), transaction_date=date(2024, 3, d), description=desc, **kw) for d, a, desc, kw in rows])


def test_a_workspace_header_must_be_the_tenants_and_is_needed_only_among_several(w: World):
    service = WorkspaceService(w.deps.repo)
    assert service.scope(w.tenant, None, "u", frozenset()).workspace_id == w.scope.workspace_id  # the only one
    _, session = account_session(w)
    service.create(w.tenant, "Empresa")
    with pytest.raises(ValidationFailed) as missing:
        service.scope(w.tenant, None, "u", frozenset())
    assert (missing.value.code, missing.value.target) == ("WorkspaceRequired", "X-Workspace-ID")
    # a route naming a session by id is in the workspace owning it
    assert service.scope(w.tenant, None, "u", frozenset(), Owned("session", session.id)).workspace_id == \
        w.scope.workspace_id
    with pytest.raises(NotFound):
        service.scope(w.tenant, None, "u", frozenset(), Owned("session", "nope"))
    with pytest.raises(Forbidden):
        service.scope(w.tenant, "someone-elses", "u", frozenset())
    other = WorkspaceService(w.deps.repo).create(w.tenant.model_copy(update={"company_id": "other"}), "x")
    with pytest.raises(Forbidden):
        service.scope(w.tenant, other.id, "u", frozenset())
    assert service.scope(w.tenant, w.scope.workspace_id, "u", frozenset()).workspace_id == w.scope.workspace_id


def test_a_session_needs_exactly_one_context_and_a_month(w: World):
    account = w.account()
    service = SessionService(w.deps)
    for inp, target in [(SessionInput(None, None, "2024-03"), "account_id"),
                        (SessionInput(account.id, "c", "2024-03"), "card_id"),
                        (SessionInput(account.id, None, None), "billing_month"),
                        (SessionInput(account.id, None, "2024-13"), "billing_month"),
                        (SessionInput("nope", None, "2024-03"), "account_id")]:
        with pytest.raises(ValidationFailed) as bad:
            service.create(w.scope, inp)
        assert bad.value.target == target
    session = service.create(w.scope, SessionInput(account.id, None, "2024-03"))
    assert session.description == "Conta Corrente | 2024-03" and session.target_value == 0
    assert session.user_id == "user-1"


@pytest.mark.parametrize("month", ["0000-01", "1899-12", "3000-01", "2024-00", "24-03"])
def test_a_billing_month_outside_the_years_kept_is_refused_on_create_and_update(w: World, month: str):
    """Year 0 passed `YYYY-MM` once: the session was saved and every read of it was a 500."""
    from pydantic import ValidationError

    from tximport.api.sessions.models import CreateImportSessionRequest, UpdateImportSessionRequest

    account, session = account_session(w)
    service = SessionService(w.deps)
    for call in (lambda: service.create(w.scope, SessionInput(account.id, None, month)),
                 lambda: service.update(w.scope, session.id, SessionChanges(billing_month=month))):
        with pytest.raises(ValidationFailed) as bad:
            call()
        assert (bad.value.code, bad.value.target) == ("InvalidBillingMonth", "billing_month")
    for model in (CreateImportSessionRequest, UpdateImportSessionRequest):
        with pytest.raises(ValidationError):
            model.model_validate({"billing_month": month})
    assert service.get(w.scope, session.id, page_size=10, cursor=0).session.billing_month == "2024-03"


def test_a_card_session_opens_its_invoice_and_refuses_one_in_another_status(w: World):
    card, session = card_session(w)
    catalog = CatalogService(w.deps)
    assert catalog.invoice(w.scope, card.id, "2024-03").status == InvoiceStatus.OPEN
    assert session.description == "Visa Gold | 2024-03"
    catalog.set_invoice_status(w.scope, card.id, "2024-03", InvoiceStatus.PAID)
    with pytest.raises(ValidationFailed) as refused:
        SessionService(w.deps).create(w.scope, SessionInput(None, card.id, "2024-03"))
    assert refused.value.code == "InvoiceNotOpen"


def test_card_target_defaults_to_the_card_payments_of_the_invoice(w: World):
    card = CatalogService(w.deps).create(w.scope, "card", {"name": "Visa"})
    w.ledger_line(card.id, "2024-03-10", "880.00", session=SessionLedgerEntry(
        type=T.CARD_PAYMENT, status=TransactionStatus.VALIDATING, workspace_id=w.scope.workspace_id,
        session_id="s-0", staged_transaction_id="st-0", billing_month="2024-03", card_id=card.id))
    session = SessionService(w.deps).create(w.scope, SessionInput(None, card.id, "2024-03"))
    assert session.target_value == D("880.00")


def test_staged_lines_follow_the_sign_rule_and_counters_follow_the_lines(w: World):
    _, session = account_session(w)
    lines = stage(w, session.id, (1, "100.00", "Salario", {}), (2, "-30.00", "Mercado", {}))
    assert [ln.type for ln in lines] == [T.INCOME, T.EXPENSE]
    assert all(ln.status == StagedTransactionStatus.PENDING for ln in lines)
    _, card = card_session(w, "2024-04")
    card_lines = stage(w, card.id, (1, "150.00", "Loja", {}), (2, "-50.00", "Estorno", {}))
    assert [ln.type for ln in card_lines] == [T.CARD_EXPENSE, T.CARD_CHARGEBACK]
    assert card_lines[1].status == StagedTransactionStatus.READY  # a chargeback needs no category
    with pytest.raises(ValidationFailed) as wrong:
        stage(w, card.id, (3, "10", "x", {"type": T.INCOME}))
    assert wrong.value.code == "TypeNotAllowed" and wrong.value.target == "[0].type"
    fresh = w.deps.session(w.scope, session.id)
    assert (fresh.total, fresh.pending, fresh.sums.income, fresh.sums.expense) == (2, 2, D(100), D(30))


def test_a_target_value_has_at_most_its_currencys_decimals(w: World):
    account = w.account(currency="BRL")
    service = SessionService(w.deps)
    with pytest.raises(ValidationFailed) as finer:
        service.create(w.scope, SessionInput(account.id, None, "2024-03", target_value=D("1.234")))
    assert (finer.value.code, finer.value.target) == ("InvalidAmount", "target_value")
    session = service.create(w.scope, SessionInput(account.id, None, "2024-03", target_value=D("1.23")))
    with pytest.raises(ValidationFailed):
        service.update(w.scope, session.id, SessionChanges(target_value=D("10.005")))
    assert service.update(w.scope, session.id, SessionChanges(target_value=D("10.50"))).target_value == D("10.50")
    yen = w.account("Conta JPY", "777", currency="JPY")
    with pytest.raises(ValidationFailed):
        service.create(w.scope, SessionInput(yen.id, None, "2024-03", target_value=D("100.5")))


def test_update_makes_a_line_ready_and_creates_tags_by_name(w: World):  # a sent status: tests/integration
    _, session = account_session(w)
    category = CatalogService(w.deps).create(w.scope, "category", {"name": "Mercado", "type": CategoryType.EXPENSE})
    line = stage(w, session.id, (5, "-30.00", "Mercado", {}))[0]
    service = StagedService(w.deps)
    updated = service.update(w.scope, line.id, StagedChanges(data={"category_id": category.id,
                                                                   "tags": ["casa", "Casa"]}))
    assert updated.status == StagedTransactionStatus.READY and len(updated.data["tag_ids"]) == 1
    assert service.get(w.scope, line.id).version == 1
    with pytest.raises(ValidationFailed) as bad:
        service.update(w.scope, line.id, StagedChanges(data={"category_id": "nope"}))
    assert bad.value.target == "data.category_id"
    assert w.deps.session(w.scope, session.id).ready == 1
    service.delete(w.scope, line.id)
    with pytest.raises(NotFound):
        service.get(w.scope, line.id)
    assert w.deps.session(w.scope, session.id).total == 0


def test_tag_names_differing_in_digits_are_two_tags_and_in_case_or_accents_one(w: World):
    catalog = CatalogService(w.deps)
    first = catalog.create(w.scope, "tag", {"name": "Viagem 2023"})
    second = catalog.create(w.scope, "tag", {"name": "Viagem 2024"})
    catalog.create(w.scope, "tag", {"name": "Parcela 1/10"})
    catalog.create(w.scope, "tag", {"name": "Parcela 2/10"})
    assert first.id != second.id
    with pytest.raises(Conflict) as taken:
        catalog.create(w.scope, "tag", {"name": "viagem  2024"})
    assert taken.value.code == "TagExists"
    assert catalog.tags_by_name(w.scope, ["VIAGEM 2024", "Viagem 2023", "Viágem 2023"], "data.tags") == [
        second.id, first.id, first.id]


def test_user_guide_balances_on_the_ledger(w: World):
    account, session = account_session(w, target_value=D("2700.00"))
    for day, amount in [("2024-01-15", "1000.00"), ("2024-01-20", "-200.00"), ("2024-02-10", "500.00"),
                        ("2024-02-25", "-150.00"), ("2024-03-05", "2000.00"), ("2024-03-10", "-300.00")]:
        w.ledger_line(account.id, day, amount)
    category = CatalogService(w.deps).create(w.scope, "category", {"name": "c", "type": CategoryType.EXPENSE})
    stage(w, session.id, (15, "-100.00", "a", {"data": {"category_id": category.id}}),
          (20, "-50.00", "b", {"data": {"category_id": category.id}}))
    detail = SessionService(w.deps).get(w.scope, session.id)
    b = detail.balances
    assert (b.initial_balance, b.context_value, b.ready, b.total, b.status) == (
        D("1150.00"), D("2700.00"), 2, 2, SessionStatus.OK)
    assert [ln.description for ln in detail.lines] == ["a", "b"]


def test_balances_leave_pending_lines_out_as_the_ledgers_balance_does(w: World):
    """A card authorisation still pending and the line that books it are one movement: the session counts the
    booked line only (it counted both), before the month and in it."""
    account, session = account_session(w)
    for day in ("2024-02-10", "2024-03-04"):
        pending = w.ledger_line(account.id, day, "-40.00")
        pending.pending = True
        w.ledger.write(w.tenant, [pending])
        w.ledger_line(account.id, day, "-40.00")
    w.ledger_line(account.id, "2024-01-02", "100.00")
    b = SessionService(w.deps).get(w.scope, session.id).balances
    assert (b.initial_balance, b.context_value, b.current_total) == (D("60.00"), D("20.00"), D(0))


def test_bind_copies_the_recurring_item_and_suggestions_can_be_confirmed_or_rejected(w: World):
    account, session = account_session(w)
    catalog = CatalogService(w.deps)
    category = catalog.create(w.scope, "category", {"name": "Streaming", "type": CategoryType.EXPENSE})
    netflix = catalog.create_recurring(w.scope, {"type": "expense", "description": "Netflix - Assinatura Mensal",
                                                 "amount": "49.90", "account_id": account.id,
                                                 "category_id": category.id, "start_date": "2024-01-06"})
    line, other = stage(w, session.id, (6, "-49.90", "NETFLIX", {}), (7, "-12", "Padaria", {}))
    bound = BindService(w.deps).bind(w.scope, session.id, [BindRequest(line.id, netflix.id)])[0]
    assert bound.status == StagedTransactionStatus.READY
    assert bound.data["recurring_expense_id"] == netflix.id and bound.description == "Netflix - Assinatura Mensal"
    with pytest.raises(NotFound):
        BindService(w.deps).bind(w.scope, session.id, [BindRequest(other.id, "missing")])
    gym = catalog.create_recurring(w.scope, {"type": "expense", "description": "Padaria do Ze", "amount": "12.00",
                                             "account_id": account.id, "category_id": category.id,
                                             "start_date": "2024-01-07"})
    result = EnrichService(w.deps).enrich(w.scope, session.id)
    assert result.mode == "sync" and result.suggested_bindings == 1
    suggestion = [b for b in w.deps.repo.bindings(w.tenant, session) if b.status == "PENDING"][0]
    assert suggestion.recurring_transaction_id == gym.id and suggestion.staged_transaction_id == other.id
    confirmed, line2 = BindService(w.deps).confirm(w.scope, session.id, suggestion.id)
    assert confirmed.status == "CONFIRMED" and line2.data["recurring_expense_id"] == gym.id
    with pytest.raises(Conflict):
        BindService(w.deps).reject(w.scope, session.id, suggestion.id)


@pytest.mark.parametrize("winner", ["reject", "confirm"])
def test_a_confirm_and_a_reject_of_one_suggestion_at_once_one_wins_and_the_other_changes_nothing(
        w: World, monkeypatch: pytest.MonkeyPatch, winner: str):
    account, session = account_session(w)
    catalog = CatalogService(w.deps)
    category = catalog.create(w.scope, "category", {"name": "Casa", "type": CategoryType.EXPENSE})
    gym = catalog.create_recurring(w.scope, {"type": "expense", "description": "Academia", "amount": "12.00",
                                             "account_id": account.id, "category_id": category.id,
                                             "start_date": "2024-01-07"})
    (line,) = stage(w, session.id, (7, "-12", "Academia", {}))
    EnrichService(w.deps).enrich(w.scope, session.id)
    (suggestion,) = w.deps.repo.bindings(w.tenant, session)
    service = BindService(w.deps)
    if winner == "reject":
        service.reject(w.scope, session.id, suggestion.id)
    else:
        service.confirm(w.scope, session.id, suggestion.id)
    monkeypatch.setattr(w.deps.repo, "get_binding", lambda *_: suggestion)  # the loser read it PENDING
    with pytest.raises(Conflict) as lost:
        (service.confirm if winner == "reject" else service.reject)(w.scope, session.id, suggestion.id)
    assert lost.value.code == "BindingNotPending"
    monkeypatch.undo()
    after = StagedService(w.deps).get(w.scope, line.id)
    stored = w.deps.repo.bindings(w.tenant, session)
    if winner == "reject":
        assert stored == [] and "recurring_expense_id" not in after.data
    else:
        assert [b.status for b in stored] == ["CONFIRMED"] and after.data["recurring_expense_id"] == gym.id


def test_a_line_binds_only_to_an_item_of_its_own_account_and_currency(w: World):
    """An item of another account (or currency) would be paid by a line that is not its payment."""
    account, session = account_session(w)
    other = w.account(identifier="99999-9")
    catalog = CatalogService(w.deps)
    theirs = catalog.create_recurring(w.scope, {"type": "expense", "description": "Phone", "amount": "10.00",
                                                "account_id": other.id, "start_date": "2024-01-06"})
    (line,) = stage(w, session.id, (6, "-10.00", "PHONE", {}))
    with pytest.raises(ValidationFailed) as mismatch:
        BindService(w.deps).bind(w.scope, session.id, [BindRequest(line.id, theirs.id)])
    assert (mismatch.value.code, mismatch.value.target) == ("RecurringContextMismatch", "[0].recurring_transaction_id")
    assert "recurring_expense_id" not in StagedService(w.deps).get(w.scope, line.id).data
    ours = catalog.create_recurring(w.scope, {"type": "expense", "description": "Phone", "amount": "10.00",
                                              "account_id": account.id, "start_date": "2024-01-06"})
    assert BindService(w.deps).bind(w.scope, session.id, [BindRequest(line.id, ours.id)])[0].data[
        "recurring_expense_id"] == ours.id


def test_enrichment_rules_then_learning_then_commit_teaches_the_next_session(w: World):
    account, session = account_session(w)
    catalog = CatalogService(w.deps)
    food = catalog.create(w.scope, "category", {"name": "Comida", "type": CategoryType.EXPENSE})
    rides = catalog.create(w.scope, "category", {"name": "Transporte", "type": CategoryType.EXPENSE})
    catalog.create(w.scope, "rule", {"name": "uber", "description_contains": "uber", "category_id": rides.id})
    ride, bakery = stage(w, session.id, (1, "-20", "UBER *TRIP", {}), (2, "-9", "PADARIA PAO QUENTE", {}))
    StagedService(w.deps).update(w.scope, bakery.id, StagedChanges(data={"category_id": food.id}))
    EnrichService(w.deps).enrich(w.scope, session.id)
    assert StagedService(w.deps).get(w.scope, ride.id).data["category_id"] == rides.id
    result = CommitService(w.deps).commit(w.scope, session.id)
    assert result.committed == 2 and len(result.transaction_ids) == 2
    second = SessionService(w.deps).create(w.scope, SessionInput(account.id, None, "2024-04"))
    later = stage(w, second.id, (3, "-11", "PADARIA PAO QUENTE", {}))[0]
    assert EnrichService(w.deps).enrich(w.scope, second.id).ready == 1
    enriched = StagedService(w.deps).get(w.scope, later.id)
    assert enriched.data["category_id"] == food.id and enriched.data["enrichment"]["source"] == "learning"


def test_commit_writes_each_ready_line_once_with_its_status_and_close_pays_them(w: World):
    account, session = account_session(w)
    savings = w.account("Poupanca", "999")
    category = CatalogService(w.deps).create(w.scope, "category", {"name": "c", "type": CategoryType.EXPENSE})
    ready, ignored, transfer, pending = stage(
        w, session.id, (1, "-10", "a", {"data": {"category_id": category.id}}),
        (2, "-5", "b", {"data": {"ignore": True}}),
        (3, "-100", "c", {"type": T.TRANSFER, "data": {"destination_account_id": savings.id}}), (4, "-1", "d", {}))
    first = CommitService(w.deps).commit(w.scope, session.id)
    assert (first.committed, first.validating, first.ignored) == (3, 2, 1)
    assert CommitService(w.deps).commit(w.scope, session.id).committed == 0
    def status_of() -> dict[str, TransactionStatus]:
        return {ln.session.staged_transaction_id: ln.session.status for ln in w.lines(account.id) if ln.session}

    rows = {ln.session.staged_transaction_id: ln for ln in w.lines(account.id) if ln.session}
    assert status_of()[ready.id] == TransactionStatus.VALIDATING and rows[ready.id].amount == D(-10)
    assert status_of()[ignored.id] == TransactionStatus.IGNORE
    (mirror,) = w.lines(savings.id)
    assert mirror.amount == D(100) and mirror.session and mirror.session.type == T.TRANSFER
    assert mirror.session.counterpart_account_id == account.id
    assert w.deps.session(w.scope, session.id).total == 1  # the PENDING line stays
    assert w.published()[0][0] == "ImportSessionCommitted"
    with pytest.raises(Forbidden):
        CommitService(w.deps).close(w.scope, session.id)
    closed = CommitService(w.deps).close(w.admin, session.id)
    assert closed.paid == 2
    assert status_of()[ready.id] == TransactionStatus.PAID
    assert status_of()[ignored.id] == TransactionStatus.IGNORE
    with pytest.raises(NotFound):
        w.deps.session(w.scope, session.id)


def test_staging_many_lines_reads_what_they_name_once(w: World):
    """5,000 lines naming one category, subcategory and tag read them once each (a read per line and name made
    a POST of 5,000 lines take 25 s); a name met first in a later line is still created and checked."""
    _, session = account_session(w)
    catalog = CatalogService(w.deps)
    category = catalog.create(w.scope, "category", {"name": "c", "type": CategoryType.EXPENSE})
    sub = catalog.create(w.scope, "subcategory", {"name": "s", "category_id": category.id})
    store = w.deps.catalog.store
    before = store.reads
    data = {"category_id": category.id, "subcategory_id": sub.id, "tags": ["casa"]}
    last = (2, "-2", "y", {"data": {**data, "tags": ["Casa", "obra"]}})
    lines = stage(w, session.id, *[(1, "-1", "x", {"data": data})] * 4999, last)
    assert store.reads - before < 30
    assert lines[0].data["tag_ids"] == lines[1].data["tag_ids"] and len(lines[-1].data["tag_ids"]) == 2
    assert {ln.status for ln in lines} == {StagedTransactionStatus.READY}
    with pytest.raises(ValidationFailed) as unknown:
        stage(w, session.id, (1, "-1", "x", {"data": data}), (1, "-1", "x", {"data": {"category_id": "nope"}}))
    assert unknown.value.target == "[1].data.category_id"


def test_a_commit_of_several_chunks_recomputes_each_day_once_and_learns_in_one_batch(w: World):
    account, session = account_session(w)
    category = CatalogService(w.deps).create(w.scope, "category", {"name": "c", "type": CategoryType.EXPENSE})
    names = [f"loja {a}{b}" for a in "abcdefghijklmnopqrstuvwxyz" for b in "abcdefghijklmnopqrstuvwxyz"][:600]
    stage(w, session.id, *[(1 + n % 3, "-1", names[n % 600], {"data": {"category_id": category.id}})
                           for n in range(1200)])
    w.ledger.refreshed.clear()
    assert CommitService(w.deps).commit(w.scope, session.id).committed == 1200
    assert w.ledger.refreshed == [(account.id, date(2024, 3, d)) for d in (1, 2, 3)]  # once each, after 3 chunks
    learned = w.deps.catalog.list_of(w.tenant, w.scope.workspace_id, LearningExample)
    assert len(learned) == 600 and {e.category_id for e in learned} == {category.id}
    detail = SessionService(w.deps).get(w.scope, session.id)
    assert (detail.balances.context_value, detail.balances.total) == (D(-1200), 0)


def test_the_other_accounts_statement_line_of_a_committed_transfer_is_held_as_its_mirror(w: World):
    """A2's session books a transfer of 100.00 to A3 (its mirror +100.00 lands in A3's ledger); A3's own statement
    shows the money under its own description: staged in A3, it is a certain copy of the mirror, PENDING until the
    client decides (it was READY-able and booked the 100.00 twice). One mirror answers one line."""
    a2, sent = account_session(w)
    a3 = w.account("Poupanca", "999")
    category = CatalogService(w.deps).create(w.scope, "category", {"name": "c", "type": CategoryType.INCOME})
    stage(w, sent.id, (10, "-100.00", "TED para Poupanca", {"type": T.TRANSFER,
                                                            "data": {"destination_account_id": a3.id}}))
    CommitService(w.deps).commit(w.scope, sent.id)
    (mirror,) = w.lines(a3.id)
    received = SessionService(w.deps).create(w.scope, SessionInput(a3.id, None, "2024-03"))
    own, other, outgoing = stage(w, received.id, (11, "100.00", "TED RECEBIDA CONTA SINAIS",
                                                  {"data": {"category_id": category.id}}),
                                 (11, "100.00", "Pix de Maria", {"data": {"category_id": category.id}}),
                                 (11, "-100.00", "TARIFA", {"data": {"category_id": category.id}}))
    assert own.data["possible_duplicate"] == {"duplicate_of": mirror.transaction_id, "reason": "transferMirror",
                                              "certain": True, "counterpart_account_id": a2.id}
    assert own.status == StagedTransactionStatus.PENDING
    assert "possible_duplicate" not in other.data and other.status == StagedTransactionStatus.READY
    assert "possible_duplicate" not in outgoing.data  # another sign: not the mirror's money


def test_a_transfer_arriving_four_days_later_is_still_its_mirrors_copy(w: World):
    """Sent on a Friday before a holiday, a transfer's money reaches the other bank four days later: the line of
    the other account's statement is still the mirror's certain copy (up to 5 days apart, not 6)."""
    _, sent = account_session(w)
    a3 = w.account("Poupanca", "999")
    stage(w, sent.id, (8, "-250.00", "TED", {"type": T.TRANSFER, "data": {"destination_account_id": a3.id}}),
          (8, "-90.00", "TED", {"type": T.TRANSFER, "data": {"destination_account_id": a3.id}}))
    CommitService(w.deps).commit(w.scope, sent.id)
    received = SessionService(w.deps).create(w.scope, SessionInput(a3.id, None, "2024-03"))
    late, too_late = stage(w, received.id, (12, "250.00", "TED RECEBIDA", {}), (14, "90.00", "TED RECEBIDA", {}))
    assert late.data["possible_duplicate"]["reason"] == "transferMirror"
    assert "possible_duplicate" not in too_late.data


def test_a_file_import_of_the_other_accounts_statement_skips_the_line_a_transfers_mirror_answers(w: World):
    """A2's session books a transfer of 100.00 to A3 (its mirror +100.00 in A3's ledger); A3's statement then comes
    as a file import (document 002): its credit line of that money is a certain duplicate of the mirror
    (transferMirror, the other account named, decision skip), so a confirm with the defaults leaves the money
    counted once; one mirror answers one line, another sign none. The same statement again: the same verdicts."""
    a2, sent = account_session(w)
    a3 = w.account("Poupanca", "999")
    stage(w, sent.id, (10, "-100.00", "TED para Poupanca", {"type": T.TRANSFER,
                                                            "data": {"destination_account_id": a3.id}}))
    CommitService(w.deps).commit(w.scope, sent.id)
    (mirror,) = w.lines(a3.id)
    files = Files(w.c, w.tenant)
    statement = (b"Date,Description,Amount\n2024-03-11,TED RECEBIDA CONTA SINAIS,100.00\n"
                 b"2024-03-11,Pix de Maria,100.00\n2024-03-12,TARIFA,-100.00\n")
    for again in (False, True):
        imp, _token = files.awaiting(statement, a3.id, bypass_replay_validation=True)
        own, other, outgoing = w.c.staging.all_rows(imp.chunk_keys)
        assert (own.duplicate_of, own.default_decision) == (mirror.transaction_id, "skip")
        assert own.duplicate_reason == {"reason": "transferMirror", "certain": True, "in": "ledger",
                                        "counterpartAccountId": a2.id, "amount": "100.00", "daysApart": 1,
                                        "ledgerDescription": mirror.description}
        # the other lines: new, then (imported) already imported
        assert [(r.duplicate_reason or {}).get("reason") for r in (other, outgoing)] == (
            ["alreadyImported"] * 2 if again else [None, None])
        assert imp.summary.possible_duplicate_count == (3 if again else 1)  # type: ignore[union-attr]
        _confirmed(w, imp.id)
    assert sorted((line.description, line.amount) for line in w.lines(a3.id)) == sorted([
        (mirror.description, D(100)), ("Pix de Maria", D(100)), ("TARIFA", D(-100))])


def test_a_commit_writing_to_an_account_an_import_holds_is_refused_until_the_import_ends(w: World):
    """D's statement is under review as a file import (it holds D) when C's session commits a transfer to D: the
    commit answers 409 AccountBusy and writes nothing (its mirror would not be in what D's reviewer confirms: the
    money twice). Once D's import is complete, the commit links the transfer to D's bank line."""
    c_account, sent = account_session(w)
    d_account = w.account("Poupanca", "999")
    stage(w, sent.id, (2, "-300.00", "TED", {"type": T.TRANSFER, "data": {"destination_account_id": d_account.id}}))
    imp, _token = Files(w.c, w.tenant).awaiting(b"Date,Description,Amount\n2024-03-03,FROM C,300.00\n",
                                                d_account.id)
    with pytest.raises(Conflict) as busy:
        CommitService(w.deps).commit(w.scope, sent.id)
    assert busy.value.code == "AccountBusy" and imp.id in busy.value.message and d_account.id in busy.value.message
    assert busy.value.target == "data.destination_account_id"  # the field naming the busy account
    assert w.lines(c_account.id) == [] and w.lines(d_account.id) == []
    _confirmed(w, imp.id)
    result = CommitService(w.deps).commit(w.scope, sent.id)
    assert (result.committed, result.linked) == (1, 1)
    assert [line.amount for line in w.lines(d_account.id)] == [D(300)]


def test_an_import_arriving_while_a_commit_holds_its_account_queues_and_is_woken_after(w: World):
    """A commit holds the accounts it writes as an import does: an import of one of them claimed meanwhile waits
    (queued), and the commit's end wakes it; a lease that ran out (a commit that died) holds nothing."""
    account = w.account()
    files = Files(w.c, w.tenant)
    holder = session_holder("s-1")
    assert w.c.lifecycle.hold(w.tenant, [account.id], holder, int(time.time()) + 60) is None
    imp = files.create(account.id)
    files.upload(imp, b"Date,Description,Amount\n2024-03-03,X,1.00\n")
    assert files.claim(imp.id) == "wait"
    token = w.c.workflow_engine.park()
    w.c.workflow.enqueue(files.get(imp.id), token)
    assert w.c.lifecycle.hold(w.tenant, [account.id], session_holder("s-2"), int(time.time()) + 60) == (
        account.id, holder)
    w.c.lifecycle.free(w.tenant, [account.id], holder)
    assert w.c.workflow_engine.outputs(token) == [{"action": "claim"}]
    assert files.claim(imp.id) == "process"
    other = w.account("Outra", "777")
    assert w.c.lifecycle.hold(w.tenant, [other.id], holder, int(time.time()) - 1) is None  # ran out at once
    assert w.c.locks.holder(w.tenant, other.id) is None


@pytest.mark.parametrize(("data", "field"), [
    ({"ignore": "true"}, "[0].data.ignore"), ({"ignore": 1}, "[0].data.ignore"), ({"ignore": None}, "[0].data.ignore"),
    ({"type": "CARD_PAYMENT", "billing_month": "2024-4"}, "[0].data.billing_month"),
    ({"type": "CARD_PAYMENT", "billing_month": "abril"}, "[0].data.billing_month"),
    ({"type": "CARD_PAYMENT", "billing_month": "2024-04-15"}, "[0].data.billing_month")])
def test_data_that_decides_what_a_commit_writes_has_its_shape(w: World, data: dict, field: str):
    """`data.ignore` is a JSON boolean (`"true"` booked the copy it set aside) and `data.billing_month` a month
    YYYY-MM (a payment into `"2024-4"` left the account and reached no invoice): else 400 naming the field, in a
    POST and a PUT alike, and nothing is staged or changed."""
    _, session = account_session(w)
    card, _ = card_session(w)
    kind = data.pop("type", None)
    extra = {"type": T(kind), "data": {"card_id": card.id, **data}} if kind else {"data": data}
    with pytest.raises(ValidationFailed) as refused:
        stage(w, session.id, (2, "-5.00", "PGTO", extra))
    assert (refused.value.code, refused.value.target) == ("ValidationError", field)
    (line,) = stage(w, session.id, (2, "-5.00", "PGTO", {"type": T(kind), "data": {"card_id": card.id}} if kind
                                    else {}))
    if data.get("ignore", 0) is not None:  # (a PUT's null removes the key)
        with pytest.raises(ValidationFailed) as changed:
            StagedService(w.deps).update(w.scope, line.id, StagedChanges(data=data))
        assert changed.value.target == field.removeprefix("[0].")


def test_a_copy_settled_with_ignore_answers_no_file_line_its_mirror_does(w: World):
    """D's transfer of 50.00 to E (its mirror in E); E's session settles the bank's line of it with data.ignore
    (committed IGNORE, a record). E's statement then comes as a file: its line of that money takes the mirror
    (transferMirror), not the IGNORE record, so the mirror is not left to swallow an unrelated 50.00 credit four
    days later (it was skipped as the transfer's copy: 50.00 lost). An ignored transfer's IGNORE mirror answers no
    line either."""
    _, sent = account_session(w)
    e = w.account("Poupanca", "999")
    stage(w, sent.id, (3, "-50.00", "TO E", {"type": T.TRANSFER, "data": {"destination_account_id": e.id}}),
          (20, "-30.00", "TO E ignored", {"type": T.TRANSFER, "data": {"destination_account_id": e.id,
                                                                        "ignore": True}}))
    CommitService(w.deps).commit(w.scope, sent.id)
    received = SessionService(w.deps).create(w.scope, SessionInput(e.id, None, "2024-03"))
    (copy,) = stage(w, received.id, (4, "50.00", "SEPA IN D", {}))
    StagedService(w.deps).update(w.scope, copy.id, StagedChanges(data={"ignore": True}))
    assert CommitService(w.deps).commit(w.scope, received.id).ignored == 1
    statement = (b"Date,Description,Amount\n2024-03-04,SEPA IN D,50.00\n2024-03-07,BONUS FROM EMPLOYER,50.00\n"
                 b"2024-03-21,SEPA IN D,30.00\n")
    imp, _token = Files(w.c, w.tenant).awaiting(statement, e.id)
    rows = list(w.c.staging.all_rows(imp.chunk_keys))
    assert [((r.duplicate_reason or {}).get("reason"), r.default_decision) for r in rows] == [
        ("transferMirror", "skip"), (None, "import"), (None, "import")]
    _confirmed(w, imp.id)
    assert sum(total for _, total in w.ledger.day_totals(w.tenant, e.id, None, None)) == D("130.00")


def _confirmed(w: World, import_id: str) -> None:
    """A file import confirmed with its default decisions and committed, as its state machine goes on."""
    files = Files(w.c, w.tenant)
    w.c.import_service.confirm(w.tenant, import_id)
    for chunk in w.c.workflow.begin_commit(files.get(import_id)):
        w.c.commit.commit_chunk(files.get(import_id), chunk)
    w.c.commit.refresh_balances(files.get(import_id))
    w.c.workflow.complete(files.get(import_id))


def test_a_statement_a_session_committed_coming_as_a_file_import_is_held_back_line_for_line(w: World):
    """The lines a session committed have ids of their own, so a file import of the same statement found them only
    as look-alikes (decision import: counted twice). Each is a certain copy now (alreadyCommitted, skip), two
    identical lines each answering one; a third identical line of the file is only a look-alike."""
    account, session = account_session(w)
    category = CatalogService(w.deps).create(w.scope, "category", {"name": "c", "type": CategoryType.EXPENSE})
    kw = {"data": {"category_id": category.id}}
    stage(w, session.id, (5, "-4.50", "Padaria  Pão", kw), (5, "-4.50", "Padaria  Pão", kw), (6, "-80.00", "Luz", kw))
    CommitService(w.deps).commit(w.scope, session.id)
    committed = [line.transaction_id for line in w.lines(account.id)]
    statement = ("Date,Description,Amount\n2024-03-05,PADARIA PÃO,-4.50\n2024-03-05,Padaria Pão,-4.50\n"
                 "2024-03-05,Padaria Pão,-4.50\n2024-03-06,Luz,-80.00\n").encode()
    imp, _token = Files(w.c, w.tenant).awaiting(statement, account.id)
    rows = list(w.c.staging.all_rows(imp.chunk_keys))
    assert [((r.duplicate_reason or {}).get("reason"), r.default_decision) for r in rows] == [
        ("alreadyCommitted", "skip"), ("alreadyCommitted", "skip"), ("similarLedgerLine", "import"),
        ("alreadyCommitted", "skip")]
    assert {rows[0].duplicate_of, rows[1].duplicate_of, rows[3].duplicate_of} == set(committed)
    _confirmed(w, imp.id)
    assert len(w.lines(account.id)) == 4  # the three committed and the third bread


def test_a_statement_staged_again_after_its_commit_is_held_back_line_for_line(w: World):
    """A session's ledger lines have ids of their own, so the file import's id check cannot find them: a line of
    the same day, amount and description as one an earlier session committed is a certain copy (it was a mere
    look-alike, READY, and booked again); two coffees committed answer two, a third is only alike."""
    account, first = account_session(w)
    category = CatalogService(w.deps).create(w.scope, "category", {"name": "c", "type": CategoryType.EXPENSE})
    filed = {"data": {"category_id": category.id}}
    stage(w, first.id, (5, "-3.50", "CAFE DO PONTO", filed), (5, "-3.50", "CAFE DO PONTO", filed),
          (6, "-80.00", "MERCADO", filed))
    CommitService(w.deps).commit(w.scope, first.id)
    committed = {ln.description: ln.transaction_id for ln in w.lines(account.id)}
    again = SessionService(w.deps).create(w.scope, SessionInput(account.id, None, "2024-03"))
    lines = stage(w, again.id, (5, "-3.50", "Cafe do Ponto", filed), (5, "-3.50", "CAFE DO PONTO", filed),
                  (5, "-3.50", "CAFE DO PONTO", filed), (6, "-80.00", "MERCADO", filed))
    marks = [ln.data.get("possible_duplicate") for ln in lines]
    assert [(m["reason"], m["certain"]) for m in marks] == [
        ("alreadyCommitted", True), ("alreadyCommitted", True), ("similarLedgerLine", False),
        ("alreadyCommitted", True)]
    assert marks[3]["duplicate_of"] == committed["MERCADO"]
    assert [ln.status for ln in lines] == [StagedTransactionStatus.PENDING] * 2 + [StagedTransactionStatus.READY] + [
        StagedTransactionStatus.PENDING]


def test_the_copy_mark_is_the_servers_and_follows_the_lines_changes(w: World):
    """A client cannot lift a certain mark by sending `possible_duplicate: null` (the line went READY and booked
    the money twice) nor bring its own mark; a line whose amount changes is judged again."""
    _, sent = account_session(w)
    b = w.account("Poupanca", "999")
    category = CatalogService(w.deps).create(w.scope, "category", {"name": "c", "type": CategoryType.INCOME})
    stage(w, sent.id, (10, "-250.00", "TED", {"type": T.TRANSFER, "data": {"destination_account_id": b.id}}))
    CommitService(w.deps).commit(w.scope, sent.id)
    session = SessionService(w.deps).create(w.scope, SessionInput(b.id, None, "2024-03"))
    fake = {"possible_duplicate": {"duplicate_of": "x", "reason": "mine", "certain": False}}
    copy, plain = stage(w, session.id, (10, "250.00", "TED RECEBIDA", {"data": {"category_id": category.id, **fake}}),
                        (20, "7.00", "JUROS", {"data": {"category_id": category.id, **fake}}))
    assert copy.data["possible_duplicate"]["reason"] == "transferMirror" and "possible_duplicate" not in plain.data
    service = StagedService(w.deps)
    kept = service.update(w.scope, copy.id, StagedChanges(data={"possible_duplicate": None}))
    assert kept.data["possible_duplicate"]["certain"] and kept.status == StagedTransactionStatus.PENDING
    moved = service.update(w.scope, copy.id, StagedChanges(amount=D("999.00")))
    assert "possible_duplicate" not in moved.data and moved.status == StagedTransactionStatus.READY
    back = service.update(w.scope, copy.id, StagedChanges(amount=D("250.00")))
    assert back.data["possible_duplicate"]["reason"] == "transferMirror"


def test_a_transfer_is_counted_once_whichever_account_commits_first(w: World):
    """(a) C's statement line staged READY, then A books the transfer to C (its mirror lands in C): C's commit judges
    the line again and holds it back as the mirror's copy. (b) C commits its statement line first, then A books
    a transfer of that money to C: no mirror is written, A's line names C's (both counted the money twice)."""
    a, sent = account_session(w)
    c = w.account("Poupanca", "999")
    income = CatalogService(w.deps).create(w.scope, "category", {"name": "c", "type": CategoryType.INCOME})
    received = SessionService(w.deps).create(w.scope, SessionInput(c.id, None, "2024-03"))
    (early,) = stage(w, received.id, (10, "400.00", "PIX RECEBIDO A", {"data": {"category_id": income.id}}))
    assert early.status == StagedTransactionStatus.READY
    transfer = {"type": T.TRANSFER, "data": {"destination_account_id": c.id}}
    stage(w, sent.id, (9, "-400.00", "PIX para C", transfer))
    assert CommitService(w.deps).commit(w.scope, sent.id).linked == 0
    held = CommitService(w.deps).commit(w.scope, received.id)
    assert (held.committed, held.held_back) == (0, 1)
    line = StagedService(w.deps).get(w.scope, early.id)
    assert line.status == StagedTransactionStatus.PENDING and line.data["possible_duplicate"]["reason"] == \
        "transferMirror"
    assert [ln.amount for ln in w.lines(c.id)] == [D("400.00")]
    # (b) C's own line first
    stage(w, received.id, (20, "123.45", "PIX RECEBIDO A", {"data": {"category_id": income.id}}))
    assert CommitService(w.deps).commit(w.scope, received.id).committed == 1
    (c_line,) = [ln for ln in w.lines(c.id) if ln.amount == D("123.45")]
    stage(w, sent.id, (19, "-123.45", "PIX para C", transfer))
    assert CommitService(w.deps).commit(w.scope, sent.id).linked == 1
    assert sorted(ln.amount for ln in w.lines(c.id)) == [D("123.45"), D("400.00")]
    (a_line,) = [ln for ln in w.lines(a.id) if ln.amount == D("-123.45")]
    assert a_line.session is not None and a_line.session.counterpart_transaction_id == c_line.transaction_id


def test_a_mirror_answering_a_line_left_staged_holds_back_no_other_line_at_commit(w: World):
    """Two transfers of 250.00 to Y, three lines of 250.00 in Y's statement: two are the mirrors' copies (left
    PENDING), the third is Y's own money and is booked (the commit took a mirror the first copy answers and held
    the third back too); alike for lines repeating committed ones."""
    _, sent = account_session(w)
    y = w.account("Poupanca", "999")
    income = CatalogService(w.deps).create(w.scope, "category", {"name": "c", "type": CategoryType.INCOME})
    transfer = {"type": T.TRANSFER, "data": {"destination_account_id": y.id}}
    stage(w, sent.id, (2, "-250.00", "PIX 1", transfer), (2, "-250.00", "PIX 2", transfer))
    CommitService(w.deps).commit(w.scope, sent.id)
    received = SessionService(w.deps).create(w.scope, SessionInput(y.id, None, "2024-03"))
    filed = {"data": {"category_id": income.id}}
    lines = stage(w, received.id, *[(3, "250.00", f"FROM X {n}", filed) for n in (1, 2, 3)])
    assert [ln.status for ln in lines].count(StagedTransactionStatus.READY) == 1
    result = CommitService(w.deps).commit(w.scope, received.id)
    assert (result.committed, result.held_back) == (1, 0)
    coffees = SessionService(w.deps).create(w.scope, SessionInput(y.id, None, "2024-03"))
    stage(w, coffees.id, (5, "-3.50", "CAFE", filed), (5, "-3.50", "CAFE", filed))
    CommitService(w.deps).commit(w.scope, coffees.id)
    again = SessionService(w.deps).create(w.scope, SessionInput(y.id, None, "2024-03"))
    three = stage(w, again.id, *[(5, "-3.50", "CAFE", filed)] * 3)
    assert [ln.status for ln in three].count(StagedTransactionStatus.READY) == 1
    assert CommitService(w.deps).commit(w.scope, again.id).committed == 1


def test_a_copy_the_client_settled_with_ignore_still_answers_its_ledger_line_at_commit(w: World):
    """One coffee in the ledger (a file import), two in the statement staged: the first is its certain copy, the
    second a look-alike, READY. The client settles the first with data.ignore; at commit the second is judged
    again and is not a copy of the ledger coffee the first already answers: both written, -3.50 twice in the
    bank's statement and once more as a record (it held the second back as alreadyImported)."""
    account, session = account_session(w)
    files = Files(w.c, w.tenant)
    imp, _token = files.awaiting(b"Date,Description,Amount\n2024-03-05,CAFE,-3.50\n", account.id)
    _confirmed(w, imp.id)
    category = CatalogService(w.deps).create(w.scope, "category", {"name": "c", "type": CategoryType.EXPENSE})
    first, second = stage(w, session.id, *[(5, "-3.50", "CAFE", {"data": {"category_id": category.id}})] * 2)
    assert first.data["possible_duplicate"]["reason"] == "alreadyImported"
    assert second.status == StagedTransactionStatus.READY
    StagedService(w.deps).update(w.scope, first.id, StagedChanges(data={"ignore": True}))
    result = CommitService(w.deps).commit(w.scope, session.id)
    assert (result.committed, result.ignored, result.held_back) == (2, 1, 0)
    assert sum(total for _, total in w.ledger.day_totals(w.tenant, account.id, None, None)) == D("-7.00")


def test_a_copy_settled_with_ignore_counts_in_no_balance(w: World):
    """A certain copy of a transfer's mirror committed IGNORE (`data.ignore: true`, the decision the mark asks
    for) stays in the ledger as a record but counts in no balance (it counted the 500.00 twice); staged, it
    counts in no session sum from the moment it is to be ignored."""
    _, sent = account_session(w)
    y = w.account("Poupanca", "999")
    stage(w, sent.id, (2, "-500.00", "PIX", {"type": T.TRANSFER, "data": {"destination_account_id": y.id}}))
    CommitService(w.deps).commit(w.scope, sent.id)
    received = SessionService(w.deps).create(w.scope, SessionInput(y.id, None, "2024-03"))
    (copy,) = stage(w, received.id, (3, "500.00", "PIX RECEBIDO", {}))
    before = SessionService(w.deps).get(w.scope, received.id).balances
    StagedService(w.deps).update(w.scope, copy.id, StagedChanges(data={"ignore": True}))
    settled = SessionService(w.deps).get(w.scope, received.id).balances
    # staged, the settled copy already counts no more (500.00 came in once: the mirror)
    assert (before.current_total, settled.current_total, settled.context_value) == (D(500), 0, D(500))
    StagedService(w.deps).update(w.scope, copy.id, StagedChanges(data={"ignore": False}))
    assert SessionService(w.deps).get(w.scope, received.id).balances.current_total == D(500)
    StagedService(w.deps).update(w.scope, copy.id, StagedChanges(data={"ignore": True}))
    assert CommitService(w.deps).commit(w.scope, received.id).ignored == 1
    assert sorted(ln.amount for ln in w.lines(y.id)) == [D("500.00"), D("500.00")]
    assert sum(total for _, total in w.ledger.day_totals(w.tenant, y.id, None, None)) == D("500.00")
    # newest first: the settled copy (the balance after it is the one before it), then the mirror
    page = w.c.ledger_queries.page_with_balances(w.tenant, y.id, limit=10, cursor=None)
    assert [(line.description, running) for line, running in zip(page.lines, page.running or [], strict=True)] == [
        ("PIX RECEBIDO", D(500)), ("PIX", D(500))]
    april = SessionService(w.deps).create(w.scope, SessionInput(y.id, None, "2024-04"))
    assert SessionService(w.deps).get(w.scope, april.id).balances.initial_balance == D("500.00")


def test_close_refuses_uncommitted_ready_lines_and_pays_a_card_invoice(w: World):
    card, session = card_session(w)
    stage(w, session.id, (1, "-50", "estorno", {}))
    with pytest.raises(Conflict) as refused:
        CommitService(w.deps).close(w.admin, session.id)
    assert refused.value.code == "UncommittedLines"
    CommitService(w.deps).commit(w.scope, session.id)
    assert CommitService(w.deps).close(w.admin, session.id).invoice_status == InvoiceStatus.PAID
    assert CatalogService(w.deps).invoice(w.scope, card.id, "2024-03").status == InvoiceStatus.PAID
    assert w.ledger.invoice_sums(w.tenant, card.id, "2024-03").card_chargeback == D(50)


def test_a_call_losing_the_race_to_start_an_enrichment_is_told_it_runs(w: World, monkeypatch: pytest.MonkeyPatch):
    """Two calls read the session before either started the run: the second one's write loses (the version
    moved) and it answers EnrichmentRunning, as a later call does (it was ConcurrentUpdate)."""
    _, session = account_session(w)
    stage(w, session.id, *[(1 + i % 28, "-1", f"line {i}", {}) for i in range(SYNC_LIMIT + 1)])
    stale = w.deps.session(w.scope, session.id)
    service = EnrichService(w.deps)
    assert service.enrich(w.scope, session.id).mode == "async"
    reads = iter([stale])
    real = w.deps.session
    monkeypatch.setattr(w.deps, "session", lambda scope, sid: next(reads, None) or real(scope, sid))
    with pytest.raises(Conflict) as lost:
        service.enrich(w.scope, session.id)
    assert lost.value.code == "EnrichmentRunning"


def test_large_enrichment_goes_through_the_state_machine_and_never_sticks(w: World):
    _, session = account_session(w)
    stage(w, session.id, *[(1 + i % 28, "-1", f"line {i}", {}) for i in range(SYNC_LIMIT + 1)])
    service = EnrichService(w.deps)
    started = service.enrich(w.scope, session.id)
    assert started.mode == "async" and started.run_id
    assert w.started()[f"enrich-{started.run_id}"]["runId"] == started.run_id
    with pytest.raises(Conflict):
        service.enrich(w.scope, session.id)
    segments = service.prepare(w.scope, session.id, started.run_id)
    assert segments == [{"start": 0, "end": SYNC_LIMIT + 1}]
    assert w.deps.session(w.scope, session.id).processing == SYNC_LIMIT + 1
    # a failure after prepare: the finish step puts every line back to PENDING and records the error
    outcome = service.finish(w.scope, session.id, started.run_id, {"Error": "States.Timeout"})
    fresh = w.deps.session(w.scope, session.id)
    assert outcome["status"] == "FAILED" and fresh.processing == 0 and fresh.pending == SYNC_LIMIT + 1
    assert fresh.enrichment is None and fresh.last_enrichment["status"] == "FAILED"
    again = service.enrich(w.scope, session.id)
    service.prepare(w.scope, session.id, again.run_id)
    counts = service.enrich_segment(w.scope, session.id, again.run_id, 0, SYNC_LIMIT + 1)
    assert counts["pending"] == SYNC_LIMIT + 1
    assert service.finish(w.scope, session.id, again.run_id)["status"] == "SUCCEEDED"
    assert service.finish(w.scope, session.id, "old-run")["status"] == "STALE"


def test_upload_reads_the_documented_csv_and_marks_ledger_duplicates(w: World):
    account, session = account_session(w)
    w.ledger_line(account.id, "2024-03-05", "-49.90", "NETFLIX.COM")
    csv = b"data,descricao,valor\n05/03/2024,NETFLIX.COM,\"-49,90\"\n06/03/2024,Salario,\"2500,00\"\n"
    result = UploadService(w.deps).upload(w.scope, session.id, csv, "extrato.csv")
    assert result.message == "2 linhas processadas" and result.possible_duplicates == 1
    lines = list(w.deps.repo.lines(w.tenant, w.deps.session(w.scope, session.id)))
    assert [(ln.type, ln.amount) for ln in lines] == [(T.EXPENSE, D("-49.90")), (T.INCOME, D("2500.00"))]
    assert lines[0].data["possible_duplicate"]["duplicate_of"]
    with pytest.raises(ValidationFailed) as empty:
        UploadService(w.deps).upload(w.scope, session.id, b"   ", "x.csv")
    assert empty.value.code == "EmptyFile"


def test_upload_counts_the_pending_entries_and_other_accounts_lines_it_leaves_out(w: World):
    _, session = account_session(w)  # account 12345-6
    statement = json.dumps({"bankAccounts": [
        {"accountIdentifier": "12345-6", "currency": "BRL", "transactions": [
            {"datePosted": "2024-03-05", "amount": "-49.90", "description": "NETFLIX.COM"},
            {"datePosted": "2024-03-06", "amount": "-10.00", "description": "Padaria", "pending": True},
            {"datePosted": "2024-03-07", "amount": "2500.00", "description": "Salario"}]},
        {"accountIdentifier": "99999-9", "currency": "BRL", "transactions": [
            {"datePosted": "2024-03-05", "amount": "-1.00", "description": "Other"}]}]}).encode()
    result = UploadService(w.deps).upload(w.scope, session.id, statement, "statement.json", "JSON#v0")
    assert (result.processed, result.pending_skipped, result.other_account_lines) == (2, 1, 1)
    lines = list(w.deps.repo.lines(w.tenant, w.deps.session(w.scope, session.id)))
    assert sorted(ln.description for ln in lines) == ["NETFLIX.COM", "Salario"]


def test_amounts_finer_than_the_accounts_currency_are_refused_never_rounded_into_the_ledger(w: World):
    account = w.account(currency="BRL")
    session = SessionService(w.deps).create(w.scope, SessionInput(account.id, None, "2024-03"))
    with pytest.raises(ValidationFailed) as finer:
        stage(w, session.id, (2, "-1.00", "ok", {}), (3, "-1.001", "finer", {}))
    assert (finer.value.code, finer.value.target) == ("InvalidAmount", "[1].amount")
    assert "BRL" in finer.value.message and w.deps.session(w.scope, session.id).total == 0  # nothing staged
    (line,) = stage(w, session.id, (2, "-1.50", "ok", {}))
    with pytest.raises(ValidationFailed) as changed:
        StagedService(w.deps).update(w.scope, line.id, StagedChanges(amount=D("-0.0001")))
    assert (changed.value.code, changed.value.target) == ("InvalidAmount", "amount")
    # an upload rejects such a line and stages the others
    csv = b"data,descricao,valor\n05/03/2024,A,-1.00\n06/03/2024,B,-1.005\n"
    result = UploadService(w.deps).upload(w.scope, session.id, csv, "extrato.csv")
    assert (result.processed, result.other_account_lines) == (1, 0)  # the rejected line is no other account's
    assert [(r["line_number"], r["code"], r["field"]) for r in result.rejected] == [(3, "InvalidAmount", "amount")]


def test_a_yen_account_session_commits_whole_yen_in_its_currency(w: World):
    account = w.account(currency="JPY")
    session = SessionService(w.deps).create(w.scope, SessionInput(account.id, None, "2024-03"))
    with pytest.raises(ValidationFailed):
        stage(w, session.id, (2, "-1500.5", "half a yen", {}))
    stage(w, session.id, (2, "-1500", "Ramen", {"data": {"ignore": True}}))  # ready as it is
    assert CommitService(w.deps).commit(w.scope, session.id).committed == 1
    (line,) = w.lines(account.id)
    assert (line.amount, line.currency) == (D("-1500"), "JPY")  # 1500 minor units, not 150000


def test_session_edits_and_deletes(w: World):
    account, session = account_session(w)
    service = SessionService(w.deps)
    updated = service.update(w.scope, session.id, SessionChanges(description="Março", target_value=D("10.5")))
    assert (updated.description, updated.target_value, updated.version) == ("Março", D("10.5"), 1)
    stage(w, session.id, (1, "-1", "x", {}))
    card = CatalogService(w.deps).create(w.scope, "card", {"name": "Visa"})
    with pytest.raises(Conflict):
        service.update(w.scope, session.id, SessionChanges(card_id=card.id))
    assert StagedService(w.deps).delete_all(w.scope, session.id) == 1
    assert service.update(w.scope, session.id, SessionChanges(card_id=card.id)).card_id == card.id
    service.delete(w.scope, session.id)
    assert service.list_all(w.scope) == []


def test_session_events_leave_through_the_outbox_and_its_stream_translator():
    from tests.fakes.store import MemoryStore
    from tximport.services.events import StreamChange, default_translators
    from tximport.storage.sessions import OUTBOX_PREFIX, OutboxSink

    store = MemoryStore()
    OutboxSink(store).publish("ImportSessionCommitted", {"organisationId": "o", "companyId": "c",
                                                         "sessionId": "s", "transactionIds": ["t1"]})
    ((key, item),) = store.items.items()
    assert key[0] == "T#o#c" and key[1].startswith(OUTBOX_PREFIX) and item["expiresAt"] > 0
    change = StreamChange(event_id="e1", sequence_number="1", table="imports", keys={"sk": key[1]}, old=None,
                          new=item)
    (event,) = default_translators().translate(change)
    assert event.detail_type == "ImportSessionCommitted"
    assert event.detail["transactionIds"] == ["t1"] and event.detail["eventId"] == "e1"


def test_concurrent_adds_never_pass_the_session_cap(w: World, monkeypatch: pytest.MonkeyPatch):
    import tximport.services.sessions.staged as staged_module

    monkeypatch.setattr(staged_module, "MAX_LINES_PER_SESSION", 5)
    _, session = account_session(w)
    stage(w, session.id, *[(1, "-1.00", f"line {n}", {}) for n in range(3)])
    stale = w.deps.session(w.scope, session.id)  # what four concurrent calls all read: 3 lines
    monkeypatch.setattr(w.deps, "session", lambda scope, session_id: stale.model_copy(deep=True))
    outcomes = []
    for n in range(4):  # each passes the check on what it read; the store's condition decides
        try:
            stage(w, session.id, (2, "-2.00", f"more {n}", {}))
            outcomes.append("added")
        except ValidationFailed as exc:
            outcomes.append(exc.code)
    assert outcomes == ["added", "added", "SessionFull", "SessionFull"]
    monkeypatch.undo()
    assert w.deps.session(w.scope, session.id).total == 5


def test_an_add_refused_part_way_leaves_no_line(w: World, monkeypatch: pytest.MonkeyPatch):
    import tximport.services.sessions.staged as staged_module
    import tximport.storage.sessions as storage_module

    monkeypatch.setattr(staged_module, "MAX_LINES_PER_SESSION", 5)
    monkeypatch.setattr(storage_module, "LINES_PER_TRANSACTION", 2)
    _, session = account_session(w)
    stage(w, session.id, *[(1, "-1.00", f"line {n}", {}) for n in range(3)])
    stale = w.deps.session(w.scope, session.id)
    stage(w, session.id, (2, "-2.00", "another", {}))  # a concurrent add takes a place
    monkeypatch.setattr(w.deps, "session", lambda scope, session_id: stale.model_copy(deep=True))
    with pytest.raises(ValidationFailed) as refused:  # its first two lines fit, its third does not
        stage(w, session.id, *[(3, "-3.00", f"late {n}", {}) for n in range(3)])
    assert refused.value.code == "SessionFull"
    monkeypatch.undo()
    fresh = w.deps.session(w.scope, session.id)
    assert fresh.total == 4 and len(list(w.deps.repo.lines(w.tenant, fresh))) == 4  # nothing of it stayed


def test_a_card_payment_committed_ignored_takes_no_card_line(w: World):
    """The card's statement line is committed first (a chargeback by the sign rule); a payment the client committed
    IGNORE counts nowhere, so it neither takes that line (nor retypes it) nor is linked: its IGNORE mirror is
    written, as when it comes first."""
    account, paying = account_session(w)
    card, card_sessions = card_session(w, "2024-03")
    stage(w, card_sessions.id, (9, "-500.00", "PAGAMENTO RECEBIDO", {}))
    assert CommitService(w.deps).commit(w.scope, card_sessions.id).committed == 1
    stage(w, paying.id, (8, "-500.00", "Fatura", {"type": T.CARD_PAYMENT,
                                                 "data": {"card_id": card.id, "ignore": True}}))
    assert CommitService(w.deps).commit(w.scope, paying.id).linked == 0
    kinds = sorted((line.session.type.value, line.session.status.value) for line in w.lines(card.id)
                   if line.session is not None)
    assert kinds == [("CARD_CHARGEBACK", "VALIDATING"), ("CARD_PAYMENT", "IGNORE")]


def test_a_line_answers_one_transfer_or_card_payment_committed_apart(w: World):
    """B's statement shows one +100.00 and the card's one -500.00; A and then C each commit a transfer of 100.00 to B,
    and two accounts each a payment of 500.00 to the card, in commits of their own: the first links to the line,
    the second writes its mirror (the money arrived twice; linking both would count it once)."""
    a, from_a = account_session(w)
    c = w.account("Outra", "777")
    from_c = SessionService(w.deps).create(w.scope, SessionInput(c.id, None, "2024-03"))
    b = w.account("Poupanca", "999")
    income = CatalogService(w.deps).create(w.scope, "category", {"name": "c", "type": CategoryType.INCOME})
    received = SessionService(w.deps).create(w.scope, SessionInput(b.id, None, "2024-03"))
    stage(w, received.id, (10, "100.00", "PIX RECEBIDO", {"data": {"category_id": income.id}}))
    assert CommitService(w.deps).commit(w.scope, received.id).committed == 1
    transfer = {"type": T.TRANSFER, "data": {"destination_account_id": b.id}}
    for session in (from_a, from_c):
        stage(w, session.id, (10, "-100.00", "PIX para B", transfer))
    assert [CommitService(w.deps).commit(w.scope, s.id).linked for s in (from_a, from_c)] == [1, 0]
    assert sorted(line.amount for line in w.lines(b.id)) == [D(100), D(100)]
    (b_line,) = [line for line in w.lines(b.id) if line.linked_by]
    (a_line,) = w.lines(a.id)
    assert a_line.session is not None and a_line.session.counterpart_transaction_id == b_line.transaction_id
    assert b_line.linked_by == a_line.transaction_id
    # the card: its statement's payment line first, then two payments committed apart
    card, card_sessions = card_session(w, "2024-03")
    stage(w, card_sessions.id, (9, "-500.00", "PAGAMENTO RECEBIDO", {}))
    CommitService(w.deps).commit(w.scope, card_sessions.id)
    payment = {"type": T.CARD_PAYMENT, "data": {"card_id": card.id}}
    for session in (from_a, from_c):
        stage(w, session.id, (8, "-500.00", "Fatura", payment))
    assert [CommitService(w.deps).commit(w.scope, s.id).linked for s in (from_a, from_c)] == [1, 0]
    kinds = [(line.session.type.value, abs(line.amount)) for line in w.lines(card.id) if line.session]
    assert kinds == [("CARD_PAYMENT", D(500))] * 2  # the statement's line (retyped), and the second's mirror
