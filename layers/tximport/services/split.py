"""A large file processed in ranges, then merged so the import is exactly the one-run import.

Processing cuts a file above the split size into ranges (`tximport.formats.ranges`; the manifest is in
the bucket, `tximport.storage.split`). The workflow's Map runs `process_range` for each: a run of its own
over the range (`ProcessingService.new_run`), staging its own chunks and leaving a `RangeResult` (its
counters, discovered accounts, statement totals, the days it touched and where, what it linked). The
reduce (`reduce`) merges them in file order:

* the report's counters, the discovered accounts and the per-statement totals (`StatementCollector.absorb`:
  a statement cut by a range boundary goes on in the next range, each currency's lines and running balance
  included);
* the days two ranges share: the identical-line counters go on across the boundary, so a line of the
  later range whose content an earlier range already counted on that day gets the id one run gives it
  (its occurrence counted on), and its duplicate verdict again for that id (a bank id an earlier range had on
  that day falls back to one run: its occurrence and verdict depend on that line). Only the chunks
  whose rows span such a day are read and written again;
* the overlap with the ledger (the union of the days judged), and the pending lines left open.

Where ranges meet in a way the merge does not follow (a range that failed to read, a day that went out
of the counters' window and came back across ranges, a pending line two ranges both booked, a reversal
near a range's start that an earlier range's line may be the match of, a changed verdict inside an
earlier confirmed statement's period ...), the reduce processes the whole file in one run instead: the
result is the one-run result either way (tests/unit/services/test_split_processing.py holds both).
"""

from __future__ import annotations

import json
import logging
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from tximport.errors import Conflict
from tximport.formats import base, ranges
from tximport.formats.registry import get_format
from tximport.models import (
    FINAL_STATUSES,
    MAX_VALIDATION_DETAILS,
    DiscoveredAccount,
    Import,
    ImportStatus,
    ValidationDetail,
)
from tximport.services import line_ids
from tximport.services.duplicates import DuplicateDetector, Verdict
from tximport.services.line_ids import line_id
from tximport.services.pinning import FILE_CHANGED, FILE_CHANGED_MESSAGE
from tximport.services.processing import (
    Outcome,
    Pass,
    ProcessingService,
    _Links,
    _Side,
    _Tally,
)
from tximport.sessions.ids import SESSION_REASONS
from tximport.statements.collect import CollectorPart, StatementCollector
from tximport.storage.objects import ObjectChanged, ObjectSource
from tximport.storage.split import SplitDocuments, manifest_key, merged_key, range_prefix, result_key
from tximport.storage.staging import staged_record, staging_json, staging_prefix

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RangeFailure:
    """A whole-file error a range met (the reduce reads the file in one run to report it as one run does)."""

    code: str
    message: str
    changed: bool = False  # the file changed under the range (FileChanged)


@dataclass(slots=True)
class TallyPart:
    """A range's `_Tally` as its result stores it (its dictionaries as lists, in their order)."""

    #: (currency, credits, their sum, debits, their sum) per currency
    sides: list[tuple[str | None, int, Decimal, int, Decimal]] = field(default_factory=list)
    first_day: date | None = None
    last_day: date | None = None
    duplicates: int = 0
    rejected: int = 0
    ignored: int = 0
    pending: int = 0
    out_of_range: int = 0
    foreign: int = 0
    problems: list[ValidationDetail] = field(default_factory=list)

    @classmethod
    def of(cls, tally: _Tally) -> TallyPart:
        return cls(sides=[(c, cr.count, cr.total, db.count, db.total) for c, (cr, db) in tally.by_currency.items()],
                   first_day=tally.first_day, last_day=tally.last_day, duplicates=tally.duplicates,
                   rejected=tally.rejected, ignored=tally.ignored, pending=tally.pending,
                   out_of_range=tally.out_of_range, foreign=tally.foreign, problems=list(tally.problems.values()))


@dataclass(slots=True)
class RangeResult:
    """What one range's run found (the reduce's input; stored beside the range's chunks)."""

    index: int
    failure: RangeFailure | None = None
    chunk_keys: list[str] = field(default_factory=list)
    error_chunk_keys: list[str] = field(default_factory=list)
    #: (chunk index, first day, last day) of each staged chunk
    chunk_days: list[tuple[int, date, date]] = field(default_factory=list)
    tally: TallyPart = field(default_factory=TallyPart)
    notes: list[base.FileNote] = field(default_factory=list)
    discovered: list[DiscoveredAccount] = field(default_factory=list)
    #: (account, day) pairs judged; those that had lines with a bank id
    file_days: list[tuple[str, date]] = field(default_factory=list)
    bank_id_days: list[tuple[str, date]] = field(default_factory=list)
    #: the days in the order the run moved between them, with the identical-line counters each run added (None:
    #: too many to keep)
    day_runs: list[tuple[date, int]] | None = None
    statements: CollectorPart | None = None
    pool_accounts: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    reversed_ids: list[str] = field(default_factory=list)
    short_lookback: list[str] = field(default_factory=list)
    #: the session lines (committed, mirrors) the range's lines took (`DuplicateDetector.taken`)
    taken: list[str] = field(default_factory=list)


_RESULT = TypeAdapter(RangeResult)


class _Fallback(Exception):
    """The ranges meet in a way the merge does not follow: the file is processed in one run."""


class SplitProcessing:
    """The range runs and the reduce of a split file (see the module's docstring)."""

    def __init__(self, processing: ProcessingService) -> None:
        self.processing = processing
        self.documents = SplitDocuments(processing.objects)

    # --- the ranges -------------------------------------------------------------------------------

    def _plan(self, imp: Import) -> tuple[str, ranges.RangePlan, str | None]:
        prefix = staging_prefix(imp.tenant, imp.id, imp.generation)
        doc = json.loads(self.documents.get(manifest_key(prefix)))
        return prefix, ranges.RangePlan.from_json(doc["plan"]), doc["oldPrefix"]

    def _source(self, imp: Import, plan: ranges.RangePlan) -> ObjectSource:
        return ObjectSource(self.processing.objects, imp.s3_key, plan.size, imp.file_etag, imp.file_version_id)

    def process_range(self, imp: Import, index: int) -> RangeResult:
        """Run range `index` of the import's split file; its result is stored for the reduce."""
        result = RangeResult(index=index)
        if imp.status in FINAL_STATUSES:  # deleted or failed meanwhile: the reduce ends it
            return result
        prefix, plan, _ = self._plan(imp)
        fmt = get_format(imp.file_format)
        processing = self.processing
        run = processing.new_run(imp, fmt, range_prefix(prefix, index))
        try:
            processing.feed(run, ranges.read_range(fmt, self._source(imp, plan), run.options, plan, index))
        except base.FileError as exc:
            result.failure = RangeFailure(exc.code, exc.message)
        except ObjectChanged:
            result.failure = RangeFailure(FILE_CHANGED, FILE_CHANGED_MESSAGE, changed=True)
        result.chunk_keys, result.error_chunk_keys = run.rows.close(), run.errors.close()
        result.chunk_days = [(i, first, last) for i, (first, last) in sorted(run.chunk_days.items())]
        result.tally = TallyPart.of(run.tally)
        result.notes = list(run.notes.values())
        result.discovered = list(run.discovered.values())
        result.file_days = sorted(run.detector.file_days())
        result.bank_id_days = sorted(run.detector.bank_id_days)
        result.day_runs = run.ids.day_runs()
        result.taken = list(run.detector.taken)
        result.statements = run.statements.part() if run.statements is not None else None
        links = run.links
        if links is not None:
            result.pool_accounts = list(links.pending)
            result.replaced, result.reversed_ids = links.replaced_ids, links.reversed_ids
            result.short_lookback = sorted(links.short_lookback)
        self.documents.put(result_key(prefix, index), _RESULT.dump_json(result))
        return result

    # --- the reduce -------------------------------------------------------------------------------

    def reduce(self, imp: Import) -> Outcome:
        """Merge the ranges' results into the import's report (or process the file in one run where the
        ranges meet in a way the merge does not follow); answers the workflow's next step."""
        if imp.status == ImportStatus.DELETED:
            return "done"
        if imp.status in FINAL_STATUSES:  # failed while the ranges ran (FileChanged): that is its outcome
            return "failed"
        try:
            return self._reduce(imp)
        except Conflict:
            if self.processing.imports.get(imp.tenant, imp.id).status in FINAL_STATUSES:
                return "failed"
            raise

    def _reduce(self, imp: Import) -> Outcome:
        processing = self.processing
        prefix, plan, old_prefix = self._plan(imp)
        results = [_RESULT.validate_json(self.documents.get(result_key(prefix, i))) for i in range(len(plan.ranges))]
        if any(r.failure is not None and r.failure.changed for r in results):
            processing.staging.delete(prefix)
            return processing._fail(imp, FILE_CHANGED, FILE_CHANGED_MESSAGE)
        fmt = get_format(imp.file_format)
        try:
            merged = self._merge(imp, results)
        except _Fallback as why:
            log.info("import %s: the ranges are processed in one run (%s)", imp.id, why)
            for index in range(len(plan.ranges)):  # the manifest and the results stay for a retry
                processing.staging.delete(range_prefix(prefix, index))
            try:
                return processing.stage_whole(imp, fmt, self._source(imp, plan), prefix, old_prefix)
            except ObjectChanged:
                return processing._fail(imp, FILE_CHANGED, FILE_CHANGED_MESSAGE)
        try:
            outcome = processing.finish(imp, prefix, merged)
        except ObjectChanged:
            processing.staging.delete(prefix)
            return processing._fail(imp, FILE_CHANGED, FILE_CHANGED_MESSAGE)
        processing.drop_generation(imp, old_prefix, prefix)
        return outcome

    def _merge(self, imp: Import, results: list[RangeResult]) -> Pass:
        failed = next((r for r in results if r.failure is not None), None)
        if failed is not None:
            raise _Fallback(f"range {failed.index}: {failed.failure}")
        processing = self.processing
        tally = _merged_tally(results)
        discovered = _merged_discovered(results)
        discovery = get_format(imp.file_format).accounts_supported == "multi" and not imp.bank_accounts
        collector = processing.statements.collector(imp) if processing.statements and imp.bank_accounts else None
        if collector is not None:
            for r in results:
                if r.statements is not None:
                    collector.absorb(r.statements)
        if not discovery:
            _check_links(results)
            tally.duplicates += _Seams(self, imp, results, collector).join()
        chunk_keys = [key for r in results for key in r.chunk_keys]
        error_keys = [key for r in results for key in r.error_chunk_keys]
        overlap = 0
        expired = []
        if not discovery:
            detector = DuplicateDetector(processing.ledger, imp.tenant)
            detector.add_file_days({(account, day) for r in results for account, day in r.file_days})
            overlap = detector.overlap_count()
        if imp.bank_accounts:
            expired = self._expired(imp, results, tally.last_day)
        notes: dict[str, base.FileNote] = {}
        for r in results:
            for note in r.notes:
                first = notes.setdefault(note.code, note)
                if first is not note:
                    first.absorb(note)
        return Pass(chunk_keys=chunk_keys, error_chunk_keys=error_keys, tally=tally, discovered=discovered,
                    discovery=discovery, overlap=overlap, collector=collector, expired=expired, notes=notes)

    def _expired(self, imp: Import, results: list[RangeResult], last_day: date | None) -> list[Any]:
        """The pending lines no range booked, as one run reports them (accounts in the order their pools
        were first read)."""
        links = _Links(self.processing.ledger, imp.tenant, self.processing.pending_window_days)
        replaced = {i for r in results for i in r.replaced}
        for r in results:
            for account_id in r.pool_accounts:
                if account_id not in links.pending:
                    links.pending[account_id] = [p for p in self.processing.ledger.open_pending(imp.tenant, account_id)
                                                 if p.transaction_id not in replaced]
        links.seen(last_day)
        return links.expired()


def _merged_tally(results: list[RangeResult]) -> _Tally:
    """The ranges' counters added up; the kinds of rejected lines in the order one run meets them (a range
    that counted more kinds than the report lists is read in one run)."""
    tally = _Tally()
    for r in results:
        t = r.tally
        tally.add_batch({c: (_Side(cc, ct), _Side(dc, dt)) for c, cc, ct, dc, dt in t.sides}, t.first_day, t.last_day)
        tally.duplicates += t.duplicates
        tally.rejected += t.rejected
        tally.ignored += t.ignored
        tally.pending += t.pending
        tally.out_of_range += t.out_of_range
        tally.foreign += t.foreign
        if len(t.problems) >= MAX_VALIDATION_DETAILS:
            raise _Fallback(f"range {r.index} counted the most kinds of rejected lines the report lists")
        for problem in t.problems:
            known = tally.problems.get((problem.code, problem.target))
            if known is None and len(tally.problems) >= MAX_VALIDATION_DETAILS:
                known = tally.problems[next(reversed(tally.problems))]  # the last kind counts the rest
            if known is None:
                tally.problems[(problem.code, problem.target)] = problem.model_copy()
            else:
                known.count += problem.count
    return tally


def _merged_discovered(results: list[RangeResult]) -> dict[str, DiscoveredAccount]:
    """The accounts the file names, in the order one run meets them (its first range's entry decides the
    currency a line without one takes: a later range that would decide otherwise is read in one run)."""
    merged: dict[str, DiscoveredAccount] = {}
    for r in results:
        for entry in r.discovered:
            known = merged.get(entry.account_identifier)
            if known is None:
                merged[entry.account_identifier] = entry.model_copy()
                continue
            if entry.currency != known.currency:
                raise _Fallback(f"account {entry.account_identifier} has another currency in range {r.index}")
            if base.bank_key(entry.bank) != base.bank_key(known.bank):  # one number, two banks: a run tells them apart
                raise _Fallback(f"account {entry.account_identifier} has another bank in range {r.index}")
            known.transaction_count += entry.transaction_count
            known.bank_account_id = known.bank_account_id or entry.bank_account_id
    return merged


def _check_links(results: list[RangeResult]) -> None:
    """Pending and reversal links hold across ranges: no pending line booked by two ranges, no reversal that
    looked back past its range's start for an account an earlier range has lines of, no session line two ranges
    took (each range's lines take them in one run's order; taken by an earlier range, one run gives the later
    line the next one, or none)."""
    booked: set[str] = set()
    accounts: set[str] = set()
    taken: set[str] = set()
    for r in results:
        replaced = set(r.replaced)
        if replaced & booked:
            raise _Fallback(f"range {r.index} books a pending line an earlier range booked")
        booked |= replaced
        if taken & set(r.taken):
            raise _Fallback(f"range {r.index} took a session's line an earlier range took")
        taken |= set(r.taken)
        if accounts & set(r.short_lookback):
            raise _Fallback(f"a reversal in range {r.index} may reverse a line of an earlier range")
        accounts |= {account for account, _ in r.file_days}


class _Seams:
    """The days ranges share: identical-line counters and in-file bank ids carried across the boundary."""

    def __init__(self, split: SplitProcessing, imp: Import, results: list[RangeResult],
                 collector: StatementCollector | None) -> None:
        self.split, self.imp, self.results = split, imp, results
        self.documents = split.documents
        self.detector = DuplicateDetector(split.processing.ledger, imp.tenant)
        self.last = collector.last if collector is not None else {}
        self.days = [{day for _, day in r.file_days} for r in results]
        self.changed_ids: set[str] = set()
        #: per shared day: the content digests counted so far; per (account, day): bank id -> first id
        self.counts: dict[date, Counter[str]] = {}
        self.bank_first: dict[tuple[str, date], dict[str, str]] = {}

    def join(self) -> int:
        """Correct the later ranges' lines on shared days; answers how many more duplicates there are."""
        shared = self._shared()
        if not any(shared):
            return 0
        total_days = sum(len(r.file_days) for r in self.results)
        later = [set().union(*self.days[k + 1:]) for k in range(len(self.results))]
        delta = 0
        for k, r in enumerate(self.results):
            fix, count = shared[k], self.days[k] & later[k]
            if fix and total_days > DuplicateDetector.CACHED_DAYS and \
                    any(day in fix for _, day in r.bank_id_days):
                raise _Fallback("bank ids on a shared day of a file with many days")
            if fix or count:
                delta += self._range(r, fix, count)
        reversed_ids = {i for r in self.results for i in r.reversed_ids}
        if reversed_ids & self.changed_ids:
            raise _Fallback("a reversal reverses a line whose id the merge changed")
        return delta

    def _shared(self) -> list[set[date]]:
        """Per range, the days an earlier range touched too; checks, replaying one run's identical-line counters
        (`line_ids.Occurrences`) over the ranges' day runs, that each such day still has its counters when the
        range comes to it, and that no day of such a range comes back after its counters were dropped.

        The replay counts what each range's own run added to a day: on a day two ranges share, more than one run
        adds (the later range counts again what the earlier counted). It drops days no later than one run does,
        so a day it keeps, one run keeps. A range without shared days meets its own days as one run does (the
        days of earlier ranges are older, dropped first)."""
        window: OrderedDict[date, int] = OrderedDict()
        entries = 0
        evicted: set[date] = set()
        before: set[date] = set()
        known = True
        found: list[set[date]] = []
        for k, r in enumerate(self.results):
            shared = self.days[k] & before
            found.append(shared)
            if shared and (not known or r.day_runs is None):
                raise _Fallback("a range too unordered to replay the counters' window")
            for day, added in r.day_runs or ():
                if day in window:
                    window.move_to_end(day)
                else:
                    if shared and day in evicted:
                        raise _Fallback(f"{day} left the counters' window before range {k} came back to it")
                    window[day] = 0
                while entries > line_ids.ENTRY_WINDOW and len(window) > 1:
                    old, dropped = window.popitem(last=False)
                    entries -= dropped
                    evicted.add(old)
                window[day] += added
                entries += added
            known = known and r.day_runs is not None
            before |= self.days[k]
        return found

    def _range(self, r: RangeResult, fix: set[date], count: set[date]) -> int:
        """Correct range `r`'s lines on the `fix` days, then count its lines on the `count` days. Only the
        chunks spanning those days are read, and in them only those days' lines are decoded (found by
        their `datePosted`, the way the chunk lines write it)."""
        needles = [f'"datePosted":"{day.isoformat()}"'.encode() for day in fix | count]
        lo, hi = min(fix | count), max(fix | count)
        local: dict[date, Counter[str]] = {}
        # the range's own counts join the carried ones once the whole range is corrected
        counted: dict[date, Counter[str]] = {}
        banks: dict[tuple[str, date], dict[str, str]] = {}
        delta = 0
        for index, first, last in r.chunk_days:
            if last < lo or first > hi:
                continue
            key = r.chunk_keys[index]
            data = self.documents.chunk(key)
            pieces: list[bytes] = []
            done = 0
            for at in sorted(_found(data, needles)):
                start = data.rfind(b"\n", 0, at) + 1
                end = data.find(b"\n", at)
                end = len(data) if end < 0 else end + 1
                row = staged_record(data[start:end])
                day = date.fromisoformat(row["datePosted"])
                if day in fix:
                    change = self._fix(row, day, local)
                    if change is not None:
                        delta += change
                        pieces += [data[done:start], staging_json(row).encode() + b"\n"]
                        done = end
                if day in count:
                    _count(row, day, counted, banks)
            if pieces:  # beside the range's own chunk, so a reduce that runs again reads what the range wrote
                merged = merged_key(key)
                self.documents.put_chunk(merged, [*pieces, data[done:]])
                r.chunk_keys[index] = merged
        for day, digests in counted.items():
            self.counts.setdefault(day, Counter()).update(digests)
        for day_key, ids in banks.items():
            known = self.bank_first.setdefault(day_key, {})
            for bank_id, tx_id in ids.items():
                known.setdefault(bank_id, tx_id)
        return delta

    def _fix(self, row: dict[str, Any], day: date, local: dict[date, Counter[str]]) -> int | None:
        """The row as one run stages it (None: unchanged; else the change in duplicates)."""
        account_id, amount = row["bankAccountId"], Decimal(row["amount"])
        description, bank_id = row["description"], row.get("bankTransactionId")
        if bank_id and bank_id in self.bank_first.get((account_id, day), {}):
            # its occurrence on the day, its id and its verdict follow the earlier range's line: one run gives them
            raise _Fallback("a bank id an earlier range had on a shared day")
        digest, _ = line_id(account_id, row["datePosted"], amount, description, bank_id, 0, 0, False)
        counter = local.setdefault(day, Counter())
        counter[digest] += 1
        n = counter[digest]
        pending = bool(row.get("pending"))
        _, own = line_id(account_id, row["datePosted"], amount, description, bank_id, n, row["lineNumber"], False,
                         pending)
        if own != row["transactionId"]:
            return None  # counted after the day came back to the range's window: one run counts it alike
        carried = self.counts.get(day, Counter())[digest]
        new_id = row["transactionId"]
        if carried and not bank_id:
            _, new_id = line_id(account_id, row["datePosted"], amount, description, None, n + carried,
                                row["lineNumber"], False, pending)
        verdict: Verdict | None | bool = False  # False: the range's own verdict stands
        if not bank_id and new_id != row["transactionId"]:
            verdict = self.detector.check(account_id, new_id, day, amount, description, None)
            if (row.get("duplicateReason") or {}).get("reason") in SESSION_REASONS or (
                    isinstance(verdict, Verdict) and verdict.reason in SESSION_REASONS):
                raise _Fallback("a session's line a line whose id the merge changed takes or leaves")
        if new_id == row["transactionId"] and verdict is False:
            return None
        before = bool(row.get("possibleDuplicate"))
        if new_id != row["transactionId"]:
            self.changed_ids.add(row["transactionId"])
            row["transactionId"] = new_id
        if verdict is not False:
            after_verdict = verdict if isinstance(verdict, Verdict) else None
            if _verdict_fields(row) == _verdict_fields(_with_verdict({}, after_verdict)):
                return 0
            last = self.last.get(account_id)
            if row.get("replacesPendingId") or (last is not None and day <= last.end_date):
                raise _Fallback("a changed verdict on a line the statement checks or pending links count")
            _with_verdict(row, after_verdict)
            return int(after_verdict is not None) - int(before)
        return 0



def _count(row: dict[str, Any], day: date, counted: dict[date, Counter[str]],
           banks: dict[tuple[str, date], dict[str, str]]) -> None:
    """Count a (corrected) row of a shared day for the ranges after it."""
    account_id, bank_id = row["bankAccountId"], row.get("bankTransactionId")
    digest, _ = line_id(account_id, row["datePosted"], Decimal(row["amount"]), row["description"], bank_id,
                        0, 0, False)
    counted.setdefault(day, Counter())[digest] += 1
    if bank_id:
        banks.setdefault((account_id, day), {}).setdefault(bank_id, row["transactionId"])


def _found(data: bytes, needles: list[bytes]) -> list[int]:
    """Where each of `needles` occurs in `data`."""
    found: list[int] = []
    for needle in needles:
        at = data.find(needle)
        while at >= 0:
            found.append(at)
            at = data.find(needle, at + len(needle))
    return found


_VERDICT_FIELDS = ("possibleDuplicate", "duplicateOf", "duplicateReason", "defaultDecision")


def _verdict_fields(row: dict[str, Any]) -> tuple[Any, ...]:
    """A chunk line's verdict (absent fields read as a new line's: `decode_row`)."""
    return (bool(row.get("possibleDuplicate")), row.get("duplicateOf"), row.get("duplicateReason"),
            row.get("defaultDecision") or "import")


def _with_verdict(row: dict[str, Any], verdict: Verdict | None) -> dict[str, Any]:
    """`row` with the verdict fields one run writes (last, in its order; none for a new line)."""
    for name in _VERDICT_FIELDS:
        row.pop(name, None)
    if verdict is None:
        return row
    row.update(possibleDuplicate=True, duplicateOf=verdict.duplicate_of,
               duplicateReason={"reason": verdict.reason, "certain": verdict.certain, **verdict.evidence},
               defaultDecision="skip" if verdict.certain else "import")
    return row
