"""The CSV engine's row reader: one row (a list of cells and the line it starts on) into its events.

This is the general path every row can take, and the reference the column reader (`fast_csv`)
is tested against: whatever a block of rows gives there, it gives here row by row.

What a row becomes (the mapping's roles are resolved to column indexes first, see `Layout`):

* a row with fewer cells than the mapped date and amount columns need is an `InvalidLine` (a blank
  one is skipped silently); so is a row with a value past the header's width (the fixed layouts'
  columns when there is no header; see `RowReader.too_wide`): empty cells past it are a trailing
  delimiter and read;
* the date: plain ISO first where the file's style allows it, then the style-aware parser; a
  missing date is `RequiredValueMissing` (or the row is skipped when the whole row is blank), a bad
  one `InvalidDate`;
* the amount, by the mapping's amount mode: a signed `amount`; `credit` + `debit` (credit minus the
  absolute debit); or `amount` + `indicator` (the absolute amount takes the indicator's sign, an
  empty indicator keeps it as written, an unknown one is `InvalidAmount`);
* the description: one column stripped, or several joined with the mapping's separator; NFC;
* optional values: currency (else the mapping's currency), value date, balance, original amount,
  the text roles, the account (a `StatementAccount` the first time an account is seen), the status
  (pending or booked, by the mapping's `statusValues`). A bad value date, balance or original
  amount, or a status that is neither, rejects the line.

A file whose end looks to have cut its last record (see `cut_short`) gets a warning `FileTruncated`: a record
that ends inside a quoted cell is rejected `InvalidLine`; one without a line end and with fewer cells than the
header (and than the row before it) is rejected too when the cut may have changed a value the line is read with,
else read with the cells it has.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING
from unicodedata import combining, normalize

from tximport.formats.base import (
    FILE_TRUNCATED,
    INVALID_AMOUNT,
    INVALID_DATE,
    INVALID_LINE,
    REQUIRED_VALUE_MISSING,
    FileNote,
    LineError,
    ParsedLine,
    ParseEvent,
    StatementAccount,
)
from tximport.formats.encoding import nfc
from tximport.formats.values import credit_minus_debit, debit

if TYPE_CHECKING:
    from tximport.formats.csv_feed import LastRecord
    from tximport.formats.csv_mapped import CsvMapping

#: optional text roles and the ParsedLine attribute each fills
TEXT_ROLES = {
    "bankTransactionId": "bank_transaction_id",
    "reference": "reference",
    "counterpartyName": "counterparty_name",
    "counterpartyAccount": "counterparty_account",
    "originalCurrency": "original_currency",
}

#: amount modes
SIGNED, INDICATOR, CREDIT_DEBIT = 0, 1, 2

Row = Sequence[str]


_LETTERS_AND_DIGITS = re.compile(r"[^\W_]+")


def status_key(text: str) -> str:
    """A status value as it is compared: case-folded, its letters and digits alone, without their accents
    (punctuation and spacing ignored: `Pre-Auth.`, `PRE_AUTH` and `Preauth` are `preauth`, `On hold` and
    `Onhold` are `onhold`, `Comptabilisé` is `comptabilise`)."""
    if not text.isascii():
        text = "".join(c for c in normalize("NFKD", text) if not combining(c))
    return "".join(_LETTERS_AND_DIGITS.findall(text.casefold()))


_LINE_BREAKS = re.compile(r"[ \t]*[\r\n]+[ \t]*")


def _one_line(text: str) -> str:
    """`text` with each run of line breaks (and the blanks beside it) made one space."""
    return _LINE_BREAKS.sub(" ", text) if "\n" in text or "\r" in text else text


def blank(row: Row) -> bool:
    """Whether every cell of the row is empty or white space."""
    return all(not cell or cell.isspace() for cell in row)


@dataclass(slots=True)
class Layout:
    """Where each role is in the rows, the names to report in errors, and how many cells a row may
    hold (`width`, 0: any) with what sets it (`width_of`: "the header" or "the format")."""

    indexes: dict[str, tuple[int, ...]]
    targets: dict[str, str]
    width: int = 0
    width_of: str = "the header"


class RowReader:
    """Reads rows into events for one file: its layout, mapping, date and amount parsers."""

    def __init__(self, layout: Layout, mapping: CsvMapping, delimiter: str, parse_date: Callable[[str], date],
                 parse_amount: Callable[[str], Decimal], iso_first: bool = True) -> None:
        idx, targets = layout.indexes, layout.targets
        self.mapping, self.delimiter, self.targets = mapping, delimiter, targets
        self.parse_date, self.parse_amount, self.iso_first = parse_date, parse_amount, iso_first
        self.date_i = idx["date"][0]
        self.desc_cols = idx.get("description", ())
        self.single_desc = self.desc_cols[0] if len(self.desc_cols) == 1 else None
        if "credit" in idx:
            self.mode, self.amount_i, self.debit_i = CREDIT_DEBIT, idx["credit"][0], idx["debit"][0]
        elif "indicator" in idx:
            self.mode, self.amount_i, self.debit_i = INDICATOR, idx["amount"][0], idx["indicator"][0]
        else:
            self.mode, self.amount_i, self.debit_i = SIGNED, idx["amount"][0], -1
        self.required = max(self.date_i, self.amount_i, self.debit_i) + 1
        #: cells a row may hold; past them only empty ones (a trailing delimiter)
        self.width = layout.width or sys.maxsize
        self.width_of = layout.width_of
        self.date_t = targets["date"]
        self.amount_t = (targets["credit"] + "/" + targets["debit"] if self.mode == CREDIT_DEBIT
                         else targets["amount"])

        def optional(role: str) -> int:
            return idx[role][0] if role in idx else -1

        self.value_date_i, self.balance_i = optional("valueDate"), optional("balance")
        self.original_i, self.currency_i = optional("originalAmount"), optional("currency")
        self.account_i, self.status_i = optional("account"), optional("status")
        self.texts = [(TEXT_ROLES[role], idx[role][0]) for role in TEXT_ROLES if role in idx]
        self.has_extras = (self.value_date_i >= 0 or self.balance_i >= 0 or self.original_i >= 0
                           or self.account_i >= 0 or self.status_i >= 0 or bool(self.texts))
        self.pending_values, self.booked_values = mapping.pending_values, mapping.booked_values
        self.status_values = mapping.status_values  # (as written, for the message)
        self._statuses: dict[str, bool | None] = {}
        self.accounts_seen: set[str] = set()
        # (the mapping computes these on each access)
        self.credit_values, self.debit_values = mapping.credit_values, mapping.debit_values
        #: the file's text from a line on, where the reader still holds it (what `too_wide` tells quoted cells by)
        self.record_of: Callable[[int], str | None] | None = None

    # -- the row loop ------------------------------------------------------------------------------

    def events(self, rows: Iterable[tuple[int, Row]]) -> Iterator[ParseEvent]:
        """The events of the rows, in order (none for a blank row)."""
        required, delimiter = self.required, self.delimiter
        for line_number, row in rows:
            n = len(row)
            if n < required:
                if not blank(row):
                    yield LineError(line_number, INVALID_LINE, f"Expected at least {required} columns, found {n}.",
                                    actual_value=delimiter.join(row)[:500], target=f"line {line_number}")
                continue
            if n > self.width:
                wide = self.too_wide(line_number, row)
                if wide is not None:
                    yield wide
                    continue
            posted = self.posted(line_number, row)
            if type(posted) is not date:
                if posted is not None:
                    yield posted  # type: ignore[misc]
                continue
            amount = self.amount(line_number, row)
            if type(amount) is LineError:
                yield amount
                continue
            line = ParsedLine(line_number, posted, amount, self.description(row, n))  # type: ignore[arg-type]
            self.currency(line, row, n)
            if self.has_extras:
                yield from self.extras(line, row, n)
            else:
                yield line

    # -- the parts of a row ------------------------------------------------------------------------

    def too_wide(self, line_number: int, row: Row) -> LineError | None:
        """The error of a row with more cells than the header (or the format) has, unless the cells past
        it are empty (a trailing delimiter). A value holding the delimiter unquoted (`-1,234.50` in a
        comma file) reads as more cells: its parts would be booked as other columns. In a credit/debit
        layout the row is rejected too when both credit and debit are filled: a credit `2,500.00` so
        written reads as credit 2 and debit 500.00 and leaves the cell past them empty."""
        width = self.width
        both = ""
        if blank(row[width:]):
            if not (self.mode == CREDIT_DEBIT and row[self.amount_i].strip() and row[self.debit_i].strip()):
                return None
            both = ", the cells past it empty but both credit and debit filled"
        if not both and self.quoted_past_width(line_number, row):
            cause = (f"the row has more cells than {self.width_of} names, the cells past it quoted text: a mapping by "
                     "column index (header: false, skipRows past the header) reads it")
        else:
            cause = "a value holding the delimiter must be quoted"
        return LineError(line_number, INVALID_LINE,
                         f"Expected at most {width} columns ({self.width_of} has {width}), found {len(row)}{both}: "
                         f"{cause}.", actual_value=self.delimiter.join(row)[:500], target=f"line {line_number}")

    def quoted_past_width(self, line_number: int, row: Row) -> bool:
        """Whether a row wider than the header was written with every filled cell past the header quoted and with
        no unquoted value the delimiter may have split: no two unquoted cells side by side that read as one amount
        joined (`-1` and `234.50` of `-1,234.50`). Only for a header's width, where the file's text is still held."""
        record = self.record_of(line_number) if self.record_of is not None and self.width_of == "the header" else None
        if record is None:
            return False
        quoted = quoted_cells(record, self.delimiter, self.mapping.quote_char)
        if len(quoted) != len(row):
            return False
        if any(cell.strip() and not quoted[j] for j, cell in enumerate(row) if j >= self.width):
            return False
        for j in range(len(row) - 1):
            left, right = row[j].strip(), row[j + 1].strip()
            if left and right and not quoted[j] and not quoted[j + 1]:
                try:
                    self.parse_amount(left + self.delimiter + right)
                except ValueError:
                    continue
                return False
        return True

    def read_date(self, text: str) -> date:
        """A date cell as this file writes its dates. Raises ValueError."""
        try:
            # fast path: plain ISO dates (a file whose dates need a style goes to its own parser)
            return date.fromisoformat(text) if self.iso_first else self.parse_date(text)
        except ValueError:
            return self.parse_date(text)

    def posted(self, line_number: int, row: Row) -> date | LineError | None:
        """The date of the row; a LineError; None for a blank row."""
        text = row[self.date_i]
        try:
            return self.read_date(text)
        except ValueError as exc:
            if not text or text.isspace():
                if blank(row):
                    return None
                # a pending line the bank has not booked yet has no booking date (Revolut's Completed Date): left
                # out, counted as pending, unless includePending
                return LineError(line_number, REQUIRED_VALUE_MISSING, "The date is missing.",
                                 actual_value=text, target=self.date_t, pending=self.is_pending(row))
            # a pending line may hold a word for its day (Woolworths Money and John Lewis write `Pending`): left out
            # and counted as pending too, unless includePending
            return LineError(line_number, INVALID_DATE, str(exc), actual_value=text, target=self.date_t,
                             pending=self.is_pending(row))

    def amount(self, line_number: int, row: Row) -> Decimal | LineError:
        """The signed amount of the row, or the LineError that rejects it."""
        mode = self.mode
        text = row[self.amount_i]
        try:
            if mode == SIGNED:
                return self.parse_amount(text)
            if mode == CREDIT_DEBIT:
                debit_text = row[self.debit_i]
                text = text + self.delimiter + debit_text
                return self.credit_debit(line_number, row[self.amount_i], debit_text, text)
            return self.indicated(line_number, row, self.parse_amount(text))
        except ValueError as exc:
            if not text or text.isspace():
                return LineError(line_number, REQUIRED_VALUE_MISSING, "The amount is missing.",
                                 actual_value=text, target=self.amount_t)
            return LineError(line_number, INVALID_AMOUNT, str(exc), actual_value=text, target=self.amount_t)

    def credit_debit(self, line_number: int, credit_text: str, debit_text: str, text: str) -> Decimal | LineError:
        """Credit minus the absolute debit (either may be empty, not both). Raises ValueError."""
        credit = self.parse_amount(credit_text) if credit_text.strip() else None
        debit_amount = self.parse_amount(debit_text) if debit_text.strip() else None
        if credit is None and debit_amount is None:
            return LineError(line_number, REQUIRED_VALUE_MISSING, "Neither credit nor debit is given.",
                             actual_value=text, target=self.amount_t)
        if debit_amount is None:
            return credit  # type: ignore[return-value]
        if credit is None:
            return debit(debit_amount)
        if credit and debit_amount:  # two movements on one line, or a broken row: netting them would be a guess
            return LineError(line_number, INVALID_AMOUNT, f"Both a credit ({credit_text.strip()}) and a debit "
                             f"({debit_text.strip()}) are given: a line moves money one way (the other column is "
                             "empty or zero).", actual_value=text, target=self.amount_t)
        return credit_minus_debit(credit, debit_amount)

    def indicated(self, line_number: int, row: Row, amount: Decimal) -> Decimal | LineError:
        """The amount signed by the indicator column."""
        raw = row[self.debit_i]
        indicator = raw.strip().upper()
        if indicator in self.debit_values:
            return debit(amount)
        if indicator in self.credit_values:
            return amount.copy_abs()
        if indicator:
            return LineError(line_number, INVALID_AMOUNT,
                             f"The debit/credit indicator {raw!r} is neither a credit value "
                             f"({', '.join(sorted(self.credit_values))}) nor a debit value "
                             f"({', '.join(sorted(self.debit_values))}).",
                             actual_value=raw, target=self.targets["indicator"])
        return amount

    def description(self, row: Row, n: int) -> str:
        """The description: one column, or the non-empty mapped columns joined; NFC; the line breaks of a quoted
        cell written over several lines made one space each (with the white space around them)."""
        single = self.single_desc
        if single is not None:
            description = _one_line(row[single].strip()) if single < n else ""
            return description if description.isascii() else normalize("NFC", description)
        if self.desc_cols:
            return nfc(self.mapping.description_separator.join(
                part for part in (_one_line(row[i].strip()) for i in self.desc_cols if i < n) if part))
        return ""

    def currency(self, line: ParsedLine, row: Row, n: int) -> None:
        """The currency column's value (upper case), else the mapping's currency."""
        i = self.currency_i
        if 0 <= i < n and row[i].strip():
            line.currency = row[i].strip().upper()
        elif self.mapping.currency:
            line.currency = self.mapping.currency

    def extras(self, line: ParsedLine, row: Row, n: int) -> Iterator[ParseEvent]:
        """The line with its optional values, or the LineError of the first bad one; a StatementAccount
        before the first line of each account."""
        problem = self.optional_values(line, row, n)
        if problem is not None:
            yield problem
            return
        for attr, i in self.texts:
            if i < n:
                value = row[i].strip()
                if value:
                    setattr(line, attr, nfc(value))
        if line.original_currency:
            line.original_currency = line.original_currency.upper()
        i = self.account_i
        if 0 <= i < n:
            account = nfc(row[i].strip())
            if account:
                line.account_ref = account
                if account not in self.accounts_seen:
                    self.accounts_seen.add(account)
                    yield StatementAccount(account, currency=line.currency, line_number=line.line_number)
        yield line

    def is_pending(self, row: Row) -> bool:
        """Whether the row's status cell (where the mapping names one) marks it pending."""
        i = self.status_i
        return 0 <= i < len(row) and self.pending(row[i]) is True

    def pending(self, text: str) -> bool | None:
        """Whether a status cell marks a pending line (False: booked, or empty); None for another value."""
        if text in self._statuses:
            return self._statuses[text]
        key = status_key(text)
        found = True if key in self.pending_values else False if not key or key in self.booked_values else None
        if len(self._statuses) < 1000:  # a status column holds a handful of values
            self._statuses[text] = found
        return found

    def status_error(self, line_number: int, text: str) -> LineError:
        """A status cell that is neither a pending nor a booked value rejects its line, naming the values."""
        pending, booked = ", ".join(self.status_values.pending), ", ".join(self.status_values.booked)
        return LineError(line_number, INVALID_LINE, f"The status {text.strip()!r} is neither a pending value "
                         f"({pending}) nor a booked value ({booked}); see statusValues.",
                         actual_value=text, target=self.targets["status"])

    def optional_values(self, line: ParsedLine, row: Row, n: int) -> LineError | None:
        """Value date, balance, original amount and status into the line; the error of the first bad one."""
        line_number, targets = line.line_number, self.targets
        i = self.status_i
        if 0 <= i < n:
            pending = self.pending(row[i])
            if pending is None:
                return self.status_error(line_number, row[i])
            line.pending = pending
        i = self.value_date_i
        if 0 <= i < n and row[i].strip():
            try:
                line.value_date = self.parse_date(row[i])
            except ValueError as exc:
                return LineError(line_number, INVALID_DATE, str(exc), actual_value=row[i], target=targets["valueDate"])
        for attr, i, role in (("balance", self.balance_i, "balance"),
                              ("original_amount", self.original_i, "originalAmount")):
            if 0 <= i < n and row[i].strip():
                try:
                    setattr(line, attr, self.parse_amount(row[i]))
                except ValueError as exc:
                    return LineError(line_number, INVALID_AMOUNT, str(exc), actual_value=row[i], target=targets[role])
        return None


#: the roles a line is read with besides its texts: a cut may have shortened such a cell's value
VALUE_ROLES = ("date", "valueDate", "amount", "credit", "debit", "indicator", "balance", "originalAmount", "currency",
               "account", "status")
#: the roles a line cannot be read without: an empty cell of them is read otherwise than a missing one (a missing
#: one rejects the line; an empty credit, debit or indicator is no movement or no sign)
REQUIRED_ROLES = ("date", "amount", "credit", "debit", "indicator")


def cut_short(end: LastRecord, layout: Layout, previous: int, quote: str) -> tuple[FileNote, LineError | None] | None:
    """What the file's end says of its last record: the warning `FileTruncated` (lineNumber the file's last line)
    and, when the record is rejected, its `InvalidLine`; None when nothing says the file is cut.

    The file is cut when it ends inside a quoted cell (`csv.reader` would read the cell to the end of the file):
    the record is rejected. It is cut too when the record has no line end and fewer cells than the layout's width
    (without one, than the row before it) and than the row before it (`previous` cells, 0: none): many exports
    omit the last line break, but a line shorter than its header and its neighbour is what a cut leaves. The
    record is rejected then when the cut may have changed a value it is read with: its last cell, not closed by
    its quote, holds a value of `VALUE_ROLES` (`1,533` for `1,533.50`), or is an empty cell of `REQUIRED_ROLES`
    (the cut came before the value); otherwise it is read with the cells it has (an optional value whose cell is
    missing or empty is left out, as on any line)."""
    text = end.text.rstrip("\r\n")
    found = _open_quote(text) if end.open_quote else _short_line(end, layout, previous, quote, text)
    if found is None:
        return None
    note, rejected = found
    # (no line number in the messages: a range of a split file is renumbered by the events' lineNumber alone)
    warning = FileNote(FILE_TRUNCATED, f"{note}; check the file before confirming", severity="warning",
                       line_number=end.last_line)
    line = end.line_number
    error = None if rejected is None else LineError(line, INVALID_LINE, rejected, actual_value=text[:500],
                                                    target=f"line {line}")
    return warning, error


def _open_quote(text: str) -> tuple[str, str]:
    """The note and the rejection of a record the file ends inside a quoted cell of."""
    note = ("the file ends inside a quoted value that is never closed: the line that opens it is not imported (nor "
            "the lines after it, read into that value). It looks cut short, or holds a stray quote")
    after = " (the lines after it are read into that value)" if "\n" in text or "\r" in text else ""
    return note, (f"The file ends inside this line: a quote opened in it is never closed{after}, so the line looks "
                  "cut short.")


def _short_line(end: LastRecord, layout: Layout, previous: int, quote: str, text: str
                ) -> tuple[str, str | None] | None:
    """The note and the rejection (None: the line is read with the cells it has) of a last record without a line
    end and shorter than its header and the row before it; None for any other."""
    row, n = end.row, len(end.row)
    wanted = layout.width or previous
    if n >= wanted or (previous and n >= previous) or blank(row):
        return None
    of = layout.width_of if layout.width else "the line before it"
    shape = f"has no line end and {n} columns where {of} has {wanted}"
    note = (f"the file ends inside its last line, which {shape}. It looks cut short: that line is incomplete and "
            "lines after the cut are missing")
    last = n - 1
    roles = REQUIRED_ROLES if not row[last].strip() else VALUE_ROLES
    cut = [role for role in roles if last in layout.indexes.get(role, ())]
    if not cut or text.endswith(quote):
        return note, None
    return note, (f"The file ends inside this line: it {shape}, and its last value ({layout.targets[cut[0]]}) may "
                  "be cut, so the line looks cut short.")


def rows_of(first_line: int, columns: Sequence[Sequence[str]]) -> Iterator[tuple[int, tuple[str, ...]]]:
    """The rows of a block read as columns, numbered from `first_line` (one line per row)."""
    return zip(range(first_line, first_line + len(columns[0])), zip(*columns, strict=True), strict=True) \
        if columns else iter(())


def quoted_cells(record: str, delimiter: str, quote: str) -> list[bool]:
    """Whether each cell of the record the text opens was written quoted, as `csv.reader` reads it (a cell is
    quoted when its first character is the quote); the text may stop inside the record."""
    flags: list[bool] = []
    i, n = 0, len(record)
    while True:
        quoted = i < n and record[i] == quote
        flags.append(quoted)
        if quoted:
            i += 1
            while i < n:
                if record[i] == quote:
                    if i + 1 < n and record[i + 1] == quote:
                        i += 2
                        continue
                    break
                i += 1
        while i < n and record[i] not in (delimiter, "\r", "\n"):
            i += 1
        if i >= n or record[i] != delimiter:
            return flags
        i += 1
