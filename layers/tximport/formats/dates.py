"""Dates in statement files, and the date style of a whole column.

Accepted forms:

* style-free: `2024-12-31` (also with a time), `2024/12/31`, `2024.12.31`, `20241231`,
  `31-Dec-2024`, `31 Dec 2024`, `31. Dezember 2024`, `Dec 31, 2024`, `2024-Dec-31`;
* numeric day/month forms whose order is the file's date style: `31.12.2024`, `31/12/24`,
  `12/31/2024`, `1/31'24` (QIF) -- littleEndian (D-M-Y) or middleEndian (M-D-Y); bigEndian (Y-M-D)
  also reads two-digit years first (`24/12/31`). Two-digit years are 1970-2069.

The style is a property of the file, never of one line: `DateStyleVote` collects every value of the
date column(s) and `decide()` returns the one style the column allows, or raises `FileError`
`AmbiguousDateStyle` when both readings fit every value and give different dates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from tximport.formats.base import AMBIGUOUS_DATE_STYLE, DateStyle, FileError

_NUMERIC = re.compile(r"\s*(\d{1,4})\s*[-/.' ]\s*(\d{1,2})\s*[-/.' ]\s*(\d{1,4})(?:[T\s].*)?\s*")
_COMPACT = re.compile(r"\s*(\d{4})(\d{2})(\d{2})(?:[T\s].*)?\s*")
_DAY_NAME_YEAR = re.compile(r"\s*(\d{1,2})\.?[-\s/]*([^\W\d_]{3,})\.?[-,\s/]*(\d{4}|\d{2})(?:[T\s].*)?\s*")
_NAME_DAY_YEAR = re.compile(
    r"\s*([^\W\d_]{3,})\.?\s*(\d{1,2})(?:st|nd|rd|th)?\.?,?\s*(\d{4}|\d{2})(?:[T\s].*)?\s*"
)
_YEAR_NAME_DAY = re.compile(r"\s*(\d{4})[-\s/]([^\W\d_]{3,})\.?[-\s/](\d{1,2})(?:[T\s].*)?\s*")

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        ("january", "jan", "januar", "janv", "janvier", "jän", "jänner"),
        ("february", "feb", "februar", "févr", "fevr", "février", "fevrier"),
        ("march", "mar", "märz", "mär", "mrz", "maerz", "mars"),
        ("april", "apr", "avr", "avril"),
        ("may", "mai"),
        ("june", "jun", "juni", "juin"),
        ("july", "jul", "juli", "juil", "juillet"),
        ("august", "aug", "août", "aout"),
        ("september", "sep", "sept", "septembre"),
        ("october", "oct", "okt", "oktober", "octobre"),
        ("november", "nov", "novembre"),
        ("december", "dec", "dez", "dezember", "déc", "décembre", "decembre"),
    ),
    start=1,
):
    for _name in _names:
        _MONTHS[_name] = _number


def _year(text: str) -> int:
    year = int(text)
    if len(text) <= 2:
        year += 2000 if year < 70 else 1900
    elif len(text) == 3:
        raise ValueError("three-digit year")
    return year


def _month(name: str) -> int:
    try:
        return _MONTHS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown month {name!r}") from None


def _style_free(text: str) -> date | None:
    """The date when the text reads the same in every style; None when it needs a style.

    Raises ValueError when the text is no date at all.
    """
    m = _NUMERIC.fullmatch(text)
    if m:
        first, second, third = m.groups()
        if len(first) == 4:
            return date(int(first), int(second), int(third))
        if len(first) == 3 or len(third) == 3:
            raise ValueError(f"not a date: {text!r}")
        return None
    m = _COMPACT.fullmatch(text)
    if m:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _DAY_NAME_YEAR.fullmatch(text)
    if m:
        return date(_year(m.group(3)), _month(m.group(2)), int(m.group(1)))
    m = _NAME_DAY_YEAR.fullmatch(text)
    if m:
        return date(_year(m.group(3)), _month(m.group(1)), int(m.group(2)))
    m = _YEAR_NAME_DAY.fullmatch(text)
    if m:
        return date(int(m.group(1)), _month(m.group(2)), int(m.group(3)))
    raise ValueError(f"not a date: {text!r}")


def parse_date(text: str, style: DateStyle | None) -> date:
    """Parse a date written in `style`; style-free forms (ISO, month names) are read in any style.

    Raises ValueError when the text is not a valid date in that style, or needs a style and has none.
    """
    try:
        fixed = _style_free(text)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"not a valid date: {text.strip()!r}") from exc
    if fixed is not None:
        return fixed
    first, second, third = _NUMERIC.fullmatch(text).groups()  # type: ignore[union-attr]
    try:
        if style == DateStyle.LITTLE_ENDIAN:
            return date(_year(third), int(second), int(first))
        if style == DateStyle.MIDDLE_ENDIAN:
            return date(_year(third), int(first), int(second))
        if style == DateStyle.BIG_ENDIAN:
            return date(_year(first), int(second), int(third))
    except ValueError:
        raise ValueError(f"not a valid date in {style} style: {text.strip()!r}") from None
    raise ValueError(f"date {text.strip()!r} needs a dateStyle (day/month order)")


def looks_like_date(text: str) -> bool:
    """Whether the text is a date in some style (a cheap test for sniffing a file's layout)."""
    try:
        _style_free(text)
    except (ValueError, OverflowError):
        return False
    return True


def make_date_parser(style: DateStyle | None) -> Callable[[str], date]:
    """A date parser for one style with a fast path for plain ISO dates. Raises ValueError."""
    fromiso = date.fromisoformat
    day_first = style == DateStyle.LITTLE_ENDIAN
    numeric = style in (DateStyle.LITTLE_ENDIAN, DateStyle.MIDDLE_ENDIAN)

    def parse(text: str) -> date:
        if len(text) == 10:
            if text[4] == "-" and text[7] == "-":
                try:
                    return fromiso(text)
                except ValueError:
                    pass
            elif numeric and text[2] == text[5] and text[2] in "./-":
                # `31.12.2024`, `12/31/2024`: sliced, without the general pattern
                first, second, year = text[0:2], text[3:5], text[6:10]
                if first.isdigit() and second.isdigit() and year.isdigit():
                    try:
                        if day_first:
                            return date(int(year), int(second), int(first))
                        return date(int(year), int(first), int(second))
                    except ValueError:
                        pass  # the general parser words the error
        return parse_date(text, style)

    return parse


class DateStyleVote:
    """Collects the values of a date column and decides the column's style from all of them."""

    __slots__ = ("little_only", "middle_only", "ambiguous", "numeric")

    def __init__(self) -> None:
        self.little_only = 0
        self.middle_only = 0
        self.ambiguous = 0
        self.numeric = 0

    def add(self, text: str, times: int = 1) -> None:
        """Count one value (`times` times); values that are no date at all are left to the line parser."""
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            return  # ISO: no style needed (and the common case, so keep it cheap)
        m = _NUMERIC.fullmatch(text)
        if m is None:
            return
        first, second, third = m.groups()
        if len(first) >= 3 or len(third) == 3:
            return
        self.numeric += times
        a, b = int(first), int(second)
        try:
            year = _year(third)
        except ValueError:
            return
        little = _valid(year, b, a)
        middle = _valid(year, a, b)
        if little and middle:
            if a != b:
                self.ambiguous += times
        elif little:
            self.little_only += times
        elif middle:
            self.middle_only += times

    @property
    def needs_style(self) -> bool:
        """Whether any value seen so far depends on the day/month order."""
        return self.numeric > 0

    def decide(self, target: str = "date") -> DateStyle | None:
        """The style every value (or the clear majority) allows; None when no value needs one.

        Raises FileError AmbiguousDateStyle when the column reads both ways.
        """
        if self.little_only > self.middle_only:
            return DateStyle.LITTLE_ENDIAN
        if self.middle_only > self.little_only:
            return DateStyle.MIDDLE_ENDIAN
        if self.little_only or self.ambiguous:
            if self.little_only:
                reason = (f"{self.little_only} dates read only as day/month/year and as many only as "
                          "month/day/year")
            else:
                reason = ("every date in it reads both as day/month/year and as month/day/year, "
                          "with different results")
            raise FileError(
                AMBIGUOUS_DATE_STYLE,
                f"The date style of column {target!r} is ambiguous: {reason}. "
                "Set dateStyle to littleEndian (D-M-Y) or middleEndian (M-D-Y).",
                target=target,
                details={"candidates": [DateStyle.LITTLE_ENDIAN.value, DateStyle.MIDDLE_ENDIAN.value]},
            )
        # only ISO/named dates, or dates whose day equals their month: either order reads the same
        return DateStyle.LITTLE_ENDIAN if self.numeric else None


def _valid(year: int, month: int, day: int) -> bool:
    if not 1 <= month <= 12 or day < 1:
        return False
    if day <= 28:
        return True
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True
