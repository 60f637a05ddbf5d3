"""The reconciliation use cases on in-memory fakes: create, the workflow's steps, queries, pages with
overrides, manual match and unmatch, re-run, failure."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.unit.reconciliation.conftest import ACCOUNT, TENANT, World, doc_entries, doc_lines, ledger_line, request
from tximport.models import ReconciliationMark
from tximport.reconciliation.commands import ListFilter
from tximport.reconciliation.errors import Clash, Invalid, Missing, Unprocessable
from tximport.reconciliation.ids import entry_id, statement_id
from tximport.reconciliation.models import (
    MAX_ENTRIES,
    Direction,
    Entry,
    MatchStatus,
    ReconciliationStatus,
    StatementLine,
)
from tximport.services.reconciliations.create import CHUNK_SIZE
from tximport.storage import keys

ALL_STATUSES = (MatchStatus.MATCHED, MatchStatus.UNMATCHED, MatchStatus.MANUAL)


def one(day: date) -> Entry:
    return Entry(0, Direction.DEBIT, Decimal("1.00"), "x", day)


def test_create_answers_processing_with_the_documents_totals(world: World):
    rec = world.create(TENANT, request())
    assert rec.status == ReconciliationStatus.PROCESSING
    assert (rec.counts.total_entries, rec.counts.matched_entries, rec.counts.unmatched_entries) == (3, 0, 3)
    assert rec.counts.total_amount == Decimal("23000.00") == rec.counts.unmatched_amount
    assert rec.currency == "BRL"
    assert world.started == [(rec.id, 1)]
    assert world.c.reconciliation_store.get(TENANT, rec.id).runs == 1  # saved PROCESSING for run 1 before it started
    # the entries are staged in S3 (never in the workflow payload), readable as the first page
    _, records, total = world.queries.entries_page(TENANT, rec.id, None, 1, 20)
    assert total == 3 and [r.external_ref for r in records] == ["ERP-PAG-12345", "ERP-REC-67890", "ERP-PAG-11111"]


@pytest.mark.parametrize(("start", "end", "entries", "error", "field"), [
    (date(2024, 1, 31), date(2024, 1, 1), None, Unprocessable, "periodEnd"),
    (date(2024, 1, 1), date(2024, 3, 31), None, Unprocessable, "periodEnd"),  # 91 days
    (date(2024, 1, 1), date(2024, 1, 31), [], Unprocessable, "entries"),
    (date(2024, 1, 1), date(2024, 1, 11), None, Invalid, "entries[1].transactionDate"),
])
def test_create_refuses_bad_periods_and_entries(world: World, start, end, entries, error, field):
    with pytest.raises(error) as caught:
        world.create(TENANT, request(entries, start, end))
    assert caught.value.details["field"] == field
    assert not world.started


def test_ninety_days_is_allowed_and_too_many_entries_are_not(world: World):
    assert world.create(TENANT, request(start=date(2024, 1, 1), end=date(2024, 3, 30))).status.value == "PROCESSING"
    many = [Entry(i, Direction.DEBIT, Decimal("1"), "x", date(2024, 5, 1)) for i in range(MAX_ENTRIES + 1)]
    with pytest.raises(Unprocessable, match="at most"):
        world.create(TENANT, request(many, date(2024, 5, 1), date(2024, 5, 2)))


def test_an_unknown_account_is_not_found(world: World):
    with pytest.raises(Missing) as caught:
        world.create(TENANT, request(account="nope"))
    assert caught.value.details == {"field": "accountId"}


def test_overlapping_periods_conflict_but_a_failed_one_blocks_nothing(world: World):
    first = world.create(TENANT, request())
    with pytest.raises(Clash) as caught:
        world.create(TENANT, request([one(date(2024, 2, 1))], date(2024, 1, 31), date(2024, 2, 10)))
    assert caught.value.details["conflictingReconciliationId"] == first.id
    # adjacent periods do not overlap (they share no day)
    assert world.create(TENANT, request([one(date(2024, 2, 1))], date(2024, 2, 1), date(2024, 2, 5)))
    world.run.fail(TENANT, first.id, {"Error": "States.Timeout"})
    again = world.create(TENANT, request([one(date(2024, 1, 25))], date(2024, 1, 20), date(2024, 1, 31)))
    assert again.status == ReconciliationStatus.PROCESSING


def test_a_workflow_that_cannot_start_leaves_the_reconciliation_failed(world: World):
    world.c.reconcile_engine.refuse_starts = True
    rec = world.create(TENANT, request())
    assert rec.status == ReconciliationStatus.FAILED
    assert "could not start" in rec.failure_reason
    assert world.create(TENANT, request(entries=doc_entries())).status == ReconciliationStatus.FAILED  # no 409


def test_the_workflow_matches_and_settles_partially(world: World):
    world.add_lines(*doc_lines())
    rec = world.create(TENANT, request())
    world.settle(rec.id)
    rec = world.queries.get(TENANT, rec.id)
    assert rec.status == ReconciliationStatus.PARTIALLY_MATCHED
    assert (rec.counts.matched_entries, rec.counts.unmatched_entries) == (2, 1)
    assert (rec.counts.matched_amount, rec.counts.unmatched_amount) == (Decimal("20000.00"), Decimal("3000.00"))
    assert rec.completed is not None
    # the ledger read was the days with lines in the period widened by the date window: O(days)
    assert world.c.ledger.reads == 3
    _, unmatched, total = world.queries.entries_page(TENANT, rec.id, MatchStatus.UNMATCHED, 1, 20)
    assert total == 1 and unmatched[0].description == "Pagamento fornecedor XYZ"
    _, matched, _ = world.queries.entries_page(TENANT, rec.id, MatchStatus.MATCHED, 1, 20)
    assert [(r.rule.value, r.line) for r in matched] == [("EXACT_REFERENCE", doc_lines()[0].transaction_id),
                                                          ("SCORED", doc_lines()[1].transaction_id)]
    # the matched ledger lines carry the entry that holds them
    assert world.mark(doc_lines()[1].transaction_id) == ReconciliationMark(rec.id, entry_id(rec.id, 1), "MATCHED")
    assert world.mark(doc_lines()[2].transaction_id) is None


def test_every_entry_matched_is_completed(world: World):
    lines = doc_lines()
    lines[2] = StatementLine("2024-01-15-" + "d" * 32, Direction.DEBIT, Decimal("3000.00"), date(2024, 1, 15),
                             "PAGAMENTO FORNECEDOR XYZ", "BRL")
    world.add_lines(*lines)
    rec = world.create(TENANT, request())
    world.settle(rec.id)
    assert world.queries.get(TENANT, rec.id).status == ReconciliationStatus.COMPLETED


def test_a_stale_run_stops_and_a_failure_is_recorded(world: World):
    rec = world.create(TENANT, request())
    assert world.run.begin(TENANT, rec.id, 7) == "stop"
    world.run.fail(TENANT, rec.id, {"Error": "Lambda.Unknown", "Cause": '{"errorMessage": "boom", '
                                                                      '"errorType": "KeyError"}'})
    failed = world.queries.get(TENANT, rec.id)
    assert failed.status == ReconciliationStatus.FAILED and failed.failure_reason == "boom (KeyError)"
    assert world.run.match(TENANT, rec.id, 1) == {"outcome": "stop"}


def test_lines_held_by_another_live_reconciliation_are_not_taken(world: World):
    line = StatementLine("2024-02-01-" + "e" * 32, Direction.DEBIT, Decimal("10.00"), date(2024, 2, 1), "CAFE", "BRL")
    world.add_lines(line)
    first = world.create(TENANT, request([Entry(0, Direction.DEBIT, Decimal("10.00"), "Cafe", date(2024, 1, 31))]))
    world.settle(first.id)
    second = world.create(TENANT, request([Entry(0, Direction.DEBIT, Decimal("10.00"), "Cafe", date(2024, 2, 1))],
                                          date(2024, 2, 1), date(2024, 2, 28)))
    world.settle(second.id)
    assert world.queries.get(TENANT, first.id).counts.matched_entries == 1
    assert world.queries.get(TENANT, second.id).counts.matched_entries == 0


def _many(n: int, start: date = date(2024, 1, 1)) -> tuple[list[Entry], list[StatementLine]]:
    entries, lines = [], []
    for i in range(n):
        day = start + timedelta(days=i % 28)
        amount = Decimal(100 + i).scaleb(-2) + 7
        entries.append(Entry(i, Direction.DEBIT, amount, f"Pedido {i}", day, f"PED-{i:05d}"))
        if i % 3:  # every third entry has no line: UNMATCHED
            lines.append(StatementLine(f"{day.isoformat()}-{i:032x}", Direction.DEBIT, amount, day, f"PED-{i:05d}",
                                       "BRL"))
    return entries, lines


def test_pages_read_only_the_chunks_they_touch_and_agree_with_a_full_listing(world: World):
    entries, lines = _many(2500)
    world.add_lines(*lines)
    rec = world.create(TENANT, request(entries))
    world.settle(rec.id)
    rec = world.queries.get(TENANT, rec.id)
    assert rec.results.chunk_size == CHUNK_SIZE
    assert rec.counts.unmatched_entries == 834 and rec.counts.matched_entries == 1666
    world.c.objects.reads.clear()
    _, page, total = world.queries.entries_page(TENANT, rec.id, MatchStatus.UNMATCHED, 5, 100)
    assert total == 834 and [r.index for r in page] == [i for i in range(2500) if i % 3 == 0][400:500]
    assert len(world.c.objects.reads) <= 2  # one or two chunks, whatever the reconciliation's size
    every = []
    for number in range(1, 10):
        every += [r.index for r in world.queries.entries_page(TENANT, rec.id, MatchStatus.UNMATCHED, number, 100)[1]]
    assert every == [i for i in range(2500) if i % 3 == 0]


def test_a_manual_match_finds_the_line_by_its_statement_uuid_in_any_case_and_by_the_bare_digest(world: World):
    entries, lines = _many(30)
    spares = [StatementLine(f"2024-01-0{day}-{digit * 32}", Direction.DEBIT, Decimal("9.99"), date(2024, 1, day), "X",
                            "BRL") for day, digit in ((5, "f"), (6, "e"), (7, "d"))]
    world.add_lines(*lines, *spares)
    rec = world.create(TENANT, request(entries))
    world.settle(rec.id)
    named = [statement_id(spares[0].transaction_id),
             statement_id(spares[1].transaction_id).upper(),
             str(uuid.UUID(hex="d" * 32))]  # a statement UUID as answers wrote it before it had a version
    for index, (statement, spare) in enumerate(zip(named, spares, strict=True)):
        manual = world.manual.match(TENANT, rec.id, entry_id(rec.id, index * 3), statement)
        assert (manual.status, manual.line) == (MatchStatus.MANUAL, spare.transaction_id)
    with pytest.raises(Missing):  # a UUID no line of the window gives
        world.manual.match(TENANT, rec.id, entry_id(rec.id, 9), str(uuid.UUID(hex="c" * 32)))


def test_manual_match_and_unmatch_stay_consistent_with_pages_and_counts(world: World):
    entries, lines = _many(2500)
    world.add_lines(*lines)
    spare = StatementLine("2024-01-05-" + "f" * 32, Direction.DEBIT, Decimal("9.99"), date(2024, 1, 5), "X", "BRL")
    world.add_lines(spare)
    rec = world.create(TENANT, request(entries))
    world.settle(rec.id)
    # match entry 3 (UNMATCHED) by hand, by the line's statement UUID; unmatch entry 1 (MATCHED); move entry 2's
    # match by hand onto the spare line
    manual = world.manual.match(TENANT, rec.id, entry_id(rec.id, 3), statement_id(spare.transaction_id))
    assert (manual.status, manual.rule.value, manual.line) == (MatchStatus.MANUAL, "MANUAL", spare.transaction_id)
    assert manual.amount_delta == Decimal("9.99") - entries[3].amount
    unmatched = world.manual.unmatch(TENANT, rec.id, entry_id(rec.id, 1))
    assert unmatched.status == MatchStatus.UNMATCHED and unmatched.reason == "unmatched by hand"
    with pytest.raises(Clash):  # the spare line is held by entry 3 now
        world.manual.match(TENANT, rec.id, entry_id(rec.id, 2), spare.transaction_id)
    world.manual.match(TENANT, rec.id, entry_id(rec.id, 2), lines[0].transaction_id)  # entry 1's old line
    assert world.mark(lines[1].transaction_id) is None  # entry 2's old line is free
    assert world.mark(lines[0].transaction_id) == ReconciliationMark(rec.id, entry_id(rec.id, 2), "MANUAL")
    rec = world.queries.get(TENANT, rec.id)
    assert (rec.counts.matched_entries, rec.counts.manual_entries, rec.counts.unmatched_entries) == (1666, 2, 834)
    listed = {status: [] for status in ALL_STATUSES}
    for status in ALL_STATUSES:
        for number in range(1, 40):
            _, page, total = world.queries.entries_page(TENANT, rec.id, status, number, 100)
            listed[status] += [r.index for r in page]
        assert len(listed[status]) == total
        assert listed[status] == sorted(listed[status])
    assert listed[MatchStatus.MANUAL] == [2, 3]
    assert 1 in listed[MatchStatus.UNMATCHED] and 3 not in listed[MatchStatus.UNMATCHED]
    assert 2 not in listed[MatchStatus.MATCHED] and 1 not in listed[MatchStatus.MATCHED]
    assert sorted(sum(listed.values(), [])) == list(range(2500))
    assert len(listed[MatchStatus.MATCHED]) == rec.counts.matched_entries - rec.counts.manual_entries
    _, first, _ = world.queries.entries_page(TENANT, rec.id, None, 1, 5)
    assert [r.status for r in first] == [MatchStatus.UNMATCHED, MatchStatus.UNMATCHED, MatchStatus.MANUAL,
                                         MatchStatus.MANUAL, MatchStatus.MATCHED]


def test_manual_changes_need_a_settled_reconciliation_and_known_ids(world: World):
    rec = world.create(TENANT, request())
    with pytest.raises(Clash, match="PROCESSING"):
        world.manual.unmatch(TENANT, rec.id, entry_id(rec.id, 0))
    world.settle(rec.id)
    with pytest.raises(Missing):
        world.manual.unmatch(TENANT, rec.id, entry_id(rec.id, 3))
    with pytest.raises(Missing):
        world.manual.unmatch(TENANT, rec.id, "not-an-id")
    with pytest.raises(Missing):
        world.manual.match(TENANT, rec.id, entry_id(rec.id, 2), "2024-01-15-" + "9" * 32)
    with pytest.raises(Invalid):
        world.manual.match(TENANT, rec.id, entry_id(rec.id, 2), "nonsense")


def test_a_rerun_picks_up_new_ledger_lines_and_keeps_manual_decisions(world: World):
    lines = doc_lines()
    world.add_lines(*lines)
    rec = world.create(TENANT, request())
    world.settle(rec.id)
    world.manual.unmatch(TENANT, rec.id, entry_id(rec.id, 1))
    world.add_lines(StatementLine("2024-01-16-" + "d" * 32, Direction.DEBIT, Decimal("3000.00"),
                                                    date(2024, 1, 16), "PAGAMENTO FORNECEDOR XYZ", "BRL"))
    rerun = world.manual.rerun(TENANT, rec.id)
    assert rerun.status == ReconciliationStatus.PROCESSING and world.started[-1] == (rec.id, 2)
    world.settle(rec.id)
    rec = world.queries.get(TENANT, rec.id)
    assert (rec.counts.matched_entries, rec.counts.unmatched_entries) == (2, 1)
    _, unmatched, _ = world.queries.entries_page(TENANT, rec.id, MatchStatus.UNMATCHED, 1, 20)
    assert [r.index for r in unmatched] == [1]  # the manual unmatch survives the run
    assert unmatched[0].reason == "unmatched by hand"
    assert not world.c.objects.keys(f"reconciliations/{TENANT.key}/{rec.id}/r1/")  # the previous run's chunks
    assert world.c.objects.keys(f"reconciliations/{TENANT.key}/{rec.id}/r2/")  # are gone


def test_list_filters_and_pages(world: World):
    first = world.create(TENANT, request())
    second = world.create(TENANT, request([Entry(0, Direction.DEBIT, Decimal("1"), "x", date(2024, 3, 1))],
                                          date(2024, 3, 1), date(2024, 3, 31)))
    world.settle(second.id)
    found, total = world.queries.list_page(TENANT, ListFilter(), 1, 20)
    assert total == 2 and [r.id for r in found] == [second.id, first.id]
    found, total = world.queries.list_page(TENANT, ListFilter(status=ReconciliationStatus.PARTIALLY_MATCHED), 1, 20)
    assert [r.id for r in found] == [second.id]
    assert world.queries.list_page(TENANT, ListFilter(period_start=date(2024, 2, 1)), 1, 20)[1] == 1
    assert world.queries.list_page(TENANT, ListFilter(period_end=date(2024, 1, 31)), 1, 20)[0][0].id == first.id
    assert world.queries.list_page(TENANT, ListFilter(account_id="other"), 1, 20) == ([], 0)
    assert world.queries.list_page(TENANT, ListFilter(), 2, 1)[0][0].id == first.id


def test_a_workflow_that_starts_at_once_finds_its_run_on_create_and_on_rerun(world: World):
    # Step Functions may run the first step before the api's call returns: the run must already be saved
    seen: list[str] = []
    engine = world.c.reconcile_engine
    start = engine.start

    def eager(name, payload):
        arn = start(name, payload)
        seen.append(world.run.begin(TENANT, payload["reconciliationId"], payload["run"]))
        return arn

    engine.start = eager  # type: ignore[method-assign]
    world.add_lines(*doc_lines())
    rec = world.create(TENANT, request())
    world.settle(rec.id)
    world.manual.rerun(TENANT, rec.id)
    assert seen == ["match", "match"]
    world.settle(rec.id)
    assert world.queries.get(TENANT, rec.id).status == ReconciliationStatus.PARTIALLY_MATCHED


def test_a_manual_decision_keeps_the_suggested_count_as_a_run_counts_it(world: World):
    world.add_lines(*doc_lines())
    rec = world.create(TENANT, request())
    world.settle(rec.id)
    _, records, _ = world.queries.entries_page(TENANT, rec.id, None, 1, 20)
    suggested = next(r for r in records if r.status == MatchStatus.UNMATCHED)
    assert suggested.suggestions and world.queries.get(TENANT, rec.id).counts.suggested_entries == 1
    assert suggested.reason == "best score 0.65 is below autoMatchScore 0.72"
    # matched by hand to its suggestion: no entry is left with one
    world.manual.match(TENANT, rec.id, entry_id(rec.id, suggested.index), suggested.suggestions[0].line)
    assert world.queries.get(TENANT, rec.id).counts.suggested_entries == 0
    # unmatched again, it lists its suggestions again (as a run would count it)
    world.manual.unmatch(TENANT, rec.id, entry_id(rec.id, suggested.index))
    _, again, _ = world.queries.entries_page(TENANT, rec.id, MatchStatus.UNMATCHED, 1, 20)
    counted = sum(1 for r in again if r.suggestions)
    assert world.queries.get(TENANT, rec.id).counts.suggested_entries == counted
    # an automatic match taken away counts only if it kept suggestions
    world.manual.unmatch(TENANT, rec.id, entry_id(rec.id, 0))
    _, unmatched, _ = world.queries.entries_page(TENANT, rec.id, MatchStatus.UNMATCHED, 1, 20)
    assert world.queries.get(TENANT, rec.id).counts.suggested_entries == sum(1 for r in unmatched if r.suggestions)


def test_a_suggestion_whose_ledger_line_is_gone_is_not_listed(world: World):
    """A revert removed the suggested line after the run: the entry lists only the suggestions still in the ledger
    (a manual match to the gone one answered 404)."""
    world.add_lines(*doc_lines())
    rec = world.create(TENANT, request())
    world.settle(rec.id)
    _, records, _ = world.queries.entries_page(TENANT, rec.id, MatchStatus.UNMATCHED, 1, 20)
    suggested = next(r for r in records if r.suggestions)
    gone = suggested.suggestions[0]
    del world.c.ledger.lines[(keys.tenant_pk(TENANT), ACCOUNT, date.fromisoformat(gone.day))][gone.line]
    _, after, _ = world.queries.entries_page(TENANT, rec.id, MatchStatus.UNMATCHED, 1, 20)
    again = next(r for r in after if r.index == suggested.index)
    assert [s.line for s in again.suggestions] == [s.line for s in suggested.suggestions[1:]]


def test_a_score_just_under_the_threshold_is_written_under_it():
    from tximport.reconciliation.engine import _below
    assert (_below(0.717105, 0.72), _below(0.5, 0.72), _below(0.7199996, 0.72)) == ("0.717", "0.50", "0.719999")


def test_an_entry_unmatched_by_hand_offers_its_freed_line_and_drops_the_old_runner_up(world: World):
    # two entries want one line: entry 0 takes it, and entry 1 is its runner-up
    line = StatementLine("2024-01-10-" + "e" * 32, Direction.DEBIT, Decimal("100.00"), date(2024, 1, 10),
                         "ALUGUEL JANEIRO", "BRL")
    world.add_lines(line)
    rec = world.create(TENANT, request([
        Entry(0, Direction.DEBIT, Decimal("100.00"), "Aluguel janeiro", date(2024, 1, 10)),
        Entry(1, Direction.DEBIT, Decimal("100.00"), "Condominio", date(2024, 1, 14))]))
    world.settle(rec.id)
    _, before, _ = world.queries.entries_page(TENANT, rec.id, None, 1, 20)
    assert before[0].status == MatchStatus.MATCHED and before[0].runner_up is not None
    suggested = world.queries.get(TENANT, rec.id).counts.suggested_entries
    world.manual.unmatch(TENANT, rec.id, entry_id(rec.id, 0))
    _, after, _ = world.queries.entries_page(TENANT, rec.id, None, 1, 20)
    # the entry is UNMATCHED: no alternative to a match it no longer has, and the line it had is free again,
    # so it is what the entry may be matched to by hand
    assert after[0].status == MatchStatus.UNMATCHED and after[0].runner_up is None and not after[0].ambiguous
    assert [(s.line, s.day, s.score, s.amount_delta, s.date_delta) for s in after[0].suggestions] == [
        (line.transaction_id, "2024-01-10", before[0].score, Decimal("0.00"), 0)]
    assert world.queries.get(TENANT, rec.id).counts.suggested_entries == suggested + 1


def test_an_entry_only_a_line_committed_ignore_would_fit_is_told_so(world: World):
    """The bank's 15,000.00 credit is not in the ledger, only an import session's settled copy of it (committed
    IGNORE): the entry stays UNMATCHED, and its reason names that line rather than saying no line fits."""
    from dataclasses import replace as replaced

    from tximport.reconciliation.ids import statement_id
    from tximport.sessions.models import SessionLedgerEntry, StagedTransactionType, TransactionStatus

    world.add_lines(doc_lines()[0])
    record = replaced(ledger_line(doc_lines()[1]), transaction_id="2024-01-13-" + "d" * 32,
                      session=SessionLedgerEntry(type=StagedTransactionType.INCOME, status=TransactionStatus.IGNORE,
                                                 workspace_id="w", session_id="s", staged_transaction_id="x"),
                      import_id="")
    world.c.ledger.write(TENANT, [record])
    rec = world.create(TENANT, request())
    world.settle(rec.id)
    _, unmatched, _ = world.queries.entries_page(TENANT, rec.id, MatchStatus.UNMATCHED, 1, 20)
    reasons = [r.reason or "" for r in unmatched]
    told = [reason for reason in reasons if statement_id(record.transaction_id) in reason]
    assert len(told) == 1 and "committed IGNORE" in told[0] and "2024-01-13" in told[0]
    assert world.mark(record.transaction_id) is None


def test_a_line_committed_ignore_is_no_bank_line_to_match(world: World):
    """An import session's settled copy (committed IGNORE) of the document's 15,000.00 credit lies beside it in
    the ledger as a record: the entry matches the bank's line, not ambiguously between the two, and the record
    is never marked."""
    from dataclasses import replace as replaced

    from tximport.sessions.models import SessionLedgerEntry, StagedTransactionType, TransactionStatus

    world.add_lines(*doc_lines())
    credit = ledger_line(doc_lines()[1])
    record = replaced(credit, transaction_id="2024-01-13-" + "d" * 32, session=SessionLedgerEntry(
        type=StagedTransactionType.INCOME, status=TransactionStatus.IGNORE, workspace_id="w", session_id="s",
        staged_transaction_id="x"), import_id="")
    world.c.ledger.write(TENANT, [record])
    rec = world.create(TENANT, request())
    world.settle(rec.id)
    _, matched, _ = world.queries.entries_page(TENANT, rec.id, MatchStatus.MATCHED, 1, 20)
    assert [r.line for r in matched] == [doc_lines()[0].transaction_id, doc_lines()[1].transaction_id]
    assert world.mark(record.transaction_id) is None
    # ... nor matched by hand
    with pytest.raises(Unprocessable) as refused:
        world.manual.match(TENANT, rec.id, entry_id(rec.id, 1), record.transaction_id)
    assert "IGNORE" in str(refused.value) and world.mark(record.transaction_id) is None


# --- withdrawal (DELETE, qa39b F8) ---------------------------------------------------------------------------

def _settled_doc_reconciliation(world: World) -> tuple[str, list[StatementLine]]:
    """The document's example matched (entries 0 and 1 automatically), and entry 2 matched by hand to the fee line:
    three ledger lines held."""
    lines = doc_lines()
    world.add_lines(*lines)
    rec = world.create(TENANT, request())
    world.settle(rec.id)
    world.manual.match(TENANT, rec.id, entry_id(rec.id, 2), lines[2].transaction_id)
    assert all(world.mark(line.transaction_id) for line in lines)
    return rec.id, lines


def test_a_withdrawal_releases_every_line_and_the_period_which_is_reconciled_again(world: World):
    rec_id, lines = _settled_doc_reconciliation(world)
    # When it is withdrawn
    world.withdraw(TENANT, rec_id)
    # Then it is gone, with its manual decision and its staged entries and results, and every line it held is free
    with pytest.raises(Missing):
        world.queries.get(TENANT, rec_id)
    assert [world.mark(line.transaction_id) for line in lines] == [None, None, None]
    assert world.c.reconciliation_store.decisions == {}
    assert not world.c.objects.keys(f"reconciliations/{TENANT.key}/{rec_id}/")
    with pytest.raises(Missing):  # a second DELETE finds nothing
        world.withdraw(TENANT, rec_id)
    # and the period is reconciled again, the lines matched anew
    again = world.create(TENANT, request())
    world.settle(again.id)
    assert world.queries.get(TENANT, again.id).counts.matched_entries == 2
    assert world.mark(lines[0].transaction_id) == ReconciliationMark(again.id, entry_id(again.id, 0), "MATCHED")


def test_a_withdrawal_is_tenant_scoped_waits_for_matching_and_takes_a_failed_one(world: World):
    from tximport.models import Tenant

    rec = world.create(TENANT, request())
    with pytest.raises(Missing):  # another tenant's id is not found, and nothing of it changes
        world.withdraw(Tenant(organisation_id="other", company_id="co"), rec.id)
    with pytest.raises(Clash) as running:  # a run may still write marks
        world.withdraw(TENANT, rec.id)
    assert running.value.details == {"field": "status", "status": "PROCESSING"}
    world.run.fail(TENANT, rec.id, {"Error": "States.Timeout"})
    world.withdraw(TENANT, rec.id)  # a FAILED one blocks nothing, and goes too
    assert world.c.reconciliation_store.list_all(TENANT) == []


def test_a_change_that_lands_first_makes_the_withdrawal_a_409_and_releases_nothing(world: World, monkeypatch):
    rec_id, lines = _settled_doc_reconciliation(world)
    store = world.c.reconciliation_store
    read = store.get

    def read_then_unmatched_meanwhile(tenant, reconciliation_id):
        found = read(tenant, reconciliation_id)
        monkeypatch.setattr(store, "get", read)
        world.manual.unmatch(TENANT, rec_id, entry_id(rec_id, 0))  # saved between the DELETE's read and write
        return found

    monkeypatch.setattr(store, "get", read_then_unmatched_meanwhile)
    with pytest.raises(Clash) as lost:
        world.withdraw(TENANT, rec_id)
    assert lost.value.details == {"field": "version"}
    # nothing was released: the reconciliation, its period and its other lines are as the unmatch left them
    assert not world.queries.get(TENANT, rec_id).withdrawing
    assert [world.mark(line.transaction_id) is not None for line in lines] == [False, True, True]
    with pytest.raises(Clash):
        world.create(TENANT, request())
    world.withdraw(TENANT, rec_id)  # read again, it goes
    assert [world.mark(line.transaction_id) for line in lines] == [None, None, None]


def test_a_manual_match_or_a_rerun_the_withdrawal_overtakes_is_a_409_and_changes_nothing(world: World, monkeypatch):
    rec_id, lines = _settled_doc_reconciliation(world)
    world.manual.unmatch(TENANT, rec_id, entry_id(rec_id, 2))
    line = world.manual._line

    def found_then_withdrawn(rec, statement):
        found = line(rec, statement)
        world.withdraw(TENANT, rec.id)  # lands between the manual match's read and its transaction
        return found

    monkeypatch.setattr(world.manual, "_line", found_then_withdrawn)
    with pytest.raises(Clash):
        world.manual.match(TENANT, rec_id, entry_id(rec_id, 2), lines[2].transaction_id)
    assert [world.mark(x.transaction_id) for x in lines] == [None, None, None]
    assert world.c.reconciliation_store.decisions == {}
    # a re-run the withdrawal overtakes starts no run
    rec_id = world.create(TENANT, request()).id
    world.settle(rec_id)
    settled = world.manual._settled

    def read_then_withdrawn(tenant, reconciliation_id):
        found = settled(tenant, reconciliation_id)
        world.withdraw(TENANT, reconciliation_id)
        return found

    monkeypatch.setattr(world.manual, "_settled", read_then_withdrawn)
    started = len(world.started)
    with pytest.raises(Clash):
        world.manual.rerun(TENANT, rec_id)
    assert len(world.started) == started and world.c.reconciliation_store.list_all(TENANT) == []
    assert [world.mark(x.transaction_id) for x in lines] == [None, None, None]


def test_an_interrupted_withdrawal_holds_everything_takes_no_change_and_is_finished_by_calling_again(
        world: World, monkeypatch):
    rec_id, lines = _settled_doc_reconciliation(world)
    ledger = world.c.ledger

    def unreachable(*args, **kwargs):
        raise ConnectionError("ledger unreachable")

    monkeypatch.setattr(ledger, "unmark", unreachable)
    with pytest.raises(ConnectionError):
        world.withdraw(TENANT, rec_id)
    monkeypatch.undo()
    # the reconciliation still holds its lines and its period, and takes no change but the DELETE
    assert world.queries.get(TENANT, rec_id).withdrawing
    assert all(world.mark(line.transaction_id) for line in lines)
    for change in (lambda: world.manual.unmatch(TENANT, rec_id, entry_id(rec_id, 0)),
                   lambda: world.manual.match(TENANT, rec_id, entry_id(rec_id, 0), lines[0].transaction_id),
                   lambda: world.manual.rerun(TENANT, rec_id)):
        with pytest.raises(Clash, match="withdrawn"):
            change()
    with pytest.raises(Clash):
        world.create(TENANT, request())
    world.withdraw(TENANT, rec_id)
    assert [world.mark(line.transaction_id) for line in lines] == [None, None, None]
    assert world.create(TENANT, request()).status == ReconciliationStatus.PROCESSING
