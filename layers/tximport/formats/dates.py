"""Dates in statement files, and the date style of a whole column.

Accepted forms:

* style-free: `2024-12-31` (also with a time), `2024/12/31`, `2024.12.31`, `2024.12.31.` (Hungarian: a dot
  after the day too), `2024:12:31`, `20241231`,
  `31-Dec-2024`, `31 Dec 2024`, `31. Dezember 2024`, `Dec 31, 2024`, `2024-Dec-31`;
* numeric day/month forms whose order is the file's date style: `31.12.2024`, `31/12/24`,
  `12/31/2024`, `1/31'24` (QIF) -- littleEndian (D-M-Y) or middleEndian (M-D-Y); bigEndian (Y-M-D)
  also reads two-digit years first (`24/12/31`). Two-digit years are 1970-2069. A dotted date with its
  year last (`01.02.2024`) is day first unless the column shows otherwise: it is never ambiguous alone.

The style is a property of the file, never of one line: `DateStyleVote` collects every value of the
date column(s) and `decide()` returns the one style the column allows, or raises `FileError`
`AmbiguousDateStyle` when both readings fit every value and give different dates.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from tximport.formats.base import AMBIGUOUS_DATE_STYLE, DateStyle, FileError

#: the days a transaction may be booked on: what a ledger keeps (and what date arithmetic around a day, a
#: duplicate window or a statement gap, can always reach)
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)


def bookable(day: date) -> bool:
    """Whether `day` lies between EARLIEST_DAY and LATEST_DAY."""
    return EARLIEST_DAY <= day <= LATEST_DAY


_NUMERIC = re.compile(r"\s*(\d{1,4})\s*[-/.' ]\s*(\d{1,2})\s*[-/.' ]\s*(\d{1,4})(?:[T\s].*)?\s*")
_COMPACT = re.compile(r"\s*(\d{4})(\d{2})(\d{2})(?:[T\s].*)?\s*")
#: year first with a dot after each part, the day's too (`2019.04.19.`, `2019. 04. 19.`: Hungarian), or with colons
#: (`2012:03:01`: Danske LT); both style-free, their year being first and four digits long
_YEAR_FIRST_DOTS = re.compile(r"\s*(\d{4})\s*\.\s*(\d{1,2})\s*\.\s*(\d{1,2})\s*\.(?:\s.*)?\s*")
_YEAR_FIRST_COLONS = re.compile(r"\s*(\d{4}):(\d{1,2}):(\d{1,2})(?:[T\s].*)?\s*")
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
    m = _COMPACT.fullmatch(text) or _YEAR_FIRST_DOTS.fullmatch(text) or _YEAR_FIRST_COLONS.fullmatch(text)
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

    def add(self, text: str, count: int = 1) -> None:
        """Count one value (`count` times); values that are no date at all are left to the line parser."""
        if _is_iso(text):
            return  # ISO: no style needed (and the common case, so keep it cheap)
        kind = _KINDS.get(text)
        if kind is None:
            kind = _kind(text)
            if len(_KINDS) > 4096:
                _KINDS.clear()
            _KINDS[text] = kind
        if kind:
            self.numeric += count
            if kind == _LITTLE:
                self.little_only += count
            elif kind == _MIDDLE:
                self.middle_only += count
            elif kind == _AMBIGUOUS:
                self.ambiguous += count

    def add_counts(self, counts: Mapping[str, int]) -> None:
        """Count many values at once: `counts` maps each distinct value to its number of occurrences
        (a `collections.Counter` of a column)."""
        add = self.add
        for text, count in counts.items():
            add(text, count)

    def add_column(self, values: list[str] | list[bytes] | list[Any]) -> None:
        """Count every value of a column (the same counts as `add` value by value, a column at once:
        the kind of each distinct value is remembered, the kinds of the column counted in C). Values
        may be the bytes of ASCII text."""
        cache: dict[Any, int] = _KINDS_OF_BYTES if values and isinstance(values[0], bytes) else _KINDS
        if len(cache) > 4096:
            cache.clear()
        tally = [0] * 5  # per kind
        for value, count in Counter(values).items():
            kind = cache.get(value)
            if kind is None:
                text: str = value.decode("ascii") if isinstance(value, bytes) else value
                kind = cache[value] = _NONE if _is_iso(text) else _kind(text)
            tally[kind] += count
        self.numeric += len(values) - tally[_NONE]
        self.little_only += tally[_LITTLE]
        self.middle_only += tally[_MIDDLE]
        self.ambiguous += tally[_AMBIGUOUS]

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


#: what one value says about the style: nothing (no numeric date), or a numeric date that reads only
#: day first, only month first, both ways differently, or both ways the same (05/05/2024)
_NONE, _LITTLE, _MIDDLE, _AMBIGUOUS, _SAME = 0, 1, 2, 3, 4
_KINDS: dict[str, int] = {}
_KINDS_OF_BYTES: dict[bytes, int] = {}


def _is_iso(text: str) -> bool:
    return len(text) == 10 and text[4] == "-" and text[7] == "-"


def _dotted(text: str) -> bool:
    """Whether a numeric date separates its parts by dots only."""
    return "." in text and "/" not in text and "-" not in text


def _kind(text: str) -> int:
    m = _NUMERIC.fullmatch(text)
    if m is None:
        return _NONE
    first, second, third = m.groups()
    if len(first) >= 3 or len(third) == 3:
        return _NONE
    a, b = int(first), int(second)
    try:
        year = _year(third)
    except ValueError:
        return _SAME  # counted as numeric, but tells nothing
    little = _valid(year, b, a)
    middle = _valid(year, a, b)
    if little and middle:
        # a dotted date with its year last is written day first (`01.02.2024`, the German, Dutch, Nordic and
        # Eastern European form; month-first writers use slashes): it asks for no style of its own, and a
        # column of them reads day first unless another of its values reads only month first
        return _AMBIGUOUS if a != b and not _dotted(text) else _SAME
    if little:
        return _LITTLE
    if middle:
        return _MIDDLE
    return _SAME


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
