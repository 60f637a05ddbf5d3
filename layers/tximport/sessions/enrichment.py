"""Enrichment: the workspace's own rules first, then learning from its committed transactions.

Each suggestion carries a confidence and a band: above 0.85 it is applied; from 0.60 to 0.85 it is
applied and flagged for a quick look (`data.enrichment.needs_review`); below 0.60 nothing is applied
and the line stays PENDING (the suggestion is still shown in `data.enrichment`). A rule is the
workspace's explicit choice: confidence 1.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

import regex

from tximport.sessions.learning import NearestDescription
from tximport.sessions.models import (
    CategoryType,
    EnrichmentRule,
    LearningExample,
    SessionType,
    StagedTransaction,
    StagedTransactionType,
)
from tximport.sessions.rules import allowed_types

APPLY_ABOVE = 0.85
REVIEW_FROM = 0.60
#: a rule's pattern may be this long at most; each match may take this long at most
MAX_PATTERN_LENGTH = 200
REGEX_TIMEOUT_SECONDS = 0.02
MAX_DESCRIPTION_LENGTH = 1000


class Band(StrEnum):
    APPLIED = "applied"
    REVIEW = "review"
    LOW = "low"


def band_of(confidence: float) -> Band:
    if confidence > APPLY_ABOVE:
        return Band.APPLIED
    if confidence >= REVIEW_FROM:
        return Band.REVIEW
    return Band.LOW


def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """A rule's regex, checked when the rule is saved (ValueError when too long or invalid)."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"the pattern is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return regex.compile(pattern, regex.IGNORECASE | regex.V1)
    except regex.error as exc:
        raise ValueError(f"invalid regular expression: {exc}") from None


def category_type_of(line_type: StagedTransactionType) -> CategoryType | None:
    """Which categories a type is filed under (None: the type takes no category)."""
    if line_type == StagedTransactionType.INCOME:
        return CategoryType.INCOME
    if line_type in (StagedTransactionType.EXPENSE, StagedTransactionType.CARD_EXPENSE):
        return CategoryType.EXPENSE
    return None


@dataclass(slots=True)
class Suggestion:
    source: str  # "rule" | "learning"
    confidence: float
    category_id: str | None = None
    subcategory_id: str | None = None
    tag_ids: list[str] = field(default_factory=list)
    description: str | None = None
    type: StagedTransactionType | None = None
    rule_id: str | None = None
    example: str | None = None

    @property
    def band(self) -> Band:
        return band_of(self.confidence)

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "confidence": round(self.confidence, 4),
                               "band": self.band.value, "needs_review": self.band == Band.REVIEW,
                               "applied": self.band != Band.LOW}
        for name in ("category_id", "subcategory_id", "rule_id", "example"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.tag_ids:
            out["tag_ids"] = list(self.tag_ids)
        return out


class Enricher:
    """The rules and learning examples of one workspace, ready to judge many lines."""

    def __init__(self, rules: Sequence[EnrichmentRule], examples: Sequence[LearningExample]) -> None:
        self.rules = sorted((r for r in rules if r.is_active), key=lambda r: (r.priority, r.created_at, r.id))
        self._patterns = {r.id: compile_pattern(r.description_regex) for r in self.rules if r.description_regex}
        self.examples: dict[CategoryType, list[LearningExample]] = {t: [] for t in CategoryType}
        for example in examples:
            self.examples[example.category_type].append(example)
        self._index = {t: NearestDescription([e.description for e in found]) for t, found in self.examples.items()
                       if found}

    def _rule_matches(self, rule: EnrichmentRule, description: str, amount: Decimal | None,
                      counterparty: str | None) -> bool:
        text = description[:MAX_DESCRIPTION_LENGTH]
        if rule.description_contains and rule.description_contains.casefold() not in text.casefold():
            return False
        if rule.description_regex:
            try:
                if not self._patterns[rule.id].search(text, timeout=REGEX_TIMEOUT_SECONDS):
                    return False
            except TimeoutError:
                return False  # a pathological pattern never stalls enrichment: it just does not match
        if rule.amount_min is not None or rule.amount_max is not None:
            if amount is None:
                return False
            magnitude = abs(amount)
            if rule.amount_min is not None and magnitude < rule.amount_min:
                return False
            if rule.amount_max is not None and magnitude > rule.amount_max:
                return False
        return not (rule.counterparty and (not counterparty
                                           or rule.counterparty.casefold() not in counterparty.casefold()))

    def by_rule(self, description: str, amount: Decimal | None = None,
                counterparty: str | None = None) -> Suggestion | None:
        for rule in self.rules:
            if self._rule_matches(rule, description, amount, counterparty):
                return Suggestion("rule", 1.0, rule.category_id, rule.subcategory_id, list(rule.tag_ids),
                                  rule.set_description, rule.set_type, rule_id=rule.id)
        return None

    def by_learning(self, description: str, category_type: CategoryType | None) -> Suggestion | None:
        if category_type is None or category_type not in self._index or not description.strip():
            return None
        match = self._index[category_type].nearest(description)
        if match is None:
            return None
        example = self.examples[category_type][match.index]
        return Suggestion("learning", match.similarity, example.category_id, example.subcategory_id,
                          list(example.tag_ids), example=example.description)

    def suggest(self, description: str, category_type: CategoryType | None, amount: Decimal | None = None,
                counterparty: str | None = None) -> Suggestion | None:
        """Rules first, then the nearest committed description."""
        return self.by_rule(description, amount, counterparty) or self.by_learning(description, category_type)

    def enrich_line(self, line: StagedTransaction, kind: SessionType) -> Suggestion | None:
        """Apply the best suggestion to a staged line (in place) per its band; answers it (or None)."""
        counterparty = line.data.get("counterparty_name") or line.data.get("counterparty")
        suggestion = self.by_rule(line.description, line.amount, counterparty if isinstance(counterparty, str)
                                  else None)
        if suggestion and suggestion.type and suggestion.type not in allowed_types(kind):
            suggestion.type = None  # a rule may not move a line out of its session's context
        line_type = suggestion.type if suggestion and suggestion.type else line.type
        if suggestion is None:
            suggestion = self.by_learning(line.description, category_type_of(line_type))
        if suggestion is None:
            return None
        line.data["enrichment"] = suggestion.to_data()
        if suggestion.band == Band.LOW:
            return suggestion
        if suggestion.type:
            line.type = suggestion.type
        if suggestion.description:
            line.data.setdefault("original_description", line.description)
            line.description = suggestion.description
        if category_type_of(line.type) is not None and suggestion.category_id and not line.data.get("category_id"):
            line.data["category_id"] = suggestion.category_id
            if suggestion.subcategory_id:
                line.data["subcategory_id"] = suggestion.subcategory_id
        if suggestion.tag_ids:
            line.data["tag_ids"] = sorted({*line.data.get("tag_ids", []), *suggestion.tag_ids})
        return suggestion
