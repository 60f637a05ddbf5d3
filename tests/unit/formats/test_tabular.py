"""The fixed layouts CSV#4col#v1 and Tabular3column#v1."""

from datetime import date
from decimal import Decimal

import pytest

from tximport.formats.base import (
    AMBIGUOUS_DATE_STYLE,
    EMPTY_FILE,
    INVALID_AMOUNT,
    INVALID_DATE,
    INVALID_LINE,
    REQUIRED_VALUE_MISSING,
    BytesSource,
    FileError,
)
from tximport.formats.registry import FORMATS
from tximport.formats.tabular import parse_csv_4col, parse_tabular_3col
from tximport.models import DateStyle

from .helpers import errors, lines, run, total


@pytest.mark.parametrize("file_format", ["CSV#4col#v1", "Tabular3column#v1"])
def test_template_parses_to_its_two_rows(file_format: str) -> None:
    fmt = FORMATS[file_format]
    assert fmt.template is not None
    name, content_type, body = fmt.template
    assert name.endswith(".csv") and content_type == "text/csv"
    events = run(fmt.parser, body.encode())
    assert [(line.line_number, line.date_posted, line.amount) for line in lines(events)] == [
        (2, date(2024, 1, 31), Decimal("2500.00")),
        (3, date(2024, 2, 1), Decimal("-950.00")),
    ]
    assert not errors(events)


def test_3col_without_header_and_semicolons() -> None:
    data = b"2024-01-31;Salary;2500.00\n2024-02-01;Rent;-950.00\n"
    events = run(parse_tabular_3col, data)
    assert [line.line_number for line in lines(events)] == [1, 2]
    assert total(events) == Decimal("1550.00")


# The example hypothesis found on main (test_properties_tabular::test_3col_round_trip): a tab-separated
# row without a header whose grouped amount holds commas split under "," into three cells too, the
# first of them ("02/28/2061\t\t10") read as a date with a time part: description '000', amount 0.00.
@pytest.mark.parametrize("encoding", ["utf-16", "utf-8"])
@pytest.mark.parametrize(("day", "text"), [("02/28/2061", ""), ("2024-01-13", "a"), ("13.01.2024", "")])
@pytest.mark.parametrize("amount", ["10,000,000.00", "-10,000,000.00"])
def test_3col_tab_separated_grouped_amount_is_not_split_at_its_commas(encoding: str, day: str, text: str,
                                                                     amount: str) -> None:
    events = run(parse_tabular_3col, f"{day}\t{text}\t{amount}\n".encode(encoding))
    assert not errors(events)
    assert [(line.description, line.amount) for line in lines(events)] == [
        (text, Decimal(amount.replace(",", "")))]


def test_4col_amount_is_credit_minus_absolute_debit() -> None:
    data = b"date\tdescription\tcredit\tdebit\n2024-01-01\tin\t10.00\t\n2024-01-02\tout\t\t4.00\n" \
           b"2024-01-03\tout signed\t\t-3.00\n2024-01-04\tnone\t\t\n"
    events = run(parse_csv_4col, data)
    assert [line.amount for line in lines(events)] == [Decimal("10.00"), Decimal("-4.00"), Decimal("-3.00")]
    [missing] = errors(events)
    assert (missing.line_number, missing.code, missing.target) == (5, REQUIRED_VALUE_MISSING, "credit/debit")


def test_line_errors_carry_line_number_code_value_and_column() -> None:
    data = (b"Date,Description,Amount\n2024-01-01,ok,1.00\n2024-13-01,bad date,1.00\n"
            b"2024-01-02,bad amount,12x\n,no date,1.00\n2024-01-03,no amount,\nonly one cell\n\n"
            b"2024-01-04,\"quoted\nover two lines\",2.00\n2024-01-05,after,3.00\n")
    events = run(parse_tabular_3col, data)
    found = [(e.line_number, e.code, e.target, e.actual_value) for e in errors(events)]
    assert found == [
        (3, INVALID_DATE, "Date", "2024-13-01"),
        (4, INVALID_AMOUNT, "Amount", "12x"),
        (5, REQUIRED_VALUE_MISSING, "Date", ""),
        (6, REQUIRED_VALUE_MISSING, "Amount", ""),
        (7, INVALID_LINE, "line 7", "only one cell"),
    ]
    assert [(line.line_number, line.description) for line in lines(events)] == [
        (2, "ok"), (9, "quoted over two lines"), (11, "after")]


@pytest.mark.parametrize(("parser", "header", "row", "width"), [
    (parse_tabular_3col, "Date,Description,Amount\n", "2024-01-04,Rent,-1,234.50", 3),
    (parse_tabular_3col, "", "2024-01-05,Salary,2,500.00", 3),  # no header: the format's three columns
    (parse_tabular_3col, "Date,Description,Amount\n", "02.01.2024,Coffee,-3,50", 3),
    (parse_csv_4col, "Date,Description,Credit,Debit\n", "2024-01-03,Rent,,1,200.00", 4),
    # a credit `2,500.00` unquoted reads as credit 2 and debit 500.00, the cell past them empty
    (parse_csv_4col, "Date,Description,Credit,Debit\n", "2024-01-02,Salary,2,500.00,", 4),
    # a header ending in a delimiter names no column there: the width is still its named cells'
    (parse_tabular_3col, "Date,Description,Amount,\n", "2024-01-04,Rent,-1,234.50", 3),
])
def test_a_row_wider_than_the_header_is_rejected_never_booked_as_its_parts(parser, header: str, row: str,
                                                                          width: int) -> None:
    good = "2024-01-01,Coffee,,3.50" if width == 4 else "2024-01-01,Coffee,-3.50"
    events = run(parser, f"{header}{good}\n{row}\n".encode(), date_style=DateStyle.LITTLE_ENDIAN)
    [error] = errors(events)
    number = 2 + bool(header)
    assert (error.line_number, error.code, error.actual_value, error.target) == (
        number, INVALID_LINE, row, f"line {number}")
    assert f"at most {width} columns" in error.message and f"found {len(row.split(','))}" in error.message
    assert [line.line_number for line in lines(events)] == [number - 1]


def test_empty_cells_past_the_header_are_a_trailing_delimiter_and_read() -> None:
    data = b"Date,Description,Amount\n2024-01-02,Coffee,-3.50,\n2024-01-03,Salary,2500.00, ,\n"
    events = run(parse_tabular_3col, data)
    assert not errors(events) and total(events) == Decimal("2496.50")
    data = b"Date,Description,Credit,Debit\n2024-01-02,Salary,2500.00,,\n2024-01-03,Rent,,1200.00,\n"
    events = run(parse_csv_4col, data)
    assert not errors(events) and [line.amount for line in lines(events)] == [Decimal("2500.00"),
                                                                            Decimal("-1200.00")]


def test_dates_need_a_style_when_ambiguous() -> None:
    data = b"01/02/2024,a,1.00\n03/04/2024,b,2.00\n"
    with pytest.raises(FileError) as info:
        run(parse_tabular_3col, data)
    assert info.value.code == AMBIGUOUS_DATE_STYLE
    parsed = lines(run(parse_tabular_3col, data, date_style=DateStyle.MIDDLE_ENDIAN))
    assert [line.date_posted for line in parsed] == [date(2024, 1, 2), date(2024, 3, 4)]


def test_date_style_is_inferred_from_a_late_row() -> None:
    rows = "".join(f"0{m}/0{m + 1}/2024,r{m},1.00\n" for m in range(1, 8))
    data = (rows + "31/12/2024,late,1.00\n").encode()
    parsed = lines(run(parse_tabular_3col, data))
    assert parsed[0].date_posted == date(2024, 2, 1)
    assert parsed[-1].date_posted == date(2024, 12, 31)


def test_header_only_is_no_lines_and_empty_is_an_error() -> None:
    assert run(parse_csv_4col, b"date,description,credit,debit\n") == []
    for data in (b"", b"\n\n  \n", b"\xef\xbb\xbf"):
        with pytest.raises(FileError) as info:
            run(parse_csv_4col, data)
        assert info.value.code == EMPTY_FILE


def test_streams_a_large_file_from_a_re_openable_source() -> None:
    body = "date,description,amount\n" + "".join(f"2024-01-{d % 28 + 1:02d},row {d},{d}.25\n"
                                                   for d in range(5000))
    events = run(parse_tabular_3col, BytesSource(body.encode()))
    assert len(lines(events)) == 5000
    assert total(events) == sum(Decimal(f"{d}.25") for d in range(5000))
