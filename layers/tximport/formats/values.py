"""Parsing of the values statement files carry: amounts (and, re-exported from `dates`, dates).

Amounts are read in one of two decimal styles, decided once per file (never per line):

* ``"."``: `1,234.56`, `1 234.56`, `1'234.56`, `-12.50`,
* ``","``: `1.234,56`, `1 234,56`, `-12,50`.

Whatever the style, an amount may carry a sign in front (`-`, `+`), a trailing minus (`12.00-`),
accounting parentheses (`(12.00)`), a `CR`/`DR` suffix, and a currency symbol or ISO code before or
after the number (`€`, `$`, `£`, `CHF`, `EUR` ...). `infer_decimal_separator` decides the style of a
column from all its values: "1.000" next to "1.234,56" is one thousand, never one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal, InvalidOperation

from tximport.formats.base import DateStyle
from tximport.formats.dates import parse_date as _parse_date

__all__ = [
    "AmountEvidence",
    "amount_evidence",
    "infer_decimal_separator",
    "make_amount_parser",
    "parse_amount",
    "parse_date",
]

# A currency symbol anywhere, or a three-letter ISO code at either end of the value.
_CURRENCY = re.compile(r"[€$£¥₣₤₹]|^\s*(?:[A-Z]{3}|Fr\.|SFr\.)\s*|\s*(?:[A-Z]{3}|Fr\.|SFr\.)\s*$")
# Characters used as thousands separators beside "." and ",": spaces of all kinds and apostrophes.
_PLAIN = re.compile(r"\s*([-+]?)(\d[\d.,]*)\s*")
_CR_DR = re.compile(r"(?<![A-Za-z])(CR|DR)\.?$", re.IGNORECASE)
_GROUPING = str.maketrans("", "", " \u00a0\u202f\u2009'’")
_DOT_CORE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+")
_COMMA_CORE = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d*)?|\d+(?:,\d*)?|,\d+")


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
    return -amount if negative else amount


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
                return amount
            return _slow_amount(text, ".")
    else:
        def parse(text: str) -> Decimal:
            if "." not in text and "e" not in text and "E" not in text and "_" not in text:
                try:
                    amount = Decimal(text.replace(",", ".", 1)) if text.count(",") <= 1 else None
                except InvalidOperation:
                    return _slow_amount(text, ",")
                if amount is not None and amount.is_finite():
                    return amount
            return _slow_amount(text, ",")

    return parse


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
