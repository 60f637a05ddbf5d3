"""The matching engine: expected entries against statement lines, one to one, explained.

Pure Python (numpy for the assignment), deterministic, and independent of input order. The steps:

1. **Exact reference.** An entry's `externalRef` equal (letters and digits only, case ignored) to exactly
   one line's bank id, reference (end-to-end id) or a reference token of its text, in the same direction
   and currency and within the amount tolerance, and no other entry carrying the same reference: matched
   by rule EXACT_REFERENCE.
2. **Candidates.** For the other entries, lines in the same direction whose amount is within the
   tolerance (lines are bucketed by direction and units: the tolerance is a range of bucket keys) and
   whose booking date is within the window (each bucket is sorted by date: a bisection). Never all pairs.
   The tolerance is `amountTolerance`: 0 unless the client set it, so only the exact amount is a candidate.
3. **Score** in [0, 1]: amount difference, date distance, text similarity (rapidfuzz token-set ratio),
   reference tokens, counterparty (see `models.WEIGHTS`). Candidates under `suggestScore` are dropped.
4. **Global one-to-one assignment** maximising the summed score, per connected component of the
   candidate graph (`assignment.py`: enumeration for tiny components, the Hungarian algorithm otherwise;
   scipy's `linear_sum_assignment` is the tests' oracle).
5. **Ambiguity.** For each assigned pair the best alternative (another free line, a swap of lines with
   another entry, or the line going to another entry) is the runner-up; if the assignment would lose
   less than `ambiguityMargin` by taking it, the entry stays UNMATCHED and is flagged ambiguous. Identical
   amounts on the same day with nothing else to tell them apart lose nothing: always ambiguous.
6. **Thresholds.** Score >= `autoMatchScore`: MATCHED. Otherwise UNMATCHED, with the candidates at or
   above `suggestScore` listed as suggestions.
7. **Near amounts.** An entry left UNMATCHED also looks (in the same buckets) at the free lines beyond the
   tolerance but within its near range (`models.near_units`: 1% of its amount, at least 5 and at most 100
   minor units of the currency): a bank fee deducted or a rounding makes them worth a look, so they are
   suggested with their `amountDelta`, but they never take part in the assignment and are never matched.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from tximport.reconciliation.assignment import assign, components
from tximport.reconciliation.models import (
    UNIT_PLACES,
    WEIGHTS,
    Candidate,
    Entry,
    EntryResult,
    MatchingOptions,
    MatchStatus,
    Rule,
    RunnerUp,
    StatementLine,
    from_units,
    near_units,
    to_units,
)

PART_NAMES = ("amount", "date", "text", "reference", "counterparty")
_W = tuple(WEIGHTS[name] for name in PART_NAMES)
#: an alternative that loses no more than this is a tie: ambiguous whatever the margin
TIE = 1e-9
#: a token of free text holding a digit (tokens end at spaces and punctuation other than - . _)
_DIGIT_TOKEN = re.compile(r"[^\s,;:/|()\[\]{}#'\"]*[0-9][^\s,;:/|()\[\]{}#'\"]*")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")
_HAS_DIGIT = re.compile(r"[0-9]")


def normalise_ref(value: str | None) -> str:
    """A reference compared by its letters and digits only, upper case (`ERP-PAG 123` -> `ERPPAG123`)."""
    if not value:
        return ""
    if value.isascii() and value.isalnum():
        return value.upper()
    return _NOT_ALNUM.sub("", value).upper()


def reference_tokens(*texts: str | None) -> set[str]:
    """The tokens of free text that look like references: at least 4 letters/digits with a digit in them."""
    out: set[str] = set()
    for text in texts:
        if text and _HAS_DIGIT.search(text):
            for raw in _DIGIT_TOKEN.findall(text):
                token = _NOT_ALNUM.sub("", raw).upper()
                if len(token) >= 4:
                    out.add(token)
    return out


@dataclass(slots=True)
class _Side:
    """Precomputed features of one entry or line (canonical position `pos`)."""

    pos: int
    direction: str
    units: int
    day: int
    currency: str | None
    text: str
    refs: frozenset[str]
    counterparty: str
    near: int = 0  # an entry's near range in units (`models.near_units`)


_SCALE = Decimal(10) ** UNIT_PLACES


def _units(amount: Decimal) -> int:
    """`to_units`, with the common case (at most four decimals) first."""
    scaled = amount * _SCALE
    units = int(scaled)
    return units if units == scaled else to_units(amount)


def _entry_side(pos: int, e: Entry) -> _Side:
    refs = reference_tokens(e.description)
    if e.external_ref and len(normalise_ref(e.external_ref)) >= 3:
        refs.add(normalise_ref(e.external_ref))
    units = _units(e.amount)
    return _Side(pos, e.direction, units, e.transaction_date.toordinal(), e.currency,
                 default_process(e.description or ""), frozenset(refs), "", near_units(units, e.currency))


def _line_side(pos: int, line: StatementLine) -> _Side:
    refs = reference_tokens(line.description, line.reference)
    for value in (line.bank_transaction_id, line.reference):
        if value:
            ref = normalise_ref(value)
            if len(ref) >= 3:
                refs.add(ref)
    description, counterparty = line.description or "", line.counterparty or ""
    text = f"{description} {counterparty}" if description and counterparty else description or counterparty
    return _Side(pos, line.direction, _units(line.amount), line.booking_date.toordinal(), line.currency,
                 default_process(text), frozenset(refs), default_process(line.counterparty or ""))


def _entry_key(e: Entry, side: _Side) -> tuple[object, ...]:
    # the amount itself after its units: 1.004 and 1.00 are distinct entries in one bucket
    return (side.day, side.direction, side.units, e.amount, e.description, e.external_ref or "", e.currency or "",
            e.index)


def _line_key(line: StatementLine, side: _Side) -> tuple[object, ...]:
    return (side.day, side.direction, side.units, line.transaction_id)


class _Scorer:
    """Scores one entry against one line: the weighted parts, with the parts that cannot be judged left out."""

    def __init__(self, options: MatchingOptions) -> None:
        self.tolerance = options.tolerance_units
        self.window = options.date_window_days + 1

    def parts(self, e: _Side, line: _Side) -> tuple[float | None, ...]:
        # the amount part is 1 when equal, 0.5 at the tolerance (without one, at the edge of the entry's near
        # range) and 0 from twice that
        diff = abs(line.units - e.units)
        scale = self.tolerance or max(e.near, 1)
        amount = 1.0 if diff == 0 else max(0.0, 1.0 - 0.5 * diff / scale)
        distance = abs(line.day - e.day) / self.window
        date = 1.0 - distance * distance
        text = fuzz.token_set_ratio(e.text, line.text, processor=None) / 100.0 if e.text and line.text else None
        reference = self._reference(e.refs, line.refs)
        counterparty = (fuzz.partial_ratio(line.counterparty, e.text, processor=None) / 100.0
                        if line.counterparty and e.text else None)
        return amount, date, text, reference, counterparty

    @staticmethod
    def _reference(entry_refs: frozenset[str], line_refs: frozenset[str]) -> float | None:
        if not entry_refs or not line_refs:
            return None  # nothing to compare: neither evidence for nor against
        if entry_refs & line_refs:
            return 1.0
        best = 0.0
        for a in entry_refs:
            for b in line_refs:
                best = max(best, fuzz.ratio(a, b, processor=None))
        return 0.9 * best / 100.0 if best >= 85 else 0.0

    @staticmethod
    def total(parts: tuple[float | None, ...]) -> float:
        weighted = weight = 0.0
        for value, w in zip(parts, _W, strict=True):
            if value is not None:
                weighted += value * w
                weight += w
        return round(weighted / weight, 6) if weight else 0.0


class _LineIndex:
    """Lines bucketed by direction and units; each bucket sorted by booking date."""

    def __init__(self, lines: list[_Side]) -> None:
        buckets: dict[tuple[str, int], tuple[list[int], list[int]]] = {}
        for side in lines:  # lines arrive in canonical order: by date first
            days, positions = buckets.setdefault((side.direction, side.units), ([], []))
            days.append(side.day)
            positions.append(side.pos)
        self.buckets = buckets
        keys: dict[str, list[int]] = defaultdict(list)
        for direction, units in buckets:
            keys[direction].append(units)
        self.units = {d: sorted(v) for d, v in keys.items()}

    def around(self, direction: str, units: int, tolerance: int, day: int, window: int) -> Iterable[int]:
        """Positions of lines within `tolerance` units and `window` days."""
        keys = self.units.get(direction)
        if not keys:
            return
        for k in range(bisect_left(keys, units - tolerance), bisect_right(keys, units + tolerance)):
            days, positions = self.buckets[(direction, keys[k])]
            for j in range(bisect_left(days, day - window), bisect_right(days, day + window)):
                yield positions[j]


#: the reason of an entry no line fits
NO_LINE = "no line within the amount tolerance and the date window"
#: what that reason adds when lines of a near amount are suggested (never matched: outside the tolerance)
NEAR_LINES = "; lines of a near amount are suggested"


def match(entries: Sequence[Entry], lines: Sequence[StatementLine], options: MatchingOptions) -> list[EntryResult]:
    """Match `entries` against `lines`; answers one result per entry, in the order of `entries`."""
    return _Run(entries, lines, options).run()


class _Run:
    def __init__(self, entries: Sequence[Entry], lines: Sequence[StatementLine], options: MatchingOptions) -> None:
        self.options = options
        self.given = [e.index for e in entries]
        if len(set(self.given)) != len(self.given):
            raise ValueError("entries must have distinct indexes")
        if len({line.transaction_id for line in lines}) != len(lines):
            raise ValueError("statement lines must have distinct transaction ids")
        # features first (each computed once), then the canonical order, which makes the run independent of
        # the input's order
        e_sides = [_entry_side(0, e) for e in entries]
        l_sides = [_line_side(0, line) for line in lines]
        e_order = sorted(range(len(entries)), key=lambda i: _entry_key(entries[i], e_sides[i]))
        l_order = sorted(range(len(lines)), key=lambda p: _line_key(lines[p], l_sides[p]))
        self.entries = [entries[i] for i in e_order]
        self.lines = [lines[p] for p in l_order]
        self.e_sides = [e_sides[i] for i in e_order]
        self.l_sides = [l_sides[p] for p in l_order]
        for pos, side in enumerate(self.e_sides):
            side.pos = pos
        for pos, side in enumerate(self.l_sides):
            side.pos = pos
        self.scorer = _Scorer(options)
        self.results = [EntryResult(index=e.index) for e in self.entries]
        self.line_used = [False] * len(self.lines)
        # candidate edges per entry and per line: (other side's position, score, parts)
        self.by_entry: dict[int, dict[int, tuple[float, tuple[float | None, ...]]]] = {}
        self.by_line: dict[int, dict[int, float]] = defaultdict(dict)
        # lines of a near amount, beyond the tolerance, per unmatched entry: suggestions only (step 7)
        self.near: dict[int, dict[int, tuple[float, tuple[float | None, ...]]]] = {}
        self._index: _LineIndex | None = None

    def run(self) -> list[EntryResult]:
        self._exact_references()
        self._candidates()
        assignment = self._assign()
        self._decide(assignment)
        by_index = {r.index: r for r in self.results}
        return [by_index[index] for index in self.given]

    # 1. exact reference ----------------------------------------------------------------------------
    def _exact_references(self) -> None:
        refs = [normalise_ref(e.external_ref) for e in self.entries]
        counts: dict[str, int] = defaultdict(int)
        for ref in refs:
            counts[ref] += 1
        # only the tokens some entry carries are indexed
        line_by_ref: dict[str, set[int]] = defaultdict(set)
        for side in self.l_sides:
            for token in side.refs:
                if token in counts:
                    line_by_ref[token].add(side.pos)
        tolerance = self.options.tolerance_units
        for i, ref in enumerate(refs):
            if len(ref) < 3 or counts[ref] != 1 or len(line_by_ref.get(ref, ())) != 1:
                continue
            (p,) = line_by_ref[ref]
            e, line = self.e_sides[i], self.l_sides[p]
            if self.line_used[p] or e.direction != line.direction or abs(e.units - line.units) > tolerance:
                continue
            if e.currency and line.currency and e.currency != line.currency:
                continue
            parts = self.scorer.parts(e, line)
            self._settle(i, p, Rule.EXACT_REFERENCE, 1.0, parts, "externalRef equals the line's reference")

    # 2 + 3. candidates and scores -------------------------------------------------------------------
    def _candidates(self) -> None:
        index = self._index = _LineIndex([s for s in self.l_sides if not self.line_used[s.pos]])
        tolerance, window = self.options.tolerance_units, self.options.date_window_days
        floor = self.options.suggest_score
        for e in self.e_sides:
            if self.results[e.pos].status != MatchStatus.UNMATCHED:
                continue
            found: dict[int, tuple[float, tuple[float | None, ...]]] = {}
            for p in index.around(e.direction, e.units, tolerance, e.day, window):
                scored = self._scored(e, p, floor)
                if scored is not None:
                    found[p] = scored
                    self.by_line[p][e.pos] = scored[0]
            if found:
                self.by_entry[e.pos] = found

    def _scored(self, e: _Side, p: int, floor: float) -> tuple[float, tuple[float | None, ...]] | None:
        """The score and parts of line `p` for entry `e`, or None when its currency differs or it scores under
        `floor` (the direction, amount and date are the caller's)."""
        line = self.l_sides[p]
        if e.currency and line.currency and e.currency != line.currency:
            return None
        parts = self.scorer.parts(e, line)
        score = _Scorer.total(parts)
        return (score, parts) if score >= floor else None

    # 4. global assignment ---------------------------------------------------------------------------
    def _assign(self) -> dict[int, int]:
        """entry position -> line position, maximising the summed score (unassigned is worth 0)."""
        assignment: dict[int, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        for i, found in self.by_entry.items():
            if len(found) == 1:
                (p,) = found
                if len(self.by_line[p]) == 1:  # a component of one pair: nothing to weigh
                    assignment[i] = p
                    continue
            for p in found:
                rows.append(i)
                cols.append(p)
        for entry_ids, line_ids in components(zip(rows, cols, strict=True)):
            column = {p: c for c, p in enumerate(line_ids)}
            gain = np.zeros((len(entry_ids), len(line_ids)))
            for r, i in enumerate(entry_ids):
                for p, (score, _) in self.by_entry[i].items():
                    gain[r, column[p]] = score
            for r, c in assign(gain):
                assignment[entry_ids[r]] = line_ids[c]
        return assignment

    # 5 + 6. ambiguity and thresholds ----------------------------------------------------------------
    def _decide(self, assignment: dict[int, int]) -> None:
        owner = {p: i for i, p in assignment.items()}
        for i, found in self.by_entry.items():
            p = assignment.get(i)
            result = self.results[i]
            if p is None:
                result.reason = "every candidate is taken by a better-fitting entry"
                continue
            score, parts = found[p]
            runner_up = self._runner_up(i, p, assignment, owner)
            result.runner_up = runner_up
            if runner_up is not None and (runner_up.regret < self.options.ambiguity_margin or runner_up.regret <= TIE):
                result.ambiguous = True
                result.reason = (f"ambiguous: {runner_up.reason} (within {self.options.ambiguity_margin:g} of the "
                                 "chosen line)")
            elif score >= self.options.auto_match_score:
                self._settle(i, p, Rule.SCORED, score, parts, "best-scoring line of the global assignment")
                result.runner_up = runner_up
            else:
                threshold = self.options.auto_match_score
                result.reason = f"best score {_below(score, threshold)} is below autoMatchScore {threshold:g}"
        # every matched line is known now: an unmatched entry gets its suggestions, near amounts among them
        for pos, result in enumerate(self.results):
            if result.status != MatchStatus.UNMATCHED:
                continue
            near = self._near(pos)
            if near:
                self.near[pos] = near
            result.suggestions = self._suggestions(pos)
            if not result.reason:
                result.reason = NO_LINE + self._other_direction(self.e_sides[pos]) + (NEAR_LINES if near else "")

    # 7. near amounts -------------------------------------------------------------------------------
    def _near(self, i: int) -> dict[int, tuple[float, tuple[float | None, ...]]]:
        """The free lines beyond the tolerance but within entry `i`'s near range and the date window that score
        at least `suggestScore` (suggestions only; the same buckets, never all pairs)."""
        e, index, tolerance = self.e_sides[i], self._index, self.options.tolerance_units
        if index is None or e.near <= tolerance:
            return {}
        found: dict[int, tuple[float, tuple[float | None, ...]]] = {}
        for p in index.around(e.direction, e.units, e.near, e.day, self.options.date_window_days):
            # the lines within the tolerance were scored as candidates already
            if self.line_used[p] or abs(self.l_sides[p].units - e.units) <= tolerance:
                continue
            scored = self._scored(e, p, self.options.suggest_score)
            if scored is not None:
                found[p] = scored
        return found

    def _other_direction(self, e: _Side) -> str:
        """What the reason of an entry no line fits adds when a line of the other direction would fit its amount
        and day (an entry typed CREDIT for money out, say)."""
        other = "DEBIT" if e.direction == "CREDIT" else "CREDIT"
        index = self._index
        found = None if index is None else next(iter(index.around(
            other, e.units, self.options.tolerance_units, e.day, self.options.date_window_days)), None)
        if found is None:  # (a position: 0 is one)
            return ""
        return f" (a {other.lower()} line has that amount: check the entry's type)"

    def _runner_up(self, i: int, p: int, assignment: dict[int, int], owner: dict[int, int]) -> RunnerUp | None:
        score = self.by_entry[i][p][0]
        best: RunnerUp | None = None

        def gain(entry: int, line: int) -> float:
            found = self.by_entry.get(entry, {}).get(line)
            return found[0] if found else 0.0

        for p2, (s2, _) in self.by_entry[i].items():
            if p2 == p:
                continue
            other = owner.get(p2)
            if other is None:
                regret, reason = score - s2, f"line {self.lines[p2].transaction_id} scores {s2:.2f}"
            else:
                t = gain(other, p2)
                regret = score + t - s2 - gain(other, p)
                fits = "as well" if regret <= TIE else "better"  # a tie is no better fit
                reason = (f"line {self.lines[p2].transaction_id} scores {s2:.2f} but fits entry "
                          f"{self.entries[other].index} {fits}")
            best = _better(best, RunnerUp(self.lines[p2].transaction_id, s2, round(regret, 6), reason))
        for i2, s3 in self.by_line[p].items():
            if i2 == i:
                continue
            p3 = assignment.get(i2)
            regret = score - s3 + (gain(i2, p3) - gain(i, p3) if p3 is not None else 0.0)
            reason = f"entry {self.entries[i2].index} scores {s3:.2f} on the same line"
            best = _better(best, RunnerUp(self.lines[p].transaction_id, s3, round(regret, 6), reason))
        return best

    def _suggestions(self, i: int) -> list[Candidate]:
        """The entry's best candidates (those within the tolerance and those of a near amount), best first."""
        found = sorted([*self.by_entry.get(i, {}).items(), *self.near.get(i, {}).items()],
                       key=lambda kv: (-kv[1][0], self.lines[kv[0]].transaction_id))
        return [self._candidate(i, p, score, parts) for p, (score, parts) in found][: self.options.max_suggestions]

    def _candidate(self, i: int, p: int, score: float, parts: tuple[float | None, ...]) -> Candidate:
        e, line = self.e_sides[i], self.l_sides[p]
        return Candidate(line=self.lines[p].transaction_id, score=score, parts=_named(parts),
                         amount_delta=from_units(line.units - e.units), date_delta=line.day - e.day)

    def _settle(self, i: int, p: int, rule: Rule, score: float, parts: tuple[float | None, ...],
                reason: str) -> None:
        e, line = self.e_sides[i], self.l_sides[p]
        result = self.results[i]
        result.status, result.rule, result.line = MatchStatus.MATCHED, rule, self.lines[p].transaction_id
        result.score, result.parts, result.reason = score, _named(parts), reason
        result.amount_delta, result.date_delta = from_units(line.units - e.units), line.day - e.day
        result.suggestions = []
        self.line_used[p] = True


def _better(best: RunnerUp | None, candidate: RunnerUp) -> RunnerUp:
    if best is None or (candidate.regret, candidate.line) < (best.regret, best.line):
        return candidate
    return best


def _named(parts: tuple[float | None, ...]) -> dict[str, float]:
    return {name: value for name, value in zip(PART_NAMES, parts, strict=True) if value is not None}


def score_pair(entry: Entry, line: StatementLine, options: MatchingOptions) -> tuple[float, dict[str, float]]:
    """The score of one entry against one line and its named parts (no tolerance or window applied)."""
    parts = _Scorer(options).parts(_entry_side(0, entry), _line_side(0, line))
    return _Scorer.total(parts), _named(parts)


def is_candidate(entry: Entry, line: StatementLine, options: MatchingOptions) -> bool:
    """Whether `line` is within the entry's direction, currency, amount tolerance and date window."""
    if entry.direction != line.direction:
        return False
    if entry.currency and line.currency and entry.currency != line.currency:
        return False
    return (abs(to_units(line.amount) - to_units(entry.amount)) <= options.tolerance_units
            and abs((line.booking_date - entry.transaction_date).days) <= options.date_window_days)


def _below(score: float, threshold: float) -> str:
    """`score` (under `threshold`) with two decimals, or as many more (up to six) as it takes to write it under
    `threshold`; cut, not rounded, at six."""
    for places in range(2, 7):
        text = f"{score:.{places}f}"
        if float(text) < threshold:
            return text
    return f"{math.floor(score * 1_000_000) / 1_000_000:.6f}"
