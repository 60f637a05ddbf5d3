"""A close racing another session's commit into the same card invoice (on the in-memory fakes, the race
injected at the exact step): one of the two loses with a 409 and changes nothing, and a paid invoice never
takes lines."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests.unit.sessions.world import World
from tximport.errors import Conflict, ValidationFailed
from tximport.models import LedgerLine, Tenant
from tximport.services.sessions.catalog import CatalogService
from tximport.services.sessions.commit import CommitService
from tximport.services.sessions.sessions import SessionService
from tximport.services.sessions.staged import StagedService
from tximport.sessions.commands import SessionInput, StagedInput
from tximport.sessions.models import ImportSession, InvoiceStatus, TransactionStatus

D = Decimal
MONTH = "2024-03"


@pytest.fixture()
def w() -> World:
    return World()


def two_sessions(w: World, month: str = MONTH) -> tuple[str, ImportSession, ImportSession]:
    """A card whose invoice one session committed 10.00 to (to be closed), and another session holding three
    READY lines of 100.00 (to be committed)."""
    card = CatalogService(w.deps).create(w.scope, "card", {"name": "Visa"})
    category = CatalogService(w.deps).create(w.scope, "category", {"name": "Compras", "type": "EXPENSE"})
    closing, committing = (SessionService(w.deps).create(w.scope, SessionInput(None, card.id, month))
                           for _ in range(2))
    staged = StagedService(w.deps)
    line = {"transaction_date": date(2024, 3, 5), "description": "Loja", "data": {"category_id": category.id}}
    staged.add(w.scope, closing.id, [StagedInput(amount=D(10), **line)])  # type: ignore[arg-type]
    staged.add(w.scope, committing.id, [StagedInput(amount=D(100), **line) for _ in range(3)])  # type: ignore[arg-type]
    CommitService(w.deps).commit(w.scope, closing.id)
    return card.id, closing, committing


def invoice_expenses(w: World, card_id: str, month: str = MONTH) -> Decimal:
    return w.ledger.invoice_sums(w.tenant, card_id, month).card_expense


def statuses(w: World, card_id: str) -> list[TransactionStatus]:
    return sorted(line.session.status for line in w.lines(card_id) if line.session is not None)


def before(w: World, name: str, target: Any, run: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> None:
    """Run `run` once, just before the first call of `target.name`."""
    original = getattr(target, name)
    done: list[bool] = []

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not done:
            done.append(True)
            run()
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, wrapped)


def test_a_close_that_pays_the_invoice_first_stops_the_commit_before_it_writes(w: World,
                                                                               monkeypatch: pytest.MonkeyPatch):
    card_id, closing, committing = two_sessions(w)
    closed: list[Any] = []
    # Given the commit has read the invoice OPEN, when the close pays it before the commit holds it
    before(w, "hold_invoice", w.deps.catalog,
           lambda: closed.append(CommitService(w.deps).close(w.admin, closing.id)), monkeypatch)
    with pytest.raises(Conflict) as lost:
        CommitService(w.deps).commit(w.scope, committing.id)
    # Then the commit loses with 409 and writes nothing: the paid invoice keeps the 10.00 it was paid at
    assert (lost.value.status_code, lost.value.code) == (409, "InvoiceNotOpen")
    assert closed[0].invoice_status == InvoiceStatus.PAID
    assert invoice_expenses(w, card_id) == D(10) and statuses(w, card_id) == [TransactionStatus.PAID]
    assert w.deps.session(w.scope, committing.id).ready == 3  # its lines are still staged
    # and the session left behind is closed without writing anything
    settled = CommitService(w.deps).close(w.admin, committing.id)
    assert (settled.invoice_settled_elsewhere, settled.discarded_ready, settled.paid) == (True, 3, 0)
    assert invoice_expenses(w, card_id) == D(10)


def losing_close(w: World, session_id: str, refused: list[Conflict]) -> Callable[[], None]:
    """A close of `session_id` that must lose with a Conflict, kept in `refused`."""
    def close() -> None:
        with pytest.raises(Conflict) as lost:
            CommitService(w.deps).close(w.admin, session_id)
        refused.append(lost.value)

    return close


def test_a_close_during_the_commits_write_loses_and_changes_nothing(w: World, monkeypatch: pytest.MonkeyPatch):
    card_id, closing, committing = two_sessions(w)
    refused: list[Conflict] = []
    close = losing_close(w, closing.id, refused)

    # Given the commit holds the invoice, when the close runs while its lines are being written
    before(w, "write", w.deps.ledger, close, monkeypatch)
    assert CommitService(w.deps).commit(w.scope, committing.id).committed == 3
    # Then the close loses with 409 and changes nothing: invoice OPEN, lines VALIDATING, session kept
    assert (refused[0].status_code, refused[0].code) == (409, "InvoiceBusy")
    assert CatalogService(w.deps).invoice(w.scope, card_id, MONTH).status == InvoiceStatus.OPEN
    assert statuses(w, card_id) == [TransactionStatus.VALIDATING] * 4
    assert w.deps.session(w.scope, closing.id).id == closing.id
    # and once the commit is done, the close pays all four lines it reviewed
    assert CommitService(w.deps).close(w.admin, closing.id).paid == 4
    assert statuses(w, card_id) == [TransactionStatus.PAID] * 4 and invoice_expenses(w, card_id) == D(310)


def test_racing_threads_never_leave_lines_validating_in_a_paid_invoice(w: World, monkeypatch: pytest.MonkeyPatch):
    """The two calls in two threads, the ledger slowed so the windows overlap, many times over."""
    original = w.deps.ledger.write
    gate = threading.Event()

    def slow_write(tenant: Tenant, lines: Iterable[LedgerLine], *, refresh: bool = True) -> int:
        gate.wait(0.002)
        return original(tenant, lines, refresh=refresh)

    monkeypatch.setattr(w.deps.ledger, "write", slow_write)
    for number in range(1, 13):
        month = f"2023-{number:02d}"
        card_id, closing, committing = two_sessions(w, month)
        outcomes = race({"close": lambda s=closing: CommitService(w.deps).close(w.admin, s.id),
                         "commit": lambda s=committing: CommitService(w.deps).commit(w.scope, s.id)})
        paid = CatalogService(w.deps).invoice(w.scope, card_id, month).status == InvoiceStatus.PAID
        if paid:  # the close won: nothing of the commit is in the paid invoice
            assert statuses(w, card_id) == [TransactionStatus.PAID], outcomes
        else:  # the commit won: the close changed nothing
            assert isinstance(outcomes["close"], Conflict) and outcomes["close"].status_code == 409, outcomes
            assert statuses(w, card_id) == [TransactionStatus.VALIDATING] * 4, outcomes
        assert invoice_expenses(w, card_id, month) == (D(10) if paid else D(310)), outcomes


def race(calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run the calls in threads at once; answers what each returned or raised (a 409, or 400 InvoiceNotOpen
    when the close was done before the commit began)."""
    outcomes: dict[str, Any] = {}

    def run(name: str) -> None:
        try:
            outcomes[name] = calls[name]()
        except (Conflict, ValidationFailed) as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=run, args=(name,)) for name in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return outcomes


def paying_session(w: World, card_id: str) -> ImportSession:
    """An account session holding a READY card payment of 10.00 into the card's invoice of MONTH."""
    account = w.account()
    session = SessionService(w.deps).create(w.scope, SessionInput(account.id, None, MONTH))
    StagedService(w.deps).add(w.scope, session.id, [StagedInput(
        transaction_date=date(2024, 3, 20), description="Fatura", amount=D(-10), type="CARD_PAYMENT",  # type: ignore[arg-type]
        data={"card_id": card_id})])
    return session


def test_a_close_that_pays_the_invoice_first_stops_an_account_commit_paying_into_it(
        w: World, monkeypatch: pytest.MonkeyPatch):
    card_id, closing, _ = two_sessions(w)
    paying = paying_session(w, card_id)
    # Given the account commit has read the invoice OPEN, when the card close pays it before the commit holds it
    before(w, "hold_invoice", w.deps.catalog, lambda: CommitService(w.deps).close(w.admin, closing.id), monkeypatch)
    with pytest.raises(Conflict) as lost:
        CommitService(w.deps).commit(w.scope, paying.id)
    # Then the commit loses with 409 and the paid invoice takes no payment
    assert (lost.value.status_code, lost.value.code) == (409, "InvoiceNotOpen")
    assert w.ledger.invoice_sums(w.tenant, card_id, MONTH).card_payment == 0
    assert w.deps.session(w.scope, paying.id).ready == 1
    # and committing again is the 400 naming the line and the field that says which invoice it pays
    with pytest.raises(ValidationFailed) as refused:
        CommitService(w.deps).commit(w.scope, paying.id)
    assert (refused.value.code, refused.value.target) == ("InvoicePaid", "data.billing_month")


def test_a_close_during_an_account_commit_paying_into_the_invoice_loses(w: World, monkeypatch: pytest.MonkeyPatch):
    card_id, closing, _ = two_sessions(w)
    paying = paying_session(w, card_id)
    refused: list[Conflict] = []
    close = losing_close(w, closing.id, refused)

    before(w, "write", w.deps.ledger, close, monkeypatch)
    assert CommitService(w.deps).commit(w.scope, paying.id).committed == 1
    assert (refused[0].status_code, refused[0].code) == (409, "InvoiceBusy")
    assert CatalogService(w.deps).invoice(w.scope, card_id, MONTH).status == InvoiceStatus.OPEN
    assert w.ledger.invoice_sums(w.tenant, card_id, MONTH).card_payment == D(10)
