"""The balances statement formats state, read into `StatementBalances` (one per statement).

Kept apart from the readers so each reader only calls one function at the end of a statement:

* camt.05x: `Bal` by type code: `OPBD` (else `PRCD`, the previous closing) is the opening, `CLBD` the
  closing, `CLAV` the available balance; `ITBD` (interim booked, statements cut in pages) is the
  opening when it comes first and the closing after that, marked interim. The amount's sign comes from
  `CdtDbtInd` (DBIT is an overdraft). `Id`, `ElctrncSeqNb` (else `LglSeqNb`) and `FrToDt` name the
  statement and its period.
* MT940: `:60F:` (`:60M:` interim) opening, `:62F:` (`:62M:` interim) closing, `:64:` available;
  `:20:` and `:28C:` name the statement. `D` marks a debit balance. A tag that does not read (no SWIFT amount,
  a date that does not exist, an amount finer than its currency) is left out, and named (`mt940_unread_balance`).
* OFX: `LEDGERBAL` is the closing (OFX states no opening), `AVAILBAL` the available balance,
  `BANKTRANLIST/DTSTART`-`DTEND` the period.
* A CSV balance column states a balance per line: the statement rules derive the opening and closing
  from it (tximport.statements.rules.RunningBalance).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from tximport import money
from tximport.formats.base import Balance, StatementBalances
from tximport.formats.values import plain_decimal

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
    """The balance a tag matched by `_MT_BALANCE` states, or why it does not read: its date does not exist
    (`131308`, `130230`), or its amount is finer than its currency (`965,005` EUR: `money.fits`, which the statement
    checks apply, counted on the text: the decimals written, less trailing zeros, against `money.exponent`)."""
    _tag, sign, day, ccy, amount = m.groups()
    when = _yymmdd(day)
    if when is None:
        return f"its date {day} does not exist"
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


def mt940_statement_balances(text: str, line_number: int
                             ) -> tuple[StatementBalances | None, tuple[int, str, str] | None]:
    """The balances of one MT940/MT942 message (`mt940_balances`), and the first balance tag that does not read
    (`mt940_unread_balance`), looked for only where the message writes more balance tags than read."""
    stated, read = _mt940_balances(text, line_number)
    if sum(map(text.count, _MT_BALANCE_TAGS)) <= read:
        return stated, None
    return stated, mt940_unread_balance(text, line_number)


def mt940_balances(text: str, line_number: int) -> StatementBalances | None:
    """The balances of one MT940/MT942 message (None when it states none); `:25:` names the account."""
    return _mt940_balances(text, line_number)[0]


def _mt940_balances(text: str, line_number: int) -> tuple[StatementBalances | None, int]:
    """`mt940_balances`, and how many balance tags read."""
    account = _MT_ACCOUNT.search(text)
    account_ref = account.group(1) or None if account else None
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
    ref = _MT_REF.search(text)
    seq = _MT_SEQ.search(text)
    opening, closing = found.get("opening"), found.get("closing")
    return StatementBalances(
        account_ref=account_ref, currency=currency, statement_id=ref.group(1) or None if ref else None,
        sequence=seq.group(1) or None if seq else None,
        opening=opening[0] if opening else None, closing=closing[0] if closing else None,
        available=found["available"][0] if "available" in found else None,
        opening_interim=bool(opening and opening[1].endswith("M")),
        closing_interim=bool(closing and closing[1].endswith("M")), line_number=line_number), read


def _camt_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _camt_balance(bal: Any, find: Any) -> tuple[str, Balance, str | None] | None:
    code = find(bal, "Tp/CdOrPrtry/Cd") or find(bal, "Tp/CdOrPrtry/Prtry")
    amount_el = bal.find(find.path("Amt"))
    if not code or amount_el is None or not (amount_el.text or "").strip():
        return None
    text = amount_el.text.strip()
    if not plain_decimal(text):
        return None  # `1E2` is no camt amount: left out, as any other unreadable balance
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if find(bal, "CdtDbtInd") == "DBIT":
        value = -value
    day = _camt_date(find(bal, "Dt/Dt") or find(bal, "Dt/DtTm"))
    return code, Balance(value, day), amount_el.get("Ccy")


class CamtFinder:
    """Text of a child path, through the reader's namespace-aware path builder."""

    def __init__(self, path: Any) -> None:
        self.path = path

    def __call__(self, el: Any, path: str) -> str | None:
        found = el.find(self.path(path))
        if found is None or found.text is None:
            return None
        return found.text.strip() or None


def camt_balances(stmt: Any, path: Any, account_ref: str | None, currency: str | None, line_number: int | None
                  ) -> StatementBalances | None:
    """The balances of one camt statement element (read before its entries are dropped); `line_number`
    is the statement's (the element may be parsed from a fragment of the file)."""
    find = CamtFinder(path)
    result = StatementBalances(account_ref=account_ref, currency=currency, line_number=line_number)
    seen = False
    for bal in stmt.iterfind(path("Bal")):
        read = _camt_balance(bal, find)
        if read is None:
            continue
        code, balance, ccy = read
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
        return None
    result.statement_id = find(stmt, "Id")
    result.sequence = find(stmt, "ElctrncSeqNb") or find(stmt, "LglSeqNb")
    result.period_start = _camt_date(find(stmt, "FrToDt/FrDtTm"))
    result.period_end = _camt_date(find(stmt, "FrToDt/ToDtTm"))
    return result


def ofx_balances(account_ref: str | None, currency: str | None, found: dict[str, str], line_number: int | None,
                 read_date: Any, read_amount: Any) -> StatementBalances | None:
    """The balances of one OFX statement, from the leaves its reader kept (`LEDGERBAL.BALAMT` ...)."""

    def balance(kind: str) -> Balance | None:
        amount = found.get(f"{kind}.BALAMT")
        if not amount:
            return None
        try:
            value = read_amount(amount)
        except (ValueError, ArithmeticError):
            return None
        return Balance(value, _ofx_day(found.get(f"{kind}.DTASOF"), read_date))

    closing, available = balance("LEDGERBAL"), balance("AVAILBAL")
    if closing is None and available is None:
        return None
    return StatementBalances(
        account_ref=account_ref, currency=currency, closing=closing, available=available,
        period_start=_ofx_day(found.get("DTSTART"), read_date), period_end=_ofx_day(found.get("DTEND"), read_date),
        line_number=line_number)


def _ofx_day(text: str | None, read_date: Any) -> date | None:
    if not text:
        return None
    try:
        day: date = read_date(text)
    except (ValueError, ArithmeticError):
        return None
    return day
