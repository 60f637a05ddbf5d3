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
and a statement larger than 32 MiB `FileError(ElementTooLarge)`. Every step is linear in the size of
its input: strings that a statement repeats (`:86:` after `:86:`) are collected and joined once.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from tximport.formats.base import (
    ELEMENT_TOO_LARGE,
    INVALID_LINE,
    INVALID_SOURCE_DATA,
    LINE_TOO_LONG,
    FileError,
    LineError,
    ParsedLine,
    ParseEvent,
    ParseOptions,
    Source,
    StatementAccount,
)

# --- cutting the file into messages --------------------------------------------------------------

_BLOCK = 1 << 20
MAX_LINE = 1 << 20
MAX_MESSAGE = 32 << 20
#: a line that opens a message: `:20:`, also inside a SWIFT envelope (`{4::20:`)
_START = re.compile(rb"^[ \t\r\f\v]*(?:\{4:)?:20:", re.MULTILINE)
_ANY_TAG = re.compile(rb"^[ \t\r\f\v]*(?:\{4:)?:\d\d[A-Z]?:", re.MULTILINE)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


class _Splitter:
    """Collects the lines of one message at a time from blocks of complete lines."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.start = 1  # line number of the message's first line
        self.line = 1  # line number of the next line fed
        self.found = False

    def feed(self, block: bytes) -> Iterator[tuple[int, str]]:
        """Messages completed by `block` (complete lines; the last one may lack its newline at EOF)."""
        pos = 0
        for m in _START.finditer(block):
            at = m.start()
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
            if _ANY_TAG.search(data):
                self.found = True
                yield self.start, _decode(data)


def _messages(raw: IO[bytes]) -> Iterator[tuple[int, str]]:
    """(line number of the first line, text) for each message, read in blocks of whole lines."""
    splitter = _Splitter()
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


# --- reading one message, as the mt-940 library does ------------------------------------------------
#
# The patterns below are the library's own (mt940.tags, 5.1.1): the differential tests assert that
# they stay equal to the installed library's.

_FLAGS = re.IGNORECASE | re.VERBOSE | re.UNICODE
#: the library's tag pattern (`^:\n?(?P<full_tag>(?P<tag>[0-9]{2}|NS)(?P<sub_tag>[A-Z])?):`), for the tags
#: it knows (it drops the others, whose text then belongs to the tag before), to split a message that
#: is given a leading newline
_TAG = re.compile(r"\n:\n?((?:13|2[0158]|34|6[01245]|86|90|NS)[A-Z]?):")
STATEMENT_PATTERN = r"""^
    (?P<year>\d{2})  # 6!n Value Date (YYMMDD)
    (?P<month>\d{2})
    (?P<day>\d{2})
    (?P<entry_month>\d{2}|\s{2})?  # [4!n] Entry Date (MMDD)
    (?P<entry_day>\d{2}|\s{2})?
    (?P<status>R?[DC])  # 2a Debit/Credit Mark
    (?P<funds_code>[A-Z])? # [1!a] Funds Code (3rd character of the currency
                            # code, if needed)
    [\n ]?
    (?P<amount>[\d,]{1,15})  # 15d Amount
    (?P<id>[A-Z][A-Z0-9 ]{3})?
    (?P<customer_reference>((?!//)[^\n]){0,16})
    (//(?P<bank_reference>.{0,23}))?
    # Supplementary details: the SWIFT spec caps this at 34x, but some banks
    # (e.g. Wise, issue #117) send more, so the length limit is relaxed. This
    # only ever turns a previous parse error into a successful parse.
    (\n?(?P<extra_details>.*))?
    $"""
BALANCE_PATTERN = r"""^
    (?P<status>[DC])  # 1!a Debit/Credit
    (?P<year>\d{2})  # 6!n Value Date (YYMMDD)
    (?P<month>\d{2})
    (?P<day>\d{2})
    (?P<currency>.{3})  # 3!a Currency
    (?P<amount>[0-9,]{0,16})  # 15d Amount (includes decimal sign, so 16)
    """
DATE_TIME_PATTERN = r"""^
    (?P<year>\d{2})
    (?P<month>\d{2})
    (?P<day>\d{2})
    (?P<hour>\d{2})
    (?P<minute>\d{2})
    ((?P<offset_sign>[+-])(?P<offset>\d{4}))?
    """
STATEMENT_NUMBER_PATTERN = r"""
    (?P<statement_number>\d{1,5})  # 5n
    (?:/?(?P<sequence_number>\d{1,5}))?  # [/5n]
    $"""
FLOOR_LIMIT_PATTERN = r"""^
    (?P<currency>[A-Z]{3})  # 3!a Currency
    (?P<status>[DC ]?)  # 2a Debit/Credit Mark
    (?P<amount>[0-9,]{0,16})  # 15d Amount (includes decimal sign, so 16)
    $"""
SUM_ENTRIES_PATTERN = r"""^
    (?P<number>\d*)
    (?P<currency>.{3})  # 3!a Currency
    (?P<amount>[\d,]{1,15})  # 15d Amount
    """
_STATEMENT = re.compile(STATEMENT_PATTERN, _FLAGS)
_BALANCE = re.compile(BALANCE_PATTERN, _FLAGS)
_DATE_TIME = re.compile(DATE_TIME_PATTERN, _FLAGS)
_STATEMENT_NUMBER = re.compile(STATEMENT_NUMBER_PATTERN, _FLAGS)
_FLOOR_LIMIT = re.compile(FLOOR_LIMIT_PATTERN, _FLAGS)
_SUM_ENTRIES = re.compile(SUM_ENTRIES_PATTERN, _FLAGS)
#: a `:61:` matches only if every newline of its value lies within its first 75 characters (the
#: bounded fields before the supplementary details); checking that first keeps the pattern from
#: backtracking over long lines it cannot match
_STATEMENT_HEAD = 75
_STRUCTURED = re.compile(r"^\d{3}\?\d{2}")
_GVC_ANY = re.compile(r"IBAN|BIC |EREF|MREF|CRED|PURP|SVWZ|MDAT|ABWA|ABWE|SQTP|ORCR|ORMR|DDAT|KREF|DEBT|COAM|OAMT")
_GVC = re.compile(r"(IBAN|BIC |EREF|MREF|CRED|PURP|SVWZ|MDAT|ABWA|ABWE|SQTP|ORCR|ORMR|DDAT|KREF|DEBT|COAM|OAMT)\+")

#: tag -> what it is; a tag with a sub-tag the table lacks is read as its plain number (`:28C:` = `:28:`)
_KINDS: dict[str, tuple[str, str]] = {
    "13": ("datetime", ""), "20": ("free", ""), "21": ("free", ""), "25": ("free", ""), "NS": ("free", ""),
    "28": ("number", ""), "34": ("floor", ""), "61": ("statement", ""), "86": ("details", ""),
    "60": ("balance", "opening_balance"), "60F": ("balance", "final_opening_balance"),
    "60M": ("balance", "intermediate_opening_balance"), "62": ("balance", "closing_balance"),
    "62F": ("balance", "final_closing_balance"), "62M": ("balance", "intermediate_closing_balance"),
    "64": ("balance", "available_balance"), "65": ("balance", "forward_available_balance"),
    "90": ("sum", ""), "90D": ("sum", "D"), "90C": ("sum", "C"),
}
#: where the statement currency comes from, first present wins (the library's `Transactions.currency`)
_CURRENCY_ORDER = ("final_opening_balance", "opening_balance", "intermediate_opening_balance",
                   "available_balance", "forward_available_balance", "final_closing_balance",
                   "closing_balance", "intermediate_closing_balance", "c_floor_limit", "d_floor_limit")
_YEAR_BOUNDARY_DAYS = 330


class Unreadable(ValueError):
    """A tag of the message does not read (the library would raise)."""


class Balance:
    """A balance tag (`:60F:`, `:62F:`, `:64:` ...) or a floor limit (`:34F:`)."""

    __slots__ = ("status", "amount", "currency", "date")

    def __init__(self, status: str, amount: Decimal, currency: str, when: date | None) -> None:
        self.status = status
        self.amount = amount
        self.currency = currency
        self.date = when


class Joined(list):  # type: ignore[type-arg]
    """A string a later tag appended to (the library joins the parts with newlines): kept as its
    parts and joined once, so a run of `:86:` tags costs linear time."""

    def text(self) -> str:
        return "\n".join(self)


#: one transaction: the `:61:` fields and the `:86:` details merged into it, keyed as the library keys
#: them (`date`, `entry_date`, `amount`, `currency`, `id`, `customer_reference`, `bank_reference`,
#: `extra_details`, `transaction_details`, `posting_text`, `purpose`, `applicant_name`, `applicant_iban`,
#: `end_to_end_reference`); a string may be `Joined`
Entry = dict[str, Any]


def value_of(entry: Entry, key: str) -> Any:
    """A field of an entry, joined if a later tag appended to it."""
    value = entry.get(key)
    return value.text() if type(value) is Joined else value


def _merge(entry: Entry, result: dict[str, Any]) -> None:
    """A later tag's fields: strings are appended on a new line, None never replaces a value."""
    for key, value in result.items():
        existing = entry.get(key, _ABSENT)
        if existing is _ABSENT:
            entry[key] = value
        elif value is None:
            continue
        elif type(existing) is Joined:
            if isinstance(value, str):
                existing.append(value.strip())
            else:
                entry[key] = value
        elif isinstance(existing, str) and isinstance(value, str):
            entry[key] = Joined((existing, value.strip()))
            entry[_JOINED] = True
        else:
            entry[key] = value


_ABSENT = object()
#: marks an entry holding a Joined value
_JOINED = "\x00joined"


class Message:
    """What one message (or one `:61:` chunk of it) holds."""

    __slots__ = ("entries", "balances", "currency")

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.balances: dict[str, Balance] = {}
        #: the statement currency so far (it signs the lines that follow)
        self.currency: str | None = None

    def add_balance(self, key: str, balance: Balance) -> None:
        self.balances[key] = balance
        for name in _CURRENCY_ORDER:
            found = self.balances.get(name)
            if found is not None:
                self.currency = found.currency
                return


def _clean(text: str) -> str:
    """The message as the library reads it: `\r` dropped, lines right-stripped, blank and `-` lines
    dropped."""
    if "\r" in text:
        text = text.replace("\r", "")
    return "\n".join([line for line in (raw.rstrip() for raw in text.split("\n"))
                      if line and line.lstrip() != "-"])


def read_message(text: str) -> Message:
    """Every tag of an MT940 message (or part of one), as the mt-940 library reads it.

    Raises Unreadable where the library raises: a tag that does not match its pattern, a date or an
    amount that does not exist.
    """
    parts = _TAG.split("\n" + _clean(text))
    message = Message()
    entries = message.entries
    for index in range(1, len(parts), 2):
        full = parts[index]
        value = parts[index + 1].strip()
        if full == "61":
            _statement(message, value)
        elif full == "86":
            if entries:
                _merge(entries[-1], _details(value))
        else:
            kind, key = _KINDS.get(full) or _KINDS[full[:2]]
            if kind == "balance":
                message.add_balance(key, _balance(value))
            elif kind == "statement":
                _statement(message, value)
            elif kind == "details":
                if entries:
                    _merge(entries[-1], _details(value))
            elif kind != "free":
                _check(kind, key, value, message)
    return message


def _amount(text: str, status: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise Unreadable(f"not an amount: {text!r}") from None
    return -value if status.upper() in ("D", "RC") else value


def _date(year: str, month: str, day: str) -> date:
    number = int(year)
    try:
        return date(number + 2000 if number < 1000 else number, int(month), int(day))
    except ValueError:
        raise Unreadable(f"not a date: {year}-{month}-{day}") from None


def _balance(value: str) -> Balance:
    m = _BALANCE.match(value)
    if m is None:
        raise Unreadable(f"not a balance: {value[:80]!r}")
    status, year, month, day, currency, amount = m.groups()
    return Balance(status, _amount(amount, status), currency, _date(year, month, day))


def _check(kind: str, key: str, value: str, message: Message) -> None:
    """The tags that only need to read (:13:, :28:, :34:, :90:); a floor limit may set the currency."""
    if kind == "datetime":
        m = _DATE_TIME.match(value)
        if m is None:
            raise Unreadable(f"not a date and time: {value[:80]!r}")
        year, month, day, hour, minute = (int(x) for x in m.group("year", "month", "day", "hour", "minute"))
        try:
            date(year + 2000, month, day)
        except ValueError:
            raise Unreadable(f"not a date: {value[:80]!r}") from None
        if hour > 23 or minute > 59:
            raise Unreadable(f"not a time: {value[:80]!r}")
    elif kind == "number":
        if _STATEMENT_NUMBER.match(value) is None:
            raise Unreadable(f"not a statement number: {value[:80]!r}")
    elif kind == "floor":
        m = _FLOOR_LIMIT.match(value)
        if m is None:
            raise Unreadable(f"not a floor limit: {value[:80]!r}")
        currency, status, amount = m.group("currency", "status", "amount")
        status = status.strip()
        if status:
            message.add_balance(status.lower() + "_floor_limit", Balance(status, _amount(amount, status),
                                                                         currency, None))
        else:
            message.add_balance("d_floor_limit", Balance("D", _amount(amount, "D"), currency, None))
            message.add_balance("c_floor_limit", Balance("C", _amount(amount, "C"), currency, None))
    elif kind == "sum":
        m = _SUM_ENTRIES.match(value)
        if m is None or not key:  # a bare :90: has no debit/credit mark: the library fails on it
            raise Unreadable(f"not a sum of entries: {value[:80]!r}")
        _amount(m.group("amount"), key)


_S = _STATEMENT.groupindex
_YEAR, _MONTH, _DAY = _S["year"] - 1, _S["month"] - 1, _S["day"] - 1
_ENTRY_MONTH, _ENTRY_DAY, _STATUS = _S["entry_month"] - 1, _S["entry_day"] - 1, _S["status"] - 1
_AMOUNT, _ID, _CUSTOMER = _S["amount"] - 1, _S["id"] - 1, _S["customer_reference"] - 1
_BANK, _EXTRA = _S["bank_reference"] - 1, _S["extra_details"] - 1


_DEBIT = frozenset({"D", "d", "RC", "Rc", "rC", "rc"})


def _statement(message: Message, value: str) -> None:
    """A `:61:` line: a new entry (or, after an entry without a type code, more of that one)."""
    if value.find("\n", _STATEMENT_HEAD) >= 0:
        raise Unreadable(f"not a statement line: {value[:80]!r}")
    m = _STATEMENT.match(value)
    if m is None:
        raise Unreadable(f"not a statement line: {value[:80]!r}")
    g = m.groups()
    year, month, day = g[_YEAR], g[_MONTH], g[_DAY]
    if month == "02":  # the library's February-30 fix-up (its year is the two-digit one)
        last = calendar.monthrange(int(year, 10), 2)[1]
        if int(day, 10) > last:
            day = str(last)
    status = g[_STATUS]
    try:
        when = date(int(year) + 2000, int(month), int(day))
        text = g[_AMOUNT]
        amount = Decimal(text.replace(",", ".") if "," in text else text)
    except (ValueError, InvalidOperation):
        raise Unreadable(f"not a statement line: {value[:80]!r}") from None
    entry: Entry = {
        "amount": -amount if status in _DEBIT else amount,
        "currency": message.currency,
        "date": when,
        "id": g[_ID],
        "customer_reference": g[_CUSTOMER],
        "bank_reference": g[_BANK],
        "extra_details": g[_EXTRA],
    }
    entry_month, entry_day = g[_ENTRY_MONTH], g[_ENTRY_DAY]
    if entry_day and entry_month and entry_day.isdigit() and entry_month.isdigit():
        entry["entry_date"] = _entry_date(when, entry_month, entry_day)
    entries = message.entries
    if entries and not entries[-1]["id"]:
        entries[-1].update(entry)  # the library fills a transaction without a type code with the next :61:
    else:
        entries.append(entry)


def _entry_date(when: date, month: str, day: str) -> date:
    """The entry (booking) date in the year of the value date, or the year before or after."""
    entry = _date(str(when.year), month, day)
    if when > entry and (when - entry).days >= _YEAR_BOUNDARY_DAYS:
        return _date(str(entry.year + 1), str(entry.month), str(entry.day))
    if entry > when and (entry - when).days >= _YEAR_BOUNDARY_DAYS:
        return _date(str(entry.year - 1), str(entry.month), str(entry.day))
    return entry


#: what the lines take from the `?xx` sub-fields of a structured :86: (the library's DETAIL_KEYS with
#: `?31` under its own key); the other sub-fields it knows are dropped, and any other `?2x` is purpose
_ROUTES = {"20": 1, "00": 2, "31": 3, "32": 4, "33": 4, "": 0, "10": 0, "30": 0, "34": 0, "35": 0, "60": 0}
#: a `?` less than two characters before the next one: the library's character loop decides
_TIGHT = re.compile(r"\?[^?]?\?")


def _segments(details: str) -> dict[str, str]:
    """`?xx` sub-fields of a structured `:86:`, keyed as the library keys them (first place, last value;
    the text before the first `?` is left out: no line uses it)."""
    if _TIGHT.search(details) is not None:
        return _segments_exact(details)
    parts = details.split("?")
    if len(parts[-1]) < 2:
        parts.pop()  # a `?` in the last two characters ends the details
    return {part[:2]: part[2:] for part in parts[1:]}


def _segments_exact(details: str) -> dict[str, str]:
    """The library's character loop, for the rare details with `?` closer than two characters apart."""
    found: dict[str, str] = {}
    segment: list[str] = []
    segment_type = ""
    size = len(details)
    for index, char in enumerate(details):
        if char != "?":
            segment.append(char)
            continue
        if index + 2 >= size:
            break
        text = "".join(segment)
        if segment_type:
            found[segment_type] = text[2:]
        segment_type = details[index + 1] + details[index + 2]
        segment = []
    if segment_type:
        found[segment_type] = "".join(segment)[2:]
    return found


def _details(value: str) -> dict[str, Any]:
    """A `:86:` tag's fields: the raw text, or the structured sub-fields (`?20`, `SVWZ+` ...)."""
    details = value if value.isprintable() else "".join(value.splitlines())
    if _STRUCTURED.match(details) is None:
        return {"transaction_details": value}
    purpose = posting = names = iban = ""
    for key, text in _segments(details).items():
        route = _ROUTES.get(key, 5)
        if route == 1:
            purpose += text
        elif route == 2:
            posting += text
        elif route == 4:
            names += text
        elif route == 3:
            iban += text
        elif route == 5 and key[:1] == "2":
            for label in (" BIC", " IBAN"):  # a dangling label without its value
                if text.endswith(label):
                    text = text.removesuffix(label).rstrip()
                    break
            purpose += text
    if purpose and _GVC_ANY.search(purpose) is not None:
        result = _keywords(purpose)  # its purpose may be "" (`SVWZ+` and nothing after it)
        if result["purpose"]:
            result["purpose"] = result["purpose"].removesuffix(" BIC")
    else:
        result = {"purpose": purpose.removesuffix(" BIC") if purpose else None}
    result["posting_text"] = posting or None
    result["applicant_name"] = names or None
    result["applicant_iban"] = iban or None
    return result


def _keywords(purpose: str) -> dict[str, Any]:
    """SEPA keywords in a purpose (`EREF+...SVWZ+...`): text before the first keyword is dropped."""
    matches = list(_GVC.finditer(purpose))
    if not matches:
        return {"purpose": purpose, "end_to_end_reference": None, "customer_reference": None}
    found: dict[str, str] = {}
    for index, m in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(purpose)
        found[m.group(1)] = purpose[m.end():end]
    return {"purpose": found.get("SVWZ"), "end_to_end_reference": found.get("EREF"),
            "customer_reference": found.get("KREF")}


# --- from what the library reads to our lines ------------------------------------------------------

_TAG_61 = re.compile(r"^:61:", re.MULTILINE)
_ACCOUNT = re.compile(r"^:25:[ \t]*", re.MULTILINE)
_CURRENCY = re.compile(r"^:6[02][FM]:[CD]\d{6}([A-Z]{3})", re.MULTILINE)
#: a `:61:` whose amount went to the next line (seen in Sparkasse exports): join it back
_SPLIT_61 = re.compile(r"^(:61:\d{6}(?:\d{4})?R?[CD][A-Z]?)[ \t]*\r?\n(?=\d)", re.MULTILINE)
_SWIFT_FIELD = re.compile(r"/(EREF|BENM|ORDP|NAME|REMI|ISDT|IBAN|BIC|CSID|MARF|RTRN|ADDR|PREF|PURP|"
                          r"ULTC|ULTD|TRCD|BUSP|CDTRREF|CDTRREFTP|CD|SVCL|RTYP)/")
_IBAN_LIKE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{8,30}$")
_NO_REF = frozenset({"", "NONREF", "NOTPROVIDED"})
#: a `:86:` line is at most 65 characters; banks wrap at 64 or 65, mid-word, so a line that long
#: continues on the next one without a space
_WRAP = 64


def _join_details(text: str) -> str:
    """`:86:` lines as one text: a full-width line continues the word on the next line."""
    lines = text.split("\n")
    out = [lines[0]]
    for previous, line in zip(lines, lines[1:], strict=False):
        if len(previous) < _WRAP:
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


def _clean_ref(value: Any) -> str | None:
    if not value or not isinstance(value, str):
        return None
    if not value.isalnum():
        value = " ".join(value.split())
    return None if value.upper() in _NO_REF else value


def _to_line(entry: Entry, line: int, account_ref: str | None, currency: str | None) -> ParsedLine:
    get = entry.get
    if _JOINED in entry:
        entry = {key: value_of(entry, key) for key in entry}
        get = entry.get
    when: date = entry["date"]
    structured = get("purpose") or get("posting_text")
    name = get("applicant_name")
    counterparty_account = get("applicant_iban")
    reference = _clean_ref(get("end_to_end_reference"))
    description = " ".join(structured.split()) if isinstance(structured, str) else ""
    if not description:
        details = get("transaction_details")
        if isinstance(details, str):
            description = _join_details(details)
            if description.startswith("/"):
                fields = _swift_fields(description)
                if fields:
                    description = fields.get("REMI") or fields.get("NAME") or description
                    name = name or fields.get("NAME")
                    counterparty_account = counterparty_account or fields.get("IBAN")
                    reference = reference or _clean_ref(fields.get("EREF"))
    if isinstance(name, str):
        name = " ".join(name.split()) or None
    extra = entry["extra_details"]
    if not counterparty_account and isinstance(extra, str) and _IBAN_LIKE.match(extra.strip()):
        counterparty_account = extra.strip()  # Rabobank puts the counterparty IBAN after the :61: line
    return ParsedLine(line, get("entry_date") or when, entry["amount"], description, account_ref,
                      entry["currency"] or currency, when, _clean_ref(entry["bank_reference"]),
                      reference or _clean_ref(entry["customer_reference"]), name, counterparty_account or None)


def _line_numbers(text: str, first_line: int) -> list[int]:
    """The file line numbers of the `:61:` lines of a message, in order."""
    numbers = []
    line, pos = first_line, 0
    for m in _TAG_61.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        numbers.append(line)
    return numbers


def _account(text: str) -> str | None:
    """The first `:25:` value, trimmed."""
    m = _ACCOUNT.search(text)
    if m is None:
        return None
    end = text.find("\n", m.end())
    return text[m.end(): end if end >= 0 else len(text)].rstrip() or None


def _message_events(first_line: int, text: str) -> Iterator[ParseEvent]:
    numbers = _line_numbers(text, first_line)
    text = _SPLIT_61.sub(r"\1", text)
    account_ref = _account(text)
    m = _CURRENCY.search(text)
    currency = m.group(1) if m else None
    if account_ref:
        yield StatementAccount(account_ref=account_ref, currency=currency, line_number=first_line)
    try:
        message = read_message(text)
        ok = len(message.entries) == len(numbers)
    except Unreadable:
        ok = False
    if ok:
        currency = currency or message.currency
        for entry, line in zip(message.entries, numbers, strict=True):
            yield _to_line(entry, line, account_ref, currency)
        return
    # one transaction at a time: only the broken ones are rejected
    starts = [m.start() for m in _TAG_61.finditer(text)]
    for index, (pos, line) in enumerate(zip(starts, numbers, strict=True)):
        chunk = text[pos:starts[index + 1]] if index + 1 < len(starts) else text[pos:]
        first = chunk.split("\n", 1)[0].strip()
        try:
            one = read_message(chunk).entries
        except Unreadable as exc:
            yield LineError(line, INVALID_LINE, f"the :61: line cannot be read: {str(exc)[:200]}",
                            actual_value=first[:200], target=":61:")
            continue
        if len(one) != 1:
            yield LineError(line, INVALID_LINE, "the :61: line cannot be read", actual_value=first[:200],
                            target=":61:")
            continue
        yield _to_line(one[0], line, account_ref, currency)


def parse_mt940(source: Source, options: ParseOptions) -> Iterator[ParseEvent]:
    """Parse an MT940/MT942 file, one statement at a time."""
    with source.open() as raw:
        for first_line, text in _messages(raw):
            yield from _message_events(first_line, text)
