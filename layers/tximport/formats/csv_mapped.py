"""`CSV#mapped#v1`: any bank's CSV export, read through a column mapping; and the CSV engine the
fixed layouts (`CSV#4col#v1`, `Tabular3column#v1`) share.

The import passes the mapping in `ParseOptions.mapping` (the API's `mapping` field). Its JSON schema
is `MAPPING_SCHEMA`; an example::

    {
      "columns": {
        "date": "Buchungstag",            # header name (case-insensitive) or 0-based index
        "valueDate": "Valuta",
        "description": ["Verwendungszweck", "Buchungstext"],   # several columns are joined
        "amount": "Umsatz",               # or "credit" + "debit", or "amount" + "indicator"
        "counterpartyName": "Beguenstigter/Zahlungspflichtiger",
        "currency": "Waehrung"
      },
      "decimalSeparator": ",",            # "auto" (default), "." or ","
      "skipRows": 0, "skipFooterRows": 0, "delimiter": null
    }

Column roles: `date` (required), `valueDate`, `description` (one or several columns, joined with
`descriptionSeparator`), the amount as exactly one of `amount` | `credit` + `debit` |
`amount` + `indicator` (a D/C column whose values are matched against `indicatorValues`), `balance`,
`bankTransactionId`, `reference`, `currency`, `originalAmount`, `originalCurrency`,
`counterpartyName`, `counterpartyAccount`, `account` (the account each line belongs to: a file may
then hold several accounts).

Amount semantics: `amount` is signed (positive is money in). With `credit` + `debit`, a line's amount
is the credit as written minus the absolute debit (a debit is money out whatever its sign; a negative
credit is a reversal). With an indicator, the amount's absolute value takes the indicator's sign; an
empty indicator keeps the amount as written.

Reading rules, each decided once per file and never per line:

* encoding: see `tximport.formats.encoding` (BOM, UTF-8, UTF-16, cp1252/ISO-8859-1 ...);
* delimiter: `delimiter` if given, else sniffed among `,` `;` tab `|` from a leading sample (the
  delimiter under which a row holds all mapped header names wins; else the most regular one);
* header row: when any column is mapped by name, the first row (after `skipRows`, within the first
  100 rows) that holds every mapped name is the header and the rows above it are a preamble; with
  indexes only, `header` says whether the first row is a header (`"auto"`: it is when its date cell
  holds no digit);
* date style: the import's `dateStyle`, else `dateStyle` in the mapping, else inferred from every value
  of the date columns (`FileError` `AmbiguousDateStyle` when both day/month orders fit);
* decimal separator: `decimalSeparator`, else inferred from the amount columns ("1.000" next to
  "1.234,56" is one thousand); with no telling value, `,` when the delimiter is `;`, else `.`.

Inference reads the file once before parsing (a cheap first pass over the mapped columns). It stops
after the first 1,000 data rows when those already settle it (every date ISO or with a month name,
and every telling amount agreeing); otherwise it reads every row.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from itertools import chain, islice
from typing import Any, Literal
from unicodedata import normalize

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tximport.formats import fast_csv
from tximport.formats.base import (
    EMPTY_FILE,
    INVALID_AMOUNT,
    INVALID_DATE,
    INVALID_LINE,
    INVALID_SOURCE_DATA,
    REQUIRED_VALUE_MISSING,
    DateStyle,
    FileError,
    LineError,
    ParsedLine,
    ParseEvent,
    ParseOptions,
    Source,
    StatementAccount,
)
from tximport.formats.dates import DateStyleVote, looks_like_date, make_date_parser
from tximport.formats.encoding import (
    SAMPLE_SIZE,
    decode_sample,
    detect_encoding,
    guarded,
    nfc,
    open_text,
    read_sample,
    text_stream,
)
from tximport.formats.values import amount_evidence, make_amount_parser

INVALID_MAPPING = "InvalidMapping"

ROLES = (
    "date", "valueDate", "description", "amount", "credit", "debit", "indicator", "balance",
    "bankTransactionId", "reference", "currency", "originalAmount", "originalCurrency",
    "counterpartyName", "counterpartyAccount", "account",
)
_AMOUNT_ROLES = ("amount", "credit", "debit", "balance", "originalAmount")
_DATE_ROLES = ("date", "valueDate")
#: optional text roles and the ParsedLine attribute each fills
_TEXT_ROLES = {
    "bankTransactionId": "bank_transaction_id",
    "reference": "reference",
    "counterpartyName": "counterparty_name",
    "counterpartyAccount": "counterparty_account",
    "originalCurrency": "original_currency",
}
DELIMITERS = (",", ";", "\t", "|")
HEADER_SEARCH_ROWS = 100
INFERENCE_SAMPLE_ROWS = 1000
DEFAULT_CREDIT_VALUES = ("C", "CR", "CRDT", "CREDIT", "H", "HABEN", "+")
DEFAULT_DEBIT_VALUES = ("D", "DR", "DBIT", "DEBIT", "S", "SOLL", "-")

_COLUMN_REF = {"oneOf": [{"type": "string", "minLength": 1}, {"type": "integer", "minimum": 0}]}

#: JSON schema of `ParseOptions.mapping` for CSV#mapped#v1 (served in GET /fileformats)
MAPPING_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "CSV column mapping",
    "type": "object",
    "required": ["columns"],
    "additionalProperties": False,
    "properties": {
        "columns": {
            "type": "object",
            "description": "Column roles; each is a header name (case-insensitive) or a 0-based index.",
            "required": ["date"],
            "additionalProperties": False,
            "properties": {
                **{role: _COLUMN_REF for role in ROLES if role != "description"},
                "description": {"oneOf": [_COLUMN_REF, {"type": "array", "items": _COLUMN_REF,
                                                        "minItems": 1}]},
            },
            "oneOf": [
                {"required": ["amount"], "not": {"anyOf": [{"required": ["credit"]},
                                                           {"required": ["debit"]}]}},
                {"required": ["credit", "debit"], "not": {"anyOf": [{"required": ["amount"]},
                                                                    {"required": ["indicator"]}]}},
            ],
        },
        "header": {"description": "Whether the first row is a header when columns are given by index.",
                   "oneOf": [{"type": "boolean"}, {"const": "auto"}], "default": "auto"},
        "skipRows": {"type": "integer", "minimum": 0, "default": 0,
                     "description": "Rows to skip before the header (or the first line)."},
        "skipFooterRows": {"type": "integer", "minimum": 0, "maximum": 100, "default": 0,
                           "description": "Rows to ignore at the end of the file (totals, balances)."},
        "delimiter": {"enum": [None, ",", ";", "\t", "|"], "default": None,
                      "description": "Field delimiter; sniffed when null."},
        "quoteChar": {"type": "string", "minLength": 1, "maxLength": 1, "default": "\""},
        "decimalSeparator": {"enum": ["auto", ".", ","], "default": "auto"},
        "dateStyle": {"enum": [None, "bigEndian", "littleEndian", "middleEndian"], "default": None,
                      "description": "Used when the import gives no dateStyle; inferred when null."},
        "indicatorValues": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "credit": {"type": "array", "items": {"type": "string"}},
                "debit": {"type": "array", "items": {"type": "string"}},
            },
            "description": "Values of the indicator column (case-insensitive); defaults: credit "
                           + "/".join(DEFAULT_CREDIT_VALUES) + ", debit " + "/".join(DEFAULT_DEBIT_VALUES),
        },
        "descriptionSeparator": {"type": "string", "default": " "},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$",
                     "description": "Currency of lines that have no currency column value."},
    },
}

ColumnRef = int | str

#: the problem listed for an invalid value of each mapping key (InvalidMapping details)
_PROBLEMS = {
    "columns": "'columns' must be an object of role: column",
    "header": "'header' must be true, false or \"auto\"",
    "skipRows": "'skipRows' must be an integer from 0 to 1000000",
    "skipFooterRows": "'skipFooterRows' must be an integer from 0 to 100",
    "delimiter": f"'delimiter' must be one of {list(DELIMITERS)} or null",
    "quoteChar": "'quoteChar' must be one character",
    "decimalSeparator": "'decimalSeparator' must be \"auto\", \".\" or \",\"",
    "dateStyle": "'dateStyle' must be bigEndian, littleEndian or middleEndian",
    "indicatorValues": "'indicatorValues' must be an object with 'credit' and 'debit' lists",
    "descriptionSeparator": "'descriptionSeparator' must be a string",
    "currency": "'currency' must be a three-letter ISO 4217 code",
}
_COLUMN_PROBLEMS = "column_problems"


class IndicatorValues(BaseModel):
    """The values of an indicator column that mean credit and debit (matched case-insensitively)."""

    model_config = ConfigDict(frozen=True)

    credit: tuple[StrictStr, ...] = DEFAULT_CREDIT_VALUES
    debit: tuple[StrictStr, ...] = DEFAULT_DEBIT_VALUES


class CsvMapping(BaseModel):
    """A validated column mapping (the `mapping` of an import; its schema is MAPPING_SCHEMA).

    Validate a mapping document with `from_json`, which raises FileError InvalidMapping listing every
    problem. Dumped (model_dump, or inside an import), it is the mapping document again: the keys the
    caller gave, by their documented names.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    columns: dict[str, tuple[ColumnRef, ...]]
    header: bool | None = None  # None: auto
    delimiter: Literal[",", ";", "\t", "|"] | None = None
    quote_char: str = Field(default='"', alias="quoteChar", min_length=1, max_length=1, strict=True)
    decimal_separator: Literal[".", ","] | None = Field(default=None, alias="decimalSeparator")  # None: inferred
    date_style: DateStyle | None = Field(default=None, alias="dateStyle")
    indicator_values: IndicatorValues = Field(default_factory=IndicatorValues, alias="indicatorValues")
    description_separator: str = Field(default=" ", alias="descriptionSeparator", strict=True)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", strict=True)
    skip_rows: int = Field(default=0, alias="skipRows", ge=0, le=1_000_000, strict=True)
    skip_footer_rows: int = Field(default=0, alias="skipFooterRows", ge=0, le=100, strict=True)

    @property
    def names(self) -> list[str]:
        """The header names the mapping refers to."""
        return [ref for refs in self.columns.values() for ref in refs if isinstance(ref, str)]

    @property
    def credit_values(self) -> frozenset[str]:
        return frozenset(v.strip().upper() for v in self.indicator_values.credit)

    @property
    def debit_values(self) -> frozenset[str]:
        return frozenset(v.strip().upper() for v in self.indicator_values.debit)

    @classmethod
    def from_json(cls, raw: Any) -> CsvMapping:
        """Validate a mapping document (see MAPPING_SCHEMA). Raises FileError InvalidMapping."""
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise _mapping_error(_problems(exc)) from None

    def to_json(self) -> dict[str, Any]:
        """The mapping document: the keys that were given, by their documented names."""
        return self.model_dump()

    @model_validator(mode="before")
    @classmethod
    def _columns_named(cls, raw: Any) -> Any:
        # without 'columns' the column rules still speak (the date, the amount), as for an empty object
        return {**raw, "columns": raw.get("columns")} if isinstance(raw, dict) else raw

    @field_validator("columns", mode="before")
    @classmethod
    def _columns(cls, raw: Any) -> dict[str, tuple[ColumnRef, ...]]:
        problems: list[str] = []
        if not isinstance(raw, dict):
            problems.append(_PROBLEMS["columns"])
            raw = {}
        columns: dict[str, tuple[ColumnRef, ...]] = {}
        for role, ref in raw.items():
            if role not in ROLES:
                problems.append(f"unknown column role {role!r} (roles: {', '.join(ROLES)})")
                continue
            refs = ref if isinstance(ref, list) and role == "description" else [ref]
            if not refs:
                problems.append(f"column {role!r} needs at least one column")
            for item in refs:
                if isinstance(item, bool) or not isinstance(item, int | str) or item == "" or (
                        isinstance(item, int) and item < 0):
                    problems.append(f"column {role!r}: {item!r} is neither a header name nor an index >= 0")
            columns[role] = tuple(item.strip() if isinstance(item, str) else item for item in refs)
        problems.extend(_amount_problems(columns))
        if problems:
            raise PydanticCustomError(_COLUMN_PROBLEMS, "{count} problem(s) with the columns",
                                      {"count": len(problems), "problems": problems})
        return columns

    @field_validator("header", mode="before")
    @classmethod
    def _header(cls, raw: Any) -> Any:
        if raw == "auto":
            return None
        if raw in (True, False):
            return bool(raw)
        raise PydanticCustomError("header", "not true, false or auto")

    @field_validator("decimal_separator", mode="before")
    @classmethod
    def _decimal_separator(cls, raw: Any) -> Any:
        if raw == "auto":
            return None
        if raw in (".", ","):
            return raw
        raise PydanticCustomError("decimal_separator", "not auto, . or ,")

    @field_validator("indicator_values", mode="before")
    @classmethod
    def _indicator_values(cls, raw: Any) -> Any:
        return raw or {}

    @model_serializer(mode="plain")
    def _document(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, info in type(self).model_fields.items():
            if name not in self.model_fields_set:
                continue
            value = getattr(self, name)
            if name == "columns":
                value = {role: refs[0] if len(refs) == 1 else list(refs) for role, refs in value.items()}
            elif name in ("header", "decimal_separator") and value is None:
                value = "auto"
            elif name == "date_style" and value is not None:
                value = value.value
            elif name == "indicator_values":
                value = {key: list(getattr(value, key)) for key in sorted(value.model_fields_set)}
            out[info.alias or name] = value
        return out


def _amount_problems(columns: dict[str, tuple[ColumnRef, ...]]) -> list[str]:
    """What is wrong with the roles mapped: a date, and one way of reading the amount."""
    problems: list[str] = []
    if "date" not in columns:
        problems.append("the 'date' column is required")
    has_amount = "amount" in columns
    has_pair = "credit" in columns or "debit" in columns
    if has_amount == has_pair:
        problems.append("map either 'amount' (optionally with 'indicator') or both 'credit' and 'debit'")
    elif has_pair and not ("credit" in columns and "debit" in columns):
        problems.append("'credit' and 'debit' go together")
    if "indicator" in columns and not has_amount:
        problems.append("'indicator' needs 'amount'")
    return problems


def _problems(exc: ValidationError) -> list[str]:
    """The problems of a mapping document, in the words of the mapping's documentation."""
    unknown: list[str] = []
    problems: list[str] = []
    for error in exc.errors():
        loc = error["loc"]
        if error["type"] == _COLUMN_PROBLEMS:
            problems.extend(error.get("ctx", {}).get("problems", []))
        elif not loc:
            problems.append("the mapping must be a JSON object")
        elif error["type"] == "extra_forbidden":
            unknown.append(str(loc[0]))
        elif loc[0] == "indicatorValues" and len(loc) > 1:
            problems.append("'indicatorValues' lists must hold strings")
        else:
            problems.append(_PROBLEMS.get(str(loc[0]), f"{loc[0]!r}: {error['msg']}"))
    if unknown:
        problems.insert(0, f"unknown mapping keys {sorted(unknown)}")
    return list(dict.fromkeys(problems))


def _mapping_error(problems: list[str]) -> FileError:
    return FileError(INVALID_MAPPING, "The column mapping is invalid: " + "; ".join(problems),
                     target="mapping", details={"problems": problems})


def _key(text: str) -> str:
    return nfc(text).strip().casefold()


def _blank(row: list[str]) -> bool:
    return all(not cell or cell.isspace() for cell in row)


# --------------------------------------------------------------------------------------------------
# reading rows


def _numbered(reader: Any, skip_footer: int, lines_before: int = 0) -> Iterator[tuple[int, list[str]]]:
    """Rows with the physical line number each starts on (`lines_before` lines precede the reader's
    first); the last `skip_footer` rows held back."""
    if not skip_footer:
        previous = reader.line_num + lines_before
        for row in reader:
            yield previous + 1, row
            previous = reader.line_num + lines_before
        return
    previous = reader.line_num
    held: deque[tuple[int, list[str]]] = deque()
    for row in reader:
        if row and not _blank(row):
            held.append((previous + 1, row))
            if len(held) > skip_footer:
                yield held.popleft()
        previous = reader.line_num


def sniff_delimiter(sample: str, names: list[str], expected_columns: int = 0, date_index: int | None = None,
                    complete: bool = True) -> str:
    """The delimiter of a CSV text sample: the one under which a row holds every mapped header name;
    else the one under which most rows have a date in the date column (`date_index`), then splits the
    rows most regularly (into at least `expected_columns`)."""
    lines = sample.splitlines(keepends=True)
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the sample may end inside a line
    lines = lines[:200]
    wanted = {_key(name) for name in names}
    best: tuple[Any, ...] = ()
    chosen = ","
    for delimiter in DELIMITERS:
        try:
            rows = [row for row in csv.reader(lines, delimiter=delimiter) if row and not _blank(row)]
        except csv.Error:
            continue
        if wanted and any(wanted <= {_key(cell) for cell in row} for row in rows):
            return delimiter
        counts: dict[int, int] = {}
        for row in rows:
            counts[len(row)] = counts.get(len(row), 0) + 1
        if not counts:
            continue
        width, frequency = max(counts.items(), key=lambda item: (item[1], item[0]))
        dated = 0
        if date_index is not None:
            dated = sum(1 for row in rows if date_index < len(row) and looks_like_date(row[date_index]))
        score = (width > 1, dated, expected_columns > 0 and width >= expected_columns, frequency, width)
        if score > best:
            best, chosen = score, delimiter
    return chosen


@dataclass(slots=True)
class _Layout:
    """Where each role is in the rows, and the names to report in errors."""

    indexes: dict[str, tuple[int, ...]]
    targets: dict[str, str]


class _Reader:
    """One configured way of reading a file: opened once per pass."""

    def __init__(self, source: Source, mapping: CsvMapping, expected_columns: int = 0) -> None:
        self.source = source
        self.mapping = mapping
        sample = read_sample(source)
        complete = len(sample) < SAMPLE_SIZE
        self.encoding = detect_encoding(sample, complete=complete)
        text = decode_sample(sample, self.encoding)
        if complete and (not text.strip() or not text.lstrip("\ufeff").strip()):
            raise FileError(EMPTY_FILE, "The file holds no lines.")
        date_ref = mapping.columns["date"][0]
        self.delimiter = mapping.delimiter or sniff_delimiter(
            text, mapping.names, expected_columns, date_ref if isinstance(date_ref, int) else None, complete)

    def layout(self, rows: Iterator[tuple[int, list[str]]]
               ) -> tuple[_Layout, tuple[int, list[str]] | None]:
        """Consume the preamble and header rows; return where each role is, and the first data row
        when it had to be read to tell that there is no header."""
        mapping = self.mapping
        names = mapping.names
        for _ in range(mapping.skip_rows):
            if next(rows, None) is None:
                break
        header: list[str] | None = None
        first_data: tuple[int, list[str]] | None = None
        if names:
            wanted = {_key(name) for name in names}
            for _, row in islice(rows, HEADER_SEARCH_ROWS):
                if wanted <= {_key(cell) for cell in row}:
                    header = row
                    break
            else:
                raise FileError(
                    INVALID_SOURCE_DATA,
                    f"No header row with the mapped columns {sorted(set(names))} was found in the first "
                    f"{HEADER_SEARCH_ROWS} rows (delimiter {self.delimiter!r}).",
                    target="mapping",
                )
        elif mapping.header is not False:
            date_index = mapping.columns["date"][0]
            for number, row in rows:
                if _blank(row):
                    continue
                cell = row[date_index] if isinstance(date_index, int) and date_index < len(row) else ""
                if mapping.header or not any(ch.isdigit() for ch in cell):
                    header = row
                else:
                    first_data = (number, row)
                break
        positions = {_key(cell): i for i, cell in reversed(list(enumerate(header or [])))}
        indexes: dict[str, tuple[int, ...]] = {}
        targets: dict[str, str] = {}
        for role, refs in mapping.columns.items():
            found = tuple(positions[_key(ref)] if isinstance(ref, str) else ref for ref in refs)
            indexes[role] = found
            shown = [
                header[i].strip() if header is not None and i < len(header) and header[i].strip() else role
                for i in found
            ]
            targets[role] = "/".join(shown)
        return _Layout(indexes, targets), first_data

    @contextmanager
    def rows(self) -> Iterator[tuple[Iterator[tuple[int, list[str]]], _Layout]]:
        """One pass over the file: (data rows with their line numbers, layout)."""
        with open_text(self.source, self.encoding) as text:
            reader = csv.reader(text, delimiter=self.delimiter, quotechar=self.mapping.quote_char)
            numbered = _numbered(reader, self.mapping.skip_footer_rows)
            layout, first_data = self.layout(numbered)
            yield (numbered if first_data is None else _chain_first(first_data, numbered)), layout


def _chain_first(first: tuple[int, list[str]], rest: Iterator[tuple[int, list[str]]]
                 ) -> Iterator[tuple[int, list[str]]]:
    yield first
    yield from rest


# --------------------------------------------------------------------------------------------------
# inference


def _infer(reader: _Reader, options: ParseOptions) -> tuple[DateStyle | None, str]:
    """The file's date style and decimal separator, from the mapped columns (see module doc)."""
    mapping = reader.mapping
    style = options.date_style or mapping.date_style
    decimal = mapping.decimal_separator
    if style is not None and decimal is not None:
        return style, decimal
    vote = DateStyleVote()
    votes = {".": 0, ",": 0}
    need_date, need_decimal = style is None, decimal is None
    with reader.rows() as (rows, layout):
        date_columns = [i for role in _DATE_ROLES for i in layout.indexes.get(role, ())]
        amount_columns = [i for role in _AMOUNT_ROLES for i in layout.indexes.get(role, ())]
        for count, (_, row) in enumerate(rows, start=1):
            n = len(row)
            if need_date:
                for i in date_columns:
                    if i < n:
                        vote.add(row[i])
            if need_decimal:
                for i in amount_columns:
                    if i < n:
                        value = row[i]
                        if "." in value or "," in value:
                            evidence = amount_evidence(value)
                            if evidence:
                                votes[evidence] += 1
            if count == INFERENCE_SAMPLE_ROWS and not vote.needs_style and (
                    not need_decimal or (votes["."] > 0) != (votes[","] > 0)):
                break  # the sample settles it: ISO dates, amounts that all tell the same
    if need_date:
        target = layout.targets.get("date", "date")
        style = vote.decide(target)
    if need_decimal:
        if votes["."] == votes[","]:
            decimal = "," if reader.delimiter == ";" else "."
        else:
            decimal = "." if votes["."] > votes[","] else ","
    return style, decimal  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------------
# the line parser


def parse_with_mapping(source: Source, options: ParseOptions, mapping: CsvMapping,
                       expected_columns: int = 0) -> Iterator[ParseEvent]:
    """Parse a CSV file through `mapping`; yields ParsedLine/LineError (and StatementAccount when an
    account column is mapped). Raises FileError for the file as a whole."""
    reader = _Reader(source, mapping, expected_columns)
    style, decimal = _infer(reader, options)
    parse_date = make_date_parser(style)
    parse_amount = make_amount_parser(decimal)
    iso_first = style in (None, DateStyle.BIG_ENDIAN)
    columns = _plain_columns(reader, mapping, decimal, iso_first, expected_columns)
    if columns is not None:
        raw = source.open()
        try:
            line, buffer, end = fast_csv.read_first_line(raw, skip_bom=reader.encoding == "utf-8-sig")
            row = line.split(reader.delimiter) if line is not None and mapping.quote_char not in line else None
            if row is not None and not _blank(row):
                layout, first_data = reader.layout(iter([(1, row)]))
                header_read = mapping.header is not False and first_data is None

                def rest(stream: fast_csv.PrefixedStream, lines_before: int) -> Iterator[ParseEvent]:
                    with text_stream(stream, "utf-8") as text:
                        rows = _numbered(csv.reader(text, delimiter=reader.delimiter,
                                                    quotechar=mapping.quote_char), 0, lines_before)
                        yield from _lines(rows, layout, mapping, reader.delimiter, parse_date, parse_amount,
                                          iso_first)

                yield from chain.from_iterable(fast_csv.plain_blocks(
                    raw, buffer[end:] if header_read else buffer, 2 if header_read else 1,
                    delimiter=reader.delimiter, quote_char=mapping.quote_char, width=expected_columns,
                    date_col=columns[0], description_col=columns[1], amount_col=columns[2], fallback=rest))
                return
        finally:
            raw.close()
    with reader.rows() as (rows, layout):
        yield from _lines(rows, layout, mapping, reader.delimiter, parse_date, parse_amount, iso_first)


def _plain_columns(reader: _Reader, mapping: CsvMapping, decimal: str, iso_first: bool,
                   expected_columns: int) -> tuple[int, int, int] | None:
    """(date, description, amount) column indexes when the block reader (`fast_csv`) may read the
    file: a fixed layout of exactly those roles, UTF-8, ISO-first dates, `.` decimals and no
    rows to skip. None otherwise."""
    columns = mapping.columns
    if not (fast_csv.ENABLED and expected_columns and set(columns) == {"date", "description", "amount"}
            and reader.encoding in ("utf-8", "utf-8-sig") and decimal == "." and iso_first
            and not mapping.skip_rows and not mapping.skip_footer_rows and mapping.currency is None):
        return None
    refs = (columns["date"], columns["description"], columns["amount"])
    if not all(len(ref) == 1 and isinstance(ref[0], int) and ref[0] < expected_columns for ref in refs):
        return None
    found = (refs[0][0], refs[1][0], refs[2][0])
    if len(set(found)) != 3 or expected_columns != 3:
        return None
    return found  # type: ignore[return-value]


def _lines(rows: Iterator[tuple[int, list[str]]], layout: _Layout, mapping: CsvMapping, delimiter: str,
           parse_date: Callable[[str], Any], parse_amount: Callable[[str], Any],
           iso_first: bool = True) -> Iterator[ParseEvent]:
    idx, targets = layout.indexes, layout.targets
    date_i = idx["date"][0]
    desc_cols = idx.get("description", ())
    single_desc = desc_cols[0] if len(desc_cols) == 1 else None
    separator = mapping.description_separator
    if "credit" in idx:
        mode, amount_i, debit_i = 2, idx["credit"][0], idx["debit"][0]
    elif "indicator" in idx:
        mode, amount_i, debit_i = 1, idx["amount"][0], idx["indicator"][0]
    else:
        mode, amount_i, debit_i = 0, idx["amount"][0], -1
    required = max(date_i, amount_i, debit_i) + 1
    date_t = targets["date"]
    amount_t = targets["credit"] + "/" + targets["debit"] if mode == 2 else targets["amount"]
    credit_values, debit_values = mapping.credit_values, mapping.debit_values
    value_date_i = idx["valueDate"][0] if "valueDate" in idx else -1
    balance_i = idx["balance"][0] if "balance" in idx else -1
    original_i = idx["originalAmount"][0] if "originalAmount" in idx else -1
    currency_i = idx["currency"][0] if "currency" in idx else -1
    account_i = idx["account"][0] if "account" in idx else -1
    texts = [(_TEXT_ROLES[role], idx[role][0]) for role in _TEXT_ROLES if role in idx]
    has_extras = value_date_i >= 0 or balance_i >= 0 or original_i >= 0 or account_i >= 0 or bool(texts)
    default_currency = mapping.currency
    accounts_seen: set[str] = set()
    fromiso = date.fromisoformat

    for line_number, row in rows:
        n = len(row)
        if n < required:
            if not _blank(row):
                yield LineError(line_number, INVALID_LINE,
                                f"Expected at least {required} columns, found {n}.",
                                actual_value=delimiter.join(row)[:500], target=f"line {line_number}")
            continue
        text = row[date_i]
        try:
            # fast path: plain ISO dates (a file whose dates need a style goes to its own parser)
            posted = fromiso(text) if iso_first else parse_date(text)
        except ValueError:
            try:
                posted = parse_date(text)
            except ValueError as exc:
                if not text or text.isspace():
                    if _blank(row):
                        continue
                    yield LineError(line_number, REQUIRED_VALUE_MISSING, "The date is missing.",
                                    actual_value=text, target=date_t)
                else:
                    yield LineError(line_number, INVALID_DATE, str(exc), actual_value=text, target=date_t)
                continue
        try:
            if mode == 0:
                text = row[amount_i]
                amount = parse_amount(text)
            elif mode == 2:
                credit_text, debit_text = row[amount_i], row[debit_i]
                text = credit_text + delimiter + debit_text
                credit = parse_amount(credit_text) if credit_text.strip() else None
                debit = parse_amount(debit_text) if debit_text.strip() else None
                if credit is None and debit is None:
                    yield LineError(line_number, REQUIRED_VALUE_MISSING, "Neither credit nor debit is given.",
                                    actual_value=text, target=amount_t)
                    continue
                if debit is None:
                    amount = credit
                elif credit is None:
                    amount = -abs(debit)
                else:
                    amount = credit - abs(debit)
            else:
                text = row[amount_i]
                amount = parse_amount(text)
                indicator = row[debit_i].strip().upper()
                if indicator in debit_values:
                    amount = -abs(amount)
                elif indicator in credit_values:
                    amount = abs(amount)
                elif indicator:
                    yield LineError(line_number, INVALID_AMOUNT,
                                    f"The debit/credit indicator {row[debit_i]!r} is neither a credit value "
                                    f"({', '.join(sorted(credit_values))}) nor a debit value "
                                    f"({', '.join(sorted(debit_values))}).",
                                    actual_value=row[debit_i], target=targets["indicator"])
                    continue
        except ValueError as exc:
            if not text or text.isspace():
                yield LineError(line_number, REQUIRED_VALUE_MISSING, "The amount is missing.",
                                actual_value=text, target=amount_t)
            else:
                yield LineError(line_number, INVALID_AMOUNT, str(exc), actual_value=text, target=amount_t)
            continue
        if single_desc is not None:
            description = row[single_desc].strip() if single_desc < n else ""
            if not description.isascii():
                description = normalize("NFC", description)
        elif desc_cols:
            description = nfc(separator.join(
                part for part in (row[i].strip() for i in desc_cols if i < n) if part))
        else:
            description = ""
        line = ParsedLine(line_number, posted, amount, description)
        if currency_i >= 0 and currency_i < n and row[currency_i].strip():
            line.currency = row[currency_i].strip().upper()
        elif default_currency:
            line.currency = default_currency
        if has_extras:
            problem = None
            if value_date_i >= 0 and value_date_i < n and row[value_date_i].strip():
                try:
                    line.value_date = parse_date(row[value_date_i])
                except ValueError as exc:
                    problem = LineError(line_number, INVALID_DATE, str(exc), actual_value=row[value_date_i],
                                        target=targets["valueDate"])
            for attr, i, role in ((("balance", balance_i, "balance"),
                                   ("original_amount", original_i, "originalAmount"))):
                if problem is None and i >= 0 and i < n and row[i].strip():
                    try:
                        setattr(line, attr, parse_amount(row[i]))
                    except ValueError as exc:
                        problem = LineError(line_number, INVALID_AMOUNT, str(exc), actual_value=row[i],
                                            target=targets[role])
            if problem is not None:
                yield problem
                continue
            for attr, i in texts:
                if i < n:
                    value = row[i].strip()
                    if value:
                        setattr(line, attr, nfc(value))
            if line.original_currency:
                line.original_currency = line.original_currency.upper()
            if account_i >= 0 and account_i < n:
                account = nfc(row[account_i].strip())
                if account:
                    line.account_ref = account
                    if account not in accounts_seen:
                        accounts_seen.add(account)
                        yield StatementAccount(account, currency=line.currency, line_number=line_number)
        yield line


@guarded
def parse_csv_mapped(source: Source, options: ParseOptions) -> Iterator[ParseEvent]:
    """`CSV#mapped#v1`: a CSV file read through the import's column mapping."""
    if options.mapping is None:
        raise FileError(INVALID_MAPPING, "CSV#mapped#v1 needs a column mapping (the import's 'mapping').",
                        target="mapping")
    mapping = CsvMapping.from_json(options.mapping)
    yield from parse_with_mapping(source, options, mapping)


TEMPLATE_MAPPED = (
    "tximport-mapped.csv",
    "text/csv",
    "Date;Value date;Description;Counterparty;Amount;Currency;Reference\n"
    "31.01.2024;31.01.2024;Salary January;ACME GmbH;2.500,00;EUR;REF-0001\n"
    "01.02.2024;02.02.2024;Rent February;Max Mustermann;-950,00;EUR;REF-0002\n",
)

#: the mapping that reads TEMPLATE_MAPPED (documented next to the template)
TEMPLATE_MAPPING: dict[str, Any] = {
    "columns": {"date": "Date", "valueDate": "Value date", "description": "Description",
                "counterpartyName": "Counterparty", "amount": "Amount", "currency": "Currency",
                "bankTransactionId": "Reference"},
    "dateStyle": "littleEndian",
    "decimalSeparator": ",",
}


def mapping_options_schema() -> dict[str, Any]:
    """The options document GET /fileformats shows for CSV#mapped#v1."""
    return {"mapping": MAPPING_SCHEMA, "example": TEMPLATE_MAPPING}


__all__ = [
    "INVALID_MAPPING",
    "MAPPING_SCHEMA",
    "CsvMapping",
    "mapping_options_schema",
    "parse_csv_mapped",
    "parse_with_mapping",
    "sniff_delimiter",
]
