"""A CSV file whose end cuts its last record short (qa41a F1): the record is rejected `InvalidLine` where the cut
may have changed a value it is read with, and the file gets a warning `FileTruncated` at its last line, on every
CSV path (the column reader and the row reader, any block size, the fixed layouts) alike."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.samples import SAMPLES
from tximport.formats import csv_feed, fast_csv
from tximport.formats.base import (
    FILE_TRUNCATED,
    INVALID_LINE,
    BytesSource,
    FileError,
    FileNote,
    LineError,
    ParsedLine,
    ParseEvent,
    ParseOptions,
)
from tximport.formats.csv_mapped import parse_csv_mapped
from tximport.formats.tabular import parse_csv_4col, parse_tabular_3col

CSV_SAMPLES = SAMPLES / "csv"
needs_samples = pytest.mark.skipif(not CSV_SAMPLES.is_dir(), reason="shared samples are not present")

#: the mappings the fileformats detection suggests for the two samples (qa41a F1)
BALANCE = {"columns": {"date": "Date", "description": "Label", "amount": "Amount", "balance": "Balance"},
           "delimiter": ",", "decimalSeparator": ".", "dateStyle": "middleEndian"}
DEBIT_CREDIT = {"columns": {"date": "Date", "description": "Label", "debit": "Debit", "credit": "Credit",
                            "balance": "Balance"},
                "delimiter": ",", "decimalSeparator": ".", "dateStyle": "middleEndian"}


def _events(parser: Any, data: bytes, **options: Any) -> list[ParseEvent] | tuple[str, str]:
    try:
        return list(parser(BytesSource(data), ParseOptions(**options)))
    except FileError as exc:
        return exc.code, exc.message


def read(data: bytes, monkeypatch: pytest.MonkeyPatch, parser: Any = parse_csv_mapped,
         **options: Any) -> list[ParseEvent]:
    """The events of `data`: the same with the row reader alone, and in small blocks with either reader."""
    events = _events(parser, data, **options)
    for block in (csv_feed.BLOCK_SIZE, 16, 64):
        with monkeypatch.context() as m:
            m.setattr(csv_feed, "BLOCK_SIZE", block)
            assert _events(parser, data, **options) == events, block
            m.setattr(fast_csv, "ENABLED", False)
            assert _events(parser, data, **options) == events, block
    assert isinstance(events, list), events
    return events


def shown(events: list[ParseEvent]) -> list[tuple[Any, ...]]:
    """Lines (number, amount, balance), rejected lines (number, code) and notes (code, severity, number)."""
    out: list[tuple[Any, ...]] = []
    for e in events:
        if isinstance(e, ParsedLine):
            out.append((e.line_number, str(e.amount), None if e.balance is None else str(e.balance)))
        elif isinstance(e, LineError):
            out.append((e.line_number, e.code))
        elif isinstance(e, FileNote):
            out.append((e.code, e.severity, e.line_number))
    return out


def sample(name: str) -> bytes:
    return (CSV_SAMPLES / name).read_bytes()


def cut_after(data: bytes, text: bytes, keep: int) -> bytes:
    """`data` cut `keep` bytes into the last `text` it holds."""
    return data[:data.rindex(text) + keep]


NOTE = (FILE_TRUNCATED, "warning")


@needs_samples
@pytest.mark.parametrize(("name", "mapping", "cut", "expected"), [
    # qa41a F1: byte 173, inside the last amount ("1,533.50" staged as 1533.00)
    ("oca-balance.csv", BALANCE, 173, [(2, "-33.50", "-23.50"), (3, INVALID_LINE), (*NOTE, 3)]),
    # byte 101, inside the only line's amount (-3.00 for -33.50)
    ("oca-balance.csv", BALANCE, 101, [(2, INVALID_LINE), (*NOTE, 2)]),
    # byte 109, inside the credit (2.00 for 20.00)
    ("oca-debit_credit_amount.csv", DEBIT_CREDIT, 109, [(2, INVALID_LINE), (*NOTE, 2)]),
    # byte 331, after the last line's debit and delimiter: its credit, balance and partner columns are gone (the
    # statement closed at -1490.00 for 1510.00)
    ("oca-debit_credit_amount.csv", DEBIT_CREDIT, 331,
     [(2, "20.00", "-10.00"), (3, "-13.50", "-23.50"), (4, "-33.50", "10.00"), (5, INVALID_LINE), (*NOTE, 5)]),
])
def test_the_qa_cuts_of_the_samples_are_rejected_with_a_warning(name: str, mapping: dict[str, Any], cut: int,
                                                                expected: list[Any],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    data = sample(name)[:cut]
    events = read(data, monkeypatch, mapping=mapping)
    assert shown(events) == expected
    [error] = [e for e in events if isinstance(e, LineError)]
    last_line = data.decode().split("\n")[-1]
    assert error.actual_value == last_line and error.target == f"line {error.line_number}"
    assert error.message.startswith("The file ends inside this line")
    assert ("never closed" in error.message) == (last_line.count('"') % 2 == 1)
    [note] = [e for e in events if isinstance(e, FileNote)]
    assert "cut short" in note.message


@needs_samples
@pytest.mark.parametrize(("name", "mapping", "expected"), [
    ("oca-balance.csv", BALANCE, [(2, "-33.50", "-23.50"), (3, INVALID_LINE), (*NOTE, 3)]),
    ("oca-debit_credit_amount.csv", DEBIT_CREDIT,
     [(2, "20.00", "-10.00"), (3, "-13.50", "-23.50"), (4, "-33.50", "10.00"), (5, INVALID_LINE), (*NOTE, 5)]),
])
def test_a_cut_inside_the_last_balance_rejects_its_line(name: str, mapping: dict[str, Any], expected: list[Any],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`"1,51` of `"1,510.00"`: the balance would close the statement at 1.51 (or its line's balance be 151)."""
    data = cut_after(sample(name), b'"1,510.00"', 5)
    assert data.endswith(b',"1,51')
    assert shown(read(data, monkeypatch, mapping=mapping)) == expected


@needs_samples
def test_a_cut_after_a_closed_amount_stages_the_line_with_the_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """`"1,533.50"` closed by its quote is whole: the line is staged without the balance the cut took away."""
    data = cut_after(sample("oca-balance.csv"), b'"1,533.50"', len(b'"1,533.50"'))
    events = read(data, monkeypatch, mapping=BALANCE)
    assert shown(events) == [(2, "-33.50", "-23.50"), (3, "1533.50", None), (*NOTE, 3)]
    [note] = [e for e in events if isinstance(e, FileNote)]
    assert "3 columns where the header has 6" in note.message


@needs_samples
def test_a_cut_inside_the_footer_or_the_line_before_it_warns_and_imports_the_lines_before(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With `skipFooterRows`, the cut record is read as the footer (never a line): the warning says the file is cut."""
    mapping = {"columns": {"date": "Date", "bankTransactionId": "Operation Number", "description": ["Label", "Detail"],
                           "debit": "Debit", "credit": "Credit"},
               "dateStyle": "littleEndian", "skipFooterRows": 1, "currency": "EUR"}
    data = sample("oca-meta_data_separated_credit_debit.csv")
    whole = [(6, "-50.00", None), (7, "-100.00", None), (8, "-80.68", None), (9, "1300.00", None)]
    assert shown(read(data, monkeypatch, mapping=mapping)) == whole
    in_footer = cut_after(data, b'"+30000,77"', 7)
    assert shown(read(in_footer, monkeypatch, mapping=mapping)) == [*whole, (*NOTE, 10)]
    in_last_line = cut_after(data, b'"1300,00"', 5)
    assert shown(read(in_last_line, monkeypatch, mapping=mapping)) == [*whole[:3], (*NOTE, 9)]


GERMAN = {"columns": {"date": "Datum", "description": "Text", "amount": "Betrag", "balance": "Saldo"},
          "dateStyle": "littleEndian", "decimalSeparator": ","}
GERMAN_FILE = ("Datum;Text;Betrag;Saldo;Referenz\n02.01.2024;Miete;-500,00;1.500,00;R1\n"
               "03.01.2024;Bäckerei;-12,50;1.487,50;R2\n").encode("cp1252")


@pytest.mark.parametrize(("cut", "expected"), [
    # the amount cut short (-12 for -12,50): rejected
    (";-12", [(3, INVALID_LINE), (*NOTE, 3)]),
    # the balance cut short (1.487 for 1.487,50): rejected
    (";-12,50;1.487", [(3, INVALID_LINE), (*NOTE, 3)]),
    # the cut came before the balance: the line is whole but for its balance, which it is staged without
    (";-12,50;", [(3, "-12.50", None), (*NOTE, 3)]),
    # the description cut short: the line has no amount, which rejects it as any line so short
    (";Bäck", [(3, INVALID_LINE), (*NOTE, 3)]),
    # every cell there (the reference empty, or cut): nothing tells the line from a whole one without its line break
    (";-12,50;1.487,50;", [(3, "-12.50", "1487.50")]),
    (";-12,50;1.487,50;R", [(3, "-12.50", "1487.50")]),
])
def test_a_last_line_without_its_line_end_and_short_of_cells_is_cut(cut: str, expected: list[Any],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    data = GERMAN_FILE[:GERMAN_FILE.rindex(cut.encode("cp1252")) + len(cut.encode("cp1252"))]
    events = read(data, monkeypatch, mapping=GERMAN)
    assert shown(events) == [(2, "-500.00", "1500.00"), *expected]


@pytest.mark.parametrize(("text", "cut", "columns", "target"), [
    # credit before debit: a debit line cut after its credit 0,00 would be a movement of 0,00
    ("Datum;Text;Haben;Soll;Saldo\n02.01.2024;Miete;0,00;500,00;1.500,00\n03.01.2024;Bäckerei;0,00;12,50;1.487,50\n",
     "0,00;", {"credit": "Haben", "debit": "Soll"}, "Soll"),
    # an amount and its indicator: cut before the indicator, the debit would be a credit
    ("Datum;Text;Betrag;S/H;Saldo\n02.01.2024;Miete;500,00;S;1.500,00\n03.01.2024;Bäckerei;12,50;S;1.487,50\n",
     "12,50;", {"amount": "Betrag", "indicator": "S/H"}, "S/H"),
])
def test_an_emptied_credit_debit_or_indicator_cell_rejects_the_last_line(
        text: str, cut: str, columns: dict[str, str], target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = text[:text.rindex(cut) + len(cut)].encode("cp1252")
    events = read(data, monkeypatch, mapping={"columns": {"date": "Datum", "description": "Text", **columns},
                                              "dateStyle": "littleEndian", "decimalSeparator": ","})
    assert shown(events) == [(2, "-500.00", None), (3, INVALID_LINE), (*NOTE, 3)]
    [error] = [e for e in events if isinstance(e, LineError)]
    assert f"its last value ({target}) may be cut" in error.message


def test_lines_as_short_as_the_one_before_are_no_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    """An export that leaves out empty last cells on every line (not only the cut one) and its last line break."""
    data = b"Date,Text,Amount,Note\n2024-01-01,A,1.00\n2024-01-02,B,2.00"
    assert shown(read(data, monkeypatch, mapping={"columns": {"date": "Date", "description": "Text",
                                                              "amount": "Amount"}})) == [
        (2, "1.00", None), (3, "2.00", None)]


@pytest.mark.parametrize(("data", "column"), [
    (b'2024-01-01,"Coffee, large,-3.50\n2024-01-02,Tea,-2.00\n2024-01-03,Cake,-4.00\n', 1),
    (b'2024-01-01,Coffee,"-3.50\n2024-01-02,Tea,-2.00\n2024-01-03,Cake,-4.00\n', 2),
    # (read before as line 1 with a description that held lines 2 and 3, which were gone)
    (b'2024-01-01,-3.50,"Coffee\n2024-01-02,-2.00,Tea\n2024-01-03,-4.00,Cake\n', 3),
])
def test_a_quote_never_closed_takes_the_rest_of_the_file_into_its_line(
        data: bytes, column: int, monkeypatch: pytest.MonkeyPatch) -> None:
    mapping = {"columns": {"date": "Date", "description": "Text", "amount": "Amount"}}
    names = [b"Date,Text,Amount", b"Date,Text,Amount", b"Date,Amount,Text"][column - 1]
    events = read(names + b"\n" + data, monkeypatch, mapping=mapping)
    assert shown(events) == [(2, INVALID_LINE), (*NOTE, 4)]
    [error] = [e for e in events if isinstance(e, LineError)]
    assert error.actual_value == data.decode().rstrip("\n")
    assert "the lines after it are read into that value" in error.message


@pytest.mark.parametrize(("parser", "data", "expected"), [
    (parse_tabular_3col, b'2024-01-02,Coffee,"-3.50"\n2024-01-03,Salary,"2,50',
     [(1, "-3.50", None), (2, INVALID_LINE), (*NOTE, 2)]),
    (parse_tabular_3col, b'date,description,amount\n2024-01-02,"Coff', [(2, INVALID_LINE), (*NOTE, 2)]),
    (parse_tabular_3col, b'2024-01-02,"Coff', [(1, INVALID_LINE), (*NOTE, 1)]),  # (read to tell there is no header)
    (parse_csv_4col, b"date,description,credit,debit\n2024-01-31,Salary,2500.00,\n2024-02-01,Rent,",
     [(2, "2500.00", None), (3, INVALID_LINE), (*NOTE, 3)]),
    (parse_csv_4col, b"date,description,credit,debit\n2024-01-31,Salary,2500.00,\n2024-02-01,Rent,,950",
     [(2, "2500.00", None), (3, "-950", None)]),
])
def test_the_fixed_layouts_read_the_files_end_alike(parser: Any, data: bytes, expected: list[Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert shown(read(data, monkeypatch, parser)) == expected


def test_a_record_that_opens_a_quote_at_the_very_end_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lone `"` after the last line break: the cut came right after a record's first character."""
    data = b'Date,Text,Amount\n2024-01-02,Coffee,-3.50\n"'
    assert shown(read(data, monkeypatch, mapping={"columns": {"date": "Date", "amount": "Amount"}})) == [
        (2, "-3.50", None), (3, INVALID_LINE), (*NOTE, 3)]


def test_the_warnings_line_is_the_files_last_that_holds_more_than_blanks(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b'Date,Text,Amount\n2024-01-02,"Coffee\nwith milk,-3.50\n  \n'
    events = read(data, monkeypatch, mapping={"columns": {"date": "Date", "description": "Text", "amount": "Amount"}})
    assert shown(events) == [(2, INVALID_LINE), (*NOTE, 3)]
    assert [e.actual_value for e in events if isinstance(e, LineError)] == ['2024-01-02,"Coffee\nwith milk,-3.50\n  ']


def test_a_long_cut_file_is_cut_on_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of plain lines read by columns, the cut one last (a block of its own, read by columns too when
    it has no open quote)."""
    rows = "".join(f'2024-01-{1 + i % 28:02d},Shop {i},"-{i}.50","{i}.00"\n' for i in range(3000))
    data = ("Date,Text,Amount,Balance\n" + rows).encode()
    mapping = {"columns": {"date": "Date", "description": "Text", "amount": "Amount", "balance": "Balance"}}
    whole = _events(parse_csv_mapped, data, mapping=mapping)
    assert isinstance(whole, list) and len(whole) == 3000 and all(isinstance(e, ParsedLine) for e in whole)
    for end, expected in (
            (len(data) - 1, [(3001, "-2999.50", "2999.00")]),  # the last line break: a whole line
            (data.rindex(b'"2999.0') + 7, [(3001, INVALID_LINE), (*NOTE, 3001)]),  # in the balance
            (data.rindex(b'"-2999.5') + 8, [(3001, INVALID_LINE), (*NOTE, 3001)]),  # in the amount
            (data.rindex(b'"-2999.50"') + 10, [(3001, "-2999.50", None), (*NOTE, 3001)])):  # the balance is gone
        events = _events(parse_csv_mapped, data[:end], mapping=mapping)
        with monkeypatch.context() as m:
            m.setattr(fast_csv, "ENABLED", False)
            assert _events(parse_csv_mapped, data[:end], mapping=mapping) == events
        assert isinstance(events, list)
        assert events[:2999] == whole[:2999]
        assert shown(events[2999:]) == expected
