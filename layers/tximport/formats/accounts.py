"""Matching the accounts a statement file names to the tenant's bank accounts.

A multi-account file (OFX, CAMT, MT940) names each account in its own way: an IBAN, a domestic
number with or without the bank code, a masked card number. `match_account` finds the bank
account an account reference belongs to:

1. exact: identifiers are compared without spaces and case (`NL77 ABNA 0574 9087 65` is the IBAN
   `NL77ABNA0574908765`), and a valid IBAN followed by an ISO 4217 code (`NL20INGB0001234567EUR`, as ING writes
   MT940 `:25:`) is that IBAN (the reference as a whole being no valid IBAN);
2. fuzzy (when asked for), in addition:
   * punctuation is ignored: dashes, dots, slashes (`123-456-78` is `12345678`);
   * an IBAN matches the domestic account inside it (its BBAN, the account code with or without
     leading zeros, bank code + account code), in either direction, parsed with schwifty;
   * a legacy `bank code/account` pair matches its account part;
   * a domestic number followed by its currency (`0123456789EUR`, as some banks write MT940 `:25:`)
     matches the number;
   * a masked reference (`****1234`, `XXXX1234`, `1234 **** **** 5678`) matches the account whose
     number starts and ends with the visible digits;
   * but two references that both name their bank, and name different banks, are two accounts
     whatever number they share: the bank code of an IBAN, the `bank code/` of a legacy pair, or the
     bank the file names beside the account (OFX `BANKID`, a camt servicer BIC), compared as bank
     codes (digits without leading zeros) or as BICs without their branch (`COBADEFF` is `COBADEFFXXX`,
     `COBADEHH` another bank), a BIC only where schwifty's registry knows it (`TRIODOSBANK/`, a bank's
     name, is no BIC and compares with nothing).

A rule only answers when exactly one account fits: an ambiguous reference matches nothing, so
the caller asks the user instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schwifty import BIC, IBAN

from tximport.money import EXPONENTS

_IBAN_SHAPE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_MASKED = re.compile(r"^(?P<head>\d*)[\s-]*[*Xx\u2022#]{2,}[\s*Xx\u2022#-]*(?P<tail>\d{3,})$")
#: shorter derived forms are too likely to collide (a bank code, a branch number)
_MIN_FORM = 5
#: a domestic account number followed by an ISO 4217 code
_WITH_CURRENCY = re.compile(r"^(?P<number>\d{5,})(?P<currency>[A-Z]{3})$")
#: a BIC: institution, country, location and an optional branch
_BIC = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$")


def _exact_key(identifier: str) -> str:
    return "".join(identifier.split()).upper()


def _forms(identifier: str) -> set[str]:
    """Every way the same account may be written, normalised to upper-case alphanumerics."""
    upper = identifier.upper()
    alnum = _NOT_ALNUM.sub("", upper)
    forms = {alnum, alnum.lstrip("0")}
    if _IBAN_SHAPE.match(alnum):
        try:
            iban = IBAN(alnum, allow_invalid=True)
            bban = str(iban.bban)
            account = str(iban.account_code)
            forms.update({bban, account, account.lstrip("0"), str(iban.bank_code) + account})
        except (ValueError, TypeError):
            pass  # shaped like an IBAN but for no known country: the plain forms stay
    if "/" in upper:
        # a legacy `bank code/account` pair, as MT940 `:25:` often writes it
        account = _NOT_ALNUM.sub("", upper.rsplit("/", 1)[1])
        forms.update({account, account.lstrip("0")})
    for form in list(forms):
        number = _WITH_CURRENCY.match(form)
        if number and number.group("currency") in EXPONENTS:
            forms.update({number.group("number"), number.group("number").lstrip("0")})
    return {form for form in forms if len(form) >= _MIN_FORM}


def same_identifier(identifier: str, accounts: list[tuple[str, str]]) -> list[str]:
    """The ids of the accounts whose identifier is `identifier`, spaces and case aside."""
    key = _exact_key(identifier)
    return [account_id for account_id, known in accounts if known and _exact_key(known) == key]


def _single(found: list[str]) -> str | None:
    unique = list(dict.fromkeys(found))
    return unique[0] if len(unique) == 1 else None


def match_account(file_ref: str, accounts: list[tuple[str, str]], fuzzy: bool, bank: str | None = None
                  ) -> str | None:
    """The bank account id whose identifier names the same account as `file_ref`, or None.

    `accounts` holds (bank_account_id, account_identifier) pairs; `bank` is the bank the file names beside
    the reference, if any (OFX `BANKID`, a camt servicer BIC). None when nothing matches or when more than
    one account matches the same rule.
    """
    return _single(candidates(file_ref, accounts, fuzzy, bank))


def candidates(file_ref: str, accounts: list[tuple[str, str]], fuzzy: bool, bank: str | None = None) -> list[str]:
    """The ids of the accounts the first rule that finds any (`match_account`) says `file_ref` may name."""
    if not file_ref or not file_ref.strip():
        return []
    keys = {_exact_key(file_ref)} | _iban_before_currency(file_ref)
    exact = [bank_id for bank_id, identifier in accounts if identifier and _exact_key(identifier) in keys]
    if exact or not fuzzy:
        return list(dict.fromkeys(exact))
    masked = _MASKED.match(file_ref.strip())
    if masked:
        head, tail = masked.group("head"), masked.group("tail")
        found = [bank_id for bank_id, identifier in accounts if identifier and any(
            form.startswith(head) and form.endswith(tail)
            for form in _forms(identifier) | {_NOT_ALNUM.sub("", identifier.upper())})]
        return list(dict.fromkeys(found))
    wanted = _forms(file_ref)
    if not wanted:
        return []
    # two valid IBANs that differ are two accounts, whatever account number they share (another bank's)
    mine = _valid_iban(file_ref)
    banks = _banks(file_ref, bank)
    found = [bank_id for bank_id, identifier in accounts if identifier and wanted & _forms(identifier)
             and not (mine and _valid_iban(identifier)) and not _other_bank(banks, _banks(identifier, None))]
    return list(dict.fromkeys(found))


def names_bank(file_ref: str, bank: str | None = None) -> bool:
    """Whether a reference (with the bank the file names beside it) names a bank the matching compares."""
    return bool(_banks(file_ref, bank))


@dataclass(frozen=True, slots=True)
class _Bank:
    """A bank as a reference names it: a bank code (digits without leading zeros, or an IBAN's letters), a
    BIC without its branch, or both when an IBAN's BIC is known."""

    code: str | None = None
    bic: str | None = None


def _banks(identifier: str, named: str | None) -> list[_Bank]:
    """The banks a reference names: its IBAN's bank, its legacy `bank code/` part, the bank named beside it."""
    found: list[_Bank] = []
    alnum = _NOT_ALNUM.sub("", identifier.upper())
    if _IBAN_SHAPE.match(alnum):
        found.extend(_iban_bank(alnum))
    elif "/" in identifier:
        found.extend(_bank_named(identifier.rsplit("/", 1)[0]))
    if named:
        found.extend(_bank_named(named))
    return found


def _iban_bank(alnum: str) -> list[_Bank]:
    try:
        iban = IBAN(alnum, allow_invalid=True)
        code = _code(str(iban.bank_code))
    except (ValueError, TypeError):
        return []
    try:
        bic = iban.bic
    except (ValueError, TypeError, LookupError):
        bic = None
    return [_Bank(code=code, bic=str(bic)[:8] if bic else None)] if code or bic else []


def _bank_named(text: str) -> list[_Bank]:
    alnum = _NOT_ALNUM.sub("", text.upper())
    if _BIC.match(alnum):
        return [_Bank(bic=alnum[:8])] if _known_bic(alnum) else []
    code = _code(alnum)
    return [_Bank(code=code)] if code and code.isdigit() else []


def _code(text: str) -> str | None:
    code = _NOT_ALNUM.sub("", text.upper())
    return (code.lstrip("0") or "0") if code.isdigit() else (code or None)


def _other_bank(these: list[_Bank], those: list[_Bank]) -> bool:
    """Whether two references name banks, comparable, that differ."""
    return any(_differ(one, other) or _differ(other, one) for one in these for other in those)


def _differ(one: _Bank, other: _Bank) -> bool:
    """A bank code against a bank code of its kind, a BIC against a BIC, a BIC's institution against an IBAN's
    letters (`ABNA`); anything else is not comparable."""
    if one.code and other.code and one.code.isdigit() == other.code.isdigit():
        return one.code != other.code
    if one.bic and other.bic:
        return one.bic != other.bic
    return bool(one.bic and other.code and other.code.isalpha() and one.bic[:4] != other.code)


def _known_bic(text: str) -> bool:
    """Whether `text` is the BIC of a bank schwifty's registry knows (a bank's name written where a bank code
    goes, `TRIODOSBANK`, `COMMERZBANK`, has a BIC's shape too: it names no comparable bank)."""
    try:
        return bool(BIC(text).bank_names)
    except (ValueError, TypeError):
        return False


def _iban_before_currency(file_ref: str) -> set[str]:
    """The IBAN a reference writes with its currency after it (`NL20INGB0001234567EUR`), as a key; none when the
    reference is a valid IBAN itself, or what comes before the code is none."""
    key = _exact_key(file_ref)
    if len(key) < 18 or key[-3:] not in EXPONENTS or not key[-3:].isalpha() or _valid_iban(key):
        return set()
    return {key[:-3]} if _valid_iban(key[:-3]) else set()


def _valid_iban(identifier: str) -> bool:
    """Whether `identifier` is a valid IBAN (its check digits and its country's layout)."""
    alnum = _NOT_ALNUM.sub("", identifier.upper())
    if not _IBAN_SHAPE.match(alnum):
        return False
    try:
        IBAN(alnum)
    except (ValueError, TypeError):
        return False
    return True
