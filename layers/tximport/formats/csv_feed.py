"""The CSV engine's input: the file's text, decoded once and read in blocks of whole lines, and its
data rows as batches.

Lines end at `\\n`, `\\r\\n` or a lone `\\r`, and are numbered as `csv.reader` counts them. A batch is
either a block read as columns (`Columns`: every line one row, split by `fast_csv` without a
`csv.reader`) or rows `csv.reader` read (`Rows`: a block that is not plain, where a quoted field may
hold delimiters or line breaks and run on into the next block). Both passes of the engine (inference,
then parsing) read the same batches.

The file's end: the feed notes the file's last record (`LastRecord`) where the end may have cut it, when it
ends inside a quoted cell (a quote opened and never closed: `csv.reader` would read the cell to the end of the
file without a word) or without a line end; `csv_mapped` decides what becomes of it (see `CutShort`).

Limits, checked before any row is built: a line (or a record that quoted line breaks spread over
several lines) longer than `MAX_LINE` characters is `FileError` `LineTooLong`, with its line number. csv's
own field limit is raised to that (from 131,072 characters), so a field is never refused by `csv.reader`
before the line is. Memory is bounded by the block size and these limits, whatever the file's size.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import deque
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import IO, Any

from tximport.formats.base import LINE_TOO_LONG, FileError, ParseEvent
from tximport.formats.csv_rows import Row, blank
from tximport.formats.encoding import errors_for

#: characters decoded per read; a block is about this long (cut after its last line break)
BLOCK_SIZE = 64 * 1024
#: the longest line (or record spread over lines by quoted line breaks) a file may hold
MAX_LINE = 1 << 20
# a field as long as a line may be (csv's default, 131,072, would refuse a long field of a line we read)
csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE + 1))

Numbered = tuple[int, Row]


@dataclass(slots=True)
class Rows:
    """Rows `csv.reader` reads, each with the line it starts on: read as they are taken (a block of
    rows held at once would wake the cyclic garbage collector again and again), so taken before the
    next batch is asked for."""

    rows: Iterable[Numbered]


@dataclass(slots=True)
class Columns:
    """A plain block as columns: row i is line `first_line + i`. The `quoted` columns (ones no reader
    of this pass looks at) still hold their cells' quotes, and the cells of a bytes view (`decode`
    set) are bytes: both are made text as csv reads it when the block is read as rows."""

    first_line: int
    columns: list[list[Any]]
    quoted: dict[int, Any] = field(default_factory=dict)
    decode: Callable[[list[Any]], list[str]] | None = None

    @property
    def count(self) -> int:
        return len(self.columns[0])

    def rows(self, start: int = 0, stop: int | None = None) -> list[Numbered]:
        """Rows `start` to `stop` with their line numbers, every cell as csv reads it."""
        if self.quoted:
            for j, quote in self.quoted.items():
                self.columns[j] = unquote(self.columns[j], quote)  # type: ignore[assignment]
            self.quoted = {}
        if self.decode is not None:
            self.columns = list(map(self.decode, self.columns))
            self.decode = None
        stop = self.count if stop is None else stop
        cells = islice(zip(*self.columns, strict=True), start, stop)
        return list(zip(range(self.first_line + start, self.first_line + stop), cells, strict=True))

    def head(self, stop: int) -> Columns:
        """The first `stop` rows."""
        return Columns(self.first_line, [column[:stop] for column in self.columns], dict(self.quoted), self.decode)


@dataclass(slots=True)
class LastRecord:
    """The file's last record, when it ends inside a quoted cell (`open_quote`) or without a line end: the line it
    starts on, its cells as `csv.reader` reads them and its text as the file writes it."""

    line_number: int
    row: Row
    text: str
    open_quote: bool

    @property
    def last_line(self) -> int:
        """The file's last line that holds more than blanks (the record's text ends the file)."""
        return self.line_number + line_breaks(self.text.rstrip())


@dataclass(slots=True)
class CutShort:
    """The events of a file whose end cut its last record short (a FileTruncated note, and the line's error
    when the record is rejected): no row is read from it."""

    events: tuple[ParseEvent, ...]


Batch = Rows | Columns | CutShort


AnyStr = str | bytes
#: line break, carriage return, CRLF and the empty value, for text and for the bytes view
_STR = ("\n", "\r", "\r\n", "")
_BYTES = (b"\n", b"\r", b"\r\n", b"")


def _syms(text: AnyStr) -> tuple[Any, Any, Any, Any]:
    return _BYTES if isinstance(text, bytes) else _STR


def _line_end(text: AnyStr, start: int, final: bool) -> int:
    """The position after the first line break at or after `start`; -1 when there is none yet (a `\\r`
    at the very end may be the first half of `\\r\\n` unless the text is `final`)."""
    nl, cr_, _, _ = _syms(text)
    newline = text.find(nl, start)
    stop = newline if newline >= 0 else len(text)
    cr = text.find(cr_, start, stop)
    if cr >= 0:
        if cr + 1 < len(text):
            return cr + 2 if text[cr + 1:cr + 2] == nl else cr + 1
        return cr + 1 if final else -1
    return newline + 1 if newline >= 0 else -1


def _last_line_end(text: AnyStr, final: bool) -> int:
    """The position after the last line break of the text (0 when there is none)."""
    nl, cr_, _, _ = _syms(text)
    newline = text.rfind(nl)
    cr = text.rfind(cr_, newline + 1, len(text) if final else len(text) - 1)
    return max(newline, cr) + 1


def line_breaks(text: AnyStr) -> int:
    """How many line breaks the text holds (`\\r\\n` is one)."""
    nl, cr, crnl, _ = _syms(text)
    breaks = text.count(nl)
    if cr in text:
        breaks += text.count(cr) - text.count(crnl)
    return breaks


def ends_line(block: AnyStr) -> bool:
    """Whether the text ends with a line break."""
    nl, cr, _, _ = _syms(block)
    return block.endswith((nl, cr))


def lines_in(block: AnyStr) -> int:
    """How many lines a block holds (the file's last line may lack its break)."""
    nl, cr, _, _ = _syms(block)
    return line_breaks(block) + (0 if block.endswith((nl, cr)) else 1)


_BREAK = re.compile(r"[\r\n]")


def last_record(text: str, delimiter: str, quote: str) -> tuple[int, bool]:
    """Where the last record of `text` (which starts where a record starts) begins, and whether the text ends
    inside a quoted cell, as `csv.reader` reads it: a cell that starts with the quote runs to its closing quote
    (a doubled quote is a quote inside it; delimiters and line breaks are text there); any other quote is text.
    After a line break outside quotes, a record starts (at the text's end when the text ends with one)."""
    pos = start = 0
    n = len(text)
    delimiter_at = break_at = -1  # the next delimiter and line break at or after `pos` (n: none)
    while pos < n:
        if text.startswith(quote, pos):  # a quoted cell: to its closing quote
            pos += 1
            while True:
                close = text.find(quote, pos)
                if close < 0:
                    return start, True
                pos = close + 1
                if not text.startswith(quote, pos):
                    break
                pos += 1  # (a doubled quote)
        if delimiter_at < pos:
            delimiter_at = text.find(delimiter, pos)
            delimiter_at = n if delimiter_at < 0 else delimiter_at
        if break_at < pos:
            found = _BREAK.search(text, pos)
            break_at = n if found is None else found.start()
        if delimiter_at < break_at:
            pos = delimiter_at + 1
        elif break_at < n:
            pos = start = break_at + (2 if text.startswith("\r\n", break_at) else 1)
        else:
            break
    return start, False


def split_block(block: AnyStr, first_line: int, delimiter: AnyStr, quote_char: AnyStr,
                needed: Container[int] | None = None) -> Columns | None:
    """The cells of a block of lines (the first on line `first_line`) as columns, when every line is
    one row of the same width that `csv.reader` reads the same way (see the module doc); None
    otherwise. Only the `needed` columns (all when None) have their quotes taken off at once; the
    others are only checked (and unquoted if the block is read as rows). Reads text, or the bytes of
    an ASCII-compatible file (`delimiter` and `quote_char` of the same type)."""
    nl, cr, crnl, empty = _syms(block)
    text: Any = block
    if cr in text:
        if text.count(cr) != text.count(crnl):
            return None  # a lone CR ends a line for csv: leave it to csv
        text = text.replace(crnl, nl)
    if text.endswith(nl):
        text = text[:-1]
    first_end = text.find(nl)
    width = text.count(delimiter, 0, first_end if first_end >= 0 else len(text)) + 1
    if width < 2:
        return None
    limit = csv.field_size_limit()
    if len(text) >= limit and max(map(len, text.split(nl))) >= limit:
        return None  # csv refuses fields this long
    # Each line break becomes a cell of its own ("\n", which no other cell can be): every line has
    # `width` cells exactly when there are `width + 1` cells a line and every `width + 1`th is a mark.
    marked = text.replace(nl, delimiter + nl + delimiter)
    lines = (len(marked) - len(text)) // 2 + 1  # (each mark adds two characters)
    cells = marked.split(delimiter)
    stride = width + 1
    if len(cells) != lines * stride - 1 or cells[width::stride].count(nl) != lines - 1:
        return None  # a blank, short or long line
    batch = Columns(first_line, [cells[j::stride] for j in range(width)])
    if quote_char in text:
        columns = batch.columns
        for j, column in enumerate(columns):
            if quote_char not in empty.join(column):
                continue
            if needed is not None and j not in needed and _wholly_quoted(column, quote_char):
                batch.quoted[j] = quote_char
                continue
            unquoted = unquote(column, quote_char)
            if unquoted is None:
                return None
            columns[j] = unquoted
    return batch


def _wholly_quoted(column: list[Any], quote: Any) -> bool:
    """Whether every cell is `"text"` with no quote inside (checked without building the cells)."""
    nl = _syms(quote)[0]
    n = len(column)
    joined: Any = nl.join(column)
    return bool(joined.count(quote) == 2 * n and joined[:1] == quote and joined[-1:] == quote
            and joined.count(quote + nl + quote, 1, len(joined) - 1) == n - 1)


def unquote(column: list[Any], quote: Any) -> list[Any] | None:
    """The cells as csv reads them when each one holding a quote is wholly quoted; None otherwise."""
    nl = _syms(quote)[0]
    n = len(column)
    joined: Any = nl.join(column)  # cells hold no line break
    if joined.count(quote) == 2 * n and joined[:1] == quote and joined[-1:] == quote:
        parts: list[Any] = joined.split(quote + nl + quote)
        if len(parts) == n and parts[0] and parts[-1]:  # (a lone quote would leave one empty)
            # every cell quoted, none with a quote inside: the common export
            if n == 1:
                return [joined[1:-1]]
            parts[0], parts[-1] = parts[0][1:], parts[-1][:-1]
            return parts
    doubled = quote + quote
    cells: list[Any] = []
    for cell in column:
        if quote in cell:
            if len(cell) < 2 or cell[:1] != quote or cell[-1:] != quote:
                return None  # a quote csv keeps as text, or a quoted cell with more after it
            cell = cell[1:-1]
            if quote in cell:
                if quote in cell.replace(doubled, cell[:0]):
                    return None
                cell = cell.replace(doubled, quote)
        cells.append(cell)
    return cells


#: encodings in which every ASCII byte is that character and no other character uses one
_ASCII_COMPATIBLE = frozenset({"utf-8", "utf-8-sig", "cp1252", "iso8859-1", "iso8859-15", "cp1250", "iso8859-2"})


class TextFeed:
    """The decoded text of a byte stream, consumed front to back in whole lines.

    With `bytes_view`, a file in an ASCII-compatible encoding has its blocks given as bytes, not
    decoded: the delimiters, quotes and line breaks are the same bytes in every such encoding, and a
    cell that is ASCII is the same text. `exact()` decodes a block (for cells that are not ASCII);
    lines are always given as text."""

    def __init__(self, raw: IO[bytes], encoding: str, bytes_view: bool = False, watch_end: bool = True) -> None:
        self._raw = raw
        name = codecs.lookup(encoding).name
        self.view = bytes_view and name in _ASCII_COMPATIBLE
        self._exact_codec = "utf-8" if name == "utf-8-sig" else encoding
        self._bom = name == "utf-8-sig"
        self._decode: Callable[..., Any] = (
            (lambda data, final: data) if self.view
            else codecs.getincrementaldecoder(encoding)(errors=errors_for(encoding)).decode)
        self._buf: Any = b"" if self.view else ""
        self._pos = 0
        self._eof = False
        self._line = 1
        self._uncounted: Any = ""  # the last block, until its lines are counted (see `counted`)
        #: characters of the current record read through `lines()` (see `rows()`)
        self._record = 0
        #: whether the stream's end is the file's (else a range of it, which ends where a record ends)
        self.watch_end = watch_end
        #: the lines `lines()` gave since `rows()` last began a block (the file's first lines before that)
        self.given: list[str] = []
        #: the cells of the last row `rows()` gave (0: none yet, or a blank line)
        self.width = 0
        #: the file's last record, when `rows()` left it to the caller (see `LastRecord`)
        self.end: LastRecord | None = None

    @property
    def ended(self) -> bool:
        """Whether the whole stream has been read."""
        return self._eof and self._pos >= len(self._buf)

    def last_of_given(self, delimiter: str, quote_char: str) -> LastRecord | None:
        """The file's last record, when it is among the lines given so far (from the file's first line) and the
        file's end may have cut it (see `LastRecord`)."""
        text = "".join(self.given)
        start, open_quote = last_record(text, delimiter, quote_char)
        if start >= len(text):
            return None
        row = next(csv.reader(io.StringIO(text[start:], newline=""), delimiter=delimiter, quotechar=quote_char), [])
        return LastRecord(1 + line_breaks(text[:start]), row, text[start:], open_quote)

    def exact(self, text: AnyStr) -> str:
        """The text of what the feed gave (decoded when it reads a bytes view)."""
        if isinstance(text, str):
            return text
        return text.decode(self._exact_codec, errors=errors_for(self._exact_codec))

    def exact_column(self, column: list[Any]) -> list[str]:
        """A column of cells split in the bytes view, as text (a cell holds no line break)."""
        if not column or isinstance(column[0], str):
            return column
        return self.exact(b"\n".join(column)).split("\n")

    def _more(self) -> bool:
        """Append the next decoded text to the unread rest; False at the end of the stream."""
        while not self._eof:
            data = self._raw.read(BLOCK_SIZE)
            if self._bom and self.view:
                self._bom = False  # the view drops the byte-order mark as the real decoder does
                if data.startswith(codecs.BOM_UTF8):
                    data = data[3:]
            text = self._decode(data, final=not data)
            if not data:
                self._eof = True
            if text:
                self._buf = self._buf[self._pos:] + text
                self._pos = 0
                return True
        return False

    @property
    def line(self) -> int:
        """The number of the next unread line."""
        if self._uncounted:
            block, self._uncounted = self._uncounted, ""
            self._line += lines_in(block)
        return self._line

    def counted(self, lines: int) -> None:
        """Say how many lines the last block held (a caller that split it knows: no second count)."""
        self._line += lines
        self._uncounted = ""

    def _too_long(self, what: str = "line", at: int | None = None) -> FileError:
        line = self.line if at is None else at
        return FileError(LINE_TOO_LONG, f"The {what} at line {line} is longer than {MAX_LINE:,} characters; "
                         "the file is not a statement this service reads.", target=f"line {line}",
                         details={"lineNumber": line, "limit": MAX_LINE})

    def block(self) -> tuple[int, Any] | None:
        """The next whole lines (the last line of the file may lack its break; bytes in the bytes
        view) and the number of the first; None at the end. Raises FileError LineTooLong."""
        while True:
            cut = _last_line_end(self._buf, self._eof) if self._pos < len(self._buf) else 0
            if cut > self._pos:
                break
            if len(self._buf) - self._pos > MAX_LINE:
                raise self._too_long()
            if not self._more():
                if self._pos >= len(self._buf):
                    return None
                cut = len(self._buf)
                break
        first, block = self.line, self._buf[self._pos:cut]
        self._pos = cut
        self._uncounted = block
        return first, block

    def lines(self) -> Iterator[str]:
        """The next lines, one at a time, with their breaks (what `csv.reader` reads).

        Raises FileError LineTooLong for a line, or a record spread over lines, beyond `MAX_LINE`."""
        while True:
            end = _line_end(self._buf, self._pos, self._eof)
            while end < 0:
                if len(self._buf) - self._pos > MAX_LINE:
                    raise self._too_long()
                if not self._more():
                    end = len(self._buf) if self._pos < len(self._buf) else -1
                    break
                end = _line_end(self._buf, self._pos, self._eof)
            if end < 0:
                return
            line = self._buf[self._pos:end]
            self._pos = end
            self._line = self.line + 1
            self._record += len(line)
            if self._record > MAX_LINE:
                raise self._too_long("record")
            text = self.exact(line)
            self.given.append(text)
            yield text

    def rows(self, first_line: int, block: AnyStr, delimiter: str, quote_char: str) -> Iterator[Numbered]:
        """The block read by `csv.reader`, with the line each row starts on. A quoted field still open
        at the end of the block reads on into the lines after it. The file's last record, when the file's
        end may have cut it (see `LastRecord`), is not given but left in `end`."""
        count = lines_in(block)
        text = self.exact(block)
        reader = csv.reader(chain(io.StringIO(text, newline=""), self.lines()), delimiter=delimiter,
                            quotechar=quote_char)
        self.given = []
        previous = 0
        last: Row | None = None  # the row before
        while previous < count:
            self._record = 0
            try:
                row = next(reader, None)
            except csv.Error as exc:
                if "field limit" not in str(exc):
                    raise
                raise self._too_long(at=first_line + previous) from None  # a field beyond the limit: its line
            if row is None:
                break
            line_num = reader.line_num
            if line_num >= count and self.watch_end and self.ended:  # the file's last record
                record = "".join(io.StringIO(text, newline="").readlines()[previous:] + self.given)
                start, open_quote = last_record(record, delimiter, quote_char)
                if start < len(record):
                    if last is not None:
                        self.width = len(last)
                    self.end = LastRecord(first_line + previous, row, record, open_quote)
                    return
            yield first_line + previous, row
            last, previous = row, line_num
        if last is not None:
            self.width = len(last)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")


class RecentText:
    """The text of the last blocks read, by line number (lines end as `csv.reader` counts them): what a message
    about a rejected row may look at, as the row's cells lose their quotes. Kept for two blocks (a footer hold
    gives a block's rows with the next one's)."""

    def __init__(self, decode: Callable[[Any], str]) -> None:
        self._decode = decode
        self._blocks: deque[list[Any]] = deque(maxlen=2)

    def add(self, first_line: int, block: Any) -> None:
        self._blocks.append([first_line, block, None])

    def record(self, line_number: int, lines: int = 64) -> str | None:
        """The text from line `line_number` on (at most `lines` lines: a quoted cell may run on), or None when
        it is no longer held."""
        for entry in self._blocks:
            first, block, split = entry
            if split is None:
                text = self._decode(block)
                entry[2] = split = _LINE.findall(text)[:-1] if text else []
            i = line_number - first
            if 0 <= i < len(split):
                return "".join(split[i:i + lines])
        return None


class NumberedRows:
    """`csv.reader` rows with the physical line each starts on. With `footer` > 0 the last `footer` rows are held
    back (`held`): they are the file's footer unless more rows follow. Footer rows are counted as a reader sees
    them, blank ones too, except the blank rows that end the file (`trailing`: a blank row counts once a row
    follows it); a blank row is dropped. The first `skip` rows (the preamble `skipRows` names) are given as they
    are, blank ones too: a preamble row is counted whether or not a footer is held back."""

    def __init__(self, reader: Any, footer: int, skip: int = 0) -> None:
        self._reader = reader
        self.footer = footer
        self.skip = skip
        self.held: deque[Numbered] = deque()
        self.trailing: list[Numbered] = []

    def __iter__(self) -> Iterator[Numbered]:
        reader = self._reader
        previous = reader.line_num
        if not self.footer:
            for row in reader:
                yield previous + 1, row
                previous = reader.line_num
            return
        for row in islice(reader, self.skip):
            yield previous + 1, row
            previous = reader.line_num
        held, trailing = self.held, self.trailing
        for row in reader:
            trailing.append((previous + 1, row))
            previous = reader.line_num
            if blank(row):
                continue
            held.extend(trailing)
            trailing.clear()
            while len(held) > self.footer:
                first = held.popleft()
                if not blank(first[1]):
                    yield first


class FooterHold:
    """Holds back the last `footer` rows of a stream of batches (they are never delivered), counted as
    `NumberedRows` counts them (blank rows inside, not those that end the file), and drops blank rows outside
    plain blocks as it does."""

    def __init__(self, footer: int, held: Iterable[Numbered], trailing: Iterable[Numbered] = ()) -> None:
        self.footer = footer
        self.held = list(held)
        self.trailing = list(trailing)

    def push(self, batch: Rows | Columns) -> Iterator[Batch]:
        """The part of what was held and of `batch` that is known not to be the footer."""
        if isinstance(batch, Columns):
            tail = self._tail_start(batch)
            if tail is not None:
                start, end = tail
                before = [row for row in self.held if not blank(row[1])]
                if before:
                    yield Rows(before)
                if start:
                    yield batch.head(start)
                self.held, self.trailing = batch.rows(start, end), batch.rows(end)
                return
            fresh = batch.rows()
        else:
            fresh = list(batch.rows)
        held, trailing = self.held, self.trailing
        for row in fresh:
            trailing.append(row)
            if not blank(row[1]):
                held += trailing
                trailing.clear()
        cut = len(held) - self.footer
        if cut > 0:
            known = [row for row in held[:cut] if not blank(row[1])]
            if known:
                yield Rows(known)
            del held[:cut]

    def _tail_start(self, batch: Columns) -> tuple[int, int] | None:
        """Where the batch's own last `footer` rows begin and its trailing blank rows begin (the footer's rows are
        those between); None when it has fewer rows than `footer` before its trailing blank ones."""
        columns, end = batch.columns, batch.count
        while end > 0 and blank([column[end - 1] for column in columns]):
            end -= 1
        return (end - self.footer, end) if end >= self.footer and end > 0 else None
