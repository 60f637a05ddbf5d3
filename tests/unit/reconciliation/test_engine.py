"""The matching engine, example by example: each step of the issue, with the explanation it gives."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from tests.support.reconciliation_data import generate, precision_recall
from tximport.reconciliation import assignment, engine
from tximport.reconciliation.engine import match, normalise_ref, reference_tokens
from tximport.reconciliation.models import Direction, Entry, MatchingOptions, MatchStatus, Rule, StatementLine, to_units

OPTIONS = MatchingOptions()
#: a client that asked for a tolerance (`matchingOptions.amountTolerance`): amounts within it may match
TOLERANT = MatchingOptions(amountTolerance=Decimal("0.05"))
D, C = Direction.DEBIT, Direction.CREDIT


def entry(index: int, amount: str, day: int, description: str = "Pagamento fornecedor XYZ",
          ref: str | None = None, direction: Direction = D, currency: str | None = None) -> Entry:
    return Entry(index=index, direction=direction, amount=Decimal(amount), description=description,
                 transaction_date=date(2024, 1, day), external_ref=ref, currency=currency)


def line(tx: str, amount: str, day: int, description: str = "", direction: Direction = D, *,
         bank_id: str | None = None, reference: str | None = None, counterparty: str | None = None,
         currency: str | None = "BRL") -> StatementLine:
    return StatementLine(transaction_id=tx, direction=direction, amount=Decimal(amount),
                         booking_date=date(2024, 1, day), description=description, currency=currency,
                         bank_transaction_id=bank_id, reference=reference, counterparty=counterparty)


def by_index(results):
    return {r.index: r for r in results}


def test_the_documents_example_matches_by_reference_by_score_and_leaves_one_unmatched():
    # Given the document's three entries and what the bank booked
    entries = [entry(0, "5000.00", 10, "Pagamento NF 12345", "ERP-PAG-12345"),
               entry(1, "15000.00", 12, "Recebimento cliente ABC", "ERP-REC-67890", direction=C),
               entry(2, "3000.00", 15, "Pagamento fornecedor XYZ", "ERP-PAG-11111")]
    lines = [line("L1", "5000.00", 11, "TED ENVIADA ERP-PAG-12345"),
             line("L2", "15000.00", 13, "PIX RECEBIDO CLIENTE ABC", C, counterparty="ABC COMERCIO"),
             line("L3", "42.00", 15, "TARIFA")]
    # When they are matched
    results = by_index(match(entries, lines, OPTIONS))
    # Then the reference finds the first, the score the second, and the third stays unmatched
    assert (results[0].status, results[0].rule, results[0].line) == (MatchStatus.MATCHED, Rule.EXACT_REFERENCE, "L1")
    assert (results[1].status, results[1].rule, results[1].line) == (MatchStatus.MATCHED, Rule.SCORED, "L2")
    assert results[1].date_delta == 1 and results[1].amount_delta == Decimal("0.00")
    assert set(results[1].parts) >= {"amount", "date", "text", "counterparty"}
    assert results[2].status == MatchStatus.UNMATCHED and results[2].line is None
    assert "no line within" in results[2].reason


def test_references_compare_letters_and_digits_only():
    assert normalise_ref("erp-pag 12345") == "ERPPAG12345"
    assert reference_tokens("TED ERP-PAG-12345 / NF 99", None) == {"ERPPAG12345"}
    assert reference_tokens("INV 2024.0042 x") == {"20240042"}


def test_an_exact_reference_must_be_unique_on_both_sides():
    entries = [entry(0, "10.00", 5, "a", "REF-1"), entry(1, "10.00", 20, "b", "REF-1")]
    lines = [line("L1", "10.00", 5, "x", bank_id="REF-1")]
    results = match(entries, lines, OPTIONS)
    assert all(r.rule != Rule.EXACT_REFERENCE for r in results)


def test_a_reference_match_still_needs_the_amount_within_tolerance():
    results = match([entry(0, "100.00", 5, "a", "REF-9")], [line("L1", "150.00", 5, bank_id="REF-9")], OPTIONS)
    assert results[0].status == MatchStatus.UNMATCHED


@pytest.mark.parametrize(("amount", "day", "direction", "currency", "candidate"), [
    ("100.05", 10, D, "BRL", True),  # at the amount tolerance
    ("100.06", 10, D, "BRL", False),  # past it
    ("100.00", 15, D, "BRL", True),  # at the date window
    ("100.00", 16, D, "BRL", False),  # past it
    ("100.00", 10, C, "BRL", False),  # the other direction
    ("100.00", 10, D, "USD", False),  # another currency
])
def test_candidates_are_bucketed_by_direction_currency_amount_and_date(amount, day, direction, currency,
                                                                        candidate):
    e = entry(0, "100.00", 10, "Pagamento fornecedor XYZ", currency="BRL")
    results = match([e], [line("L1", amount, day, "PAGAMENTO FORNECEDOR XYZ", direction, currency=currency)],
                    TOLERANT)
    assert (results[0].line == "L1") is candidate
    assert engine.is_candidate(e, line("L1", amount, day, "", direction, currency=currency), TOLERANT) is candidate


def test_the_assignment_is_global_not_first_come():
    # entry 0 fits L1 slightly better than L2, but entry 1 can only take L1: the best total gives L2 to 0
    entries = [entry(0, "80.00", 10, "Aluguel sala"), entry(1, "80.00", 12, "Aluguel sala")]
    lines = [line("L1", "80.00", 11, "ALUGUEL SALA"), line("L2", "80.00", 8, "ALUGUEL SALA")]
    options = MatchingOptions(dateWindowDays=2, ambiguityMargin=0.0)
    results = by_index(match(entries, lines, options))
    assert (results[0].line, results[1].line) == ("L2", "L1")


def test_identical_amounts_on_the_same_day_with_nothing_to_tell_them_apart_stay_unmatched():
    entries = [entry(0, "9.90", 3, "Cafe"), entry(1, "9.90", 3, "Cafe")]
    lines = [line("L1", "9.90", 3, "CAFE"), line("L2", "9.90", 3, "CAFE")]
    results = match(entries, lines, OPTIONS)
    assert all(r.status == MatchStatus.UNMATCHED and r.ambiguous for r in results)
    assert all(r.runner_up is not None and r.runner_up.regret == 0 for r in results)
    assert {s.line for s in results[0].suggestions} == {"L1", "L2"}


def test_a_runner_up_within_the_margin_is_ambiguous_and_outside_it_is_explained():
    e = entry(0, "50.00", 10, "Servico de limpeza")
    close = match([e], [line("L1", "50.00", 10, "SERVICO DE LIMPEZA"), line("L2", "50.00", 11, "SERVICO DE LIMPEZA")],
                  MatchingOptions(ambiguityMargin=0.05))[0]
    assert close.ambiguous and close.status == MatchStatus.UNMATCHED
    clear = match([e], [line("L1", "50.00", 10, "SERVICO DE LIMPEZA"), line("L2", "50.00", 14, "OUTRA COISA")],
                  OPTIONS)[0]
    assert clear.status == MatchStatus.MATCHED and clear.line == "L1" and not clear.ambiguous
    assert clear.runner_up.line == "L2" and clear.runner_up.regret >= OPTIONS.ambiguity_margin
    assert "L2 scores" in clear.runner_up.reason


def test_scores_below_the_auto_threshold_are_suggestions():
    e = entry(0, "70.00", 10, "Consultoria mensal")
    result = match([e], [line("L1", "70.04", 14, "PAGAMENTO DIVERSOS")], TOLERANT)[0]
    assert result.status == MatchStatus.UNMATCHED and result.line is None
    assert [s.line for s in result.suggestions] == ["L1"]
    suggestion = result.suggestions[0]
    assert TOLERANT.suggest_score <= suggestion.score < TOLERANT.auto_match_score
    assert (suggestion.amount_delta, suggestion.date_delta) == (Decimal("0.04"), 4)
    assert "below autoMatchScore" in result.reason


def test_thresholds_and_windows_are_settable():
    e = entry(0, "70.00", 10, "Consultoria mensal")
    lenient = MatchingOptions(autoMatchScore=0.5, suggestScore=0.3, dateWindowDays=10, amountTolerance=Decimal("1"))
    result = match([e], [line("L1", "70.80", 18, "PAGAMENTO DIVERSOS")], lenient)[0]
    assert result.status == MatchStatus.MATCHED and result.amount_delta == Decimal("0.80")
    with pytest.raises(ValueError, match="suggestScore"):
        MatchingOptions(autoMatchScore=0.4, suggestScore=0.5)


def _one(amount: str, line_amount: str, currency: str, options: MatchingOptions = OPTIONS, direction: Direction = D):
    """One entry against one line of the same day, text and direction in `currency`."""
    return match([entry(0, amount, 10, "Wire ACME", direction=direction, currency=currency)],
                 [line("L1", line_amount, 10, "WIRE ACME", direction, currency=currency)], options)[0]


@pytest.mark.parametrize(("amount", "line_amount", "currency", "delta"), [
    ("100.300", "100.345", "KWD", "0.045"),  # qa39b F3: MATCHED, and the reconciliation COMPLETED
    ("100.00", "99.99", "EUR", "-0.01"),  # qa39b F3: a 100.00 debit MATCHED a -99.99 line
    ("1500", "1503", "JPY", "3"),
    ("0.050", "0.045", "BHD", "-0.005"),
])
def test_by_default_only_the_exact_amount_matches_and_a_near_one_is_suggested(amount, line_amount, currency, delta):
    # Given an entry and a line alike in everything but a small amount difference, with no matchingOptions
    result = _one(amount, line_amount, currency, direction=C if currency == "KWD" else D)
    # Then it is not matched, and the line is suggested with how far it is
    assert (result.status, result.line, result.rule) == (MatchStatus.UNMATCHED, None, None)
    assert [(s.line, s.amount_delta) for s in result.suggestions] == [("L1", Decimal(delta))]
    assert result.reason == engine.NO_LINE + engine.NEAR_LINES
    # while the exact amount matches
    exact = _one(amount, amount, currency, direction=C if currency == "KWD" else D)
    assert (exact.status, exact.rule, exact.amount_delta) == (MatchStatus.MATCHED, Rule.SCORED, Decimal(0))


def test_an_amount_tolerance_the_client_sets_lets_a_near_amount_match_and_shows_the_difference():
    result = _one("100.00", "99.99", "EUR", TOLERANT)
    assert (result.status, result.rule, result.amount_delta) == (MatchStatus.MATCHED, Rule.SCORED, Decimal("-0.01"))
    # and an exact reference needs the exact amount unless the client set one
    ref = [entry(0, "100.00", 10, "x", "REF-77", currency="EUR")], [line("L1", "99.99", 10, bank_id="REF-77",
                                                                         currency="EUR")]
    assert match(*ref, OPTIONS)[0].status == MatchStatus.UNMATCHED
    assert [s.line for s in match(*ref, OPTIONS)[0].suggestions] == ["L1"]
    assert match(*ref, TOLERANT)[0].rule == Rule.EXACT_REFERENCE


@pytest.mark.parametrize(("amount", "line_amount"), [("0.050", "0.001"), ("0.001", "0.050")])
def test_a_bhd_amount_is_never_a_candidate_for_one_fifty_times_apart(amount, line_amount):
    # qa39b F3: a 0.050 BHD entry was a candidate for a 0.001 line
    result = _one(amount, line_amount, "BHD")
    assert (result.status, result.suggestions, result.reason) == (MatchStatus.UNMATCHED, [], engine.NO_LINE)


@pytest.mark.parametrize(("amount", "inside", "outside", "currency"), [
    ("0.050", "0.045", "0.044", "BHD"),  # 5 fils (1% of 0.050 is less)
    ("1500", "1515", "1516", "JPY"),  # 1% of 1500
    ("100.000", "100.100", "100.101", "KWD"),  # 100 minor units (1% would be 1.000)
    ("2.00", "2.05", "2.06", "EUR"),  # 5 cents
])
def test_suggestions_reach_the_currencys_near_range_and_no_further(amount, inside, outside, currency):
    near = _one(amount, inside, currency)
    assert near.status == MatchStatus.UNMATCHED and [s.line for s in near.suggestions] == ["L1"]
    far = _one(amount, outside, currency)
    assert (far.status, far.suggestions, far.reason) == (MatchStatus.UNMATCHED, [], engine.NO_LINE)


@pytest.mark.parametrize(("amount", "currency", "near"), [
    ("2.00", "EUR", "0.05"), ("50.00", "EUR", "0.50"), ("100.00", "EUR", "1.00"), ("1000000.00", "EUR", "1.00"),
    ("100.300", "KWD", "0.100"), ("0.050", "BHD", "0.005"), ("0.001", "BHD", "0.005"), ("1500", "JPY", "15"),
    ("1", "JPY", "5"), ("10000000", "JPY", "100"), ("1.0000", "CLF", "0.0100"), ("0.0100", "CLF", "0.0005"),
    ("7.00", None, "0.07"),
])
def test_the_near_range_is_one_percent_between_5_and_100_minor_units_of_the_currency(amount, currency, near):
    from tximport.reconciliation.models import near_units

    units = to_units(Decimal(amount))
    assert near_units(units, currency) == to_units(Decimal(near))


def test_a_line_of_a_near_amount_never_makes_an_exact_match_ambiguous():
    # the exact line was booked a day later; one a cent off on the day scored within the margin of it
    entries = [entry(0, "100.00", 10, "Aluguel sala", currency="EUR")]
    lines = [line("L1", "100.00", 11, "ALUGUEL SALA", currency="EUR"), line("L2", "100.01", 10, "ALUGUEL SALA",
                                                                            currency="EUR")]
    result = match(entries, lines, OPTIONS)[0]
    assert (result.status, result.line, result.ambiguous, result.runner_up) == (MatchStatus.MATCHED, "L1", False,
                                                                               None)
    assert match(entries, lines, TOLERANT)[0].ambiguous  # (a client's tolerance makes it a rival)


def test_a_near_amount_matched_exactly_by_another_entry_is_not_suggested():
    entries = [entry(0, "100.00", 10, "Aluguel", currency="EUR"), entry(1, "100.01", 10, "Aluguel", currency="EUR")]
    results = by_index(match(entries, [line("L1", "100.00", 10, "ALUGUEL", currency="EUR")], OPTIONS))
    assert results[0].line == "L1"
    assert results[1].status == MatchStatus.UNMATCHED and results[1].suggestions == []


def test_lines_need_distinct_ids():
    with pytest.raises(ValueError, match="distinct"):
        match([entry(0, "1.00", 1)], [line("L", "1.00", 1), line("L", "2.00", 1)], OPTIONS)


def _total(run, chosen):
    return sum(run.by_entry[i][p][0] for i, p in chosen.items())


@pytest.mark.parametrize("seed", range(6))
def test_the_assignment_maximises_the_summed_score_like_scipys_solver(seed):
    data = generate(150, seed=seed, weekly=0.5, extra=0.3)
    run = engine._Run(data.entries, data.lines, OPTIONS)
    run._candidates()
    ours = run._assign()
    gain = np.zeros((len(run.entries), len(run.lines)))
    for i, found in run.by_entry.items():
        for p, (score, _) in found.items():
            gain[i, p] = score
    rows, cols = linear_sum_assignment(gain, maximize=True)
    assert _total(run, ours) == pytest.approx(gain[rows, cols].sum(), abs=1e-9)
    assert len(set(ours.values())) == len(ours)


@pytest.mark.parametrize("seed", range(40))
def test_the_solver_reaches_scipys_optimum_on_random_sparse_matrices(seed):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 45)), int(rng.integers(1, 45)))
    gain = np.where(rng.random(shape) < rng.uniform(0.05, 0.9), rng.integers(1, 100, shape) / 100.0, 0.0)
    pairs = assignment.assign(gain)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    assert assignment.total(gain, pairs) == pytest.approx(gain[rows, cols].sum(), abs=1e-9)
    assert len({r for r, _ in pairs}) == len(pairs) == len({c for _, c in pairs})
    assert all(gain[r, c] > 0 for r, c in pairs)


def test_components_split_a_bipartite_graph():
    found = assignment.components([(0, 5), (1, 5), (2, 7), (3, 8), (3, 9), (4, 9)])
    assert found == [([0, 1], [5]), ([2], [7]), ([3, 4], [8, 9])]


def test_a_brute_force_oracle_agrees_on_small_components():
    entries = [entry(i, "25.00", 10 + i, f"Pedido {i}") for i in range(4)]
    lines = [line(f"L{k}", "25.00", 9 + k, f"PEDIDO {k}") for k in range(5)]
    run = engine._Run(entries, lines, MatchingOptions(suggestScore=0.0))
    run._candidates()
    best = 0.0
    for perm in itertools.permutations(range(5), 4):
        best = max(best, sum(run.by_entry[i].get(p, (0.0,))[0] for i, p in enumerate(perm)))
    assert _total(run, run._assign()) == pytest.approx(best)


def test_generated_set_precision_and_recall():
    data = generate(3000, seed=11)
    results = match(data.entries, data.lines, OPTIONS)
    precision, recall, matched, _ = precision_recall(results, data.truth)
    assert precision >= 0.99, precision
    assert recall >= 0.9, recall
    assert matched > 2500
    # the lines a cent off (the set's rounding) are suggested to their entries, never matched by default
    assert all(r.amount_delta == 0 for r in results if r.status == MatchStatus.MATCHED)
    cent_off = [r for r in results if r.status == MatchStatus.UNMATCHED and data.truth[r.index] and any(
        s.line == data.truth[r.index] and abs(s.amount_delta) == Decimal("0.01") for s in r.suggestions)]
    assert len(cent_off) > 100
    # a client that sets a tolerance of a few cents has them matched as well
    precision, tolerant_recall, _, _ = precision_recall(match(data.entries, data.lines, TOLERANT), data.truth)
    assert precision >= 0.99 and tolerant_recall > recall + 0.03, (precision, tolerant_recall, recall)


def test_an_entry_of_the_wrong_type_is_told_a_line_of_the_other_direction_has_its_amount():
    """A CREDIT entry of 33.33 where the ledger has a 33.33 debit that day: unmatched (directions never mix), and
    the reason says so instead of claiming no line has the amount; an entry no line of either direction fits keeps
    the plain reason."""
    results = by_index(match([entry(0, "33.33", 15, "Estorno", direction=C), entry(1, "44.44", 15)],
                             [line("L1", "33.33", 15, "ESTORNO", D)], OPTIONS))
    assert results[0].status == MatchStatus.UNMATCHED
    assert results[0].reason == engine.NO_LINE + " (a debit line has that amount: check the entry's type)"
    assert results[1].reason == engine.NO_LINE


def test_identical_entries_on_identical_lines_are_explained_as_a_tie():
    """Two identical entries against two identical lines: both ambiguous (the tie rule), and the reason says the
    other line fits the other entry as well, not better (it claimed a better fit with regret 0)."""
    entries = [entry(0, "100.00", 3, "Card shop A"), entry(1, "100.00", 3, "Card shop A")]
    lines = [line("L1", "100.00", 3, "CARD SHOP A"), line("L2", "100.00", 3, "CARD SHOP A")]
    results = by_index(match(entries, lines, OPTIONS))
    assert all(r.status == MatchStatus.UNMATCHED and r.ambiguous for r in results.values())
    reasons = [r.reason for r in results.values()]
    assert not any("better" in reason for reason in reasons) and any("as well" in reason for reason in reasons), reasons
