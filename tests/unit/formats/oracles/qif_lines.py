"""The QIF reader as it was before the block reader replaced it (line by line, the same two passes).
Kept as the oracle the differential tests compare `tximport.formats.qif` against, unchanged but for this note
and the rules both apply since: a file whose last bank record has no `^` looks cut short (FileTruncated); a line
starting with `#` is a comment; `!Option:`/`!Clear:` lines (but AutoSwitch's) do not change the section; a bank
section's first record with payee `Opening Balance` and category `[account]` is a FileNote(OpeningBalance), not a line.

`QIF#v1`: Quicken Interchange Format, bank-like sections.

A QIF file is a list of sections (`!Type:...` header lines) holding records of one-letter fields,
each record ending with `^`. Read here:

* `!Type:Bank`, `!Type:CCard`, `!Type:Cash`, `!Type:Oth A`, `!Type:Oth L`: transactions. Fields:
  `D` date, `T` amount (`U` when there is no `T`), `P` payee, `M` memo, `N` check/reference number
  (the bank transaction id). Description = payee and memo joined by a space; `counterpartyName` =
  payee. `C` (cleared status), `L` (category), `A` (address) and split lines (`S`, `E`, `$`) are not
  imported: the record's `T` is the transaction.
* `!Account` blocks: `N` names the account that the following sections belong to (one
  `StatementAccount` each). Account lists between `!Option:AutoSwitch` and `!Clear:AutoSwitch` only
  list accounts and are skipped.
* `!Type:Invst` (investment) sections are not imported: each one is reported with one LineError
  `UnsupportedSection` that gives the number of records skipped. Other lists (`!Type:Cat`,
  `!Type:Class`, `!Type:Memorized`, `!Type:Prices` ...) hold no transactions and are skipped silently.

Dates (`1/31'24`, `01/31/2024`, `31/01/2024`, `31.01.2024` ...) follow the import's dateStyle, else the
style inferred from every `D` value of the file, exactly as for CSV (`AmbiguousDateStyle` when both
day/month orders fit). The decimal separator is inferred from every amount of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tximport.formats.base import (
    EMPTY_FILE,
    FILE_TRUNCATED,
    INVALID_AMOUNT,
    INVALID_DATE,
    INVALID_SOURCE_DATA,
    REQUIRED_VALUE_MISSING,
    FileError,
    FileNote,
    LineError,
    ParsedLine,
    ParseEvent,
    ParseOptions,
    Source,
    StatementAccount,
)
from tximport.formats.dates import DateStyleVote, parse_date
from tximport.formats.encoding import SAMPLE_SIZE, detect_encoding, guarded, nfc, open_text, read_sample
from tximport.formats.values import amount_evidence, make_amount_parser

UNSUPPORTED_SECTION = "UnsupportedSection"

_BANK_TYPES = {"bank", "ccard", "cash", "oth a", "oth l"}
_INVESTMENT_TYPES = {"invst", "port"}

TEMPLATE = (
    "tximport.qif",
    "application/qif",
    "!Type:Bank\nD01/31/2024\nT2,500.00\nPACME Corp\nMSalary January\nN1001\n^\n"
    "D02/01/2024\nT-950.00\nPJohn Landlord\nMRent February\n^\n",
)


@dataclass(slots=True)
class _Record:
    line_number: int
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Item:
    """What the reader meets: a section header, or a record within the current section."""

    kind: str  # "header" | "record" | "cut" (the file ends inside `record`, at line_number)
    line_number: int
    text: str = ""
    record: _Record | None = None


def _items(source: Source, encoding: str) -> Iterator[_Item]:
    with open_text(source, encoding) as text:
        record: _Record | None = None
        for number, raw in enumerate(text, start=1):
            line = raw.strip("\r\n").strip()
            if number == 1:
                line = line.lstrip("\ufeff")
            if not line or line.startswith("#"):
                continue
            if line.startswith("!"):
                if record is not None:
                    yield _Item("record", record.line_number, record=record)
                    record = None
                yield _Item("header", number, line)
                continue
            if line.startswith("^"):
                if record is not None:
                    yield _Item("record", record.line_number, record=record)
                record = None
                continue
            if record is None:
                record = _Record(number)
            code, value = line[0].upper(), line[1:].strip()
            # the first occurrence wins (split lines S/E/$ repeat and are not imported)
            record.fields.setdefault(code, value)
        if record is not None:
            yield _Item("record", record.line_number, "unterminated", record=record)  # no final `^`
            yield _Item("cut", number, record=record)


def _section(header: str) -> str:
    """bank | investment | account | autoswitch-on | autoswitch-off | other"""
    lowered = header[1:].strip().lower()
    if lowered.startswith("type:"):
        kind = lowered[5:].strip()
        if kind in _BANK_TYPES:
            return "bank"
        if kind in _INVESTMENT_TYPES:
            return "investment"
        return "other"
    if lowered == "account":
        return "account"
    if lowered == "option:autoswitch":
        return "autoswitch-on"
    if lowered == "clear:autoswitch":
        return "autoswitch-off"
    if lowered.startswith(("option:", "clear:")):
        return "option"
    return "other"


def qif_date_text(text: str) -> str:
    """A QIF date in a form `parse_date` reads: `1/ 5' 4` -> `1/5/2004`, `1/31'24` -> `1/31/2024`."""
    value = text.replace(" ", "")
    if "'" in value:
        head, _, year = value.partition("'")
        if year.isdigit() and len(year) <= 2:
            return f"{head}/{2000 + int(year)}"
        return f"{head}/{year}"
    return value


def _bank_records(source: Source, encoding: str) -> Iterator[tuple[str, Any]]:
    """("account", (name, line)) | ("record", _Record) | ("skipped", (header, line, count))."""
    section = "bank"  # records before any header are read as a bank section
    autoswitch = False
    skipped_header: tuple[str, int] | None = None
    skipped = 0
    seen_qif = False
    first = True  # the next bank record is its section's first
    for item in _items(source, encoding):
        if item.kind == "header":
            seen_qif = True
            if skipped_header is not None:
                yield "skipped", (*skipped_header, skipped)
                skipped_header, skipped = None, 0
            kind = _section(item.text)
            if kind == "autoswitch-on":
                autoswitch = True
            elif kind == "autoswitch-off":
                autoswitch = False
            elif kind != "option":
                section = kind
                first = True
                if kind == "investment":
                    skipped_header = (item.text, item.line_number)
            continue
        record = item.record
        assert record is not None
        if item.kind == "cut":
            if section == "bank":
                yield "cut", (record.line_number, item.line_number)
            continue
        if section == "bank":
            seen_qif = seen_qif or item.text != "unterminated"
            fields = record.fields
            category = fields.get("L", "")
            opening = (first and fields.get("P", "").lower() == "opening balance" and len(category) > 1
                       and category.startswith("[") and category.endswith("]"))
            first = False
            yield ("opening" if opening else "record"), record
        elif section == "investment":
            skipped += 1
        elif section == "account" and not autoswitch:
            name = record.fields.get("N", "").strip()
            if name:
                yield "account", (nfc(name), record.line_number)
    if skipped_header is not None:
        yield "skipped", (*skipped_header, skipped)
    if not seen_qif:
        raise FileError(INVALID_SOURCE_DATA,
                        "The file is not QIF: it has no !Type section and no record ending with '^'.")


@guarded
def parse_qif(source: Source, options: ParseOptions) -> Iterator[ParseEvent]:
    """`QIF#v1`: the transactions of a QIF file's bank, card and cash sections."""
    sample = read_sample(source)
    encoding = detect_encoding(sample, complete=len(sample) < SAMPLE_SIZE)
    if not sample.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FileError(EMPTY_FILE, "The file holds no lines.")
    mapping = options.mapping or {}
    style = options.date_style
    decimal = mapping.get("decimalSeparator") if isinstance(mapping, dict) else None
    if decimal not in (".", ","):
        decimal = None
    # first pass: the whole file's date style and decimal separator (QIF files are small)
    vote = DateStyleVote()
    votes = {".": 0, ",": 0}
    records = 0
    for kind, value in _bank_records(source, encoding):
        if kind != "record":
            continue
        records += 1
        if "D" in value.fields:
            vote.add(qif_date_text(value.fields["D"]))
        evidence = amount_evidence(value.fields.get("T") or value.fields.get("U") or "")
        if evidence:
            votes[evidence] += 1
    if style is None:
        style = vote.decide("D")
    if decimal is None:
        decimal = "," if votes[","] > votes["."] else "."
    parse_amount = make_amount_parser(decimal)

    account: str | None = None
    for kind, value in _bank_records(source, encoding):
        if kind == "account":
            account = value[0]
            yield StatementAccount(account, line_number=value[1])
            continue
        if kind == "cut":
            yield FileNote(FILE_TRUNCATED, f"the file ends at line {value[1]} inside the record that starts at line "
                           f"{value[0]} (no '^' ends it). It looks cut short: that record may be incomplete and "
                           "records after the cut are missing; check the file before confirming", severity="warning",
                           line_number=value[1])
            continue
        if kind == "opening":
            fields = value.fields
            amount = fields.get("T") or fields.get("U") or ""
            nonzero = any(digit in amount for digit in "123456789")
            yield FileNote("OpeningBalance", f"the record at line {value.line_number} (payee 'Opening Balance', "
                           f"category {fields['L'][:60]}) is Quicken's opening balance of the account, "
                           f"{amount[:40] or 'no amount'}: it is no transaction and is not staged"
                           + ("; check the account's balance before confirming" if nonzero else ""),
                           severity="warning" if nonzero else "info", line_number=value.line_number,
                           actual_value=amount or None)
            continue
        if kind == "skipped":
            header, line_number, count = value
            yield LineError(line_number, UNSUPPORTED_SECTION,
                            f"{count} investment record(s) in section {header} were skipped: "
                            "QIF investment sections are not imported.",
                            actual_value=header, target="!Type")
            continue
        record: _Record = value
        fields = record.fields
        date_text = fields.get("D", "")
        if not date_text:
            yield LineError(record.line_number, REQUIRED_VALUE_MISSING, "The record has no date (D).",
                            actual_value=None, target="D")
            continue
        try:
            posted = parse_date(qif_date_text(date_text), style)
        except ValueError as exc:
            yield LineError(record.line_number, INVALID_DATE, str(exc), actual_value=date_text, target="D")
            continue
        amount_code = "T" if fields.get("T") else "U"
        amount_text = fields.get(amount_code, "")
        if not amount_text:
            yield LineError(record.line_number, REQUIRED_VALUE_MISSING, "The record has no amount (T).",
                            actual_value=None, target="T")
            continue
        try:
            amount = parse_amount(amount_text)
        except ValueError as exc:
            yield LineError(record.line_number, INVALID_AMOUNT, str(exc), actual_value=amount_text,
                            target=amount_code)
            continue
        payee = nfc(fields.get("P", ""))
        memo = nfc(fields.get("M", ""))
        yield ParsedLine(
            line_number=record.line_number,
            date_posted=posted,
            amount=amount,
            description=" ".join(part for part in (payee, memo) if part),
            account_ref=account,
            bank_transaction_id=nfc(fields["N"]) if fields.get("N") else None,
            counterparty_name=payee or None,
        )
