"""The deterministic ids of a run's staged lines, a batch of columns at a time.

A line's id is `tximport.ids.transaction_id`: its day, then the sha256 of its account and bank id (and the bank
id's occurrence on its day, where a bank reuses one), or of
its account, day, amount (no trailing zeros), description (whitespace runs as one space, case folded) and
its occurrence among the identical lines of its day. The occurrence counters are kept for the days met most
recently, up to `ENTRY_WINDOW` counters (`Occurrences`): a file not in date order gets the ids it would in
date order as long as its lines fit; the text both the counters and the id hash read (`content`, with the
occurrence 1 after it: the basis of the first line of its kind on its day, as most lines are) is built once a line,
a day's run of lines none alike nor like one counted before is counted in one dict update, and the hashes of a batch
are taken in one pass (`LineIds.many`; `LineIds.hashes` leaves the days off, for a caller that writes each id into
its own text). Descriptions are case folded together, Latin-1 text by a table.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from hashlib import sha256
from itertools import groupby
from typing import Any

from tximport.ids import bank_suffix, normalized_amount, normalized_description

#: identical-line counters kept, over the days kept (the oldest days are dropped beyond it): a file of up to this
#: many lines counts its identical lines exactly in whatever order its dates come
ENTRY_WINDOW = 100_000
#: day changes a run keeps for the reduce of a split file (a file ordered by date has a few per day)
MAX_DAY_RUNS = 100_000
#: an amount text longer than this is normalized by Decimal (normalize rounds to 28 digits beyond it)
_PLAIN_DIGITS = 28


class Occurrences:
    """Counts identical lines so their ids differ, with memory bounded by `ENTRY_WINDOW` counters.

    The days are kept most recent first; when the counters of the days kept grow beyond the window, the
    least recently met days are dropped (never the day being counted). A date that comes back after its
    counters were dropped gets the line number mixed into the occurrence, which keeps ids unique (and still
    deterministic for the same file). The counters of a day grow while it is counted; they are added up when
    the file moves to another day, and the window is checked then."""

    def __init__(self) -> None:
        self._by_date: OrderedDict[date, dict[str, int]] = OrderedDict()
        self._evicted: set[date] = set()
        self._current: dict[str, int] = {}
        self._current_size = 0
        #: the counters of the days kept
        self.entries = 0

    def settle(self) -> int:
        """Add the counters the day being counted gained since it was entered (or last settled); answers them."""
        grown = len(self._current) - self._current_size
        self.entries += grown
        self._current_size = len(self._current)
        return grown

    def counters(self, day: date) -> tuple[dict[str, int], bool]:
        """The counters of `day` (the most recent date from now on), and whether the day came back after
        its counters were dropped (then the line number is mixed into the occurrence)."""
        self.settle()
        counters = self._by_date.get(day)
        if counters is None:
            counters = self._by_date[day] = {}
        else:
            self._by_date.move_to_end(day)
        while self.entries > ENTRY_WINDOW and len(self._by_date) > 1:
            old, dropped = self._by_date.popitem(last=False)
            self.entries -= len(dropped)
            self._evicted.add(old)
        self._current, self._current_size = counters, len(counters)
        return counters, day in self._evicted


def content(account_id: str, day_iso: str, amount_text: str, description_key: str) -> str:
    """What identical lines share: the text the occurrence counters count and a content id hashes."""
    return f"{account_id}\x1fC\x1f{day_iso}\x1f{amount_text}\x1f{description_key}"


def amount_texts(amounts: Sequence[Decimal], texts: Sequence[str], longest: int | None = None,
                 zero_ended: bool | None = None) -> Sequence[str]:
    """The amounts as ids compare them (no trailing zeros), from their plain texts (`plain_decimal`; `longest`: the
    longest one's length, `zero_ended`: whether one ends in a zero after its point, where known: where none does,
    the texts are as ids compare them already)."""
    if (max(map(len, texts), default=0) if longest is None else longest) > _PLAIN_DIGITS:
        return [normalized_amount(a) for a in amounts]
    if zero_ended is False:
        return texts
    # (a text ending in neither a zero nor a point has none to drop: most do, and the last character is cheap)
    return [t if t[-1] not in "0." or "." not in t else t.rstrip("0").rstrip(".") for t in texts]


def _ids(day_isos: Sequence[str], bases: list[str]) -> list[str]:
    """`<day>-<the first 32 hex digits of the sha256 of the basis>` of each line."""
    return [f"{iso}-{h.hexdigest()[:32]}" for iso, h in zip(day_isos, map(sha256, map(str.encode, bases)), strict=True)]


def _hashes(bases: list[str]) -> list[str]:
    """The first 32 hex digits of the sha256 of each basis: the ids without their days (`LineIds.hashes`)."""
    return [h.hexdigest()[:32] for h in map(sha256, map(str.encode, bases))]


def joined_ids(day_isos: Sequence[str], hashes: Sequence[str]) -> list[str]:
    """The ids of lines from their days' ISO texts and their hashes (`LineIds.hashes`)."""
    return [f"{iso}-{h}" for iso, h in zip(day_isos, hashes, strict=True)]


#: what str.split() splits at besides the space (str.isspace), ASCII first
_ASCII_SPACES = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f"
OTHER_SPACES = (_ASCII_SPACES + "\x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
                + "\u2028\u2029\u202f\u205f\u3000")


#: what str.split() splits at among the Latin-1 characters
_LATIN1_SPACES = _ASCII_SPACES + "\x85\xa0"
#: str.casefold of each Latin-1 character, where it is one Latin-1 character (all but the micro sign and the sharp
#: s, which are left as they are here: `_folded`)
_LATIN1_FOLD = bytes(ord(chr(i).casefold()) if i not in (0xB5, 0xDF) else i for i in range(256))


def _spaced(joined: str, spaces: str) -> bool:
    """Whether NUL-joined descriptions need their whitespace normalized: a run of spaces, a space at either end
    of one, or whitespace other than the space (`spaces`: whichever the text can hold)."""
    spaced = joined.replace("\x00", " ")  # (a space beside a separator is then a run: one search for all three)
    return ("  " in spaced or spaced.startswith(" ") or spaced.endswith(" ")
            or any(space in joined for space in spaces))


def _latin1(text: str) -> bytes | None:
    """`text` in Latin-1, where it is all Latin-1 characters."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def _folded(text: str, latin1: bytes | None) -> str:
    """`text.casefold()`: for Latin-1 text (`latin1`, its bytes) by a table, character by character as casefold
    goes, the two characters that fold into others (µ into μ, ß into ss) replaced after."""
    if latin1 is None:
        return text.casefold()
    folded = latin1.translate(_LATIN1_FOLD).decode("latin-1")
    if "\xb5" in folded:
        folded = folded.replace("\xb5", "\u03bc")
    return folded.replace("\xdf", "ss") if "\xdf" in folded else folded


def _keys(descriptions: Sequence[str]) -> list[str]:
    """The descriptions as ids compare them (`normalized_description`), all at once: joined by NUL (which is no
    whitespace), their whitespace runs made one space and the space beside a separator dropped (where any
    needs it), case folded (lower-cased, the same for ASCII)."""
    joined = "\x00".join(descriptions)
    if not descriptions or joined.count("\x00") != len(descriptions) - 1:  # a NUL of their own
        return [" ".join(d.split()).casefold() for d in descriptions]
    ascii_only = joined.isascii()
    latin1 = None if ascii_only else _latin1(joined)
    if _spaced(joined, _ASCII_SPACES if ascii_only else _LATIN1_SPACES if latin1 is not None else OTHER_SPACES):
        joined = " ".join(joined.split()).replace(" \x00", "\x00").replace("\x00 ", "\x00")
        latin1 = None if ascii_only else _latin1(joined)
    return (joined.lower() if ascii_only else _folded(joined, latin1)).split("\x00")


class Bases:
    """A segment's lines counted (`LineIds.counted`): what each one's id hashes, hashed when first asked for.
    `firsts`: whether every line is the first of its kind on its day, with no bank id and not pending, so that
    its id is `tximport.ids.transaction_id` of its own fields with the occurrence 1 (what a reader of its
    staged line can compute again, `tximport.storage.staging`)."""

    __slots__ = ("isos", "bases", "firsts", "_hashes")

    def __init__(self, isos: Sequence[str], bases: list[str], firsts: bool) -> None:
        self.isos, self.bases, self.firsts = isos, bases, firsts
        self._hashes: list[str] | None = None

    def hashes(self) -> list[str]:
        """The ids without their days (hashed once)."""
        if self._hashes is None:
            self._hashes = _hashes(self.bases)
        return self._hashes


class LineIds:
    """The ids of a run's lines, counted in file order."""

    def __init__(self) -> None:
        self.occurrences = Occurrences()
        self._day: date | None = None
        self._counters: dict[str, int] = {}
        self._evicted = False
        #: the days in the order the lines moved between them, each with the counters its run added (what the
        #: reduce of a split file replays; None once a file is too unordered to keep them)
        self._runs: list[list[Any]] | None = []

    def _enter(self, day: date) -> None:
        """Consecutive lines of one day share its counters."""
        grown = self.occurrences.settle()
        self._counters, self._evicted = self.occurrences.counters(day)
        self._day = day
        runs = self._runs
        if runs is not None:
            if runs:
                runs[-1][1] += grown
            runs.append([day, 0])
            if len(runs) > MAX_DAY_RUNS:
                self._runs = None

    def day_runs(self) -> list[tuple[date, int]] | None:
        """The days in the order the lines moved between them, each with the counters its run added to the
        window (None: more than MAX_DAY_RUNS)."""
        grown = self.occurrences.settle()
        if self._runs is None:
            return None
        if self._runs:
            self._runs[-1][1] += grown
        return [(day, entries) for day, entries in self._runs]

    def many(self, account_id: str, days: Sequence[date], day_isos: Sequence[str], amounts: Sequence[str],
             descriptions: Sequence[str], bank_ids: Sequence[str | None] | None, line_numbers: Sequence[int],
             pendings: Sequence[bool] | None) -> list[str]:
        """The ids of consecutive lines of one account (columns; `amounts` as `amount_texts` writes them; `bank_ids`
        None: no line has one, `pendings` None: none is pending)."""
        return _ids(day_isos, self._bases(account_id, days, day_isos, amounts, descriptions, bank_ids, line_numbers,
                                          pendings))

    def hashes(self, account_id: str, days: Sequence[date], day_isos: Sequence[str], amounts: Sequence[str],
               descriptions: Sequence[str], bank_ids: Sequence[str | None] | None, line_numbers: Sequence[int],
               pendings: Sequence[bool] | None) -> list[str]:
        """`many` without the days: the ids' hashes (what follows `<day>-`), for a caller that writes the ids into
        other text with their days (`joined_ids` joins them)."""
        return _hashes(self._bases(account_id, days, day_isos, amounts, descriptions, bank_ids, line_numbers,
                                   pendings))

    def counted(self, account_id: str, days: Sequence[date], day_isos: Sequence[str], amounts: Sequence[str],
                descriptions: Sequence[str], bank_ids: Sequence[str | None] | None, line_numbers: Sequence[int],
                pendings: Sequence[bool] | None) -> Bases:
        """The lines counted as `many` counts them, their ids not yet hashed (`Bases`): for a caller that needs the
        ids of some segments only."""
        firsts: list[str] = []
        bases = self._bases(account_id, days, day_isos, amounts, descriptions, bank_ids, line_numbers, pendings,
                            firsts)
        return Bases(day_isos, bases, bases is firsts)

    def _bases(self, account_id: str, days: Sequence[date], day_isos: Sequence[str], amounts: Sequence[str],
               descriptions: Sequence[str], bank_ids: Sequence[str | None] | None, line_numbers: Sequence[int],
               pendings: Sequence[bool] | None, firsts: list[str] | None = None) -> list[str]:
        """What each line's id hashes, its line counted in file order (`firsts`: a list to fill with each line's
        basis as the first of its kind on its day; the answer is that list where every line is such a first)."""
        prefix = f"{account_id}\x1fC\x1f"
        # each line's content with the occurrence 1 after it: what the counters count (one key a content) and the
        # basis of the first line of its kind on its day (most are)
        if firsts is None:
            firsts = []
        firsts[:] = [f"{prefix}{iso}\x1f{amount}\x1f{key}\x1f1"
                     for iso, amount, key in zip(day_isos, amounts, _keys(descriptions), strict=True)]
        banks = [f"{account_id}\x1fB\x1f{bank_id}" if bank_id else None for bank_id in bank_ids] \
            if bank_ids is not None and any(bank_ids) else None
        occurrences, bank_occurrences = self._count(days, firsts, line_numbers, banks)
        bases = firsts if occurrences is None else [
            first if n == 1 else f"{first[:-1]}{n}" for first, n in zip(firsts, occurrences, strict=True)]
        if banks is not None:  # a bank id identifies its line on its own (with its occurrence, where it repeats)
            bases = [bank + bank_suffix(n) if bank else basis
                     for basis, bank, n in zip(bases, banks, bank_occurrences, strict=True)]
        if pendings is not None and True in pendings:  # a pending line has an id of its own (transaction_id)
            bases = [f"{b}\x1fP" if p else b for b, p in zip(bases, pendings, strict=True)]
        return bases

    def _count(self, days: Sequence[date], firsts: list[str], line_numbers: Sequence[int],
               banks: list[str | None] | None) -> tuple[list[int] | None, list[int]]:
        """Each line's occurrence among the identical lines of its day so far (None: every one the first), and
        among the lines of its day with its bank id (1 without one), with its line number mixed in where the day
        came back after its counters were dropped; a run of one day at a time."""
        found: list[int] = []
        bank_found: list[int] = []
        start = 0
        all_first = True
        for day, run in groupby(days):
            end = start + len(list(run))
            if day != self._day:
                self._enter(day)
            counted = self._count_run(firsts[start:end], line_numbers[start:end])
            if counted is None:
                if not all_first:
                    found += [1] * (end - start)
            else:
                if all_first:
                    found, all_first = [1] * start, False
                found += counted
            if banks is not None:
                bank_found += self._count_banks(banks[start:end], line_numbers[start:end])
            start = end
        return (None if all_first else found), bank_found

    def _count_banks(self, banks: list[str | None], line_numbers: Sequence[int]) -> list[int]:
        counters, evicted = self._counters, self._evicted
        found = []
        for bank, line_number in zip(banks, line_numbers, strict=True):
            if bank is None:
                found.append(1)
                continue
            n = counters.get(bank, 0) + 1
            counters[bank] = n
            found.append(n * 1_000_000_000 + line_number if evicted else n)
        return found

    def _count_run(self, firsts: list[str], line_numbers: Sequence[int]) -> list[int] | None:
        """The occurrences of a run of one day's lines (None: each is the first of its kind on the day)."""
        counters = self._counters
        if not self._evicted:
            fresh = dict.fromkeys(firsts, 1)
            if len(fresh) == len(firsts):  # no two alike
                if counters.keys().isdisjoint(fresh.keys()):  # nor any like a line before: all first
                    counters.update(fresh)
                    return None
                found = [counters.get(first, 0) + 1 for first in firsts]
                counters.update(zip(firsts, found, strict=True))
                return found
        found = []
        for first, line_number in zip(firsts, line_numbers, strict=True):
            n = counters.get(first, 0) + 1
            counters[first] = n
            found.append(n * 1_000_000_000 + line_number if self._evicted else n)
        return found


def line_id(account_id: str, day_iso: str, amount: Decimal, description: str, bank_id: str | None, occurrence: int,
            line_number: int, evicted: bool, pending: bool = False) -> tuple[str, str]:
    """A line's content (what the identical-line counters count) and its id, `occurrence` being its count
    among the identical lines of its day (as `LineIds.many` computes them, for one line)."""
    text = content(account_id, day_iso, normalized_amount(amount), normalized_description(description))
    if bank_id:
        basis = f"{account_id}\x1fB\x1f{bank_id}"
    else:
        basis = f"{text}\x1f{occurrence * 1_000_000_000 + line_number if evicted else occurrence}"
    if pending:
        basis += "\x1fP"
    return text, f"{day_iso}-{sha256(basis.encode()).hexdigest()[:32]}"
