"""`JSON#v0`: transactions as a JSON document, read as a stream, so its size is bounded only by the
format's `maxFileSize`, not by memory.

Two shapes (JSON schema in `JSON_SCHEMA`)::

    {"bankAccounts": [{"accountIdentifier": "DE89370400440532013000", "currency": "EUR",
                       "transactions": [{"transactionId": "tx-1", "datePosted": "2024-01-31",
                                         "amount": "-12.50", "description": "Coffee"}]}]}

    {"accountIdentifier": "optional", "currency": "EUR", "transactions": [ ... ]}   # one account

A transaction: `datePosted` (required, `YYYY-MM-DD`, a time part is ignored), `amount` (required, a
string like `"-12.50"` or a JSON number, read exactly as written -- never through float; signed,
positive is money in; with `creditDebit` the absolute amount takes that sign), `description`
(or `text`), `transactionId`, `valueDate`, `reference`, `counterpartyName`, `counterpartyAccount`,
`currency`, `balance`, `originalAmount`, `originalCurrency`, `pending`. Other keys are ignored.

A transaction that breaks the schema is rejected with one LineError: its `target` is the JSONPath of
the offending value (`$.bankAccounts[0].transactions[3].amount`) and its `lineNumber` the 1-based
position of the transaction in the file (counted over all accounts). An amount the ledger cannot
store exactly (more than 38 significant digits, a magnitude outside 1E-130 .. 9.99E+125, a number of
thousands of digits) is such a rejected line (`InvalidAmount`). A document that is not JSON, or not one
of the two shapes, raises FileError InvalidSourceData.

How it is read: the structure around the transactions (the document, `bankAccounts`, each account's
keys) is walked value by value; the transactions are decoded by the standard library's C JSON scanner,
a block of the text at a time (every transaction that ends in the block, in one call) or, where a
block does not decode as a whole (a syntax error, a transaction cut at the block's end), one
transaction at a time. A block of transactions of one shape whose values all have the common forms
(dates `YYYY-MM-DD`, plain amount strings, text) becomes its lines column by column; any other goes
through the checks one transaction at a time. Limits, each a FileError: one value read whole (a
transaction, an account key) larger than 8 MiB `ElementTooLarge`; nesting deeper than 256 levels
around the transactions, or deeper than the interpreter's recursion limit (about 1,000) inside one,
`NestingTooDeep`. Numbers are bounded before they are converted (an integer of more than 4,300 digits
is read as a Decimal and rejected as an amount, an exponent beyond what Decimal holds is an unreadable
number), so no number can stop the process.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterator
from datetime import date
from decimal import Context, Decimal, InvalidOperation
from itertools import repeat
from operator import itemgetter
from typing import IO, Any

from tximport.formats.base import (
    ELEMENT_TOO_LARGE,
    EMPTY_FILE,
    INVALID_AMOUNT,
    INVALID_DATE,
    INVALID_LINE,
    INVALID_SOURCE_DATA,
    NESTING_TOO_DEEP,
    REQUIRED_VALUE_MISSING,
    AmountPlaces,
    FileError,
    LineError,
    ParsedLine,
    ParseEvent,
    ParseOptions,
    Source,
    StatementAccount,
)
from tximport.formats.encoding import SAMPLE_SIZE, detect_encoding, guarded, nfc, open_text, read_sample

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ].*)?")
_AMOUNT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_CURRENCY = re.compile(r"[A-Z]{3}")


_TRANSACTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["datePosted", "amount"],
    "properties": {
        "transactionId": {"type": ["string", "integer"]},
        "datePosted": {"type": "string", "format": "date"},
        "amount": {"type": ["string", "number"], "pattern": "^[+-]?[0-9]+(\\.[0-9]+)?$"},
        "creditDebit": {"enum": ["credit", "debit"]},
        "description": {"type": "string"},
        "text": {"type": "string", "description": "alias of description"},
        "valueDate": {"type": "string", "format": "date"},
        "reference": {"type": "string"},
        "counterpartyName": {"type": "string"},
        "counterpartyAccount": {"type": "string"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "balance": {"type": ["string", "number"]},
        "originalAmount": {"type": ["string", "number"]},
        "originalCurrency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "pending": {"type": "boolean"},
    },
}

#: JSON schema of a JSON#v0 file (served in GET /fileformats)
JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "JSON#v0 statement",
    "type": "object",
    "oneOf": [
        {"required": ["bankAccounts"]},
        {"required": ["transactions"]},
    ],
    "properties": {
        "bankAccounts": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["accountIdentifier", "transactions"],
                "properties": {
                    "accountIdentifier": {"type": "string", "minLength": 1},
                    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                    "transactions": {"type": "array", "items": _TRANSACTION_SCHEMA},
                },
            },
        },
        "accountIdentifier": {"type": "string"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "transactions": {"type": "array", "items": _TRANSACTION_SCHEMA},
    },
}

TEMPLATE = (
    "tximport.json",
    "application/json",
    '{"bankAccounts": [{"accountIdentifier": "DE89370400440532013000", "currency": "EUR",\n'
    '  "transactions": [\n'
    '    {"transactionId": "tx-0001", "datePosted": "2024-01-31", "amount": "2500.00",'
    ' "description": "Salary January", "counterpartyName": "ACME Corp"},\n'
    '    {"transactionId": "tx-0002", "datePosted": "2024-02-01", "amount": "-950.00",'
    ' "description": "Rent February", "valueDate": "2024-02-02"}\n'
    "  ]}]}\n",
)


# --- values ---------------------------------------------------------------------------------------

#: integers longer than this are not converted to int (Python refuses them, and C code that converts
#: them may not survive the refusal): they are read as Decimal, which the amount check then rejects
_MAX_INT_DIGITS = 4300
#: DynamoDB numbers: at most 38 significant digits, magnitudes from 1E-130 up to 9.99...E+125
_MAX_SIGNIFICANT = 38
_MIN_ADJUSTED, _MAX_ADJUSTED = -130, 125
#: arithmetic on amounts without rounding (the default context keeps 28 digits)
_EXACT = Context(prec=200)


class _Unreadable:
    """A JSON number Decimal cannot hold (an exponent beyond its range): rejected where it is used."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text if len(self.text) <= 60 else self.text[:28] + "..." + self.text[-28:]


def _int(text: str) -> int | Decimal:
    return int(text) if len(text) <= _MAX_INT_DIGITS else Decimal(text)


def _real(text: str) -> Decimal | _Unreadable:
    try:
        return Decimal(text)
    except InvalidOperation:
        return _Unreadable(text)


def _constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:28] + "..." + text[-28:]


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    return None


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
    elif isinstance(value, str) and _AMOUNT.fullmatch(value.strip()):
        amount = Decimal(value.strip())
    else:
        raise ValueError(f"not an amount (expected a string like \"-12.50\" or a number): {_shown(value)}")
    if not amount.is_finite():  # pragma: no cover - neither JSON nor the pattern admit one
        raise ValueError(f"not an amount: {_shown(value)}")
    if amount:
        digits = amount.as_tuple().digits
        significant = len(digits)
        if significant > _MAX_SIGNIFICANT:  # trailing zeros are not significant
            significant = len("".join(map(str, digits)).rstrip("0"))
        if significant > _MAX_SIGNIFICANT:
            raise ValueError(f"the amount {_shown(value)} has {significant} significant digits; the ledger stores "
                             f"at most {_MAX_SIGNIFICANT}")
        if not _MIN_ADJUSTED <= amount.adjusted() <= _MAX_ADJUSTED:
            raise ValueError(f"the amount {_shown(value)} is outside what the ledger stores (magnitudes from "
                             "1E-130 to 9.99E+125)")
    if amount.as_tuple().exponent > 0:  # type: ignore[operator]
        amount = amount.quantize(Decimal(1), context=_EXACT)  # `1e2` is 100, not 1E+2
    return amount


def _date(value: Any) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value.strip()):
        raise ValueError(f"not a date in YYYY-MM-DD form: {_shown(value)}")
    return date.fromisoformat(value.strip()[:10])


def _transaction(raw: Any, path: str, number: int, account: str | None,
                 account_currency: str | None) -> ParsedLine | LineError:
    """Validate one transaction object; the first problem rejects it."""
    if not isinstance(raw, dict):
        return LineError(number, INVALID_LINE, "A transaction must be a JSON object.",
                         actual_value=str(raw)[:500], target=path)

    def error(code: str, key: str, message: str) -> LineError:
        value = raw.get(key)
        return LineError(number, code, message, actual_value=None if value is None else str(value)[:500],
                         target=f"{path}.{key}")

    if raw.get("datePosted") in (None, ""):
        return error(REQUIRED_VALUE_MISSING, "datePosted", "datePosted is required.")
    try:
        posted = _date(raw["datePosted"])
    except ValueError as exc:
        return error(INVALID_DATE, "datePosted", str(exc))
    if raw.get("amount") in (None, ""):
        return error(REQUIRED_VALUE_MISSING, "amount", "amount is required.")
    try:
        amount = _decimal(raw["amount"])
    except ValueError as exc:
        return error(INVALID_AMOUNT, "amount", str(exc))
    direction = raw.get("creditDebit")
    if direction is not None:
        if direction not in ("credit", "debit"):
            return error(INVALID_AMOUNT, "creditDebit", "creditDebit must be \"credit\" or \"debit\".")
        # exactly (abs() and unary minus round to the context's 28 digits); -0 stays unsigned as before
        amount = amount.copy_abs() if direction == "credit" else amount.copy_abs().copy_negate() if amount else (
            -abs(amount))
    line = ParsedLine(number, posted, amount, "", account_ref=account, currency=account_currency)
    description = raw.get("description", raw.get("text"))
    if description is not None:
        if not isinstance(description, str):
            key = "description" if "description" in raw else "text"
            return error(INVALID_LINE, key, "description must be a string.")
        line.description = nfc(description.strip())
    for key, attr in (("transactionId", "bank_transaction_id"), ("reference", "reference"),
                      ("counterpartyName", "counterparty_name"),
                      ("counterpartyAccount", "counterparty_account")):
        if raw.get(key) is not None:
            text = _text(raw[key])
            if text is None:
                return error(INVALID_LINE, key, f"{key} must be a string.")
            setattr(line, attr, nfc(text.strip()) or None)
    for key, attr in (("currency", "currency"), ("originalCurrency", "original_currency")):
        if raw.get(key) is not None:
            if not isinstance(raw[key], str) or not _CURRENCY.fullmatch(raw[key].strip().upper()):
                return error(INVALID_LINE, key, f"{key} must be a three-letter ISO 4217 code.")
            setattr(line, attr, raw[key].strip().upper())
    if raw.get("valueDate") not in (None, ""):
        try:
            line.value_date = _date(raw["valueDate"])
        except ValueError as exc:
            return error(INVALID_DATE, "valueDate", str(exc))
    for key, attr in (("balance", "balance"), ("originalAmount", "original_amount")):
        if raw.get(key) not in (None, ""):
            try:
                setattr(line, attr, _decimal(raw[key]))
            except ValueError as exc:
                return error(INVALID_AMOUNT, key, str(exc))
    if raw.get("pending") is not None:
        if not isinstance(raw["pending"], bool):
            return error(INVALID_LINE, "pending", "pending must be true or false.")
        line.pending = raw["pending"]
    return line


# --- the text and its values -------------------------------------------------------------------------

_CHUNK = 1 << 16  # (blocks of a few hundred transactions: made at once, they die young)
#: a value read whole (a transaction, an account key's value) may be this large, in characters
MAX_ELEMENT = 8 << 20
#: nesting around the transactions (the walker's own recursion)
MAX_DEPTH = 256
_WHITESPACE = re.compile(r"[ \t\n\r]*")
#: a `\u` escape of a surrogate (only those can decode to a lone surrogate)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: an error this close to the end of the text read so far may be a value cut by the block's end
_CUT_MARGIN = 16


#: what may follow a number in a JSON text only as a malformed part of it (a digit can follow one only after a
#: leading zero, `00`: the `0` is read as the value, and the digit then fails as anything else would after a value,
#: as ijson reads it)
_NUMBER_GOES_ON = frozenset("eE.+-")


def _no_surrogates(value: Any) -> Any:
    """A string with each lone surrogate (a `\\ud800` escape without its pair) as `?`, as our earlier
    reader gave them (they cannot be stored as UTF-8); dicts have their string values cleaned."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("?", value)
    if isinstance(value, dict):
        return {key: _LONE_SURROGATE.sub("?", item) if isinstance(item, str) else item
                for key, item in value.items()}
    if isinstance(value, list):
        return [_no_surrogates(item) for item in value]
    return value


class _Text:
    """The document as text read in blocks, with the C JSON scanner over it. `pos` is the position in
    `buf`; `offset` the position of `buf` in the document (for messages)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.buf = ""
        self.pos = 0
        self.offset = 0
        #: the line breaks of the text before `buf`, and where its last line starts (where an error is, as an
        #: editor shows it)
        self.breaks = 0
        self.line_start = 0
        self.eof = False
        self.scan = json.scanner.make_scanner(  # type: ignore[attr-defined]
            json.JSONDecoder(parse_float=_real, parse_int=_int, parse_constant=_constant))
        self.fill()
        if self.buf.startswith("\ufeff"):
            self.pos = 1

    def fill(self) -> bool:
        """Read more text (at least as much as is held, so a value read again and again costs a
        geometric sum); False at the end."""
        if self.eof:
            return False
        rest = self.buf[self.pos:]
        chunk = self.stream.read(max(_CHUNK, len(rest)))
        self.breaks += self.buf.count("\n", 0, self.pos)
        last = self.buf.rfind("\n", 0, self.pos)
        if last >= 0:
            self.line_start = self.offset + last + 1
        self.offset += self.pos
        self.buf, self.pos = rest + chunk, 0
        if not chunk:
            self.eof = True
        return bool(chunk)

    def error(self, message: str, code: str = INVALID_SOURCE_DATA) -> FileError:
        at = self.offset + self.pos
        line = self.breaks + self.buf.count("\n", 0, self.pos) + 1
        last = self.buf.rfind("\n", 0, self.pos)
        column = at - (self.offset + last + 1 if last >= 0 else self.line_start) + 1
        return FileError(code, f"The file is not valid JSON: {message} (line {line}, column {column}; character "
                         f"{at + 1}).", details={"offset": at, "lineNumber": line, "column": column})

    def peek(self) -> str:
        """The next character after whitespace ('' at the end)."""
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def expect(self, char: str, what: str) -> None:
        if self.peek() != char:
            raise self.error(f"expected {what}")
        self.pos += 1

    def value(self) -> Any:
        """The value at the position, read whole (at most MAX_ELEMENT characters)."""
        if not self.peek():
            raise self.error("unexpected end of the document")
        while True:
            buf, pos = self.buf, self.pos
            try:
                value, end = self.scan(buf, pos)
            except StopIteration as stop:
                if self._more(pos, stop.value):
                    continue
                raise self.error("expected a value") from None
            except json.JSONDecodeError as exc:
                if self._more(pos, exc.pos if not exc.msg.startswith("Unterminated string") else len(buf)):
                    continue
                self.pos = exc.pos
                raise self.error(exc.msg) from None
            except RecursionError:
                raise self.error("nested too deeply", NESTING_TOO_DEEP) from None
            except ValueError as exc:  # NaN, Infinity
                raise self.error(str(exc)) from None
            if end >= len(buf) and self._more(pos, end):
                continue  # a number (or literal) may go on in the next block
            if end - pos > MAX_ELEMENT:
                raise self.error(f"a value larger than {MAX_ELEMENT >> 20} MiB", ELEMENT_TOO_LARGE)
            if end < len(buf) and buf[end] in _NUMBER_GOES_ON and not isinstance(value, str | dict | list):
                self.pos = end  # `0E`, `1.`, `1e+`: the scanner stops before a number's broken part
                raise self.error("a malformed number")
            self.pos = end
            if _SURROGATE_ESCAPE.search(buf, pos, end):
                value = _no_surrogates(value)
            return value

    def _more(self, start: int, failed_at: int) -> bool:
        """Whether a value starting at `start` that failed at `failed_at` may be cut by the block's
        end: then more text is read (True), up to the element limit."""
        if self.eof or failed_at < len(self.buf) - _CUT_MARGIN:
            return False
        if len(self.buf) - start > MAX_ELEMENT:
            self.pos = start
            raise self.error(f"a value larger than {MAX_ELEMENT >> 20} MiB", ELEMENT_TOO_LARGE)
        self.pos = start
        self.fill()
        return True

    def block(self) -> list[Any] | None:
        """Every whole element of the array being read that ends in the text held, in one scan; None
        when they do not decode as a whole (the caller reads one element then)."""
        buf, pos = self.buf, self.pos
        cut = buf.rfind("}", pos)
        for _ in range(8):  # the last `}` that closes an element (`},` or `}]` follows)
            if cut < pos:
                return None
            after = _WHITESPACE.match(buf, cut + 1).end()  # type: ignore[union-attr]
            if after < len(buf) and buf[after] in ",]":
                break
            cut = buf.rfind("}", pos, cut)
        else:
            return None
        if cut - pos > MAX_ELEMENT:  # (a block this long may hold an element over the limit)
            return None
        text = "[" + buf[pos:cut + 1] + "]"
        try:
            values, end = self.scan(text, 0)
        except (StopIteration, ValueError, RecursionError):
            return None
        if end != len(text):  # the array ended inside the block: read on element by element
            return None
        self.pos = cut + 1
        if _SURROGATE_ESCAPE.search(text):
            values = _no_surrogates(values)
        return values  # type: ignore[no-any-return]

    def skip(self, depth: int) -> None:
        """Pass over the value at the position without holding it whole (containers member by member)."""
        char = self.peek()
        if not char or char not in "[{":
            self.value()
            return
        if depth > MAX_DEPTH:
            raise self.error(f"nested deeper than {MAX_DEPTH} levels", NESTING_TOO_DEEP)
        if char == "[":
            for _ in self.items():
                self.skip(depth + 1)
        else:
            for _ in self.members():
                self.skip(depth + 1)

    def items(self) -> Iterator[int]:
        """Walk an array: yields at each element (the caller reads it) its index."""
        self.expect("[", "'['")
        if self.peek() == "]":
            self.pos += 1
            return
        index = 0
        while True:
            yield index
            index += 1
            char = self.peek()
            self.pos += 1
            if char == "]":
                return
            if char != ",":
                self.pos -= 1
                raise self.error("expected ',' or ']'")

    def members(self) -> Iterator[str]:
        """Walk an object: yields at each member (the caller reads its value) its key."""
        self.expect("{", "'{'")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            if self.peek() != '"':
                raise self.error("expected a key in double quotes")
            key = self.value()
            self.expect(":", "':'")
            yield key
            char = self.peek()
            self.pos += 1
            if char == "}":
                return
            if char != ",":
                self.pos -= 1
                raise self.error("expected ',' or '}'")


# --- the document ----------------------------------------------------------------------------------

#: the keys a block of transactions may have to be made column by column
_FAST_KEYS = frozenset({"transactionId", "datePosted", "amount", "description", "text", "reference",
                        "counterpartyName", "counterpartyAccount", "valueDate"})
#: amounts (each ending with a newline) that Decimal reads as they are; at most 38 characters long (so
#: the ledger stores them, and the pattern's backtracking within a line stays short), checked first
_PLAIN_AMOUNTS = re.compile(r"(?:[+-]?[0-9]+\.?[0-9]*\n)*")
_NONE_IF_EMPTY = {"": None}.get
#: a column of None (a field the transactions do not have)
_NONE_COLUMN = repeat(None)
_STRIP = str.strip
#: date texts kept with their dates (a file repeats them)
_DATES_KEPT = 4096
_NOT_OBJECT = "A JSON#v0 file must be a JSON object with 'bankAccounts' or 'transactions'."


def _some_date(text: str) -> date | None:
    if not text or not _DATE.fullmatch(text.strip()):
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


class _Reader:
    """Walks a JSON#v0 document (see the module doc); with `headers_only`, the pass that finds each
    account's accountIdentifier and currency for files that write them after the transactions (it
    reads every value, so a JSON error anywhere ends it, but it is silent about the shape)."""

    def __init__(self, text: _Text, source: Source, encoding: str, headers_only: bool = False,
                 places: AmountPlaces | None = None) -> None:
        self.text = text
        #: told where each transactions array starts (the amount's place of each line follows from it)
        self.places = places if places is not None else AmountPlaces()
        self.source = source
        self.encoding = encoding
        self.headers_only = headers_only
        self.number = 0
        self.account_index = -1
        self.tx_index = -1
        self.account: dict[str, Any] = {}
        self.top: dict[str, Any] = {}
        self.announced: set[int] = set()
        self.headers: dict[int, dict[str, Any]] | None = None
        self.found: dict[int, dict[str, Any]] = {}  # headers_only: what it finds
        self.shape_seen = False
        self.block_from = 0  # no block is tried before this offset (one failed there)
        self.dates: dict[str, date | None] = {}

    def shape_error(self, message: str, target: str) -> FileError:
        return FileError(INVALID_SOURCE_DATA, message, target=target)

    def document(self) -> Iterator[list[ParseEvent]]:
        """The document's events, a list at a time (one generator frame per block, not per event)."""
        text = self.text
        if text.peek() != "{":
            if text.peek() and text.peek() not in '["-0123456789tfn':
                raise text.error("expected a value")
            raise FileError(INVALID_SOURCE_DATA, _NOT_OBJECT)
        for key in text.members():
            if key == "bankAccounts":
                yield from self.accounts()
            elif key == "transactions":
                if text.peek() != "[":
                    if not self.headers_only:
                        raise self.shape_error("$.transactions must be an array.", "$.transactions")
                    text.skip(1)
                    continue
                self.shape_seen = True
                yield from self.transactions(multi=False)
            elif key in ("accountIdentifier", "currency") and text.peek() not in "[{":
                self.top[key] = text.value()
            else:
                text.skip(1)
        if text.peek():
            raise text.error("more after the document's end")
        if not self.shape_seen and not self.headers_only:
            raise FileError(INVALID_SOURCE_DATA, "A JSON#v0 file needs 'bankAccounts' or 'transactions'.")

    def accounts(self) -> Iterator[list[ParseEvent]]:
        text = self.text
        if text.peek() != "[":
            if not self.headers_only:
                raise self.shape_error("$.bankAccounts must be an array.", "$.bankAccounts")
            text.skip(1)
            return
        self.shape_seen = True
        for _ in text.items():
            if text.peek() != "{":
                if not self.headers_only:
                    where = f"$.bankAccounts[{self.account_index + 1}]"
                    raise self.shape_error(f"{where} must be an object.", where)
                text.skip(2)
                continue
            self.account_index += 1
            self.account = {}
            self.tx_index = -1
            yield from self.account_members()
            if self.headers_only:
                self.found[self.account_index] = self.account
            elif self.account_index not in self.announced:
                ident, currency = self.account_of(True)
                self.announced.add(self.account_index)
                yield [StatementAccount(ident or "", currency=currency)]

    def account_members(self) -> Iterator[list[ParseEvent]]:
        text = self.text
        for key in text.members():
            if key == "transactions":
                if text.peek() != "[":
                    if not self.headers_only:
                        where = f"$.bankAccounts[{self.account_index}].transactions"
                        raise self.shape_error(f"{where} must be an array.", where)
                    text.skip(3)
                    continue
                self.tx_index = -1
                yield from self.transactions(multi=True)
            elif key in ("accountIdentifier", "currency") and text.peek() not in "[{":
                self.account[key] = text.value()
            else:
                text.skip(3)

    def account_of(self, multi: bool) -> tuple[str | None, str | None]:
        info = self.account if multi else self.top
        if multi and "accountIdentifier" not in info:
            if self.headers is None:
                with open_text(self.source, self.encoding) as stream:
                    finder = _Reader(_Text(stream), self.source, self.encoding, headers_only=True)
                    for _event in finder.document():
                        pass  # pragma: no cover - the headers pass yields nothing
                self.headers = finder.found
            info = self.headers.get(self.account_index, {})
        ident, currency = info.get("accountIdentifier"), info.get("currency")
        path = f"$.bankAccounts[{self.account_index}]" if multi else "$"
        if multi and (not isinstance(ident, str) or not ident.strip()):
            raise FileError(INVALID_SOURCE_DATA, f"{path}.accountIdentifier is required (a non-empty string).",
                            target=f"{path}.accountIdentifier")
        if ident is not None and not isinstance(ident, str):
            raise FileError(INVALID_SOURCE_DATA, f"{path}.accountIdentifier must be a string.",
                            target=f"{path}.accountIdentifier")
        if currency is not None and not (isinstance(currency, str) and _CURRENCY.fullmatch(currency)):
            raise FileError(INVALID_SOURCE_DATA, f"{path}.currency must be a three-letter ISO 4217 code.",
                            target=f"{path}.currency")
        return (ident.strip() if ident else None), currency

    def transactions(self, multi: bool) -> Iterator[list[ParseEvent]]:
        """The elements of a transactions array, a block at a time where they decode as one."""
        text = self.text
        text.expect("[", "'['")
        if not self.headers_only:
            self.places.array(self.number + 1, f"$.bankAccounts[{self.account_index}].transactions" if multi
                              else "$.transactions")
        if text.peek() == "]":
            text.pos += 1
            return
        while True:
            collecting = gc.isenabled()
            gc.disable()  # what a block makes stays alive until it is handed on: collecting it only costs time
            try:
                events = self.next_events(multi)
            finally:
                if collecting:
                    gc.enable()
            if events:
                yield events
            char = text.peek()
            text.pos += 1
            if char == "]":
                return
            if char != ",":
                text.pos -= 1
                raise text.error("expected ',' or ']'")

    def next_events(self, multi: bool) -> list[ParseEvent]:
        """The events of the next block of elements (or the next element)."""
        text = self.text
        values = None
        if text.offset + text.pos >= self.block_from:
            values = text.block()
            if values is None:  # read on one element at a time up to the end of what is held
                self.block_from = text.offset + len(text.buf)
        if values is None:
            values = [text.value()]
        return [] if self.headers_only else self.lines(values, multi)

    def lines(self, values: list[Any], multi: bool) -> list[ParseEvent]:
        """The events of consecutive transactions of one array."""
        ident, currency = self.account_of(multi)
        key = self.account_index if multi else -1
        out: list[ParseEvent] = []
        if ident is not None and key not in self.announced:
            self.announced.add(key)
            out.append(StatementAccount(ident, currency=currency, line_number=self.number + 1))
        made = self.columns(values, ident, currency) if len(values) > 1 else None
        if made is not None:
            self.number += len(values)
            self.tx_index += len(values)
            out.extend(made)
            return out
        for value in values:
            self.number += 1
            self.tx_index += 1
            path = (f"$.bankAccounts[{self.account_index}].transactions[{self.tx_index}]" if multi
                    else f"$.transactions[{self.tx_index}]")
            out.append(_transaction(value, path, self.number, ident, currency))
        return out

    def columns(self, values: list[Any], ident: str | None, currency: str | None) -> list[ParsedLine] | None:
        """The lines of transactions of one shape whose values all have the common forms, made column
        by column; None when one does not (they go through `_transaction` one by one)."""
        if set(map(type, values)) != {dict} or len(set(map(len, values))) != 1:
            return None
        keys = values[0].keys()
        if not _FAST_KEYS.issuperset(keys) or "datePosted" not in keys or "amount" not in keys:
            return None
        try:  # every dict has as many keys as the first, and each of its keys: the same keys
            columns = {key: list(map(itemgetter(key), values)) for key in keys}
        except KeyError:
            return None
        posted = self.column_dates(columns["datePosted"])
        amounts = columns["amount"]
        if posted is None or set(map(type, amounts)) != {str} or max(map(len, amounts)) > _MAX_SIGNIFICANT or (
                not _PLAIN_AMOUNTS.fullmatch("\n".join(amounts) + "\n")):
            return None
        value_dates: Any = _NONE_COLUMN
        if "valueDate" in keys:
            value_dates = self.column_dates(columns["valueDate"])
            if value_dates is None:
                return None
        described = "description" if "description" in keys else "text" if "text" in keys else None
        descriptions: Any = _column_texts(columns[described], empty=True) if described else repeat("")
        others: list[Any] = [_column_texts(columns[key], empty=False) if key in keys else _NONE_COLUMN
                  for key in ("transactionId", "reference", "counterpartyName", "counterpartyAccount")]
        if descriptions is None or any(column is None for column in others):
            return None
        first = self.number + 1
        tail = [_NONE_COLUMN if ident is None else repeat(ident),
                _NONE_COLUMN if currency is None else repeat(currency), value_dates, *others]
        while tail and tail[-1] is _NONE_COLUMN:
            tail.pop()  # a column of None: the default (fewer arguments are quicker to pass)
        return list(map(ParsedLine, range(first, first + len(values)), posted, map(Decimal, amounts), descriptions,
                        *tail))

    def column_dates(self, texts: list[Any]) -> list[date] | None:
        """The dates of a column of date texts; None unless every one is a date."""
        if set(map(type, texts)) != {str}:
            return None
        known = self.dates
        missing = set(texts).difference(known)
        if missing:
            if len(known) + len(missing) > _DATES_KEPT:
                known.clear()
                missing = set(texts)
            for text in missing:
                known[text] = _some_date(text)
        dates = list(map(known.__getitem__, texts))
        return dates if all(dates) else None  # type: ignore[return-value]


def _column_texts(texts: list[Any], empty: bool) -> list[Any] | None:
    """A column of strings stripped and NFC-normalised (`empty`: kept when empty, else None); None
    unless every value is a string."""
    if set(map(type, texts)) != {str}:
        return None
    texts = list(map(_STRIP, texts))
    if not "".join(texts).isascii():
        texts = list(map(nfc, texts))
    return texts if empty else list(map(_NONE_IF_EMPTY, texts, texts))


@guarded
def parse_json_v0(source: Source, options: ParseOptions) -> Iterator[ParseEvent]:
    """`JSON#v0`: stream the transactions of a JSON document (see the module doc for the schema)."""
    sample = read_sample(source)
    if not sample.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FileError(EMPTY_FILE, "The file is empty.")
    encoding = detect_encoding(sample, complete=len(sample) < SAMPLE_SIZE)
    with open_text(source, encoding) as stream:
        for events in _Reader(_Text(stream), source, encoding, places=options.places).document():
            yield from events
