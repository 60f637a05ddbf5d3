"""Properties of the matching engine on generated sets (hypothesis): the order of the input never changes
the matches or the suggestions, matches are one to one and within the tolerance (suggestions within the near
range), and an automatic match is never ambiguous."""

from __future__ import annotations

import dataclasses
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.reconciliation_data import generate
from tximport.reconciliation.engine import is_candidate, match, score_pair
from tximport.reconciliation.models import MatchingOptions, MatchStatus, Rule, from_units, near_units, to_units

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

datasets = st.builds(
    lambda seed, n, weekly, extra, twins: _with_twins(generate(n, seed=seed, weekly=weekly, extra=extra), twins, seed),
    seed=st.integers(0, 10_000), n=st.integers(5, 60), weekly=st.sampled_from([0.0, 0.3, 0.8]),
    extra=st.sampled_from([0.0, 0.2, 0.5]), twins=st.integers(0, 4))
options = st.builds(
    lambda tol, window, auto, margin: MatchingOptions(amountTolerance=tol, dateWindowDays=window,
                                                      autoMatchScore=auto, ambiguityMargin=margin),
    tol=st.sampled_from(["0", "0.01", "0.05", "0.50"]), window=st.integers(0, 7),
    auto=st.sampled_from([0.6, 0.72, 0.9]), margin=st.sampled_from([0.0, 0.05, 0.1]))


def _with_twins(data, twins: int, seed: int):
    """Add exact copies of some entries and lines (new index/id), the hardest case for ambiguity."""
    rnd = random.Random(seed)
    for k in range(min(twins, len(data.entries))):
        original = rnd.choice(data.entries)
        data.entries.append(dataclasses.replace(original, index=len(data.entries)))
        if data.lines:
            twin = rnd.choice(data.lines)
            data.lines.append(dataclasses.replace(twin, transaction_id=f"{twin.transaction_id}-twin{k}"))
    return data


def _content(e) -> tuple:
    return (e.transaction_date, e.direction, e.amount, e.description, e.external_ref, e.currency)


def _outcome(entries, results) -> list[tuple]:
    by_index = {e.index: e for e in entries}
    return sorted((_content(by_index[r.index]), r.status.value, r.line or "", r.ambiguous,
                   tuple(s.line for s in r.suggestions)) for r in results)


@PROPERTY
@given(data=datasets, opts=options, order=st.randoms(use_true_random=False))
def test_a_shuffled_input_gives_the_same_matches(data, opts, order):
    first = match(data.entries, data.lines, opts)
    entries, lines = list(data.entries), list(data.lines)
    order.shuffle(entries)
    order.shuffle(lines)
    again = match(entries, lines, opts)
    assert _outcome(data.entries, first) == _outcome(data.entries, again)
    assert [r.index for r in again] == [e.index for e in entries]  # answers in the caller's order


@PROPERTY
@given(data=datasets, opts=options)
def test_matches_are_one_to_one_and_within_tolerances(data, opts):
    results = match(data.entries, data.lines, opts)
    lines = {line.transaction_id: line for line in data.lines}
    taken = [r.line for r in results if r.status == MatchStatus.MATCHED]
    assert len(taken) == len(set(taken))
    for r in results:
        if r.status == MatchStatus.MATCHED:
            e = data.entries[r.index]
            line = lines[r.line]
            assert e.direction == line.direction
            assert abs(line.amount - e.amount) <= opts.amount_tolerance
            if r.rule == Rule.SCORED:
                assert is_candidate(e, line, opts)
        else:
            assert r.line is None and r.rule is None
            # a suggestion is within the tolerance or the entry's near range, never further
            e = data.entries[r.index]
            reach = max(opts.amount_tolerance, from_units(near_units(to_units(e.amount), e.currency)))
            assert all(abs(s.amount_delta) <= reach for s in r.suggestions), r


@PROPERTY
@given(data=datasets, opts=options)
def test_an_automatic_match_is_never_ambiguous(data, opts):
    results = match(data.entries, data.lines, opts)
    candidates = {e.index: [line for line in data.lines if is_candidate(e, line, opts)
                            and score_pair(e, line, opts)[0] >= opts.suggest_score] for e in data.entries}
    claimed_by: dict[str, list[int]] = {}
    for index, lines in candidates.items():
        for line in lines:
            claimed_by.setdefault(line.transaction_id, []).append(index)
    for r in results:
        if r.status != MatchStatus.MATCHED or r.rule != Rule.SCORED:
            continue
        e = data.entries[r.index]
        chosen = next(line for line in data.lines if line.transaction_id == r.line)
        # no identical twin entry competes for the same line
        rivals = [i for i in claimed_by[r.line] if i != r.index]
        assert not [i for i in rivals if _content(data.entries[i]) == _content(e)], r
        # no identical twin line is a candidate of the entry
        same = [line for line in candidates[r.index] if line.transaction_id != r.line
                and (line.booking_date, line.amount, line.direction, line.description, line.counterparty)
                == (chosen.booking_date, chosen.amount, chosen.direction, chosen.description, chosen.counterparty)]
        assert not same, r
        # a line only this entry wants scores at least the margin below the chosen one
        for line in candidates[r.index]:
            if line.transaction_id != r.line and claimed_by[line.transaction_id] == [r.index]:
                assert score_pair(e, line, opts)[0] <= r.score - opts.ambiguity_margin + 1e-9, (r, line)
        assert not r.ambiguous
        assert r.runner_up is None or (r.runner_up.regret >= opts.ambiguity_margin and r.runner_up.regret > 0)
