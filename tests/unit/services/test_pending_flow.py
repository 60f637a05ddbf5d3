"""Pending lines through the whole flow on fakes (process, review, confirm, commit, complete): OFX pending
transactions and card pre-authorisations of a CSV status column are staged as pending with
`includePending`, skipped and counted without it; the booked line of a later statement replaces its
pending line (linked, never a second ledger line); a pending line never booked within the window is
reported expired."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from tests.fakes.container import FakeContainer
from tests.support.statements import Card, ofx
from tests.unit.services.world import OTHER, World
from tximport.models import Import, LedgerLine

D = Decimal
CARD = "4111********1111"
OFX = "XML#OFX#v1"
CSV = "CSV#mapped#v1"
MAPPING = {"columns": {"date": "Date", "description": "Text", "amount": "Amount", "status": "Status",
                       "bankTransactionId": "Id"}}


def _awaiting(world: World, account: str, content: str, **extra: Any) -> tuple[Import, list[Any]]:
    imp, _ = world.awaiting(content.encode(), account, include_pending=True, **extra)
    page = world.c.review_service.review(world.tenant, imp.id, page_size=100, cursor=None)
    return imp, page.lines


def _finish(world: World, imp: Import) -> Import:
    world.c.import_service.confirm(world.tenant, imp.id)
    for chunk in world.c.workflow.begin_commit(world.get(imp.id)):
        world.c.commit.commit_chunk(world.get(imp.id), chunk)
    world.c.commit.refresh_balances(world.get(imp.id))
    world.c.workflow.complete(world.get(imp.id))
    return world.get(imp.id)


def _ledger(c: FakeContainer, world: World, account: str) -> list[LedgerLine]:
    return c.ledger.all(world.tenant, account)


def _balance(c: FakeContainer, world: World, account: str) -> Decimal | None:
    page = c.ledger_queries.page_with_balances(world.tenant, account, limit=50, cursor=None)
    assert page.balance is not None
    return page.balance.amount


def test_an_ofx_pending_card_line_is_replaced_by_its_booked_line_and_a_hold_never_booked_expires(
        c: FakeContainer, world: World):
    account = world.account(CARD)
    first = ofx(CARD, [Card(date(2024, 3, 1), D("-5.00"), "BAKERY", "B1")], [
        Card(date(2024, 3, 2), D("-9.99"), "COFFEE BAR"),
        Card(date(2024, 3, 2), D("-40.00"), "HOTEL PREAUTH")], closing=D("-5.00"), day=date(2024, 3, 2))
    imp, rows = _awaiting(world, account, first, file_format=OFX)
    assert sorted((r.row.amount, r.row.pending) for r in rows) == [
        (D("-40.00"), True), (D("-9.99"), True), (D("-5.00"), False)]
    assert [s.checks for s in imp.statements] == [[]], "pending lines stay out of the statement's arithmetic"
    _finish(world, imp)
    pending_id = next(x.transaction_id for x in _ledger(c, world, account) if x.amount == D("-9.99"))
    assert _balance(c, world, account) == D("-5.00")
    page = c.ledger_queries.page_with_balances(world.tenant, account, limit=50, cursor=None)
    # newest first: the two pending lines of 03-02 leave the balance as the bakery line left it
    assert [(x.pending, r) for x, r in zip(page.lines, page.running, strict=True)] == [
        (True, D("-5.00")), (True, D("-5.00")), (False, D("-5.00"))]

    # booked two days later, with a FITID now and a longer text; the hotel hold is still pending
    second = ofx(CARD, [Card(date(2024, 3, 4), D("-9.99"), "COFFEE BAR BERLIN", "B2")],
                 [Card(date(2024, 3, 2), D("-40.00"), "HOTEL PREAUTH")], closing=D("-14.99"), day=date(2024, 3, 4))
    nxt, rows = _awaiting(world, account, second, file_format=OFX)
    booked = next(r for r in rows if not r.row.pending)
    assert booked.row.replaces_pending_id == pending_id and booked.decision == "import"
    hold = next(r for r in rows if r.row.pending)
    assert hold.decision == "skip" and hold.row.duplicate_of is not None, "the same hold again is no new line"
    assert [s.checks for s in nxt.statements] == [[]]
    _finish(world, nxt)
    ledger = {x.transaction_id: x for x in _ledger(c, world, account)}
    assert ledger[pending_id].replaced_by == booked.row.transaction_id
    assert ledger[booked.row.transaction_id].replaces_pending_id == pending_id
    coffees = [x for x in ledger.values() if x.amount == D("-9.99")]
    assert [(x.pending, x.replaced_by is not None) for x in coffees if not x.pending] == [(False, False)]
    assert len(coffees) == 2 and _balance(c, world, account) == D("-14.99"), "booked lines only, counted once"

    # nothing books the hotel hold: a statement beyond the window reports it expired
    late = ofx(CARD, [Card(date(2024, 3, 20), D("-1.00"), "FEE", "B3")], [], closing=D("-15.99"),
               day=date(2024, 3, 20))
    last, _ = _awaiting(world, account, late, file_format=OFX)
    (expired,) = [d for d in last.error_details if d.code == "PendingExpired"]
    assert expired.severity == "info" and "-40.00" in expired.message


def test_without_include_pending_ofx_pending_lines_are_skipped_and_counted(world: World):
    account = world.account(CARD)
    text = ofx(CARD, [Card(date(2024, 3, 1), D("-5.00"), "BAKERY", "B1")], [
        Card(date(2024, 3, 2), D("-9.99"), "COFFEE BAR"), Card(date(2024, 3, 2), D("-40.00"), "HOTEL")],
        closing=D("-5.00"), day=date(2024, 3, 2))
    imp, _ = world.awaiting(text.encode(), account, file_format=OFX)
    (note,) = [d for d in imp.error_details if d.code == "PendingEntriesSkipped"]
    assert note.severity == "info" and note.message.startswith("2 pending")
    page = world.c.review_service.review(world.tenant, imp.id, page_size=10, cursor=None)
    assert [line.row.amount for line in page.lines] == [D("-5.00")]


def test_an_unreadable_pending_entry_is_left_out_like_the_others_unless_pending_lines_are_imported(world: World):
    account = world.account(CARD)
    text = ofx(CARD, [Card(date(2024, 3, 1), D("-5.00"), "BAKERY", "B1")], [
        Card(date(2024, 3, 2), D("-9.99"), "COFFEE BAR"), Card(date(2024, 3, 3), D("-40.00"), "HOTEL")],
        closing=D("-5.00"), day=date(2024, 3, 3)).replace("<DTTRAN>20240303120000</DTTRAN>", "<DTTRAN>soon</DTTRAN>")
    imp, _ = world.awaiting(text.encode(), account, file_format=OFX)
    assert [d.code for d in imp.error_details if d.severity == "error"] == []
    (note,) = [d for d in imp.error_details if d.code == "PendingEntriesSkipped"]
    assert note.message.startswith("2 pending") and imp.summary and imp.summary.rejected_line_count == 0
    # imported with its pending lines (by another tenant), it is a rejected line with the tag at fault
    other = World(world.c, OTHER)
    imp, _ = other.awaiting(text.encode(), other.account(CARD), file_format=OFX, include_pending=True)
    assert imp.summary and imp.summary.rejected_line_count == 1
    page = world.c.review_service.error_details(OTHER, imp.id, page_size=10, cursor=None)
    assert [(d.code, d.target, d.line_number) for d in page.details if d.severity == "error"] == [
        ("InvalidDate", "STMTTRNP/DTTRAN", 9)]


def test_a_csv_card_pre_authorisation_becomes_booked_without_a_duplicate(c: FakeContainer, world: World):
    account = world.account()
    # the bank keeps the card line's id from pre-authorisation to booking, day, amount and text alike
    first = ("Date,Text,Amount,Status,Id\n2024-03-01,CARD 1234 BAKERY,-3.50,Booked,T1\n"
             "2024-03-02,CARD 1234 FUEL STATION,-61.20,Pre-authorisation,T2\n"
             "2024-03-02,CARD 1234 CINEMA,-12.00,Vorgemerkt,\n")
    imp, rows = _awaiting(world, account, first, file_format=CSV, mapping=MAPPING)
    assert sorted((r.row.amount, r.row.pending) for r in rows) == [
        (D("-61.20"), True), (D("-12.00"), True), (D("-3.50"), False)]
    _finish(world, imp)
    by_amount = {x.amount: x.transaction_id for x in _ledger(c, world, account)}

    second = ("Date,Text,Amount,Status,Id\n2024-03-02,CARD 1234 FUEL STATION,-61.20,Gebucht,T2\n"
              "2024-03-05,CARD 1234 CINEMA KARLSRUHE,-12.00,Posted,\n")
    nxt, rows = _awaiting(world, account, second, file_format=CSV, mapping=MAPPING)
    links = {r.row.amount: (r.row.replaces_pending_id, r.decision, r.row.possible_duplicate) for r in rows}
    assert links == {D("-61.20"): (by_amount[D("-61.20")], "import", False),
                     D("-12.00"): (by_amount[D("-12.00")], "import", False)}
    _finish(world, nxt)
    ledger = _ledger(c, world, account)
    pending = {x.transaction_id: x for x in ledger if x.pending}
    booked = {x.transaction_id: x for x in ledger if not x.pending}
    assert sorted(x.amount for x in booked.values()) == [D("-61.20"), D("-12.00"), D("-3.50")]
    assert sorted(pending) == sorted([by_amount[D("-61.20")], by_amount[D("-12.00")]])
    for line in pending.values():  # each pending line stays, linked both ways to the line that booked it
        assert line.replaced_by in booked and booked[line.replaced_by].replaces_pending_id == line.transaction_id
    assert _balance(c, world, account) == D("-76.70")


def test_a_json_pending_line_is_booked_by_the_next_import(c: FakeContainer, world: World):
    account = world.account()

    def doc(*lines: tuple[str, str, str, bool]) -> str:
        import json
        return json.dumps({"transactions": [{"datePosted": d, "amount": a, "description": t, "pending": p}
                                            for d, a, t, p in lines]})

    imp, _ = _awaiting(world, account, doc(("2024-03-02", "-9.99", "COFFEE BAR", True)), file_format="JSON#v0")
    _finish(world, imp)
    (pending,) = _ledger(c, world, account)
    nxt, rows = _awaiting(world, account, doc(("2024-03-03", "-9.99", "COFFEE BAR", False)), file_format="JSON#v0")
    assert [r.row.replaces_pending_id for r in rows] == [pending.transaction_id]
    _finish(world, nxt)
    assert [x.replaced_by is not None for x in _ledger(c, world, account) if x.pending] == [True]
