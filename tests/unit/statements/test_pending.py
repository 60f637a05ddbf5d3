"""Pending -> booked and reversal matching, pure."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tximport.statements.pending import LineKey, expired, match_pending, reversed_line, similar

D = Decimal


def _key(tx: str, day: int, amount: str, text: str = "", ref: str | None = None) -> LineKey:
    return LineKey(tx, date(2024, 3, day), D(amount), text, ref)


def test_texts_are_similar_when_one_holds_the_other_or_they_share_half_their_words():
    assert similar("CARD 1234 COFFEE BAR", "COFFEE BAR")
    assert similar("Amazon Mktp DE*123", "AMAZON MKTP DE 123 Luxembourg")
    assert not similar("COFFEE BAR", "RENT MARCH")


def test_the_same_bank_reference_books_a_pending_line_whatever_the_text():
    pending = [_key("p1", 1, "-9.99", "PRE-AUTH", "R1"), _key("p2", 1, "-9.99", "SHOP", "R2")]
    assert match_pending(_key("b", 4, "-9.99", "something else", "R2"), pending, 5) == pending[1]


def test_the_same_amount_within_the_window_and_a_similar_text_books_a_pending_line():
    pending = [_key("p1", 1, "-20.00", "FUEL STATION 12")]
    assert match_pending(_key("b", 3, "-20.00", "FUEL STATION 12 BERLIN"), pending, 5) == pending[0]
    assert match_pending(_key("b", 9, "-20.00", "FUEL STATION 12"), pending, 5) is None  # too late
    assert match_pending(_key("b", 3, "-21.00", "FUEL STATION 12"), pending, 5) is None  # another amount
    assert match_pending(_key("b", 3, "-20.00", "GROCERIES"), pending, 5) is None  # another text


def test_pending_lines_older_than_the_window_are_expired():
    pending = [_key("old", 1, "-5"), _key("new", 8, "-5")]
    assert expired(pending, date(2024, 3, 12), 11) == []
    assert expired(pending, date(2024, 3, 12), 5) == [pending[0]]


def test_a_reversal_links_the_latest_earlier_line_with_the_opposite_amount():
    earlier = [_key("a", 1, "-30.00", "DIRECT DEBIT GYM"), _key("b", 5, "-30.00", "DIRECT DEBIT GYM"),
               _key("c", 6, "-30.00", "OTHER")]
    assert reversed_line(_key("r", 7, "30.00", "RETURN DIRECT DEBIT GYM"), earlier, 60) == earlier[1]
    assert reversed_line(_key("r", 7, "31.00", "RETURN DIRECT DEBIT GYM"), earlier, 60) is None
