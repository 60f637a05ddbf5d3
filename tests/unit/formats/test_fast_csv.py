"""The CSV engine's column reader (`fast_csv`) against its row reader (`csv_rows`): the same events
for every file, whichever path each block takes."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tximport.formats import csv_feed, fast_csv
from tximport.formats.base import (
    INVALID_AMOUNT,
    INVALID_LINE,
    LINE_TOO_LONG,
    BytesSource,
    FileError,
    LineBlock,
    LineError,
    ParsedLine,
    ParseOptions,
    StatementAccount,
)
from tximport.formats.csv_mapped import parse_csv_mapped
from tximport.formats.tabular import parse_csv_4col, parse_tabular_3col
from tximport.models import DateStyle


def _run(parser: Any, data: bytes, **options: Any) -> list[Any] | tuple[str, str]:
    try:
        return list(parser(BytesSource(data), ParseOptions(**options)))
    except FileError as exc:
        return exc.code, exc.message


@pytest.fixture
def blocks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Small blocks (boundaries everywhere); records, per block, whether the column reader read it."""
    monkeypatch.setattr(csv_feed, "BLOCK_SIZE", 64)
    seen: list[bool] = []
    original = fast_csv.ColumnReader.events

    def spy(self: Any, batch: Any) -> Any:
        result = original(self, batch)
        seen.append(result is not None)
        return result

    monkeypatch.setattr(fast_csv.ColumnReader, "events", spy)
    return seen


def both(data: bytes, monkeypatch: pytest.MonkeyPatch, parser: Any = parse_tabular_3col,
         **options: Any) -> tuple[Any, Any]:
    """The events with the column reader, and with the row reader alone."""
    fast = _run(parser, data, **options)
    with monkeypatch.context() as m:
        m.setattr(fast_csv, "ENABLED", False)
        generic = _run(parser, data, **options)
    return fast, generic


def _german(amount: Decimal) -> str:
    text = f"{abs(amount):,.2f}".replace(",", "\0").replace(".", ",").replace("\0", ".")
    return ("-" if amount < 0 else "") + text


GERMAN = "".join(f'{d % 28 + 1:02d}.{d % 12 + 1:02d}.2024;"Überweisung {d} an Müller";'
                 f'{_german(Decimal(d * 7919 % 2_000_000 - 1_000_000) / 100)}\n' for d in range(300))


def test_a_german_export_is_read_by_columns_with_the_row_readers_events(blocks: list[bool],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    data = ("Buchungstag;Verwendungszweck;Betrag\n" + GERMAN).encode("cp1252")
    fast, generic = both(data, monkeypatch)
    assert fast == generic
    assert len(fast) == 300 and all(type(e) is ParsedLine for e in fast)
    assert fast[1] == ParsedLine(3, date(2024, 2, 2), Decimal("-9920.81"), "Überweisung 1 an Müller")
    assert fast[0].amount == Decimal("-10000.00")
    assert blocks.count(True) > 100 and blocks.count(False) <= 1  # the header's block may go row by row


def test_an_odd_block_goes_row_by_row_and_the_next_ones_by_columns_again(blocks: list[bool],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [f"2024-02-{i % 28 + 1:02d},Shop {i},{i}.50" for i in range(120)]
    rows[40] = '2024-02-10,"Quoted, with comma\nand a line break",1.00'
    rows[45] = "2024-02-30,bad date,1.00"
    rows[50] = ""
    rows[52] = "2024-02-11,bad amount,12x"
    rows[60] = "2024-02-11,long," + "1" * 39
    fast, generic = both(("\r\n".join(rows) + "\r\n").encode(), monkeypatch)
    assert fast == generic
    assert blocks[-1] and False in blocks  # columns, rows at the odd blocks, columns again
    codes = [(e.line_number, e.code) for e in fast if isinstance(e, LineError)]
    assert codes == [(47, "InvalidDate"), (54, "InvalidAmount"), (62, "InvalidAmount")]
    assert [e.line_number for e in fast if isinstance(e, ParsedLine)][-1] == 121


@pytest.mark.parametrize("data", [
    b"",
    b"date,description,amount\n",
    b"\xef\xbb\xbfdate,description,amount\n2024-01-01,a,1.00\n2024-01-02,b,-2\n",
    b"2024-01-01,no header,1.00\n2024-01-02,b,-2",
    b"\n\n2024-01-01,leading blank lines,1.00\n",
    b"2024-01-01;semicolons;1.00\n2024-01-02;b;-2.50\n",
    b"2024-01-01,a,1.00\r2024-01-02,lone CR,2.00\r",
    b"2024-01-01,a,NaN\n2024-01-02,b,1e5\n2024-01-03,c,1_000\n2024-01-04,d, 1.5 \n2024-01-05,e,+.5\n",
    b"2024-01-01,caf\xc3\xa9 e\xcc\x81,1.00\n2024-01-02,latin1 caf\xe9,1.00\n",
    b"2024-01-01,short\n2024-01-02,b,1.00,extra\n,,\n2024-01-03,,\n",
    b"20240101,compact date,1.00\n2024-W01-1,week date,2.00\n0000-01-01,year zero,3.00\n",
    b"2024-01-01,\"quoted\",1.00\n",
    b"date,description,amount\n2024-01-01,plain,1.00\n2024-01-02,\"quoted\",2.00\n2024-01-03,plain,3.00\n",
    b"date,description,amount\n2024-01-01,a,1.\n2024-01-02,b,.5\n2024-01-03,c,-0\n2024-01-04,d,--1\n",
    b"2024-01-01,a\x00b,1.00\n",
    b"2024-01-01,a,1.00\n" + b"2024-01-02," + b"x" * 140_000 + b",2.00\n",
    b'2024-01-01,"a ""quoted"" word",1.00\n2024-01-02,"""",2.00\n2024-01-03,"a"b,3.00\n2024-01-04, "a",4\n',
    b'"2024-01-01","a","1.00"\n"2024-01-02","b","-2.00"\n"2024-01-03","","3"\n',
    b'2024-01-01,"a,b",1.00\n2024-01-02,"c,d",2.00\n',
    b"31.12.2024;a;-1.234,56\n01.12.2024;b;1.000\n02.12.2024;c;12,5-\n03.12.2024;d;EUR 7,00\n",
    b"31.12.2024;a;-0.000,00\n01.12.2024;b;-0,00\n02.12.2024;c;1.00\n",
    b"12/31/2024,a,\"1,234.56\"\n01/02/2024,b,(12.00)\n01/03/2024,c,$1.00\n",
    b"2024-01-01,a," + b"9" * 38 + b"\n2024-01-02,b,-" + b"9" * 39 + b"\n2024-01-03,c,0." + b"0" * 40 + b"1\n",
    "2024-01-01;Straße;1,00\n2024-01-02;Ærø;2,00\n".encode("utf-16"),
    # non-ASCII in the date and amount cells: the inference pass must read them as the real text
    "31.12.2024;a;-1\u00a0234,56\n01.12.2024;b;€ 5,00\n02.12.2024;Müller;1.000\n".encode("cp1252"),
    "\ufeff31.12.2024;a;-1\u00a0234,56\n01.12.2024;b;€ 5,00\n02.12.2024;Müller;1.000\n".encode("utf-8"),
    "12/31/2024;a;5\u00a0000.00\n02/01/2024;b;1.5\n".encode("cp1252") + b"03/01/2024;\xff;\x80\n",
])
def test_edge_files_give_the_row_readers_events(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_feed, "BLOCK_SIZE", 32)
    fast, generic = both(data, monkeypatch)
    assert fast == generic
    fast, generic = both(data, monkeypatch, parse_csv_4col)
    assert fast == generic


MAPPINGS: list[dict[str, Any]] = [
    {"columns": {"date": "Datum", "valueDate": "Valuta", "description": ["Name", "Text"], "amount": "Betrag",
                 "currency": "Whg", "bankTransactionId": "Ref", "counterpartyName": "Name", "balance": "Saldo",
                 "originalAmount": "Orig", "originalCurrency": "OrigWhg"}, "currency": "EUR"},
    {"columns": {"date": 0, "description": 2, "credit": 4, "debit": 3, "account": 1}, "header": True,
     "skipFooterRows": 2},
    {"columns": {"date": "Datum", "amount": "Betrag", "indicator": "SH", "reference": "Ref"},
     "indicatorValues": {"credit": ["H"], "debit": ["S"]}, "skipRows": 1},
    {"columns": {"date": "Datum", "description": "Text", "amount": "Betrag"}, "descriptionSeparator": "\n",
     "decimalSeparator": ",", "dateStyle": "littleEndian", "quoteChar": "'"},
    {"columns": {"date": "Datum", "description": "Text", "amount": "Betrag", "status": "SH"},
     "statusValues": {"pending": ["S"], "booked": ["H"]}},
]

_CELL = st.sampled_from(["", " ", "x", "Müller", "e\u0301", "a;b", 'say "hi"', "1.234,56", "-12,50", "12,50-",
                         "31.12.2024", "2024-12-31", "32.01.2024", "EUR", "usd", "S", "H", "X", "ACC1", "acc2",
                         "0", "-0.000,00", "1" * 39, "Saldo"])


@st.composite
def _mapped_file(draw: Any) -> tuple[bytes, dict[str, Any]]:
    mapping = draw(st.sampled_from(MAPPINGS))
    header = ["Datum", "Valuta", "Name", "Text", "Betrag", "Whg", "Ref", "Saldo", "Orig", "OrigWhg", "SH"]
    rows: list[list[str]] = [["Export"]] if mapping.get("skipRows") else []
    rows.append(header)
    for i in range(draw(st.integers(0, 60))):
        good = [f"{i % 28 + 1:02d}.01.2024", "02.01.2024", f"Name {i}", f"Text {i}", f"{i},50", "EUR", f"R{i}",
                "1.000,00", f"-{i}", "USD", "SH"[i % 2]]
        if draw(st.integers(0, 5)) == 0:
            good[draw(st.integers(0, len(good) - 1))] = draw(_CELL)
        if draw(st.integers(0, 15)) == 0:
            good = good[: draw(st.integers(0, len(good)))]
        if draw(st.integers(0, 15)) == 0:  # wider than the header: empty cells past it, or a value
            good = good + draw(st.lists(st.sampled_from(["", "", " ", "x"]), min_size=1, max_size=2))
        rows.append(good)
    out = io.StringIO()
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    csv.writer(out, delimiter=";", quotechar=mapping.get("quoteChar", '"'), quoting=quoting,
               lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(rows)
    return out.getvalue().encode(draw(st.sampled_from(["utf-8", "cp1252", "utf-16"])), errors="replace"), mapping


@settings(max_examples=80, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=_mapped_file(), block=st.sampled_from([16, 64, 4096]))
def test_mapped_files_give_the_row_readers_events(case: tuple[bytes, dict[str, Any]], block: int,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    data, mapping = case
    monkeypatch.setattr(csv_feed, "BLOCK_SIZE", block)
    fast, generic = both(data, monkeypatch, parse_csv_mapped, mapping=mapping)
    assert fast == generic


_GOOD_DATES = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat)
_DATES = st.one_of(_GOOD_DATES, _GOOD_DATES, _GOOD_DATES, st.sampled_from(
    ["2024-02-30", "31.12.2024", "2024/01/31", "", " ", "20240131", "date", "2024-1-5", "1 Jan 2024"]))
_AMOUNTS = st.one_of(
    st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False).map(str),
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(["", "12x", "1e3", "NaN", "-Infinity", "1_0", " 3.50", "(4.00)", "5.00-", "€6", "+7",
                     "1.234,56", "-.5", "8.", "1,234.50", "-0,000.00", "9" * 40]),
)
_TEXT = st.lists(st.sampled_from(list("ab Z09-_/é\u0301\u00a0\t\x1c") + ["\u1e9b\u0323"]), max_size=12).map("".join)
_PLAIN_AMOUNTS = st.one_of(
    st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False).map(lambda d: f"{d:f}"),
    st.integers(-10**6, 10**6).map(str),
)


@st.composite
def _line(draw: Any) -> str:
    kind = draw(st.integers(0, 29))
    if kind == 0:
        return draw(st.sampled_from(["", "   ", ",,", "only one cell", "a,b", "2024-01-01,x,1,extra"]))
    if kind == 1:
        return f'{draw(_DATES)},"{draw(_TEXT)},\n{draw(_TEXT)}",{draw(_AMOUNTS)}'
    if kind == 2:
        return f'{draw(_GOOD_DATES)},"{draw(_TEXT)}",{draw(_PLAIN_AMOUNTS)}'
    if kind == 3:
        return f"{draw(_DATES)},{draw(_TEXT)},{draw(_AMOUNTS)}"
    # most lines are plain, so that the column reader gets far before an odd line stops it
    return f"{draw(_GOOD_DATES)},{draw(_TEXT)},{draw(_PLAIN_AMOUNTS)}"


@st.composite
def _files(draw: Any) -> bytes:
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    rows = draw(st.lists(_line(), max_size=40))
    if draw(st.booleans()):  # a delimiter closing every line (an empty cell past the header), or more
        rows = [row + draw(st.sampled_from([",", ",", ",", ",,", ", ", ',""', ",x"])) for row in rows]
    if draw(st.booleans()):
        rows.insert(0, "date,description,amount")
    text = newline.join(rows) + (newline if draw(st.booleans()) else "")
    data = text.encode()
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 9)) == 0 and data:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xe9", b"\r", b"\x00", b";", b'"'])) + data[at:]
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_files(), block=st.sampled_from([16, 64, 4096]))
def test_generated_files_give_the_row_readers_events(data: bytes, block: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_feed, "BLOCK_SIZE", block)
    fast, generic = both(data, monkeypatch)
    assert fast == generic


@st.composite
def _dialect_file(draw: Any) -> tuple[bytes, dict[str, Any]]:
    """3-column files in every dialect the engine infers: delimiter, quoting, decimals, dates, encoding."""
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    decimal = draw(st.sampled_from([".", ","]))
    style = draw(st.sampled_from(["%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%y"]))
    rows = [["Date", "Text", "Amount"]] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(1, 40))):
        day = draw(st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31)))
        amount = draw(st.decimals(min_value=-10**7, max_value=10**7, places=2, allow_nan=False))
        text = f"{abs(amount):,.2f}" if draw(st.booleans()) else f"{abs(amount):.2f}"
        if decimal == ",":
            text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        rows.append([day.strftime(style), draw(_TEXT), ("-" if amount < 0 else "") + text])
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
               lineterminator="\n").writerows(rows)
    options = {"date_style": DateStyle.LITTLE_ENDIAN} if draw(st.booleans()) and "%d" in style[:2] else {}
    return out.getvalue().encode(draw(st.sampled_from(["utf-8", "cp1252", "utf-16", "utf-8-sig"])),
                                 errors="replace"), options


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_dialect_file(), block=st.sampled_from([64, 1024, 65536]))
def test_every_dialect_gives_the_row_readers_events(case: tuple[bytes, dict[str, Any]], block: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    data, options = case
    monkeypatch.setattr(csv_feed, "BLOCK_SIZE", block)
    fast, generic = both(data, monkeypatch, **options)
    assert fast == generic


def test_accounts_are_announced_once_whichever_path_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_feed, "BLOCK_SIZE", 40)
    body = "".join(f"2024-01-{i % 28 + 1:02d},ACC{i % 3},{i}.00\n" for i in range(30))
    body = body.replace("2024-01-11,ACC1", "2024-01-11,ACC1,,,")  # a long row: that block goes row by row
    data = ("date,acct,amount\n" + body).encode()
    mapping = {"columns": {"date": "date", "account": "acct", "amount": "amount"}}
    fast, generic = both(data, monkeypatch, parse_csv_mapped, mapping=mapping)
    assert fast == generic
    assert [e.account_ref for e in fast if isinstance(e, StatementAccount)] == ["ACC0", "ACC1", "ACC2"]


def test_rows_wider_than_the_header_are_rejected_whichever_path_reads_them(blocks: list[bool],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """An unquoted `-1,234.50` in a comma file is a cell more: the row is rejected, never booked as -1; a
    delimiter closing every line (an empty cell past the header) is read by columns as before."""
    rows = [f"2024-02-{i % 28 + 1:02d},Shop {i},-{i}.50," for i in range(120)]
    trailing = ("Date,Description,Amount\n" + "\n".join(rows) + "\n").encode()
    fast, generic = both(trailing, monkeypatch)
    assert fast == generic and not [e for e in fast if isinstance(e, LineError)]
    assert len(fast) == 120 and blocks.count(False) <= 1 and blocks.count(True) > 50
    quoted = trailing.replace(b",\n", b',""\n').replace(b"Shop", b'"Shop').replace(b",-", b'",-')
    blocks.clear()
    fast, generic = both(quoted, monkeypatch)
    assert fast == generic and len(fast) == 120 and not [e for e in fast if isinstance(e, LineError)]
    assert blocks.count(False) <= 1 and blocks.count(True) > 50
    rows[70] = "2024-02-10,Rent,-1,234.50"
    rows[71] = "2024-02-11,Salary,2,500.00"
    wide = ("Date,Description,Amount\n" + "\n".join(rows) + "\n").encode("cp1252")
    blocks.clear()
    fast, generic = both(wide, monkeypatch)
    assert fast == generic and False in blocks and blocks[-1]
    assert [(e.line_number, e.code, e.actual_value, e.target) for e in fast if isinstance(e, LineError)] == [
        (72, INVALID_LINE, "2024-02-10,Rent,-1,234.50", "line 72"),
        (73, INVALID_LINE, "2024-02-11,Salary,2,500.00", "line 73")]
    assert "at most 3 columns" in fast[71].message and "found 4" in fast[71].message
    assert len([e for e in fast if isinstance(e, ParsedLine)]) == 118
    four = "".join(f"2024-02-{i % 28 + 1:02d},Shop {i},,{i}.50,\n" for i in range(60))
    shifted = ("Date,Description,Credit,Debit\n" + four + "2024-02-12,Salary,2,500.00,\n" + four).encode()
    fast, generic = both(shifted, monkeypatch, parse_csv_4col)
    assert fast == generic
    assert [(e.line_number, e.code) for e in fast if isinstance(e, LineError)] == [(62, INVALID_LINE)]


def test_amounts_the_ledger_cannot_store_are_rejected_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    data = ("date,description,amount\n" + "".join(f"2024-01-0{i},row {i},{i}.00\n" for i in range(1, 9))
            + "2024-01-09,too long," + "1" * 40 + "\n2024-01-10,after,1.00\n").encode()
    fast, generic = both(data, monkeypatch)
    assert fast == generic
    [error] = [e for e in fast if isinstance(e, LineError)]
    assert (error.line_number, error.code, error.target, error.actual_value) == (10, INVALID_AMOUNT, "amount",
                                                                                 "1" * 40)
    assert "38" in error.message
    debit = b"date,description,credit,debit\n2024-01-01,a,0," + b"9" * 38 + b"\n2024-01-02,b,3.00,4.00\n"
    fast, generic = both(debit, monkeypatch, parse_csv_4col)
    assert fast == generic
    assert [str(e.amount) for e in fast if isinstance(e, ParsedLine)] == ["-" + "9" * 38]  # exact, not rounded
    assert [(e.line_number, e.code) for e in fast if isinstance(e, LineError)] == [(3, INVALID_AMOUNT)]  # both


def test_a_line_without_end_is_a_file_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_feed, "MAX_LINE", 5000)
    data = b"date,description,amount\n2024-01-01,a,1.00\n2024-01-02," + b"x" * 6000
    fast, generic = both(data, monkeypatch)
    assert fast == generic
    assert fast[0] == LINE_TOO_LONG and "line 3" in fast[1]
    monkeypatch.setattr(csv_feed, "BLOCK_SIZE", 1000)  # the record runs on past its block
    quoted = b"date,description,amount\n2024-01-01,\"" + b"x\n" * 3000 + b"\",1.00\n"
    assert _run(parse_tabular_3col, quoted)[0] == LINE_TOO_LONG


def test_a_long_field_is_read_and_a_line_beyond_the_limit_names_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    head = b"date,description,amount\n2024-01-01,a,1.00\n"
    for field in (b"y" * 200_000, b'"' + b"y" * 200_000 + b'"'):  # beyond csv's own default limit (131,072)
        fast, generic = both(head + b"2024-01-02," + field + b",-2.00\n", monkeypatch)
        assert fast == generic
        assert [len(e.description) for e in fast if isinstance(e, ParsedLine)] == [1, 200_000]
    for field in (b"y" * (csv_feed.MAX_LINE + 10), b'"' + b"y" * (csv_feed.MAX_LINE + 10) + b'"'):
        fast, generic = both(head + b"2024-01-02," + field + b",-2.00\n2024-01-03,b,1.00\n", monkeypatch)
        assert fast == generic
        assert fast[0] == LINE_TOO_LONG and "line 3" in fast[1]


def test_memory_is_bounded_by_the_block() -> None:
    """A long file is read a block at a time: the reader holds at most a block or two of the file."""
    def chunks() -> Iterator[bytes]:
        yield b"date,description,amount\n"
        for i in range(20_000):
            yield f"2024-03-{i % 28 + 1:02d},Item {i},{i}.00\n".encode()

    class Stream:
        def __init__(self) -> None:
            self.parts = chunks()
            self.read_total = 0
            self.pending = b""

        def read(self, size: int = -1) -> bytes:
            while size < 0 or len(self.pending) < size:
                part = next(self.parts, None)
                if part is None:
                    break
                self.pending += part
            cut = len(self.pending) if size < 0 else size
            data, self.pending = self.pending[:cut], self.pending[cut:]
            self.read_total += len(data)
            return data

        def close(self) -> None:
            pass

        def __enter__(self) -> Stream:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

    streams: list[Stream] = []

    class Source:
        size = None

        def open(self) -> Stream:
            streams.append(Stream())
            return streams[-1]

    events = parse_tabular_3col(Source(), ParseOptions())
    first = next(events)
    assert first == ParsedLine(2, date(2024, 3, 1), Decimal("0.00"), "Item 0")
    # after the first event only about one block of the file has been read
    assert streams[-1].read_total <= 3 * csv_feed.BLOCK_SIZE
    assert sum(1 for _ in events) == 19_999


@settings(max_examples=500, deadline=None)
@given(cells=st.lists(st.lists(st.sampled_from(['"', "a", " ", "é", '""']), max_size=5).map("".join),
                      min_size=1, max_size=6))
def test_unquoting_a_column_reads_each_cell_as_csv_does(cells: list[str]) -> None:
    unquoted = csv_feed.unquote(cells, '"')
    if unquoted is None:
        return  # the block goes to csv.reader
    assert all(len(next(csv.reader([cell]))) == 1 for cell in cells if cell)
    assert unquoted == [next(csv.reader([cell]))[0] if cell else "" for cell in cells]


@pytest.mark.parametrize("encoding", sorted(fast_csv.NFC_ENCODINGS))
def test_text_of_the_nfc_encodings_needs_no_normalisation(encoding: str) -> None:
    """Every character these encodings decode to is NFC and none combines with another, so any text
    in them is NFC: the column reader skips the check."""
    chars = [bytes([b]).decode(encoding, errors="replace") for b in range(256)]
    assert all(unicodedata.is_normalized("NFC", a + b) and not unicodedata.combining(a)
               for a in chars for b in chars)


@pytest.mark.parametrize("lines", [
    ["a;b;c;d", "e;f", "g;h;i;j;k;l", "m;n;o;p"],  # a short and a long line that add up
    ["a;b;c", "d", "e;f;g;h;i", "j;k;l"],
    ["a;b;c", "", "d;e;f;g;h", "i;j;k"],
])
def test_lines_of_other_widths_are_never_read_as_columns(lines: list[str]) -> None:
    assert csv_feed.split_block("\n".join(lines) + "\n", 1, ";", '"') is None


@settings(max_examples=600, deadline=None)
@given(text=st.lists(st.sampled_from([";", '"', "a", "\n", "\r\n", "\r", " ", "é", '""', ';"', '";']),
                     min_size=1, max_size=30).map("".join), needed=st.sampled_from([None, {0}, set()]))
def test_a_block_read_as_columns_is_what_csv_reads(text: str, needed: set[int] | None) -> None:
    batch = csv_feed.split_block(text, 1, ";", '"', needed)
    if batch is None:
        return
    expected = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert [list(cells) for _, cells in batch.rows()] == expected
    assert batch.count == csv_feed.line_breaks(text) + (0 if text.endswith(("\n", "\r")) else 1)


def flattened(events: list[Any]) -> list[Any]:
    """The events with each `LineBlock` as the lines it stands for."""
    return [line for event in events for line in (event.lines() if isinstance(event, LineBlock) else [event])]


_CURRENCY_MAPPING = {"columns": {"date": 0, "description": 1, "amount": 2, "currency": 3}}


@pytest.mark.parametrize(("data", "parser", "options"), [
    (("Buchungstag;Verwendungszweck;Betrag\n" + GERMAN).encode("cp1252"), parse_tabular_3col, {}),
    ("".join(f"2024-02-{i % 28 + 1:02d},Shop {i},{i}.50,{'EUR' if i % 3 else 'usd'}\n" for i in range(200)).encode(),
     parse_csv_mapped, {"mapping": _CURRENCY_MAPPING}),
    (b"date,description,amount\n" + b"2024-01-01,a,1.00\n2024-01-02,b,-2\n" * 200
     + b"\n2024-01-03,c,3\n2024-13-01,d,4\n" + b"2024-01-04,e,1.5\n" * 200, parse_tabular_3col, {}),
    (("\r\n".join(f"2024-02-{i % 28 + 1:02d},Shop {i}," + (f"{i}.50," if i % 2 else f",{i}") for i in range(120))
      + "\r\n").encode(), parse_csv_4col, {}),
])
@pytest.mark.parametrize("block", [32, 64, 4096])
def test_blocks_handed_over_as_columns_stand_for_the_lines_the_reader_gives(
        data: bytes, parser: Any, options: dict[str, Any], block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_feed, "BLOCK_SIZE", block)
    lines = _run(parser, data, **options)
    handed = _run(parser, data, blocks=True, **options)
    assert isinstance(lines, list) and isinstance(handed, list)
    assert flattened(handed) == lines
    assert not any(isinstance(e, LineBlock) for e in lines)
    found = [e for e in handed if isinstance(e, LineBlock)]
    assert found and all(len(b) == len(b.line_numbers) == len(b.amounts) for b in found)


@settings(max_examples=80, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=_mapped_file(), block=st.sampled_from([16, 64, 4096]))
def test_mapped_blocks_handed_over_as_columns_stand_for_the_lines(case: tuple[bytes, dict[str, Any]], block: int,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With their optional columns (value dates, bank ids, counterparties, balances, original amounts), a status
    column and an account column, whatever the cells."""
    data, mapping = case
    monkeypatch.setattr(csv_feed, "BLOCK_SIZE", block)
    lines = _run(parse_csv_mapped, data, mapping=mapping)
    handed = _run(parse_csv_mapped, data, mapping=mapping, blocks=True)
    assert flattened(handed) == lines if isinstance(handed, list) else handed == lines


@pytest.mark.parametrize(("data", "parser", "written"), [
    (("Buchungstag;Verwendungszweck;Betrag\n" + GERMAN).encode("cp1252"), parse_tabular_3col, True),
    (b"date,description,amount\n" + b"2024-01-01,a,1.00\n2024-01-02,b,-2\n2024-01-02,c,0.5\n" * 200,
     parse_tabular_3col, True),
    (b"date,description,amount\n" + b"2024-01-01,a,+1.00\n2024-01-02,b,-2\n" * 200, parse_tabular_3col, False),
    (b"date,description,amount\n" + b"2024-01-01,a,.50\n2024-01-02,b,-2\n" * 200, parse_tabular_3col, False),
    (("\r\n".join(f"2024-02-{i % 28 + 1:02d},Shop {i}," + (f"{i}.50," if i % 2 else f",{i}") for i in range(120))
      + "\r\n").encode(), parse_csv_4col, False),
])
def test_blocks_carry_the_amounts_texts_where_the_cells_are_written_as_str_writes_them(
        data: bytes, parser: Any, written: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A signed amount column's cells, as read (`-1.234,56` as `-1234.56`), are the texts the staged rows and the
    ids write the amounts as; where `str()` writes them otherwise (`+1.00`, `.50`), or the amounts are computed
    (credit and debit columns), the block has none."""
    monkeypatch.setattr(csv_feed, "BLOCK_SIZE", 1024)
    handed = _run(parser, data, blocks=True)
    assert isinstance(handed, list)
    found = [e for e in handed if isinstance(e, LineBlock)]
    assert found
    for block in found:
        assert (block.written.texts if block.written is not None else None) == (
            list(map(str, block.amounts)) if written else None)


def test_blocks_with_optional_columns_are_handed_over_as_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_feed, "BLOCK_SIZE", 1024)
    rows = ["Datum;Valuta;Text;Betrag;Ref;Saldo;Orig;OrigWhg"] + [
        f"{i % 28 + 1:02d}.01.2024;{i % 28 + 1:02d}.01.2024;Text {i};-{i},50;{'R' + str(i) if i % 3 else ''};"
        f"1.000,00;{'-' + str(i) if i % 2 else ''};{'USD' if i % 2 else ''}" for i in range(300)]
    mapping = {"columns": {"date": "Datum", "valueDate": "Valuta", "description": "Text", "amount": "Betrag",
                           "bankTransactionId": "Ref", "balance": "Saldo", "originalAmount": "Orig",
                           "originalCurrency": "OrigWhg"}}
    data = ("\n".join(rows) + "\n").encode()
    lines = _run(parse_csv_mapped, data, mapping=mapping)
    handed = _run(parse_csv_mapped, data, mapping=mapping, blocks=True)
    assert isinstance(lines, list) and isinstance(handed, list) and flattened(handed) == lines
    found = [e for e in handed if isinstance(e, LineBlock)]
    assert found and all(b.optional and b.bank_ids and b.balances for b in found)
