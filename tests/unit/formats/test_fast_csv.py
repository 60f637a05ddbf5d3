"""The block reader for plain CSV (`fast_csv`) against the generic engine: same events, always."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tximport.formats import fast_csv
from tximport.formats.base import BytesSource, FileError, LineError, ParsedLine, ParseOptions
from tximport.formats.tabular import parse_tabular_3col


def _run(data: bytes) -> list[Any] | tuple[str, str]:
    try:
        return list(parse_tabular_3col(BytesSource(data), ParseOptions()))
    except FileError as exc:
        return exc.code, exc.message


@pytest.fixture
def blocks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Small blocks (boundaries everywhere); records, per block, whether it was read plainly."""
    monkeypatch.setattr(fast_csv, "BLOCK_SIZE", 64)
    seen: list[bool] = []
    original = fast_csv._block

    def spy(*args: Any) -> Any:
        result = original(*args)
        seen.append(result is not None)
        return result

    monkeypatch.setattr(fast_csv, "_block", spy)
    return seen


def both(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    fast = _run(data)
    with monkeypatch.context() as m:
        m.setattr(fast_csv, "ENABLED", False)
        generic = _run(data)
    return fast, generic


def test_plain_file_is_read_by_blocks_with_the_generic_events(blocks: list[bool],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    body = "".join(f"2024-01-{i % 28 + 1:02d},Payment {i} to shop ,{i * 7 - 300}.{i % 100:02d}\n"
                   for i in range(200))
    fast, generic = both(("date,description,amount\n" + body).encode(), monkeypatch)
    assert fast == generic
    assert len(fast) == 200 and all(type(e) is ParsedLine for e in fast)
    assert [e.line_number for e in fast] == list(range(2, 202))
    assert fast[0] == ParsedLine(2, date(2024, 1, 1), Decimal("-300.00"), "Payment 0 to shop")
    assert blocks and all(blocks)  # no block went to the generic engine


def test_odd_line_hands_the_rest_to_the_generic_engine(blocks: list[bool],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [f"2024-02-{i % 28 + 1:02d},Shop {i},{i}.50" for i in range(60)]
    rows[40] = '2024-02-10,"Quoted, with comma\nand a line break",1.00'
    rows[45] = "2024-02-30,bad date,1.00"
    rows[50] = ""
    rows[52] = "2024-02-11,bad amount,12x"
    fast, generic = both(("\r\n".join(rows) + "\r\n").encode(), monkeypatch)
    assert fast == generic
    assert True in blocks and False in blocks  # read plainly first, generic from the odd block on
    codes = [(e.line_number, e.code) for e in fast if isinstance(e, LineError)]
    assert codes == [(47, "InvalidDate"), (54, "InvalidAmount")]
    assert [e.line_number for e in fast if isinstance(e, ParsedLine)][-1] == 61


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
])
def test_edge_files_give_the_generic_events(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, generic = both(data, monkeypatch)
    assert fast == generic


_GOOD_DATES = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat)
_DATES = st.one_of(_GOOD_DATES, _GOOD_DATES, _GOOD_DATES, st.sampled_from(
    ["2024-02-30", "31.12.2024", "2024/01/31", "", " ", "20240131", "date", "2024-1-5", "1 Jan 2024"]))
_AMOUNTS = st.one_of(
    st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False).map(str),
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(["", "12x", "1e3", "NaN", "-Infinity", "1_0", " 3.50", "(4.00)", "5.00-", "€6", "+7",
                     "1.234,56", "-.5", "8."]),
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
    # most lines are plain, so that the block reader gets far before an odd line stops it
    return f"{draw(_GOOD_DATES)},{draw(_TEXT)},{draw(_PLAIN_AMOUNTS)}"


@st.composite
def _files(draw: Any) -> bytes:
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    rows = draw(st.lists(_line(), max_size=40))
    if draw(st.booleans()):
        rows.insert(0, "date,description,amount")
    text = newline.join(rows) + (newline if draw(st.booleans()) else "")
    data = text.encode()
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 9)) == 0 and data:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xe9", b"\r", b"\x00", b";"])) + data[at:]
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_files(), block=st.sampled_from([16, 64, 4096]))
def test_generated_files_give_the_generic_events(data: bytes, block: int,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast_csv, "BLOCK_SIZE", block)
    fast, generic = both(data, monkeypatch)
    assert fast == generic


def test_memory_is_bounded_by_the_block() -> None:
    """A long file is read a block at a time: the reader holds at most a block of events."""
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
    assert streams[-1].read_total <= 3 * fast_csv.BLOCK_SIZE
    assert sum(1 for _ in events) == 19_999
