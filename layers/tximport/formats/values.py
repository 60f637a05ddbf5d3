"""Parsing of the values statement files carry: amounts (and, re-exported from `dates`, dates).

Amounts are read in one of two decimal styles, decided once per file (never per line):

* ``"."``: `1,234.56`, `1 234.56`, `1'234.56`, `-12.50`,
* ``","``: `1.234,56`, `1 234,56`, `-12,50`.

Whatever the style, an amount may carry a sign in front (`-`, `+`), a trailing minus (`12.00-`),
accounting parentheses (`(12.00)`), a `CR`/`DR` suffix, and a currency symbol or ISO code before or
after the number (`€`, `$`, `£`, `CHF`, `EUR` ...). `infer_decimal_separator` decides the style of a
column from all its values: "1.000" next to "1.234,56" is one thousand, never one.

Every amount a reader yields must be one the ledger can store exactly (`check_storable`): DynamoDB
numbers hold at most 38 significant digits, with magnitudes from 1E-130 to 9.99...E+125. The parsers
made here (`make_amount_parser`, `parse_amount`, `parse_amount_column`) check it themselves; readers
that build a `Decimal` some other way (a library, a JSON number) call `check_storable` on it, so that
an amount the ledger would round or refuse becomes a rejected line (`InvalidAmount`) at parse time.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from tximport.formats.base import DateStyle, WrittenAmounts, WrittenShapes
from tximport.formats.dates import parse_date as _parse_date

__all__ = [
    "MAX_SIGNIFICANT_DIGITS",
    "AmountEvidence",
    "amount_evidence",
    "AmountShapes",
    "check_storable",
    "count_amount_evidence",
    "credit_minus_debit",
    "debit",
    "negated",
    "infer_decimal_separator",
    "make_amount_parser",
    "parse_amount",
    "parse_amount_column",
    "parse_date",
    "plain_decimal",
    "read_amount_column",
]

#: DynamoDB numbers: at most 38 significant digits ...
MAX_SIGNIFICANT_DIGITS = 38
#: ... and a magnitude from 1E-130 up to (not including) 1E+126
MIN_ADJUSTED_EXPONENT = -130
MAX_ADJUSTED_EXPONENT = 125
#: a plain amount text this short (digits, one separator, a sign) always fits the limits above
_SHORT = MAX_SIGNIFICANT_DIGITS

# A currency symbol anywhere, or a three-letter ISO code at either end of the value.
_CURRENCY = re.compile(r"[€$£¥₣₤₹]|^\s*(?:[A-Z]{3}|Fr\.|SFr\.)\s*|\s*(?:[A-Z]{3}|Fr\.|SFr\.)\s*$")
# Characters used as thousands separators beside "." and ",": spaces of all kinds and apostrophes.
_PLAIN = re.compile(r"\s*([-+]?)(\d[\d.,]*)\s*")
_CR_DR = re.compile(r"(?<![A-Za-z])(CR|DR)\.?$", re.IGNORECASE)
_GROUPING = str.maketrans("", "", " \u00a0\u202f\u2009'’")
_DOT_CORE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+")
_COMMA_CORE = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d*)?|\d+(?:,\d*)?|,\d+")


def plain_decimal(text: str) -> bool:
    """Whether `text`, which `Decimal` reads, is written as a plain decimal: no exponent (`1E2`, `1e-3`) and no
    underscores (`1_000`), which `Decimal` accepts and no statement format means (ISO 20022 and SWIFT amounts,
    OFX `TRNAMT`). A cheap check: callers make it beside their `Decimal` call."""
    return "e" not in text and "E" not in text and "_" not in text


def check_storable(amount: Decimal, text: str | None = None) -> Decimal:
    """The amount itself when the ledger can store it exactly; ValueError (worded for the rejected
    line, showing `text` or the amount) when it cannot: not finite, more than 38 significant digits,
    or a magnitude outside 1E-130 .. 9.99E+125."""
    shown = text.strip() if text is not None else str(amount)
    if len(shown) > 60:
        shown = shown[:28] + "..." + shown[-28:]
    if not amount.is_finite():
        raise ValueError(f"not an amount: {shown!r}")
    if not amount:
        return amount
    digits = amount.as_tuple().digits
    significant = len(digits)
    if significant > MAX_SIGNIFICANT_DIGITS:
        trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
        significant -= trailing
        if significant > MAX_SIGNIFICANT_DIGITS:
            raise ValueError(f"the amount {shown!r} has {significant} significant digits; the ledger stores at most "
                             f"{MAX_SIGNIFICANT_DIGITS}")
    adjusted = amount.adjusted()
    if not MIN_ADJUSTED_EXPONENT <= adjusted <= MAX_ADJUSTED_EXPONENT:
        raise ValueError(f"the amount {shown!r} is outside what the ledger stores "
                         "(magnitudes from 1E-130 to 9.99E+125)")
    return amount


#: arithmetic on amounts without rounding: Python's default context keeps 28 digits, the ledger 38
_EXACT = Context(prec=1000)


def negated(amount: Decimal) -> Decimal:
    """`-amount` without rounding to the context's 28 digits (zero stays unsigned, as `-amount` gives)."""
    return amount.copy_negate() if amount else -amount


def debit(amount: Decimal) -> Decimal:
    """`-abs(amount)`, exactly: a debit is money out whatever its sign."""
    return amount.copy_abs().copy_negate() if amount else -abs(amount)


def credit_minus_debit(credit: Decimal, debit_amount: Decimal) -> Decimal:
    """`credit - abs(debit)`, exactly (ValueError when the result is more than the ledger stores)."""
    return check_storable(_EXACT.subtract(credit, debit_amount.copy_abs()))


def _split_sign(text: str) -> tuple[bool, str] | None:
    """Strip sign markers and currency from an amount; returns (negative, digits-and-separators)."""
    plain = _PLAIN.fullmatch(text)
    if plain is not None:  # the common case, `-1.234,56`: no symbols, brackets or markers to strip
        return plain.group(1) == "-", plain.group(2)
    value = text.strip()
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1].strip()
    marker = _CR_DR.search(value)
    if marker:
        # `12.00 DR` (debit) / `12.00 CR` (credit) as some card statements print them
        negative ^= marker.group(1).upper() == "DR"
        value = value[: marker.start()].strip()
    value = _CURRENCY.sub("", value).strip()
    signs = 0
    while value[:1] in ("-", "+", "\u2212"):
        negative ^= value[0] != "+"
        signs += 1
        value = value[1:].lstrip()
        value = _CURRENCY.sub("", value).strip()  # `-€ 12.00`
    while value[-1:] in ("-", "+", "\u2212"):
        negative ^= value[-1] != "+"
        signs += 1
        value = value[:-1].rstrip()
    if signs > 1 or not value:
        return None
    value = value.translate(_GROUPING)
    return negative, value


AmountEvidence = str | None


def amount_evidence(text: str) -> AmountEvidence:
    """What one value says about the decimal separator: ".", "," or None (cannot tell).

    `1.234,56`, `12,5`, `0,125`, `1.000.000` say ","; `1,234.56`, `12.50`, `1,000,000` say ".";
    `1.000`, `1,000` and `12` say nothing.
    """
    if "," not in text and "." not in text:
        return None
    split = _split_sign(text)
    if split is None:
        return None
    core = split[1]
    last_dot, last_comma = core.rfind("."), core.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        return "." if last_dot > last_comma else ","
    sep = "." if last_dot >= 0 else ","
    if core.count(sep) > 1:
        return "," if sep == "." else "."  # repeated: it groups thousands
    integer, _, fraction = core.partition(sep)
    if len(fraction) != 3 or integer in ("", "0") or len(integer) > 3:
        return sep
    return None


#: digits 1-8 as 9 (0 stays: `0,125` tells more than `9,125`): the shape decides the evidence
_SHAPE_TELLS = str.maketrans("12345678", "99999999")
_SHAPE_TELLS_BYTES = bytes.maketrans(b"12345678", b"99999999")
_EVIDENCE: dict[Any, AmountEvidence] = {}


class AmountShapes:
    """The distinct shapes of a file's amount cells, gathered by an inference pass over the whole file,
    so that its parse may read each column without looking at the shapes again when every one is a
    plain amount in the style decided (`plain`)."""

    LIMIT = 50_000

    def __init__(self) -> None:
        self.shapes: set[Any] = set()
        self.complete = True

    def add(self, shapes: Iterable[Any]) -> None:
        """Shapes (digits 1-8 written as 9, as `count_amount_evidence` makes them) of more cells."""
        if self.complete:
            self.shapes.update(shapes)
            if len(self.shapes) > self.LIMIT:
                self.stop()

    def add_column(self, texts: list[str] | list[bytes]) -> None:
        """Every cell of a column."""
        if self.complete and texts:
            if isinstance(texts[0], bytes):
                self.add(b"\n".join(texts).translate(_SHAPE_TELLS_BYTES).split(b"\n"))
            else:
                self.add("\n".join(texts).translate(_SHAPE_TELLS).split("\n"))

    def stop(self) -> None:
        """Not every cell was seen: nothing may be skipped."""
        self.complete = False
        self.shapes = set()

    def plain(self, decimal_separator: str) -> bool:
        """Whether every cell seen is an amount `parse_amount_column` reads without a second look."""
        if not self.complete:
            return False
        for shape in self.shapes:
            text = shape.decode("ascii") if isinstance(shape, bytes) else shape
            if len(text) > _SHORT or _shape_kind(text, decimal_separator) not in (_FAST, _GROUPED):
                return False
        return True


def count_amount_evidence(texts: list[str] | list[bytes], seen: AmountShapes | None = None) -> tuple[int, int]:
    """How many values of a column say "." and how many say "," (as `amount_evidence` one by one).

    Values are counted by their shape (digits 1-8 written as 9), whose evidence is the value's own: a
    column of a million amounts has a few hundred shapes, each looked at once per file. Values may be
    the bytes of ASCII text. The shapes go to `seen` too."""
    if texts and isinstance(texts[0], bytes):
        joined: Any = b"\n".join(texts)
        shapes = joined.translate(_SHAPE_TELLS_BYTES).split(b"\n")
    else:
        joined = "\n".join(texts)  # type: ignore[arg-type]  # (not bytes: the first value says)
        shapes = joined.translate(_SHAPE_TELLS).split("\n")
    counts = Counter(shapes)  # (a column has few shapes: each is looked at once here)
    if seen is not None:
        seen.add(counts)
    if len(_EVIDENCE) > 8192:
        _EVIDENCE.clear()
    dots = commas = 0
    for shape, count in counts.items():
        evidence = _EVIDENCE.get(shape, "")
        if evidence == "":
            text = shape.decode("ascii") if isinstance(shape, bytes) else shape
            evidence = _EVIDENCE[shape] = amount_evidence(text) if "." in text or "," in text else None
        if evidence == ".":
            dots += count
        elif evidence == ",":
            commas += count
    return dots, commas


def infer_decimal_separator(values: Iterable[str], default: str = ".") -> str:
    """Decide the decimal separator of a column from all its values (majority of the telling ones)."""
    dots = commas = 0
    for value in values:
        evidence = amount_evidence(value)
        if evidence == ".":
            dots += 1
        elif evidence == ",":
            commas += 1
    if dots == commas:
        return default
    return "." if dots > commas else ","


def _slow_amount(text: str, decimal_separator: str) -> Decimal:
    split = _split_sign(text)
    if split is None:
        raise ValueError(f"not an amount: {text!r}")
    negative, core = split
    if decimal_separator == ".":
        if not _DOT_CORE.fullmatch(core):
            raise ValueError(f"not an amount in 1,234.56 style: {text!r}")
        core = core.replace(",", "")
    else:
        if not _COMMA_CORE.fullmatch(core):
            raise ValueError(f"not an amount in 1.234,56 style: {text!r}")
        core = core.replace(".", "").replace(",", ".")
    try:
        amount = Decimal(core)
    except InvalidOperation:  # pragma: no cover - the patterns above admit only digits
        raise ValueError(f"not an amount: {text!r}") from None
    if len(core) > _SHORT:
        check_storable(amount, text)
    return negated(amount) if negative else amount


def make_amount_parser(decimal_separator: str = ".") -> Callable[[str], Decimal]:
    """A parser for amounts in one decimal style, with a fast path for plain numbers.

    The returned function raises ValueError for text that is not an amount in that style.
    """
    if decimal_separator not in (".", ","):
        raise ValueError(f"decimal separator must be '.' or ',', not {decimal_separator!r}")

    if decimal_separator == ".":
        def parse(text: str) -> Decimal:
            # Fast path: Decimal() reads plain `-1234.56`; it also reads `1e5`, `1_000` and `NaN`,
            # which bank files never mean, so those go through the strict path.
            try:
                amount = Decimal(text)
            except InvalidOperation:
                return _slow_amount(text, ".")
            if amount.is_finite() and "e" not in text and "E" not in text and "_" not in text:
                return amount if len(text) <= _SHORT else check_storable(amount, text)
            return _slow_amount(text, ".")
    else:
        def parse(text: str) -> Decimal:
            if "." not in text and "e" not in text and "E" not in text and "_" not in text:
                try:
                    amount = Decimal(text.replace(",", ".", 1)) if text.count(",") <= 1 else None
                except InvalidOperation:
                    return _slow_amount(text, ",")
                if amount is not None and amount.is_finite():
                    return amount if len(text) <= _SHORT else check_storable(amount, text)
            return _slow_amount(text, ",")

    return parse


#: what the value parser does with a plain value, by its shape (digits 1-9 written as 9, 0 kept)
_ODD, _FAST, _GROUPED, _GROUPED_ZERO = 0, 1, 2, 3
_PLAIN_SHAPE = {
    # read by `Decimal` as written (the decimal comma as a point)
    "fast": {",": re.compile(r"[-+]?(?:[09]+(?:,[09]*)?|,[09]+)"),
             ".": re.compile(r"[-+]?(?:[09]+(?:\.[09]*)?|\.[09]+)")},
    # thousands grouped: `-1.234,56`, `1,234.56`
    "grouped": {",": re.compile(r"[-+]?[09]{1,3}(?:\.[09]{3})+(?:,[09]*)?"),
                ".": re.compile(r"[-+]?[09]{1,3}(?:,[09]{3})+(?:\.[09]*)?")},
}
#: per decimal separator: each shape seen, with its kind and, where its values read as `str()` writes them, their
#: texts' length, decimals and whether they end in a zero after the point (`_shape_written`)
_KINDS: dict[str, dict[str, tuple[int, tuple[int, int, bool] | None]]] = {",": {}, ".": {}}


def _shape_kind(shape: str, decimal_separator: str) -> int:
    if _PLAIN_SHAPE["fast"][decimal_separator].fullmatch(shape):
        return _FAST
    if _PLAIN_SHAPE["grouped"][decimal_separator].fullmatch(shape):
        # `-0.000,00`: the parser negates a zero, which leaves it unsigned; read such a column one by one
        return _GROUPED_ZERO if shape[0] == "-" and "9" not in shape else _GROUPED
    return _ODD


def _shape_written(shape: str, decimal_separator: str) -> tuple[int, int, bool] | None:
    """Where a plain value of this shape, as `parse_amount_column` reads it (grouping dropped, the decimal comma a
    point), is written as `str()` writes its Decimal: its text's length, its decimals and whether it ends in a zero
    after its point (None: `str()` writes it otherwise). The shape keeps all that decides these (the sign, which
    digits are zeros, the point), so its own text answers for every value of the shape."""
    read = shape.replace("." if decimal_separator == "," else ",", "").replace(",", ".")
    try:
        if str(Decimal(read)) != read:
            return None
    except InvalidOperation:
        return None
    point = read.find(".")
    return len(read), 0 if point < 0 else len(read) - point - 1, point >= 0 and read.endswith("0")


def _column_kinds(joined: str, decimal_separator: str) -> tuple[set[int], WrittenShapes | None]:
    """The kinds of the shapes of a column's values (joined by line breaks), and what the shapes tell of the values
    as read where each reads as `str()` writes it (`_shape_written`; None: not each)."""
    kinds = _KINDS[decimal_separator]
    shapes = set(joined.translate(_SHAPE_TELLS).split("\n"))
    try:
        found = set(map(kinds.__getitem__, shapes))
    except KeyError:
        if len(kinds) > 8192:
            kinds.clear()
        for shape in shapes.difference(kinds):
            kind = _shape_kind(shape, decimal_separator)
            kinds[shape] = kind, _shape_written(shape, decimal_separator) if kind in (_FAST, _GROUPED) else None
        found = set(map(kinds.__getitem__, shapes))
    kinds_found = {kind for kind, _ in found}
    written = [facts for _, facts in found if facts is not None]
    if len(written) < len(found):
        return kinds_found, None
    return kinds_found, WrittenShapes(max(f[0] for f in written), max(f[1] for f in written),
                                      any(f[2] for f in written))


#: a plain amount's text with a leading zero (`00.5`, `-01`), after a line break
_LEADING_ZERO = re.compile(r"\n-?0[0-9]")


def _written_as_str(read: str) -> bool:
    """Whether each line of `read` (plain amounts as Decimal reads them: `[-+]?digits[.digits]`, a point perhaps
    first or last) is written as `str()` writes its Decimal: no plus, no point first or last, no leading zero, no
    six zeros after `0.` (`0.0000001` is `1E-7`; `0.000000`, written as it is, is left to `str()` too). A few
    searches of the text: no call per value."""
    lined = f"\n{read}\n"
    if "+" in lined or "\n." in lined or "-." in lined or ".\n" in lined:
        return False
    return ("\n0" not in lined and "\n-0" not in lined) or (
        "0.000000" not in lined and not _LEADING_ZERO.search(lined))


def parse_amount_column(texts: list[str], decimal_separator: str, plain: bool = False) -> list[Decimal] | None:
    """Every value of a column at once: exactly `[make_amount_parser(decimal_separator)(t) for t in
    texts]` when every value is plain (digits, the separators, a leading sign) and an amount the ledger
    can store; None otherwise (the caller then reads value by value, where an odd value gets its own
    error). A few C-level passes over the column instead of a Python call per value: the values are
    classified by their shapes, of which a column has few; `plain` says they are all known plain
    already (`AmountShapes.plain`)."""
    read = read_amount_column(texts, decimal_separator, plain, written=False)
    return None if read is None else read[0]


def read_amount_column(texts: list[str], decimal_separator: str, plain: bool = False, written: bool = True
                       ) -> tuple[list[Decimal], WrittenAmounts | None] | None:
    """`parse_amount_column`, with the texts `str()` writes the amounts as: the values as read (grouping dropped, a
    decimal comma as the point) where each is written as `str()` writes its amount (`-1.234,56` as `-1234.56`),
    else None (`+7`, `007`, `.5`, `5.`: the caller writes them; `written` False: not wanted). Where the values'
    shapes were looked at (`plain` False), they tell the texts' longest length, most decimals and whether one ends
    in a zero after its point (`WrittenAmounts.shapes`)."""
    if not texts:
        return [], WrittenAmounts([])
    joined = "\n".join(texts)
    shapes: WrittenShapes | None = None
    as_str: bool | None = None  # (plain: known once the values are read)
    if plain:
        grouping = "." if decimal_separator == "," else ","
        kinds = {_FAST, _GROUPED} if grouping in joined else {_FAST}
    else:
        kinds, shapes = _column_kinds(joined, decimal_separator)
        as_str = shapes is not None
    if _ODD in kinds or _GROUPED_ZERO in kinds:
        return None
    if _GROUPED in kinds:
        joined = joined.replace("." if decimal_separator == "," else ",", "")
    if decimal_separator == ",":
        joined = joined.replace(",", ".")
    read = joined.split("\n")
    try:  # (as exact as Decimal(); the context call is cheaper)
        amounts = list(map(_EXACT.create_decimal, read))
    except InvalidOperation:  # pragma: no cover - the shapes admit only what Decimal reads
        return None
    if not plain and max(map(len, texts)) > _SHORT:
        try:
            for text, amount in zip(texts, amounts, strict=True):
                if len(text) > _SHORT:
                    check_storable(amount, text)
        except ValueError:
            return None
    if not written:
        return amounts, None
    if as_str is None:
        as_str = _written_as_str(joined)
    return amounts, WrittenAmounts(read, shapes) if as_str else None


_DOT_PARSER = make_amount_parser(".")
_COMMA_PARSER = make_amount_parser(",")


def parse_amount(text: str, decimal_separator: str | None = None) -> Decimal:
    """Parse one amount. Without `decimal_separator` the value alone decides (`1.000` is then 1.000).

    Raises ValueError when the text is not an amount.
    """
    if decimal_separator is None:
        decimal_separator = amount_evidence(text) or "."
    return (_DOT_PARSER if decimal_separator == "." else _COMMA_PARSER)(text)


def parse_date(text: str, style: DateStyle | None) -> date:
    """Parse a date written in `style` (see `tximport.formats.dates.parse_date`). Raises ValueError."""
    return _parse_date(text, style)
