"""Amounts and dates as statement files write them."""

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tximport.formats.base import AMBIGUOUS_DATE_STYLE, FileError
from tximport.formats.dates import DateStyleVote, make_date_parser, parse_date
from tximport.formats.values import (
    AmountShapes,
    amount_evidence,
    check_storable,
    infer_decimal_separator,
    make_amount_parser,
    parse_amount,
    parse_amount_column,
    read_amount_column,
)
from tximport.models import DateStyle

L, M, B = DateStyle.LITTLE_ENDIAN, DateStyle.MIDDLE_ENDIAN, DateStyle.BIG_ENDIAN


@pytest.mark.parametrize(
    ("text", "separator", "expected"),
    [
        ("-12.50", ".", "-12.50"),
        ("1,234.56", ".", "1234.56"),
        ("1 234.56", ".", "1234.56"),
        ("1'234.56", ".", "1234.56"),
        ("(12.00)", ".", "-12.00"),
        ("12.00-", ".", "-12.00"),
        ("+7.5", ".", "7.5"),
        ("$1,000.00", ".", "1000.00"),
        ("-$12.00", ".", "-12.00"),
        ("£ 3.10", ".", "3.10"),
        ("CHF 1'250.00", ".", "1250.00"),
        ("12.00 DR", ".", "-12.00"),
        ("12.00 CR", ".", "12.00"),
        ("1.000", ".", "1.000"),
        ("1.234,56", ",", "1234.56"),
        ("-1.234,56", ",", "-1234.56"),
        ("1 234,56", ",", "1234.56"),
        ("1\u00a0234,56 €", ",", "1234.56"),
        ("EUR -4.711,98", ",", "-4711.98"),
        ("1.000", ",", "1000"),
        ("12,5", ",", "12.5"),
        ("(1.000,00)", ",", "-1000.00"),
        ("1.000.000", ",", "1000000"),
        ("250", ",", "250"),
    ],
)
def test_amounts_in_each_style(text: str, separator: str, expected: str) -> None:
    assert make_amount_parser(separator)(text) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "separator"),
    [("abc", "."), ("", "."), ("1e5", "."), ("NaN", "."), ("Infinity", "."), ("1_000", "."),
     ("1,23.4", "."), ("1.234,56", "."), ("1,234.56", ","), ("--5", "."), ("12 IDR DR x", "."),
     ("1.2.3,4", ",")],
)
def test_not_amounts_raise_value_error(text: str, separator: str) -> None:
    with pytest.raises(ValueError):
        make_amount_parser(separator)(text)


def test_currency_code_ending_in_dr_is_not_a_debit_marker() -> None:
    assert make_amount_parser(".")("12.00 IDR") == Decimal("12.00")


@pytest.mark.parametrize(
    ("text", "evidence"),
    [("1.234,56", ","), ("1,234.56", "."), ("12,5", ","), ("12.50", "."), ("0,125", ","),
     ("1.000.000", ","), ("1,000,000", "."), ("1234,567", ","), ("1.000", None), ("1,000", None),
     ("12", None), ("-1.000", None)],
)
def test_amount_evidence(text: str, evidence: str | None) -> None:
    assert amount_evidence(text) == evidence


def test_decimal_separator_is_decided_by_the_whole_column() -> None:
    assert infer_decimal_separator(["1.000", "1.000", "1.234,56"]) == ","
    assert infer_decimal_separator(["1,000", "12.50"]) == "."
    assert infer_decimal_separator(["1.000", "2.000"], default=",") == ","
    assert parse_amount("1.234,56") == Decimal("1234.56")  # a telling value alone decides


@pytest.mark.parametrize(
    ("text", "style", "expected"),
    [
        ("2024-12-31", None, date(2024, 12, 31)),
        ("2024-12-31T10:00:00Z", None, date(2024, 12, 31)),
        ("2024/12/31", None, date(2024, 12, 31)),
        ("20241231", None, date(2024, 12, 31)),
        ("31-Dec-2024", None, date(2024, 12, 31)),
        ("31 Dec 2024", None, date(2024, 12, 31)),
        ("Dec 31, 2024", None, date(2024, 12, 31)),
        ("December 31 2024", None, date(2024, 12, 31)),
        ("31. Dezember 2024", None, date(2024, 12, 31)),
        ("31.12.2024", L, date(2024, 12, 31)),
        ("31.12.24", L, date(2024, 12, 31)),
        ("12/31/2024", M, date(2024, 12, 31)),
        ("1/31'24", M, date(2024, 1, 31)),
        ("01/02/99", L, date(1999, 2, 1)),
        ("24/12/31", B, date(2024, 12, 31)),
        ("01/02/03", M, date(2003, 1, 2)),
    ],
)
def test_dates(text: str, style: DateStyle | None, expected: date) -> None:
    assert parse_date(text, style) == expected
    assert make_date_parser(style)(text) == expected


@pytest.mark.parametrize(("text", "style"), [("31/12/2024", M), ("01/02/2024", None), ("2024-02-30", None),
                                             ("hello", L), ("", L), ("32.01.2024", L), ("1/2/345", L)])
def test_bad_dates_raise_value_error(text: str, style: DateStyle | None) -> None:
    with pytest.raises(ValueError):
        parse_date(text, style)


def test_date_style_vote_uses_every_value() -> None:
    vote = DateStyleVote()
    for value in ["01/02/2024", "03/04/2024", "25/04/2024"]:
        vote.add(value)
    assert vote.decide() == L
    vote = DateStyleVote()
    for value in ["01/02/2024", "12/31/2024"]:
        vote.add(value)
    assert vote.decide() == M


def test_date_style_vote_ambiguous_column_raises() -> None:
    vote = DateStyleVote()
    for value in ["01/02/2024", "03/04/2024"]:
        vote.add(value)
    with pytest.raises(FileError) as info:
        vote.decide("Datum")
    assert info.value.code == AMBIGUOUS_DATE_STYLE
    assert info.value.details == {"candidates": ["littleEndian", "middleEndian"]}
    assert "ambiguous" in info.value.message and "Datum" in info.value.message


def test_dotted_dates_read_day_first_unless_the_column_reads_only_month_first() -> None:
    """A German export of 1 to 12 November: every date reads both ways, but dots with the year last are day first;
    a dotted value that reads only month first still decides, and slashes stay ambiguous."""
    for values, style in ((["01.11.2024", "02.11.2024", "12.11.2024"], L), (["01.11.24", "05.11.24"], L),
                          (["01.02.2024", "05.13.2024"], M), (["13.02.2024", "01.02.2024"], L)):
        vote, column = DateStyleVote(), DateStyleVote()
        for value in values:
            vote.add(value)
        column.add_column(values)
        assert vote.decide() == column.decide() == style, values
    for values in (["01/11/2024", "02/11/2024"], ["01.02.2024", "01/02/2024"]):
        vote = DateStyleVote()
        vote.add_column(values)
        with pytest.raises(FileError):
            vote.decide()


def test_date_style_vote_iso_or_same_day_month_needs_no_decision() -> None:
    vote = DateStyleVote()
    vote.add("2024-01-02")
    vote.add("Dec 31, 2024")
    assert vote.decide() is None
    vote.add("05/05/2024")  # reads the same either way
    assert vote.decide() == L


# --- what the ledger can store --------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "1" * 38, "-" + "9" * 38, "0." + "0" * 40, "1" + "0" * 60, "1E-130", "9.99E+125", "1" * 38 + "0" * 50,
    "0.1234567890123456789012345678901234567",
])
def test_storable_amounts_pass(text: str) -> None:
    assert check_storable(Decimal(text)) == Decimal(text)


@pytest.mark.parametrize("text", ["1" * 39, "-1." + "1" * 38, "1E-131", "1E+126", "-9.99E+300", "NaN", "Infinity"])
def test_amounts_the_ledger_cannot_store_raise(text: str) -> None:
    with pytest.raises(ValueError, match="amount"):
        check_storable(Decimal(text), text)


@pytest.mark.parametrize(("text", "separator"), [
    ("1" * 40, "."), ("-" + "1" * 40 + ".00", "."), ("1" * 40 + ",5", ","), ("1." + "1" * 40, "."),
    ("1.234.567.890.123.456.789.012.345.678.901.234.567,56", ","), ("(" + "1" * 39 + ")", "."),
])
def test_parsers_reject_what_the_ledger_cannot_store(text: str, separator: str) -> None:
    with pytest.raises(ValueError, match="ledger"):
        make_amount_parser(separator)(text)
    with pytest.raises(ValueError, match="ledger"):
        parse_amount(text, separator)


def test_long_amounts_that_fit_are_read() -> None:
    assert make_amount_parser(".")("1" * 38) == Decimal("1" * 38)
    assert make_amount_parser(".")("0." + "0" * 60 + "1") == Decimal("1E-61")
    assert make_amount_parser(",")("1" * 30 + "00000000000,00") == Decimal("1" * 30 + "00000000000.00")


# --- a whole column at once -----------------------------------------------------------------------

_VALUE_PARTS = st.sampled_from(["0", "1", "12", "123", "1234", "9", "00", ".", ",", "-", "+", ".5", ",5", "000",
                                "1.234", "1,234", "1.234,56", "1,234.56", "1.000.000", "-0.000,00", "-0,00",
                                "12.00-", " 1", "€", "e5", "1" * 40, ""])
_COLUMN_VALUES = st.lists(st.lists(_VALUE_PARTS, max_size=3).map("".join), max_size=12)


def _each(texts: list[str], separator: str) -> list[Any] | None:
    parse = make_amount_parser(separator)
    try:
        return [parse(text) for text in texts]
    except ValueError:
        return None


@settings(max_examples=400, deadline=None)
@given(texts=_COLUMN_VALUES, separator=st.sampled_from([".", ","]))
def test_a_column_reads_exactly_as_value_by_value(texts: list[str], separator: str) -> None:
    column = parse_amount_column(texts, separator)
    if column is None:
        return  # the caller reads value by value: nothing to compare
    expected = _each(texts, separator)
    assert expected is not None
    assert [str(a) for a in column] == [str(a) for a in expected]  # str: the sign of zero counts too


@pytest.mark.parametrize(("texts", "separator"), [
    (["-1.234,56", "12,50", "1.000", "+7", "-0,00", "0.000,00", "5,"], ","),
    (["-1,234.56", "12.50", "1,000", "+7", "-0.00", "0,000.00", ".5"], "."),
    (["1" * 38, "-" + "2" * 38], "."),
])
def test_plain_columns_are_read_at_once(texts: list[str], separator: str) -> None:
    column = parse_amount_column(texts, separator)
    assert column is not None
    assert [str(a) for a in column] == [str(a) for a in _each(texts, separator) or []]


@pytest.mark.parametrize(("texts", "separator"), [
    (["1.00", "2,5"], ","),  # 1.00 is no grouping in 1.234,56 style: value by value (and an error there)
    (["12.00-"], "."), (["€ 5"], "."), ([""], "."), (["1" * 39], "."), (["1,2,3"], ","), (["1e5"], "."),
    (["-0.000,00"], ","),  # minus a grouped zero is zero, not minus zero: value by value
])
def test_odd_columns_are_left_to_the_value_parser(texts: list[str], separator: str) -> None:
    assert parse_amount_column(texts, separator) is None


_PLAIN_PARTS = st.sampled_from(["0", "1", "12", "9", "00", "000000", "0000001", "000", ".", ",", "-", "+", "5"])
_PLAIN_COLUMN = st.lists(st.lists(_PLAIN_PARTS, min_size=1, max_size=4).map("".join), min_size=1, max_size=12)


def _plain(texts: list[str], separator: str) -> bool:
    shapes = AmountShapes()
    shapes.add_column(texts)
    return shapes.plain(separator)


@settings(max_examples=500, deadline=None)
@given(texts=st.one_of(_COLUMN_VALUES, _PLAIN_COLUMN), separator=st.sampled_from([".", ","]))
def test_a_column_read_with_its_texts_gives_them_as_str_writes_the_amounts(texts: list[str], separator: str) -> None:
    """The texts a column hands over with its amounts (for the staged rows and the ids) are `str()` of each amount,
    whether the shapes are looked at per column or known plain for the whole file."""
    for plain in (False, True) if _plain(texts, separator) else (False,):
        read = read_amount_column(texts, separator, plain)
        column = parse_amount_column(texts, separator, plain)
        if read is None:
            assert column is None
            continue
        amounts, written = read
        assert column is not None and list(map(str, amounts)) == list(map(str, column))
        if written is not None:
            texts_written = list(map(str, amounts))
            assert written.texts == texts_written
            shapes = written.shapes
            assert shapes is None or (shapes.longest, shapes.decimals, shapes.zero_ended) == (
                max(map(len, texts_written)), max(len(t) - t.index(".") - 1 if "." in t else 0 for t in texts_written),
                any("." in t and t.endswith("0") for t in texts_written))
            assert plain or not texts or shapes is not None  # (a column's shapes are looked at, unless known plain)


@pytest.mark.parametrize("plain", [False, True])
@pytest.mark.parametrize(("texts", "separator", "written"), [
    (["-1.234,56", "0,05", "12,50", "-0,00", "1.000", "7"], ",", ["-1234.56", "0.05", "12.50", "-0.00", "1000", "7"]),
    (["-1,234.56", "0.000001", "100", "0"], ".", ["-1234.56", "0.000001", "100", "0"]),
    (["1.00", "+7"], ".", None), (["1.00", "007"], ".", None), (["1.00", "-0.5", ".5"], ".", None),
    (["5.", "1"], ".", None), (["0.0000001"], ".", None), (["0,0000000"], ",", None), (["-05,00"], ",", None),
])
def test_a_column_gives_its_texts_only_where_each_is_written_as_str_writes_it(
        texts: list[str], separator: str, written: list[str] | None, plain: bool) -> None:
    read = read_amount_column(texts, separator, plain)
    assert read is not None
    assert (read[1].texts if read[1] is not None else None) == written
    assert list(map(str, read[0])) == (written or list(map(str, read[0])))


@pytest.mark.parametrize(("texts", "separator", "facts"), [
    (["-1.234,56", "0,05", "12,50", "7"], ",", (8, 2, True)),  # -1234.56 the longest, 12.50 ends in a zero
    (["-1,234.56", "0.000001", "100", "0"], ".", (8, 6, False)),  # 100 has no point: nothing to drop
    (["1", "-20", "300"], ".", (3, 0, False)),
])
def test_a_columns_texts_come_with_what_their_shapes_tell(texts: list[str], separator: str,
                                                          facts: tuple[int, int, bool]) -> None:
    """The longest text, the most decimals and whether a text ends in a zero after its point, from the shapes:
    what the staging checks and the ids' amounts would otherwise look for in every text."""
    read = read_amount_column(texts, separator)
    assert read is not None and read[1] is not None and read[1].shapes is not None
    shapes = read[1].shapes
    assert (shapes.longest, shapes.decimals, shapes.zero_ended) == facts


def test_date_style_vote_counts_distinct_values_with_their_occurrences() -> None:
    one_by_one, counted = DateStyleVote(), DateStyleVote()
    values = ["01/02/2024"] * 5 + ["13/02/2024"] * 2 + ["02/13/2024"] * 3 + ["2024-01-01", "x", "05/05/2024"]
    for value in values:
        one_by_one.add(value)
    counted.add_counts(Counter(values))
    assert (counted.little_only, counted.middle_only, counted.ambiguous, counted.numeric) == (
        one_by_one.little_only, one_by_one.middle_only, one_by_one.ambiguous, one_by_one.numeric) == (2, 3, 5, 11)
    assert counted.decide() == M


def test_amount_shapes_tell_a_column_plain_only_when_every_cell_was_seen_and_is() -> None:
    shapes = AmountShapes()
    shapes.add_column(["-1.234,56", "12,50", "1.000"])
    shapes.add_column([b"7,00", b"-0,25"])
    assert shapes.plain(",") and not shapes.plain(".")  # 12,50 is no amount in 1,234.56 style
    for odd in (["12,00-"], ["-0.000,00"], [""], ["1" * 39]):
        more = AmountShapes()
        more.add_column(["1,00", *odd])
        assert not more.plain(",")
    shapes.stop()
    assert not shapes.plain(",")
