"""Matching the accounts a statement file names to the tenant's bank accounts.

A multi-account file (OFX, CAMT, MT940) names each account in its own way: an IBAN, a domestic
number with or without the bank code, a masked card number. `match_account` finds the bank
account an account reference belongs to:

1. exact: identifiers are compared without spaces and case (`NL77 ABNA 0574 9087 65` is the IBAN
   `NL77ABNA0574908765`);
2. fuzzy (when asked for), in addition:
   * punctuation is ignored: dashes, dots, slashes (`123-456-78` is `12345678`);
   * an IBAN matches the domestic account inside it (its BBAN, the account code with or without
     leading zeros, bank code + account code), in either direction, parsed with schwifty;
   * a legacy `bank code/account` pair matches its account part;
   * a domestic number followed by its currency (`0123456789EUR`, as some banks write MT940 `:25:`)
     matches the number;
   * a masked reference (`****1234`, `XXXX1234`, `1234 **** **** 5678`) matches the account whose
     number starts and ends with the visible digits.

A rule only answers when exactly one account fits: an ambiguous reference matches nothing, so
the caller asks the user instead of guessing.
"""

from __future__ import annotations

import re

from schwifty import IBAN

from tximport.money import EXPONENTS

_IBAN_SHAPE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_MASKED = re.compile(r"^(?P<head>\d*)[\s-]*[*Xx\u2022#]{2,}[\s*Xx\u2022#-]*(?P<tail>\d{3,})$")
#: shorter derived forms are too likely to collide (a bank code, a branch number)
_MIN_FORM = 5
#: a domestic account number followed by an ISO 4217 code
_WITH_CURRENCY = re.compile(r"^(?P<number>\d{5,})(?P<currency>[A-Z]{3})$")


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


def match_account(file_ref: str, accounts: list[tuple[str, str]], fuzzy: bool) -> str | None:
    """The bank account id whose identifier names the same account as `file_ref`, or None.

    `accounts` holds (bank_account_id, account_identifier) pairs. None when nothing matches or
    when more than one account matches the same rule.
    """
    if not file_ref or not file_ref.strip():
        return None
    key = _exact_key(file_ref)
    exact = [bank_id for bank_id, identifier in accounts if identifier and _exact_key(identifier) == key]
    if exact:
        return _single(exact)
    if not fuzzy:
        return None
    masked = _MASKED.match(file_ref.strip())
    if masked:
        head, tail = masked.group("head"), masked.group("tail")
        found = []
        for bank_id, identifier in accounts:
            if not identifier:
                continue
            if any(form.startswith(head) and form.endswith(tail) for form in _forms(identifier) | {
                    _NOT_ALNUM.sub("", identifier.upper())}):
                found.append(bank_id)
        return _single(found)
    wanted = _forms(file_ref)
    if not wanted:
        return None
    # two valid IBANs that differ are two accounts, whatever account number they share (another bank's)
    mine = _valid_iban(file_ref)
    found = [bank_id for bank_id, identifier in accounts if identifier and wanted & _forms(identifier)
             and not (mine and _valid_iban(identifier))]
    return _single(found)


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
