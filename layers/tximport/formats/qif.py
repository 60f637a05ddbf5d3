"""`QIF#v1`: Quicken Interchange Format, bank-like sections.

A QIF file is a list of sections (`!Type:...` header lines) holding records of one-letter fields,
each record ending with `^`. Read here:

* `!Type:Bank`, `!Type:CCard`, `!Type:Cash`, `!Type:Oth A`, `!Type:Oth L`: transactions. Fields:
  `D` date, `T` amount (`U` when there is no `T`), `P` payee, `M` memo, `N` check/reference number
  (the bank transaction id). Description = payee and memo joined by a space; `counterpartyName` =
  payee. `C` (cleared status), `L` (category), `A` (address) and split lines (`S`, `E`, `$`) are not
  imported: the record's `T` is the transaction.
* `!Account` blocks: `N` names the account that the following sections belong to (one
  `StatementAccount` each). Account lists between `!Option:AutoSwitch` and `!Clear:AutoSwitch` only
  list accounts and are skipped.
* `!Type:Invst` (investment) sections are not imported: each one is reported with one LineError
  `UnsupportedSection` that gives the number of records skipped. Other lists (`!Type:Cat`,
  `!Type:Class`, `!Type:Memorized`, `!Type:Security`, `!Type:Prices` ...) hold no transactions and are
  skipped silently. `!Option:...` and `!Clear:...` lines are options, not sections: the section goes on.
* A line starting with `#` is a comment (quiffen's test files open with `### ...` lines): skipped, so a
  record's line number is that of its first field line.
* The first record of a bank section (or of a file without headers) with payee `Opening Balance` and a
  category in brackets (`L[Checking]`) is Quicken's opening balance of the account, no transaction: it is
  not staged but reported as a `FileNote(OpeningBalance)` naming its line, `actualValue` its amount (info
  when the amount is zero, else a warning: the import stops for review). It is not read as a statement
  balance (nothing says which day it closes).

Dates (`1/31'24`, `01/31/2024`, `31/01/2024`, `31.01.2024` ...) follow the import's dateStyle, else the
style inferred from every `D` value of the file, exactly as for CSV (`AmbiguousDateStyle` when both
day/month orders fit). The decimal separator is inferred from every amount of the file.

The file is read twice (first the date style and decimal separator, then the lines), in blocks. A line
is read on its own; but once a record has been read, the records that follow with the same fields in
the same order (the usual case: an export writes every record alike) are matched a block at a time by
a pattern made for that order, which gives the same fields. A line longer than 1 MiB is a FileError
`LineTooLong`, a record of more than 65,536 lines (no `^` to end it) `ElementTooLarge`. A file whose last bank
record has no `^` is read with that record, and gets a warning `FileNote(FileTruncated)` naming its last line: it
looks cut short (its last field may be cut too), so the import stops for review.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from itertools import repeat
from operator import itemgetter, methodcaller
from typing import Any

from tximport.formats.base import (
    ELEMENT_TOO_LARGE,
    EMPTY_FILE,
    FILE_TRUNCATED,
    INVALID_AMOUNT,
    INVALID_DATE,
    INVALID_SOURCE_DATA,
    LINE_TOO_LONG,
    REQUIRED_VALUE_MISSING,
    FileError,
    FileNote,
    LineError,
    ParsedLine,
    ParseEvent,
    ParseOptions,
    Source,
    StatementAccount,
)
from tximport.formats.dates import DateStyleVote, parse_date
from tximport.formats.encoding import SAMPLE_SIZE, detect_encoding, guarded, nfc, open_text, read_sample
from tximport.formats.values import amount_evidence, make_amount_parser
from tximport.models import DateStyle

UNSUPPORTED_SECTION = "UnsupportedSection"
MAX_LINE = 1 << 20
MAX_RECORD_LINES = 1 << 16

_BANK_TYPES = {"bank", "ccard", "cash", "oth a", "oth l"}
_INVESTMENT_TYPES = {"invst", "port"}
_CHUNK = 1 << 16  # (a block's lines are made at once: small blocks let them die young)
#: shapes learned per file (an export writes one or a few)
_MAX_SHAPES = 16

TEMPLATE = (
    "tximport.qif",
    "application/qif",
    "!Type:Bank\nD01/31/2024\nT2,500.00\nPACME Corp\nMSalary January\nN1001\n^\n"
    "D02/01/2024\nT-950.00\nPJohn Landlord\nMRent February\n^\n",
)

# what the scanner hands on, per block
_RECORD = 0  # (_RECORD, line number, fields): a bank record read line by line
_RUN = 1  # (_RUN, line number of the first, _Run): bank records of one shape
_ACCOUNT = 2  # (_ACCOUNT, name, line number)
_SKIPPED = 3  # (_SKIPPED, header, line number, records skipped)
_CUT = 4  # (_CUT, line number of the record, last line of the file): the file ends inside a bank record
_OPENING = 5  # (_OPENING, line number, fields): a bank section's `Opening Balance` record

OPENING_BALANCE = "OpeningBalance"


def _section(header: str) -> str:
    """bank | investment | account | autoswitch-on | autoswitch-off | option | other"""
    lowered = header[1:].strip().lower()
    if lowered.startswith("type:"):
        kind = lowered[5:].strip()
        if kind in _BANK_TYPES:
            return "bank"
        if kind in _INVESTMENT_TYPES:
            return "investment"
        return "other"
    if lowered == "account":
        return "account"
    if lowered == "option:autoswitch":
        return "autoswitch-on"
    if lowered == "clear:autoswitch":
        return "autoswitch-off"
    if lowered.startswith(("option:", "clear:")):
        return "option"
    return "other"


def is_opening_balance(fields: dict[str, str]) -> bool:
    """Quicken's opening balance record: payee `Opening Balance`, category `[the account]`."""
    category = fields.get("L", "")
    return (fields.get("P", "").lower() == "opening balance" and len(category) > 1 and category[0] == "["
            and category[-1] == "]")


def opening_note(line: int, fields: dict[str, str]) -> FileNote:
    """The note for an opening balance record: it is not staged."""
    amount = fields.get("T") or fields.get("U") or ""
    nonzero = any(digit in amount for digit in "123456789")
    return FileNote(OPENING_BALANCE, f"the record at line {line} (payee 'Opening Balance', category "
                    f"{fields['L'][:60]}) is Quicken's opening balance of the account, {amount[:40] or 'no amount'}: "
                    "it is no transaction and is not staged" + ("; check the account's balance before confirming"
                                                                 if nonzero else ""),
                    severity="warning" if nonzero else "info", line_number=line, actual_value=amount or None)


def qif_date_text(text: str) -> str:
    """A QIF date in a form `parse_date` reads: `1/ 5' 4` -> `1/5/2004`, `1/31'24` -> `1/31/2024`."""
    value = text.replace(" ", "")
    if "'" in value:
        head, _, year = value.partition("'")
        if year.isdigit() and len(year) <= 2:
            return f"{head}/{2000 + int(year)}"
        return f"{head}/{year}"
    return value


class _Shape:
    """The field codes of a record in their order: `run` is the pattern that finds how far records
    written alike go; `date` ... `number` are the lines of the record that hold each field (the first
    line of its code: D, T, U, P, M, N; -1: the records have no such field)."""

    __slots__ = ("run", "stride", "date", "amount", "other", "payee", "memo", "number")

    def __init__(self, codes: tuple[str, ...]) -> None:
        first: dict[str, int] = {}
        for index, code in enumerate(codes):
            first.setdefault(code.upper(), index)  # the first occurrence of a code counts
        self.run = re.compile("(?:" + _pattern(codes) + ")+")
        self.stride = len(codes) + 1  # lines per record
        self.date, self.amount, self.other, self.payee, self.memo, self.number = (
            first.get(code, -1) for code in "DTUPMN")


class _Run:
    """Records of one shape read at once: their lines (without line ends), a column per field."""

    __slots__ = ("lines", "shape", "count", "ascii")

    def __init__(self, lines: list[str], shape: _Shape, ascii_text: bool) -> None:
        self.lines = lines
        self.shape = shape
        self.count = len(lines) // shape.stride
        self.ascii = ascii_text

    def column(self, index: int) -> list[str]:
        """The values (code dropped, stripped) of line `index` of every record; '' for every record
        when the records have no such line (index -1)."""
        if index < 0:
            return [""] * self.count
        return list(map(_STRIP, map(_VALUE, self.lines[index::self.shape.stride])))

    def raw(self, index: int) -> list[str]:
        """Line `index` of every record as it is (code included, not stripped): a file repeats its
        date lines, so they are read once per distinct line."""
        return self.lines[index::self.shape.stride]


def _pattern(codes: tuple[str, ...]) -> str:
    """One record: its lines and the `^` line."""
    return "".join(re.escape(code) + r"[^\n]*\n" for code in codes) + r"\^[^\n]*\n"


class _Record:
    __slots__ = ("line_number", "fields", "codes")

    def __init__(self, line_number: int) -> None:
        self.line_number = line_number
        self.fields: dict[str, str] = {}
        self.codes: list[str] = []


class _Scanner:
    """Reads a QIF text into records, sections and accounts (see the module doc)."""

    def __init__(self) -> None:
        self.line = 1  # number of the next line
        self.record: _Record | None = None
        self.section = "bank"  # records before any header are read as a bank section
        self.autoswitch = False
        self.skipped_header: tuple[str, int] | None = None
        self.skipped = 0
        self.seen_qif = False
        self.opening = True  # the next bank record is the section's first (it may be its opening balance)
        self.shapes: dict[tuple[str, ...], _Shape] = {}
        self.shape: _Shape | None = None

    def scan(self, text: Any) -> Iterator[list[tuple[Any, ...]]]:
        """Per block of the text stream, what it holds; FileError at the end if it is no QIF."""
        carry = ""  # the line under way (a block holds less than a line's limit)
        while True:
            chunk = text.read(_CHUNK)
            if not chunk:
                break
            first = chunk.find("\n")
            if len(carry) + (first if first >= 0 else len(chunk)) > MAX_LINE:
                raise FileError(LINE_TOO_LONG, f"Line {self.line} is longer than {MAX_LINE >> 20} MB.",
                                target="File", details={"line": self.line})
            if first < 0:
                carry += chunk
                continue
            cut = chunk.rfind("\n") + 1
            block = carry + chunk[:cut] if carry else chunk[:cut]
            carry = chunk[cut:]
            yield self._block(block)
        out = self._block(carry) if carry else []
        record = self.record
        if record is not None:
            cut = self.section == "bank"
            self._end_record(out, terminated=False)  # no `^` after the last record
            if cut:
                out.append((_CUT, record.line_number, self.line - 1))
        if self.skipped_header is not None:
            out.append((_SKIPPED, *self.skipped_header, self.skipped))
        yield out
        if not self.seen_qif:
            raise FileError(INVALID_SOURCE_DATA,
                            "The file is not QIF: it has no !Type section and no record ending with '^'.")

    def _block(self, block: str) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        pos, size = 0, len(block)
        ascii_block = block.isascii()
        while pos < size:
            shape = self.shape
            if shape is not None and self.record is None and self.section == "bank" and not self.opening:
                m = shape.run.match(block, pos)
                if m is not None:
                    run = _Run(block[pos:m.end() - 1].split("\n"), shape, ascii_block)
                    out.append((_RUN, self.line, run))
                    self.line += run.count * shape.stride
                    self.seen_qif = True
                    pos = m.end()
                    continue
            end = block.find("\n", pos)
            if end < 0:
                end = size
            self._line(block[pos:end], out)
            pos = end + 1
        return out

    def _line(self, raw: str, out: list[tuple[Any, ...]]) -> None:
        number = self.line
        self.line += 1
        line = raw.strip()
        if number == 1:
            line = line.lstrip("\ufeff")
        if not line:
            return
        first = line[0]
        if first == "#":  # a comment
            return
        if first == "!":
            if self.record is not None:
                self._end_record(out, terminated=True)
            self._header(line, number, out)
            return
        if first == "^":
            if self.record is not None:
                self._end_record(out, terminated=True, learn=True)
            return
        record = self.record
        if record is None:
            record = self.record = _Record(number)
        record.codes.append(first)
        # the first occurrence wins (split lines S/E/$ repeat and are not imported)
        record.fields.setdefault(first.upper(), line[1:].strip())
        if len(record.codes) > MAX_RECORD_LINES:
            raise FileError(ELEMENT_TOO_LARGE, f"The record starting at line {record.line_number} has more than "
                            f"{MAX_RECORD_LINES:,} lines (no '^' ends it).", target="File",
                            details={"line": record.line_number})

    def _header(self, text: str, number: int, out: list[tuple[Any, ...]]) -> None:
        self.seen_qif = True
        if self.skipped_header is not None:
            out.append((_SKIPPED, *self.skipped_header, self.skipped))
            self.skipped_header, self.skipped = None, 0
        kind = _section(text)
        if kind == "autoswitch-on":
            self.autoswitch = True
        elif kind == "autoswitch-off":
            self.autoswitch = False
        elif kind != "option":
            self.section = kind
            self.opening = kind == "bank"
            if kind == "investment":
                self.skipped_header = (text, number)

    def _end_record(self, out: list[tuple[Any, ...]], terminated: bool, learn: bool = False) -> None:
        record = self.record
        assert record is not None
        self.record = None
        if self.section == "bank":
            self.seen_qif = self.seen_qif or terminated
            if self.opening:
                self.opening = False
                if is_opening_balance(record.fields):
                    out.append((_OPENING, record.line_number, record.fields))
                    return
            out.append((_RECORD, record.line_number, record.fields))
            if learn:
                self._learn(tuple(record.codes))
        elif self.section == "investment":
            self.skipped += 1
        elif self.section == "account" and not self.autoswitch:
            name = record.fields.get("N", "").strip()
            if name:
                out.append((_ACCOUNT, nfc(name), record.line_number))

    def _learn(self, codes: tuple[str, ...]) -> None:
        shape = self.shapes.get(codes)
        if shape is None:
            if len(self.shapes) >= _MAX_SHAPES:
                return
            shape = self.shapes[codes] = _Shape(codes)
        self.shape = shape


def _scan(source: Source, encoding: str) -> Iterator[list[tuple[Any, ...]]]:
    with open_text(source, encoding, newline=None) as text:
        yield from _Scanner().scan(text)


# --- the first pass: date style and decimal separator ------------------------------------------------

#: the digits 1-9 as 9: an amount's evidence about its decimal separator depends on where its digits
#: and separators stand (and on a lone 0 before the separator), not on which digits they are
_SHAPE = str.maketrans("12345678", "99999999")
_STRIP = str.strip
#: a line's value: the text after its code
_VALUE = itemgetter(slice(1, None))


def _styles(source: Source, encoding: str) -> tuple[Counter[str], Counter[str]]:
    """How often each D value and each amount shape occurs in the bank records."""
    dates: Counter[str] = Counter()
    shapes: Counter[str] = Counter()
    for items in _scan(source, encoding):
        for item in items:
            if item[0] == _RECORD:
                fields = item[2]
                if "D" in fields:
                    dates[fields["D"]] += 1
                shapes[(fields.get("T") or fields.get("U") or "").translate(_SHAPE)] += 1
            elif item[0] == _RUN:
                run = item[2]
                if run.shape.date >= 0:
                    for raw, times in Counter(run.raw(run.shape.date)).items():
                        dates[raw[1:].strip()] += times
                shapes.update("\n".join(_run_amounts(run)).translate(_SHAPE).split("\n"))
    return dates, shapes


def _run_amounts(run: _Run) -> list[str]:
    """The amount text of each record of a run (`T`, else `U`)."""
    amounts = run.column(run.shape.amount)
    if run.shape.other < 0 or all(amounts):
        return amounts
    return [amount or other for amount, other in zip(amounts, run.column(run.shape.other), strict=True)]


def _decide(source: Source, encoding: str, options: ParseOptions) -> tuple[DateStyle | None, str]:
    mapping = options.mapping or {}
    decimal = mapping.get("decimalSeparator") if isinstance(mapping, dict) else None
    dates, shapes = _styles(source, encoding)
    style = options.date_style
    if style is None:
        vote = DateStyleVote()
        for text, times in dates.items():
            vote.add(qif_date_text(text), times)
        style = vote.decide("D")
    if decimal not in (".", ","):
        votes = {".": 0, ",": 0}
        for shape, times in shapes.items():
            evidence = amount_evidence(shape)
            if evidence:
                votes[evidence] += times
        decimal = "," if votes[","] > votes["."] else "."
    return style, decimal


# --- the second pass: the events -------------------------------------------------------------------

#: amounts that the amount parser reads as Decimal reads them, each ending with a newline (in the file's
#: decimal style); at most 25 characters (checked first: longer ones go through the amount parser, which
#: judges what the ledger can store; and the pattern's backtracking within a line stays short)
_PLAIN_LENGTH = 25
_PLAIN = r"(?:.[-+]?(?:[0-9]+(?:S[0-9]*)?|S[0-9]+)\n)*"  # (each line with its code)
_PLAIN_DOTS = re.compile(_PLAIN.replace("S", r"\."))
_PLAIN_COMMAS = re.compile(_PLAIN.replace("S", ","))
_TO_DOT = methodcaller("replace", ",", ".")
_IS_DATE = date.__instancecheck__
_NONE_IF_EMPTY = {"": None}.get
#: date texts kept with their dates (a file repeats them)
_DATES_KEPT = 4096


class _Lines:
    """Turns records into events, with the file's date style and decimal separator."""

    def __init__(self, style: DateStyle | None, decimal: str) -> None:
        self.style = style
        self.amount = make_amount_parser(decimal)
        self.dates: dict[str, date | str] = {}  # a date text -> its date, or why it is none
        self.date_lines: dict[str, date | str] = {}  # the same by a run's date line (`D` and all)
        self.account: str | None = None
        self.comma = decimal == ","
        self.plain = _PLAIN_COMMAS if self.comma else _PLAIN_DOTS

    def posted(self, text: str) -> date | str:
        found = self.dates.get(text)
        if found is None:
            found = self._read_date(text)
            if len(self.dates) >= _DATES_KEPT:
                self.dates.clear()
            self.dates[text] = found
        return found

    def _read_date(self, text: str) -> date | str:
        try:
            return parse_date(qif_date_text(text), self.style)
        except ValueError as exc:
            return str(exc)

    def event(self, line: int, date_text: str, amount_text: str, amount_code: str, payee: str, memo: str,
              number: str) -> ParseEvent:
        """One record: its line, or why it is rejected."""
        if not date_text:
            return LineError(line, REQUIRED_VALUE_MISSING, "The record has no date (D).", actual_value=None,
                             target="D")
        posted = self.posted(date_text)
        if type(posted) is str:
            return LineError(line, INVALID_DATE, posted, actual_value=date_text, target="D")
        if not amount_text:
            return LineError(line, REQUIRED_VALUE_MISSING, "The record has no amount (T).", actual_value=None,
                             target="T")
        try:
            amount = self.amount(amount_text)
        except ValueError as exc:
            return LineError(line, INVALID_AMOUNT, str(exc), actual_value=amount_text, target=amount_code)
        if not payee.isascii():
            payee = nfc(payee)
        if not memo.isascii():
            memo = nfc(memo)
        if number and not number.isascii():
            number = nfc(number)
        return ParsedLine(line, posted, amount,  # type: ignore[arg-type]
                          f"{payee} {memo}" if payee and memo else payee or memo, self.account,
                          bank_transaction_id=number or None, counterparty_name=payee or None,
                          amount_target=None if amount_code == "T" else amount_code)  # (`T`: the format's)

    def record(self, line: int, fields: dict[str, str]) -> ParseEvent:
        code = "T" if fields.get("T") else "U"
        return self.event(line, fields.get("D", ""), fields.get(code, ""), code, fields.get("P", ""),
                          fields.get("M", ""), fields.get("N", ""))

    def run(self, line: int, run: _Run) -> list[ParseEvent]:
        """The events of a run of records of one shape."""
        shape = run.shape
        if shape.date >= 0 and shape.amount >= 0 and run.ascii:
            lines = self._plain_run(line, run)
            if lines is not None:
                return lines
        amounts = run.column(shape.amount)
        others = run.column(shape.other)
        columns = zip(run.column(shape.date), amounts, others, run.column(shape.payee), run.column(shape.memo),
                      run.column(shape.number), strict=True)
        out: list[ParseEvent] = []
        event = self.event
        for date_text, amount, other, payee, memo, number in columns:
            code = "T" if amount else "U"
            out.append(event(line, date_text, amount or other, code, payee, memo, number))
            line += shape.stride
        return out

    def _plain_run(self, line: int, run: _Run) -> list[ParseEvent] | None:
        """The lines of a run whose records all read (every date known and valid, every amount a plain
        number, all text ASCII), made column by column; None when one does not."""
        shape = run.shape
        lines = run.raw(shape.date)
        known = self.date_lines
        missing = set(lines).difference(known)
        if missing:
            if len(known) + len(missing) > _DATES_KEPT:
                known.clear()
                missing = set(lines)
            for raw in missing:
                known[raw] = self.posted(raw[1:].strip())
        posted = list(map(known.__getitem__, lines))
        if not all(map(_IS_DATE, posted)):
            return None
        amounts = run.raw(shape.amount)  # `T` and the amount: plain ones have nothing to strip
        if max(map(len, amounts)) > _PLAIN_LENGTH + 1 or self.plain.fullmatch("\n".join(amounts) + "\n") is None:
            return None
        amounts = list(map(_VALUE, amounts))
        if self.comma:
            amounts = list(map(_TO_DOT, amounts))
        empty = repeat(None)
        payees = run.column(shape.payee)
        memos = run.column(shape.memo)
        if all(payees) and all(memos):
            descriptions: Any = map(" ".join, zip(payees, memos, strict=True))
        elif not any(payees) or not any(memos):
            descriptions = map("".join, zip(payees, memos, strict=True))
        else:
            descriptions = (f"{p} {m}" if p and m else p or m for p, m in zip(payees, memos, strict=True))
        numbers = run.column(shape.number) if shape.number >= 0 else []
        return list(map(ParsedLine, range(line, line + run.count * shape.stride, shape.stride), posted,
                        map(Decimal, amounts), descriptions, repeat(self.account), empty, empty,
                        map(_NONE_IF_EMPTY, numbers, numbers) if shape.number >= 0 else empty, empty,
                        map(_NONE_IF_EMPTY, payees, payees)))


def _cut(record: int, last: int) -> FileNote:
    """The warning for a file whose last record has no `^`: it looks cut short (a field of that record may be
    cut too, and records after the cut are missing); lineNumber: the file's last line."""
    return FileNote(FILE_TRUNCATED, f"the file ends at line {last} inside the record that starts at line {record} "
                    "(no '^' ends it). It looks cut short: that record may be incomplete and records after the cut "
                    "are missing; check the file before confirming", severity="warning", line_number=last)


@guarded
def parse_qif(source: Source, options: ParseOptions) -> Iterator[ParseEvent]:
    """`QIF#v1`: the transactions of a QIF file's bank, card and cash sections."""
    sample = read_sample(source)
    encoding = detect_encoding(sample, complete=len(sample) < SAMPLE_SIZE)
    if not sample.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FileError(EMPTY_FILE, "The file holds no lines.")
    lines = _Lines(*_decide(source, encoding, options))
    for items in _scan(source, encoding):
        for item in items:
            kind = item[0]
            if kind == _RUN:
                yield from lines.run(item[1], item[2])
            elif kind == _RECORD:
                yield lines.record(item[1], item[2])
            elif kind == _ACCOUNT:
                lines.account = item[1]
                yield StatementAccount(item[1], line_number=item[2])
            elif kind == _CUT:
                yield _cut(item[1], item[2])
            elif kind == _OPENING:
                yield opening_note(item[1], item[2])
            else:
                _, header, line_number, count = item
                yield LineError(line_number, UNSUPPORTED_SECTION,
                                f"{count} investment record(s) in section {header} were skipped: "
                                "QIF investment sections are not imported.", actual_value=header, target="!Type")
