"""The fixed tabular layouts: `CSV#4col#v1` (date, description, credit, debit) and
`Tabular3column#v1` (date, description, signed amount)."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator

from tximport.formats.base import (
    EMPTY_FILE,
    INVALID_AMOUNT,
    INVALID_DATE,
    INVALID_LINE,
    FileError,
    LineError,
    ParsedLine,
    ParseEvent,
    ParseOptions,
    Source,
)
from tximport.formats.values import parse_amount, parse_date

_HEADER_WORDS = {"date", "description", "amount", "credit", "debit", "details", "narrative"}


def _rows(source: Source) -> Iterator[tuple[int, list[str]]]:
    with source.open() as raw:
        text = codecs.getreader("utf-8-sig")(raw, errors="replace")
        for index, row in enumerate(csv.reader(text), start=1):
            yield index, row


def _looks_like_header(row: list[str]) -> bool:
    return any(cell.strip().lower() in _HEADER_WORDS for cell in row)


def _parse_tabular(source: Source, options: ParseOptions, columns: int) -> Iterator[ParseEvent]:
    names = ("date", "description", "credit", "debit") if columns == 4 else ("date", "description", "amount")
    seen_any = False
    for line_number, row in _rows(source):
        if not row or all(not cell.strip() for cell in row):
            continue
        if not seen_any and _looks_like_header(row):
            seen_any = True
            continue
        seen_any = True
        if len(row) < columns:
            yield LineError(line_number, INVALID_LINE, f"expected {columns} columns, found {len(row)}",
                            actual_value=",".join(row), target=f"line {line_number}")
            continue
        try:
            posted = parse_date(row[0], options.date_style)
        except ValueError as exc:
            yield LineError(line_number, INVALID_DATE, str(exc), actual_value=row[0], target=names[0])
            continue
        try:
            if columns == 4:
                credit = parse_amount(row[2]) if row[2].strip() else None
                debit = parse_amount(row[3]) if row[3].strip() else None
                if credit is None and debit is None:
                    raise ValueError("neither credit nor debit is given")
                amount = (credit or 0) - abs(debit or 0)
            else:
                amount = parse_amount(row[2])
        except ValueError as exc:
            target = names[2] if columns == 3 else "credit/debit"
            yield LineError(line_number, INVALID_AMOUNT, str(exc), actual_value=",".join(row[2:columns]),
                            target=target)
            continue
        yield ParsedLine(line_number=line_number, date_posted=posted, amount=amount,
                         description=row[1].strip())
    if not seen_any:
        raise FileError(EMPTY_FILE, "the file holds no lines")


def parse_csv_4col(source: Source, options: ParseOptions) -> Iterator[ParseEvent]:
    """Date, description, credit, debit."""
    return _parse_tabular(source, options, 4)


def parse_tabular_3col(source: Source, options: ParseOptions) -> Iterator[ParseEvent]:
    """Date, description, signed amount."""
    return _parse_tabular(source, options, 3)
