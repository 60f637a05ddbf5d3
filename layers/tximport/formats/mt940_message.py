"""One MT940 message (a statement, or the part of one from a `:61:` to the next), read tag by tag as
the mt-940 library (5.1.1, with every fix of its `Options.all()`) reads it, fast and in linear time.

`iter_entries` yields the transactions (`Entry`: the fields the library keys as `date`, `entry_date`,
`amount`, `currency`, `id`, `customer_reference`, `bank_reference`, `extra_details`,
`transaction_details`, `posting_text`, `purpose`, `applicant_name`, `applicant_iban`,
`end_to_end_reference`) and fills the message's balances and currency as it goes; it raises
`Unreadable` wherever the library raises (a tag that does not match its pattern, a date or an amount
that does not exist), and where a `:61:` amount is written with an exponent or is not followed by its
transaction type (SWIFT's mandatory `NTRF`, `N426` ...: the library reads on, and a damaged amount such as
`14x,48` would read as 14). The library itself is the oracle of the differential tests
(tests/unit/formats/test_mt940_oracle.py), which also check that the patterns below stay its own.

What makes it fast: a message is cleaned and cut into tags with a few C-level string operations;
the common `:61:` (one ASCII line) is matched by a simpler pattern whose groups equal the library's
where it matches; dates repeat and are cached; the structured `:86:` is split once. What keeps it
linear: strings that the library appends to again and again (`:86:` after `:86:`) are kept as parts
and joined once; a `:61:` value that cannot match (a newline after its bounded fields) is refused
before the pattern runs; long messages are cut into tags window by window.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

# The patterns below are the library's own (mt940.tags, 5.1.1).

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
#: the customer reference as SWIFT caps it (16x), and as some banks write it where it does not fit: ASN Bank writes
#: the counterparty's IBAN there (18 characters) and its details on the next line. Tried where the capped pattern
#: fails, so a line it reads is read as before.
_CAPPED_REFERENCE = r"(?P<customer_reference>((?!//)[^\n]){0,16})"
_STATEMENT_LONG_REFERENCE = re.compile(
    STATEMENT_PATTERN.replace(_CAPPED_REFERENCE, _CAPPED_REFERENCE.replace("{0,16}", "{0,34}")), _FLAGS)
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


class UnreadableAmount(Unreadable):
    """A `:61:` amount written with an exponent (`1E2`): SWIFT amounts are digits and a decimal comma, so the
    library's pattern would read `1` and take `E2..` for the transaction type; refused instead."""


class UntypedLine(Unreadable):
    """A `:61:` whose amount is not followed by its transaction type (see `_typed`)."""


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


def _append(entry: Entry, key: str, value: str) -> None:
    """A `:86:` field (a string): appended on a new line to a string the entry has, else set. (The
    library also merges the fields a structured `:86:` lacks, as None, which never replace a value
    and read as absent: they are left out.)"""
    existing = entry.get(key)
    if existing is None or not isinstance(existing, str):
        if type(existing) is Joined:
            existing.append(value.strip())
        else:
            entry[key] = value
    else:
        entry[key] = Joined((existing, value.strip()))
        entry[JOINED] = True


_ABSENT = object()
#: marks an entry holding a Joined value
JOINED = "\x00joined"


class Message:
    """What one message (or one `:61:` chunk of it) holds besides its entries."""

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


#: whitespace that ends a line before its newline (the library right-strips every line)
_TRAILING = (" \n", "\t\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


def clean(text: str) -> str:
    """The message as the library reads it: `\\r` dropped, lines right-stripped, blank and `-` lines
    dropped. A message that only ends in its `-` line is the common case, read without splitting."""
    body = text[:-3] if text.endswith("\n-\n") else text
    if (body.isascii() and "\r" not in body and "\n\n" not in body and "-\n" not in body
            and not body.startswith("\n") and not body.endswith(("\n", "-", " ", "\t"))
            and not any(mark in body for mark in _TRAILING)):
        return body
    if "\r" in text:
        text = text.replace("\r", "")
    return "\n".join([line for line in (raw.rstrip() for raw in text.split("\n"))
                      if line and line.lstrip() != "-"])


#: a long message is cut into tags a window of about this many characters at a time
_WINDOW = 1 << 20


def _tags(data: str) -> Iterator[tuple[str, str]]:
    """(tag, value) of each tag the library knows, in order (what stands before the first is left out)."""
    text = "\n" + data
    size = len(text)
    start = 0
    while start < size:
        end = size
        if size - start > _WINDOW:
            m = _TAG.search(text, start + _WINDOW)
            if m is not None:
                end = m.start()  # a window ends where a tag starts
        parts = _TAG.split(text[start:end] if start or end < size else text)
        yield from zip(parts[1::2], parts[2::2], strict=True)
        start = end


def iter_entries(text: str, message: Message, *, balances: bool = True) -> Iterator[Entry]:
    """Every transaction of an MT940 message (or part of one), as the mt-940 library reads it, each once
    no later tag can change it; `message` gets the balances and currency as they are read. Without
    `balances`, the balance tags (`:60F:`, `:62F:`, `:64:` ...) are skipped unread (each up to the next tag, as
    the library delimits it): a `:61:` read on its own is read so, since the balances after it are the
    statement's, not the line's.

    Raises Unreadable where the library raises: a tag that does not match its pattern, a date or an
    amount that does not exist; and where we part from it: a `:61:` amount with an exponent or not followed
    by a transaction type (`untyped`).
    """
    last: Entry | None = None
    for full, raw in _tags(clean(text)):
        value = raw.strip()
        if full == "61":
            if last is not None:
                yield last
            last = _statement(message, value)
        elif full == "86":
            if last is not None:
                _details(last, value)
        else:
            kind, key = _KINDS.get(full) or _KINDS[full[:2]]
            if kind == "balance":
                if balances:
                    message.add_balance(key, _balance(value))
            elif kind == "statement":
                if last is not None:
                    yield last
                last = _statement(message, value)
            elif kind == "details":
                if last is not None:
                    _details(last, value)
            elif kind != "free":
                _check(kind, key, value, message)
    if last is not None:
        yield last


def read_message(text: str) -> Message:
    """The message with all its entries (see `iter_entries`)."""
    message = Message()
    message.entries = list(iter_entries(text, message))
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
assert [_S[name] for name in ("year", "month", "day", "entry_month", "entry_day")] == [1, 2, 3, 4, 5]
_STATUS = _S["status"] - 1
_AMOUNT, _ID, _CUSTOMER = _S["amount"] - 1, _S["id"] - 1, _S["customer_reference"] - 1
_BANK, _EXTRA = _S["bank_reference"] - 1, _S["extra_details"] - 1


#: what follows a `:61:` amount written with an exponent (`1E2`, `1,5e-3`), before its transaction type (`NTRF`),
#: its bank reference or the end (a customer reference such as `E2E1` after an amount without a type is no exponent)
_EXPONENT = re.compile(r"[Ee][+-]?[0-9]+(?=[NFSnfs][A-Za-z0-9 ]{3}|//|\s*$)")

_DEBIT = frozenset({"D", "d", "RC", "Rc", "rC", "rc"})
#: the first letter of SWIFT's transaction type identification code (1!a3!c after the amount: `NTRF`, `N426`,
#: `FCHK`, `S103`)
_TYPE_MARKS = frozenset("NFSnfs")
#: a type code banks write with another first letter (`MCI0`): two capitals, then two capitals or digits (a capital
#: and a digit, `E2E1`, `X8N426`, right after the amount is an exponent or the rest of a damaged amount)
_OTHER_TYPE = re.compile(r"[A-Z]{2}[A-Z0-9]{2}")


#: spaces, then a transaction type, after a `:61:` amount (some German banks write one space between them)
_SPACED_TYPE = re.compile(r" +([NFSnfs][A-Za-z0-9]{3}|[A-Z]{2}[A-Z0-9]{2})")


def is_transaction_type(code: str) -> bool:
    """Whether the four characters after a `:61:` amount (the library's `id`) are a transaction type: N, F or S and
    three letters or digits (`NTRF`, `N426`, `ntrf`), or two capital letters and two capitals or digits (`MCI0`)."""
    return code[:1] in _TYPE_MARKS or _OTHER_TYPE.fullmatch(code) is not None


#: the common `:61:`: one line of printable ASCII, digits for the entry date, no space before the
#: amount, no single `/` in the customer reference. Where it matches, its groups are the library
#: pattern's (value date and entry date as one group); anything else goes to the library's pattern.
_STATEMENT_FAST = re.compile(
    r"(\d{10}|\d{6})(R?[DC])[A-Z]?([\d,]{1,15})([A-Z][A-Z0-9 ]{3})?([ -.0-~]{0,16})"
    r"(?://([ -~]{0,23})([ -~]*)|([ -.0-~]*))\Z", re.IGNORECASE | re.ASCII)


def _statement(message: Message, value: str) -> Entry:
    """A `:61:` line: a new entry. Read in the library's order (the amount, then the dates), then what we ask
    beyond it: a SWIFT amount (digits, a decimal comma) followed by its transaction type (see `untyped`)."""
    m = _STATEMENT_FAST.match(value)
    if m is not None:
        when, status, text, kind, customer, bank, extra, rest = m.groups()
        if bank is None:
            extra = rest
        key: Any = when
    else:
        if value.find("\n", _STATEMENT_HEAD) >= 0:
            raise Unreadable(f"not a statement line: {value[:80]!r}")
        m = _STATEMENT.match(value) or _STATEMENT_LONG_REFERENCE.match(value)
        if m is None:
            raise Unreadable(f"not a statement line: {value[:80]!r}")
        g = m.groups()
        status, text, kind, customer, bank, extra = (g[_STATUS], g[_AMOUNT], g[_ID], g[_CUSTOMER], g[_BANK],
                                                     g[_EXTRA])
        key = g[:5]
    end = m.end(3 if m.re is _STATEMENT_FAST else _AMOUNT + 1)
    exponent = _EXPONENT.match(value, end)
    if exponent is not None:
        raise UnreadableAmount(f"not an amount: {text + exponent.group()!r} (SWIFT amounts have no exponent)")
    try:
        amount = Decimal(text.replace(",", ".") if "," in text else text)
    except InvalidOperation:
        raise UnreadableAmount(f"not an amount: {text!r}") from None
    dates = _DATES.get(key)
    if dates is None:
        dates = _dates(key[:2], key[2:4], key[4:6], key[6:8] or None, key[8:10] or None) if type(key) is str \
            else _dates(*key)
        _remember(key, dates)
    if "," not in text or text[0] == ",":
        raise UnreadableAmount(f"not an amount: {text!r} (a SWIFT amount is digits, a decimal comma and its "
                               "decimals: the comma or the whole part is missing)")
    if not kind or (kind[0] not in _TYPE_MARKS and _OTHER_TYPE.fullmatch(kind) is None):  # is_transaction_type, inline
        spaced = _SPACED_TYPE.match(value, end)
        if spaced is not None:  # `D12,35 NRTI...`: the type after spaces (Commerzbank, Deutsche Bank)
            return _statement(message, value[:end] + value[spaced.start(1):])
        if not value.startswith("//", end):  # (no type, the bank reference right after the amount: it ends there)
            raise untyped(text, value[end:])
        kind = None
    entry: Entry = {
        "amount": -amount if status in _DEBIT else amount,
        "currency": message.currency,
        "date": dates[0],
        "id": kind,
        "customer_reference": customer,
        "bank_reference": bank,
        "extra_details": extra,
    }
    if dates[1] is not None:
        entry["entry_date"] = dates[1]
    if status[:1] == "R":  # RC / RD: the reversal of an earlier booking
        entry["reversal"] = True
    return entry


#: a transaction type soon after a `:61:` amount, behind what stands between them
_LATE_TYPE = re.compile(r"[^NFSnfs/\n]{1,3}[NFSnfs][A-Za-z0-9]{3}")


def looks_damaged(after: str) -> bool:
    """Whether what follows a `:61:` amount (with no transaction type right after it) looks like the rest of a
    damaged amount: a decimal sign within its first four characters (`x,48`), a digit before a type that follows
    within four (`x8N426`), or digits after a space or a sign (` 8NTRF`)."""
    head = after.split("//", 1)[0].split("\n", 1)[0]  # (what the library would read as id or customer ref)
    late = _LATE_TYPE.match(head)
    if late is not None and any(c.isdigit() or c in ",." for c in head[:late.end() - 4]):
        return True
    head = head[:4]
    return "," in head or "." in head or bool(head[:1] and not head[0].isalpha() and any(c.isdigit() for c in head))


def untyped(amount: str, after: str) -> Unreadable:
    """Why a `:61:` whose amount is not followed by a transaction type (`is_transaction_type`, mandatory in SWIFT)
    does not read. The library reads whatever follows as the customer reference, so a damaged
    amount (`D14x,48N426`) would book 14.00 for 141.48: where the amount seems to go on (a decimal sign within
    the four characters that follow, or digits after a space or a sign), the amount is unreadable; else the line
    lacks its type."""
    if looks_damaged(after):
        return UnreadableAmount(f"not an amount: {amount!r} is followed by {after[:12]!r}, not by a transaction "
                                "type such as NTRF (the amount may be damaged)")
    return UntypedLine(f"the amount {amount!r} is followed by {after[:12]!r}, not by a transaction type "
                       "(N, F or S and three letters or digits, such as NTRF, or two capital letters and two capitals "
                       "or digits, such as MCI0)")


#: the date fields of a `:61:` (as one string, or the library pattern's five groups) -> (value date,
#: entry date): a file repeats them
_DATES: dict[Any, tuple[date, date | None]] = {}
_DATES_KEPT = 4096


def _remember(key: Any, dates: tuple[date, date | None]) -> None:
    if len(_DATES) >= _DATES_KEPT:
        _DATES.clear()
    _DATES[key] = dates


def _dates(year: str, month: str, day: str, entry_month: str | None, entry_day: str | None
           ) -> tuple[date, date | None]:
    """The value date (February 30 moved to the month's last day, as the library does, by the
    two-digit year) and the entry date in the year of the value date, or the year before or after."""
    if month == "02":
        last = calendar.monthrange(int(year, 10), 2)[1]
        if int(day, 10) > last:
            day = str(last)
    when = _date(year, month, day)
    if not (entry_day and entry_month and entry_day.isdigit() and entry_month.isdigit()):
        return when, None
    entry = _date(str(when.year), entry_month, entry_day)
    if when > entry and (when - entry).days >= _YEAR_BOUNDARY_DAYS:
        entry = _date(str(entry.year + 1), str(entry.month), str(entry.day))
    elif entry > when and (entry - when).days >= _YEAR_BOUNDARY_DAYS:
        entry = _date(str(entry.year - 1), str(entry.month), str(entry.day))
    return when, entry


#: a `?xx` sub-field with its text up to the next `?`. The library's loop takes every `?` outside the
#: last two characters as a sub-field, keyed by the two characters after it: a `?` less than two
#: characters before the next one gives a key holding that `?` and an empty text, which no line uses,
#: so leaving those out reads the same.
_SUBFIELD = re.compile(r"\?([^?]{2})([^?]*)")
#: marks an entry a `:86:` was merged into
_DETAILED = "\x00details"


def _details(entry: Entry, value: str) -> None:
    """A `:86:` tag: its raw text, or the structured sub-fields (`?20`, `SVWZ+` ...), into the entry.

    The `?xx` sub-fields are keyed as the library keys them (a repeated one keeps its first place and
    its last text); the lines take `?20`-`?29` (purpose), `?00` (posting text), `?31` (IBAN) and
    `?32`/`?33` (name), the library's DETAIL_KEYS with `?31` under its own key.
    """
    details = value if value.isprintable() else "".join(value.splitlines())
    if _STRUCTURED.match(details) is None:
        _append(entry, "transaction_details", value)
        entry[_DETAILED] = True
        return
    purpose = posting = names = iban = ""
    for key, text in dict(_SUBFIELD.findall(details)).items():
        if key[0] == "2":
            if key != "20":  # a dangling label without its value goes
                if text.endswith(" BIC"):
                    text = text[:-4].rstrip()
                elif text.endswith(" IBAN"):
                    text = text[:-5].rstrip()
            purpose += text
        elif key == "00":
            posting += text
        elif key == "32" or key == "33":
            names += text
        elif key == "31":
            iban += text
    keywords = _keywords(purpose) if purpose and "+" in purpose else None
    if _DETAILED not in entry:
        entry[_DETAILED] = True
        if keywords is None:
            if purpose:
                entry["purpose"] = purpose.removesuffix(" BIC")
        else:
            _add_keywords(entry, keywords)
        if posting:
            entry["posting_text"] = posting
        if names:
            entry["applicant_name"] = names
        if iban:
            entry["applicant_iban"] = iban
        return
    if keywords is None:
        if purpose:
            _append(entry, "purpose", purpose.removesuffix(" BIC"))
    else:
        _add_keywords(entry, keywords)
    if posting:
        _append(entry, "posting_text", posting)
    if names:
        _append(entry, "applicant_name", names)
    if iban:
        _append(entry, "applicant_iban", iban)


def _add_keywords(entry: Entry, keywords: dict[str, str | None]) -> None:
    for key, text in keywords.items():
        if text is not None:
            _append(entry, key, text.removesuffix(" BIC") if key == "purpose" else text)


def _keywords(purpose: str) -> dict[str, Any]:
    """SEPA keywords in a purpose (`EREF+...SVWZ+...`): text before the first keyword is dropped. (The
    library looks for them when one of the words stands in the purpose; without a `+` after it that
    changes nothing, so a `+` is what is looked for first.)"""
    matches = list(_GVC.finditer(purpose))
    if not matches:
        return {"purpose": purpose, "end_to_end_reference": None, "customer_reference": None}
    found: dict[str, str] = {}
    for index, m in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(purpose)
        found[m.group(1)] = purpose[m.end():end]
    return {"purpose": found.get("SVWZ"), "end_to_end_reference": found.get("EREF"),
            "customer_reference": found.get("KREF")}


