"""The CSV engine's column reader: a block of plain lines read a column at a time.

Most bank exports are one record per line with the same number of cells on every line, text cells
perhaps in quotes. For such a block, the lines are split with a few `str` operations
(`csv_feed.split_block`) instead of a `csv.reader` row loop, and every value is converted a column at
a time: dates through a cache of the
distinct values (a statement repeats a few hundred dates), amounts with `values.read_amount_column`,
descriptions stripped and NFC-normalised in one call, and the `ParsedLine` events built with `map` (or one
`LineBlock` of columns, carrying the amounts' texts as read where `str()` writes them so).

The column reader only produces events when they are exactly those the row reader
(`csv_rows.RowReader`) would produce for the same rows:

* `csv_feed.split_block` accepts a block only when `csv.reader` would read every line as one row of
  the same cells: no lone carriage return, the same number of delimiters on every line, no line as
  long as csv's field limit, and every quote in a cell that is wholly quoted (`"text"`, doubled
  quotes inside allowed), so that no quoted delimiter or line break can hide;
* `ColumnReader.events` gives up (None) at the first value the row reader would reject or read in a
  way the column code does not (a bad date or amount, a short row, a row wider than the header with
  something past it, an unknown indicator ...).

Either way the block then goes to the row reader, so the result never depends on which path ran;
tests compare both on the same files with `ENABLED` off.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from itertools import repeat
from typing import Any
from unicodedata import is_normalized, normalize

from tximport.formats.base import LineBlock, ParsedLine, ParseEvent, StatementAccount, WrittenAmounts
from tximport.formats.csv_feed import Columns
from tximport.formats.csv_rows import CREDIT_DEBIT, INDICATOR, SIGNED, RowReader
from tximport.formats.encoding import nfc
from tximport.formats.values import credit_minus_debit, debit, read_amount_column

#: `tests` switch the column reader off to compare it with the row reader
ENABLED = True

#: single-byte encodings whose every text is NFC already (tests check it character pair by pair)
NFC_ENCODINGS = frozenset({"cp1252", "latin-1", "iso8859-1", "iso8859-15", "cp1250", "iso8859-2"})

#: distinct date texts remembered per file (statements repeat a few hundred)
_DATE_CACHE = 100_000


def _nfc_all(values: list[str]) -> list[str]:
    """Each value NFC-normalised (one call for the lot: values hold no line break, NFC never crosses one)."""
    joined = "\n".join(values)
    if joined.isascii() or is_normalized("NFC", joined):
        return values
    return normalize("NFC", joined).split("\n")


def _column(values: Sequence[Any], none: Sequence[Any]) -> list[Any] | None:
    """A block's column of an optional field: None where the file has no column for it (`none`)."""
    return None if values is none else list(values)


class ColumnReader:
    """Builds the events of plain blocks for one file, exactly as its `RowReader` would."""

    def __init__(self, rows: RowReader, decimal_separator: str, encoding: str = "", plain_amounts: bool = False,
                 blocks: bool = False) -> None:
        self.rows = rows
        #: the caller takes a block's lines as columns (`LineBlock`) where they have no extra column
        self.blocks = blocks
        self.decimal = decimal_separator
        #: every amount cell of the blocks read by columns is a plain amount (the inference pass saw them all)
        self.plain = plain_amounts
        #: text of these encodings is always NFC (no combining marks, nothing composes): no check needed
        self.nfc = (lambda values: values) if codecs.lookup(encoding or "utf-8").name in NFC_ENCODINGS else _nfc_all
        self._dates: dict[str, date] = {}
        self._value_dates: dict[str, date] = {}

    def events(self, batch: Columns) -> Iterable[ParseEvent] | None:
        """The events of the block's rows; None when the row reader must read it.

        Every value is checked before the first event is built, and the events are built as they are
        consumed (a `map`): a block's worth of live `ParsedLine`s would wake the cyclic garbage
        collector again and again (it costs more than building them)."""
        rows, columns = self.rows, batch.columns
        width = len(columns)
        if width < rows.required or width > rows.width and not self._past_width_empty(batch):
            return None
        dates = self._dates_of(columns[rows.date_i], self._dates, rows.read_date)
        read = self._amounts(columns) if dates is not None else None
        if dates is None or read is None:
            return None
        amounts, written = read
        numbers = range(batch.first_line, batch.first_line + len(dates))
        descriptions = self._descriptions(columns, width)
        currencies = self._currencies(columns, width)
        if rows.has_extras:
            return self._with_extras(columns, width, numbers, dates, amounts, descriptions, currencies, written)
        if self.blocks:
            return (LineBlock(numbers, dates, amounts, descriptions, currencies, written=written),)
        if currencies is None:
            return map(ParsedLine, numbers, dates, amounts, descriptions)
        return map(ParsedLine, numbers, dates, amounts, descriptions, repeat(None), currencies)

    def _past_width_empty(self, batch: Columns) -> bool:
        """Whether a block wider than the header holds nothing past it (a trailing delimiter), so that
        no row of it is too wide (see `RowReader.too_wide`): a column at a time, in C. A credit/debit
        block so read must not fill both on one row (that row goes to the row reader)."""
        rows, columns = self.rows, batch.columns
        for j in range(rows.width, len(columns)):
            column = columns[j]
            joined = column[0][:0].join(column)  # (text, or the bytes of a bytes view)
            quote = batch.quoted.get(j)
            if quote is not None:  # every cell wholly quoted, no quote inside (see `split_block`)
                joined = joined.replace(quote, joined[:0])
            if joined.strip():  # (bytes strip ASCII white space only: the row reader decides the rest)
                return False
        if rows.mode == CREDIT_DEBIT:
            pairs = zip(columns[rows.amount_i], columns[rows.debit_i], strict=True)
            return not any(credit.strip() and debit_cell.strip() for credit, debit_cell in pairs)
        return True

    @staticmethod
    def _dates_of(column: list[str], cache: dict[str, date], read: Callable[[str], date]) -> list[date] | None:
        """Each text read once per file (the distinct texts of a column are few)."""
        try:
            return list(map(cache.__getitem__, column))
        except KeyError:
            pass
        if len(cache) > _DATE_CACHE:
            cache.clear()
        for text in set(column).difference(cache):
            try:
                cache[text] = read(text)
            except ValueError:
                return None
        return list(map(cache.__getitem__, column))

    def _amount_column(self, texts: list[str], written: bool = False
                       ) -> tuple[list[Decimal], WrittenAmounts | None] | None:
        """The amounts of a column, with their texts as `str()` writes them where they are read so (`written`)."""
        read = read_amount_column(texts, self.decimal, self.plain, written)
        if read is None:
            try:  # odd but valid values (`12,00-`, `€ 5`): the row reader's parser, value by value
                return list(map(self.rows.parse_amount, texts)), None
            except ValueError:
                return None
        return read

    def _optional_amounts(self, texts: list[str]) -> list[Decimal | None] | None:
        """Amounts where the cell is not blank, None where it is."""
        present = [i for i, text in enumerate(map(str.strip, texts)) if text]
        if len(present) == len(texts):
            read = self._amount_column(texts)
            return None if read is None else read[0]  # type: ignore[return-value]
        found = self._amount_column([texts[i] for i in present])
        if found is None:
            return None
        values: list[Decimal | None] = [None] * len(texts)
        for i, amount in zip(present, found[0], strict=True):
            values[i] = amount
        return values

    def _amounts(self, columns: list[list[str]]) -> tuple[list[Decimal], WrittenAmounts | None] | None:
        """The block's amounts, signed; with their texts as `str()` writes them where the cells hold them so (a
        signed amount column's, where a block is handed over: `LineBlock.written`)."""
        rows = self.rows
        if rows.mode == SIGNED:
            return self._amount_column(columns[rows.amount_i], self.blocks)
        amounts: list[Decimal] | None = None
        if rows.mode == CREDIT_DEBIT:
            credits = self._optional_amounts(columns[rows.amount_i])
            debits = self._optional_amounts(columns[rows.debit_i]) if credits is not None else None
            if debits is not None:
                amounts = self._credit_debit(credits, debits)  # type: ignore[arg-type]
        elif rows.mode == INDICATOR:
            read = self._amount_column(columns[rows.amount_i])
            if read is not None:
                amounts = self._indicated(read[0], columns[rows.debit_i])
        return None if amounts is None else (amounts, None)

    @staticmethod
    def _credit_debit(credits: list[Decimal | None], debits: list[Decimal | None]) -> list[Decimal] | None:
        amounts: list[Decimal] = []
        try:
            for credit, debit_amount in zip(credits, debits, strict=True):
                if debit_amount is None:
                    if credit is None:
                        return None  # neither: a line error
                    amounts.append(credit)
                elif credit is None:
                    amounts.append(debit(debit_amount))
                elif credit and debit_amount:
                    return None  # both given: a line error (the row reader says which)
                else:
                    amounts.append(credit_minus_debit(credit, debit_amount))
        except ValueError:
            return None
        return amounts

    def _indicated(self, amounts: list[Decimal], indicators: list[str]) -> list[Decimal] | None:
        debit_values, credit_values = self.rows.debit_values, self.rows.credit_values
        signed: list[Decimal] = []
        for amount, raw in zip(amounts, indicators, strict=True):
            indicator = raw.strip().upper()
            if indicator in debit_values:
                signed.append(debit(amount))
            elif indicator in credit_values:
                signed.append(amount.copy_abs())
            elif indicator:
                return None  # an unknown indicator: a line error
            else:
                signed.append(amount)
        return signed

    def _descriptions(self, columns: list[list[str]], width: int) -> list[str]:
        rows = self.rows
        count = len(columns[0])
        single = rows.single_desc
        if single is not None:
            return self.nfc(list(map(str.strip, columns[single]))) if single < width else [""] * count
        parts = [list(map(str.strip, columns[i])) for i in rows.desc_cols if i < width]
        if not parts:
            return [""] * count
        separator = rows.mapping.description_separator
        joined = [separator.join(filter(None, cells)) for cells in zip(*parts, strict=True)]
        return self.nfc(joined) if "\n" not in separator else list(map(nfc, joined))

    def _currencies(self, columns: list[list[str]], width: int) -> list[str | None] | None:
        """Each line's currency; None when no line has one."""
        rows = self.rows
        default = rows.mapping.currency
        if not 0 <= rows.currency_i < width:
            return None if default is None else [default] * len(columns[0])
        return [text.upper() if text else default for text in map(str.strip, columns[rows.currency_i])]

    def _with_extras(self, columns: list[list[str]], width: int, numbers: range, dates: list[date],
                     amounts: list[Decimal], descriptions: list[str], currencies: list[str | None] | None,
                     written: WrittenAmounts | None = None) -> Iterable[ParseEvent] | None:
        rows = self.rows
        count = len(dates)
        none: Sequence[Any] = [None] * count
        value_dates: Sequence[date | None] = none
        if 0 <= rows.value_date_i < width:
            texts = columns[rows.value_date_i]
            present = [text for text in texts if text.strip()]
            found = self._dates_of(present, self._value_dates, rows.parse_date)
            if found is None:
                return None
            cache = self._value_dates
            value_dates = [cache[text] if text.strip() else None for text in texts]
        balances: Sequence[Decimal | None] = none
        originals: Sequence[Decimal | None] = none
        for role_i, kind in ((rows.balance_i, "balance"), (rows.original_i, "original")):
            if 0 <= role_i < width:
                values = self._optional_amounts(columns[role_i])
                if values is None:
                    return None
                if kind == "balance":
                    balances = values
                else:
                    originals = values
        texts_by_attr: dict[str, list[str | None]] = {}
        for attr, i in rows.texts:
            if i < width:
                texts_by_attr[attr] = [nfc(text) or None for text in map(str.strip, columns[i])]
        original_currencies = texts_by_attr.get("original_currency", none)
        if original_currencies is not none:
            original_currencies = [text.upper() if text else None for text in original_currencies]
        pending: Iterable[bool] = repeat(False)
        statuses: list[bool | None] = []
        if 0 <= rows.status_i < width:
            statuses = list(map(rows.pending, columns[rows.status_i]))
            if None in statuses:
                return None  # a status that is neither pending nor booked: a line error
            pending = statuses  # type: ignore[assignment]
        accounts: Sequence[str | None] = none
        if 0 <= rows.account_i < width:
            accounts = [nfc(text.strip()) or None for text in columns[rows.account_i]]
        get = texts_by_attr.get
        if self.blocks and accounts is none and True not in statuses:  # (no account column, no pending line)
            return (LineBlock(numbers, dates, amounts, descriptions, currencies, _column(value_dates, none),
                              get("bank_transaction_id"), get("reference"), get("counterparty_name"),
                              get("counterparty_account"), _column(balances, none), _column(originals, none),
                              _column(original_currencies, none), written),)
        lines = map(ParsedLine, numbers, dates, amounts, descriptions, accounts, currencies or none, value_dates,
                    get("bank_transaction_id", none), get("reference", none), get("counterparty_name", none),
                    get("counterparty_account", none), balances, originals, original_currencies, pending)
        return self._announce_accounts(lines, accounts) if accounts is not none else lines

    def _announce_accounts(self, lines: Iterator[ParsedLine], accounts: Sequence[str | None]
                           ) -> Iterable[ParseEvent]:
        """A StatementAccount before the first line of each account not seen before in the file."""
        seen = self.rows.accounts_seen
        fresh = {account for account in accounts if account} - seen
        if not fresh:
            return lines
        seen.update(fresh)
        return self._interleave(lines, fresh)

    @staticmethod
    def _interleave(lines: Iterator[ParsedLine], fresh: set[str]) -> Iterator[ParseEvent]:
        for line in lines:
            account = line.account_ref
            if account in fresh:
                fresh.discard(account)
                yield StatementAccount(account, currency=line.currency, line_number=line.line_number)
            yield line
