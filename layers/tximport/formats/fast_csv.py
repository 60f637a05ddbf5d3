"""A block reader for plain CSV files: the common case of the fixed layouts, read without a
`csv.reader` row loop.

Most tabular exports are UTF-8, unquoted, one record per line, with ISO dates and `-1234.56`
amounts. For those, a block of whole lines is split with a few `str` operations, the dates are read
with `date.fromisoformat`, the amounts with `Decimal`, and the `ParsedLine` events are built with a
`map` instead of a Python loop per row.

The block reader decides per block, and only produces events when they are exactly those the
generic engine (`csv_mapped`) would produce: the block decodes as strict UTF-8, holds no quote
character, no carriage return other than in CRLF, no field longer than `csv.field_size_limit()`, and
every line has exactly the expected number of fields, a date `date.fromisoformat` reads, and an
amount made of digits, `.` and a sign only that `Decimal` reads. At the first block that is not so
(a blank line, a quoted field, a bad date or amount, a short row ...) the rest of the file, from the
start of that block, goes to the generic engine with its line numbers carried on. Memory is bounded
by the block size.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import repeat
from typing import IO
from unicodedata import normalize

from tximport.formats.base import ParsedLine, ParseEvent

#: bytes read per block (a block is then cut after its last line break)
BLOCK_SIZE = 64 * 1024

#: the characters a plain amount is made of (anything else goes to the generic amount parser)
_NOT_PLAIN_AMOUNT = str.maketrans("", "", "0123456789.+-")

#: `tests` switch the block reader off to compare it with the generic engine
ENABLED = True


class PrefixedStream:
    """A byte stream that first returns `prefix`, then the rest of `raw` (for handing over mid-file)."""

    def __init__(self, prefix: bytes, raw: IO[bytes]) -> None:
        self._prefix = prefix
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is left when `size` < 0)."""
        if self._prefix:
            if size < 0:
                data, self._prefix = self._prefix + self._raw.read(), b""
                return data
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            return data
        return self._raw.read(size)

    def close(self) -> None:
        """Close the underlying stream."""
        self._raw.close()


def read_first_line(raw: IO[bytes], skip_bom: bool) -> tuple[str | None, bytes, int]:
    """The first line of the stream (decoded, without its line break), the bytes read (after a BOM
    when `skip_bom`) and the offset in them where the second line starts.

    The line is None when it is not plain (no line break in the first block, not UTF-8, a lone
    carriage return): the caller then reads the whole file the generic way.
    """
    buffer = raw.read(BLOCK_SIZE)
    if skip_bom and buffer.startswith(b"\xef\xbb\xbf"):
        buffer = buffer[3:]
    end = buffer.find(b"\n")
    if end < 0:
        return None, buffer, 0
    try:
        line = buffer[:end].decode("utf-8")
    except UnicodeDecodeError:
        return None, buffer, 0
    if line.endswith("\r"):
        line = line[:-1]
    if "\r" in line:
        return None, buffer, 0
    return line, buffer, end + 1


def plain_blocks(raw: IO[bytes], buffer: bytes, first_line: int, *, delimiter: str, quote_char: str,
                 width: int, date_col: int, description_col: int, amount_col: int,
                 fallback: Callable[[PrefixedStream, int], Iterator[ParseEvent]]
                 ) -> Iterator[Iterator[ParseEvent]]:
    """The events for the lines in `buffer` + the rest of `raw` (the first on line `first_line`), as
    one iterator per block: `itertools.chain.from_iterable` flattens them without a Python frame
    per row.

    Every line must have exactly `width` fields; the date, description and amount are read from the
    given columns. At the first block that is not plain, `fallback(stream, lines_before)` parses the
    rest (the stream starts at that block; `lines_before` is the number of lines before it).
    """
    fromiso = date.fromisoformat
    strip = str.strip
    limit = csv.field_size_limit()
    separators = width - 1
    line_number = first_line
    at_end = False
    while True:
        if not at_end:
            chunk = raw.read(BLOCK_SIZE)
            at_end = not chunk
            buffer += chunk
        if at_end:
            cut = len(buffer)
        else:
            cut = buffer.rfind(b"\n") + 1
            if cut == 0 and len(buffer) < limit:
                continue  # a long line: read on until it ends
        parsed = _block(buffer[:cut], line_number, delimiter, quote_char, separators, width, date_col,
                        description_col, amount_col, fromiso, strip, limit) if cut else None
        if parsed is None:
            if buffer:
                yield fallback(PrefixedStream(buffer, raw), line_number - 1)
            return
        count, events = parsed
        yield events
        line_number += count
        buffer = buffer[cut:]


def _block(block: bytes, line_number: int, delimiter: str, quote_char: str, separators: int, width: int,
           date_col: int, description_col: int, amount_col: int, fromiso: Callable[[str], date],
           strip: Callable[[str], str], limit: int) -> tuple[int, Iterator[ParsedLine]] | None:
    """(line count, events) for one block of whole lines, or None when the block is not plain."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if quote_char in text:
        return None
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            return None  # a lone CR ends a line for csv: leave it to csv
        text = text.replace("\r\n", "\n")
    if text.endswith("\n"):
        text = text[:-1]
    lines = text.split("\n")
    count = len(lines)
    if len(text) >= limit and max(map(len, lines)) >= limit:
        return None  # csv refuses fields this long
    if list(map(str.count, lines, repeat(delimiter))).count(separators) != count:
        return None  # a blank, short or long line
    fields = text.replace("\n", delimiter).split(delimiter)
    try:
        dates = list(map(fromiso, fields[date_col::width]))
    except ValueError:
        return None
    amount_texts = fields[amount_col::width]
    if "".join(amount_texts).translate(_NOT_PLAIN_AMOUNT):
        return None
    try:
        amounts = list(map(Decimal, amount_texts))
    except InvalidOperation:
        return None
    descriptions = list(map(strip, fields[description_col::width]))
    if not "".join(descriptions).isascii():
        descriptions = [d if d.isascii() else normalize("NFC", d) for d in descriptions]
    return count, map(ParsedLine, range(line_number, line_number + count), dates, amounts, descriptions)
