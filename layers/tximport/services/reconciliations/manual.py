"""Manual decisions on a settled reconciliation: match an entry to a ledger line (MANUAL), unmatch an entry,
and re-run matching (after new ledger lines arrived).

A manual change is one transaction: the reconciliation (version checked, counts moved), the override item,
the ledger mark of the new line (refused when another entry holds it: 409) and the removal of the old
line's mark. A losing concurrent call gets 409 and changes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta

from tximport.adapters.workflow import WorkflowEngine
from tximport.models import LineMark, ReconciliationMark, Tenant, utcnow
from tximport.reconciliation.engine import score_pair
from tximport.reconciliation.errors import Clash, Invalid, Missing, Unprocessable
from tximport.reconciliation.ids import digest_of, entry_id, entry_index, is_uuid, ledger_day
from tximport.reconciliation.models import (
    MAX_OVERRIDES,
    SETTLED,
    MatchStatus,
    Override,
    Reconciliation,
    ReconciliationStatus,
    Rule,
    StatementLine,
    from_units,
    statement_line,
    to_units,
)
from tximport.reconciliation.records import EntryRecord, is_matched
from tximport.services.reconciliations.create import start_run
from tximport.services.reconciliations.matching import add
from tximport.services.reconciliations.pages import record_at
from tximport.services.reconciliations.statement import booked_between, find, find_statement
from tximport.storage.ledger import LedgerStore, ignored
from tximport.storage.reconciliation_results import ResultChunkStore
from tximport.storage.reconciliations import ReconciliationsStore


def _check_pair(rec: Reconciliation, current: EntryRecord, line: StatementLine) -> None:
    """A line matched by hand is one the reconciliation could match: of the entry's direction, and on the statement
    side (booked in the period widened by the date window); else 422 naming matchedStatementId."""
    entry = current.entry()
    if line.direction != entry.direction:
        raise Unprocessable(f"ledger line {line.transaction_id} is a {line.direction.value} and the entry a "
                            f"{entry.direction.value}", details={"field": "matchedStatementId"})
    window = timedelta(days=rec.options.date_window_days)
    first, last = rec.period_start - window, rec.period_end + window
    if not first <= line.booking_date <= last:
        raise Unprocessable(f"ledger line {line.transaction_id} was booked on {line.booking_date}, outside the period "
                            f"widened by the date window ({first} to {last})",
                            details={"field": "matchedStatementId"})


class ManualDecisions:
    def __init__(self, *, store: ReconciliationsStore, results: ResultChunkStore, ledger: LedgerStore,
                 executions: WorkflowEngine) -> None:
        self.store, self.results, self.ledger = store, results, ledger
        self.executions = executions

    def _settled(self, tenant: Tenant, reconciliation_id: str) -> Reconciliation:
        rec = self.store.get(tenant, reconciliation_id) if is_uuid(reconciliation_id) else None
        if rec is None:
            raise Missing(f"reconciliation {reconciliation_id} not found", details={"field": "id"})
        if rec.withdrawing:
            raise Clash("the reconciliation is being withdrawn: only a DELETE, which finishes it, is taken",
                        details={"field": "id"})
        if rec.status not in SETTLED:
            raise Clash(f"the reconciliation is {rec.status.value}: manual changes and re-runs need COMPLETED "
                        "or PARTIALLY_MATCHED", details={"field": "status", "status": rec.status.value})
        return rec

    def _current(self, rec: Reconciliation, entry: str) -> tuple[int, EntryRecord, Override | None]:
        index = entry_index(rec.id, entry)
        if index is None or rec.results is None or index >= rec.counts.total_entries:
            raise Missing(f"entry {entry} not found in reconciliation {rec.id}", details={"field": "entryId"})
        found = self.store.override(rec, index)
        if found:
            return index, found[1], found[0]
        return index, record_at(rec.results, index, self.results.chunk), None

    def match(self, tenant: Tenant, reconciliation_id: str, entry: str, statement: str) -> EntryRecord:
        """Match an entry to a ledger line of the account by hand (matchStatus MANUAL)."""
        rec = self._settled(tenant, reconciliation_id)
        index, current, override = self._current(rec, entry)
        line, mark = self._line(rec, statement)
        mine = entry_id(rec.id, index)
        holder = mark.entry_id if mark and mark.entry_id != mine else None
        if mark and holder and self._holder_live(rec, mark):
            raise Clash(f"ledger line {line.transaction_id} is already matched to entry {holder} of reconciliation "
                        f"{mark.reconciliation_id}", details={"field": "matchedStatementId", "entryId": holder})
        if current.status == MatchStatus.MANUAL and current.line == line.transaction_id:
            return current
        _check_pair(rec, current, line)
        score, parts = score_pair(current.entry(), line, rec.options)
        record = current.model_copy(update={
            "status": MatchStatus.MANUAL, "rule": Rule.MANUAL, "line": line.transaction_id,
            "line_day": line.booking_date.isoformat(), "score": round(min(1.0, max(0.0, score)), 4),
            "parts": {k: round(v, 4) for k, v in parts.items()},
            "amount_delta": from_units(to_units(line.amount) - to_units(current.amount)),
            "date_delta": (line.booking_date - current.transaction_date).days, "ambiguous": False,
            "reason": "matched by hand", "manual": True})
        stale_owner = mark.reconciliation_id if mark and holder else None
        new_mark = LineMark(rec.account_id, line.booking_date.isoformat(), line.transaction_id, rec.id, mine,
                            MatchStatus.MANUAL.value, replaces=stale_owner)
        old_mark = self._mark_of(rec, mine, current) if current.line and current.line != line.transaction_id \
            else None
        return self._apply(rec, index, current, override, record, new_mark, old_mark)

    def unmatch(self, tenant: Tenant, reconciliation_id: str, entry: str) -> EntryRecord:
        """Take an entry's match away (automatic or manual); it stays UNMATCHED through re-runs."""
        rec = self._settled(tenant, reconciliation_id)
        index, current, override = self._current(rec, entry)
        if not is_matched(current.status):
            return current
        record = current.unmatched("unmatched by hand")
        mine = entry_id(rec.id, index)
        return self._apply(rec, index, current, override, record, None, self._mark_of(rec, mine, current))

    def rerun(self, tenant: Tenant, reconciliation_id: str) -> Reconciliation:
        """Match again (manual decisions are kept): new ledger lines may have arrived."""
        rec = self._settled(tenant, reconciliation_id)
        return start_run(rec, self.store, self.executions)

    # ---------------------------------------------------------------------------------------------
    def _apply(self, rec: Reconciliation, index: int, current: EntryRecord, override: Override | None,
               record: EntryRecord, mark: LineMark | None, unmark: LineMark | None) -> EntryRecord:
        if override is None and rec.overrides >= MAX_OVERRIDES:
            raise Clash(f"at most {MAX_OVERRIDES} entries may be decided by hand per reconciliation",
                        details={"field": "entryId"})
        base = override.base_status if override else current.status
        new = Override(index=index, status=record.status, line=record.line, statement_day=record.line_day,
                       base_status=base, at=utcnow())
        add(rec.counts, current.status, current.amount, -1)
        add(rec.counts, record.status, record.amount, +1)
        rec.counts.suggested_entries += _suggested(record) - _suggested(current)
        rec.overrides += 0 if override else 1
        # the status follows the counts: every entry matched (automatically or by hand) is COMPLETED
        was = rec.status
        rec.status = ReconciliationStatus.COMPLETED if rec.counts.unmatched_entries == 0 \
            else ReconciliationStatus.PARTIALLY_MATCHED
        if rec.status == ReconciliationStatus.COMPLETED and was != rec.status:
            # completedAt is when it was last concluded: this decision completes it (an unmatch that takes it back
            # to PARTIALLY_MATCHED leaves the time as it is, as a matching run ending PARTIALLY_MATCHED sets it)
            rec.completed = utcnow()
        self.store.apply_manual(rec, new, record, mark=mark, unmark=unmark)
        return record

    @staticmethod
    def _mark_of(rec: Reconciliation, mine: str, record: EntryRecord) -> LineMark:
        day = record.line_day or str(ledger_day(record.line or "") or "")
        return LineMark(rec.account_id, day, record.line or "", rec.id, mine, record.status.value)

    def _line(self, rec: Reconciliation, statement: str) -> tuple[StatementLine, ReconciliationMark | None]:
        """The ledger line named by its transaction id or its statement UUID, and the mark it carries."""
        if not statement:
            raise Invalid("matchedStatementId is required", "matchedStatementId")
        window = timedelta(days=rec.options.date_window_days)
        first, last = rec.period_start - window, rec.period_end + window
        if ledger_day(statement):  # where its id says, else (a line a resend moved) within the widened period
            found = find(self.ledger, rec.tenant, rec.account_id, statement) or booked_between(
                self.ledger, rec.tenant, rec.account_id, [first, last], lambda tx_id: tx_id == statement)
            where = f"ledger line {statement} not found on account {rec.account_id}"
        else:
            if digest_of(statement) is None:
                raise Invalid("matchedStatementId must be a statement UUID or a ledger transactionId",
                              "matchedStatementId")
            found = find_statement(self.ledger, rec.tenant, rec.account_id, statement, _days(first, last))
            where = (f"statement line {statement} not found among the lines of account {rec.account_id} booked in "
                     f"the period widened by the date window ({first} to {last})")
        if found is None:
            raise Missing(where, details={"field": "matchedStatementId"})
        if ignored(found):  # as the matching leaves it out: a settled copy kept as a record, no bank line
            raise Unprocessable(f"ledger line {found.transaction_id} was committed IGNORE by an import session: it "
                                "counts in no balance, and no entry matches it",
                                details={"field": "matchedStatementId"})
        return statement_line(found), found.reconciliation

    def _holder_live(self, rec: Reconciliation, mark: ReconciliationMark) -> bool:
        """Whether the reconciliation holding a line still counts (a FAILED one gives its lines up)."""
        if mark.reconciliation_id == rec.id:
            return True
        other = self.store.get(rec.tenant, mark.reconciliation_id)
        return other is not None and other.status != ReconciliationStatus.FAILED


def _suggested(record: EntryRecord) -> int:
    """1 when `record` counts among the suggested entries (unmatched, with suggestions), as a run counts them."""
    return int(record.status == MatchStatus.UNMATCHED and bool(record.suggestions))


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=k) for k in range((end - start).days + 1)]
