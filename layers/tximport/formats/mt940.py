"""SWIFT MT940 statements and MT942 interim reports: format `MT940#v1` (multi-account).

The file is read in blocks and cut into messages at each `:20:` line (the transaction reference that
opens every statement); each message is parsed on its own, so memory holds one statement at a time.
The reader is our own (the `mt-940` library, which it replaced for speed, stays as the test oracle:
the differential tests check that both read every sample and generated statement the same way). It
reads what the library reads, with every opt-in fix of the library's `Options.all()`: the February-30
date fix-up, the German structured `:86:` sub-fields (`?00` posting text, `?20`-`?29` purpose, `?31`
IBAN, `?32`/`?33` name, the `SVWZ+`/`EREF+`/`KREF+` keywords), comma decimals and the reversal marks
(`RC` is money out, `RD` money in).

Mapping of a `:61:` line and its `:86:` details to a `ParsedLine`:

* entry (booking) date -> `date_posted`, value date -> `value_date` (the value date stands in when
  the line carries no entry date),
* the signed amount and the statement currency,
* description: the structured purpose (`?20`-`?29` / `SVWZ+`), else the posting text, else the
  `:86:` text itself (a SWIFT `/REMI/` field when the bank uses those codes), with wrapped lines
  joined,
* `bank_transaction_id`: the bank reference after `//` on the `:61:` line (NONREF counts as none),
* `reference`: the end-to-end reference (`EREF+`), else the customer reference,
* counterparty: `?32`/`?33` name and `?31` IBAN, or the `/NAME/` field.

`:25:` (IBAN or legacy `bank code/account`) yields one `StatementAccount` per message. A message
that cannot be read as a whole (a tag that does not match its SWIFT pattern, an impossible date or
amount) is read again transaction by transaction, so one broken `:61:` becomes a `LineError`
(lineNumber of its `:61:` line) and the rest of the statement still imports. A file with no MT940
tag at all raises `FileError(InvalidSourceData)`; a line longer than 1 MiB `FileError(LineTooLong)`
and a statement larger than 32 MiB `FileError(ElementTooLarge)`. A file that ends inside a statement (see
`_FileEnd`) gets a warning `FileNote(FileTruncated)` naming its last line, so the import stops for review.
A balance tag that does not read (`balances.mt940_unread_balance`) is left out of the statement checks with a
warning `FileNote(BalanceUnreadable)` at its line, and rejects no `:61:` (a `:61:` read on its own is read without
the balance tags after it); one whose date does not exist (`:62F:C131308...`) keeps its amount, without a day, with
a warning `FileNote(StatementDateUnreadable)` at its line; a statement that states its opening but no closing
balance, or its closing but no opening, gets a warning `FileNote(BalanceMissing)`
at its `:20:` line (`_missing_balance`).
Every step is linear in the size of its input: strings that a statement repeats (`:86:` after `:86:`) are
collected and joined once.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import date
from itertools import accumulate, repeat
from operator import add, methodcaller
from typing import IO, Any

from tximport.formats.balances import mt940_statement_balances, mt940_unbalanced
from tximport.formats.base import (
    BALANCE_MISSING,
    DATE_CORRECTED,
    ELEMENT_TOO_LARGE,
    FILE_TRUNCATED,
    INTERIM_REPORT,
    INVALID_AMOUNT,
    INVALID_LINE,
    INVALID_SOURCE_DATA,
    LINE_TOO_LONG,
    RANGE_FOLLOWED,
    FileError,
    FileNote,
    LineError,
    ParsedLine,
    ParseEvent,
    ParseOptions,
    Source,
    StatementAccount,
)
from tximport.formats.encoding import SAMPLE_SIZE, detect_encoding, fallback_code_page, read_sample, text_stream
from tximport.formats.mt940_message import (
    JOINED,
    Entry,
    Message,
    Unreadable,
    UnreadableAmount,
    iter_entries,
    value_of,
)

# --- cutting the file into messages --------------------------------------------------------------

_BLOCK = 1 << 20
MAX_LINE = 1 << 20
MAX_MESSAGE = 32 << 20
#: a line that opens a message: `:20:`, also inside a SWIFT envelope (`{4::20:`); found by the
#: literal `:20:` (fast to search) and what stands before it on its line
#: (and a DOS end-of-file mark, 0x1A: DOS-era exports, Rabobank's 940A among them, leave one between the downloads
#: they were concatenated from, right before the next message's `:20:`; it is no character of SWIFT's and is dropped)
_COLON_20 = re.compile(rb":20:")
_START_HEAD = re.compile(rb"[ \t\r\f\v\x1a]*(?:\{4:)?")
_ANY_TAG = re.compile(rb"^[ \t\r\f\v\x1a]*(?:\{4:)?:\d\d[A-Z]?:", re.MULTILINE)
_DOS_EOF = b"\x1a"


def _decode(data: bytes, code_page: str) -> str:
    """A message as text: UTF-8, else in the file's code page (`encoding.fallback_code_page`: cp1252, or the DOS
    code page of the file's first 64 kB)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode(code_page, errors="replace")


class _Splitter:
    """Collects the lines of one message at a time from blocks of complete lines."""

    def __init__(self, code_page: str = "cp1252") -> None:
        self.code_page = code_page  # what a message that is not UTF-8 is read in
        self.parts: list[bytes] = []
        self.size = 0
        self.start = 1  # line number of the message's first line
        self.line = 1  # line number of the next line fed
        self.found = False

    def feed(self, block: bytes) -> Iterator[tuple[int, str]]:
        """Messages completed by `block` (complete lines; the last one may lack its newline at EOF)."""
        pos = 0
        for at in _starts(block):
            if at == 0 and not self.parts:
                continue  # the block opens the message that is already (empty and) under way
            self._add(block, pos, at)
            yield from self.flush()
            self.start = self.line
            pos = at
        self._add(block, pos, len(block))

    def _add(self, block: bytes, pos: int, end: int) -> None:
        if end <= pos:
            return
        self.parts.append(block[pos:end])
        self.size += end - pos
        self.line += block.count(b"\n", pos, end)
        if self.size > MAX_MESSAGE:
            raise FileError(ELEMENT_TOO_LARGE, f"The statement starting at line {self.start} is larger than "
                            f"{MAX_MESSAGE >> 20} MB.", target="File", details={"line": self.start})

    def flush(self) -> Iterator[tuple[int, str]]:
        """The message collected so far, if it holds a tag (lines before the first tag are dropped)."""
        if self.parts:
            data = b"".join(self.parts)
            self.parts, self.size = [], 0
            if _DOS_EOF in data:
                data = data.replace(_DOS_EOF, b"")
            if _ANY_TAG.search(data):
                self.found = True
                yield self.start, _decode(data, self.code_page)


def _starts(block: bytes) -> Iterator[int]:
    """Where the lines that open a message start."""
    for m in _COLON_20.finditer(block):
        line = block.rfind(b"\n", 0, m.start()) + 1
        if _START_HEAD.fullmatch(block, line, m.start()):
            yield line


def _messages(raw: IO[bytes] | _Recoded, code_page: str = "cp1252") -> Iterator[tuple[int, str]]:
    """(line number of the first line, text) for each message, read in blocks of whole lines (a message that is not
    UTF-8 in `code_page`)."""
    splitter = _Splitter(code_page)
    carry: list[bytes] = []  # the line under way (a chunk holds less than a line's limit)
    carried = 0
    while True:
        chunk = raw.read(_BLOCK)
        if not chunk:
            break
        first = chunk.find(b"\n")
        if carried + (first if first >= 0 else len(chunk)) > MAX_LINE:
            raise FileError(LINE_TOO_LONG, f"Line {splitter.line} is longer than {MAX_LINE >> 20} MB.",
                            target="File", details={"line": splitter.line})
        if first < 0:
            carry.append(chunk)
            carried += len(chunk)
            continue
        cut = chunk.rfind(b"\n") + 1
        carry.append(chunk[:cut])
        yield from splitter.feed(b"".join(carry))
        carry, carried = [chunk[cut:]], len(chunk) - cut
    if carried:
        yield from splitter.feed(b"".join(carry))
    yield from splitter.flush()
    if not splitter.found:
        raise FileError(INVALID_SOURCE_DATA, "the file holds no MT940/MT942 tag (such as :20: or :61:)",
                        target="File")


# --- from what the library reads to our lines ------------------------------------------------------

_TAG_61 = re.compile(r"^:61:", re.MULTILINE)
#: the same, on a text given a leading newline (a literal prefix the pattern engine searches fast)
_NL_TAG_61 = re.compile(r"\n:61:")
_ACCOUNT = re.compile(r"^:25:[ \t]*", re.MULTILINE)
_CURRENCY = re.compile(r"^:6[02][FM]:[CD]\d{6}([A-Z]{3})", re.MULTILINE)
#: a `:61:` whose amount went to the next line (seen in Sparkasse exports): joined back where a line
#: is reported (the library reads the amount on the next line alike)
_SPLIT_61 = re.compile(r"(\n:61:\d{6}(?:\d{4})?R?[CD][A-Z]?)[ \t]*\r?\n(?=\d)")
_SWIFT_FIELD = re.compile(r"/(EREF|BENM|ORDP|NAME|REMI|ISDT|IBAN|BIC|CSID|MARF|RTRN|ADDR|PREF|PURP|"
                          r"ULTC|ULTD|TRCD|BUSP|CDTRREF|CDTRREFTP|CD|SVCL|RTYP|CNTP)/")
#: the kind of remittance text before it in `/REMI/` (ING's `USTD//text`, `STRD/CUR/reference`)
_REMI_KIND = re.compile(r"^(?:USTD|STRD(?:/[A-Z]{2,4})?)/+")
_IBAN_LIKE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{8,30}$")
_NO_REF = frozenset({"", "NONREF", "NOTPROVIDED"})
#: a `:86:` line is at most 65 characters; banks wrap at 64 or 65, mid-word, so a line that long
#: continues on the next one without a space
_WRAP = 64


def _join_details(text: str) -> str:
    """`:86:` lines as one text: a full-width line continues the word on the next line (the first line's width
    counts its `:86:` tag)."""
    lines = text.split("\n")
    out = [lines[0]]
    for n, (previous, line) in enumerate(zip(lines, lines[1:], strict=False)):
        if len(previous) + (4 if n == 0 else 0) < _WRAP:
            out.append(" ")
        out.append(line)
    return " ".join("".join(out).split())


def _swift_fields(text: str) -> dict[str, str]:
    """`/CODE/value/CODE/value` details (Rabobank, ING SEPA ...) as a dict."""
    parts = _SWIFT_FIELD.split(text)
    fields: dict[str, str] = {}
    for index in range(1, len(parts) - 1, 2):
        value = parts[index + 1].strip("/ ").strip()
        if value and parts[index] not in fields:
            fields[parts[index]] = value
    return fields


def _counterparty(fields: dict[str, str]) -> tuple[str | None, str | None]:
    """The counterparty's account and name: `/IBAN/` and `/NAME/` (Rabobank), or ING's `/CNTP/account/BIC/name/city`."""
    account, name = fields.get("IBAN"), fields.get("NAME")
    parts = fields.get("CNTP", "").split("/")
    if len(parts) > 2:
        account, name = account or parts[0].strip() or None, name or parts[2].strip() or None
    return account, name


def _clean_ref(value: Any) -> str | None:
    if not value or value in _NO_REF or not isinstance(value, str):
        return None
    if not value.isalnum():
        value = " ".join(value.split())
    return None if value.upper() in _NO_REF else value


def _to_line(entry: Entry, line: int, account_ref: str | None, currency: str | None) -> ParsedLine:
    if JOINED in entry:
        entry = {key: value_of(entry, key) for key in entry}
    get = entry.get
    when: date = entry["date"]
    structured = get("purpose") or get("posting_text")
    name = get("applicant_name")
    counterparty_account = get("applicant_iban")
    reference = get("end_to_end_reference")
    if reference is not None:
        reference = _clean_ref(reference)
    description = " ".join(structured.split()) if isinstance(structured, str) else ""
    if not description:
        details = get("transaction_details")
        if isinstance(details, str):
            description = _join_details(details)
            if description.startswith("/"):
                fields = _swift_fields(description)
                if fields:
                    party = _counterparty(fields)
                    remittance = _REMI_KIND.sub("", fields.get("REMI", "")).strip("/ ") or None
                    description = remittance or party[1] or description
                    name = name or party[1]
                    counterparty_account = counterparty_account or party[0]
                    reference = reference or _clean_ref(fields.get("EREF"))
    if name is not None and isinstance(name, str):
        name = " ".join(name.split()) or None
    extra = entry["extra_details"]
    if extra and not counterparty_account and isinstance(extra, str) and _IBAN_LIKE.match(extra.strip()):
        counterparty_account = extra.strip()  # Rabobank puts the counterparty IBAN after the :61: line
    bank = entry["bank_reference"]
    bank = _clean_ref(bank) if bank else None
    if not reference:
        reference = _clean_ref(entry["customer_reference"])
    return ParsedLine(line, get("entry_date") or when, entry["amount"], description, account_ref,
                      entry["currency"] or currency, when, bank, reference, name, counterparty_account or None,
                      reversal=bool(get("reversal")))  # RC / RD: the reversal of a booking


def _join_split_amounts(text: str) -> str:
    """The message with each `:61:` amount that went to the next line joined back."""
    return _SPLIT_61.sub(r"\1", "\n" + text)[1:]


def _line_numbers(text: str, first_line: int) -> list[int]:
    """The file line numbers of the `:61:` lines of a message, in order: each is the one before plus
    the newlines between them (counted per piece between `:61:` tags, without a loop per line)."""
    pieces = ("\n" + text).split("\n:61:")
    if len(pieces) == 1:
        return []
    steps = map(add, map(methodcaller("count", "\n"), pieces[:-1]), repeat(1))
    numbers = list(accumulate(steps, initial=first_line - 1))
    del numbers[0]
    return numbers


def _iter_line_numbers(text: str, first_line: int) -> Iterator[int]:
    """The same, one at a time (for long messages)."""
    text = "\n" + text
    line, pos = first_line - 1, 0
    for m in _NL_TAG_61.finditer(text):
        line += text.count("\n", pos, m.end())
        pos = m.end()
        yield line


def _account(text: str) -> str | None:
    """The first `:25:` value, trimmed."""
    m = _ACCOUNT.search(text)
    if m is None:
        return None
    end = text.find("\n", m.end())
    return text[m.end(): end if end >= 0 else len(text)].rstrip() or None


#: a message up to this size is read once, holding its entries; a longer one is read twice (checked,
#: then streamed), so that memory stays flat
_SMALL = 1 << 20


#: what only an MT942 interim report carries: its floor limit (:34F:) and date/time indication (:13D:)
_INTERIM = re.compile(r"(?m)^:(?:13D|34F):")


#: a `:61:` whose value date is February 29, 30 or 31, and its entry date (MMDD) when it has one
_FEBRUARY_61 = re.compile(r"\n:61:(\d{2})02(29|3[01])(\d{4})?")  # (a literal head: searched fast)


def _corrected_date(text: str, first_line: int) -> FileNote | None:
    """A note for the first `:61:` of the message whose value date does not exist (February 30): the
    reader keeps its line on the month's last day, as the mt-940 library does, and says so. The booking
    day is the entry date where the line states one (info), else that corrected day too (warning)."""
    for m in _FEBRUARY_61.finditer(text):
        year, day = int(m.group(1)), int(m.group(2))
        last = calendar.monthrange(2000 + year, 2)[1]
        if day <= last:
            continue
        line = first_line + text.count("\n", 0, m.start() + 1)
        written = m.group()[5:11]
        kept = f"20{m.group(1)}-02-{last}"
        booked = (f"its booking day is its entry date ({m.group(3)})" if m.group(3)
                  else "it states no entry date, so it is booked on that day")
        return FileNote(DATE_CORRECTED, f"the :61: states the value date {written}, which does not "
                        f"exist: its value date is taken as {kept} (the month's last day) and {booked}",
                        "info" if m.group(3) else "warning", line, written)
    return None


#: a closing balance tag, whether it reads or not (`_OPENING`, below, finds an opening one)
_CLOSING_TAG = re.compile(r"^:62[FM]:", re.MULTILINE)


def _missing_balance(first_line: int, text: str) -> tuple[FileNote, bool] | None:
    """A warning for a statement (a message opened by its `:20:`) that writes its closing balance tag but no
    opening (`:60F:`/`:60M:`), or its opening but no closing (`:62F:`/`:62M:`), both mandatory in an MT940
    statement: its checks run without it; with whether it is the closing that is missing. None for a statement
    with both or neither (a file of lines only), and for an MT942 interim report, which states neither."""
    if _FIRST_20.match(text) is None or _INTERIM.search(text):
        return None
    opening, closing = _OPENING.search(text) is not None, _CLOSING_TAG.search(text) is not None
    if opening == closing:
        return None
    which, tags = ("closing", ":62F:/:62M:") if opening else ("opening", ":60F:/:60M:")
    first = text.split("\n", 1)[0].strip()  # (its line is the note's lineNumber alone: a range renumbers that)
    return FileNote(BALANCE_MISSING, f"the statement {first[:60]!r} states no {which} balance ({tags}, mandatory in "
                    "an MT940 statement): its statement checks run without it", "warning", first_line,
                    first[:200]), opening


def _message_events(first_line: int, text: str) -> Iterator[ParseEvent]:
    account_ref = _account(text)
    m = _CURRENCY.search(text)
    currency = m.group(1) if m else None
    if account_ref:
        yield StatementAccount(account_ref=account_ref, currency=currency, line_number=first_line)
    if _INTERIM.search(text):
        yield FileNote(INTERIM_REPORT, "the file is an MT942 interim report: its lines are not final and may "
                       "still change or be reversed on the closing MT940 statement")
    message = Message()
    if len(text) <= _SMALL:
        numbers = _line_numbers(text, first_line)
        try:
            entries = list(iter_entries(text, message))
        except Unreadable:
            entries = None
        if entries is not None and len(entries) == len(numbers):
            currency = currency or message.currency
            yield from [_to_line(entry, line, account_ref, currency)
                        for entry, line in zip(entries, numbers, strict=True)]
            return
    else:
        try:
            count = sum(1 for _ in iter_entries(text, message))
        except Unreadable:
            count = -1
        if count == text.startswith(":61:") + text.count("\n:61:"):
            currency = currency or message.currency
            for entry, line in zip(iter_entries(text, Message()), _iter_line_numbers(text, first_line), strict=True):
                yield _to_line(entry, line, account_ref, currency)
            return
    yield from _one_by_one(text, first_line, account_ref, currency)


def _one_by_one(text: str, first_line: int, account_ref: str | None, currency: str | None
                ) -> Iterator[ParseEvent]:
    """A message that does not read as a whole, one transaction at a time: only the broken ones are
    rejected (each chunk runs from its `:61:` to the next)."""
    numbers = _iter_line_numbers(text, first_line)
    text = _join_split_amounts(text)
    starts = [m.start() for m in _TAG_61.finditer(text)]
    for index, (pos, line) in enumerate(zip(starts, numbers, strict=True)):
        chunk = text[pos:starts[index + 1]] if index + 1 < len(starts) else text[pos:]
        first = chunk.split("\n", 1)[0].strip()
        try:  # (a balance tag after the line is the statement's: left out, so one that does not read rejects no line)
            one = list(iter_entries(chunk, Message(), balances=False))
        except UnreadableAmount as exc:
            yield LineError(line, INVALID_AMOUNT, f"the :61: amount cannot be read: {str(exc)[:200]}",
                            actual_value=first[:200], target=":61:")
            continue
        except Unreadable as exc:
            yield LineError(line, INVALID_LINE, f"the :61: line cannot be read: {str(exc)[:200]}",
                            actual_value=first[:200], target=":61:")
            continue
        if len(one) != 1:
            yield LineError(line, INVALID_LINE, "the :61: line cannot be read", actual_value=first[:200],
                            target=":61:")
            continue
        yield _to_line(one[0], line, account_ref, currency)


class _Recoded:
    """A file in UTF-16, or with lines ended by CR alone, read as the UTF-8 bytes with LF line ends the reader
    splits (the text decoded once, in blocks)."""

    def __init__(self, text: IO[str]) -> None:
        self.text = text

    def read(self, size: int = -1) -> bytes:
        return self.text.read(size).encode("utf-8")


def _byte_stream(raw: IO[bytes], sample: bytes) -> IO[bytes] | _Recoded:
    """The file as the reader takes it: its own bytes (UTF-8 or a single-byte code page, LF or CRLF), else
    recoded (`_Recoded`); an encoding nothing reads is a FileError UnsupportedEncoding, as in the other formats."""
    utf16 = sample.startswith((b"\xff\xfe", b"\xfe\xff")) or sample[:200].count(0) > len(sample[:200]) // 4
    if not utf16 and (b"\n" in sample or b"\r" not in sample):
        return raw
    encoding = detect_encoding(sample, complete=len(sample) < SAMPLE_SIZE)
    return _Recoded(text_stream(raw, encoding, newline=None))


def parse_mt940(source: Source, options: ParseOptions) -> Iterator[ParseEvent]:
    """Parse an MT940/MT942 file, one statement at a time (a UTF-16 file, or one whose lines end in CR alone,
    recoded as it is read).

    A statement without its closing balance (`_missing_balance`) is warned about once the next one begins: the
    file's last is, if the file is no cut one, which FileTruncated says (a range of a split file that more of the
    file follows, `RANGE_FOLLOWED`, ends with no last statement)."""
    end = _FileEnd()
    sample = read_sample(source)
    unclosed: FileNote | None = None
    with source.open() as opened:
        raw = _byte_stream(opened, sample)
        for first_line, text in _messages(raw, fallback_code_page(sample)):
            if unclosed is not None:
                yield unclosed
                unclosed = None
            yield from _message_events(first_line, text)
            if ":61:" in text:
                note = _corrected_date("\n" + text, first_line - 1)
                if note is not None:
                    yield note
            stated, notes = mt940_statement_balances(text, first_line)
            if stated is None and ":61:" in text and _FIRST_20.match(text) and not _INTERIM.search(text):
                stated = mt940_unbalanced(text, first_line)  # (its lines are not the next statement's)
            if stated is not None:  # after the lines: it closes the statement
                yield stated
            yield from notes
            if notes or (stated is not None and (stated.opening is None or stated.closing is None)):
                missing = _missing_balance(first_line, text)  # (one with both balances, or no balance tag, has none)
                if missing is not None and missing[1]:
                    unclosed = missing[0]
                elif missing is not None:
                    yield missing[0]
            end.see(first_line, text)
    cut = end.cut()
    if unclosed is not None and (cut is None or options.extra.get(RANGE_FOLLOWED)):
        yield unclosed
    if cut is not None:
        yield cut


# --- whether the file is whole -----------------------------------------------------------------------

_FIRST_20 = re.compile(r"[ \t\r\f\v]*(?:\{4:)?:20:")
_OPENING = re.compile(r"^:60[FM]:", re.MULTILINE)
#: a closing balance whole up to its amount's first digit, or written on to its decimal comma (one that does not read,
#: its currency left out, is `BalanceUnreadable`'s, not a cut)
_CLOSING = re.compile(r"^:62[FM]:(?:[ \t]*[CD]\d{6}[A-Z]{3}\d|[^\n]*,)", re.MULTILINE)
#: the line that ends a message: `-` alone, or `-}` (the end of the SWIFT text block)
_ENDED = re.compile(r"^-(?:\}|[ \t\r]*$)", re.MULTILINE)


class _FileEnd:
    """Whether the file ends inside a statement (FileTruncated), from each message's marks. A statement
    need not state its closing balance for the file to be whole (real files end without one, or hold
    balances only); the file is cut where its end breaks a frame it opened: a SWIFT text block (`{4:`)
    never closed (`-}`), or a last statement (opened by its `:20:`) with neither its closing balance
    (`:62F:`/`:62M:`) nor its end line (`-`) although it has its opening balance or the statements
    before it were closed or ended."""

    def __init__(self) -> None:
        self.framed = False  # a SWIFT text block is open
        self.closed_before = self.ended_before = False
        #: the last message's first and last line, and whether it has its `:20:`, opening and closing balance, end
        self.last: tuple[int, int, bool, bool, bool, bool] | None = None

    def see(self, first_line: int, text: str) -> None:
        """The next message, at `first_line` (messages hold the envelope lines before the next `:20:`)."""
        if self.last is not None:
            self.closed_before |= self.last[4]
            self.ended_before |= self.last[5]
        opened, closed = text.rfind("{4:"), text.rfind("-}")
        if opened != closed:
            self.framed = opened > closed
        self.last = (first_line, first_line + text.rstrip().count("\n"), _FIRST_20.match(text) is not None,
                     _OPENING.search(text) is not None, _CLOSING.search(text) is not None,
                     _ENDED.search(text) is not None)

    def cut(self) -> FileNote | None:
        """The warning for a file that looks cut short (lineNumber: its last line); None for a whole one."""
        if self.last is None:
            return None
        _first, last_line, reference, opening, closing, ended = self.last
        if self.framed:
            why = "its last SWIFT text block ({4:) is never closed (-})"
        elif reference and not closing and not ended and (opening or self.closed_before or self.ended_before):
            why = "its last statement has neither its closing balance (:62F:) nor its end line (-)"
        else:
            return None
        # (no line number in the message: a range of a split file is renumbered by the note's lineNumber alone)
        return FileNote(FILE_TRUNCATED, f"the file ends inside a statement: {why}. It looks cut short: transactions "
                        "after the cut are missing; check the file before confirming", severity="warning",
                        line_number=last_line)
