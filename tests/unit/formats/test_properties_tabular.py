"""Property tests: statements written in each format read back to the same rows, and broken input
only ever surfaces as FileError or LineError."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st

from tximport.formats.base import (
    AMBIGUOUS_DATE_STYLE,
    FILE_TRUNCATED,
    FileError,
    FileNote,
    LineError,
    ParsedLine,
    StatementAccount,
)
from tximport.formats.csv_mapped import parse_csv_mapped
from tximport.formats.json_v0 import parse_json_v0
from tximport.formats.qif import parse_qif
from tximport.formats.tabular import parse_csv_4col, parse_tabular_3col
from tximport.models import DateStyle

from .helpers import errors, lines, run

# Shrinking re-parses whole files thousands of times (minutes): a failure is reported as generated.
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=NO_SHRINK)

# Letters every tested encoding (cp1252, ISO-8859-1, UTF-8/16) carries, plus CSV-hostile punctuation.
# (The accented letters are those the neighbouring code pages cp1250/ISO-8859-2 write with the same
# bytes: random letter soup is no language, so detection cannot be asked to tell those pages apart.)
TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZäöüßÄÖÜé0123456789 .,;|'\"-/&",
               max_size=30)
AMOUNT = st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2,
                     allow_nan=False, allow_infinity=False)
DATE = st.dates(min_value=date(1971, 1, 1), max_value=date(2068, 12, 31))
ROW = st.tuples(DATE, TEXT, AMOUNT)
ROWS = st.lists(ROW, min_size=1, max_size=15)


def money(amount: Decimal, decimal: str, grouping: bool) -> str:
    text = f"{abs(amount):,.2f}" if grouping else f"{abs(amount):.2f}"
    if decimal == ",":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return ("-" if amount < 0 else "") + text


def day(value: date, style: str) -> str:
    return {"iso": value.isoformat(), "little": value.strftime("%d.%m.%Y"),
            "middle": value.strftime("%m/%d/%Y")}[style]


def write_csv(rows: list[list[str]], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue()


def ambiguous(dates: list[date]) -> bool:
    return all(d.day <= 12 for d in dates) and any(d.day != d.month for d in dates)


def check_round_trip(parser, data: bytes, rows, date_style: str, **options) -> None:  # type: ignore[no-untyped-def]
    try:
        events = run(parser, data, **options)
    except FileError as exc:
        # only a column whose every date reads both ways may stop the import
        assert exc.code == AMBIGUOUS_DATE_STYLE, exc.message
        assert date_style != "iso" and ambiguous([r[0] for r in rows])
        return
    assert not errors(events), errors(events)
    parsed = lines(events)
    assert [(p.date_posted, p.description, p.amount) for p in parsed] == [
        (d, unicodedata.normalize("NFC", text.strip()), amount) for d, text, amount in rows]


ENCODING = st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "iso8859_1", "utf-16"])
DELIMITER = st.sampled_from([",", ";", "\t", "|"])
STYLE = st.sampled_from(["iso", "little", "middle"])


@SETTINGS
@given(rows=ROWS, delimiter=DELIMITER, decimal=st.sampled_from([".", ","]), grouping=st.booleans(),
       style=STYLE, encoding=ENCODING, header=st.booleans())
# found on main: a tab-separated grouped amount read as cells split at its commas ('000', 0.00)
@example(rows=[(date(2061, 2, 28), "", Decimal("10000000.00"))], delimiter="\t", decimal=".", grouping=True,
         style="middle", encoding="utf-16", header=False)
def test_3col_round_trip(rows, delimiter, decimal, grouping, style, encoding, header) -> None:  # type: ignore[no-untyped-def]
    table = [["date", "description", "amount"]] if header else []
    table += [[day(d, style), text, money(amount, decimal, grouping)] for d, text, amount in rows]
    data = write_csv(table, delimiter).encode(encoding)
    check_round_trip(parse_tabular_3col, data, rows, style)


@SETTINGS
@given(rows=ROWS, delimiter=DELIMITER, decimal=st.sampled_from([".", ","]), style=STYLE, encoding=ENCODING)
def test_4col_round_trip(rows, delimiter, decimal, style, encoding) -> None:  # type: ignore[no-untyped-def]
    table = [["Date", "Description", "Credit", "Debit"]]
    for d, text, amount in rows:
        value = money(abs(amount), decimal, True)
        table.append([day(d, style), text, value if amount >= 0 else "", value if amount < 0 else ""])
    data = write_csv(table, delimiter).encode(encoding)
    check_round_trip(parse_csv_4col, data, rows, style)


@SETTINGS
@given(rows=ROWS, delimiter=DELIMITER, decimal=st.sampled_from([".", ","]), style=STYLE, encoding=ENCODING,
       order=st.permutations(["Buchungstag", "Text", "Betrag", "Ref", "Extra"]),
       preamble=st.lists(st.sampled_from(["Konto 123", "Zeitraum: 2024", ""]), max_size=3))
def test_mapped_round_trip(rows, delimiter, decimal, style, encoding, order, preamble) -> None:  # type: ignore[no-untyped-def]
    table = [[line] for line in preamble] + [list(order)]
    for i, (d, text, amount) in enumerate(rows):
        cells = {"Buchungstag": day(d, style), "Text": text, "Betrag": money(amount, decimal, True),
                 "Ref": f"R{i}", "Extra": "x"}
        table.append([cells[name] for name in order])
    data = write_csv(table, delimiter).encode(encoding)
    mapping = {"columns": {"date": "buchungstag", "description": "Text", "amount": "Betrag",
                           "bankTransactionId": "Ref"}}
    check_round_trip(parse_csv_mapped, data, rows, style, mapping=mapping)


@SETTINGS
@given(rows=ROWS, apostrophe=st.booleans(), grouping=st.booleans())
def test_qif_round_trip(rows, apostrophe, grouping) -> None:  # type: ignore[no-untyped-def]
    assume(all(d.year >= 2000 for d, _, _ in rows) or not apostrophe)
    out = ["!Type:Bank"]
    for d, text, amount in rows:
        written = f"{d.month}/{d.day}'{d.year % 100:02d}" if apostrophe else d.strftime("%m/%d/%Y")
        out += [f"D{written}", f"T{money(amount, '.', grouping)}", f"P{text}", "^"]
    data = "\n".join(out).encode("cp1252")
    events = run(parse_qif, data, date_style=DateStyle.MIDDLE_ENDIAN)
    assert not errors(events)
    assert [(p.date_posted, p.description, p.amount) for p in lines(events)] == [
        (d, text.strip(), amount) for d, text, amount in rows]


@SETTINGS
@given(accounts=st.lists(st.tuples(st.text(min_size=1, max_size=12).filter(str.strip), ROWS),
                         min_size=1, max_size=3),
       as_number=st.booleans(), any_text=st.text(max_size=20))
def test_json_round_trip(accounts, as_number, any_text) -> None:  # type: ignore[no-untyped-def]
    parts = []
    for ident, rows in accounts:
        transactions = ", ".join(
            '{"datePosted": "%s", "amount": %s, "description": %s}' % (  # noqa: UP031 - raw JSON numbers
                d.isoformat(), str(amount) if as_number else json.dumps(str(amount)), json.dumps(text + any_text))
            for d, text, amount in rows)
        parts.append('{"accountIdentifier": %s, "transactions": [%s]}' % (json.dumps(ident), transactions))  # noqa: UP031
    events = run(parse_json_v0, ('{"bankAccounts": [%s]}' % ", ".join(parts)).encode())  # noqa: UP031
    assert not errors(events)
    assert [e.account_ref for e in events if isinstance(e, StatementAccount)] == [a.strip() for a, _ in accounts]
    expected = [(ident.strip(), d, unicodedata.normalize("NFC", (text + any_text).strip()), amount)
                for ident, rows in accounts for d, text, amount in rows]
    assert [(p.account_ref, p.date_posted, p.description, p.amount) for p in lines(events)] == expected


PARSERS = [
    (parse_tabular_3col, {}),
    (parse_csv_4col, {}),
    (parse_csv_mapped, {"mapping": {"columns": {"date": 0, "description": 1, "amount": 2}}}),
    (parse_csv_mapped, {"mapping": {"columns": {"date": "Date", "debit": "Debit", "credit": "Credit"}}}),
    (parse_qif, {}),
    (parse_json_v0, {}),
]


def only_file_or_line_errors(data: bytes) -> None:
    for parser, options in PARSERS:
        try:
            for event in run(parser, data, **options):
                assert isinstance(event, ParsedLine | LineError | StatementAccount) or (
                    parser is not parse_json_v0 and isinstance(event, FileNote) and event.code == FILE_TRUNCATED)
        except FileError as exc:
            assert exc.code and exc.message


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=NO_SHRINK)
@given(data=st.binary(max_size=600))
def test_random_bytes_only_raise_file_errors(data: bytes) -> None:
    only_file_or_line_errors(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=NO_SHRINK)
@given(rows=ROWS, cut=st.floats(min_value=0, max_value=1), noise=st.binary(max_size=8))
def test_truncated_and_corrupted_files_only_raise_file_or_line_errors(rows, cut, noise) -> None:  # type: ignore[no-untyped-def]
    csv_text = "Date,Description,Debit,Credit\n" + "".join(
        f"{d:%d/%m/%Y},{text!r},{amount},\n" for d, text, amount in rows)
    qif_text = "!Type:Bank\n" + "".join(f"D{d:%m/%d/%Y}\nT{amount}\nP{text}\n^\n" for d, text, amount in rows)
    json_text = json.dumps({"transactions": [{"datePosted": d.isoformat(), "amount": str(amount),
                                              "description": text} for d, text, amount in rows]})
    for text in (csv_text, qif_text, json_text):
        data = text.encode("utf-8")
        position = int(len(data) * cut)
        only_file_or_line_errors(data[:position])
        only_file_or_line_errors(data[:position] + noise + data[position:])
