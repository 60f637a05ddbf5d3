"""The camt text reader: the statements and entries of a camt.05x document read from its text.

lxml's `iterparse` builds every element of every entry as a tree, then the reader walks it; most of
the time goes there. This reader reads the text instead:

* libxml2 still checks the whole document (a parser with no tree, fed each chunk before the chunk is
  read): whatever is not well-formed XML fails as with lxml, and DTDs, entities and the network stay
  off;
* the document's structure (the message, each `Stmt`, each `Ntry` directly in it) is followed tag by
  tag, with the nesting depth bounded (`MAX_DEPTH`, FileError NestingTooDeep);
* each entry is matched in one step by a regular expression made from the entry's sequence of tags
  (a bank writes every entry alike: a statement has a handful of shapes), whose groups are exactly
  the texts `camt._read_entry` would read. The shape's plan, which text is which field, is learnt
  once by running `camt._read_entry` itself on a template of the shape, so that both readers always
  read the same fields. An entry with comments, CDATA or processing instructions inside is parsed
  alone with lxml;
* the statement's account is read with lxml from the statement's text before its first entry.

Entries longer than `MAX_ENTRY` characters and statement headers longer than `MAX_HEADER` are
FileError ElementTooLarge. Documents this reader does not follow (namespace prefixes, namespaces
declared below the root, an encoding other than UTF-8 or the Western single-byte ones, a root other
than `Document`) raise `Unusual`, and `camt` reads them with lxml instead; so do the tests, to check
that both readers give the same events.
"""

from __future__ import annotations

import codecs
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from lxml import etree

from tximport.formats.base import (
    ELEMENT_TOO_LARGE,
    INVALID_SOURCE_DATA,
    NESTING_TOO_DEEP,
    FileError,
    ParseEvent,
    StatementAccount,
)

#: bytes read (and checked by libxml2) at a time
CHUNK = 1 << 20
#: the deepest nesting of elements a document may have (camt goes about 12 deep)
MAX_DEPTH = 64
#: the longest entry, and statement text before its first entry, in characters
MAX_ENTRY = 1 << 20
MAX_HEADER = 1 << 20
#: entries with more tags than this are parsed alone with lxml (no expression is made for them)
MAX_SHAPE_TAGS = 400
#: shapes remembered per file (most files have a handful)
MAX_SHAPES = 64

ENABLED = True

_ENCODINGS = {"utf-8", "iso8859-1", "iso8859-15", "cp1252", "ascii"}
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_TAG = re.compile(r"""<(/?)([A-Za-z_][-\w.:]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(/?)>""")
_DEFAULT_NS = re.compile(r"""\sxmlns\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REFERENCE = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"


class Unusual(Exception):  # noqa: N818 - a signal, not an error
    """The document is one the text reader leaves to lxml."""


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref[0] == "#":
            return chr(int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:]))
        return _NAMED[ref]

    return _REFERENCE.sub(one, text)


def _norm(text: str) -> str | None:
    """An element's text as `camt._txt` reads it: line breaks normalised, references resolved,
    stripped, None when empty."""
    if "\r" in text:
        text = text.replace("\r", "\n")
    if "&" in text:
        text = _unescape(text)
    return text.strip() or None


class _Null:
    """A parser target that builds nothing: libxml2 only checks the document."""

    def close(self) -> None:
        return None


def codec_of(head: bytes) -> str:
    """The codec the text reader decodes the document with. Raises Unusual for others."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise Unusual("UTF-16/32")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    m = _XML_ENCODING.match(head)
    if not m:
        return "utf-8"
    try:
        name = codecs.lookup(m.group(1).decode("ascii")).name
    except LookupError:
        raise Unusual("unknown encoding") from None
    if name not in _ENCODINGS:
        raise Unusual(name)
    return name


class _Text:
    """The document's text, decoded and with its line breaks normalised as XML does (`\\r\\n` and a
    lone `\\r` are `\\n`), each chunk checked by libxml2 before it is added."""

    def __init__(self, raw: IO[bytes], head: bytes, codec: str) -> None:
        self._raw = raw
        self._decode = codecs.getincrementaldecoder(codec)().decode
        self._check = etree.XMLParser(target=_Null(), resolve_entities=False, no_network=True, load_dtd=False,
                                      huge_tree=False)
        self._cr = False  # the last chunk ended with \r (its \n may start the next)
        self.buf = ""
        self.eof = False
        self._line_pos = 0
        self._line = 1
        self._append(head)

    def _append(self, data: bytes) -> None:
        try:
            self._check.feed(data) if data else self._check.close()
        except etree.XMLSyntaxError as exc:
            raise FileError(INVALID_SOURCE_DATA, f"the file is not well-formed XML: {exc}", target="File",
                            details={"lineNumber": getattr(exc, "lineno", None)}) from None
        try:
            text = self._decode(data, final=not data)
        except UnicodeDecodeError:
            raise Unusual("bytes libxml2 read differently") from None
        if self._cr:
            text = "\r" + text
        self._cr = text.endswith("\r") and bool(data)
        if self._cr:
            text = text[:-1]
        if "\r\n" in text:
            # (a lone \r stays: libxml2 reads it as a line break in text, but does not count it as a line)
            text = text.replace("\r\n", "\n")
        self.buf += text

    def more(self, keep: int) -> int:
        """Drop the text before `keep`, read the next chunk; returns how much was dropped (positions
        move back by it). At the end of the file `eof` is set (libxml2 has checked it all)."""
        self.line_at(keep)
        self.buf = self.buf[keep:]
        self._line_pos -= keep
        data = self._raw.read(CHUNK)
        if not data:
            self.eof = True
        self._append(data)
        return keep

    def line_at(self, pos: int) -> int:
        """The line of position `pos` (positions asked for must not go backwards)."""
        if pos > self._line_pos:
            self._line += self.buf.count("\n", self._line_pos, pos)
            self._line_pos = pos
        return self._line


@dataclass(slots=True)
class _Plan:
    """Which text of an entry's shape is which field: (key, group or None, currency) per entry field,
    the same per TxDtls, and the groups of each TxDtls's unstructured remittance lines."""

    pattern: re.Pattern[str]
    entry: list[tuple[str, int, str | None]]  # (group -1: no text)
    txs: list[list[tuple[str, int, str | None]]]
    ustrd: list[list[int]]

    def fields(self, m: re.Match[str]) -> Any:
        """What `camt._read_entry` reads of the entry `m` matched."""
        whole = m.group(0)
        if "&" in whole or "\r" in whole:
            texts: list[str | None] = [_norm(text) for text in m.groups()]
        else:  # (the common case: no references to resolve, no lone carriage return)
            texts = [text or None for text in map(str.strip, m.groups())]
        texts.append(None)  # index -1: no text
        entry = {key: (texts[g], ccy) for key, g, ccy in self.entry}
        txs = [{key: (texts[g], ccy) for key, g, ccy in tx} for tx in self.txs]
        ustrd = [[text for text in (texts[g] for g in lines) if text] for lines in self.ustrd]
        return entry, txs, ustrd


@dataclass(slots=True)
class _Token:
    tag: str  # the tag as written
    name: str
    closing: bool
    empty: bool  # <x/>
    end: int  # the position after the tag
    text_end: int  # the position of the next `<`


class _Shapes:
    """The entry shapes of one file: their expressions and plans, most recently used first."""

    def __init__(self, namespace: str, read_entry: Callable[[Any, int], Any]) -> None:
        self.ns = namespace
        self.read_entry = read_entry
        self.plans: OrderedDict[tuple[str, ...], _Plan] = OrderedDict()
        self.recent: list[_Plan] = []
        self.parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                                      remove_comments=True, remove_pis=True)

    def match(self, buf: str, pos: int) -> tuple[_Plan, re.Match[str]] | None:
        """The entry at `pos` matched by a shape seen lately."""
        for plan in self.recent:
            m = plan.pattern.match(buf, pos)
            if m is not None:
                return plan, m
        return None

    def learn(self, buf: str, tokens: list[_Token], start: int) -> _Plan:
        """The plan of a new entry shape (its tokens from `start`)."""
        key = tuple(token.tag for token in tokens)
        plan = self.plans.get(key)
        if plan is None:
            plan = self._plan(tokens, start)
            self.plans[key] = plan
            if len(self.plans) > MAX_SHAPES:
                self.plans.popitem(last=False)
        if plan in self.recent:
            self.recent.remove(plan)
        self.recent.insert(0, plan)
        del self.recent[4:]
        return plan

    def element(self, text: str) -> Any:
        """An element's text parsed alone, in the document's namespace."""
        xmlns = f' xmlns="{self.ns}"' if self.ns else ""
        try:
            return etree.fromstring(f"<_{xmlns}>{text}</_>", self.parser)[0]
        except etree.XMLSyntaxError:
            raise Unusual("a fragment lxml does not read alone") from None

    def _plan(self, tokens: list[_Token], start: int) -> _Plan:
        # A template of the shape: every text replaced by a marker naming it; what _read_entry reads
        # from the template tells which text is which field.
        template = "".join(f"{token.tag}{_MARK_OPEN}{i}{_MARK_CLOSE}" for i, token in enumerate(tokens[:-1]))
        root = self.element(template + tokens[-1].tag)
        entry, txs, ustrd = self.read_entry(root, len(self.ns) + 2 if self.ns else 0)
        used: set[int] = set()

        def slot(value: str | None) -> int | None:
            if value is None:
                return None
            index = int(value[1:-1])
            used.add(index)
            return index

        entry_plan = [(key, slot(text), ccy) for key, (text, ccy) in entry.items()]
        txs_plan = [[(key, slot(text), ccy) for key, (text, ccy) in tx.items()] for tx in txs]
        ustrd_plan = [[slot(text) for text in lines] for lines in ustrd]
        order = sorted(used)
        group = {index: n for n, index in enumerate(order)}
        parts = []
        for i, token in enumerate(tokens):
            parts.append(re.escape(token.tag))
            if i < len(tokens) - 1:
                parts.append("([^<]*)" if i in used else "[^<]*")
        return _Plan(re.compile("".join(parts)),
                     [(key, -1 if g is None else group[g], ccy) for key, g, ccy in entry_plan],
                     [[(key, -1 if g is None else group[g], ccy) for key, g, ccy in tx] for tx in txs_plan],
                     [[group[g] for g in lines if g is not None] for lines in ustrd_plan])


def tokens_of(buf: str, start: int, eof: bool) -> tuple[list[_Token], bool] | None:
    """The tags of the element that starts at `start`, up to its end tag, and whether anything other
    than tags and text (comments, CDATA, processing instructions) is inside; None when the buffer
    ends first. Raises Unusual for prefixed names or namespaces declared inside."""
    tokens: list[_Token] = []
    depth = 0
    pos = start
    other = False
    while True:
        at = buf.find("<", pos)
        if at < 0:
            return None
        if buf.startswith("<!--", at) or buf.startswith("<?", at) or buf.startswith("<![CDATA[", at):
            closer = "-->" if buf[at + 1] == "!" and buf[at + 2] == "-" else "?>" if buf[at + 1] == "?" else "]]>"
            end = buf.find(closer, at + 2)
            if end < 0:
                return None
            other, pos = True, end + len(closer)
            continue
        m = _TAG.match(buf, at)
        if m is None:
            if not eof and buf.find(">", at) < 0:
                return None
            raise Unusual("a tag the text reader does not read")
        closing, name, attrs, empty = m.groups()
        if ":" in name or "xmlns" in attrs:
            raise Unusual("a namespace inside an entry")
        if len(tokens) >= MAX_SHAPE_TAGS:
            other = True  # too many tags for an expression: lxml reads it
        text_end = buf.find("<", m.end())
        tokens.append(_Token(m.group(0), name, bool(closing), bool(empty), m.end(),
                             text_end if text_end >= 0 else len(buf)))
        depth += -1 if closing else 0 if empty else 1
        if depth == 0:
            return tokens, other
        pos = m.end()


@dataclass(slots=True)
class Hooks:
    """What the text reader uses of `camt`, so that both readers share their rules."""

    kind: str
    doc_tag: str
    stmt_tag: str
    messages: frozenset[str]  # the message elements of camt.052/053/054
    document_paths: Callable[[str, str], Any]  # (namespace, kind) -> paths; raises FileError
    check_message: Callable[[str, str], None]
    read_entry: Callable[[Any, int], Any]
    entry_events: Callable[[int, Any, StatementAccount | None, str], Iterable[ParseEvent]]
    statement_account: Callable[[Any, Any, str | None, int | None], StatementAccount | None]
    #: the statement's balances and the notes on them, read from the same header element (yielded after its
    #: entries; the last argument is the file line of the statement's start tag)
    statement_balances: Callable[[Any, Any, StatementAccount | None, int], list[ParseEvent]] | None = None


class _Statement:
    """An open statement: where its text starts, its line, and what was read of it."""

    def __init__(self, start: int, line: int, depth: int) -> None:
        self.start = start
        self.line = line
        self.depth = depth
        self.entries = 0
        self.announced = False
        self.account: StatementAccount | None = None
        self.balances: list[ParseEvent] = []


class Reader:
    """Reads the events of a camt document from its text (see the module doc)."""

    def __init__(self, raw: IO[bytes], head: bytes, hooks: Hooks) -> None:
        self.hooks = hooks
        self.text = _Text(raw, head, codec_of(head))
        self.paths: Any = None
        self.shapes: _Shapes | None = None
        self.seen_message = False
        self.stmt: _Statement | None = None
        self.stmt_index = 0
        self.depth = 0
        self.pos = 0

    # -- the walk ------------------------------------------------------------------------------------

    def events(self) -> Iterator[ParseEvent]:
        """Every event of the document, in order."""
        self._prolog()
        while True:
            text = self.text
            buf = text.buf
            at = buf.find("<", self.pos)
            stmt = self.stmt
            if stmt is not None and self.depth == stmt.depth + 1 and buf.startswith("<Ntry>", at):
                found = self._entry(at)  # (the common case, without reading the tag twice)
                if found is None:
                    self._read_on(at)
                    continue
                yield from found
                continue
            m = _TAG.match(buf, at) if at >= 0 else None
            if m is None:
                if at >= 0 and self._skip_markup(at):
                    continue
                if text.eof:
                    break
                self._read_on(at if at >= 0 else len(buf))
                continue
            closing, name, attrs, empty = m.groups()
            if ":" in name or ("xmlns" in attrs and self.paths is not None):
                raise Unusual("namespace prefixes or declarations below the root")
            if closing:
                self.pos = m.end()
                yield from self._end()
                continue
            if name == "Ntry" and self.stmt is not None and self.depth == self.stmt.depth + 1:
                found = self._entry(at) if not empty else self._entry_events(({}, [], []), at, m.end())
                if found is None:
                    self._read_on(at)
                    continue
                yield from found
                continue
            self.pos = m.end()
            self._start(name, bool(empty), at, m.end())
        if self.paths is None:
            raise FileError(INVALID_SOURCE_DATA, "the file holds no camt document", target="File")
        if not self.seen_message:
            raise FileError(INVALID_SOURCE_DATA, f"the document holds no <{self.hooks.doc_tag}> message",
                            target="Document")

    def _read_on(self, keep: int) -> None:
        """More text, keeping what is still to be read from `keep` (or the open statement's start,
        while its account is still to be read from its text)."""
        keep = min(keep, self.pos)
        if self.stmt is not None and not self.stmt.announced:
            if keep - self.stmt.start > MAX_HEADER:
                raise FileError(ELEMENT_TOO_LARGE, f"the statement at line {self.stmt.line} holds more than "
                                f"{MAX_HEADER:,} characters before its first entry", target=self.hooks.stmt_tag,
                                details={"lineNumber": self.stmt.line})
            keep = self.stmt.start
        if self.text.eof:
            raise Unusual("the text ends inside markup libxml2 accepted")
        dropped = self.text.more(keep)
        self.pos -= dropped
        if self.stmt is not None:
            self.stmt.start -= dropped

    def _prolog(self) -> None:
        """Skip the XML declaration, comments and processing instructions before the root; refuse a
        DOCTYPE as the lxml reader does."""
        while True:
            buf = self.text.buf
            at = buf.find("<", self.pos)
            if at >= 0 and buf.startswith("<!DOCTYPE", at):
                # camt files never carry a DTD; one here is at best noise, at worst an attack
                raise FileError(INVALID_SOURCE_DATA, "the file declares a DOCTYPE, which is refused", target="File")
            if at >= 0 and (buf.startswith("<?", at) or buf.startswith("<!--", at)):
                if not self._skip_markup(at):
                    self._read_on(at)
                continue
            if at < 0 and not self.text.eof:
                self._read_on(len(buf))
                continue
            return

    def _skip_markup(self, at: int) -> bool:
        """Step over a comment, processing instruction or CDATA section at `at` (outside entries they
        say nothing); False when it does not end in the buffer."""
        buf = self.text.buf
        for opener, closer in (("<!--", "-->"), ("<?", "?>"), ("<![CDATA[", "]]>")):
            if buf.startswith(opener, at):
                end = buf.find(closer, at + len(opener))
                if end < 0:
                    return False
                self.pos = end + len(closer)
                return True
        if self.text.eof or buf.find(">", at) >= 0:
            raise Unusual("markup the text reader does not read")
        return False

    def _start(self, name: str, empty: bool, at: int, end: int) -> None:
        hooks = self.hooks
        if self.paths is None:
            if name != "Document":
                raise Unusual("a root other than Document")
            m = _DEFAULT_NS.search(self.text.buf, at, end)
            ns = _unescape(m.group(1) if m.group(1) is not None else m.group(2)) if m else ""
            self.paths = hooks.document_paths(ns, hooks.kind)
            self.shapes = _Shapes(ns, hooks.read_entry)
        elif name in hooks.messages:
            self.seen_message = True
            hooks.check_message(name, hooks.kind)
        elif name == hooks.stmt_tag and self.stmt is None:
            self.stmt_index += 1
            if not empty:  # (an empty one holds no account, as lxml finds)
                self.stmt = _Statement(at, self.text.line_at(end - 1), self.depth)
        if not empty:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                line = self.text.line_at(at)
                raise FileError(NESTING_TOO_DEEP, f"the elements at line {line} are nested more than {MAX_DEPTH} "
                                "deep", target="File", details={"lineNumber": line, "limit": MAX_DEPTH})

    def _end(self) -> Iterator[ParseEvent]:
        self.depth -= 1
        stmt = self.stmt
        if stmt is not None and self.depth == stmt.depth:
            balances = self.hooks.statement_balances
            if not stmt.announced:
                element = self._statement_element(self.pos)
                account = self.hooks.statement_account(element, self.paths, None, stmt.line)
                if account is not None:
                    yield account
                stmt.balances = balances(element, self.paths, account, stmt.line) if balances else []
            yield from stmt.balances
            self.stmt = None

    # -- statements and entries ----------------------------------------------------------------------

    def _statement_element(self, stop: int) -> Any:
        """The open statement's element parsed from its text up to `stop` (its header, or all of it)."""
        assert self.stmt is not None and self.shapes is not None
        text = self.text.buf[self.stmt.start:stop]
        if stop - self.stmt.start > MAX_HEADER:
            raise FileError(ELEMENT_TOO_LARGE, f"the statement at line {self.stmt.line} holds more than "
                            f"{MAX_HEADER:,} characters before its first entry", target=self.hooks.stmt_tag,
                            details={"lineNumber": self.stmt.line})
        if not text.endswith(f"</{self.hooks.stmt_tag}>"):
            text += f"</{self.hooks.stmt_tag}>"
        return self.shapes.element(text)

    def _entry(self, at: int) -> list[ParseEvent] | None:
        """The events of the entry whose start tag is at `at`; None when the buffer ends inside it."""
        shapes, text, stmt, hooks = self.shapes, self.text, self.stmt, self.hooks
        assert shapes is not None and stmt is not None
        buf = text.buf
        matched = shapes.match(buf, at)
        if matched is not None:
            plan, m = matched
            fields, end = plan.fields(m), m.end()
        else:
            found = tokens_of(buf, at, text.eof)
            if found is None:
                if len(buf) - at > MAX_ENTRY:
                    self._too_large(at)
                return None
            tokens, other = found
            end = tokens[-1].end
            if any(token.name in hooks.messages for token in tokens):
                raise Unusual("a message element inside an entry")
            if other:
                fields = hooks.read_entry(shapes.element(buf[at:end]), len(shapes.ns) + 2 if shapes.ns else 0)
            else:
                plan = shapes.learn(buf, tokens, at)
                own = plan.pattern.match(buf, at)
                if own is None or own.end() != end:
                    raise Unusual("an entry its own shape does not match")
                fields = plan.fields(own)
        if end - at > MAX_ENTRY:
            self._too_large(at)
        return self._entry_events(fields, at, end)

    def _entry_events(self, fields: Any, at: int, end: int) -> list[ParseEvent]:
        """The events of the entry at `at` (ending at `end`) read as `fields`."""
        text, stmt, hooks = self.text, self.stmt, self.hooks
        assert stmt is not None
        events: list[ParseEvent] = []
        line = text.line_at(text.buf.index(">", at))
        stmt.entries += 1
        if not stmt.announced:
            stmt.announced = True
            amt = fields[0].get("Amt")
            element = self._statement_element(at)
            stmt.account = hooks.statement_account(element, self.paths, amt[1] if amt else None, stmt.line)
            if stmt.account is not None:
                events.append(stmt.account)
            if hooks.statement_balances is not None:  # the balances come before the entries
                stmt.balances = hooks.statement_balances(element, self.paths, stmt.account, stmt.line)
        events.extend(hooks.entry_events(line, fields, stmt.account, f"/Document/{hooks.doc_tag}/{hooks.stmt_tag}"
                                         f"[{self.stmt_index}]/Ntry[{stmt.entries}]"))
        self.pos = end
        return events

    def _too_large(self, at: int) -> None:
        line = self.text.line_at(at)
        raise FileError(ELEMENT_TOO_LARGE, f"the entry at line {line} is longer than {MAX_ENTRY:,} characters",
                        target="Ntry", details={"lineNumber": line})
