"""The JSON#v0 reader as it was before our own streaming reader replaced it (ijson events). Kept
(unchanged but for this note) as the oracle the differential tests compare `tximport.formats.json_v0`
against; only ever run on documents without integers longer than 4,300 digits (ijson's C backend
crashes the process on those: issue 13).

`JSON#v0`: transactions as a JSON document, read as a stream (ijson), so its size is bounded only by
the format's `maxFileSize`, not by memory.

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
position of the transaction in the file (counted over all accounts). A document that is not JSON, or
not one of the two shapes, raises FileError InvalidSourceData.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO, Any

import ijson

from tximport.formats.base import (
    EMPTY_FILE,
    INVALID_AMOUNT,
    INVALID_DATE,
    INVALID_LINE,
    INVALID_SOURCE_DATA,
    REQUIRED_VALUE_MISSING,
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

_MULTI = "bankAccounts.item.transactions.item"
_SINGLE = "transactions.item"
_SCALARS = ("string", "number", "boolean", "null")

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


class _Utf8Adapter(io.RawIOBase):
    """Re-encodes a text stream to UTF-8 bytes for the JSON tokenizer (UTF-16/32 files)."""

    def __init__(self, text: IO[str]) -> None:
        self._text = text
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while len(self._pending) < len(buffer):
            chunk = self._text.read(16384)
            if not chunk:
                break
            self._pending += chunk.encode("utf-8")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _events(source: Source, encoding: str) -> Iterator[tuple[str, str, Any]]:
    """ijson parse events over the whole document; JSON errors become FileError."""
    try:
        if encoding in ("utf-8", "utf-8-sig") and _strict_utf8(source):
            with source.open() as raw:
                head = raw.read(3)
                if head != b"\xef\xbb\xbf":
                    raw = _Prefixed(head, raw)
                yield from ijson.parse(raw, use_float=False)
        else:
            with open_text(source, encoding) as text:
                yield from ijson.parse(io.BufferedReader(_Utf8Adapter(text)), use_float=False)
    except ijson.JSONError as exc:
        raise FileError(INVALID_SOURCE_DATA, f"The file is not valid JSON: {exc}") from exc
    if not _ends_its_object(source, encoding):
        # (ijson reads a lone `"` after the document, a string never closed, without a word)
        raise FileError(INVALID_SOURCE_DATA, "The file is not valid JSON: text after the document")


def _ends_its_object(source: Source, encoding: str) -> bool:
    """Whether the document read whole (an object, ijson found no error) is the end of the file, but for JSON's
    whitespace: where `json` says the object ends (the files of the tests are small)."""
    with open_text(source, encoding) as text:
        whole = text.read().lstrip(" \t\r\n\ufeff")
    try:
        end = json.JSONDecoder().raw_decode(whole)[1]
    except ValueError:
        return True  # (what ijson read and json does not, the differential tests compare as ijson reads it)
    return not whole[end:].strip(" \t\r\n")


def _strict_utf8(source: Source) -> bool:
    """Whether the whole file is UTF-8: else a stray byte is read as cp1252, as the encoding module reads it
    (ijson would refuse the raw bytes), through the text path."""
    with source.open() as raw:
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := raw.read(1 << 16):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


class _Prefixed(io.RawIOBase):
    """A stream with some already-read bytes put back in front."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if size == 0:
            return b""  # the tokenizer probes with read(0): it must not consume the head
        if self._head:
            head, self._head = self._head, b""
            if size is None or size < 0:
                return head + self._rest.read()
            return head + self._rest.read(max(0, size - len(head)))
        return self._rest.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _account_headers(source: Source, encoding: str) -> dict[int, dict[str, Any]]:
    """accountIdentifier/currency of every account, by position (for files that put them last)."""
    headers: dict[int, dict[str, Any]] = {}
    index = -1
    for prefix, event, value in _events(source, encoding):
        if prefix == "bankAccounts.item" and event == "start_map":
            index += 1
            headers[index] = {}
        elif prefix in ("bankAccounts.item.accountIdentifier", "bankAccounts.item.currency") and (
                event in _SCALARS):
            headers[index][prefix.rsplit(".", 1)[1]] = value
    return headers


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    return None


def _shown(value: Any) -> str:
    """A value in a message: its repr, elided in the middle beyond 60 characters (as a line error's message is
    kept short whatever the value)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:28] + "..." + text[-28:]


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
    elif isinstance(value, str) and _AMOUNT.fullmatch(value.strip()):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern admits only plain numbers
            raise ValueError(f"not an amount: {_shown(value)}") from None
    else:
        raise ValueError(f"not an amount (expected a string like \"-12.50\" or a number): {_shown(value)}")
    if not amount.is_finite():
        raise ValueError(f"not an amount: {_shown(value)}")
    if amount.as_tuple().exponent > 0:  # type: ignore[operator]
        amount = amount.quantize(Decimal(1))  # `1e2` is 100, not 1E+2
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
        amount = abs(amount) if direction == "credit" else -abs(amount)
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


@guarded
def parse_json_v0(source: Source, options: ParseOptions) -> Iterator[ParseEvent]:
    """`JSON#v0`: stream the transactions of a JSON document (see the module doc for the schema)."""
    sample = read_sample(source)
    if not sample.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FileError(EMPTY_FILE, "The file is empty.")
    encoding = detect_encoding(sample, complete=len(sample) < SAMPLE_SIZE)
    events = _events(source, encoding)
    first = next(events, None)
    if first is None or first[1] != "start_map":
        raise FileError(INVALID_SOURCE_DATA, "A JSON#v0 file must be a JSON object with 'bankAccounts' or "
                                             "'transactions'.")
    number = 0
    account_index = -1
    account: dict[str, Any] = {}
    top: dict[str, Any] = {}
    announced: set[int] = set()
    headers: dict[int, dict[str, Any]] | None = None
    tx_index = -1
    shape_seen = False
    builder: ijson.ObjectBuilder | None = None
    depth = 0

    def account_of(multi: bool) -> tuple[str | None, str | None]:
        nonlocal headers
        info = account if multi else top
        if multi and "accountIdentifier" not in info:
            if headers is None:
                headers = _account_headers(source, encoding)
            info = headers.get(account_index, {})
        ident, currency = info.get("accountIdentifier"), info.get("currency")
        path = f"$.bankAccounts[{account_index}]" if multi else "$"
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

    def finish(value: Any, multi: bool) -> Iterator[ParseEvent]:
        nonlocal number
        number += 1
        ident, currency = account_of(multi)
        key = account_index if multi else -1
        if ident is not None and key not in announced:
            announced.add(key)
            yield StatementAccount(ident, currency=currency, line_number=number)
        path = (f"$.bankAccounts[{account_index}].transactions[{tx_index}]" if multi
                else f"$.transactions[{tx_index}]")
        yield _transaction(value, path, number, ident, currency)

    for prefix, event, value in events:
        if builder is not None:
            builder.event(event, value)
            if event in ("start_map", "start_array"):
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
            if depth == 0:
                yield from finish(builder.value, multi=prefix.startswith("bankAccounts"))
                builder = None
            continue
        if prefix in (_MULTI, _SINGLE):
            tx_index += 1
            if event in _SCALARS:
                yield from finish(value, multi=prefix == _MULTI)
            else:
                builder = ijson.ObjectBuilder()
                builder.event(event, value)
                depth = 1
            continue
        if prefix in ("bankAccounts", "transactions") and event not in ("start_array", "end_array"):
            raise FileError(INVALID_SOURCE_DATA, f"$.{prefix} must be an array.", target=f"$.{prefix}")
        if prefix == "bankAccounts" and event == "start_array" or prefix == "transactions" and (
                event == "start_array"):
            shape_seen = True
        elif prefix == "bankAccounts.item":
            if event == "start_map":
                account_index += 1
                account = {}
                tx_index = -1
            elif event == "end_map":
                if account_index not in announced:
                    ident, currency = account_of(True)
                    announced.add(account_index)
                    yield StatementAccount(ident or "", currency=currency)
            elif event in _SCALARS or event == "start_array":
                raise FileError(INVALID_SOURCE_DATA, f"$.bankAccounts[{account_index + 1}] must be an object.",
                                target=f"$.bankAccounts[{account_index + 1}]")
        elif prefix == "bankAccounts.item.transactions" and event not in ("start_array", "end_array"):
            raise FileError(INVALID_SOURCE_DATA,
                            f"$.bankAccounts[{account_index}].transactions must be an array.",
                            target=f"$.bankAccounts[{account_index}].transactions")
        elif prefix == "bankAccounts.item.transactions" and event == "start_array":
            tx_index = -1
        elif prefix in ("bankAccounts.item.accountIdentifier", "bankAccounts.item.currency") and (
                event in _SCALARS):
            account[prefix.rsplit(".", 1)[1]] = value
        elif prefix in ("accountIdentifier", "currency") and event in _SCALARS:
            top[prefix] = value
    if not shape_seen:
        raise FileError(INVALID_SOURCE_DATA, "A JSON#v0 file needs 'bankAccounts' or 'transactions'.")
