"""The balances statement formats state, read into `StatementBalances` (one per statement).

Kept apart from the readers so each reader only calls one function at the end of a statement:

* camt.05x: `Bal` by type code: `OPBD` (else `PRCD`, the previous closing) is the opening, `CLBD` the
  closing, `CLAV` the available balance; `ITBD` (interim booked, statements cut in pages) is the
  opening when it comes first and the closing after that, marked interim. The amount's sign comes from
  `CdtDbtInd` (DBIT is an overdraft). `Id`, `ElctrncSeqNb` (else `LglSeqNb`) and `FrToDt` name the
  statement and its period. A balance of those types whose `Amt` is no camt amount (the entries' rule) or is finer
  than its currency is left out in its place, with a `BalanceUnreadable` warning at its line.
* MT940: `:60F:` (`:60M:` interim) opening, `:62F:` (`:62M:` interim) closing, `:64:` available;
  `:20:` and `:28C:` name the statement. `D` marks a debit balance. A tag that does not read (no SWIFT amount,
  a date that does not exist, an amount finer than its currency) is left out, and named (`mt940_unread_balance`).
* OFX: `LEDGERBAL` is the closing (OFX states no opening), `AVAILBAL` the available balance,
  `BANKTRANLIST/DTSTART`-`DTEND` the period. A `BALAMT` that does not read as a `TRNAMT` does, or is finer than
  `CURDEF`, is left out with a `BalanceUnreadable` warning at its line.
* camt and OFX: a balance's or the period's day that does not exist (`2014-02-30`) is left unknown with a
  `StatementDateUnreadable` warning at its line; the balance keeps its amount (the checks compare amounts; the
  statement is dated by its other days and its lines, as where a balance states no day).
* A CSV balance column states a balance per line: the statement rules derive the opening and closing
  from it (tximport.statements.rules.RunningBalance).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from operator import attrgetter
from typing import Any

from tximport import money
from tximport.formats.base import (
    BALANCE_UNREADABLE,
    STATEMENT_DATE_UNREADABLE,
    Balance,
    FileNote,
    StatementBalances,
)

#: a balance whose amount is no SWIFT amount (digits, a decimal comma, its decimals, and nothing after them: `1E2`,
#: `3236,2x`, `96500`) does not match: it is left out, as any balance that does not read (also one that matches
#: but does not read, see `_mt_balance`)
_MT_BALANCE = re.compile(r"^:(6[02][FM]|64):[ \t]*([CD])(\d{6})([A-Z]{3})([0-9]+,[0-9]*)[ \t\r]*$", re.MULTILINE)
_MT_BALANCE_TAG = re.compile(r"^:(?:6[02][FM]|64):[^\n]*", re.MULTILINE)
_MT_REF = re.compile(r"^:20:[ \t]*(.*?)\s*$", re.MULTILINE)
_MT_ACCOUNT = re.compile(r"^:25:[ \t]*(.*?)\s*$", re.MULTILINE)
_MT_SEQ = re.compile(r"^:28C?:[ \t]*(.*?)\s*$", re.MULTILINE)


def _yymmdd(text: str) -> date | None:
    try:
        year = int(text[:2])
        return date(2000 + year if year < 80 else 1900 + year, int(text[2:4]), int(text[4:6]))
    except ValueError:
        return None


#: why a balance tag that does not match `_MT_BALANCE` does not read
_NO_SWIFT_BALANCE = ("a SWIFT balance is a mark, a date, a currency and an amount of digits, a decimal comma and its "
                     "decimals")


def _mt_balance(m: re.Match[str]) -> Balance | str:
    """The balance a tag matched by `_MT_BALANCE` states, or why it does not read: its amount is finer than its
    currency (`965,005` EUR: `money.fits`, which the statement checks apply, counted on the text: the decimals
    written, less trailing zeros, against `money.exponent`). A date that does not exist (`131308`, `130230`) leaves
    the balance without a day (`mt940_statement_balances` names it)."""
    _tag, sign, day, ccy, amount = m.groups()
    when = _yymmdd(day)
    decimals = len(amount.rstrip("0")) - amount.index(",") - 1
    if decimals > 0 and decimals > money.exponent(ccy):
        return f"its amount has more decimals than {ccy} has ({money.exponent(ccy)})"
    value = Decimal(amount.replace(",", ".").rstrip(".") or "0")
    return Balance(-value if sign == "D" else value, when)


def mt940_unread_balance(text: str, line_number: int) -> tuple[int, str, str] | None:
    """The file line, text and why it does not read of the first balance tag of an MT940 message (starting at
    `line_number`) that does not read (see `_MT_BALANCE`, `_mt_balance`), if any."""
    for m in _MT_BALANCE_TAG.finditer(text):
        found = _MT_BALANCE.match(m.group())
        why = _NO_SWIFT_BALANCE if found is None else _mt_balance(found)
        if isinstance(why, str):
            return line_number + text.count("\n", 0, m.start()), m.group().strip(), why
    return None


#: how a balance tag is written (counted with str.count: a message whose tags all read is not scanned again)
_MT_BALANCE_TAGS = (":60F:", ":60M:", ":62F:", ":62M:", ":64:")


def mt940_statement_balances(text: str, line_number: int) -> tuple[StatementBalances | None, list[FileNote]]:
    """The balances of one MT940/MT942 message (`mt940_balances`), and the notes on its balance tags: the first
    that does not read (`BalanceUnreadable`, `mt940_unread_balance`, looked for only where the message writes more
    balance tags than read), and the first read whose date does not exist (`StatementDateUnreadable`)."""
    stated, read = _mt940_balances(text, line_number)
    notes = []
    if stated is not None and None in (b.day for b in (stated.opening, stated.closing, stated.available) if b):
        notes.append(_mt940_undated(text, line_number))
    if sum(map(text.count, _MT_BALANCE_TAGS)) > read:
        unread = mt940_unread_balance(text, line_number)
        if unread is not None:
            notes.append(_mt940_unread(*unread))
    return stated, sorted(notes, key=attrgetter("line_number"))


def _mt940_unread(line: int, written: str, why: str) -> FileNote:
    """A warning for a balance tag that does not read (an amount `3236,2x` or `96500`, an amount `965,005` finer than
    EUR): it is left out of the statement checks, which would otherwise compare the lines with a number the bank
    never stated."""
    tag = written[:written.index(":", 1) + 1]  # (the line is the note's lineNumber alone: a range renumbers that)
    return FileNote(BALANCE_UNREADABLE, f"the {tag} {written[:60]!r} states no balance that reads ({why}): it is "
                    "left out of the statement checks", "warning", line, written[:200])


def _mt940_undated(text: str, line_number: int) -> FileNote:
    """The note on the first balance tag of a message that reads but whose date does not exist (`:62F:C131308...`)."""
    m = next(m for m in _MT_BALANCE.finditer(text) if _yymmdd(m.group(3)) is None)
    written = m.group().strip()
    tag = written[:written.index(":", 1) + 1]
    return _unread_day(line_number + text.count("\n", 0, m.start()), f"date {m.group(3)} of the {tag}", written,
                       True)


def mt940_balances(text: str, line_number: int) -> StatementBalances | None:
    """The balances of one MT940/MT942 message (None when it states none); `:25:` names the account."""
    return _mt940_balances(text, line_number)[0]


def _mt940_balances(text: str, line_number: int) -> tuple[StatementBalances | None, int]:
    """`mt940_balances`, and how many balance tags read."""
    account_ref = _account_ref(text)
    currency: str | None = None
    found: dict[str, tuple[Balance, str]] = {}
    read = 0
    for m in _MT_BALANCE.finditer(text):
        balance = _mt_balance(m)
        if isinstance(balance, str):
            continue  # left out (`mt940_unread_balance` says why)
        read += 1
        tag, ccy = m.group(1), m.group(4)
        kind = "opening" if tag.startswith("60") else "closing" if tag.startswith("62") else "available"
        if kind not in found or kind == "closing":  # the last closing of a message is its closing
            found[kind] = (balance, tag)
        currency = currency or ccy
    if not found:
        return None, read
    return _mt940_statement(text, line_number, account_ref, currency, found), read


def mt940_unbalanced(text: str, line_number: int) -> StatementBalances:
    """A statement message with lines and no balance tag that reads: it closes its statement all the same, stated
    with no balance, so its lines are not taken into the next statement's."""
    return _mt940_statement(text, line_number, _account_ref(text), None, {})


def _account_ref(text: str) -> str | None:
    account = _MT_ACCOUNT.search(text)
    return account.group(1) or None if account else None


def _mt940_statement(text: str, line_number: int, account_ref: str | None, currency: str | None,
                     found: dict[str, tuple[Balance, str]]) -> StatementBalances:
    ref = _MT_REF.search(text)
    seq = _MT_SEQ.search(text)
    opening, closing = found.get("opening"), found.get("closing")
    return StatementBalances(
        account_ref=account_ref, currency=currency, statement_id=ref.group(1) or None if ref else None,
        sequence=seq.group(1) or None if seq else None,
        opening=opening[0] if opening else None, closing=closing[0] if closing else None,
        available=found["available"][0] if "available" in found else None,
        opening_interim=bool(opening and opening[1].endswith("M")),
        closing_interim=bool(closing and closing[1].endswith("M")), line_number=line_number)


def _camt_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


#: the camt balance types the statement checks read; a balance of another type is left alone, read or not
_CAMT_CHECKED = frozenset({"OPBD", "PRCD", "CLBD", "ITBD", "CLAV"})
#: the place of a checked balance that does not read: it keeps its place (an ITBD that does not read is still the
#: statement's first, the opening) and is left out
_UNREAD = Balance(Decimal(0))


class _CamtNotes:
    """The notes on one camt statement's balances and period, at the file's lines (the statement's element may be
    parsed from a fragment of the file: `shift` turns the element's lines into the file's)."""

    def __init__(self, stmt: Any, stmt_line: int) -> None:
        self.shift = stmt_line - (stmt.sourceline or stmt_line)
        self.notes: list[FileNote] = []

    def amount(self, el: Any, code: str, currency: str | None) -> None:
        line, text = el.sourceline + self.shift, el.text.strip()
        self.notes.append(FileNote(
            BALANCE_UNREADABLE, f"the {code} balance states no amount that reads ({text[:60]!r}: a camt "
            f"amount is a plain decimal, unsigned, with no more decimals than {currency or 'its currency'} has): it is "
            "left out of the statement checks", "warning", line, text[:200]))

    def indicator(self, bal: Any, el: Any, code: str) -> None:
        """A balance whose `CdtDbtInd` is missing or neither CRDT nor DBIT: its sign is unknown."""
        text = (el.text or "").strip() if el is not None else ""
        line = (el if el is not None else bal).sourceline + self.shift
        self.notes.append(FileNote(
            BALANCE_UNREADABLE, f"the {code} balance states no sign that reads (CdtDbtInd {text[:60]!r}: CRDT or DBIT "
            "is required): it is left out of the statement checks", "warning", line, text[:200] or None))

    def day(self, el: Any, what: str, *, balance: bool) -> date | None:
        """The day of the `Dt`/`DtTm` element `el` (None where there is none; one that does not read is noted)."""
        if el is None or not (el.text or "").strip():
            return None
        text = el.text.strip()
        day = _camt_date(text)
        if day is None:
            self.notes.append(_unread_day(el.sourceline + self.shift, what, text, balance))
        return day


def _unread_day(line: int, what: str, text: str, balance: bool) -> FileNote:
    """A warning for a balance's or a period's day that does not read (`2014-02-30`, `20130532`): the balance keeps
    its amount; the statement is dated by its other days and its lines."""
    kept = "the balance keeps its amount with no day, and " if balance else ""
    return FileNote(STATEMENT_DATE_UNREADABLE, f"the {what} states no day that reads ({text[:60]!r}): "
                    f"{kept}the statement checks date the statement by its other days and its lines", "warning", line,
                    text[:200])


def _camt_balance(bal: Any, find: Any, currency: str | None, read_amount: Callable[[str], Decimal],
                  notes: _CamtNotes) -> tuple[str, Balance, str | None] | None:
    """A `Bal`'s type, balance and currency; `_UNREAD` (noted) for a checked type whose amount does not read as a
    camt amount (`read_amount`, the entries' rule) in its currency, or whose `CdtDbtInd` is not CRDT or DBIT (as an
    entry's); None for a balance without type or amount, or of another type whose amount does not read."""
    code = find(bal, "Tp/CdOrPrtry/Cd") or find(bal, "Tp/CdOrPrtry/Prtry")
    amount_el = bal.find(find.path("Amt"))
    if not code or amount_el is None or not (amount_el.text or "").strip():
        return None
    ccy = amount_el.get("Ccy")
    try:
        value = read_amount(amount_el.text.strip())  # (`1E2` and `-5` are no camt amounts)
    except ValueError:
        value = None
    checked = code in _CAMT_CHECKED
    if value is None or (checked and not money.fits(value, ccy or currency)):
        if not checked:
            return None
        notes.amount(amount_el, code, ccy or currency)
        return code, _UNREAD, ccy
    indicator = find(bal, "CdtDbtInd")
    if checked and indicator not in ("CRDT", "DBIT"):
        notes.indicator(bal, bal.find(find.path("CdtDbtInd")), code)
        return code, _UNREAD, ccy
    if indicator == "DBIT":
        value = -value
    if not checked:
        return code, Balance(value, _camt_date(find(bal, "Dt/Dt") or find(bal, "Dt/DtTm"))), ccy
    for part in ("Dt", "DtTm"):  # (the day, else the date and time)
        day_el = bal.find(find.path(f"Dt/{part}"))
        if day_el is not None and (day_el.text or "").strip():
            return code, Balance(value, notes.day(day_el, f"Dt/{part} of the {code} balance", balance=True)), ccy
    return code, Balance(value, None), ccy


class CamtFinder:
    """Text of a child path, through the reader's namespace-aware path builder."""

    def __init__(self, path: Any) -> None:
        self.path = path

    def __call__(self, el: Any, path: str) -> str | None:
        found = el.find(self.path(path))
        if found is None or found.text is None:
            return None
        return found.text.strip() or None


def camt_balances(stmt: Any, path: Any, account_ref: str | None, currency: str | None, line_number: int | None, *,
                  stmt_line: int, read_amount: Callable[[str], Decimal]) -> tuple[StatementBalances | None,
                                                                                  list[FileNote]]:
    """The balances of one camt statement element (read before its entries are dropped), and the notes on those
    that do not read (`BalanceUnreadable`, `StatementDateUnreadable`, in the file's order); `line_number` is the
    statement's, `stmt_line` the file line of the element's start tag (it may be parsed from a fragment of the
    file), `read_amount` reads a camt amount (ValueError where it does not)."""
    find = CamtFinder(path)
    notes = _CamtNotes(stmt, stmt_line)
    result = StatementBalances(account_ref=account_ref, currency=currency, line_number=line_number)
    seen = False
    for bal in stmt.iterfind(path("Bal")):
        read = _camt_balance(bal, find, currency, read_amount, notes)
        if read is None:
            continue
        code, balance, ccy = read
        if balance is not _UNREAD:
            seen = True
            result.currency = result.currency or ccy
        if code == "OPBD" or (code == "PRCD" and (result.opening is None or result.opening_interim)):
            result.opening, result.opening_interim = balance, False
        elif code == "CLBD":
            result.closing, result.closing_interim = balance, False
        elif code == "ITBD":
            if result.opening is None:
                result.opening, result.opening_interim = balance, True
            elif result.closing is None or result.closing_interim:
                result.closing, result.closing_interim = balance, True
        elif code == "CLAV":
            result.available = balance
    if not seen:
        return None, notes.notes
    result.opening = None if result.opening is _UNREAD else result.opening
    result.closing = None if result.closing is _UNREAD else result.closing
    result.available = None if result.available is _UNREAD else result.available
    result.statement_id = find(stmt, "Id")
    result.sequence = find(stmt, "ElctrncSeqNb") or find(stmt, "LglSeqNb")
    result.period_start = notes.day(stmt.find(path("FrToDt/FrDtTm")), "FrToDt/FrDtTm", balance=False)
    result.period_end = notes.day(stmt.find(path("FrToDt/ToDtTm")), "FrToDt/ToDtTm", balance=False)
    notes.notes.sort(key=attrgetter("line_number"))
    return result, notes.notes


def ofx_balances(account_ref: str | None, currency: str | None, found: dict[str, tuple[str, int]],
                 line_number: int | None, read_date: Callable[[str], date], read_amount: Callable[[str], Decimal]
                 ) -> tuple[StatementBalances | None, list[FileNote]]:
    """The balances of one OFX statement, from the leaves its reader kept (`LEDGERBAL.BALAMT` ..., each with its
    text and file line), and the notes on those that do not read (`BalanceUnreadable`, `StatementDateUnreadable`,
    in the file's order). A `BALAMT` reads as a `TRNAMT` does (`read_amount`), with no more decimals than `CURDEF`
    has; a day as a `DTPOSTED` does (`read_date`)."""
    notes: list[FileNote] = []

    def day(key: str, what: str, *, balance: bool) -> date | None:
        text, line = found.get(key, ("", 0))
        if not text:
            return None
        try:
            return read_date(text)
        except (ValueError, ArithmeticError):
            notes.append(_unread_day(line, what, text, balance))
            return None

    def stated(kind: str) -> Balance | None:
        text, line = found.get(f"{kind}.BALAMT", ("", 0))
        if not text:
            return None
        try:
            value: Decimal | None = read_amount(text)
        except (ValueError, ArithmeticError):
            value = None
        if value is None or not money.fits(value, currency):
            notes.append(FileNote(
                BALANCE_UNREADABLE, f"the {kind} states no amount that reads ({text[:60]!r}: an OFX "
                f"amount is a decimal number with no more decimals than {currency or 'its currency'} has): it is left "
                "out of the statement checks", "warning", line, text[:200]))
            return None
        return Balance(value, day(f"{kind}.DTASOF", f"DTASOF of the {kind}", balance=True))

    closing, available = stated("LEDGERBAL"), stated("AVAILBAL")
    balances = None if closing is None and available is None else StatementBalances(
        account_ref=account_ref, currency=currency, closing=closing, available=available,
        period_start=day("DTSTART", "DTSTART", balance=False), period_end=day("DTEND", "DTEND", balance=False),
        line_number=line_number)
    notes.sort(key=attrgetter("line_number"))
    return balances, notes
