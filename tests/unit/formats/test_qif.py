"""QIF#v1."""

from datetime import date
from decimal import Decimal

import pytest

from tximport.formats.base import (
    AMBIGUOUS_DATE_STYLE,
    EMPTY_FILE,
    INVALID_AMOUNT,
    INVALID_DATE,
    INVALID_SOURCE_DATA,
    REQUIRED_VALUE_MISSING,
    FileError,
    FileNote,
    StatementAccount,
)
from tximport.formats.qif import OPENING_BALANCE, UNSUPPORTED_SECTION, parse_qif, qif_date_text
from tximport.formats.registry import FORMATS
from tximport.models import DateStyle

from .helpers import errors, lines, run, total

FILE = (
    "!Option:AutoSwitch\n!Account\nNListed only\nTBank\n^\n!Clear:AutoSwitch\n"
    "!Account\nNGirokonto\nTBank\n^\n"
    "!Type:Bank\nD31/01'24\nT-1.234,56\nPMüller\nMMiete Januar\nN1001\nC*\nLHousing\n^\n"
    "D01/02/2024\nU2.500,00\nPArbeitgeber\nSSplit\n$100,00\n^\n"
    "!Type:Invst\nD1/1'24\nNBuy\nYACME\n^\nD1/2'24\nNSell\n^\n"
    "!Account\nNKreditkarte\nTCCard\n^\n!Type:CCard\nD15/02/2024\nT-9,99\nPStreaming\n^\n"
    "!Type:Cat\nNFood\n^\n"
    "!Type:Bank\nD31/02/2024\nT1,00\n^\nD01/03/2024\nTabc\n^\nT5,00\n^\nD02/03/2024\n^\n"
).encode("cp1252")


def test_qif_accounts_sections_and_errors() -> None:
    events = run(parse_qif, FILE)
    accounts = [e.account_ref for e in events if isinstance(e, StatementAccount)]
    assert accounts == ["Girokonto", "Kreditkarte"]
    parsed = lines(events)
    assert [(line.account_ref, line.date_posted, line.amount) for line in parsed] == [
        ("Girokonto", date(2024, 1, 31), Decimal("-1234.56")),
        ("Girokonto", date(2024, 2, 1), Decimal("2500.00")),
        ("Kreditkarte", date(2024, 2, 15), Decimal("-9.99")),
    ]
    first = parsed[0]
    assert (first.description, first.counterparty_name, first.bank_transaction_id, first.line_number) == (
        "Müller Miete Januar", "Müller", "1001", 12)
    found = [(e.line_number, e.code, e.target) for e in errors(events)]
    assert found == [
        (26, UNSUPPORTED_SECTION, "!Type"),
        (47, INVALID_DATE, "D"),
        (50, INVALID_AMOUNT, "T"),
        (53, REQUIRED_VALUE_MISSING, "D"),
        (55, REQUIRED_VALUE_MISSING, "T"),
    ]
    assert "2 investment record" in errors(events)[0].message


def test_qif_date_style_is_inferred_for_the_whole_file_or_given() -> None:
    data = b"!Type:Bank\nD01/02/2024\nT1.00\n^\nD03/04/2024\nT2.00\n^\n"
    with pytest.raises(FileError) as info:
        run(parse_qif, data)
    assert info.value.code == AMBIGUOUS_DATE_STYLE
    parsed = lines(run(parse_qif, data, date_style=DateStyle.MIDDLE_ENDIAN))
    assert [line.date_posted for line in parsed] == [date(2024, 1, 2), date(2024, 3, 4)]
    assert total(run(parse_qif, data + b"D12/31/2024\nT-3.00\n^\n")) == Decimal("0.00")


def test_qif_last_record_without_caret_and_crlf() -> None:
    data = b"!Type:Cash\r\nD2024-05-06\r\nT-1,000.00\r\nPShop"
    events = run(parse_qif, data)
    [line] = lines(events)
    assert (line.date_posted, line.amount, line.description) == (date(2024, 5, 6), Decimal("-1000.00"), "Shop")
    # a file that ends inside a record looks cut short (the payee may be cut too): a warning at its last line
    [note] = [e for e in events if isinstance(e, FileNote)]
    assert (note.code, note.severity, note.line_number) == ("FileTruncated", "warning", 4)
    assert "inside the record that starts at line 2" in note.message


@pytest.mark.parametrize("ending", [b"^\n", b"^", b"^\n\n\n", b"^\n!Type:Cat\nNFood\n",
                                    b"^\n!Type:Invst\nD1/1'24\nNBuy\n"])
def test_a_qif_file_that_ends_after_its_records_has_no_cut_warning(ending: bytes) -> None:
    events = run(parse_qif, b"!Type:Bank\nD01/22/2024\nT-3.50\nPShop\n" + ending)
    assert [e for e in events if isinstance(e, FileNote)] == []
    assert len(lines(events)) == 1


@pytest.mark.parametrize(("text", "expected"), [("1/31'24", "1/31/2024"), ("1/ 5' 4", "1/5/2004"),
                                                ("01/31/2024", "01/31/2024")])
def test_qif_date_text(text: str, expected: str) -> None:
    assert qif_date_text(text) == expected


def test_not_qif_and_empty() -> None:
    with pytest.raises(FileError) as info:
        run(parse_qif, b"just some words\n")
    assert info.value.code == INVALID_SOURCE_DATA
    with pytest.raises(FileError) as info:
        run(parse_qif, b"\n\n")
    assert info.value.code == EMPTY_FILE


def test_qif_template_parses() -> None:
    fmt = FORMATS["QIF#v1"]
    assert fmt.template is not None
    events = run(fmt.parser, fmt.template[2].encode())
    assert not errors(events) and total(events) == Decimal("1550.00")


# quiffen's tests/test_files/test.qif, shortened: comments, lists, an opening balance, other lists after
QUIFFEN = (
    "### Most of example qif file is copied from Wikipedia ###\n"
    "### https://en.wikipedia.org/wiki/Quicken_Interchange_Format ###\n\n"
    "!Type:Class\nNTest class\nDThis is just a class\n^\n"
    "!Type:Cat\nNInvestments:Stocks\nDThis is just a category\nTTrue\nI\nB1000\nRTax schedule here\n^\n"
    "!Option:AllXfr\n!Type:Bank\nD2/10'2020\nT0.00\nCX\nPOpening Balance\nL[TestExport]\n^\n"  # line 18
    "D2/14'2020\nT67.50\nPT-Mobile\nLBills:Cell Phone/Test class\n^\n"  # line 24
    "# a comment between records\n"
    "D2/11'2020\nCX\nMnon split transaction\nT-25.00\nN123\nPWalmart\n^\n"  # line 30
    "!Type:Memorized\nKC\nT-5.00\nPCoffee\n^\n"
    "!Type:Security\nNBitcoin - USD\nS^BTCUSD\nTStock\n^\n"
    "!Type:Prices\n\"AAPL\",120.50,\"2/14'20\"\n^\n"
)


def test_qif_comments_and_lists_are_skipped_and_the_opening_balance_is_a_note() -> None:
    """qa42b F6: the comment lines opening quiffen's file were read as a record with no date, rejected at line 1,
    and the `Opening Balance` record was staged as a transaction."""
    events = run(parse_qif, QUIFFEN.encode())
    assert errors(events) == []
    assert [(line.line_number, line.date_posted, line.amount, line.description) for line in lines(events)] == [
        (24, date(2020, 2, 14), Decimal("67.50"), "T-Mobile"),
        (30, date(2020, 2, 11), Decimal("-25.00"), "Walmart non split transaction"),
    ]
    [note] = [e for e in events if isinstance(e, FileNote)]
    assert (note.code, note.severity, note.line_number, note.actual_value) == (
        OPENING_BALANCE, "info", 18, "0.00")
    assert "[TestExport]" in note.message and "not staged" in note.message


def test_a_non_zero_qif_opening_balance_is_a_warning_and_only_a_sections_first_record_is_one() -> None:
    data = (b"!Type:Bank\nD01/13/2024\nT1,250.00\nPOpening Balance\nL[Checking]\n^\n"
            b"D01/14/2024\nT-3.50\nPOpening Balance\nL[Checking]\n^\n"  # not the first: a transaction
            b"!Type:CCard\nD01/15/2024\nT-9.99\nPOpening Balance\nLFees\n^\n")  # no [account]: one too
    events = run(parse_qif, data)
    [note] = [e for e in events if isinstance(e, FileNote)]
    assert (note.code, note.severity, note.line_number, note.actual_value) == (
        OPENING_BALANCE, "warning", 2, "1,250.00")
    assert [(line.line_number, line.amount) for line in lines(events)] == [(7, Decimal("-3.50")),
                                                                          (13, Decimal("-9.99"))]


def test_a_qif_option_line_does_not_end_the_bank_section_and_errors_name_the_records_first_line() -> None:
    data = b"!Type:Bank\n!Option:MDY\nD01/22/2024\nT-3.50\nPCoffee\n^\n# note\nT-1.00\nPNo date\n^\n"
    events = run(parse_qif, data)
    assert [(line.line_number, line.amount) for line in lines(events)] == [(3, Decimal("-3.50"))]
    assert [(e.line_number, e.code) for e in errors(events)] == [(8, REQUIRED_VALUE_MISSING)]
