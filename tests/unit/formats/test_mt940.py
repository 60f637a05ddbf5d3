"""MT940/MT942: every sample file, and the rules the module documents."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.support.samples import SAMPLES as ALL_SAMPLES
from tests.unit.formats.helpers import accounts, errors, lines
from tximport.formats import mt940
from tximport.formats.base import (
    Balance,
    BytesSource,
    FileError,
    FileNote,
    FileSource,
    ParseOptions,
    StatementAccount,
    StatementBalances,
)
from tximport.formats.registry import FORMATS

SAMPLES = ALL_SAMPLES / "mt940"


def parse(data: bytes | str) -> list:
    if isinstance(data, str):
        data = data.encode()
    return list(mt940.parse_mt940(BytesSource(data), ParseOptions()))


def parse_sample(name: str) -> list:
    path = SAMPLES / name
    return list(mt940.parse_mt940(FileSource(str(path)), ParseOptions()))



def test_registry_entry() -> None:
    fmt = FORMATS["MT940#v1"]
    assert fmt.accounts_supported == "multi"
    assert set(fmt.file_extensions) == {"STA", "MT940", "TXT", "940"}


# (file, lines, total, statements) -- counted from the `:61:` lines of each file
SAMPLE_TOTALS = [
    ("mt940-betterplace-amount_formats.sta", 0, Decimal("0"), 0),
    ("mt940-betterplace-sepa_mt9401.sta", 97, Decimal("-9269135.90"), 26),
    ("mt940-jejik-abnamro.sta", 10, Decimal("-345.93"), 2),
    ("mt940-jejik-ing.sta", 7, Decimal("-45.59"), 1),
    ("mt940-jejik-postfinance.sta", 4, Decimal("159.4"), 2),
    ("mt940-jejik-rabobank-iban.sta", 4, Decimal("-70.00"), 2),
    ("mt940-jejik-triodos.sta", 2, Decimal("-715.70"), 1),
    ("mt940-self-provided-february_30.sta", 1, Decimal("-6.00"), 1),
    ("mt940-self-provided-malformed_details.sta", 1, Decimal("-233.15"), 1),
    ("mt940-self-provided-sparkassen.sta", 1, Decimal("30.00"), 0),
]


@pytest.mark.parametrize(("name", "count", "total", "statements"), SAMPLE_TOTALS)
def test_sample_counts_and_totals(name: str, count: int, total: Decimal, statements: int) -> None:
    events = parse_sample(name)
    rows = lines(events)
    assert len(rows) == count
    assert sum((r.amount for r in rows), Decimal(0)) == total
    assert len(accounts(events)) == statements
    assert not errors(events)
    # every line belongs to the statement announced before it
    current = None
    for e in events:
        if isinstance(e, StatementAccount):
            current = e.account_ref
        elif not isinstance(e, FileNote):
            assert e.account_ref == current


def test_sepa_structured_details() -> None:
    events = parse_sample("mt940-betterplace-sepa_mt9401.sta")
    first = accounts(events)[0]
    assert (first.account_ref, first.currency, first.line_number) == ("50880050/0194774600888", "EUR", 1)
    rows = lines(events)
    assert (rows[0].line_number, rows[0].amount, rows[0].bank_transaction_id) == (5, Decimal("300"),
                                                                                 "0724710345313905")
    # ?20 EREF+... is the end-to-end reference; no purpose: the posting text describes it
    assert rows[0].description == "RETOURE"
    assert rows[0].reference.startswith("TFNR 40005 00005")
    credit = next(r for r in rows if r.counterparty_account == "CH8500779014054431109")
    assert credit.amount == Decimal("125.88")
    assert credit.description == "TO13 TF20018 MINT"
    assert credit.counterparty_name.startswith("Cornelia Prochownik")
    # RCR (reversal of a credit) is money out; the library's reversal option is on
    reversal = [r for r in rows if r.amount == Decimal("-204.88")]
    assert reversal


def test_abnamro_wrapped_details_and_dates() -> None:
    events = parse_sample("mt940-jejik-abnamro.sta")
    rows = lines(events)
    assert rows[0].description.startswith("GIRO 428428 KPN - DIGITENNE")
    assert rows[0].description.endswith("INCL. 1,44 BTW")
    # 1105210523: value date 21 May, entry (booking) date 23 May
    assert (rows[1].value_date, rows[1].date_posted) == (date(2011, 5, 21), date(2011, 5, 23))
    assert [r.line_number for r in rows[:3]] == [8, 12, 14]
    assert [a.account_ref for a in accounts(events)] == ["517852257", "517852257"]


def test_rabobank_swift_codes() -> None:
    rows = lines(parse_sample("mt940-jejik-rabobank-iban.sta"))
    assert rows[0].counterparty_name == "CONTRA ACCOUNT HOLDER"  # the wrapped NAME joined back
    assert rows[0].counterparty_account == "NL70ABNA0987654321"
    assert rows[1].description == "Reference 201301234"
    assert rows[1].counterparty_name == "JOHN DOE"


def test_february_30_is_fixed_by_the_library_and_said_so() -> None:
    events = parse_sample("mt940-self-provided-february_30.sta")
    [row] = lines(events)
    assert (row.value_date, row.date_posted) == (date(2016, 2, 29), date(2016, 3, 1))
    assert row.description == "Pauschalen"
    [note] = [e for e in events if isinstance(e, FileNote)]
    assert (note.code, note.severity, note.line_number, note.actual_value) == ("DateCorrected", "info", 6, "160230")
    assert "160230" in note.message and "2016-02-29" in note.message


@pytest.mark.parametrize(("value", "corrected", "severity"), [
    ("2302290301", "230229", "info"),  # 2023 is no leap year
    ("240231", "240231", "warning"),  # no entry date: the corrected day is the booking day too
    ("240229", None, None),  # a leap day
    ("240228", None, None),
])
def test_a_value_date_past_februarys_end_is_noted_with_its_line(value: str, corrected: str | None,
                                                                severity: str | None) -> None:
    text = (":20:REF\r\n:25:NL91ABNA0417164300\r\n:28C:1/1\r\n:60F:C230101EUR100,00\r\n"
            ":61:2301050105D1,00NTRFNONREF\r\n:86:first\r\n"
            f":61:{value}D2,00NTRFNONREF\r\n:86:second\r\n:62F:C230301EUR97,00\r\n-\r\n")
    events = parse(text)
    assert len(lines(events)) == 2 and not errors(events)
    notes = [(n.line_number, n.actual_value, n.severity) for n in events if isinstance(n, FileNote)]
    assert notes == ([] if corrected is None else [(7, corrected, severity)])


def test_malformed_details_still_import() -> None:
    [row] = lines(parse_sample("mt940-self-provided-malformed_details.sta"))
    assert row.counterparty_account == "DE99700500000000012345"
    assert row.counterparty_name == "Finanzamt Muenchen Abteilung Erhebung"
    assert row.description.startswith("STEUERNR 123/123/12345")


def test_sparkasse_amount_on_the_next_line() -> None:
    [row] = lines(parse_sample("mt940-self-provided-sparkassen.sta"))
    assert (row.amount, row.date_posted, row.description, row.line_number) == (
        Decimal("30.00"), date(2018, 11, 26), "Test", 1)


def test_postfinance_two_statements_one_account() -> None:
    events = parse_sample("mt940-jejik-postfinance.sta")
    assert [(a.account_ref, a.currency) for a in accounts(events)] == [("123456789", "CHF")] * 2
    assert [r.line_number for r in lines(events)] == [5, 9, 19, 24]


# --- hand-made -------------------------------------------------------------------------------

STATEMENT = """:20:REF1
:25:DE89370400440532013000
:28C:1/1
:60F:C240101EUR100,00
:61:2401020102D12,50NTRFNONREF//B1
:86:166?00UEBERWEISUNG?20SVWZ+Miete Januar?32Hausverwaltung
:61:2401030103C1000,NTRFE2E1//B2
:86:Salary
:62F:C240103EUR1087,50
-
"""


def test_hand_made_statement() -> None:
    events = parse(STATEMENT)
    assert events[0] == StatementAccount("DE89370400440532013000", "EUR", None, 1)
    one, two = lines(events)
    assert (one.amount, one.description, one.counterparty_name, one.bank_transaction_id, one.line_number) == (
        Decimal("-12.50"), "Miete Januar", "Hausverwaltung", "B1", 5)
    assert (two.amount, two.description, two.reference, two.currency) == (Decimal("1000"), "Salary", "E2E1", "EUR")


@pytest.mark.parametrize(("written", "shown"), [
    ("D1E1NTRF", "1E1"), ("D1,25e1NTRF", "1,25e1"), ("D125E-1//B1", "125E-1")])
def test_an_amount_with_an_exponent_is_rejected_not_read_as_its_digits(written: str, shown: str) -> None:
    """SWIFT amounts are digits and a decimal comma: the pattern would read `1E1NTRF` as 1 of type `E1NT`."""
    data = STATEMENT.replace("D12,50NTRFNONREF//B1", written + ("NONREF//B1" if "//" not in written else ""))
    events = parse(data)
    [error] = errors(events)
    assert (error.code, error.line_number, error.target) == ("InvalidAmount", 5, ":61:")
    assert shown in error.message
    assert [r.amount for r in lines(events)] == [Decimal("1000")]


def test_a_customer_reference_after_an_amount_without_a_type_is_no_exponent_but_the_line_lacks_its_type() -> None:
    events = parse(STATEMENT.replace("D12,50NTRFNONREF//B1", "D12,50E2E1//B1"))
    [error] = errors(events)
    assert (error.code, error.line_number, error.target) == ("InvalidLine", 5, ":61:")
    assert "not by a transaction type" in error.message and "1E2" not in error.message
    assert [r.amount for r in lines(events)] == [Decimal("1000")]


@pytest.mark.parametrize(("written", "read_as"), [
    ("D14x,48N426NONREF", "14"), ("D1x4,48NTRF", "1"), ("D14.48NTRF", "14"), ("D14,4 8NTRF", "14,4")])
def test_a_damaged_amount_is_rejected_not_read_as_its_first_digits(written: str, read_as: str) -> None:
    """The library reads `D14x,48N426NONREF` as 14 with the customer reference `x,48N426NONREF`: SWIFT puts the
    transaction type (N, F or S and three letters or digits) right after the amount, so what stands there instead
    means the amount is damaged, and the line is rejected where it would have booked 14.00 for 141.48."""
    events = parse(STATEMENT.replace("D12,50NTRFNONREF//B1", written))
    [error] = errors(events)
    assert (error.code, error.line_number, error.target) == ("InvalidAmount", 5, ":61:")
    assert f"{read_as!r}" in error.message
    assert [r.amount for r in lines(events)] == [Decimal("1000")]


@pytest.mark.parametrize(("written", "read_as"), [
    ("D1250NTRF", "1250"), ("D,50NTRF", ",50"), ("D,NTRF", ","), ("D12,,50NTRF", "12,,50"), ("D12,4x8N426", "12,4")])
def test_an_amount_without_its_comma_or_whole_part_or_with_junk_in_it_is_rejected(written: str, read_as: str) -> None:
    """SWIFT amounts are digits, a decimal comma and its decimals: `D1250NTRF` (the comma lost) read 1250.00 where
    the bank wrote 12,50, and `D,50` read 0.50; a doubled comma, or a letter before the decimals end, damaged too."""
    events = parse(STATEMENT.replace("D12,50NTRFNONREF//B1", written))
    [error] = errors(events)
    assert (error.code, error.line_number, error.target) == ("InvalidAmount", 5, ":61:")
    assert f"{read_as!r}" in error.message
    assert [r.amount for r in lines(events)] == [Decimal("1000")]


@pytest.mark.parametrize("written", ["D12,50NONREF", "D12,50FCHK", "D12,50S103", "D12,50ntrf", "D12,50N 12"])
def test_a_transaction_type_of_n_f_or_s_reads(written: str) -> None:
    events = parse(STATEMENT.replace("D12,50NTRFNONREF//B1", written))
    assert not errors(events)
    assert [r.amount for r in lines(events)] == [Decimal("-12.50"), Decimal("1000")]


@pytest.mark.parametrize("written", ["D12,50MCI0NONREF", "D12,50MSCA", "D12,50EXCH//B1", "D12,50ABC1"])
def test_a_transaction_type_of_two_capital_letters_reads(written: str) -> None:
    events = parse(STATEMENT.replace("D12,50NTRFNONREF//B1", written))
    assert not errors(events)
    assert [r.amount for r in lines(events)] == [Decimal("-12.50"), Decimal("1000")]


@pytest.mark.parametrize("written", ["D12,50 NTRFNONREF//B1", "D12,50  NRTIKREF+//B1", "D12,50 MCI0//B1"])
def test_a_transaction_type_after_spaces_reads(written: str) -> None:
    """qa46a F4: Commerzbank and Deutsche Bank (jejik-mt940's fixtures) write `D12,35 NRTIKREF+//...`; the line was
    rejected and, being the only one, the import ended error. Digits after the space stay a damaged amount."""
    events = parse(STATEMENT.replace("D12,50NTRFNONREF//B1", written))
    assert not errors(events)
    assert [(r.amount, r.bank_transaction_id) for r in lines(events)][0] == (Decimal("-12.50"), "B1")


def test_an_amount_followed_by_the_bank_reference_reads_without_a_type() -> None:
    """qa46a F5: php-mt940's Zetb sample writes `:61:2011301130CN220000,00//19239782213`: no type, the bank
    reference right after the amount, which ends there; its 8 lines, which the statement's balances confirm, were
    rejected and the import ended error."""
    events = parse(STATEMENT.replace("D12,50NTRFNONREF//B1", "DN12,50//B1"))
    assert not errors(events)
    assert [(r.amount, r.bank_transaction_id) for r in lines(events)][0] == (Decimal("-12.50"), "B1")


@pytest.mark.parametrize(("written", "code", "read_as"), [
    ("D12,50 8NTRF//B1", "InvalidAmount", "12,50"),  # digits after the space: the amount may go on
    ("D12,50 xyz//B1", "InvalidLine", "12,50"),
    ("D12,50E2E1//B1", "InvalidLine", "12,50"),  # an exponent's `E2`, not a type (as above)
    ("D12,4X8N426", "InvalidAmount", "12,4"),  # a capital and a digit: the rest of a damaged amount
    ("D12,50mci0NONREF", "InvalidLine", "12,50"),  # lower case: N, F or S only
    ("D12,50Mci0NONREF", "InvalidLine", "12,50"),
])
def test_a_capital_letter_not_followed_by_a_capital_is_no_transaction_type(written: str, code: str,
                                                                          read_as: str) -> None:
    events = parse(STATEMENT.replace("D12,50NTRFNONREF//B1", written))
    [error] = errors(events)
    assert (error.code, error.line_number, error.target) == (code, 5, ":61:")
    assert f"{read_as!r}" in error.message
    assert [r.amount for r in lines(events)] == [Decimal("1000")]


def test_an_mt942_line_of_type_mci0_reads() -> None:
    """qa42b F5: a real MT942 (the mt-940 library's own test file) writes the type `MCI0`; the line was rejected
    InvalidLine where the library reads -0.42 EUR."""
    data = (":20:CGNGHKLI0290980\n:25:GJB0291077111\n:28C:03917/00001\n:34F:EURD0,00\n:34F:EURC0,00\n"
            ":13D:1610301730+0000\n:61:1610301031D0,42MCI0NONREF//055001022000001\nYAY MT942 CHG\n"
            ":86:REMIT:Costs to MT940 Parsing. \nThis is Somuchfun.\n:90D:1EUR2,30\n")
    events = parse(data)
    assert not errors(events)
    [line] = lines(events)
    assert (line.amount, line.currency, line.date_posted, line.value_date, line.bank_transaction_id) == (
        Decimal("-0.42"), "EUR", date(2016, 10, 31), date(2016, 10, 30), "055001022000001")


def test_a_broken_line_is_rejected_alone() -> None:
    data = STATEMENT.replace(":61:2401020102D12,50NTRFNONREF//B1", ":61:24XX0102D12,50NTRFNONREF//B1")
    events = parse(data)
    [error] = errors(events)
    assert (error.code, error.line_number, error.target) == ("InvalidLine", 5, ":61:")
    assert error.actual_value.startswith(":61:24XX")
    assert [r.amount for r in lines(events)] == [Decimal("1000")]


def test_several_statements_several_accounts() -> None:
    second = STATEMENT.replace("DE89370400440532013000", "NL91ABNA0417164300").replace(":20:REF1", ":20:REF2")
    events = parse(STATEMENT + second)
    assert [a.account_ref for a in accounts(events)] == ["DE89370400440532013000", "NL91ABNA0417164300"]
    assert [r.account_ref for r in lines(events)][2:] == ["NL91ABNA0417164300"] * 2
    assert [r.line_number for r in lines(events)] == [5, 7, 15, 17]


@pytest.mark.parametrize("before", ["\x1a", "\x1a\x1a", " \x1a", "\x1a{4:"], ids=repr)
def test_a_dos_end_of_file_mark_before_a_messages_20_still_opens_it(before: str) -> None:
    """qa46a F1: DOS-era exports (zilverline's Rabobank 940A fixture) leave a 0x1A between the downloads they were
    concatenated from, right before the next `:20:`; the second message was read into the first statement, its
    line booked on the first account and its closing taken as the first statement's."""
    second = STATEMENT.replace("DE89370400440532013000", "NL91ABNA0417164300").replace(":20:REF1", ":20:REF2")
    events = parse(STATEMENT + before + second + "\x1a")
    assert [a.account_ref for a in accounts(events)] == ["DE89370400440532013000", "NL91ABNA0417164300"]
    assert [r.account_ref for r in lines(events)] == ["DE89370400440532013000"] * 2 + ["NL91ABNA0417164300"] * 2
    assert [r.line_number for r in lines(events)] == [5, 7, 15, 17]
    assert not errors(events)


def test_swift_envelope() -> None:
    data = "{1:F01ABNANL2AXXXX0000000000}{2:O940ABNANL2AXXXXN}{4:\n" + STATEMENT.replace("-\n", "-}\n")
    assert len(lines(parse(data))) == 2


def test_cp1252_bytes() -> None:
    data = STATEMENT.replace("Salary", "Gehalt M\u00fcller").encode("cp1252")
    assert lines(parse(data))[1].description == "Gehalt M\u00fcller"


def test_cp852_bytes_are_read_as_cp852() -> None:
    """qa42b: a Hungarian Raiffeisen MT940 in cp852 was staged as cp1252, `napi ”sszevont ut nv‚t`."""
    details = ["Csoportos átutalás jóváírása", "UV, napi összevont utánvét, 2018.04.17"]
    data = STATEMENT.replace("Salary", details[1]).replace(
        "166?00UEBERWEISUNG?20SVWZ+Miete Januar?32Hausverwaltung", details[0]).encode("cp852")
    assert [line.description for line in lines(parse(data))] == details


def test_mt942_interim_report() -> None:
    data = """:20:MT942REF
:25:DE89370400440532013000
:28C:1/1
:34F:EURD0,
:13D:2401031200+0100
:61:2401030103D5,00NMSCNONREF
:86:Card payment
:90D:1EUR5,00
:90C:0EUR0,
-
"""
    [account, note, row] = parse(data)
    assert account.account_ref == "DE89370400440532013000"
    assert (note.code, note.severity) == ("InterimReport", "info")  # the import says interim report
    assert (row.amount, row.description, row.currency) == (Decimal("-5.00"), "Card payment", "EUR")


@pytest.mark.parametrize("data", [b"", b"hello\nworld\n", b"date,amount\n2024-01-01,5\n", b"<OFX></OFX>"])
def test_not_mt940_is_a_file_error(data: bytes) -> None:
    with pytest.raises(FileError) as info:
        parse(data)
    assert info.value.code == "InvalidSourceData"


# --- files cut short ---------------------------------------------------------------------------------

def truncations(data: bytes | str) -> list[tuple[str, str, int | None]]:
    return [(e.code, e.severity, e.line_number) for e in parse(data)
            if isinstance(e, FileNote) and e.code == "FileTruncated"]  # (a missing balance is BalanceMissing's)


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.sta")))
def test_no_sample_is_taken_for_a_cut_file(name: str) -> None:
    """Among them a file of opening balances only (`amount_formats`), one without any balance or end line
    (`sparkassen`) and one whose statements end with their closing balance and no `-` (`rabobank`)."""
    assert not [e for e in parse_sample(name) if isinstance(e, FileNote) and e.code == "FileTruncated"]


@pytest.mark.parametrize(("cut_at", "last_line"), [
    (":62F:", 8),  # before the closing balance
    ("NTRFE2E1//B2", 7),  # inside the last :61:
    (":86:Salary", 7),
])
def test_a_statement_cut_short_warns_at_the_files_last_line(cut_at: str, last_line: int) -> None:
    cut = STATEMENT[:STATEMENT.index(cut_at)]
    assert truncations(cut) == [("FileTruncated", "warning", last_line)]
    assert lines(parse(cut))  # the lines before the cut are read as ever


def test_a_later_statement_cut_before_its_balances_warns_where_earlier_ones_are_whole() -> None:
    second = STATEMENT.replace(":20:REF1", ":20:REF2")
    assert truncations(STATEMENT + second[:second.index(":60F:")]) == [("FileTruncated", "warning", 13)]
    assert truncations(STATEMENT.replace("\n-\n", "\n") + second[:second.index(":60F:")]) == [
        ("FileTruncated", "warning", 12)]  # (the statements before were closed, not ended)


@pytest.mark.parametrize("whole", [
    STATEMENT,
    STATEMENT.replace("\n-\n", "\n"),  # no end line, but the closing balance
    STATEMENT.replace(":62F:C240103EUR1087,50\n", ""),  # no closing balance, but the end line
    ":60F:C240101EUR100,00\n:60F:C240101EUR5,\n",  # balances only, no statement
    STATEMENT.replace(":60F:C240101EUR100,00\n", "").replace(":62F:C240103EUR1087,50\n-\n", ""),  # no balance
])
def test_a_whole_file_without_every_mark_is_no_cut_file(whole: str) -> None:
    assert truncations(whole) == []


def test_a_swift_text_block_never_closed_is_a_cut_file() -> None:
    envelope = "{1:F01ABNANL2AXXXX0000000000}{2:O940ABNANL2AXXXXN}{4:\n"
    framed = envelope + STATEMENT.replace("\n-\n", "\n-}\n")
    assert truncations(framed + framed) == []
    assert truncations(framed + framed[:-4]) == [("FileTruncated", "warning", 21)]  # (its closing balance read)
    assert truncations(framed + envelope) == [("FileTruncated", "warning", 12)]


ING_NL = """:20:P140220000000001
:25:NL69INGB0123456789EUR
:28C:00000
:60F:C240226EUR662,23
:61:2402270227C1,56NTRFEREF//00000000001005
/TRCD/00100/
:86:/EREF/EV12341REP1231456T1234//CNTP/NL32INGB0000012345/INGBNL2
A/ING BANK NV INZAKE WEB///REMI/USTD//EV10001REP1000000T1000/
:61:2402290229D1000,00NDDTEREF//00000000001007
/TRCD/01016/
:86:/EREF/SEPA-DD-2024-0229//MARF/MNDT-0001//CSID/NL98ZZZ999999990000
//CNTP/NL86INGB0002445588/INGBNL2A/Belastingdienst///REMI/USTD//Aan
slag 2023 termijn 2/
:61:2402290229C1500,00NTRFNONREF
:86:/EREF/INV-2024-001//CNTP/NL91ABNA0417164300/ABNANL2A/Klant BV///REMI/STRD/CUR/RF18539007547034/
:62F:C240229EUR1163,79
-
"""


def test_ing_netherlands_structured_details_give_counterparty_reference_and_text() -> None:
    """ING NL's `:86:` (`/EREF/...//CNTP/account/BIC/name/city//REMI/USTD//text/`, wrapped at 65 characters with
    the tag): the counterparty's name and account from CNTP, the end-to-end reference, and the remittance text
    without its kind (it read CNTP into the reference and kept `USTD//` in every description)."""
    found = [(ln.description, ln.reference, ln.counterparty_name, ln.counterparty_account)
             for ln in lines(parse(ING_NL))]
    assert found == [
        ("EV10001REP1000000T1000", "EV12341REP1231456T1234", "ING BANK NV INZAKE WEB", "NL32INGB0000012345"),
        ("Aanslag 2023 termijn 2", "SEPA-DD-2024-0229", "Belastingdienst", "NL86INGB0002445588"),
        ("RF18539007547034", "INV-2024-001", "Klant BV", "NL91ABNA0417164300")]


@pytest.mark.parametrize(("written", "tag"), [
    (":60F:C240101EUR100,0x", ":60F:"), (":62F:C240103EUR108750", ":62F:"), (":62F:C240103EUR1E3", ":62F:"),
    (":60F:C240101EUR,50", ":60F:"),
    # finer than its currency, with no mark or a second comma: the last two made the :61: before the :62F: a
    # rejected line, the first two were read as written without a word (a day that does not exist: below)
    (":62F:C240103EUR1087,505", ":62F:"), (":60F:C240101EUR100,001", ":60F:"),
    (":62F:X240103EUR1087,50", ":62F:"), (":62F:C240103EUR1,087,50", ":62F:")])
def test_a_balance_that_does_not_read_is_left_out_with_a_warning_at_its_line(written: str, tag: str) -> None:
    """`:60F:C110522EUR3236,2x` read as 3236.20 and `:62F:...96500` (its comma lost) as 96500.00, the statement
    checked against numbers the bank never stated; now such a balance is left out, and a warning names it."""
    original = ":60F:C240101EUR100,00" if tag == ":60F:" else ":62F:C240103EUR1087,50"
    events = parse(STATEMENT.replace(original, written))
    [stated] = [e for e in events if isinstance(e, StatementBalances)]
    other = stated.closing if tag == ":60F:" else stated.opening
    assert (stated.opening if tag == ":60F:" else stated.closing) is None and other is not None
    [note] = [e for e in events if isinstance(e, FileNote)]
    line = STATEMENT.splitlines().index(original) + 1
    assert (note.code, note.severity, note.line_number, note.actual_value) == (
        "BalanceUnreadable", "warning", line, written)
    assert [r.amount for r in lines(events)] == [Decimal("-12.50"), Decimal("1000")]


def test_balances_that_read_give_no_warning() -> None:
    assert not [e for e in parse(STATEMENT.replace("EUR100,00", "EUR100,")) if isinstance(e, FileNote)]
    kuwaiti = parse(STATEMENT.replace("EUR", "KWD").replace("1087,50", "1087,505"))  # (three decimals)
    assert not [e for e in kuwaiti if isinstance(e, FileNote)]
    assert [e.closing.amount for e in kuwaiti if isinstance(e, StatementBalances)] == [Decimal("1087.505")]
    for name in sorted(p.name for p in SAMPLES.glob("*.sta")):
        assert not [e.message for e in parse_sample(name) if isinstance(e, FileNote) and e.code == "BalanceUnreadable"]


@pytest.mark.parametrize("recode", [
    lambda text: text.encode("utf-16"), lambda text: text.encode("utf-16-le"), lambda text: text.encode("utf-16-be"),
    lambda text: text.replace("\n", "\r").encode(), lambda text: text.replace("\n", "\r\n").encode("utf-16")],
    ids=["utf-16 with BOM", "utf-16-le", "utf-16-be", "CR line ends", "utf-16 CRLF"])
def test_a_statement_in_utf_16_or_with_cr_line_ends_reads_as_in_utf_8(recode) -> None:
    """Such a file was an error 'the file holds no MT940/MT942 tag', where README says every reader detects UTF-16."""
    text = (SAMPLES / "mt940-jejik-rabobank-iban.sta").read_bytes().decode("utf-8").replace("\r\n", "\n")
    assert parse(recode(text)) == parse(text.encode())
    assert len(lines(parse(recode(text)))) > 0


# --- balances that do not read or are missing (qa41a F4, F5) -------------------------------------------

RABOBANK = "mt940-jejik-rabobank-iban.sta"


def rabobank() -> str:
    return (SAMPLES / RABOBANK).read_text()


@pytest.mark.parametrize(("original", "written"), [
    (":62F:C130108EUR000000000965,00", ":62F:C130108EUR000000000965,005"),  # finer than the currency
    (":60F:C130101EUR000000001000,00", ":60F:C130101EUR000000001000,005"),
    (":62F:C130115EUR000000000930,00", ":62F:C130115EUR000000000930,005"),
    (":62F:C130108EUR000000000965,00", ":62F:C131308EUR000000000965,00"),  # on a day that does not exist
    (":62F:C130108EUR000000000965,00", ":62F:C130132EUR000000000965,00"),
    (":62F:C130108EUR000000000965,00", ":62F:C130230EUR000000000965,00"),
    (":60F:C130101EUR000000001000,00", ":60F:C130132EUR000000001000,00"),
    (":60F:C130101EUR000000001000,00", ":60F:C131301EUR000000001000,00"),
    (":60F:C130101EUR000000001000,00", ":60F:C130230EUR000000001000,00"),
])
def test_a_balance_finer_than_its_currency_or_on_a_day_that_does_not_exist_is_named_at_its_line(
        original: str, written: str) -> None:
    """Such a balance was read with no word (`965,005` EUR; `:60F:` on `130132` with no day), or its impossible
    date rejected the intact `:61:` line before it (InvalidLine 'not a date: 13-13-08' at line 10). One finer than
    its currency is left out (BalanceUnreadable); one on a day that does not exist keeps its amount without a day
    (StatementDateUnreadable), as in camt and OFX, so the statement is still checked and kept in the history."""
    text = rabobank()
    whole = parse(text)
    events = parse(text.replace(original, written, 1))
    line = text.splitlines().index(original) + 1
    finer = written.endswith(",005")
    [note] = [e for e in events if isinstance(e, FileNote)]
    assert (note.code, note.severity, note.line_number, note.actual_value) == (
        "BalanceUnreadable" if finer else "StatementDateUnreadable", "warning", line, written)
    assert (written if finer else f"date {written[6:12]} of the {written[:5]}") in note.message
    assert not errors(events)
    assert lines(events) == lines(whole)  # every :61: line staged as from the untouched file
    expected = [e for e in whole if isinstance(e, StatementBalances)]
    which = expected[0 if line < expected[1].line_number else 1]
    side = "opening" if original.startswith(":60F:") else "closing"
    setattr(which, side, None if finer else Balance(getattr(which, side).amount, None))
    assert [e for e in events if isinstance(e, StatementBalances)] == expected


def test_an_available_balance_on_a_day_that_does_not_exist_keeps_its_amount() -> None:
    text = STATEMENT.replace("\n-\n", "\n:64:C240132EUR1087,50\n-\n")
    events = parse(text)
    [note] = [e for e in events if isinstance(e, FileNote)]
    assert (note.code, note.line_number, note.actual_value) == ("StatementDateUnreadable", 10,
                                                                ":64:C240132EUR1087,50")
    assert not errors(events) and [r.amount for r in lines(events)] == [Decimal("-12.50"), Decimal("1000")]
    [stated] = [e for e in events if isinstance(e, StatementBalances)]
    assert stated.available == Balance(Decimal("1087.50"), None) and stated.closing is not None


def missing(events: list) -> list[tuple[str, str, int | None, str | None]]:
    return [(e.code, e.severity, e.line_number, e.actual_value) for e in events
            if isinstance(e, FileNote) and e.code in ("BalanceMissing", "FileTruncated")]


@pytest.mark.parametrize(("removed", "expected"), [
    (":62F:C130108EUR000000000965,00\n", [("BalanceMissing", "warning", 2, ":20:940S130101")]),
    (":60F:C130101EUR000000001000,00\n", [("BalanceMissing", "warning", 2, ":20:940S130101")]),
    (":60F:C130108EUR000000000965,00\n", [("BalanceMissing", "warning", 14, ":20:940S130101")]),
    # the last statement's closing: the file looks cut there (the statements end with no `-` line)
    (":62F:C130115EUR000000000930,00\n", [("FileTruncated", "warning", 24, None)]),
])
def test_a_statement_without_its_opening_or_closing_balance_is_warned_about_at_its_first_line(
        removed: str, expected: list) -> None:
    """A `:60F:` or `:62F:` removed from a statement mid-file went unnoticed: its checks silently did less."""
    text = rabobank()
    events = parse(text.replace(removed, "", 1))
    assert missing(events) == expected
    assert not errors(events) and len(lines(events)) == 4
    if expected[0][0] == "BalanceMissing":
        [note] = [e for e in events if isinstance(e, FileNote)]
        which = "opening" if removed.startswith(":60") else "closing"
        assert f"states no {which} balance" in note.message


def test_the_last_statement_ended_without_its_closing_balance_is_warned_about_as_the_others() -> None:
    second = STATEMENT.replace(":20:REF1", ":20:REF2").replace(":62F:C240103EUR1087,50\n", "")
    assert missing(parse(STATEMENT + second)) == [("BalanceMissing", "warning", 11, ":20:REF2")]
    first = STATEMENT.replace(":60F:C240101EUR100,00\n", "")
    assert missing(parse(first + STATEMENT.replace(":20:REF1", ":20:REF2"))) == [
        ("BalanceMissing", "warning", 1, ":20:REF1")]


@pytest.mark.parametrize("text", [
    STATEMENT,
    STATEMENT.replace(":60F:C240101EUR100,00\n", "").replace(":62F:C240103EUR1087,50\n", ""),  # lines only
    ":61:2401020102D12,50NTRFNONREF\n:60F:C240101EUR1,00\n",  # no statement (no :20:)
    # MT942 interim reports state no :60F:/:62F: (their :13D: and :34F: tell them)
    ":20:R1\n:25:DE89370400440532013000\n:28C:1\n:34F:EURD0,\n:13D:2401031200+0100\n"
    ":61:2401020102D12,50NTRFNONREF\n:86:x\n:90D:1EUR12,50\n-\n",
    ":20:R1\n:25:DE89370400440532013000\n:28C:1\n:34F:EUR0,\n:13D:2401031200+0100\n:60M:C240101EUR100,00\n"
    ":61:2401020102D12,50NTRFNONREF\n-\n",
])
def test_a_statement_with_both_balances_or_neither_and_an_interim_report_get_no_balance_warning(text: str) -> None:
    assert missing(parse(text + text)) == []


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.sta")))
def test_no_sample_is_warned_about_its_balances(name: str) -> None:
    assert not [e for e in parse_sample(name) if isinstance(e, FileNote)
                and e.code in ("BalanceMissing", "BalanceUnreadable")]


def test_a_last_closing_balance_without_its_currency_is_unreadable_not_a_cut() -> None:
    """qa42b F8 (a public fixture, raphaelm.sta): its last statement ends `:62F:C02032495000,00`, with no currency
    and no `-` line. Besides BalanceUnreadable it got FileTruncated, saying the statement had no closing balance."""
    text = STATEMENT.replace(":62F:C240103EUR1087,50\n-\n", ":62F:C2401031087,50\n")
    notes = [(e.code, e.line_number) for e in parse(text) if isinstance(e, FileNote)]
    assert notes == [("BalanceUnreadable", 9)]
    cut = STATEMENT.replace(":62F:C240103EUR1087,50\n-\n", ":62F:C2401\n")  # a cut inside the tag still is one
    assert [e.code for e in parse(cut) if isinstance(e, FileNote)] == ["BalanceUnreadable", "FileTruncated"]


def test_a_customer_reference_longer_than_swift_allows_is_read_where_the_line_reads_no_other_way() -> None:
    """qa42b F4: ASN Bank writes the counterparty's IBAN (18 characters) as the `:61:` customer reference, where SWIFT
    and the mt-940 library allow 16, and its details on the next line: 7 of the 8 lines of a real file were
    rejected InvalidLine. A line the capped reference reads is read as before."""
    asn = STATEMENT.replace(":61:2401020102D12,50NTRFNONREF//B1",
                            ":61:2401020102D12,50NOVBNL47INGB9999999999\nhr gjlm paulissen")
    events = parse(asn)
    assert not errors(events)
    assert [r.amount for r in lines(events)] == [Decimal("-12.50"), Decimal("1000")]
    assert lines(events)[0].reference == "NL47INGB9999999999"
    one_line = STATEMENT.replace("NTRFNONREF//B1", "NTRFNONREF123456789012345//B1")  # the capped reading holds
    assert lines(parse(one_line))[0].reference == "NONREF1234567890"
