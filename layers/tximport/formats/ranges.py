"""Splitting a large file into byte ranges that each read exactly as their part of the whole file.

A file above the split size is cut at record boundaries, so several workers can read it at once:

* CSV (`CSV#4col#v1`, `Tabular3column#v1`, `CSV#mapped#v1`): at line ends outside quotes (a newline
  inside a quoted cell is never a cut: the count of quote characters before it is odd). Every range is
  read behind the file's head (the preamble and header lines before the first data line), with the
  whole file's decisions pinned (encoding, delimiter, date style, decimal separator, header), and
  footer rows only in the last range;
* MT940: at the start of a message (where the reader starts one: a `:20:` line);
* CAMT.053: at a `<Stmt>` element; every range is read between the document's head (up to the first
  `<Stmt>`) and its tail (after the last `</Stmt>`);
* any other format stays whole (one range).

A range's events are the whole file's events of its part: line numbers are shifted back by the lines
between the head and the range (`RangePlan.shift`); `tests/unit/formats/test_ranges.py` compares every
range's events, concatenated, with one reading of the whole file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import IO, Any

from tximport.formats import base, mt940
from tximport.formats.csv_mapped import PINNED, CsvMapping, csv_decisions
from tximport.formats.tabular import MAPPING_3COL, MAPPING_4COL

#: the fixed CSV layouts: their mapping and the columns the delimiter sniffer expects
_CSV_FIXED: dict[str, tuple[CsvMapping, int]] = {
    "CSV#4col#v1": (MAPPING_4COL, 4),
    "Tabular3column#v1": (MAPPING_3COL, 3),
}
_CSV_MAPPED = "CSV#mapped#v1"
_MT940 = "MT940#v1"
_CAMT053 = "CAMT053#v1"
#: the formats a large file of is split (the others stay whole)
SPLIT_FORMATS = frozenset({*_CSV_FIXED, _CSV_MAPPED, _MT940, _CAMT053})

_BLOCK = 8 << 20
_STMT_OPEN = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Stmt[\s>]")
_STMT_CLOSE = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?Stmt\s*>")
#: how far a tag may reach back over a block's start (the scanner keeps this much of the block before)
_OVERLAP = 256


@dataclass(frozen=True, slots=True)
class ByteRange:
    """The bytes [start, end) of the file; `first_line`: the 1-based line number of its first byte."""

    start: int
    end: int
    first_line: int


@dataclass(frozen=True, slots=True)
class RangePlan:
    """How a file is split: its ranges in file order, and what every range is read with."""

    size: int
    ranges: tuple[ByteRange, ...]
    head_end: int = 0  # the bytes [0, head_end) are read before every range
    tail_start: int | None = None  # the bytes [tail_start, size) are read after every range
    head_lines: int = 0  # line ends in the head: a line number above this is a range's own line
    #: the whole file's reading decisions (CSV), given to every range's parser
    pinned: dict[str, Any] | None = field(default=None, hash=False)

    def options(self, options: base.ParseOptions, index: int) -> base.ParseOptions:
        """The parse options of range `index` (the whole file's decisions pinned; a range before the last one is
        marked `RANGE_FOLLOWED`: its end is not the file's)."""
        last = index == len(self.ranges) - 1
        if self.pinned is None:
            return options if last else replace(options, extra={**options.extra, base.RANGE_FOLLOWED: True})
        pinned = {**self.pinned, "last": last}
        return base.ParseOptions(date_style=options.date_style, mapping=options.mapping,
                                 include_pending=options.include_pending, extra={**options.extra, PINNED: pinned},
                                 places=options.places,  # (what the range's parser says goes to the caller)
                                 blocks=options.blocks)

    def shift(self, events: Iterator[base.ParseEvent], index: int) -> Iterator[base.ParseEvent]:
        """The events of range `index` read behind the head, numbered as the whole file numbers them (a line
        error's `target` too where it is the line, `line 12`). Only
        the last range holds the file's end: an earlier one's end says nothing of whether the file is cut
        (its FileTruncated note is dropped)."""
        part = self.ranges[index]
        # a later range's first line is line head_lines + 1 of what the parser reads (the first range
        # holds the head itself)
        delta = part.first_line - (self.head_lines + 1) if index else 0
        limit = self.head_lines
        last = index == len(self.ranges) - 1
        for event in events:
            if type(event) is base.FileNote and event.code == base.FILE_TRUNCATED and not last:
                continue
            if isinstance(event, base.LineBlock):
                if delta:
                    event.shifted(limit, delta)
            elif delta:  # (most notes are about the file, with no line)
                number = event.line_number
                if number is not None and number > limit:
                    event.line_number = number + delta
                    if type(event) is base.LineError and event.target == f"line {number}":
                        event.target = f"line {number + delta}"  # (a CSV row that is no line names its line)
            yield event

    def to_json(self) -> dict[str, Any]:
        """The plan as the split manifest stores it."""
        return {"size": self.size, "headEnd": self.head_end, "tailStart": self.tail_start,
                "headLines": self.head_lines, "pinned": self.pinned,
                "ranges": [[r.start, r.end, r.first_line] for r in self.ranges]}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RangePlan:
        return cls(size=doc["size"], head_end=doc["headEnd"], tail_start=doc["tailStart"],
                   head_lines=doc["headLines"], pinned=doc["pinned"],
                   ranges=tuple(ByteRange(s, e, f) for s, e, f in doc["ranges"]))


def whole(size: int) -> RangePlan:
    """The plan of a file read as one range."""
    return RangePlan(size=size, ranges=(ByteRange(0, size, 1),))


def plan(fmt: base.FileFormat, source: base.Source, options: base.ParseOptions, range_bytes: int) -> RangePlan:
    """The ranges `source` is read in: about `range_bytes` each, cut where `fmt` allows (one pass over
    the file, in blocks; CSV reads the file's decisions first)."""
    size = source.size or 0
    if fmt.file_format not in SPLIT_FORMATS or size <= range_bytes or range_bytes <= 0:
        return whole(size)
    count = -(-size // range_bytes)
    targets = [size * i // count for i in range(1, count)]
    if fmt.file_format == _MT940:
        return _assemble(size, _message_starts(source, targets), head_end=0)
    if fmt.file_format == _CAMT053:
        return _camt_plan(source, size, targets)
    return _csv_plan(fmt, source, options, size, targets)


def _assemble(size: int, cuts: list[tuple[int, int]], *, head_end: int, tail_start: int | None = None,
              head_lines: int = 0, pinned: dict[str, Any] | None = None) -> RangePlan:
    """Ranges between the cuts ((offset, line number) pairs in file order, past the head); the first
    range holds the head, the last one runs to the tail."""
    end = size if tail_start is None else tail_start
    points = [(0, 1)] + [c for c in cuts if head_end < c[0] < end] + [(end, 0)]
    ranges: list[ByteRange] = []
    for (start, line), (stop, _) in zip(points, points[1:], strict=False):
        if stop > start:
            ranges.append(ByteRange(start, stop, line))
    if len(ranges) <= 1:
        return whole(size)
    return RangePlan(size=size, ranges=tuple(ranges), head_end=head_end, tail_start=tail_start,
                     head_lines=head_lines, pinned=pinned)


def _blocks(source: base.Source) -> Iterator[tuple[int, int, bytes]]:
    """(offset, line ends before it, block) over the whole file."""
    offset = lines = 0
    with source.open() as raw:
        while block := raw.read(_BLOCK):
            yield offset, lines, block
            offset += len(block)
            lines += block.count(b"\n")


def _first_data_line(fmt: base.FileFormat, source: base.Source, options: base.ParseOptions) -> int | None:
    """The line number of the file's first line event (the head is every line before it)."""
    for event in fmt.parser(source, options):
        if isinstance(event, (base.ParsedLine, base.LineError)) and event.line_number is not None:
            return event.line_number
    return None


def _csv_plan(fmt: base.FileFormat, source: base.Source, options: base.ParseOptions, size: int,
              targets: list[int]) -> RangePlan:
    if fmt.file_format in _CSV_FIXED:
        mapping, expected = _CSV_FIXED[fmt.file_format]
    else:
        mapping, expected = CsvMapping.from_json(options.mapping), 0
    pinned = csv_decisions(source, options, mapping, expected)
    if pinned["dateStyle"] is not None:
        pinned["dateStyle"] = str(pinned["dateStyle"])
    if pinned["encoding"].lower().replace("_", "-").startswith(("utf-16", "utf-32")):
        return whole(size)  # a line end is not the byte 0x0a there: such a file is read whole
    # read with the decisions just made (no second inference pass over the file)
    read_options = base.ParseOptions(date_style=options.date_style, mapping=options.mapping,
                                     include_pending=options.include_pending,
                                     extra={**options.extra, PINNED: {**pinned, "last": True}})
    first = _first_data_line(fmt, source, read_options)
    if first is None:
        return whole(size)
    quote = mapping.quote_char.encode(pinned["encoding"] if pinned["encoding"].startswith("utf") else "latin-1")
    head_end, cuts = _csv_cuts(source, first - 1, targets, quote)
    if head_end is None:
        return whole(size)
    return _assemble(size, cuts, head_end=head_end, head_lines=first - 1, pinned=pinned)


def _csv_cuts(source: base.Source, head_lines: int, targets: list[int], quote: bytes
              ) -> tuple[int | None, list[tuple[int, int]]]:
    """The head's end (after `head_lines` line ends) and the line starts at or after each target that
    are not inside a quoted cell, with their line numbers."""
    head_end: int | None = 0 if head_lines == 0 else None
    cuts: list[tuple[int, int]] = []
    quotes = 0  # quote characters before the block
    pending = list(targets)
    for offset, lines, block in _blocks(source):
        if head_end is None and lines + block.count(b"\n") >= head_lines:
            at = -1
            for _ in range(head_lines - lines):
                at = block.index(b"\n", at + 1)
            head_end = offset + at + 1
        while pending and head_end is not None and pending[0] < offset + len(block):
            at = max(pending[0], head_end) - offset
            found = None
            while (at := block.find(b"\n", max(at, 0))) >= 0:
                if (quotes + block.count(quote, 0, at)) % 2 == 0:
                    found = at + 1
                    break
                at += 1
            if found is None:  # the rest of the block is inside a quoted cell: look on in the next
                pending[0] = offset + len(block)
                break
            cuts.append((offset + found, lines + block.count(b"\n", 0, found) + 1))
            pending = [t for t in pending[1:] if t > offset + found]
        quotes += block.count(quote)
    return head_end, cuts


def _message_starts(source: base.Source, targets: list[int]) -> list[tuple[int, int]]:
    """The MT940 message starts at or after each target (the reader's own rule, `mt940._starts`), with
    their line numbers. Blocks are cut at line ends so a `:20:` line is seen whole."""
    cuts: list[tuple[int, int]] = []
    pending = list(targets)
    carry = b""
    for offset, lines, block in _blocks(source):
        data = carry + block
        base_offset = offset - len(carry)
        base_lines = lines - carry.count(b"\n")
        cut = data.rfind(b"\n") + 1
        whole_lines, carry = (data[:cut], data[cut:]) if cut else (b"", data)
        for at in mt940._starts(whole_lines):
            if not pending:
                break
            if at and base_offset + at >= pending[0]:
                cuts.append((base_offset + at, base_lines + whole_lines.count(b"\n", 0, at) + 1))
                pending = [t for t in pending if t > base_offset + at]
    return cuts


def _camt_plan(source: base.Source, size: int, targets: list[int]) -> RangePlan:
    """Cuts before `<Stmt>` elements; the head is everything before the first, the tail after the last."""
    opens: list[tuple[int, int]] = []
    last_close: int | None = None
    seen = -1
    tail = b""
    for offset, lines, block in _blocks(source):
        data = tail + block
        start = offset - len(tail)
        start_lines = lines - tail.count(b"\n")
        for m in _STMT_OPEN.finditer(data):
            at = start + m.start()
            if at > seen:
                seen = at
                opens.append((at, start_lines + data.count(b"\n", 0, m.start()) + 1))
        for m in _STMT_CLOSE.finditer(data):
            last_close = max(last_close or 0, start + m.end())
        tail = data[-_OVERLAP:]
    if len(opens) < 2 or last_close is None or last_close < opens[-1][0]:
        return whole(size)
    head_end, head_line = opens[0]
    cuts: list[tuple[int, int]] = []
    for target in targets:
        found = next((o for o in opens if o[0] >= target and (not cuts or o[0] > cuts[-1][0])), None)
        if found is not None:
            cuts.append(found)
    return _assemble(size, cuts, head_end=head_end, tail_start=last_close, head_lines=head_line - 1)


class _Concat(io.RawIOBase):
    """The head, a byte range of the file and the tail, read as one stream."""

    def __init__(self, parts: list[tuple[IO[bytes], int]]) -> None:
        self._parts = parts  # (stream, bytes left to read from it)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._parts:
            stream, left = self._parts[0]
            if left <= 0:
                stream.close()
                self._parts.pop(0)
                continue
            data = stream.read(min(len(buffer), left))
            if not data:
                left = 0
                continue
            self._parts[0] = (stream, left - len(data))
            buffer[: len(data)] = data
            return len(data)
        return 0

    def close(self) -> None:
        for stream, _ in self._parts:
            stream.close()
        self._parts = []
        super().close()


def _open_at(source: base.Source, start: int) -> IO[bytes]:
    """`source` opened at byte `start` (a stored file's ranged read; else seeking where the stream can,
    else reading past)."""
    open_at = getattr(source, "open_at", None)
    if start and open_at is not None:
        opened: IO[bytes] = open_at(start)
        return opened
    raw = source.open()
    if start:
        if raw.seekable():
            raw.seek(start)
        else:
            left = start
            while left > 0:
                skipped = raw.read(min(left, _BLOCK))
                if not skipped:
                    break
                left -= len(skipped)
    return raw


@dataclass(slots=True)
class RangeSource:
    """Range `index` of `plan` over `source`, as a source of its own (the head, the range, the tail)."""

    source: base.Source
    plan: RangePlan
    index: int

    @property
    def size(self) -> int:
        part = self.plan.ranges[self.index]
        tail = self.plan.size - self.plan.tail_start if self.plan.tail_start is not None else 0
        return self.plan.head_end + (part.end - part.start) + tail

    def open(self) -> IO[bytes]:
        part = self.plan.ranges[self.index]
        parts: list[tuple[IO[bytes], int]] = []
        if self.plan.head_end and part.start > 0:
            parts.append((_open_at(self.source, 0), self.plan.head_end))
        parts.append((_open_at(self.source, part.start), part.end - part.start))
        if self.plan.tail_start is not None and part.end < self.plan.size:
            parts.append((_open_at(self.source, self.plan.tail_start), self.plan.size - self.plan.tail_start))
        return io.BufferedReader(_Concat(parts), buffer_size=1 << 20)


def read_range(fmt: base.FileFormat, source: base.Source, options: base.ParseOptions, plan: RangePlan,
               index: int) -> Iterator[base.ParseEvent]:
    """The events of range `index`: exactly the whole file's events of that part."""
    if len(plan.ranges) == 1:
        return fmt.parser(source, options)
    return plan.shift(fmt.parser(RangeSource(source, plan, index), plan.options(options, index)), index)
