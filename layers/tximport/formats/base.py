"""The contract every statement format implements.

A parser reads a byte stream and yields events in file order:

* `StatementAccount`: an account the file holds (multi-account formats yield one per statement;
  single-account formats may yield none),
* `ParsedLine`: one transaction, with the account reference it belongs to,
* `LineError`: a line that was rejected (it is reported, the rest of the file goes on),
* `FileNote`: something about the file as a whole (an interim report, sections not imported),
* `StatementBalances`: the balances a statement states (opening, closing, available), yielded after
  the statement's lines: it closes the statement, so the lines of its account since the previous
  `StatementBalances` of that account belong to it.
* `LineBlock`: consecutive lines handed over as columns (a CSV block of plain values), only to a caller that
  asks for them (`ParseOptions.blocks`); `LineBlock.lines()` gives the `ParsedLine`s it stands for.

A file that cannot be read as a whole raises `FileError` with a documented code. Parsers must stream:
memory may not grow with the file size. `Source.open()` may be called more than once when a format
needs two passes (date-style inference reads the date column first).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from itertools import repeat
from operator import attrgetter
from typing import IO, Any, Protocol


# How a file writes its dates (the import's `dateStyle`). A comment, not a docstring: the API's OpenAPI
# document describes the enum from its docstring.
class DateStyle(StrEnum):
    BIG_ENDIAN = "bigEndian"  # Y-M-D
    LITTLE_ENDIAN = "littleEndian"  # D-M-Y
    MIDDLE_ENDIAN = "middleEndian"  # M-D-Y


# Documented whole-file error codes (README "Error codes").
INVALID_SOURCE_DATA = "InvalidSourceData"
UNSUPPORTED_ENCODING = "UnsupportedEncoding"
AMBIGUOUS_DATE_STYLE = "AmbiguousDateStyle"
PROCESSING_ERROR = "ProcessingError"
EMPTY_FILE = "EmptyFile"
FILE_TOO_LARGE = "FileTooLarge"
#: the file carries the bank's own error (an OFX STATUS of severity ERROR)
BANK_REPORTED_ERROR = "BankReportedError"
# Structural limits, checked while reading so that no input makes a reader slow or large.
LINE_TOO_LONG = "LineTooLong"
ELEMENT_TOO_LARGE = "ElementTooLarge"
NESTING_TOO_DEEP = "NestingTooDeep"

# Documented line error codes.
INVALID_DATE = "InvalidDate"
INVALID_AMOUNT = "InvalidAmount"
REQUIRED_VALUE_MISSING = "RequiredValueMissing"
INVALID_LINE = "InvalidLine"


@dataclass(slots=True)
class StatementAccount:
    """An account a file holds, as the file names it (IBAN, account number, masked card ...)."""

    account_ref: str
    currency: str | None = None
    bank_id: str | None = None
    line_number: int | None = None


class AccountNames:
    """The account references of one file: an account number that statements name under different banks (OFX
    `BANKID`, a camt servicer BIC; a statement naming no bank is another one again) is as many accounts. The first
    statement of a number keeps the number; a later one under another bank is `BANK/NUMBER` (the form a legacy
    MT940 `:25:` writes), and one naming no bank beside a statement that names one is `/NUMBER` (no bank)."""

    def __init__(self) -> None:
        self._banks: dict[str, str | None] = {}

    def ref(self, number: str, bank: str | None) -> str:
        first = self._banks.setdefault(number, bank)
        if bank_key(bank) == bank_key(first):
            return number
        return f"{bank.strip()}/{number}" if bank else f"/{number}"

    def named(self, account: StatementAccount | None) -> StatementAccount | None:
        if account is not None:
            account.account_ref = self.ref(account.account_ref, account.bank_id)
        return account


#: a BIC: its institution (the bank), country, location and branch
_BIC = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$")


def bank_key(bank: str | None) -> str:
    """A bank as a statement names it, compared: without spaces and case; a BIC without its branch (`COBADEFFXXX`
    and `COBADEFF` are one bank, `COBADEHH` another)."""
    key = "".join((bank or "").split()).upper()
    return key[:8] if _BIC.match(key) else key



@dataclass(slots=True)
class ParsedLine:
    """One transaction read from a file. `amount` is signed: positive is money in."""

    line_number: int
    date_posted: date
    amount: Decimal
    description: str
    account_ref: str | None = None
    currency: str | None = None
    value_date: date | None = None
    bank_transaction_id: str | None = None
    reference: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    balance: Decimal | None = None
    original_amount: Decimal | None = None
    original_currency: str | None = None
    pending: bool = False
    #: the bank marks the line as the reversal of an earlier booking (camt `RvslInd`, MT940 `RC`/`RD`)
    reversal: bool = False
    #: where the file states this line's amount, named as the format's line errors name places (camt: an XPath),
    #: for formats whose every line has a place of its own; None: the file's (`AmountPlaces`) or the format's
    #: (`FileFormat.amount_target`). Not part of the line's value: equality leaves it out.
    amount_target: str | None = field(default=None, compare=False)


#: what banks write where they have no reference (camt `NOTPROVIDED`, MT940 `NONREF`, an OFX FITID of `0`):
#: no bank id at all, or every such line of a day would be taken for one transaction
PLACEHOLDER_BANK_IDS = frozenset({"NOTPROVIDED", "NOT PROVIDED", "NONREF", "NONE", "NULL", "N/A", "NA", "-", "UNKNOWN"})


def is_placeholder_id(value: str) -> bool:
    """Whether a bank reference says only that there is none (`PLACEHOLDER_BANK_IDS`, blank, or all zeros; also
    as the reference of a batch entry's line, `NOTPROVIDED/2`)."""
    text = value.strip().upper()
    head, slash, tail = text.rpartition("/")
    if slash and tail.isdigit():  # a batch entry's line (camt: `<reference>/<n>`)
        text = head.strip()
    return not text.strip("0") or text in PLACEHOLDER_BANK_IDS


def placeholders_cleared(ids: list[str | None]) -> list[str | None]:
    """A column of bank ids with each placeholder (`is_placeholder_id`) made None; each distinct id looked at once."""
    found = set(ids)
    found.discard(None)
    placeholders = {value for value in found if value is not None and is_placeholder_id(value)}
    return [None if value in placeholders else value for value in ids] if placeholders else ids


def clear_placeholder_ids(lines: list[ParsedLine]) -> None:
    """Lines whose bank id is a placeholder get none (`is_placeholder_id`); each distinct id is looked at once."""
    found = set(map(attrgetter("bank_transaction_id"), lines))
    found.discard(None)
    if not any(is_placeholder_id(value) for value in found if value is not None):
        return
    for line in lines:
        if line.bank_transaction_id is not None and is_placeholder_id(line.bank_transaction_id):
            line.bank_transaction_id = None


@dataclass(slots=True)
class LineError:
    """A rejected line: reported in errordetails, never imported."""

    line_number: int | None
    code: str
    message: str
    actual_value: str | None = None
    target: str | None = None
    #: the line is a pending entry (an unreadable one is left out like a readable one unless includePending)
    pending: bool = False


# Documented notes a file can carry (FileNote codes).
INTERIM_REPORT = "InterimReport"
UNIMPORTED_SECTIONS = "UnimportedSections"
#: (warning) the file ends inside a statement: it looks cut short, and what came after the cut is missing
FILE_TRUNCATED = "FileTruncated"
#: a date the file states does not exist (an MT940 value date February 30): the line is kept on the
#: nearest day the reader takes for it, and the note names the line and the text as written
DATE_CORRECTED = "DateCorrected"
#: (warning) a balance the file states does not read (an MT940 `:60F:` amount `3236,2x`, a date `131308` that does
#: not exist, an amount finer than its currency `965,005` EUR): it is left out of the statement checks, and the
#: note names its line and text
BALANCE_UNREADABLE = "BalanceUnreadable"
#: (warning) a day a statement states for a balance or its period does not exist (a camt `Bal/Dt` `2014-02-30`, an
#: OFX `DTEND` `20130532`): the balance keeps its amount, the day is left unknown, and the note names its line and text
STATEMENT_DATE_UNREADABLE = "StatementDateUnreadable"
#: (warning) a statement states its closing balance but no opening, or its opening but no closing (an MT940
#: statement without its mandatory `:60F:` or `:62F:`): its checks run without it; the note names the statement's
#: first line and text
BALANCE_MISSING = "BalanceMissing"


@dataclass(slots=True)
class FileNote:
    """Something about the file as a whole that the import reports beside its lines (severity info or
    warning): an interim report (MT942), sections the format carries that are not imported (OFX
    investment statements, with their counts), a file that looks cut short (at `line_number`, its end)."""

    code: str
    message: str
    severity: str = "info"
    line_number: int | None = None
    #: the text the note is about, as the file writes it (a date that does not exist)
    actual_value: str | None = None
    #: how many more notes of its code the file gave after this one (an import reports the first, and counts these)
    repeats: int = 0

    def absorb(self, later: FileNote) -> None:
        """Count `later`, a note of the same code after this one (and the notes it counted)."""
        self.repeats += 1 + later.repeats

    @property
    def counted_message(self) -> str:
        """The message, with the notes of its code after it counted."""
        return f"{self.message} ({self.repeats} more in the file)" if self.repeats else self.message


@dataclass(frozen=True, slots=True)
class Balance:
    """A balance a statement states: signed amount (positive is in the account's favour), and its day."""

    amount: Decimal
    day: date | None = None


@dataclass(slots=True)
class StatementBalances:
    """The balances of one statement of one account, as the file states them (yielded after its lines).

    `opening`/`closing` are the booked balances (camt OPBD/CLBD or their interim PRCD/ITBD, MT940
    :60F:/:60M: and :62F:/:62M:, OFX LEDGERBAL as the closing, a CSV balance column's first and last
    line); `available` the available balance where given (MT940 :64:, OFX AVAILBAL, camt CLAV).
    `*_interim` says the balance is an intermediate one (camt ITBD/PRCD, MT940 :60M:/:62M:): the
    statement is one page of a longer one.
    """

    account_ref: str | None
    currency: str | None = None
    statement_id: str | None = None
    sequence: str | None = None
    opening: Balance | None = None
    closing: Balance | None = None
    available: Balance | None = None
    opening_interim: bool = False
    closing_interim: bool = False
    period_start: date | None = None
    period_end: date | None = None
    line_number: int | None = None


@dataclass(frozen=True, slots=True)
class WrittenShapes:
    """What the shapes of a column's amount texts tell of all of them, with no look at each: the longest text's
    length, the most decimals a text has, and whether a text ends in a zero after its point."""

    longest: int
    decimals: int
    zero_ended: bool


@dataclass(frozen=True, slots=True)
class WrittenAmounts:
    """A column's amounts as `str()` writes them, one text each (`values.read_amount_column`), with what their
    shapes tell of them where the reader looked at them (None: not known)."""

    texts: list[str]
    shapes: WrittenShapes | None = None


@dataclass(slots=True)
class LineBlock:
    """Consecutive lines of one statement as columns: each has a line number, a day, an amount, a description,
    perhaps a currency, and the optional fields the file has a column for (a column None: no line has the field).
    No line of a block names an account reference, is pending or is a reversal. A reader of plain blocks hands
    these over where the caller asks for columns (`ParseOptions.blocks`), so that no object is built per line."""

    line_numbers: range | list[int]
    days: list[date]
    amounts: list[Decimal]
    descriptions: list[str]
    #: each line's currency (None: no line names one)
    currencies: list[str | None] | None = None
    value_dates: list[date | None] | None = None
    bank_ids: list[str | None] | None = None
    references: list[str | None] | None = None
    counterparty_names: list[str | None] | None = None
    counterparty_accounts: list[str | None] | None = None
    balances: list[Decimal | None] | None = None
    original_amounts: list[Decimal | None] | None = None
    original_currencies: list[str | None] | None = None
    #: the amounts as `str()` writes them (the reader's texts, where its cells are written so; None: not known)
    written: WrittenAmounts | None = None

    def __len__(self) -> int:
        return len(self.days)

    @property
    def optional(self) -> bool:
        """Whether the block has a column of the lines' optional fields (beyond the currency)."""
        return any(column is not None for column in (
            self.value_dates, self.bank_ids, self.references, self.counterparty_names, self.counterparty_accounts,
            self.balances, self.original_amounts, self.original_currencies))

    def lines(self) -> list[ParsedLine]:
        """The lines the block stands for."""
        if not self.optional:
            if self.currencies is None:
                return list(map(ParsedLine, self.line_numbers, self.days, self.amounts, self.descriptions))
            return list(map(ParsedLine, self.line_numbers, self.days, self.amounts, self.descriptions, repeat(None),
                            self.currencies))
        none = repeat(None)
        return list(map(ParsedLine, self.line_numbers, self.days, self.amounts, self.descriptions, none,
                        self.currencies or none, self.value_dates or none, self.bank_ids or none,
                        self.references or none, self.counterparty_names or none, self.counterparty_accounts or none,
                        self.balances or none, self.original_amounts or none, self.original_currencies or none))

    def shifted(self, limit: int, delta: int) -> None:
        """Its line numbers above `limit` moved by `delta` (a range of a split file numbered as the file)."""
        numbers = self.line_numbers
        if numbers and numbers[0] > limit and isinstance(numbers, range):
            self.line_numbers = range(numbers.start + delta, numbers.stop + delta)
        else:
            self.line_numbers = [n + delta if n > limit else n for n in numbers]


ParseEvent = StatementAccount | ParsedLine | LineError | FileNote | StatementBalances | LineBlock


class FileError(Exception):
    """The file as a whole cannot be imported."""

    def __init__(self, code: str, message: str, *, target: str | None = "File",
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.target = target
        self.details = details or {}


@dataclass(slots=True)
class AmountPlaces:
    """Where the lines of a file state their amounts, named as the format's line errors name places: the target
    of a check made after parsing (an amount finer than its currency). The parser fills it as it reads, once per
    file or per array, never per line (a CSV file's amount column header; each JSON transactions array, from
    its first line on); a line that names its own place (`ParsedLine.amount_target`) keeps it."""

    #: the place of every line's amount (a CSV column header)
    every_line: str | None = None
    #: the place of every line's day (a CSV column header)
    date_every_line: str | None = None
    #: the place of every line's balance and original amount (CSV column headers)
    balance_every_line: str | None = None
    original_every_line: str | None = None
    #: JSON: the first line number of each transactions array read, in file order, and the array's JSONPath
    firsts: list[int] = field(default_factory=list)
    arrays: list[str] = field(default_factory=list)

    def array(self, first_line: int, path: str) -> None:
        """The lines from `first_line` on are the elements of the array at `path` (until the next array)."""
        if self.firsts and self.firsts[-1] == first_line:  # an empty array before: it holds no line
            self.arrays[-1] = path
        else:
            self.firsts.append(first_line)
            self.arrays.append(path)

    def of(self, line: ParsedLine) -> str | None:
        """The place of the line's amount; None where neither the line nor the file names it."""
        if line.amount_target is not None:
            return line.amount_target
        return self._in_array(line, "amount") or self.every_line

    def date_of(self, line: ParsedLine) -> str | None:
        """The place of the line's day, as the format's date errors name it; None where the file does not say
        (camt: the entry's `BookgDt`, from the place of its amount)."""
        if line.amount_target is not None:
            entry = _CAMT_ENTRY.match(line.amount_target)
            return f"{entry.group(1)}/BookgDt" if entry else None
        return self._in_array(line, "datePosted") or self.date_every_line

    def balance_of(self, line: ParsedLine) -> str:
        """The place of the line's balance, as the format's line errors name it (else `balance`)."""
        return self._in_array(line, "balance") or self.balance_every_line or "balance"

    def original_of(self, line: ParsedLine) -> str:
        """The place of the line's original amount, as the format's line errors name it (camt: the entry's
        instructed amount; else `originalAmount`)."""
        if line.amount_target is not None:
            entry = _CAMT_ENTRY.match(line.amount_target)
            if entry:
                return f"{entry.group(1)}/NtryDtls/TxDtls/AmtDtls/InstdAmt/Amt"
        return self._in_array(line, "originalAmount") or self.original_every_line or "originalAmount"

    def _in_array(self, line: ParsedLine, key: str) -> str | None:
        """JSON: the line's member `key`, as a JSONPath into its transactions array."""
        if self.firsts:
            at = bisect_right(self.firsts, line.line_number) - 1
            if at >= 0:
                return f"{self.arrays[at]}[{line.line_number - self.firsts[at]}].{key}"
        return None


#: a camt entry's XPath, from that of a place within it
_CAMT_ENTRY = re.compile(r"^(.*?/Ntry\[\d+\])/")


#: `ParseOptions.extra` key: the source is a range of a split file that more of the file follows (its end is not
#: the file's end: see `tximport.formats.ranges`)
RANGE_FOLLOWED = "rangeFollowed"


@dataclass(slots=True)
class ParseOptions:
    """What the import says about its file (and, in `places`, what the parser says back about it)."""

    date_style: DateStyle | None = None
    #: column mapping for mapped CSV formats (see the CSV format's documentation)
    mapping: dict[str, Any] | None = None
    #: include pending (not booked) entries where a format marks them
    include_pending: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    #: filled by the parser as it reads: where the file's lines state their amounts
    places: AmountPlaces = field(default_factory=AmountPlaces)
    #: the caller takes `LineBlock`s: a reader of plain blocks hands their lines over as columns
    blocks: bool = False


class Source(Protocol):
    """Where a parser reads from: re-openable, so two-pass formats can stream twice."""

    @property
    def size(self) -> int | None:
        """The source's length in bytes, when known."""
        ...

    def open(self) -> IO[bytes]: ...


@dataclass(slots=True)
class BytesSource:
    """An in-memory source (tests, `POST` of small bodies)."""

    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def open(self) -> IO[bytes]:
        import io

        return io.BytesIO(self.data)


@dataclass(slots=True)
class FileSource:
    """A file on disk."""

    path: str

    @property
    def size(self) -> int:
        import os

        return os.path.getsize(self.path)  # noqa: PTH202

    def open(self) -> IO[bytes]:
        return open(self.path, "rb")  # noqa: PTH123, SIM115


class Parser(Protocol):
    def __call__(self, source: Source, options: ParseOptions) -> Iterator[ParseEvent]: ...


@dataclass(frozen=True, slots=True)
class FileFormat:
    """A format the service accepts, as `GET /fileformats` lists it."""

    file_format: str
    description: str
    variant: str
    version: int
    file_extensions: tuple[str, ...]
    accounts_supported: str  # "single" | "multi"
    parser: Callable[[Source, ParseOptions], Iterator[ParseEvent]]
    max_file_size: int = 250_000_000
    #: a downloadable template (tabular formats), as (filename, content-type, body)
    template: tuple[str, str, str] | None = None
    #: formats that need a mapping or other options document them here
    options_schema: dict[str, Any] | None = None
    #: formats read through a mapping check it when the import is created (raises FileError)
    validate_mapping: Callable[[Any], Any] | None = None
    #: where a line's amount is, as the format's line errors name it, where neither the line nor its file names
    #: it (`ParsedLine.amount_target`, `AmountPlaces`): the target of a rejection made after parsing
    amount_target: str = "amount"
    #: where a line's day is, as the format's date errors name it, where neither the line nor its file names it
    date_target: str = "date"
    #: the parser hands lines over as `LineBlock`s where the caller asks for them (`ParseOptions.blocks`)
    hands_blocks: bool = False
    #: the format marks reversals (`ParsedLine.reversal`: camt `RvslInd`, MT940 `RC`/`RD`)
    reversals: bool = False

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "fileFormat": self.file_format,
            "description": self.description,
            "variant": self.variant,
            "version": self.version,
            "maxFileSize": self.max_file_size,
            "fileExtensions": list(self.file_extensions),
            "accountsSupported": self.accounts_supported,
            "templateAvailable": self.template is not None,
        }
        if self.options_schema:
            body["options"] = self.options_schema
        return body
