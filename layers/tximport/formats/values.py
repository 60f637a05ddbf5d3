"""Parsing of the values statement files carry: dates and amounts."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from tximport.models import DateStyle

_DATE_PARTS = re.compile(r"^\s*(\d{1,4})[-/.\s](\d{1,2})[-/.\s](\d{1,4})(?:[T\s].*)?$")
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})")


def parse_date(text: str, style: DateStyle | None) -> date:
    """Parse a date written in `style`. ISO dates (YYYY-MM-DD, YYYYMMDD) are read whatever the style.

    Raises ValueError when the text is not a valid date in that style.
    """
    value = text.strip()
    m = _DATE_PARTS.match(value)
    if m:
        a, b, c = m.groups()
        if len(a) == 4:
            return date(int(a), int(b), int(c))
        year = int(c)
        if len(c) == 2:
            year += 2000 if year < 70 else 1900
        if style == DateStyle.MIDDLE_ENDIAN:
            return date(year, int(a), int(b))
        if style == DateStyle.LITTLE_ENDIAN or style is None:
            if style is None:
                raise ValueError(f"date {value!r} needs a dateStyle")
            return date(year, int(b), int(a))
        raise ValueError(f"date {value!r} is not big-endian (YYYY-MM-DD)")
    m = _COMPACT.match(value)
    if m:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    raise ValueError(f"not a date: {value!r}")


def parse_amount(text: str) -> Decimal:
    """Parse a plain amount (`-12.50`, `1,234.56`, `(12.00)`). Raises ValueError."""
    value = text.strip().replace("\u00a0", "").replace(" ", "")
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1]
    if value.endswith("-"):
        negative, value = True, value[:-1]
    value = value.lstrip("+")
    if "," in value and "." in value:
        value = value.replace(",", "")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount: {text!r}")
    return -amount if negative else amount
