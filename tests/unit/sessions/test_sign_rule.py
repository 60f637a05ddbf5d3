"""A staged line's sign agrees with its type (the user guide's "Regra de sinais"), however the line gets its type:
staged, changed, bound or enriched; on in-memory fakes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests.unit.sessions.world import World
from tximport.errors import ValidationFailed
from tximport.services.sessions.bind import BindService
from tximport.services.sessions.catalog import CatalogService
from tximport.services.sessions.enrich import EnrichService
from tximport.services.sessions.sessions import SessionService
from tximport.services.sessions.staged import StagedService
from tximport.sessions.commands import BindRequest, SessionInput, StagedChanges, StagedInput
from tximport.sessions.models import (
    CategoryType,
    ImportSession,
    StagedTransaction,
    StagedTransactionStatus,
    StagedTransactionType,
)

T = StagedTransactionType
S = StagedTransactionStatus
D = Decimal


@pytest.fixture()
def w() -> World:
    return World()


def account_session(w: World, account_id: str | None = None) -> tuple[str, ImportSession]:
    account_id = account_id or w.account().id
    return account_id, SessionService(w.deps).create(w.scope, SessionInput(account_id, None, "2024-03"))


def card_session(w: World) -> ImportSession:
    card = CatalogService(w.deps).create(w.scope, "card", {"name": "Visa Gold"})
    return SessionService(w.deps).create(w.scope, SessionInput(None, card.id, "2024-03"))


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


@pytest.mark.parametrize(("context", "kind", "amount"), [
    ("account", T.EXPENSE, "5"), ("account", T.INCOME, "-7"),
    ("card", T.CARD_EXPENSE, "-5"), ("card", T.CARD_CHARGEBACK, "5")])
def test_a_line_whose_sign_contradicts_its_type_is_refused_and_the_batch_with_it(w: World, context: str, kind: T,
                                                                                 amount: str):
    """User guide, "Regra de sinais": account + INCOME, - EXPENSE; card + CARD_EXPENSE, - CARD_CHARGEBACK. A
    contradiction was staged as sent and booked with the type's sign (+5 staged, -5.00 in the ledger)."""
    session = account_session(w)[1] if context == "account" else card_session(w)
    fine = T.EXPENSE if context == "account" else T.CARD_CHARGEBACK
    code, target = refused(lambda: stage(w, session.id, (2, "-1", "fine", {"type": fine}),
                                         (3, amount, "contradiction", {"type": kind})))
    assert (code, target) == ("SignMismatch", "[1].amount")
    assert w.deps.session(w.scope, session.id).total == 0  # all or nothing


def test_types_the_guide_gives_no_sign_keep_either_sign(w: World):
    """TRANSFER (its sign gives its direction), CARD_PAYMENT and the investment types: the guide states no sign
    for them, so both are staged as before."""
    other = w.account("Poupanca", "999").id
    _, session = account_session(w)
    lines = stage(w, session.id, *[(2, amount, kind.value, {"type": kind, "data": data}) for amount in ("-10", "10")
                                   for kind, data in [(T.TRANSFER, {"destination_account_id": other,
                                                                    "source_account_id": other}),
                                                      (T.CARD_PAYMENT, {}), (T.INVESTMENT_DEPOSIT, {}),
                                                      (T.INVESTMENT_WITHDRAWAL, {})]])
    assert len(lines) == 8


def test_a_change_that_would_contradict_the_sign_is_refused_and_changes_nothing(w: World):
    _, session = account_session(w)
    (line,) = stage(w, session.id, (2, "-5", "Cafe", {"data": {"category_id": category(w)}}))
    assert refused(lambda: update(w, line.id, amount=D("5"))) == ("SignMismatch", "amount")
    assert refused(lambda: update(w, line.id, type=T.INCOME)) == ("SignMismatch", "type")
    assert refused(lambda: update(w, line.id, amount=D("5"), description="x")) == ("SignMismatch", "amount")
    kept = StagedService(w.deps).get(w.scope, line.id)
    assert (kept.amount, kept.type, kept.description, kept.version) == (D("-5"), T.EXPENSE, "Cafe", 0)
    # both at once, agreeing: a refund
    income = category(w, CategoryType.INCOME)
    refund = update(w, line.id, amount=D("5"), type=T.INCOME, data={"category_id": income})
    assert (refund.amount, refund.type, refund.status) == (D("5"), T.INCOME, S.READY)


def test_bind_never_gives_a_line_a_type_its_sign_contradicts(w: World):
    """A recurring expense bound to money in (+49.90) made it an EXPENSE of +49.90, booked -49.90; enrichment no
    longer suggests that binding either."""
    account_id, session = account_session(w)
    catalog = CatalogService(w.deps)
    netflix = catalog.create_recurring(w.scope, {"type": "expense", "description": "Netflix", "amount": "49.90",
                                                 "account_id": account_id, "category_id": category(w),
                                                 "start_date": "2024-01-06"})
    (line,) = stage(w, session.id, (6, "49.90", "NETFLIX", {}))
    assert refused(lambda: BindService(w.deps).bind(w.scope, session.id, [BindRequest(line.id, netflix.id)])) == \
        ("SignMismatch", "[0].recurring_transaction_id")
    assert StagedService(w.deps).get(w.scope, line.id).type == T.INCOME
    assert EnrichService(w.deps).enrich(w.scope, session.id).suggested_bindings == 0


def test_an_enrichment_rule_never_gives_a_line_a_type_its_sign_contradicts(w: World):
    _, session = account_session(w)
    CatalogService(w.deps).create(w.scope, "rule", {"name": "cafe", "description_contains": "cafe",
                                                    "set_type": T.EXPENSE, "category_id": category(w)})
    spent, given_back = stage(w, session.id, (2, "-3.50", "CAFE", {}), (3, "3.50", "CAFE ESTORNO", {}))
    EnrichService(w.deps).enrich(w.scope, session.id)
    service = StagedService(w.deps)
    assert service.get(w.scope, spent.id).type == T.EXPENSE
    assert service.get(w.scope, given_back.id).type == T.INCOME
