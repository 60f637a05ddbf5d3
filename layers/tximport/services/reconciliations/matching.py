"""The matching workflow's steps (statemachines/reconcile.asl.json): begin, match, fail.

`match` reads the entries (the previous run's records), the account's ledger lines in the period widened
by the date window, runs the engine on the entries no manual decision covers, marks the matched ledger
lines (a line another reconciliation holds meanwhile is refused: its entry stays UNMATCHED and says why),
unmarks the lines the previous run matched and this one does not, writes the results in chunks and saves
the counts and the final status (COMPLETED when every entry is matched, else PARTIALLY_MATCHED).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from tximport.models import LineMark, Tenant, utcnow
from tximport.reconciliation.engine import NO_LINE, match
from tximport.reconciliation.ids import entry_id, statement_id
from tximport.reconciliation.models import (
    Counts,
    Entry,
    EntryResult,
    MatchStatus,
    Override,
    Reconciliation,
    ReconciliationStatus,
    StatementLine,
    statement_line,
)
from tximport.reconciliation.records import EntryRecord, record_of
from tximport.services.reconciliations.create import CHUNK_SIZE, fail
from tximport.services.reconciliations.pages import all_records
from tximport.storage.ledger import LedgerStore, ignored
from tximport.storage.reconciliation_results import ResultChunkStore, run_prefix
from tximport.storage.reconciliations import ReconciliationsStore
from tximport.tasks import step_error

log = logging.getLogger(__name__)


class ReconciliationGone(Exception):
    """The workflow was started for a reconciliation that does not exist."""


class MatchingRun:
    def __init__(self, *, store: ReconciliationsStore, results: ResultChunkStore, ledger: LedgerStore) -> None:
        self.store, self.results, self.ledger = store, results, ledger

    def _load(self, tenant: Tenant, reconciliation_id: str) -> Reconciliation:
        rec = self.store.get(tenant, reconciliation_id)
        if rec is None:
            raise ReconciliationGone(f"reconciliation {reconciliation_id} not found")
        return rec

    def begin(self, tenant: Tenant, reconciliation_id: str, run: int) -> str:
        """PROCESSING for this run; answers `match`, or `stop` when the run is stale (a newer one started,
        or this one already ended)."""
        rec = self._load(tenant, reconciliation_id)
        # the api marks the run PROCESSING before it starts the execution
        if run != rec.runs or rec.status != ReconciliationStatus.PROCESSING:
            return "stop"
        return "match"

    def match(self, tenant: Tenant, reconciliation_id: str, run: int) -> dict[str, Any]:
        """Run the engine and save the results; answers the counts (never rows)."""
        rec = self._load(tenant, reconciliation_id)
        if rec.status != ReconciliationStatus.PROCESSING or run != rec.runs or rec.results is None:
            return {"outcome": "stop"}
        previous = rec.results
        records = list(all_records(previous, self.results.chunk))
        overrides = self.store.overrides(rec)
        lines, held, stale_owners, ignored_lines = self._statement(rec, overrides)
        free = [r.entry() for r in records if r.index not in overrides]
        results = match(free, [line for line in lines.values() if line.transaction_id not in held], rec.options)
        _name_holders(rec, free, results, lines, held)
        _name_fits(rec, free, results, ignored_lines, lambda line: (
            f"the line that fits it ({statement_id(line)}, booked {ignored_lines[line].booking_date}) was committed "
            "IGNORE by an import session: it records a settled copy, no movement of the bank's, and is never matched"))
        fresh = {r.index: r for r in records}
        for entry, result in zip(free, results, strict=True):
            fresh[entry.index] = record_of(entry, result, lines)
        rebased: list[tuple[Override, EntryRecord]] = []
        for index, (override, record) in overrides.items():
            # the run leaves manual decisions alone: in its own listings the entry is UNMATCHED
            fresh[index] = fresh[index].model_copy(update={
                "status": MatchStatus.UNMATCHED, "rule": None, "line": None, "line_day": None, "score": None,
                "parts": None, "runner_up": None, "ambiguous": False, "suggestions": [],
                "reason": "decided manually"})
            if override.base_status != MatchStatus.UNMATCHED:
                override.base_status = MatchStatus.UNMATCHED
                rebased.append((override, record))
        ordered = [fresh[i] for i in sorted(fresh)]
        self._settle_marks(rec, ordered, records, overrides, stale_owners)
        rec.results = self.results.write_results(rec.entries_key, ordered, CHUNK_SIZE, run)
        rec.counts = count(ordered, overrides)
        rec.status = ReconciliationStatus.COMPLETED if rec.counts.unmatched_entries == 0 \
            else ReconciliationStatus.PARTIALLY_MATCHED
        rec.completed = utcnow()
        self.store.save(rec)
        if rebased:
            self.store.put_overrides(rec, rebased)
        if previous.run != run:
            self.results.delete_prefix(run_prefix(rec.entries_key, previous.run))
        return {"outcome": rec.status.value, "matched": rec.counts.matched_entries,
                "unmatched": rec.counts.unmatched_entries}

    def _statement(self, rec: Reconciliation, overrides: dict[int, tuple[Override, EntryRecord]]
                   ) -> tuple[dict[str, StatementLine], dict[str, str], dict[str, str], dict[str, StatementLine]]:
        """The lines of the period widened by the date window (not those committed IGNORE), and those the engine
        may not take with the reconciliation holding them: this one (a manual decision) or another live one; the
        lines still marked by a FAILED one (their marks may be replaced); and those committed IGNORE (never
        matched: an entry they alone would fit is told so)."""
        window = timedelta(days=rec.options.date_window_days)
        lines: dict[str, StatementLine] = {}
        held = {o.line: rec.id for o, _ in overrides.values() if o.line}
        others: dict[str, bool] = {}
        stale: dict[str, str] = {}
        ignored_lines: dict[str, StatementLine] = {}
        for ledger_line in self.ledger.lines_between(rec.tenant, rec.account_id, rec.period_start - window,
                                                     rec.period_end + window):
            if ignored(ledger_line):  # a record of a settled copy, no movement of the bank's
                ignored_lines[ledger_line.transaction_id] = statement_line(ledger_line)
                continue
            line = lines[ledger_line.transaction_id] = statement_line(ledger_line)
            owner = ledger_line.reconciliation.reconciliation_id if ledger_line.reconciliation else None
            if owner and owner != rec.id:
                if self._live(rec.tenant, owner, others):
                    held[line.transaction_id] = owner
                else:
                    stale[line.transaction_id] = owner
        return lines, held, stale, ignored_lines

    def _live(self, tenant: Tenant, reconciliation_id: str, seen: dict[str, bool]) -> bool:
        if reconciliation_id not in seen:
            other = self.store.get(tenant, reconciliation_id)
            seen[reconciliation_id] = other is not None and other.status != ReconciliationStatus.FAILED
        return seen[reconciliation_id]

    def _settle_marks(self, rec: Reconciliation, ordered: list[EntryRecord], before: list[EntryRecord],
                      overrides: dict[int, tuple[Override, EntryRecord]], stale_owners: dict[str, str]) -> None:
        """Mark this run's matches on the ledger and unmark the previous run's that are gone. A refused mark
        (another reconciliation took the line meanwhile) leaves the entry UNMATCHED, saying why."""
        def mark_of(r: EntryRecord) -> LineMark:
            return LineMark(rec.account_id, r.line_day or "", r.line or "", rec.id, entry_id(rec.id, r.index),
                            r.status.value, replaces=stale_owners.get(r.line or ""))

        now = {(r.index, r.line) for r in ordered if r.status == MatchStatus.MATCHED}
        stale = [mark_of(r) for r in before
                 if r.status == MatchStatus.MATCHED and (r.index, r.line) not in now and r.index not in overrides]
        if stale:
            self.ledger.unmark(rec.tenant, stale)
        wanted = [mark_of(r) for r in ordered if r.status == MatchStatus.MATCHED]
        refused = {m.transaction_id for m in self.ledger.mark(rec.tenant, wanted)} if wanted else set()
        for i, r in enumerate(ordered):
            if r.status == MatchStatus.MATCHED and r.line in refused:
                ordered[i] = r.unmatched("the line was matched by another reconciliation meanwhile")
                ordered[i].manual = False

    def fail(self, tenant: Tenant, reconciliation_id: str, error: dict[str, Any] | None) -> None:
        """Status FAILED with the workflow's error as failureReason."""
        try:
            rec = self._load(tenant, reconciliation_id)
        except ReconciliationGone:
            return
        if rec.status == ReconciliationStatus.FAILED:
            return
        fail(rec, self.store, failure_reason(error))


def failure_reason(error: dict[str, Any] | None) -> str:
    """A readable reason from a Step Functions error (`{"Error", "Cause"}`)."""
    message, code = step_error(error, code="MatchingError", message="matching failed")
    return f"{message} ({code})"


def count(records: list[EntryRecord], overrides: dict[int, tuple[Override, EntryRecord]]) -> Counts:
    """Counts and absolute sums per effective status (a manual decision wins over the run)."""
    counts = Counts()
    for r in records:
        status = overrides[r.index][0].status if r.index in overrides else r.status
        add(counts, status, r.amount, +1)
        counts.total_entries += 1
        counts.total_amount += r.amount
        if r.index not in overrides:
            counts.ambiguous_entries += r.ambiguous
            counts.suggested_entries += bool(r.status == MatchStatus.UNMATCHED and r.suggestions)
    return counts


def add(counts: Counts, status: MatchStatus, amount: Decimal, sign: int) -> None:
    """Move one entry into (`sign` 1) or out of (-1) a status's count and sum."""
    if status == MatchStatus.UNMATCHED:
        counts.unmatched_entries += sign
        counts.unmatched_amount += sign * amount
        return
    counts.matched_entries += sign
    counts.matched_amount += sign * amount
    if status == MatchStatus.MANUAL:
        counts.manual_entries += sign


def _name_holders(rec: Reconciliation, free: list[Entry], results: list[EntryResult],
                  lines: dict[str, StatementLine], held: dict[str, str]) -> None:
    """An entry no free line fits, that a line another reconciliation holds would fit (a line booked in this period
    that an earlier period's date window took, say): its reason names that line and the reconciliation holding
    it, rather than saying there is no such line."""
    taken = {tx: lines[tx] for tx, owner in held.items() if owner != rec.id}
    _name_fits(rec, free, results, taken, lambda line: (
        f"the line that fits it ({statement_id(line)}, booked {lines[line].booking_date}) is matched by "
        f"reconciliation {held[line]}"))


def _name_fits(rec: Reconciliation, free: list[Entry], results: list[EntryResult], candidates: dict[str, StatementLine],
               why: Callable[[str], str]) -> None:
    """An entry no free line fits, that one of `candidates` (lines the engine may not take) would fit: its reason
    is `why` of that line, rather than that there is no such line."""
    alone = [(entry, result) for entry, result in zip(free, results, strict=True)
             if result.status == MatchStatus.UNMATCHED and (result.reason or "").startswith(NO_LINE)]
    if not candidates or not alone:
        return
    found = match([e for e, _ in alone], list(candidates.values()), rec.options)
    tolerance = rec.options.amount_tolerance
    for (_, result), other in zip(alone, found, strict=True):
        # a line that fits is one within the tolerance (a suggestion of a near amount would not have been matched)
        line = other.line or next((s.line for s in other.suggestions if abs(s.amount_delta) <= tolerance), None)
        if line:
            result.reason = why(line)
