"""Enrichment: TF-IDF learning against scikit-learn as the oracle, rules, bands, binding."""

from __future__ import annotations

import time
import uuid
from datetime import date
from decimal import Decimal

import pytest

from tximport.sessions.binding import apply_binding, expected_day, suggest
from tximport.sessions.enrichment import Band, Enricher, band_of, compile_pattern
from tximport.sessions.ids import ledger_transaction_id, parse_staged_id, staged_id
from tximport.sessions.learning import NearestDescription, char_wb_ngrams, normalise
from tximport.sessions.models import (
    CategoryType,
    EnrichmentRule,
    Frequency,
    LearningExample,
    RecurringItem,
    RecurringType,
    SessionType,
    StagedTransaction,
    StagedTransactionType,
)

T = StagedTransactionType
CORPUS = ["NETFLIX.COM 0001 SAO PAULO", "UBER *TRIP 2024-03-01", "Padaria Pão Quente", "SUPERMERCADO EXTRA 123",
          "PIX RECEBIDO JOAO SILVA", "SALARIO EMPRESA LTDA", "POSTO IPIRANGA", "uber eats pedido"]


def test_tfidf_matches_scikit_learn():
    sklearn = pytest.importorskip("sklearn.feature_extraction.text")
    index = NearestDescription(CORPUS)
    vectorizer = sklearn.TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=False)
    matrix = vectorizer.fit_transform([normalise(c) for c in CORPUS])
    for query in ["netflix assinatura", "UBER TRIP 2024-04-02", "padaria pao", "nothing alike zzz"]:
        expected = (vectorizer.transform([normalise(query)]) @ matrix.T).toarray()[0]
        ours = index.similarities(query)
        assert ours == pytest.approx(list(expected), abs=1e-9)


def test_ngrams_pad_words_and_keep_short_words_once():
    assert char_wb_ngrams("ab", (3, 5)) == [" ab", "ab ", " ab "]
    assert char_wb_ngrams("a", (3, 5)) == [" a "]
    assert normalise("  Pão  123  ") == "pao 0"


def example(description, category, ctype=CategoryType.EXPENSE, sub=None):
    return LearningExample(key=description, description=description, category_type=ctype, category_id=category,
                           subcategory_id=sub)


def staged(description, amount="-10", t=T.EXPENSE, **data) -> StagedTransaction:
    return StagedTransaction(id=str(uuid.uuid4()), session_id="s", seq=0, type=t, transaction_date=date(2024, 3, 5),
                             amount=Decimal(amount), description=description, data=data)


def test_bands_decide_what_is_applied():
    assert band_of(0.86) == Band.APPLIED and band_of(0.85) == Band.REVIEW
    assert band_of(0.60) == Band.REVIEW and band_of(0.5999) == Band.LOW
    enricher = Enricher([], [example("NETFLIX.COM", "streaming", sub="video"), example("SALARIO ACME", "salary",
                                                                                       CategoryType.INCOME)])
    exact = staged("NETFLIX.COM")
    assert enricher.enrich_line(exact, SessionType.ACCOUNT).band == Band.APPLIED
    assert exact.data["category_id"] == "streaming" and exact.data["subcategory_id"] == "video"
    assert exact.data["enrichment"]["needs_review"] is False
    far = staged("posto de gasolina")
    suggestion = enricher.enrich_line(far, SessionType.ACCOUNT)
    assert suggestion is None or suggestion.band == Band.LOW
    assert "category_id" not in far.data
    # an income line learns only from income lines
    income = staged("NETFLIX.COM", "10", T.INCOME)
    assert enricher.enrich_line(income, SessionType.ACCOUNT) is None or "category_id" not in income.data


def test_a_near_description_is_applied_and_flagged_for_review():
    enricher = Enricher([], [example("NETFLIX.COM SAO PAULO BR", "streaming")])
    near = staged("NETFLIX.COM RIO DE JANEIRO")
    found = enricher.enrich_line(near, SessionType.ACCOUNT)
    assert found is not None and found.band == Band.REVIEW, found
    assert near.data["category_id"] == "streaming" and near.data["enrichment"]["needs_review"] is True


def rule(**kw) -> EnrichmentRule:
    return EnrichmentRule(**{"id": str(uuid.uuid4()), "workspace_id": "w", "name": "r", **kw})


def test_rules_come_first_and_every_condition_must_hold():
    rules = [rule(priority=1, description_contains="uber", amount_min=Decimal(20), category_id="big-ride"),
             rule(priority=2, description_regex=r"^uber\b", category_id="ride", tag_ids=["t1"],
                  set_description="Uber"),
             rule(priority=3, counterparty="ACME", set_type=T.INCOME, category_id="salary")]
    enricher = Enricher(rules, [example("UBER TRIP", "learned")])
    small = staged("UBER *TRIP", "-12.00")
    found = enricher.enrich_line(small, SessionType.ACCOUNT)
    assert found.source == "rule" and found.confidence == 1.0
    assert small.data["category_id"] == "ride" and small.description == "Uber"
    assert small.data["original_description"] == "UBER *TRIP" and small.data["tag_ids"] == ["t1"]
    big = staged("Uber trip", "-25.00")
    enricher.enrich_line(big, SessionType.ACCOUNT)
    assert big.data["category_id"] == "big-ride"
    paid = staged("TED", "3000", T.EXPENSE, counterparty_name="ACME LTDA")
    enricher.enrich_line(paid, SessionType.ACCOUNT)
    assert paid.type == T.INCOME and paid.data["category_id"] == "salary"
    # a rule never moves a card line into an account type
    card = staged("TED", "30", T.CARD_EXPENSE, counterparty_name="ACME")
    enricher.enrich_line(card, SessionType.CARD)
    assert card.type == T.CARD_EXPENSE


def test_a_catastrophic_pattern_is_cut_short_not_hung():
    enricher = Enricher([rule(description_regex=r"(a+)+$", category_id="c")], [])
    started = time.monotonic()
    assert enricher.by_rule("a" * 40 + "!") is None
    assert time.monotonic() - started < 2
    with pytest.raises(ValueError):
        compile_pattern("(unclosed")
    with pytest.raises(ValueError):
        compile_pattern("x" * 201)


def test_staged_ids_carry_session_number_and_sequence():
    for number, seq in [(0, 0), (1, 7), (2**48 - 1, 2**32 - 1)]:
        text = staged_id(number, seq)
        assert uuid.UUID(text).version == 8
        assert parse_staged_id(text) == (number, seq)
    assert staged_id(3, 4) != staged_id(3, 4)
    assert parse_staged_id(str(uuid.uuid4())) is None and parse_staged_id("nope") is None
    assert ledger_transaction_id("s", "x", "2024-03-01") == ledger_transaction_id("s", "x", "2024-03-01")
    assert ledger_transaction_id("s", "x", "2024-03-01", mirror=True).startswith("2024-03-01-")


def recurring(**kw) -> RecurringItem:
    base = {"id": str(uuid.uuid4()), "workspace_id": "w", "type": RecurringType.EXPENSE,
            "description": "Netflix - Assinatura Mensal", "amount": Decimal("49.90"), "account_id": "acc",
            "category_id": "streaming", "sub_category_id": "video", "start_date": date(2024, 1, 5)}
    return RecurringItem(**{**base, **kw})


def test_bind_copies_what_the_guide_lists():
    line = staged("NETFLIX", "49.90", data_description="NETFLIX")
    item = recurring(tag_ids=["tv"])
    apply_binding(line, item, "acc")
    assert line.type == T.EXPENSE and line.description == "Netflix - Assinatura Mensal"
    assert line.data["category_id"] == "streaming" and line.data["subcategory_id"] == "video"
    assert line.data["recurring_expense_id"] == item.id and line.data["tag_ids"] == ["tv"]
    transfer = staged("TED", "-500", T.EXPENSE)
    apply_binding(transfer, recurring(type=RecurringType.TRANSFER, source_account_id="acc",
                                      destination_account_id="savings"), "acc")
    assert transfer.type == T.TRANSFER and transfer.data["destination_account_id"] == "savings"
    assert transfer.amount == Decimal(-500)


def test_suggestions_pair_each_item_with_its_best_line():
    netflix, rent = recurring(), recurring(description="Aluguel", amount=Decimal(1500), start_date=date(2023, 1, 10),
                                           category_id="home")
    lines = [staged("NETFLIX.COM", "-49.90"), staged("ALUGUEL APTO", "-1500.00"), staged("CAFE", "-49.00")]
    lines[0].transaction_date, lines[1].transaction_date = date(2024, 3, 6), date(2024, 3, 11)
    found = suggest([netflix, rent, recurring(card_id="c", type=RecurringType.CARD_TRANSACTION)], lines,
                    SessionType.ACCOUNT, "2024-03", "acc")
    assert {(c.item.id, c.line.id) for c in found} == {(netflix.id, lines[0].id), (rent.id, lines[1].id)}
    quarterly = recurring(frequency=Frequency.QUARTERLY, start_date=date(2024, 1, 5))
    assert expected_day(quarterly, "2024-03") is None and expected_day(quarterly, "2024-04") == date(2024, 4, 5)
    assert expected_day(recurring(end_date=date(2024, 2, 1)), "2024-03") is None
