"""A split file's ranges read exactly as the whole file: every range's events, concatenated in range order,
equal one reading of the whole file (lines, errors with their line numbers, accounts, balances)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.samples import SAMPLES
from tximport.formats import csv_feed, ranges
from tximport.formats.base import (
    BytesSource,
    FileNote,
    LineBlock,
    LineError,
    ParsedLine,
    ParseEvent,
    ParseOptions,
)
from tximport.formats.registry import get_format


def _whole(file_format: str, data: bytes, options: ParseOptions) -> list[ParseEvent]:
    return list(get_format(file_format).parser(BytesSource(data), options))


def _split(file_format: str, data: bytes, range_bytes: int, options: ParseOptions
           ) -> tuple[ranges.RangePlan, list[ParseEvent]]:
    fmt = get_format(file_format)
    plan = ranges.plan(fmt, BytesSource(data), options, range_bytes)
    plan = ranges.RangePlan.from_json(plan.to_json())  # as the manifest stores it
    events: list[ParseEvent] = []
    for index in range(len(plan.ranges)):
        events += ranges.read_range(fmt, BytesSource(data), options, plan, index)
    return plan, events


def _same(file_format: str, data: bytes, range_bytes: int, *, min_ranges: int = 3, **options: Any
          ) -> ranges.RangePlan:
    opts = ParseOptions(**options)
    whole = _whole(file_format, data, opts)
    plan, split = _split(file_format, data, range_bytes, opts)
    assert len(plan.ranges) >= min_ranges
    assert [r.start for r in plan.ranges[1:]] == [r.end for r in plan.ranges[:-1]]
    assert split == whole
    return plan


def _iso_csv(lines: int = 300) -> bytes:
    rows = ["date,description,amount"]
    for i in range(lines):
        day = f"2024-{1 + i // 28 % 12:02d}-{1 + i % 28:02d}"
        rows.append(f"{day},Coffee {i % 7},-{i % 50}.{i % 100:02d}")
    rows[120] = '2024-05-02,"Two-line\ndescription, quoted",-1.00'  # a newline inside a quoted cell
    rows[121] = rows[122]  # identical lines across a cut
    if lines > 200:
        rows[200] = "2024-07-40,Not a date,-1.00"  # an error line in a later range
    return ("\n".join(rows) + "\n").encode()


def test_iso_csv_ranges_read_as_the_whole_file() -> None:
    data = _iso_csv()
    plan = _same("Tabular3column#v1", data, 1500)
    assert plan.head_lines == 1


@pytest.mark.parametrize("range_bytes", range(700, 1400, 37))
def test_a_cut_never_falls_inside_a_quoted_cell(range_bytes: int) -> None:
    _same("Tabular3column#v1", _iso_csv(150), range_bytes, min_ranges=2)


def _german_csv(lines: int = 400) -> bytes:
    # the first lines fit both day orders; only a later line (13.x) tells the style: pinned for every range
    rows = ["Buchungstag;Verwendungszweck;Betrag"]
    for i in range(lines):
        day, month = (1 + i % 12, 1 + i // 12 % 12) if i < lines - 50 else (13 + i % 15, 1 + i % 12)
        rows.append(f"{day:02d}.{month:02d}.2024;Miete {i % 5};-1.{i % 1000:03d},{i % 100:02d}")
    rows[250] = "31.02.2024;Kein Tag;-1,00"
    return ("\r\n".join(rows) + "\r\n").encode("cp1252")


def test_german_csv_ranges_read_with_the_whole_files_decisions() -> None:
    data = _german_csv()
    plan = _same("Tabular3column#v1", data, 2000, min_ranges=4)
    assert plan.pinned is not None
    assert plan.pinned["dateStyle"] == "littleEndian"
    assert plan.pinned["decimal"] == ","


def test_mapped_csv_keeps_the_preamble_and_the_footer_rows() -> None:
    rows = ["Bank export", "Account;DE00", "Datum;Text;Betrag;Währung"]
    rows += [f"{1 + i % 28:02d}.03.2024;Zahlung {i};{i},50;EUR" for i in range(200)]
    rows += ["", "Saldo;;999,00;EUR"]
    data = ("\n".join(rows) + "\n").encode()
    mapping = {"columns": {"date": "Datum", "description": "Text", "amount": "Betrag", "currency": "Währung"},
               "skipFooterRows": 2}
    _same("CSV#mapped#v1", data, 1200, mapping=mapping)


def _mt940_statements(count: int) -> bytes:
    sample = (SAMPLES / "mt940" / "mt940-jejik-abnamro.sta").read_bytes()
    return sample * count


def test_mt940_is_cut_between_statements() -> None:
    data = _mt940_statements(12)
    plan = _same("MT940#v1", data, len(data) // 5)
    for part in plan.ranges[1:]:
        assert re.match(rb"[ \t]*(\{4:)?\r?\n?:20:|ABN", data[part.start:part.start + 40]) or b":20:" in \
            data[part.start:part.start + 80]


def test_mt940_sample_with_many_messages() -> None:
    data = (SAMPLES / "mt940" / "mt940-betterplace-sepa_mt9401.sta").read_bytes()
    _same("MT940#v1", data, len(data) // 6)


def _camt_statements(count: int) -> bytes:
    text = (SAMPLES / "camt053" / "oca-test-camt053.xml").read_text()
    start, end = text.index("<Stmt>"), text.rindex("</Stmt>") + len("</Stmt>")
    statement = text[start:end]
    many = "\n        ".join(statement.replace("1234Test/1", f"1234Test/{n}") for n in range(count))
    return (text[:start] + many + text[end:]).encode()


def test_camt_is_cut_between_statements() -> None:
    data = _camt_statements(9)
    plan = _same("CAMT053#v1", data, len(data) // 4)
    for part in plan.ranges[1:]:
        assert data[part.start:part.start + 6] == b"<Stmt>"
    assert plan.tail_start is not None and data[plan.tail_start:].strip().startswith(b"</BkToCstmrStmt>")


def test_small_files_and_other_formats_stay_whole() -> None:
    data = _iso_csv()
    fmt = get_format("Tabular3column#v1")
    assert len(ranges.plan(fmt, BytesSource(data), ParseOptions(), len(data)).ranges) == 1
    qif = (SAMPLES / "qif" / "oca-test_qif.qif").read_bytes()
    assert len(ranges.plan(get_format("QIF#v1"), BytesSource(qif), ParseOptions(), 10).ranges) == 1


def test_a_utf16_csv_stays_whole() -> None:
    data = _iso_csv().decode().encode("utf-16")
    fmt = get_format("Tabular3column#v1")
    assert len(ranges.plan(fmt, BytesSource(data), ParseOptions(), 1500).ranges) == 1


def test_line_numbers_follow_the_file() -> None:
    data = _iso_csv()
    _, events = _split("Tabular3column#v1", data, 1500, ParseOptions())
    numbers = [e.line_number for e in events if isinstance(e, ParsedLine)]
    assert numbers == sorted(numbers) and numbers[0] == 2
    text_lines = data.decode().split("\n")
    last = next(e for e in reversed(events) if isinstance(e, ParsedLine))
    assert text_lines[last.line_number - 1].startswith(last.date_posted.isoformat())


def test_a_cut_file_read_in_ranges_warns_once_at_its_end_as_read_whole() -> None:
    """Only the last range holds the file's end: its FileTruncated note (line numbered as the whole file numbers
    it) is the whole reading's; the earlier ranges end between statements (and an envelope's `{4:` opened for
    the next statement, read by the next range, is no cut)."""
    data = _mt940_statements(12)
    cut = data[:data.rfind(b":62")]
    plan = _same("MT940#v1", cut, len(cut) // 5)
    assert len(plan.ranges) >= 3
    [note] = [e for e in _whole("MT940#v1", cut, ParseOptions()) if isinstance(e, FileNote)]
    assert (note.code, note.severity, note.line_number) == ("FileTruncated", "warning", cut.count(b"\n"))
    envelope = b"{1:F01ABNANL2AXXXX0000000000}{2:O940ABNANL2AXXXXN}{4:\n"
    framed = b"".join(envelope + message.replace(b"\n-", b"\n-}") for message in
                      [b":20:S%d\n:25:DE1\n:28C:%d\n:60F:C240101EUR0,\n:61:2401020102C5,00NTRFNONREF\n:86:a\n"
                       b":62F:C240102EUR5,00\n-\n" % (n, n) for n in range(40)])
    _same("MT940#v1", framed, len(framed) // 4)
    assert not [e for e in _whole("MT940#v1", framed, ParseOptions()) if isinstance(e, FileNote)]


def test_statements_without_their_closing_balance_read_in_ranges_warn_as_read_whole() -> None:
    """A statement without its closing balance (and no `-` line after it) is warned about once the next one begins
    (BalanceMissing; the file's last one is FileTruncated's): a range that ends with one is followed by more of
    the file, so it warns there too."""
    statement = (b":20:S%d\n:25:NL71RABO0123456789\n:28C:%d\n:60F:C240101EUR0,\n:61:2401020102C5,00NTRFNONREF\n"
                 b":86:a\n")
    data = b"".join(statement % (n, n) for n in range(40)) + b":62F:C240102EUR5,00\n"
    _same("MT940#v1", data, len(data) // 4)
    notes = [e for e in _whole("MT940#v1", data, ParseOptions()) if isinstance(e, FileNote)]
    assert [(e.code, e.line_number) for e in notes] == [("BalanceMissing", 1 + 6 * n) for n in range(39)]


def test_a_short_or_wide_row_in_a_later_range_names_its_line_as_read_whole() -> None:
    """A CSV row that is no line is rejected naming its line in `target` (`line 1502`), not the range's own
    count (`line 272`)."""
    rows = [f"2024-01-{1 + i % 28:02d},Shop {i},-{i}.50" for i in range(2000)]
    rows[1500], rows[1700] = "2024-01-02,short", "2024-01-03,wide,1.00,2.00"
    data = ("date,description,amount\n" + "\n".join(rows) + "\n").encode()
    _same("Tabular3column#v1", data, len(data) // 4)
    assert [(e.line_number, e.target) for e in _whole("Tabular3column#v1", data, ParseOptions())
            if isinstance(e, LineError)] == [(1502, "line 1502"), (1702, "line 1702")]


@pytest.mark.parametrize(("cut", "rejected"), [(b'"-1999.5', True), (b'"1999.0', True), (b'"-1999.50"', False)])
def test_a_csv_file_cut_in_its_last_line_reads_in_ranges_as_whole(cut: bytes, rejected: bool) -> None:
    """Only the last range holds the file's end: the last line's rejection and the FileTruncated note are the
    whole reading's, and no earlier range (each ending at a line end) says its end is cut."""
    days = [f"2024-{1 + i // 28 % 12:02d}-{1 + i % 28:02d}" for i in range(2000)]
    rows = "".join(f'{day},"Shop {i}","-{i}.50","{i}.00"\n' for i, day in enumerate(days))
    data = ("date,text,amount,balance\n" + rows).encode()
    data = data[:data.rindex(cut) + len(cut)]
    mapping = {"columns": {"date": "date", "description": "text", "amount": "amount", "balance": "balance"}}
    _same("CSV#mapped#v1", data, len(data) // 4, mapping=mapping)
    whole = _whole("CSV#mapped#v1", data, ParseOptions(mapping=mapping))
    assert [(e.code, e.line_number) for e in whole if isinstance(e, FileNote | LineError)] == (
        [("InvalidLine", 2001)] if rejected else []) + [("FileTruncated", 2001)]
    three = "".join(f'{day},Shop {i},"-{i}.50"\n' for i, day in enumerate(days)).encode()[:-4]  # in the amount
    _same("Tabular3column#v1", three, len(three) // 4)
    assert [(e.code, e.line_number) for e in _whole("Tabular3column#v1", three, ParseOptions())
            if isinstance(e, FileNote | LineError)] == [("InvalidLine", 2000), ("FileTruncated", 2000)]


@pytest.mark.parametrize(("file_format", "data", "range_bytes", "mapping"), [
    ("Tabular3column#v1", _iso_csv(2000), 9000, None),
    ("Tabular3column#v1", _german_csv(2000), 9000, None),
    ("CSV#mapped#v1", ("Bank export\nDatum;Text;Betrag;Währung\n" + "".join(
        f"{1 + i % 28:02d}.03.2024;Zahlung {i};{i},50;EUR\n" for i in range(2000)) + "\nSaldo;;9,00;EUR\n").encode(),
     9000, {"columns": {"date": "Datum", "description": "Text", "amount": "Betrag", "currency": "Währung"},
            "skipRows": 1, "skipFooterRows": 2}),
])
def test_ranges_handing_over_blocks_stand_for_the_whole_files_lines(
        file_format: str, data: bytes, range_bytes: int, mapping: dict[str, Any] | None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_feed, "BLOCK_SIZE", 2048)  # blocks within each range, numbered as the file
    whole = _whole(file_format, data, ParseOptions(mapping=mapping))
    plan, split = _split(file_format, data, range_bytes, ParseOptions(mapping=mapping, blocks=True))
    assert len(plan.ranges) >= 3
    assert any(isinstance(e, LineBlock) for e in split)
    assert [line for e in split for line in (e.lines() if isinstance(e, LineBlock) else [e])] == whole
