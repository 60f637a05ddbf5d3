"""The MT940 reader as it was before our own reader replaced it: the mt-940 library reads each message,
we map its transactions to our events. Kept (unchanged but for this note and the rules it names) as the oracle the
differential tests compare `tximport.formats.mt940` against, with three rules beside the library's: a `:61:`
whose amount is not followed by its transaction type is refused (`_typed`), as our reader refuses it; a `:61:`
read on its own (in a message the library cannot read as a whole) is read without the balance tags after it
(`_LeftOut`), so a balance that does not read (`:62F:C131308...`, a date that does not exist) rejects no line; and a
message that is not UTF-8 is read in the code page the reader reads it in (`encoding.fallback_code_page`: cp1252, or
the DOS code page of the file's first 64 kB).

SWIFT MT940 statements and MT942 interim reports: format `MT940#v1` (multi-account).

The file is cut into messages at each `:20:` line (the transaction reference that opens every
statement) and each message is parsed on its own with the `mt-940` library, so memory holds one
statement at a time. The library's processors do the bank-specific work: the February-30 date
fix-up, the German structured `:86:` sub-fields (`?00` posting text, `?20`-`?29` purpose, `?31`
IBAN, `?32`/`?33` name), comma decimals and the reversal marks (`RC` is money out, `RD` money in).

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
the library cannot read is parsed again transaction by transaction, so one broken `:61:` becomes a
`LineError` (lineNumber of its `:61:` line) and the rest of the statement still imports. A file
with no MT940 tag at all raises `FileError(InvalidSourceData)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO, Any

import mt940

from tximport.formats.balances import mt940_balances, mt940_unbalanced
from tximport.formats.base import (
    INVALID_AMOUNT,
    INVALID_LINE,
    INVALID_SOURCE_DATA,
    FileError,
    LineError,
    ParsedLine,
    ParseEvent,
    ParseOptions,
    Source,
    StatementAccount,
)
from tximport.formats.encoding import fallback_code_page, read_sample
from tximport.formats.mt940_message import is_transaction_type, looks_damaged

#: every opt-in fix of the library: reversal signs, IBAN under its own key, BOM, long details ...
_OPTIONS = mt940.Options.all()
_START = re.compile(rb"^\s*(?:\{4:)?:20:")
_ANY_TAG = re.compile(rb"^\s*(?:\{4:)?:\d\d[A-Z]?:", re.MULTILINE)
_TAG_61 = re.compile(r"^:61:", re.MULTILINE)
_ACCOUNT = re.compile(r"^:25:[ \t]*(.*?)\s*$", re.MULTILINE)
_CURRENCY = re.compile(r"^:6[02][FM]:[CD]\d{6}([A-Z]{3})", re.MULTILINE)
#: a `:61:` whose amount went to the next line (seen in Sparkasse exports): join it back
_SPLIT_61 = re.compile(r"^(:61:\d{6}(?:\d{4})?R?[CD][A-Z]?)[ \t]*\r?\n(?=\d)", re.MULTILINE)
_SWIFT_FIELD = re.compile(r"/(EREF|BENM|ORDP|NAME|REMI|ISDT|IBAN|BIC|CSID|MARF|RTRN|ADDR|PREF|PURP|"
                          r"ULTC|ULTD|TRCD|BUSP|CDTRREF|CDTRREFTP|CD|SVCL|RTYP|CNTP)/")
_IBAN_LIKE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{8,30}$")
_NO_REF = frozenset({"", "NONREF", "NOTPROVIDED"})
#: a `:86:` line is at most 65 characters; banks wrap at 64 or 65, mid-word, so a line that long
#: continues on the next one without a space
_WRAP = 64
_MAX_MESSAGE = 32 << 20


def _decode(data: bytes, code_page: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode(code_page, errors="replace")


def _messages(raw: IO[bytes], code_page: str) -> Iterator[tuple[int, str]]:
    """(line number of the first line, text) for each message, read line by line (a message that is not UTF-8 in
    `code_page`, as the reader reads it: `encoding.fallback_code_page`)."""
    lines: list[bytes] = []
    size = 0
    start = 1
    seen_tag = False
    for number, line in enumerate(raw, start=1):
        if _START.match(line) and lines:
            if any(_ANY_TAG.match(x) for x in lines):
                yield start, _decode(b"".join(lines), code_page)
            lines, size, start = [], 0, number
        if not lines:
            start = number
        lines.append(line)
        size += len(line)
        if not seen_tag and _ANY_TAG.match(line):
            seen_tag = True
        if size > _MAX_MESSAGE:
            raise FileError(INVALID_SOURCE_DATA, f"the statement starting at line {start} is larger than "
                            f"{_MAX_MESSAGE >> 20} MB", target="File")
    if lines and any(_ANY_TAG.match(x) for x in lines):
        yield start, _decode(b"".join(lines), code_page)
    if not seen_tag:
        raise FileError(INVALID_SOURCE_DATA, "the file holds no MT940/MT942 tag (such as :20: or :61:)",
                        target="File")


_STATEMENT = re.compile(mt940.tags.Statement.pattern, re.IGNORECASE | re.VERBOSE | re.UNICODE)


#: what the library reads as the customer reference where spaces stand between a `:61:` amount and its type (our
#: reader reads past them: `mt940_message._SPACED_TYPE`)
_SPACED_TYPE = re.compile(r" +([NFSnfs][A-Za-z0-9]{3}|[A-Z]{2}[A-Z0-9]{2})(.*)", re.DOTALL)


class _Untyped(ValueError):
    """A `:61:` without its transaction type, which our reader refuses where the library reads on."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _written(transactions: Any, tag_dict: dict[str, Any]) -> dict[str, Any]:
    """(A pre-processor) keeps the `:61:` amount as written: the library replaces it with its Amount."""
    transactions.tximport_amount = tag_dict.get("amount")
    return tag_dict


def _typed(amount: str, result: dict[str, Any]) -> None:
    """The rules by which we part from the library, after it has read the line: a `:61:` amount has a decimal comma
    and a whole part (`InvalidAmount`), and is followed by its transaction type (N, F or S first, or two capitals:
    `mt940_message.is_transaction_type`); where it is not,
    the line is refused, its amount (`InvalidAmount`) where what follows looks like the rest of a damaged amount
    (`mt940_message.looks_damaged`), else the line (`InvalidLine`); but a type after spaces reads, and so does a line
    whose bank reference (`//`) follows its amount right away."""
    if "," not in amount or amount.startswith(","):
        raise _Untyped(INVALID_AMOUNT)
    kind = result.get("id")
    if kind and is_transaction_type(kind):
        return
    customer = result.get("customer_reference") or ""
    spaced = _SPACED_TYPE.fullmatch(customer) if not kind else None
    if spaced is not None:  # the type after spaces (`D12,35 NRTI...`): read as if the spaces were not there
        result["id"], result["customer_reference"] = spaced.group(1), spaced.group(2)
        return
    if not kind and not customer and result.get("bank_reference") is not None:
        return  # no type, the bank reference right after the amount (`C220000,00//1923...`): the amount ends there
    after = (kind or "") + customer
    raise _Untyped(INVALID_AMOUNT if looks_damaged(after) else INVALID_LINE)


def _amount_unreadable(first: str) -> bool:
    """Whether the `:61:` line `first` (the chunk's first line) matches the library's pattern with an amount that is
    no decimal: the library raises there (before the line's dates), and we reject the amount."""
    m = _STATEMENT.match(first[4:].strip()) if first.startswith(":61:") else None
    if m is None:
        return False
    try:
        Decimal(m.group("amount").replace(",", "."))
    except InvalidOperation:
        return True
    return False


class _LeftOut(mt940.tags.Tag):
    """A balance tag read as doing nothing: its text (up to the next tag, as the library delimits it) is left out."""

    id = "left out"
    pattern = ""

    def parse(self, transactions: Any, value: str) -> dict[str, Any]:
        return {}

    def __call__(self, transactions: Any, value: dict[str, Any]) -> dict[str, Any]:
        return {}


#: the library's balance tags (`:60F:`, `:62F:`, `:64:` ..., by the keys it finds them by), each left out
_NO_BALANCES = {key: _LeftOut() for key, tag in mt940.tags.TAG_BY_ID.items() if isinstance(tag, mt940.tags.BalanceBase)}


class _LongReference(mt940.tags.Statement):
    """The library's `:61:`, with a customer reference of up to 34 characters where its 16 do not read the line (ASN
    Bank writes an IBAN there): README "File formats", MT940."""

    def __init__(self) -> None:
        super().__init__()
        type(self).slug = "statement"  # (the library names a tag's processors by its class: `pre_statement`)
        capped = "(?P<customer_reference>((?!//)[^\\n]){0,16})"
        assert capped in self.pattern
        self.long = re.compile(self.pattern.replace(capped, capped.replace("{0,16}", "{0,34}")), self.RE_FLAGS)

    def parse(self, transactions: Any, value: str) -> dict[str, Any]:
        match = self.re.match(value) or self.long.match(value)
        return match.groupdict() if match else super().parse(transactions, value)


_TAGS: dict[int | str, Any] = {61: _LongReference()}


def parse_text(text: str, *, balances: bool = True) -> mt940.models.Transactions:
    """The library's reading of a message, refused (`_Untyped`) where a `:61:` has no transaction type; without
    `balances`, its balance tags are left out unread (`_LeftOut`)."""
    transactions = mt940.models.Transactions(options=_OPTIONS, tags=_TAGS if balances else {**_TAGS, **_NO_BALANCES})
    processors = transactions.processors
    transactions.processors = {
        **processors,
        "pre_statement": [*processors.get("pre_statement", []), lambda t, _tag, d: _written(t, d)],
        "post_statement": [*processors.get("post_statement", []),
                           lambda t, _tag, _d, result: (_typed(t.tximport_amount or "", result), result)[1]]}
    transactions.parse(text)
    return transactions


def _join_details(text: str) -> str:
    """`:86:` lines as one text: a full-width line continues the word on the next line (the first line is as wide
    as its text and the `:86:` tag before it)."""
    lines = text.split("\n")
    out = lines[0]
    widths = [len(":86:" + lines[0])] + [len(line) for line in lines[1:]]
    for width, line in zip(widths, lines[1:], strict=False):
        out += line if width >= _WRAP else " " + line
    return " ".join(out.split())


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
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return None if value.upper() in _NO_REF else value


def _to_line(data: dict[str, Any], line: int, account_ref: str | None,
             currency: str | None) -> ParseEvent:
    amount = data.get("amount")
    when = data.get("date")
    if amount is None or not isinstance(when, date):
        return LineError(line, INVALID_LINE, "the :61: line has no amount or date",
                         actual_value=None, target=":61:")
    value: Decimal = amount.amount
    posted = data.get("guessed_entry_date") or data.get("entry_date") or when
    details = data.get("transaction_details")
    structured = data.get("purpose") or data.get("posting_text")
    name = data.get("applicant_name")
    counterparty_account = data.get("applicant_iban")
    reference = _clean_ref(data.get("end_to_end_reference"))
    description = " ".join(structured.split()) if isinstance(structured, str) else ""
    if not description and isinstance(details, str):
        description = _join_details(details)
        if description.startswith("/"):
            fields = _swift_fields(description)
            if fields:
                cntp = fields.get("CNTP", "").split("/")  # ING: account/BIC/name/city
                party_name = fields.get("NAME") or (cntp[2].strip() or None if len(cntp) > 2 else None)
                party_account = fields.get("IBAN") or (cntp[0].strip() or None if len(cntp) > 2 else None)
                remittance = re.sub(r"^(?:USTD|STRD(?:/[A-Z]{2,4})?)/+", "", fields.get("REMI", "")).strip("/ ")
                description = remittance or party_name or description
                name = name or party_name
                counterparty_account = counterparty_account or party_account
                reference = reference or _clean_ref(fields.get("EREF"))
    if isinstance(name, str):
        name = " ".join(name.split()) or None
    extra = data.get("extra_details")
    if not counterparty_account and isinstance(extra, str) and _IBAN_LIKE.match(extra.strip()):
        counterparty_account = extra.strip()  # Rabobank puts the counterparty IBAN after the :61: line
    return ParsedLine(
        line_number=line,
        date_posted=date(posted.year, posted.month, posted.day),
        amount=value,
        description=description,
        account_ref=account_ref,
        currency=getattr(amount, "currency", None) or currency,
        value_date=date(when.year, when.month, when.day),
        bank_transaction_id=_clean_ref(data.get("bank_reference")),
        reference=reference or _clean_ref(data.get("customer_reference")),
        counterparty_name=name,
        counterparty_account=counterparty_account or None,
        reversal=str(data.get("status") or "").startswith("R"),
    )


def _line_numbers(text: str, first_line: int) -> list[int]:
    """The file line numbers of the `:61:` lines of a message, in order."""
    numbers = []
    line, pos = first_line, 0
    for m in _TAG_61.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        numbers.append(line)
    return numbers


def _message_events(first_line: int, text: str) -> Iterator[ParseEvent]:
    numbers = _line_numbers(text, first_line)
    text = _SPLIT_61.sub(r"\1", text)
    m = _ACCOUNT.search(text)
    account_ref = m.group(1) if m and m.group(1) else None
    m = _CURRENCY.search(text)
    currency = m.group(1) if m else None
    if account_ref:
        yield StatementAccount(account_ref=account_ref, currency=currency, line_number=first_line)
    try:
        parsed = parse_text(text)
        transactions = list(parsed)
        ok = len(transactions) == len(numbers)
    except Exception:  # noqa: BLE001 - the library raises plain exceptions on bad input
        ok = False
    if ok:
        currency = currency or parsed.currency
        for tx, line in zip(transactions, numbers, strict=True):
            yield _to_line(tx.data, line, account_ref, currency)
        return
    # one transaction at a time: only the broken ones are rejected
    starts = [m.start() for m in _TAG_61.finditer(text)]
    for index, (pos, line) in enumerate(zip(starts, numbers, strict=True)):
        chunk = text[pos:starts[index + 1]] if index + 1 < len(starts) else text[pos:]
        first = chunk.split("\n", 1)[0].strip()
        try:  # (the balance tags after the line are the statement's, and left out: one that does not read rejects
            # no line)
            one = list(parse_text(chunk, balances=False))
        except _Untyped as exc:
            yield LineError(line, exc.code, "the :61: line has no transaction type", actual_value=first[:200],
                            target=":61:")
            continue
        except InvalidOperation:
            code = INVALID_AMOUNT if _amount_unreadable(first) else INVALID_LINE
            yield LineError(line, code, "the :61: amount cannot be read", actual_value=first[:200], target=":61:")
            continue
        except Exception as exc:  # noqa: BLE001 - the library raises plain exceptions on bad input
            yield LineError(line, INVALID_LINE, f"the :61: line cannot be read: {str(exc)[:200]}",
                            actual_value=first[:200], target=":61:")
            continue
        if len(one) != 1:
            yield LineError(line, INVALID_LINE, "the :61: line cannot be read", actual_value=first[:200],
                            target=":61:")
            continue
        yield _to_line(one[0].data, line, account_ref, currency)


#: a statement message (its `:20:` first) and an MT942 interim report (`:13D:` or `:34F:`): README "Error codes",
#: `BalanceMissing`
_UNBALANCED = re.compile(r"[ \t\r\f\v]*(?:\{4:)?:20:")
_MT942 = re.compile(r"(?m)^:(?:13D|34F):")


def parse_mt940(source: Source, options: ParseOptions) -> Iterator[ParseEvent]:
    """Parse an MT940/MT942 file, one statement at a time."""
    code_page = fallback_code_page(read_sample(source))
    with source.open() as raw:
        for first_line, text in _messages(raw, code_page):
            yield from _message_events(first_line, text)
            stated = mt940_balances(text, first_line)  # as the reader: after the message's lines
            if stated is None and _UNBALANCED.match(text) and ":61:" in text and not _MT942.search(text):
                stated = mt940_unbalanced(text, first_line)  # a statement without balances closes all the same
            if stated is not None:
                yield stated
