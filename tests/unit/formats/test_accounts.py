"""Account matching: one test per rule, with and without fuzzy matching."""

from __future__ import annotations

import pytest

from tximport.formats.accounts import match_account
from tximport.formats.base import AccountNames

ACCOUNTS = [
    ("ba-iban", "NL77ABNA0574908765"),
    ("ba-de", "DE89 3704 0044 0532 0130 00"),
    ("ba-domestic", "12-3456-78"),
    ("ba-card", "4111 1111 1111 1234"),
    ("ba-legacy", "50880050/0194774600888"),
]


@pytest.mark.parametrize("fuzzy", [False, True])
def test_exact_ignores_spaces_and_case(fuzzy: bool) -> None:
    assert match_account("nl77 abna 0574 9087 65", ACCOUNTS, fuzzy) == "ba-iban"
    assert match_account("DE89370400440532013000", ACCOUNTS, fuzzy) == "ba-de"


def test_no_match_without_fuzzy() -> None:
    assert match_account("12345678", ACCOUNTS, False) is None
    assert match_account("0574908765", ACCOUNTS, False) is None
    assert match_account("****1234", ACCOUNTS, False) is None


def test_dashes_and_punctuation_are_ignored_when_fuzzy() -> None:
    assert match_account("12345678", ACCOUNTS, True) == "ba-domestic"
    assert match_account("12.3456.78", ACCOUNTS, True) == "ba-domestic"


def test_iban_matches_its_domestic_account_number() -> None:
    # the account code inside NL77ABNA0574908765, with and without leading zeros
    assert match_account("0574908765", ACCOUNTS, True) == "ba-iban"
    assert match_account("574908765", ACCOUNTS, True) == "ba-iban"
    # the BBAN (bank code + account) of the German IBAN
    assert match_account("370400440532013000", ACCOUNTS, True) == "ba-de"


def test_an_iban_of_another_bank_with_the_same_account_number_is_another_account() -> None:
    assert match_account("DE48500105170532013000", ACCOUNTS, True) is None  # another bank code, a valid IBAN
    assert match_account("NL22RABO0574908765", [("abna", "NL77ABNA0574908765")], True) is None
    assert match_account("0532013000", ACCOUNTS, True) == "ba-de"  # a bare account number still matches


def test_domestic_identifier_matches_an_iban_in_the_file() -> None:
    accounts = [("a", "0532013000"), ("b", "999999999")]
    assert match_account("DE89370400440532013000", accounts, True) == "a"


def test_legacy_bank_code_and_account() -> None:
    assert match_account("0194774600888", ACCOUNTS, True) == "ba-legacy"
    assert match_account("50880050/0194774600888", ACCOUNTS, False) == "ba-legacy"


@pytest.mark.parametrize("masked", ["****1234", "XXXX1234", "xxxx-1234", "**** **** **** 1234", "4111 **** **** 1234"])
def test_masked_card_numbers(masked: str) -> None:
    assert match_account(masked, ACCOUNTS, True) == "ba-card"


def test_masked_number_needs_the_right_head() -> None:
    assert match_account("5500 **** **** 1234", ACCOUNTS, True) is None


def test_masked_ambiguous_matches_nothing() -> None:
    accounts = [("a", "4111111111111234"), ("b", "5500000000001234")]
    assert match_account("****1234", accounts, True) is None
    assert match_account("4111********1234", accounts, True) == "a"


def test_ambiguous_exact_matches_nothing() -> None:
    accounts = [("a", "12345678"), ("b", "1234 5678")]
    assert match_account("12345678", accounts, True) is None


def test_short_forms_do_not_collide() -> None:
    # the bank code alone (ABNA) or a short number must not match an IBAN
    assert match_account("ABNA", ACCOUNTS, True) is None
    assert match_account("1234", ACCOUNTS, True) is None


@pytest.mark.parametrize("ref", ["", "   ", "unknown-account"])
def test_nothing_matches(ref: str) -> None:
    assert match_account(ref, ACCOUNTS, True) is None


def test_invalid_iban_checksum_still_matches_its_account() -> None:
    # sample files carry IBANs with wrong check digits: the account inside is still found
    accounts = [("a", "0123456789")]
    assert match_account("NL71RABO0123456789", accounts, True) == "a"


def test_empty_identifiers_are_skipped() -> None:
    assert match_account("12345678", [("a", ""), ("b", "12345678")], True) == "b"


def test_a_domestic_number_followed_by_its_currency_is_the_number_when_fuzzy() -> None:
    """Some banks write MT940 `:25:` as the account number and its currency (`0123456789EUR`)."""
    accounts = [("plain", "0123456789"), ("other", "9876543210")]
    assert match_account("0123456789EUR", accounts, True) == "plain"
    assert match_account("123456789EUR", accounts, True) == "plain"
    assert match_account("0123456789EUR", accounts, False) is None
    assert match_account("0123456789XYZ", accounts, True) is None  # no currency: another reference


def test_a_legacy_pair_of_another_bank_is_another_account() -> None:
    """`bank code/account` (MT940 `:25:`): the same account number at another bank is not the account."""
    accounts = [("mine", "87654321/1020304050")]
    assert match_account("12345678/1020304050", accounts, True) is None
    assert match_account("87654321/1020304050", accounts, True) == "mine"
    assert match_account("087654321/1020304050", accounts, True) == "mine"  # the bank code's leading zeros aside
    assert match_account("1020304050", accounts, True) == "mine"  # a reference naming no bank still matches
    assert match_account("50010517/0532013000", ACCOUNTS, True) is None  # another bank code than the IBAN's
    assert match_account("37040044/0532013000", ACCOUNTS, True) == "ba-de"


def test_the_bank_a_file_names_beside_the_account_counts() -> None:
    """OFX `BANKID`, a camt servicer BIC: compared with the bank code or the BIC of the account's IBAN."""
    french = [("fr", "FR7630001000011234567890149")]
    assert match_account("12345678901", french, True, "99999") is None
    assert match_account("12345678901", french, True, "30001") == "fr"
    assert match_account("12345678901", french, True) == "fr"
    assert match_account("0417164300", [("nl", "NL91ABNA0417164300")], True, "RABONL2U") is None
    assert match_account("0417164300", [("nl", "NL91ABNA0417164300")], True, "ABNANL2AXXX") == "nl"
    assert match_account("0532013000", ACCOUNTS, True, "COBADEFFXXX") == "ba-de"  # the IBAN's BIC, by its bank code
    assert match_account("0532013000", ACCOUNTS, True, "DEUTDEFF") is None
    assert match_account("0532013000", ACCOUNTS, True, "ROUTING") == "ba-de"  # nothing to compare: no verdict
    assert match_account("12345678", ACCOUNTS, True, "30001") == "ba-domestic"  # the account names no bank


def test_a_bank_name_written_where_a_bank_code_goes_is_compared_by_its_institution() -> None:
    """Triodos writes MT940 `:25:TRIODOSBANK/0390123456`: its first four letters are the IBAN's bank (TRIO)."""
    assert match_account("TRIODOSBANK/0390123456", [("t", "NL49TRIO0390123456")], True) == "t"
    assert match_account("0390123456", [("t", "NL49TRIO0390123456")], True, "TRIONL2UXXX") == "t"


def test_a_bic_names_its_bank_and_location_not_only_its_institution() -> None:
    """Commerzbank Frankfurt (COBADEFF, the IBAN's BIC) and Commerzbank Hamburg (COBADEHH) number their accounts
    apart; the branch aside (XXX), a BIC is the IBAN's bank or not. A bank's name where a code goes is no BIC."""
    frankfurt = [("a", "DE89370400440532013000")]
    assert match_account("0532013000", frankfurt, True, "COBADEHHXXX") is None
    assert match_account("0532013000", frankfurt, True, "COBAGB2X") is None
    assert match_account("0532013000", frankfurt, True, "COBADEFF") == "a"
    assert match_account("COMMERZBANK/0532013000", frankfurt, True) == "a"
    names = AccountNames()
    assert names.ref("0532013000", "COBADEFFXXX") == "0532013000"
    assert names.ref("0532013000", "COBADEHHXXX") == "COBADEHHXXX/0532013000"


def test_one_number_under_several_banks_in_one_file_is_as_many_accounts() -> None:
    names = AccountNames()
    assert names.ref("12345678901", "30001") == "12345678901"
    assert names.ref("12345678901", " 30001") == "12345678901"  # the same bank again: the same account
    assert names.ref("12345678901", "99999") == "99999/12345678901"
    assert names.ref("12345678901", None) == "/12345678901"  # naming no bank: another one again
    assert names.ref("0532013000", "COBADEFFXXX") == "0532013000"
    assert names.ref("0532013000", "COBADEFF") == "0532013000"  # a BIC with and without its branch
    bankless_first = AccountNames()
    assert bankless_first.ref("1020304050", None) == "1020304050"
    assert bankless_first.ref("1020304050", None) == "1020304050"
    assert bankless_first.ref("1020304050", "INGDDEFFXXX") == "INGDDEFFXXX/1020304050"


@pytest.mark.parametrize("fuzzy", [False, True])
def test_an_iban_followed_by_its_currency_is_that_iban(fuzzy: bool) -> None:
    """ING writes MT940 `:25:` as the IBAN and the currency (`NL77ABNA0574908765EUR`): that IBAN's account
    without fuzzy matching; a code that is no currency, or an IBAN whose check digits fail, is nothing."""
    assert match_account("NL77ABNA0574908765EUR", ACCOUNTS, fuzzy) == "ba-iban"
    assert match_account("DE89 3704 0044 0532 0130 00 EUR", ACCOUNTS, fuzzy) == "ba-de"
    assert match_account("NL77ABNA0574908765XYZ", ACCOUNTS, False) is None
    assert match_account("NL78ABNA0574908765EUR", ACCOUNTS, False) is None
