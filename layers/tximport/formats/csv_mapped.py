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
then hold several accounts), `status` (whether the bank has booked the line: a value among
`statusValues.pending` marks a pending line, such as a card pre-authorisation, one among
`statusValues.booked` or an empty cell a booked one; any other value rejects the line `InvalidLine`).
Status values are compared case-insensitively with punctuation and spacing ignored
(`Pre-Authorisation` is `pre authorisation`).

Amount semantics: `amount` is signed (positive is money in). With `credit` + `debit`, a line's amount
is the credit as written minus the absolute debit (a debit is money out whatever its sign; a negative
credit is a reversal). With an indicator, the amount's absolute value takes the indicator's sign; an
empty indicator keeps the amount as written.

Reading rules, each decided once per file and never per line:

* encoding: see `tximport.formats.encoding` (BOM, UTF-8, UTF-16, cp1252/ISO-8859-1 ...);
* delimiter: `delimiter` if given, else sniffed among `,` `;` tab `|` from a leading sample (the
  delimiter under which a row holds all mapped header names wins; else the most regular one);
* header row: when any column is mapped by name, the first row (after `skipRows`, which counts every
  row, blank ones too, whether or not `skipFooterRows` is set; within the first
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

The file's end: a file that ends inside a quoted cell, or whose last line has no line end and fewer cells than
the header and the line before it, looks cut short (`FileTruncated`; see `csv_rows.cut_short`, which also says
when that line is rejected). Both passes see it alike, whichever reader (columns or rows) takes the last block; a
record so rejected does not vote in inference. A range of a split file before the last one does not look at its end.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any, Literal

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
    AmountPlaces,
    DateStyle,
    FileError,
    FileNote,
    LineError,
    ParseEvent,
    ParseOptions,
    Source,
)
from tximport.formats.csv_feed import (
    Batch,
    Columns,
    CutShort,
    FooterHold,
    LastRecord,
    NumberedRows,
    RecentText,
    Rows,
    TextFeed,
    ends_line,
    split_block,
)
from tximport.formats.csv_rows import TEXT_ROLES, Layout, Row, RowReader, cut_short, status_key
from tximport.formats.dates import DateStyleVote, looks_like_date, make_date_parser
from tximport.formats.encoding import (
    SAMPLE_SIZE,
    GuardedChain,
    decode_sample,
    detect_encoding,
    file_error_for,
    guard,
    guarded,
    nfc,
    read_sample,
)
from tximport.formats.fast_csv import ColumnReader
from tximport.formats.values import AmountShapes, amount_evidence, count_amount_evidence, make_amount_parser

INVALID_MAPPING = "InvalidMapping"

ROLES = (
    "date", "valueDate", "description", "amount", "credit", "debit", "indicator", "balance",
    "bankTransactionId", "reference", "currency", "originalAmount", "originalCurrency",
    "counterpartyName", "counterpartyAccount", "account", "status",
)
_AMOUNT_ROLES = ("amount", "credit", "debit", "balance", "originalAmount")
_DATE_ROLES = ("date", "valueDate")
_TEXT_ROLES = TEXT_ROLES
DELIMITERS = (",", ";", "\t", "|")
HEADER_SEARCH_ROWS = 100
INFERENCE_SAMPLE_ROWS = 1000
DEFAULT_CREDIT_VALUES = ("C", "CR", "CRDT", "CREDIT", "H", "HABEN", "+", "BIJ")
DEFAULT_DEBIT_VALUES = ("D", "DR", "DBIT", "DEBIT", "S", "SOLL", "-", "AF")
#: values of a status column that mark a pending line (card pre-authorisations, reservations, holds)
DEFAULT_PENDING_VALUES = (
    "Pending", "PDNG", "Authorised", "Authorized", "Authorisation", "Authorization", "Pre-authorisation",
    "Pre-authorization", "Preauthorisation", "Preauthorization", "Pre-auth", "Preauth", "Reserved",
    "Reservation", "Hold", "On hold", "Vorgemerkt", "Vormerkung", "Umsatz vorgemerkt", "Nicht gebucht", "En attente")
#: values of a status column that mark a booked line (an empty cell is booked too)
DEFAULT_BOOKED_VALUES = ("Booked", "BOOK", "Posted", "Cleared", "Settled", "Completed", "Gebucht", "Umsatz gebucht",
                         "Comptabilisé")

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
                     "description": "Rows to skip before the header (or the first line), blank ones counted."},
        "skipFooterRows": {"type": "integer", "minimum": 0, "maximum": 100, "default": 0,
                           "description": "Rows to ignore at the end of the file (totals, balances), blank ones "
                                          "counted, except the blank rows that end the file."},
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
        "statusValues": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "pending": {"type": "array", "items": {"type": "string"}},
                "booked": {"type": "array", "items": {"type": "string"}},
            },
            "description": "Values of the status column (case, accents, punctuation and spacing ignored); a list "
                           "given replaces its default. Defaults: pending " + "/".join(DEFAULT_PENDING_VALUES)
                           + "; booked " + "/".join(DEFAULT_BOOKED_VALUES) + " (and an empty cell).",
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
    "statusValues": "'statusValues' must be an object with 'pending' and 'booked' lists",
    "descriptionSeparator": "'descriptionSeparator' must be a string",
    "currency": "'currency' must be a three-letter ISO 4217 code",
}
_COLUMN_PROBLEMS = "column_problems"


class IndicatorValues(BaseModel):
    """The values of an indicator column that mean credit and debit (matched case-insensitively)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    credit: tuple[StrictStr, ...] = DEFAULT_CREDIT_VALUES
    debit: tuple[StrictStr, ...] = DEFAULT_DEBIT_VALUES


class StatusValues(BaseModel):
    """The values of a status column that mean pending and booked (see `status_key`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pending: tuple[StrictStr, ...] = DEFAULT_PENDING_VALUES
    booked: tuple[StrictStr, ...] = DEFAULT_BOOKED_VALUES


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
    status_values: StatusValues = Field(default_factory=StatusValues, alias="statusValues")
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

    @property
    def pending_values(self) -> frozenset[str]:
        return frozenset(status_key(v) for v in self.status_values.pending)

    @property
    def booked_values(self) -> frozenset[str]:
        return frozenset(status_key(v) for v in self.status_values.booked)

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

    @field_validator("indicator_values", "status_values", mode="before")
    @classmethod
    def _value_lists(cls, raw: Any) -> Any:
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
            elif name in ("indicator_values", "status_values"):
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
        elif loc[0] in ("indicatorValues", "statusValues") and len(loc) > 1:
            problems.append(f"'{loc[0]}' lists must hold strings" if len(loc) > 2 else _PROBLEMS[str(loc[0])])
        elif error["type"] == "extra_forbidden":
            unknown.append(str(loc[0]))
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


def _blank(row: Row) -> bool:
    return all(not cell or cell.isspace() for cell in row)


# --------------------------------------------------------------------------------------------------
# reading rows


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
            # a date cell holding another delimiter is several cells read as a date with a time part
            others = [d for d in DELIMITERS if d != delimiter]
            dated = sum(1 for row in rows if date_index < len(row) and looks_like_date(row[date_index])
                        and not any(d in row[date_index] for d in others))
        score = (width > 1, dated, expected_columns > 0 and width >= expected_columns, frequency, width)
        if score > best:
            best, chosen = score, delimiter
    return chosen


_Layout = Layout
#: what the file's end says of its last record (see `cut_short`): the warning, and the line's error if rejected
Cut = tuple[FileNote, LineError | None]


class _Reader:
    """One configured way of reading a file: opened once per pass."""

    def __init__(self, source: Source, mapping: CsvMapping, expected_columns: int = 0,
                 pinned: dict[str, Any] | None = None) -> None:
        self.source = source
        self.mapping = mapping
        #: the columns a fixed layout has (0 for a mapping): its rows are at least and at most this wide
        self.expected_columns = expected_columns
        #: whether the layout found a header row (known once `batches` has read the layout)
        self.header_row: bool | None = None
        #: the text of the blocks last read (set by `batches`): what a rejected row's message looks at
        self.recent: RecentText | None = None
        #: whether the file's end is read (not so for a range of a split file before its last one)
        self.whole_end = pinned is None or pinned.get("last", True)
        if pinned is not None:  # one range of a split file: the whole file's decisions, not a sample's
            self.encoding, self.delimiter = pinned["encoding"], pinned["delimiter"]
            return
        sample = read_sample(source)
        complete = len(sample) < SAMPLE_SIZE
        self.encoding = detect_encoding(sample, complete=complete)
        text = decode_sample(sample, self.encoding)
        if complete and (not text.strip() or not text.lstrip("\ufeff").strip()):
            raise FileError(EMPTY_FILE, "The file holds no lines.")
        date_ref = mapping.columns["date"][0]
        self.delimiter = mapping.delimiter or sniff_delimiter(
            text, mapping.names, expected_columns, date_ref if isinstance(date_ref, int) else None, complete)

    def layout(self, rows: Iterator[tuple[int, Row]]) -> tuple[Layout, tuple[int, Row] | None]:
        """Consume the preamble and header rows; return where each role is, and the first data row
        when it had to be read to tell that there is no header."""
        mapping = self.mapping
        names = mapping.names
        for _ in range(mapping.skip_rows):
            if next(rows, None) is None:
                break
        header: Row | None = None
        first_data: tuple[int, Row] | None = None
        if names:
            wanted = {_key(name) for name in names}
            for _, row in islice(rows, HEADER_SEARCH_ROWS):
                if wanted <= {_key(cell) for cell in row}:
                    header = row
                    break
            else:
                raise FileError(  # the mapping does not fit the file
                    INVALID_MAPPING,
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
        return self._resolve(header), first_data

    def _resolve(self, header: Row | None) -> Layout:
        """Each role's column indexes (names looked up in the header), the names errors show, and how
        wide a row may be: the header's width without its trailing empty cells (a header ending in a
        delimiter names no column there), or the fixed layout's columns, or the furthest mapped column,
        when wider; with neither a header nor a fixed layout, any width."""
        positions = {_key(cell): i for i, cell in reversed(list(enumerate(header or [])))}
        indexes: dict[str, tuple[int, ...]] = {}
        targets: dict[str, str] = {}
        for role, refs in self.mapping.columns.items():
            found = tuple(positions[_key(ref)] if isinstance(ref, str) else ref for ref in refs)
            indexes[role] = found
            shown = [
                header[i].strip() if header is not None and i < len(header) and header[i].strip() else role
                for i in found
            ]
            targets[role] = "/".join(shown)
        width = 0
        if header is not None or self.expected_columns:
            furthest = max(i for found in indexes.values() for i in found) + 1
            named = len(header or ())
            while named and header is not None and not header[named - 1].strip():
                named -= 1
            width = max(named, self.expected_columns, furthest)
        return Layout(indexes, targets, width, "the header" if header is not None else "the format")

    @contextmanager
    def batches(self, roles: Iterable[str] | None = None) -> Iterator[tuple[Iterator[Batch], Layout]]:
        """One pass over the file: (its data rows in batches, the layout). The preamble and header are
        read row by row; the rest block by block (see `csv_feed`), the footer rows held back. With
        `roles` (default: every mapped role), only the cells of their columns are exact: the others
        may keep their quotes and, in an ASCII-compatible file, show its bytes as ISO-8859-1."""
        raw = self.source.open()
        try:
            footer = self.mapping.skip_footer_rows
            feed = TextFeed(raw, self.encoding, bytes_view=roles is not None and not footer
                            and self.delimiter.isascii() and self.mapping.quote_char.isascii(),
                            watch_end=self.whole_end)
            numbered = NumberedRows(csv.reader(feed.lines(), delimiter=self.delimiter,
                                               quotechar=self.mapping.quote_char), footer, self.mapping.skip_rows)
            layout, first_data = self.layout(iter(numbered))
            self.header_row = first_data is None
            # a footer is told by blank rows, and a quoted empty cell is blank: then every cell is unquoted
            needed = None if footer else {i for role in (layout.indexes if roles is None else roles)
                                          for i in layout.indexes.get(role, ())}
            yield self._batches(feed, first_data, numbered, needed, layout), layout
        finally:
            raw.close()

    def _batches(self, feed: TextFeed, first_data: tuple[int, Row] | None, numbered: NumberedRows,
                 needed: set[int] | None, layout: Layout) -> Iterator[Batch]:
        footer = self.mapping.skip_footer_rows
        hold = FooterHold(footer, numbered.held, numbered.trailing) if footer else None
        delimiter, quote = self.delimiter, self.mapping.quote_char
        # the file may have ended while its head was read (its last record the first data row, or a footer row)
        head_end = (feed.last_of_given(delimiter, quote)
                    if feed.watch_end and feed.ended and (first_data is not None or hold is not None) else None)
        self.recent = RecentText(feed.exact)
        if first_data is not None:
            self.recent.add(1, "".join(feed.given))  # (the file's lines from its first: the first data row among them)
        feed.given = []
        if first_data is not None:
            if head_end is not None and head_end.line_number == first_data[0]:
                yield from self._last(head_end, cut_short(head_end, layout, 0, quote), hold)
                return
            feed.width = len(first_data[1])
            yield Rows([first_data])  # read to tell there is no header; never the footer
        split_delimiter: str | bytes = delimiter.encode("ascii") if feed.view else delimiter
        split_quote: str | bytes = quote.encode("ascii") if feed.view else quote  # (the bytes view splits bytes)
        while (item := feed.block()) is not None:
            first, block = item
            self.recent.add(first, block)
            columns = split_block(block, first, split_delimiter, split_quote, needed) if fast_csv.ENABLED else None
            if columns is not None:
                feed.counted(columns.count)
                if feed.view:
                    self._exact_cells(feed, columns, needed)
                last = self._unended(feed, first, block, columns, layout)
                if last is not None:
                    yield from self._last(*last, hold)
                    return
                feed.width = len(columns.columns)
            batch = columns if columns is not None else Rows(feed.rows(first, block, delimiter, quote))
            if hold is None:
                yield batch
            else:
                yield from hold.push(batch)
        if feed.end is not None:
            yield from self._last(feed.end, cut_short(feed.end, layout, feed.width, quote), hold)
        elif head_end is not None:
            yield from self._last(head_end, cut_short(head_end, layout, 0, quote), hold, held=True)

    def _unended(self, feed: TextFeed, first: int, block: str | bytes, columns: Columns, layout: Layout
                 ) -> tuple[LastRecord, Cut] | None:
        """A block read as columns that is the file's last line without its line end, when it looks cut (see
        `cut_short`): the record and the cut. (The feed gives such a line as a block of its own.)"""
        if columns.count != 1 or not feed.watch_end or ends_line(block):
            return None
        end = LastRecord(first, columns.rows()[0][1], feed.exact(block), open_quote=False)
        cut = cut_short(end, layout, feed.width, self.mapping.quote_char)
        return None if cut is None else (end, cut)

    @staticmethod
    def _last(end: LastRecord, cut: Cut | None, hold: FooterHold | None,
              held: bool = False) -> Iterator[Batch]:
        """The file's last record, which its end may have cut (`cut`: see `cut_short`): its row unless it is
        rejected, and the warning. Where footer rows are held back, it is one of them (`held` already): never read
        as a line."""
        row = Rows([(end.line_number, end.row)])
        if hold is not None:
            if not held:
                yield from hold.push(row)
        elif cut is None or cut[1] is None:
            yield row
        if cut is not None:
            note, error = cut
            yield CutShort((error, note) if error is not None and hold is None else (note,))

    @staticmethod
    def _exact_cells(feed: TextFeed, batch: Columns, needed: set[int] | None) -> None:
        """Make a block split in the bytes view exact where a reader looks: the `needed` columns stay
        bytes when they are ASCII (the same text), else are decoded; the rest on demand (`rows()`)."""
        batch.decode = feed.exact_column
        columns = batch.columns
        for j in range(len(columns)) if needed is None else needed:
            if j < len(columns) and not b"".join(columns[j]).isascii():
                columns[j] = feed.exact_column(columns[j])


# --------------------------------------------------------------------------------------------------
# inference


class _Votes:
    """What the mapped columns say about the file's date style and decimal separator."""

    def __init__(self, layout: Layout, need_date: bool, need_decimal: bool, footer: bool) -> None:
        self.date_columns = [i for role in _DATE_ROLES for i in layout.indexes.get(role, ())] if need_date else []
        self.amount_columns = ([i for role in _AMOUNT_ROLES for i in layout.indexes.get(role, ())]
                               if need_decimal else [])
        self.need_decimal = need_decimal
        self.footer = footer
        self.dates = DateStyleVote()
        self.dots = self.commas = 0
        self.count = 0  # data rows counted one by one (blank ones too, unless footers are held back)
        self.shapes = AmountShapes()  # of every amount cell the parse reads by columns
        if not need_decimal:
            self.shapes.stop()

    def batch(self, batch: Batch) -> bool:
        """Count a batch's values; True when the first `INFERENCE_SAMPLE_ROWS` rows settle it, so that
        the rest of the file need not be read. (A record the file's end cut short does not count.)"""
        if isinstance(batch, CutShort):
            return False
        if self.count >= INFERENCE_SAMPLE_ROWS and isinstance(batch, Columns):
            self.columns(batch.columns)
            return False
        if isinstance(batch, Columns):
            for i in self.amount_columns:
                if i < len(batch.columns):
                    self.shapes.add_column(batch.columns[i])
        for index, (_, row) in enumerate(batch.rows if isinstance(batch, Rows) else batch.rows()):
            if self.footer and _blank(row):
                continue  # (where footers are held back, blank rows are dropped before they are counted)
            self.row(row)
            self.count += 1
            if self.count == INFERENCE_SAMPLE_ROWS:
                if self.settled():
                    self.shapes.stop()  # (the rest of the file is not read)
                    return True
                if isinstance(batch, Columns):
                    self.columns([column[index + 1:] for column in batch.columns])
                    return False
        return False

    def row(self, row: Row) -> None:
        """Count one row's values."""
        n = len(row)
        for i in self.date_columns:
            if i < n:
                self.dates.add(row[i])
        for i in self.amount_columns:
            if i < n:
                value = row[i]
                if "." in value or "," in value:
                    evidence = amount_evidence(value)
                    if evidence == ".":
                        self.dots += 1
                    elif evidence == ",":
                        self.commas += 1

    def columns(self, columns: list[list[str]]) -> None:
        """Count a plain block's values a column at a time (the same counts as row by row)."""
        width = len(columns)
        for i in self.date_columns:
            if i < width:
                self.dates.add_column(columns[i])
        for i in self.amount_columns:
            if i < width:
                dots, commas = count_amount_evidence(columns[i], self.shapes)
                self.dots += dots
                self.commas += commas

    def settled(self) -> bool:
        """Whether the sample settles it: no date needs a style, and the telling amounts all agree."""
        return not self.dates.needs_style and (not self.need_decimal or (self.dots > 0) != (self.commas > 0))


def _infer(reader: _Reader, options: ParseOptions) -> tuple[DateStyle | None, str, bool]:
    """The file's date style and decimal separator, from the mapped columns (see module doc); and
    whether every amount cell of the blocks read by columns was seen to be plain in that style."""
    mapping = reader.mapping
    style = options.date_style or mapping.date_style
    decimal = mapping.decimal_separator
    if style is not None and decimal is not None:
        return style, decimal, False
    with reader.batches(_DATE_ROLES + _AMOUNT_ROLES) as (batches, layout):
        votes = _Votes(layout, style is None, decimal is None, mapping.skip_footer_rows > 0)
        for batch in batches:
            if votes.batch(batch):
                break  # the sample settles it: ISO dates, amounts that all tell the same
    if style is None:
        style = votes.dates.decide(layout.targets.get("date", "date"))
    if decimal is None:
        if votes.dots == votes.commas:
            decimal = "," if reader.delimiter == ";" else "."
        else:
            decimal = "." if votes.dots > votes.commas else ","
    return style, decimal, votes.shapes.plain(decimal)


# --------------------------------------------------------------------------------------------------
# the line parser


def parse_with_mapping(source: Source, options: ParseOptions, mapping: CsvMapping,
                       expected_columns: int = 0) -> Iterator[ParseEvent]:
    """Parse a CSV file through `mapping`; yields ParsedLine/LineError (and StatementAccount when an
    account column is mapped). Raises FileError for the file as a whole (the inference pass runs
    when this is called)."""
    pinned = options.extra.get(PINNED)
    if pinned is not None:
        mapping = pinned_mapping(mapping, pinned)
        reader = _Reader(source, mapping, expected_columns, pinned)
        style = DateStyle(pinned["dateStyle"]) if pinned["dateStyle"] else None
        decimal, plain = pinned["decimal"], pinned["plain"]
    else:
        reader = _Reader(source, mapping, expected_columns)
        style, decimal, plain = _infer(reader, options)
    # one iterable per block, flattened in C: no Python frame per event (the blocks guard themselves)
    return GuardedChain.from_iterable(_block_events(reader, style, decimal, plain, options.places,
                                                    options.blocks))


def _block_events(reader: _Reader, style: DateStyle | None, decimal: str, plain: bool, places: AmountPlaces,
                  blocks: bool = False) -> Iterator[Iterable[ParseEvent]]:
    """The events of each block: the column reader's (built as they are taken, from values all read
    and checked before: nothing left to fail; a `LineBlock` where `blocks` asks for one), else the row
    reader's (guarded as they are read). `places` learns the amount column's name (as the line errors give
    it)."""
    try:
        with reader.batches() as (batches, layout):
            rows = RowReader(layout, reader.mapping, reader.delimiter, make_date_parser(style),
                             make_amount_parser(decimal), style in (None, DateStyle.BIG_ENDIAN))
            rows.record_of = reader.recent.record if reader.recent is not None else None
            places.every_line, places.date_every_line = rows.amount_t, rows.date_t
            places.balance_every_line = layout.targets.get("balance")
            places.original_every_line = layout.targets.get("originalAmount")
            columns = ColumnReader(rows, decimal, reader.encoding, plain, blocks)
            for batch in batches:
                if isinstance(batch, Columns):
                    events = columns.events(batch)
                    yield events if events is not None else guard(rows.events(batch.rows()))
                elif isinstance(batch, Rows):
                    yield guard(rows.events(batch.rows))
                else:
                    yield batch.events
    except Exception as exc:
        mapped = file_error_for(exc)
        if mapped is exc:
            raise
        raise mapped from exc


#: `ParseOptions.extra` key of the whole file's decisions a range of a split file is read with
PINNED = "csvPinned"


def pinned_mapping(mapping: CsvMapping, pinned: dict[str, Any]) -> CsvMapping:
    """The mapping one range of a split file is read with: the header decided on the whole file, and
    footer rows only at the end of the last range."""
    update: dict[str, Any] = {}
    if mapping.header is None and pinned.get("header") is not None:
        update["header"] = pinned["header"]
    if not pinned.get("last", True):
        update["skip_footer_rows"] = 0
    return mapping.model_copy(update=update) if update else mapping


def csv_decisions(source: Source, options: ParseOptions, mapping: CsvMapping,
                  expected_columns: int = 0) -> dict[str, Any]:
    """What reading `source` decides for the whole file (encoding, delimiter, date style, decimal
    separator, whether a header row leads): the ranges of a split file are read with these (`PINNED`),
    so each range reads its lines exactly as the whole file's pass does."""
    reader = _Reader(source, mapping, expected_columns)
    style, decimal, plain = _infer(reader, options)
    with reader.batches() as (batches, _layout):
        next(batches, None)
    return {"encoding": reader.encoding, "delimiter": reader.delimiter, "dateStyle": style, "decimal": decimal,
            "plain": plain, "header": reader.header_row}


@guarded
def parse_csv_mapped(source: Source, options: ParseOptions) -> Iterator[ParseEvent]:
    """`CSV#mapped#v1`: a CSV file read through the import's column mapping."""
    if options.mapping is None:
        raise FileError(INVALID_MAPPING, "CSV#mapped#v1 needs a column mapping (the import's 'mapping').",
                        target="mapping")
    mapping = CsvMapping.from_json(options.mapping)
    return parse_with_mapping(source, options, mapping)


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
    "PINNED",
    "csv_decisions",
    "pinned_mapping",
]
