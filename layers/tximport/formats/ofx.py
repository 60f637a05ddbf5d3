"""OFX 1.x (SGML), OFX 2.x (XML) and QFX statements: format `XML#OFX#v1`.

The reader streams: it decodes the byte stream incrementally and scans it for the few aggregates
that matter (statements, their account and currency, and each `<STMTTRN>`), so memory stays flat
and a 250 MB file parses in seconds. General OFX libraries build the whole document tree first
(ofxtools needs about 640 MB for 100k transactions); ofxtools stays in the tests as the oracle.

One scanner reads both dialects: SGML leaves without end tags (`<TRNAMT>-5.50`) and XML leaves
with them (`<TRNAMT>-5.50</TRNAMT>`), comments, CDATA sections and the character references of XML.

Mapping of a `<STMTTRN>` to a `ParsedLine`:

* `DTPOSTED` -> `date_posted` (the date as written, in the bank's own time zone: the first eight
  digits; converting to UTC would move late-evening bookings to the next day),
* `DTUSER` -> `value_date` (the date the user initiated the transaction, when the bank gives it),
* `TRNAMT` -> `amount` (signed; comma decimals found in the wild are accepted, an exponent such as `1e3` is
  not: OFX amounts are plain decimals),
* `FITID` -> `bank_transaction_id` (optional here: a few banks leave it empty),
* `NAME` (or `PAYEE/NAME`) and `MEMO` -> `description`: the name, then the memo when it says more
  (a memo that merely repeats or extends the name replaces it),
* `CHECKNUM`, else `REFNUM` -> `reference`; `BANKACCTTO/ACCTID` -> `counterparty_account`,
* `CURRENCY/CURSYM` -> `currency` (else the statement's `CURDEF`); `ORIGCURRENCY/CURSYM` ->
  `original_currency`.

Pending transactions (yielded with `pending=True`; the import skips and counts them unless
`includePending`): newer OFX 2 versions carry them in a statement's `<BANKTRANLISTP>` (after the
`<BANKTRANLIST>`), one `<STMTTRNP>` each, read like a `<STMTTRN>` with `DTTRAN` (the day the card
was used) as its date (`DTEXPIRE`, the day the hold lapses, is not kept); the specification gives a
`<STMTTRNP>` no FITID, so it has a bank id only where the bank writes one anyway. A `<STMTTRN>` of
`TRNTYPE` `HOLD` (the specification allows it only in `<STMTTRNP>`, aggregators write it in the
booked list) is pending too.

Each statement (`STMTRS`, `CCSTMTRS`, `INVSTMTRS`) yields a `StatementAccount` (ACCTID, CURDEF,
BANKID or BROKERID) before its lines. A statement whose account aggregate is missing yields its
lines with `account_ref=None` when it is the file's only statement (the import's account takes them); in a
file of several statements its lines are rejected `RequiredValueMissing` (target `STMTRS/BANKACCTFROM`,
`CCSTMTRS/CCACCTFROM`), never given another statement's account, and its balances are left out (the file
is counted once more, only for such a statement). A `<STMTTRN>` without a usable `DTPOSTED` or `TRNAMT` is reported
as a `LineError` (target `STMTTRN/DTPOSTED` or `STMTTRN/TRNAMT`, lineNumber of the `<STMTTRN>` tag);
a file without an `<OFX>` element raises `FileError(InvalidSourceData)`. A `<STATUS>` (sign-on or
statement) of severity ERROR raises `FileError(BankReportedError)` with the bank's code and message;
investment statements are counted in a `FileNote(UnimportedSections)` (their bank lines are imported).
A file that ends before its `</OFX>` (cut short, say mid-transaction) gets a warning `FileNote(FileTruncated)`
naming its last line, so the import stops for review.

Encodings: the OFX 1 header (`ENCODING:USASCII` + `CHARSET:1252`, `ENCODING:UTF-8`, ...) or the
OFX 2 XML declaration (`<?xml ... encoding="..."?>`) decides; a byte-order mark wins over both.
"""

from __future__ import annotations

import codecs
import operator
import re
from collections.abc import Callable, Generator, Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from html import unescape
from itertools import repeat
from typing import IO

from tximport.formats.balances import ofx_balances
from tximport.formats.base import (
    BANK_REPORTED_ERROR,
    ELEMENT_TOO_LARGE,
    FILE_TRUNCATED,
    INVALID_AMOUNT,
    INVALID_DATE,
    INVALID_SOURCE_DATA,
    REQUIRED_VALUE_MISSING,
    UNIMPORTED_SECTIONS,
    UNSUPPORTED_ENCODING,
    AccountNames,
    FileError,
    FileNote,
    LineError,
    ParsedLine,
    ParseEvent,
    ParseOptions,
    Source,
    StatementAccount,
)
from tximport.formats.values import MAX_SIGNIFICANT_DIGITS, check_storable, plain_decimal

FORMAT_ID = "XML#OFX#v1"

_CHUNK = 1 << 20
#: amounts of a quadrillion or more are not money but damage (`1E999999`)
_MAX_DIGITS = 14
#: how far into the file the `<OFX>` root must start (headers and blank lines before it)
_HEADER_LIMIT = 64 * 1024
#: a single `<STMTTRN>` longer than this is not a transaction but a broken file
_MAX_BLOCK = 4 << 20
#: a tag's text longer than this says nothing the reader keeps: it is skipped, not read on
_MAX_TEXT = 256 << 10

_OFX_ROOT = re.compile(rb"<\s*OFX\s*>", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""", re.IGNORECASE)
_SGML_ENCODING = re.compile(rb"^\s*ENCODING\s*:\s*([A-Za-z0-9_-]+)", re.IGNORECASE | re.MULTILINE)
_SGML_CHARSET = re.compile(rb"^\s*CHARSET\s*:\s*([A-Za-z0-9_-]+)", re.IGNORECASE | re.MULTILINE)

#: a start or end tag and the text that follows it, up to the next tag
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9_.]*)\s*>([^<]*)")
#: the leaves of one transaction: start tags and their text (end tags never match)
_LEAF = re.compile(r"<([^/<>!?]+)>([^<]*)")
_SPACE = re.compile(r"\s*")


_STATEMENTS = frozenset({"STMTRS", "CCSTMTRS", "INVSTMTRS"})
_ACCOUNTS = frozenset({"BANKACCTFROM", "CCACCTFROM", "INVACCTFROM"})
_BALANCES = frozenset({"LEDGERBAL", "AVAILBAL"})
#: what ends an open `<STMTTRNP>` besides its end tag: the next one, the end of its list or statement
_PENDING_ENDS = frozenset({"STMTTRNP", "BANKTRANLISTP", *_STATEMENTS})


def _codec_for(head: bytes) -> str:
    """The codec the header announces (a BOM wins). Raises FileError for unknown encodings."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    name: str | None = None
    m = _XML_ENCODING.search(head)
    if m:
        name = m.group(1).decode("ascii").lower()
        # Files that say ASCII carry cp1252 bytes more often than not; cp1252 is a superset.
        if name in {"ascii", "us-ascii", "usascii"}:
            name = "cp1252"
    else:
        enc = _SGML_ENCODING.search(head)
        charset = _SGML_CHARSET.search(head)
        enc_name = enc.group(1).decode("ascii").upper() if enc else "USASCII"
        cs = charset.group(1).decode("ascii").upper() if charset else "1252"
        if enc_name in {"UTF-8", "UTF8", "UNICODE"}:
            name = "utf-8"
        elif cs in {"NONE", "1252", "WINDOWS-1252"}:
            name = "cp1252"
        elif cs in {"ISO-8859-1", "8859-1", "LATIN1", "LATIN-1"}:
            name = "latin-1"
        elif cs.isdigit():
            name = f"cp{cs}"
        else:
            name = cs.lower()
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise FileError(UNSUPPORTED_ENCODING, f"the OFX file declares an unknown encoding {name!r}",
                        target="File") from None


def _sections(text: str, opener: str, closer: str, replace: Callable[[str], str]) -> str:
    """Each `opener ... closer` section (the first closer after its opener) replaced, left to right, in
    one pass: an opener without a closer ends the work (what `opener.*?closer` finds, without the
    rescan of the rest per unclosed opener that made a regular expression quadratic)."""
    parts: list[str] = []
    pos = 0
    while (start := text.find(opener, pos)) >= 0:
        end = text.find(closer, start + len(opener))
        if end < 0:
            break
        parts.append(text[pos:start])
        parts.append(replace(text[start + len(opener):end]))
        pos = end + len(closer)
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


def _blank_out(comment: str) -> str:
    """A comment becomes its newlines only, so line numbers stay true."""
    return "\n" * comment.count("\n")


def _escape_cdata(content: str) -> str:
    """A CDATA section becomes escaped text, so the scanner sees no `<` inside it."""
    return content.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clean(text: str) -> str:
    if "<!--" in text:
        text = _sections(text, "<!--", "-->", _blank_out)
    if "<![CDATA[" in text:
        text = _sections(text, "<![CDATA[", "]]>", _escape_cdata)
    return text


def _value(raw: str | None) -> str:
    if not raw:
        return ""
    value = raw.strip()
    if "&" in value:
        value = unescape(value)
    return value


def _ofx_date(text: str) -> date:
    """`YYYYMMDD[HHMMSS[.XXX]][[gmt offset[:tz name]]]`: the date part, as written."""
    if len(text) < 8 or not text[:8].isdigit():
        raise ValueError(f"not an OFX date: {text!r}")
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def _ofx_amount(text: str) -> Decimal:
    """A signed OFX amount. Comma decimals (`-12,50`) and a stray `+` are accepted; an exponent (`1e3`) is not:
    OFX amounts are plain decimals."""
    if not plain_decimal(text):
        raise ValueError(f"not an amount: {text!r}")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        value = text.replace(" ", "").replace("\u00a0", "").lstrip("+")
        if "," in value:
            if "." in value:
                # the separator that comes last is the decimal one
                if value.rfind(",") > value.rfind("."):
                    value = value.replace(".", "").replace(",", ".")
                else:
                    value = value.replace(",", "")
            else:
                value = value.replace(",", ".")
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not an amount: {text!r}") from None
    if not amount.is_finite() or amount.adjusted() > _MAX_DIGITS:
        raise ValueError(f"not an amount: {text!r}")
    return amount if len(text) <= MAX_SIGNIFICANT_DIGITS else check_storable(amount, text)


class _Reader:
    """Incremental text over the byte stream, with line numbers for buffer positions."""

    def __init__(self, raw: IO[bytes], codec: str, head: bytes) -> None:
        self.raw = raw
        self.decoder = codecs.getincrementaldecoder(codec)(errors="replace")
        self.eof = False
        self.buf = ""
        self.line_pos = 0  # a position in buf whose line number is known
        self.line_no = 1
        self._pending = head
        #: line breaks after the last text read (blank lines at the file's end)
        self.trailing_breaks = 0

    def line_of(self, pos: int) -> int:
        """The 1-based line number of buffer position `pos` (positions must not go backwards)."""
        self.line_no += self.buf.count("\n", self.line_pos, pos)
        self.line_pos = pos
        return self.line_no

    def refill(self, keep_from: int) -> int:
        """Drop the buffer before `keep_from`, append the next chunk; returns the new offset of it."""
        self.line_of(keep_from)
        tail = self.buf[keep_from:]
        self.line_pos = 0
        while True:
            if self._pending:
                data, self._pending = self._pending[:_CHUNK], self._pending[_CHUNK:]
            else:
                data = self.raw.read(_CHUNK)
            if not data:
                self.eof = True
                text = tail + self.decoder.decode(b"", final=True)
                break
            text = tail + self.decoder.decode(data)
            # a comment or CDATA section cut by the chunk boundary: read on before cleaning
            if (text.rfind("<!--") > text.rfind("-->") or text.rfind("<![CDATA[") > text.rfind("]]>")) \
                    and len(text) < _MAX_BLOCK:
                tail = text
                continue
            break
        self.buf = _clean(text)
        self._note_trailing(self.buf)
        return 0

    def _note_trailing(self, text: str) -> None:
        """Counts the line breaks after the last text (the kept tail is empty or starts with a `<`: a buffer of
        blanks only is new text, after the blanks counted before)."""
        end = len(text)
        while end and text[end - 1].isspace():
            end -= 1
        self.trailing_breaks = text.count("\n", end) + (self.trailing_breaks if not end else 0)

    def last_line(self) -> int:
        """At the end of the file: the number of its last line that holds more than blanks."""
        return self.line_of(len(self.buf)) - self.trailing_breaks


def parse_ofx(source: Source, options: ParseOptions) -> Iterator[ParseEvent]:
    """Parse an OFX/QFX file (SGML or XML) into accounts and lines, streaming."""
    with source.open() as raw:
        head = raw.read(_HEADER_LIMIT)
        codec = _codec_for(head)
        if codec.startswith("utf-16"):
            text_head = head.decode(codec, errors="replace").encode("utf-8", errors="replace")
            found = _OFX_ROOT.search(text_head)
        else:
            found = _OFX_ROOT.search(head)
        if not found:
            raise FileError(INVALID_SOURCE_DATA, "the file is not OFX: no <OFX> element near its start",
                            target="File")
        yield from _Scanner(_Reader(raw, codec, head), lambda: _statement_count(source, codec)).events()


#: a statement's start tag (what `_statement_count` counts)
_STATEMENT_OPEN = re.compile(r"<(?:STMTRS|CCSTMTRS|INVSTMTRS)\s*>")


def _statement_count(source: Source, codec: str, enough: int = 2) -> int:
    """How many statements the file holds, counting up to `enough` (a pass of its own over the file, read
    as the scanner reads it: comments blanked out)."""
    count = 0
    with source.open() as raw:
        reader = _Reader(raw, codec, b"")
        pos = reader.refill(0)
        while True:
            buf = reader.buf
            for m in _STATEMENT_OPEN.finditer(buf, pos):
                count, pos = count + 1, m.end()
                if count >= enough:
                    return count
            if reader.eof:
                return count
            cut = buf.rfind("<", pos)  # a tag the chunk's end may cut is read again with the next chunk
            pos = reader.refill(cut if cut >= 0 else len(buf))


class _Finder:
    """The next position of a fixed string in the scanner's buffer. Asked positions only grow while the
    buffer stays the same, so each stretch of it is searched once: a search per tag that went to the end
    of the buffer every time made a file of unclosed tags quadratic."""

    __slots__ = ("needle", "_buf", "_from", "_at")

    def __init__(self, needle: str) -> None:
        self.needle = needle
        self._buf: str | None = None
        self._from = 0
        self._at = -1

    def find(self, buf: str, pos: int, limit: int = -1) -> int:
        """`buf.find(needle, pos, limit)` (limit -1: the end)."""
        if buf is not self._buf or pos < self._from:
            self._buf, self._from, self._at = buf, pos, buf.find(self.needle, pos)
        elif 0 <= self._at < pos:
            self._from, self._at = pos, buf.find(self.needle, pos)
        found = self._at
        return -1 if found < 0 or 0 <= limit <= found else found


#: the window in which runs of transactions are looked for: it grows while runs are clean and
#: shrinks at a transaction without its end tag, so that no stretch of the file is counted twice
#: more than a bounded number of times
_RUN_WINDOW_MIN = 2 << 10
_RUN_WINDOW_MAX = 1 << 20


class _Scanner:
    """The statements and transactions of an OFX text, tag by tag, with runs of transactions read at
    once (`_run`)."""

    def __init__(self, reader: _Reader, count_statements: Callable[[], int] = lambda: 1) -> None:
        self.reader = reader
        #: how many statements the file holds (at least; asked only for a statement that names no account)
        self.count_statements = count_statements
        self.statements_seen = 0
        self.several: bool | None = None
        #: the open statement names no account while the file holds others: its lines are rejected
        self.orphan = False
        self.stmt: str | None = None  # the open statement aggregate
        self.in_account = False
        self.acct: dict[str, str] = {}
        self.curdef: str | None = None
        self.stmt_line: int | None = None
        self.announced = False
        self.account_ref: str | None = None
        #: the file's account references (one account number under two banks is two accounts)
        self.names = AccountNames()
        self.balance_of: str | None = None  # the open LEDGERBAL or AVAILBAL aggregate
        #: its leaves, and the list's DTSTART/DTEND, each with its line (formats/balances.py)
        self.balances: dict[str, tuple[str, int]] = {}
        self.end_tag, self.start_tag = _Finder("</STMTTRN>"), _Finder("<STMTTRN>")
        self.list_end = _Finder("</BANKTRANLIST>")
        self.window = _RUN_WINDOW_MIN
        self.status: dict[str, str] | None = None  # the open <STATUS> aggregate (sign-on or statement)
        self.investments = _Investments()
        self.held: list[str] | None = None  # the tags of the open <STMTTRNP> (a pending transaction)
        self.whole = False  # the document's end tag (</OFX>) was read
        self.held_line = 0
        self.held_size = 0

    def events(self) -> Iterator[ParseEvent]:
        """Every event of the file, in order."""
        reader = self.reader
        pos = reader.refill(0)
        while True:
            buf = reader.buf
            m = _TAG.search(buf, pos)
            if m is None or (m.end() == len(buf) and not reader.eof):
                if reader.eof:
                    note = self.investments.note()
                    if note is not None:
                        yield note
                    if not self.whole:
                        yield self.cut()
                    break
                keep = m.start() if m else buf.rfind("<", pos)
                if keep == -1 or len(buf) - keep > _MAX_TEXT:
                    keep = len(buf)  # nothing worth keeping: a stray `<` or an endless text
                pos = reader.refill(keep)
                continue
            closing, name = m.group(1), m.group(2)
            if not closing and name == "STMTTRN":
                found = self.transaction(m)
                if found is None:
                    pos = reader.refill(m.start())
                    continue
                event, pos, closed = found
                if self.stmt is not None and not self.announced:
                    yield from self.announce()
                yield self.unowned(event) if self.orphan else event
                if closed:
                    pos = yield from self.runs(pos)
                continue
            pos = m.end()
            yield from self.tag(closing, name, m.group(3), m.start())

    def cut(self) -> FileNote:
        """The warning for a file that ends before its `</OFX>` (cut short: what came after the cut is missing);
        lineNumber: its last line."""
        line = self.reader.last_line()
        inside = (f" inside the statement at line {self.stmt_line} (<{self.stmt}> is never closed)"
                  if self.stmt is not None else "")
        return FileNote(FILE_TRUNCATED, f"the file ends at line {line}{inside} without closing its OFX document "
                        "(</OFX>). It looks cut short: transactions after the cut are missing; check the file before "
                        "confirming", severity="warning", line_number=line)

    def announce(self) -> Iterator[ParseEvent]:
        self.announced = True
        acct = self.acct
        number, bank = acct.get("ACCTID") or None, acct.get("BANKID") or acct.get("BROKERID") or None
        self.account_ref = self.names.ref(number, bank) if number else None
        if self.account_ref:
            yield StatementAccount(account_ref=self.account_ref, currency=self.curdef, bank_id=bank,
                                   line_number=self.stmt_line)
        elif self.stmt is not None:
            # A statement without its account: alone in the file, its lines are the import's account's; beside
            # others, nothing tells whose they are (never another statement's account)
            if self.several is None:
                self.several = self.statements_seen > 1 or self.count_statements() > 1
            self.orphan = self.several

    def unowned(self, event: ParseEvent) -> ParseEvent:
        """A line of a statement that names no account in a file of several statements: rejected
        `RequiredValueMissing` at the statement's account aggregate (a line already rejected stays so)."""
        if type(event) is not ParsedLine:
            return event
        stmt = self.stmt or "STMTRS"
        aggregate = {"CCSTMTRS": "CCACCTFROM", "INVSTMTRS": "INVACCTFROM"}.get(stmt, "BANKACCTFROM")
        return LineError(event.line_number, REQUIRED_VALUE_MISSING,
                         f"the statement at line {self.stmt_line} (<{stmt}>) names no account (no <{aggregate}>) and "
                         "the file holds other statements: its lines belong to no account of the import",
                         actual_value="", target=f"{stmt}/{aggregate}", pending=event.pending)

    def tag(self, closing: str, name: str, text: str, at: int) -> Iterator[ParseEvent]:
        """What a tag other than `<STMTTRN>` says about the statement."""
        if name == "OFX" and closing:
            self.whole = True
        if self.held is not None:
            if name not in _PENDING_ENDS:
                self.hold(closing, name, text, at)
                return
            yield from self.release()
            if name == "STMTTRNP" and closing:
                return
        if name == "STMTTRNP":
            if not closing and self.stmt is not None:
                self.held, self.held_line, self.held_size = [], self.reader.line_of(at), 0
            return
        if name == "STATUS":
            if closing and self.status is not None:
                _check_status(self.status, self.reader.line_of(at))
            self.status = None if closing else {}
            return
        if self.status is not None and not closing and name in ("CODE", "SEVERITY", "MESSAGE"):
            self.status[name] = _value(text)
            return
        if not closing:
            self.investments.see(name)
        if closing:
            if name in _ACCOUNTS:
                self.in_account = False
            elif name in _BALANCES:
                self.balance_of = None
            elif name in _STATEMENTS and name == self.stmt:
                if not self.announced:
                    yield from self.announce()
                stated, notes = ofx_balances(self.account_ref, self.curdef, self.balances, self.stmt_line, _ofx_date,
                                             _ofx_amount)
                if not self.orphan:  # (an unowned statement's balances are no account's)
                    if stated is not None:
                        yield stated
                    yield from notes
                self.stmt, self.orphan = None, False
            return
        if name in _STATEMENTS:
            self.stmt, self.in_account, self.acct, self.curdef, self.announced = name, False, {}, None, False
            self.statements_seen += 1
            self.orphan = False
            self.stmt_line = self.reader.line_of(at)
            self.account_ref, self.balance_of, self.balances = None, None, {}
        elif self.stmt is None:
            return
        elif name in _ACCOUNTS:
            self.in_account = True
        elif self.in_account:
            self.acct[name] = _value(text)
        elif name in _BALANCES:
            self.balance_of = name
        elif self.balance_of is not None and name in ("BALAMT", "DTASOF"):
            self.balances[f"{self.balance_of}.{name}"] = (_value(text), self.reader.line_of(at))
        elif name in ("DTSTART", "DTEND"):
            self.balances[name] = (_value(text), self.reader.line_of(at))
        elif name == "CURDEF":
            self.curdef = _value(text) or None
        elif name in ("BANKTRANLIST", "INVTRANLIST") and not self.announced:
            yield from self.announce()

    def hold(self, closing: str, name: str, text: str, at: int) -> None:
        """One more tag of the open `<STMTTRNP>`. Raises FileError ElementTooLarge past `_MAX_BLOCK`."""
        assert self.held is not None
        piece = f"<{closing}{name}>{text}"
        self.held_size += len(piece)
        if self.held_size > _MAX_BLOCK:
            line = self.held_line
            raise FileError(ELEMENT_TOO_LARGE, f"the <STMTTRNP> at line {line} is never closed within "
                            f"{_MAX_BLOCK:,} characters", target="STMTTRNP", details={"lineNumber": line})
        self.held.append(piece)

    def release(self) -> Iterator[ParseEvent]:
        """The pending transaction the held tags make (its date is `DTTRAN`, as the specification names it)."""
        assert self.held is not None
        block, self.held = "".join(self.held), None
        if self.stmt is not None and not self.announced:
            yield from self.announce()
        event = _pending(block, self.held_line, self.account_ref, self.curdef)
        yield self.unowned(event) if self.orphan else event

    def transaction(self, m: re.Match[str]) -> tuple[ParseEvent, int, bool] | None:
        """The transaction that starts at `m`, where the scan goes on, and whether it had its end tag;
        None when the buffer holds too little of it (read on). A transaction without its end tag ends
        at the next `<STMTTRN>` or at the end of the list, whichever comes first.
        Raises FileError ElementTooLarge for a transaction longer than `_MAX_BLOCK`."""
        reader, buf, start = self.reader, self.reader.buf, m.start()
        end = self.end_tag.find(buf, start)
        limit = end if end != -1 else len(buf)
        nxt = self.start_tag.find(buf, start + 9, limit)
        lst = self.list_end.find(buf, start, limit)
        found = [c for c in (nxt, lst, end) if c != -1]
        if found:
            cut = min(found)
        elif reader.eof:
            cut = len(buf)
        else:
            if len(buf) - start > _MAX_BLOCK:
                line = reader.line_of(start)
                raise FileError(ELEMENT_TOO_LARGE, f"the <STMTTRN> at line {line} is never closed within "
                                f"{_MAX_BLOCK:,} characters", target="STMTTRN", details={"lineNumber": line})
            return None  # its end may be in the next chunk
        event = _transaction(buf[m.start(3):cut], reader.line_of(start), self.account_ref, self.curdef)
        return (event, end + 10, True) if cut == end else (event, cut, False)

    def runs(self, pos: int) -> Generator[ParseEvent, None, int]:
        """The runs of transactions that follow `pos` (read at once); returns where the scan goes on.

        A run is looked for in a window from its first `<STMTTRN>` up to the end of the list (or the
        buffer's last end tag): when the window holds as many end tags as start tags it is read by
        `_run` and the window grows, else the window shrinks and, at its smallest, the tag scan takes
        the next transaction."""
        reader = self.reader
        buf = reader.buf
        while True:
            start = _SPACE.match(buf, pos).end()  # type: ignore[union-attr]  # \s* always matches
            if not buf.startswith("<STMTTRN>", start):
                return pos
            end = self.end_tag.find(buf, start)
            if end == -1 or self.start_tag.find(buf, start + 9, end) > -1:
                return pos  # the next transaction has no end tag: the tag scan deals with it
            stop = self.list_end.find(buf, start)
            bound = stop if stop != -1 else len(buf)
            window_end = min(bound, start + self.window)
            last = buf.rfind("</STMTTRN>", start, window_end)
            if last == -1:
                if window_end >= bound:
                    return pos  # no whole transaction ahead in this buffer
                self.window = min(self.window * 2, _MAX_BLOCK)
                continue
            region = buf[start:last + 10]
            if region.count("<STMTTRN>") != region.count("</STMTTRN>"):
                if self.window <= _RUN_WINDOW_MIN:
                    return pos  # a transaction without its end tag: the tag scan deals with it
                self.window = max(_RUN_WINDOW_MIN, self.window // 4)
                continue
            self.window = min(self.window * 2, _RUN_WINDOW_MAX)
            events = _run(region, reader.line_of(start), self.account_ref, self.curdef)
            yield from map(self.unowned, events) if self.orphan else events
            pos = last + 10


def _scan(reader: _Reader) -> Iterator[ParseEvent]:
    return _Scanner(reader).events()


def _check_status(status: dict[str, str], line: int) -> None:
    """A `<STATUS>` whose severity is ERROR ends the import with the bank's code and message."""
    if status.get("SEVERITY", "").upper() != "ERROR":
        return
    code, message = status.get("CODE", "?"), status.get("MESSAGE") or "no message"
    raise FileError(BANK_REPORTED_ERROR, f"the bank reported an error in the file (OFX STATUS code {code}, line "
                    f"{line}): {message}", target="STATUS", details={"bankCode": code, "bankMessage": message})


#: investment transactions (children of INVTRANLIST other than INVBANKTRAN) and positions (of INVPOSLIST)
_INVESTMENT_TRANSACTIONS = frozenset({
    "BUYDEBT", "BUYMF", "BUYOPT", "BUYOTHER", "BUYSTOCK", "CLOSUREOPT", "INCOME", "INVEXPENSE", "JRNLFUND",
    "JRNLSEC", "MARGININTEREST", "REINVEST", "RETOFCAP", "SELLDEBT", "SELLMF", "SELLOPT", "SELLOTHER",
    "SELLSTOCK", "SPLIT", "TRANSFER"})
_POSITIONS = frozenset({"POSDEBT", "POSMF", "POSOPT", "POSOTHER", "POSSTOCK"})


class _Investments:
    """Counts what an investment statement holds that is not imported (its bank lines are)."""

    def __init__(self) -> None:
        self.statements = self.transactions = self.positions = 0

    def see(self, name: str) -> None:
        if name == "INVSTMTRS":
            self.statements += 1
        elif name in _INVESTMENT_TRANSACTIONS:
            self.transactions += 1
        elif name in _POSITIONS:
            self.positions += 1

    def note(self) -> FileNote | None:
        if not self.statements:
            return None
        return FileNote(UNIMPORTED_SECTIONS, f"{self.statements} investment statement(s) with {self.transactions} "
                        f"investment transaction(s) and {self.positions} position(s) are not imported (only "
                        "their bank transactions are)")


def _run(region: str, line: int, account_ref: str | None, curdef: str | None) -> Iterator[ParseEvent]:
    """The transactions of a run of `<STMTTRN>...</STMTTRN>` (the region starts with the first one)."""
    events = _uniform_run(region, line, account_ref, curdef)
    if events is not None:
        return events
    return _each(region, line, account_ref, curdef)


def _each(region: str, line: int, account_ref: str | None, curdef: str | None) -> Iterator[ParseEvent]:
    for part in region.split("<STMTTRN>")[1:]:
        yield _transaction(part[:part.find("</STMTTRN>")], line, account_ref, curdef)
        line += part.count("\n")


#: a tag name the run reader accepts (anything else sends the run to `_each`)
_RUN_TAG = re.compile(r"/?[A-Za-z][A-Za-z0-9_.]*")
#: leaves `_transaction` reads beyond those `_uniform_run` reads: a run with them goes to `_each`
_RUN_UNREAD = frozenset({"CURSYM", "ACCTID"})
#: the leaves `_uniform_run` reads
_READ = frozenset({"DTPOSTED", "TRNAMT", "DTUSER", "NAME", "MEMO", "FITID", "CHECKNUM", "REFNUM", "TRNTYPE"})
_FIRST8 = operator.itemgetter(slice(0, 8))
#: a transaction with more tags than this is read by `_each`
_RUN_TEMPLATE_MAX = 64


def _uniform_run(region: str, line: int, account_ref: str | None, curdef: str | None
                 ) -> Iterator[ParsedLine] | None:
    """The events of a run whose transactions all have the tags of the first, in its order, with the
    same line breaks (a bank's export, as a rule), read column by column without a Python call per
    field; None when the run is not so uniform, or holds anything `_transaction` would read
    differently (character references, a date not seen yet that is not plain, an amount `Decimal`
    refuses or one with an exponent, a `TRNTYPE` HOLD): `_each` then reads it transaction by transaction, with
    the same result.
    """
    if "&" in region:
        return None
    # `<TAG>text` pieces: the region starts with `<STMTTRN>`, and text holds no `<`
    parts = region.split("<")
    if parts[0]:
        return None
    del parts[0]
    template: list[str] = []
    for part in parts[:_RUN_TEMPLATE_MAX]:
        end = part.find(">")
        tag = part[:end] if end > 0 else ""
        if not _RUN_TAG.fullmatch(tag):
            return None
        template.append(tag)
        if tag == "/STMTTRN":
            break
    width = len(template)
    count = len(parts) // width
    if template[0] != "STMTTRN" or template[-1] != "/STMTTRN" or len(parts) != width * count:
        return None
    starts = [tag for tag in template if tag[0] != "/"]
    if len(set(starts)) != len(starts) or not _RUN_UNREAD.isdisjoint(starts) \
            or "DTPOSTED" not in starts or "TRNAMT" not in starts:
        return None
    step = 0
    breaks_total = parts[-1].count("\n")  # after the last end tag: up to the end of the region
    columns: dict[str, list[str]] = {}
    for i, tag in enumerate(template):
        joined = "<" + "<".join(parts[i::width])
        # every piece of the column starts with this tag (pieces hold no `<`): as many `<TAG>` as pieces
        if tag in _READ:
            texts = joined.split(f"<{tag}>")
            if len(texts) != count + 1:
                return None
            del texts[0]
            columns[tag] = texts
        elif joined.count(f"<{tag}>") != count:
            return None
        # every transaction spans the lines of the first, so line numbers follow by step
        breaks = parts[i].count("\n")
        pieces = count
        if i == width - 1:
            joined, pieces = joined[: joined.rfind("<")], count - 1
        if breaks == 0:
            if "\n" in joined:
                return None
        elif breaks != 1 or (joined + "<").count("\n<") != pieces:
            return None  # each piece ends with its line break; the count below rules out others
        step += breaks
        breaks_total += breaks * pieces
    if region.count("\n") != breaks_total:
        return None
    if "TRNTYPE" in columns and "HOLD" in "".join(columns["TRNTYPE"]).upper():
        return None  # a pending line among them (`_transaction` marks it)
    keys = list(map(_FIRST8, columns["DTPOSTED"]))
    for key in set(keys).difference(_DATES):
        if not (len(key) == 8 and key.isascii() and key.isdigit()):
            return None  # leading blanks or no date: _transaction words it
        try:
            _posted_date(key)
        except ValueError:
            return None
    posted = list(map(_DATES.get, keys))
    if None in posted:
        return None  # the cache was cleared while it filled
    if not plain_decimal("".join(columns["TRNAMT"])):
        return None  # `1e3`: `_transaction` rejects it
    try:
        amounts = list(map(Decimal, columns["TRNAMT"]))
    except InvalidOperation:
        return None
    if not all(map(Decimal.is_finite, amounts)) or max(map(Decimal.adjusted, amounts)) > _MAX_DIGITS \
            or max(map(len, columns["TRNAMT"])) > MAX_SIGNIFICANT_DIGITS:
        return None  # (a long amount may be more than the ledger stores: each is checked on its own)
    strip = str.strip
    names = list(map(strip, columns["NAME"])) if "NAME" in columns else [""] * count
    if "MEMO" in columns:
        memos = list(map(strip, columns["MEMO"]))
        descriptions = [name if not memo or memo == name else memo if not name or name in memo
                        else f"{name} - {memo}" for name, memo in zip(names, memos, strict=True)]
    else:
        descriptions = names
    fitids = _or_none(columns.get("FITID"), count)
    references = _or_none(columns.get("CHECKNUM"), count)
    if "REFNUM" in columns:
        references = [ref or other for ref, other in zip(references, _or_none(columns["REFNUM"], count),
                                                         strict=True)]
    value_dates = map(_value_date, columns["DTUSER"]) if "DTUSER" in columns else repeat(None)
    return map(ParsedLine, range(line, line + step * count, step) if step else repeat(line, count), posted,
               amounts, descriptions, repeat(account_ref), repeat(curdef), value_dates, fitids, references,
               [name or None for name in names] if "" in names else names)


def _or_none(column: list[str] | None, count: int) -> list[str | None]:
    """The texts stripped, an empty one as None (all None without the column)."""
    if column is None:
        return [None] * count
    values: list[str | None] = list(map(str.strip, column))
    if "" in values:
        values = [value or None for value in values]
    return values


def _value_date(raw: str) -> date | None:
    """DTUSER as `_transaction` reads it: informational, so a bad one is None."""
    if not raw:
        return None
    found = _DATES.get(raw[:8])
    if found is None and raw.strip():
        try:
            found = _posted_date(raw.strip())
        except ValueError:
            found = None
    return found


_DATES: dict[str, date] = {}


def _posted_date(text: str) -> date:
    """`_ofx_date` with a small cache: statements repeat the same few hundred dates."""
    key = text[:8]
    found = _DATES.get(key)
    if found is None:
        found = _ofx_date(text)
        if len(_DATES) > 4096:
            _DATES.clear()
        _DATES[key] = found
    return found


def _required(fields: dict[str, str], line: int) -> tuple[date, Decimal] | LineError:
    """DTPOSTED and TRNAMT checked one by one, with the error that names what is wrong."""
    posted_raw = (fields.get("DTPOSTED") or "").strip()
    if not posted_raw:
        return LineError(line, REQUIRED_VALUE_MISSING, "the transaction has no DTPOSTED",
                         actual_value=None, target="STMTTRN/DTPOSTED")
    try:
        posted = _posted_date(posted_raw)
    except ValueError:
        return LineError(line, INVALID_DATE, f"DTPOSTED {posted_raw!r} is not a valid date",
                         actual_value=posted_raw, target="STMTTRN/DTPOSTED")
    amount_raw = (fields.get("TRNAMT") or "").strip()
    if not amount_raw:
        return LineError(line, REQUIRED_VALUE_MISSING, "the transaction has no TRNAMT",
                         actual_value=None, target="STMTTRN/TRNAMT")
    try:
        amount = _ofx_amount(amount_raw)
    except ValueError:
        return LineError(line, INVALID_AMOUNT, f"TRNAMT {amount_raw!r} is not an amount",
                         actual_value=amount_raw, target="STMTTRN/TRNAMT")
    return posted, amount


def _transaction(block: str, line: int, account_ref: str | None, curdef: str | None) -> ParseEvent:
    # This runs once per transaction of files with millions of them: the common case is kept
    # free of function calls, anything unusual goes through `_required`.
    fields = dict(_LEAF.findall(block))
    if "&" in block:
        fields = {k: unescape(v) for k, v in fields.items()}
    get = fields.get
    raw = get("DTPOSTED")
    posted = _DATES.get(raw[:8]) if raw else None
    amount = None
    if posted is not None:
        try:
            text = get("TRNAMT") or ""
            amount = Decimal(text)  # surrounding whitespace is fine
            if not amount.is_finite() or amount.adjusted() > _MAX_DIGITS or len(text) > MAX_SIGNIFICANT_DIGITS \
                    or "e" in text or "E" in text or "_" in text:
                amount = None  # (a long one may be more than the ledger stores, `1e3` is none: `_required` says)
        except (InvalidOperation, TypeError):
            amount = None
    if amount is None:
        checked = _required(fields, line)
        if isinstance(checked, LineError):
            return checked
        posted, amount = checked
    value_date = None
    raw = get("DTUSER")
    if raw:
        value_date = _DATES.get(raw[:8])
        if value_date is None and raw.strip():
            try:
                value_date = _posted_date(raw.strip())
            except ValueError:
                value_date = None  # an informational date: a bad one does not reject the line
    name = get("NAME")
    name = name.strip() if name else ""
    memo = get("MEMO")
    memo = memo.strip() if memo else ""
    if not memo or memo == name:
        description = name
    elif not name or name in memo:
        description = memo
    else:
        description = f"{name} - {memo}"
    fitid = get("FITID")
    reference = get("CHECKNUM")
    reference = reference.strip() if reference else ""
    if not reference:
        reference = get("REFNUM")
        reference = reference.strip() if reference else ""
    currency = curdef
    original_currency = None
    counterparty_account = None
    sym = get("CURSYM")
    if sym and sym.strip():
        if "<ORIGCURRENCY>" in block:
            original_currency = sym.strip()
        else:
            currency = sym.strip()
    acctid = get("ACCTID")
    if acctid:
        counterparty_account = acctid.strip() or None
    # Positional arguments (in the field order of ParsedLine) save a measurable share of the
    # time per transaction; test_ofx checks every field lands where it belongs.
    # (posted is a date here: amount is only ever set along with it)
    trntype = get("TRNTYPE")
    return ParsedLine(line, posted, amount, description, account_ref, currency, value_date,  # type: ignore[arg-type]
                      (fitid.strip() or None) if fitid else None, reference or None, name or None,
                      counterparty_account, None, None, original_currency,
                      trntype is not None and trntype.strip().upper() == "HOLD")


def _pending(block: str, line: int, account_ref: str | None, curdef: str | None) -> ParseEvent:
    """A `<STMTTRNP>` (its tags in `block`): a line with `pending=True`, or the LineError that rejects it (also
    marked pending: the import leaves it out, counted, unless includePending)."""
    renamed = "<DTPOSTED>" not in block
    if renamed:
        block = block.replace("<DTTRAN>", "<DTPOSTED>", 1)
    event = _transaction(block, line, account_ref, curdef)
    if isinstance(event, LineError) and renamed:
        event.target = (event.target or "").replace("STMTTRN/DTPOSTED", "STMTTRNP/DTTRAN").replace(
            "STMTTRN/", "STMTTRNP/")
        event.message = event.message.replace("DTPOSTED", "DTTRAN")
    elif isinstance(event, LineError):
        event.target = (event.target or "").replace("STMTTRN/", "STMTTRNP/")
    if isinstance(event, (LineError, ParsedLine)):
        event.pending = True
    return event
