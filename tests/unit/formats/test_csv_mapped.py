"""CSV#mapped#v1: bank exports read through a column mapping."""

from datetime import date
from decimal import Decimal

import pytest

from tximport.formats.base import (
    AMBIGUOUS_DATE_STYLE,
    INVALID_AMOUNT,
    INVALID_DATE,
    INVALID_LINE,
    FileError,
    StatementAccount,
)
from tximport.formats.csv_mapped import (
    INVALID_MAPPING,
    TEMPLATE_MAPPING,
    CsvMapping,
    parse_csv_mapped,
    sniff_delimiter,
)
from tximport.formats.registry import FORMATS
from tximport.models import DateStyle

from .helpers import errors, lines, run, total

GERMAN = (
    "Kontoauszug Girokonto;;;;\n"
    "Zeitraum: 01.12.2024 - 31.12.2024;;;;\n"
    "\n"
    "Buchungstag;Valuta;Empfänger;Verwendungszweck;Betrag (EUR)\n"
    "31.12.2024;02.01.2025;Müller GmbH;Überweisung Rechnung 4711;-1.234,56\n"
    "15.12.2024;15.12.2024;Bäckerei Groß;Kartenzahlung;-4,20\n"
    "01.12.2024;01.12.2024;Arbeitgeber AG;Gehalt Dezember;1.000\n"
    "01.12.2024;01.12.2024;Zinsen;Habenzinsen;+0,35\n"
    "Saldo;;;;-238,41\n"
).encode("cp1252")

GERMAN_MAPPING = {
    "columns": {"date": "Buchungstag", "valueDate": "valuta", "counterpartyName": "Empfänger",
                "description": ["Empfänger", "Verwendungszweck"], "amount": "Betrag (EUR)"},
    "skipFooterRows": 1,
    "currency": "EUR",
}


def test_german_export_cp1252_semicolons_preamble_and_comma_decimals() -> None:
    events = run(parse_csv_mapped, GERMAN, mapping=GERMAN_MAPPING)
    assert not errors(events)
    parsed = lines(events)
    assert [line.line_number for line in parsed] == [5, 6, 7, 8]
    assert [line.amount for line in parsed] == [Decimal("-1234.56"), Decimal("-4.20"), Decimal("1000"),
                                                Decimal("0.35")]
    first = parsed[0]
    assert first.date_posted == date(2024, 12, 31) and first.value_date == date(2025, 1, 2)
    assert first.description == "Müller GmbH Überweisung Rechnung 4711"
    assert first.counterparty_name == "Müller GmbH" and first.currency == "EUR"


def test_footer_rows_are_reported_when_not_skipped() -> None:
    mapping = {**GERMAN_MAPPING, "skipFooterRows": 0}
    events = run(parse_csv_mapped, GERMAN, mapping=mapping)
    [footer] = errors(events)
    assert (footer.line_number, footer.code, footer.target, footer.actual_value) == (
        9, INVALID_DATE, "Buchungstag", "Saldo")


def test_one_thousand_in_a_comma_decimal_file_is_one_thousand() -> None:
    data = b"Date;Text;Amount\n01.02.2024;a;1.000\n02.02.2024;b;12,50\n03.02.2024;c;2.000\n"
    parsed = lines(run(parse_csv_mapped, data, mapping={
        "columns": {"date": "Date", "description": "Text", "amount": "Amount"}, "dateStyle": "littleEndian"}))
    assert [line.amount for line in parsed] == [Decimal("1000"), Decimal("12.50"), Decimal("2000")]


def test_decimal_separator_given_wins_over_inference() -> None:
    data = b"Date,Text,Amount\n2024-01-01,a,\"1,000\"\n"
    mapping = {"columns": {"date": "Date", "amount": "Amount"}}
    assert lines(run(parse_csv_mapped, data, mapping=mapping))[0].amount == Decimal("1000")
    mapping["decimalSeparator"] = ","
    assert lines(run(parse_csv_mapped, data, mapping=mapping))[0].amount == Decimal("1.000")


def test_debit_and_credit_columns() -> None:
    data = (b"Date,Text,Debit,Credit\n2024-01-01,in,,100.00\n2024-01-02,out,25.00,\n2024-01-03,both,5.00,7.00\n"
            b"2024-01-04,zero,0.00,7.00\n")
    events = run(parse_csv_mapped, data, mapping={
        "columns": {"date": "Date", "description": "Text", "debit": "Debit", "credit": "Credit"}})
    assert [line.amount for line in lines(events)] == [Decimal("100.00"), Decimal("-25.00"), Decimal("7.00")]
    # both given: two movements on one line, or a broken row; netting them (2.00) would be a guess
    [both] = errors(events)
    assert (both.line_number, both.code) == (4, INVALID_AMOUNT) and "5.00" in both.message


def test_amount_with_indicator_and_custom_values() -> None:
    data = b"Date|Amount|Dir\n2024-01-01|12.00|S\n2024-01-02|5.00|H\n2024-01-03|1.00|X\n2024-01-04|-2.00|\n"
    events = run(parse_csv_mapped, data, mapping={
        "columns": {"date": "Date", "amount": "Amount", "indicator": "Dir"},
        "indicatorValues": {"credit": ["h"], "debit": ["s"]}})
    assert [line.amount for line in lines(events)] == [Decimal("-12.00"), Decimal("5.00"), Decimal("-2.00")]
    [bad] = errors(events)
    assert (bad.line_number, bad.code, bad.target, bad.actual_value) == (4, INVALID_AMOUNT, "Dir", "X")


def test_a_row_wider_than_its_header_is_rejected_and_empty_cells_past_it_are_read() -> None:
    data = (b"Date,Description,Amount\n2024-01-02,Coffee,-3.50\n2024-01-04,Rent,-1,234.50\n"
            b"2024-01-05,Lunch,-9.00,\n")
    events = run(parse_csv_mapped, data, mapping={
        "columns": {"date": "Date", "description": "Description", "amount": "Amount"}})
    [error] = errors(events)
    assert (error.line_number, error.code, error.actual_value, error.target) == (
        3, INVALID_LINE, "2024-01-04,Rent,-1,234.50", "line 3")
    assert "at most 3 columns (the header has 3), found 4" in error.message
    assert [(line.line_number, line.amount) for line in lines(events)] == [(2, Decimal("-3.50")),
                                                                            (4, Decimal("-9.00"))]
    # columns by index with no header: nothing says how wide a row is, every cell past the mapped ones is read
    data = b"2024-01-02,Coffee,-3.50,REF1,kept\n"
    assert lines(run(parse_csv_mapped, data, mapping={"columns": {"date": 0, "description": 1, "amount": 2},
                                                      "header": False}))[0].amount == Decimal("-3.50")


PREAMBLE = (b"Bank code : 1001,Agency : 1,,\n,,,\nDate,Description,Amount\n2024-01-02,Coffee,-3.50\n"
            b"2024-01-03,Salary,2500.00\nClosing balance,,2496.50\n")


@pytest.mark.parametrize("skips", [{"skipRows": 2}, {"skipFooterRows": 1}, {"skipRows": 2, "skipFooterRows": 1},
                                   {"skipRows": 1, "skipFooterRows": 1}, {"skipRows": 1}])
def test_skip_rows_counts_every_preamble_row_with_or_without_footer_rows(skips: dict[str, int]) -> None:
    """`skipRows` counts the blank `,,,` row of a preamble whether or not `skipFooterRows` is set."""
    mapping = {"columns": {"date": "Date", "description": "Description", "amount": "Amount"}, **skips}
    events = run(parse_csv_mapped, PREAMBLE, mapping=mapping)
    assert [(line.line_number, line.amount) for line in lines(events)] == [(4, Decimal("-3.50")),
                                                                           (5, Decimal("2500.00"))]
    footer = [(e.line_number, e.code) for e in errors(events)]
    assert footer == ([] if skips.get("skipFooterRows") else [(6, INVALID_DATE)])
    with pytest.raises(FileError) as info:  # skipping the header itself is skipping the header, either way
        run(parse_csv_mapped, PREAMBLE, mapping={**mapping, "skipRows": 3})
    assert info.value.code == INVALID_MAPPING


def test_columns_by_index_skip_rows_and_no_header() -> None:
    data = b"exported 2024\n2024-01-01\tx\t1.5\tREF1\n2024-01-02\ty\t-2\tREF2\n"
    parsed = lines(run(parse_csv_mapped, data, mapping={
        "columns": {"date": 0, "description": 1, "amount": 2, "bankTransactionId": 3},
        "skipRows": 1, "header": False}))
    assert [(line.line_number, line.bank_transaction_id, line.amount) for line in parsed] == [
        (2, "REF1", Decimal("1.5")), (3, "REF2", Decimal("-2"))]


def test_account_column_makes_the_file_multi_account() -> None:
    data = b"acct,date,amount,ccy\nA,2024-01-01,1.00,usd\nB,2024-01-01,2.00,EUR\nA,2024-01-02,3.00,\n"
    events = run(parse_csv_mapped, data, mapping={
        "columns": {"account": "acct", "date": "date", "amount": "amount", "currency": "ccy"},
        "currency": "CHF"})
    accounts = [e for e in events if isinstance(e, StatementAccount)]
    assert [(a.account_ref, a.currency) for a in accounts] == [("A", "USD"), ("B", "EUR")]
    assert [(line.account_ref, line.currency) for line in lines(events)] == [
        ("A", "USD"), ("B", "EUR"), ("A", "CHF")]


def test_optional_values_are_validated() -> None:
    data = b"d,v,a,b\n2024-01-01,2024-01-40,1,2\n2024-01-02,,1,x\n2024-01-03,,1,\n"
    events = run(parse_csv_mapped, data, mapping={
        "columns": {"date": "d", "valueDate": "v", "amount": "a", "balance": "b"}})
    assert [(e.line_number, e.code, e.target) for e in errors(events)] == [
        (2, INVALID_DATE, "v"), (3, INVALID_AMOUNT, "b")]
    [ok] = lines(events)
    assert ok.line_number == 4 and ok.balance is None and ok.value_date is None


def test_ambiguous_dates_raise_file_error_and_date_style_resolves() -> None:
    data = b"Date,Amount\n01/02/2024,1\n03/04/2024,2\n"
    mapping = {"columns": {"date": "Date", "amount": "Amount"}}
    with pytest.raises(FileError) as info:
        run(parse_csv_mapped, data, mapping=mapping)
    assert getattr(info.value, "code", None) == AMBIGUOUS_DATE_STYLE
    assert "littleEndian" in info.value.details["candidates"]
    parsed = lines(run(parse_csv_mapped, data, mapping=mapping, date_style=DateStyle.LITTLE_ENDIAN))
    assert parsed[0].date_posted == date(2024, 2, 1)


def test_header_not_found_and_bad_mappings_are_file_errors() -> None:
    with pytest.raises(FileError) as info:
        run(parse_csv_mapped, b"a,b\n1,2\n", mapping={"columns": {"date": "Date", "amount": "Amount"}})
    assert info.value.code == INVALID_MAPPING  # the mapping does not fit the file
    for mapping in (None, {}, {"columns": {"amount": 1}}, {"columns": {"date": 0}},
                    {"columns": {"date": 0, "amount": 1, "credit": 2, "debit": 3}},
                    {"columns": {"date": 0, "credit": 2}}, {"columns": {"date": -1, "amount": 1}},
                    {"columns": {"date": 0, "amount": 1, "colour": 2}},
                    {"columns": {"date": 0, "amount": 1}, "delimiter": "x"},
                    {"columns": {"date": 0, "amount": 1}, "decimalSeparator": "'"},
                    {"columns": {"date": 0, "amount": 1}, "currency": "euro"},
                    {"columns": {"date": 0, "amount": 1}, "unknown": True}):
        with pytest.raises(FileError) as info:
            run(parse_csv_mapped, b"2024-01-01,1\n", mapping=mapping)
        assert info.value.code == INVALID_MAPPING, mapping


def test_valid_mapping_round_trip() -> None:
    mapping = CsvMapping.from_json({"columns": {"date": "D", "description": ["A", 3], "credit": 1, "debit": 2},
                                    "header": True, "skipRows": 2, "delimiter": ";"})
    assert mapping.columns["description"] == ("A", 3) and mapping.skip_rows == 2 and mapping.header is True


@pytest.mark.parametrize(
    ("sample", "names", "expected"),
    [
        ("a,b,c\n1,2,3\n", [], ","),
        ("a;b;c\n1,5;2;3\n4,5;6;7\n", [], ";"),
        ("a\tb\tc\n1\t2\t3\n", [], "\t"),
        ("a|b|c\n1|2|3\n", [], "|"),
        ("note, with a comma\nDate;Amount\n2024-01-01;1,5\n", ["Date", "Amount"], ";"),
    ],
)
def test_sniff_delimiter(sample: str, names: list[str], expected: str) -> None:
    assert sniff_delimiter(sample, names) == expected


def test_template_and_documented_mapping_agree() -> None:
    fmt = FORMATS["CSV#mapped#v1"]
    assert fmt.template is not None and fmt.options_schema is not None
    assert fmt.options_schema["example"] == TEMPLATE_MAPPING
    events = run(fmt.parser, fmt.template[2].encode(), mapping=TEMPLATE_MAPPING)
    parsed = lines(events)
    assert not errors(events) and len(parsed) == 2
    assert total(events) == Decimal("1550.00")
    assert parsed[1].value_date == date(2024, 2, 2) and parsed[1].bank_transaction_id == "REF-0002"


CARD = (
    b"Datum;Text;Betrag;Status\n"
    b"01.03.2024;KARTE 1234 BAECKEREI;-3,50;Gebucht\n"
    b"02.03.2024;KARTE 1234 HOTEL;-40,00;Pre-Authorisation\n"
    b"02.03.2024;KARTE 1234 TANKSTELLE;-61,20;vorgemerkt\n"
    b"03.03.2024;KARTE 1234 KIOSK;-2,00;\n"
    b"03.03.2024;KARTE 1234 BAR;-9,99;Authorised\n"
    b"04.03.2024;KARTE 1234 KINO;-12,00;Declined\n"
)
CARD_MAPPING = {"columns": {"date": "Datum", "description": "Text", "amount": "Betrag", "status": "Status"},
                "dateStyle": "littleEndian"}


def test_a_status_column_marks_pending_card_lines_by_the_default_values() -> None:
    events = run(parse_csv_mapped, CARD, mapping=CARD_MAPPING)
    assert [(line.line_number, line.pending) for line in lines(events)] == [
        (2, False), (3, True), (4, True), (5, False), (6, True)]
    (error,) = errors(events)
    assert (error.line_number, error.code, error.target, error.actual_value) == (7, "InvalidLine", "Status", "Declined")
    assert "Pre-authorisation" in error.message and "Gebucht" in error.message  # (the values as written)


@pytest.mark.parametrize(("written", "pending"), [
    ("Onhold", True), ("ON-HOLD", True), ("PRE_AUTH", True), ("P.D.N.G.", True), ("nichtgebucht", True),
    ("Umsatzvorgemerkt", True), ("G E B U C H T", False), ("Booked.", False), ("  Booked  ", False),
    ("comptabilise", False), ("COMPTABILISÉ", False), ("Comptabilise\u0301", False)])
def test_status_values_ignore_case_punctuation_and_spacing(written: str, pending: bool) -> None:
    """README: case, accents, punctuation and spacing are ignored (punctuation counted as a space before, so
    `Onhold` and `PRE_AUTH` were rejected)."""
    content = ("Datum;Text;Betrag;Status\n01.03.2024;Karte;-3,50;" + written + "\n").encode()
    events = run(parse_csv_mapped, content, mapping=CARD_MAPPING)
    assert not errors(events) and [line.pending for line in lines(events)] == [pending]


def test_a_pending_line_without_its_booking_date_is_left_out_as_pending_not_rejected() -> None:
    """Revolut writes no Completed Date (the day the bank books) on a PENDING line: it is a pending entry, left out
    and counted like one (unless includePending, where it is rejected, having no day to stage), never a rejected
    line that stops the import for review; a booked line without its date is still rejected."""
    content = (b"Type,Started Date,Completed Date,Description,Amount,Currency,State,Balance\n"
               b"TRANSFER,2022-01-02 12:16:54,2022-01-02 12:16:55,To Guybrush,-250.00,EUR,COMPLETED,442.67\n"
               b"CARD_PAYMENT,2022-01-08 10:00:00,,Coffee,-3.20,EUR,PENDING,\n"
               b"CARD_PAYMENT,2022-01-08 11:00:00,,Lunch,-9.90,EUR,COMPLETED,\n")
    mapping = {"columns": {"date": "Completed Date", "description": "Description", "amount": "Amount",
                           "currency": "Currency", "status": "State", "balance": "Balance"}}
    events = run(parse_csv_mapped, content, mapping=mapping)
    assert [line.line_number for line in lines(events)] == [2]
    assert [(e.line_number, e.code, e.pending) for e in errors(events)] == [
        (3, "RequiredValueMissing", True), (4, "RequiredValueMissing", False)]


def test_status_values_are_configurable_and_replace_the_defaults() -> None:
    mapping = {**CARD_MAPPING, "statusValues": {"pending": ["Declined", "vorgemerkt"], "booked": ["gebucht"]}}
    assert CsvMapping.from_json(mapping).to_json()["statusValues"] == {
        "pending": ["Declined", "vorgemerkt"], "booked": ["gebucht"]}
    events = run(parse_csv_mapped, CARD, mapping=mapping)
    assert [(line.line_number, line.pending) for line in lines(events)] == [
        (2, False), (4, True), (5, False), (7, True)]
    assert [e.actual_value for e in errors(events)] == ["Pre-Authorisation", "Authorised"]


def test_status_values_must_be_lists_of_strings() -> None:
    with pytest.raises(FileError) as caught:
        CsvMapping.from_json({**CARD_MAPPING, "statusValues": {"pending": [1]}})
    assert caught.value.code == INVALID_MAPPING and "'statusValues' lists must hold strings" in caught.value.message
    with pytest.raises(FileError) as caught:
        CsvMapping.from_json({**CARD_MAPPING, "statusValues": {"held": ["x"]}})
    assert "'statusValues' must be an object with 'pending' and 'booked' lists" in caught.value.message


def test_indicator_values_take_only_credit_and_debit() -> None:
    # a misspelt key would otherwise leave the defaults in force and sign every line by them
    with pytest.raises(FileError) as caught:
        CsvMapping.from_json({**CARD_MAPPING, "indicatorValues": {"credits": ["H"], "debit": ["S"]}})
    assert caught.value.code == INVALID_MAPPING
    assert "'indicatorValues' must be an object with 'credit' and 'debit' lists" in caught.value.message


@pytest.mark.parametrize("rows", [2, 3000])
@pytest.mark.parametrize("gap", [b"\n", b",,\n", b"  ,\t,\n"])
@pytest.mark.parametrize("end", [b"", b"\n\n", b",,\n\n"])
def test_skip_footer_rows_counts_the_blank_rows_of_a_footer_not_those_ending_the_file(rows: int, gap: bytes,
                                                                                     end: bytes) -> None:
    """`skipFooterRows: 2` over a blank row (or a row of empty cells) and a closing balance skips those two rows,
    as a reader counts them (it skipped the closing balance and the file's last transaction, silently); blank rows
    ending the file are no footer rows. Whether the rows come in plain blocks or line by line."""
    body = b"".join(b"2024-05-%02d,Line %d,-1.00\n" % (1 + n % 28, n) for n in range(rows - 1))
    data = b"Date,Description,Amount\n" + body + b"2024-05-04,Fuel,-60.00\n" + gap + b"Closing balance,,1193.20\n"
    mapping = {"columns": {"date": "Date", "description": "Description", "amount": "Amount"}, "skipFooterRows": 2}
    events = run(parse_csv_mapped, data + end, mapping=mapping)
    found = lines(events)
    assert len(found) == rows and (found[-1].description, found[-1].line_number) == ("Fuel", rows + 1)
    assert not errors(events)
    one = run(parse_csv_mapped, data + end, mapping={**mapping, "skipFooterRows": 1})
    assert len(lines(one)) == rows and not errors(one)  # the blank row between is a blank row, no line


def test_a_description_quoted_over_several_lines_reads_as_one_line() -> None:
    """A bank export's libellé quoted over three lines (CRLF): one line of text, its line breaks made spaces;
    the line's number is the one it starts on."""
    data = (b"Date;Libelle;Montant\r\n05/03/2024;\"PRLV SEPA EDF\r\nEDF clients particuliers \r\n"
            b"  Ref: 123\";-45,10\r\n06/03/2024;CB CARREFOUR;-12,00\r\n")
    parsed = lines(run(parse_csv_mapped, data, mapping={
        "columns": {"date": "Date", "description": "Libelle", "amount": "Montant"}, "dateStyle": "littleEndian"}))
    assert [(line.line_number, line.description) for line in parsed] == [
        (2, "PRLV SEPA EDF EDF clients particuliers Ref: 123"), (5, "CB CARREFOUR")]


ERSTE_HU = (  # Erste Bank HU (bank2ynab's test data W80844_EBH_201945.202122.csv): every Hungarian bank dates so
    "Tranzakció dátuma,Partner neve,Partner számlaszáma,Számla neve,Számlaszám,Tranzakció típusa,Tranzakció összege,"
    "Tranzakció devizaneme,Bevétel/Kiadás,Kártyaszám,Értéknap,Közlemény,Megbízás azonosító,Részletek,Egyenleg,"
    "Devizanem\n"
    "2019.04.19.,memo goes here,payee account,name of account,bank account,transaction t...,-350,HUF,outflow,"
    "card number,2019.04.19.,,,payee,2345.56,HUF\n"
    "2019.04.17.,memo goes here,payee account,name of account,bank account,transaction t...,1290,HUF,inflow,"
    "card number,2019.04.18.,,,payee,1055.56,HUF\n"
).encode()


def test_hungarian_dates_year_first_with_a_dot_after_the_day_read_in_any_style() -> None:
    """qa47a 1: `2019.04.19.` (year, month, day, each followed by a dot) rejected every line InvalidDate, and detect
    found no table in the file for want of a date column."""
    mapping = {"columns": {"date": "Tranzakció dátuma", "valueDate": "Értéknap", "amount": "Tranzakció összege",
                           "currency": "Tranzakció devizaneme", "balance": "Egyenleg"}}
    for style in (None, "bigEndian", "littleEndian"):
        events = run(parse_csv_mapped, ERSTE_HU, mapping={**mapping, "dateStyle": style} if style else mapping)
        assert not errors(events)
        assert [(line.date_posted, line.value_date, line.amount) for line in lines(events)] == [
            (date(2019, 4, 19), date(2019, 4, 19), Decimal("-350")),
            (date(2019, 4, 17), date(2019, 4, 18), Decimal("1290"))]
    from tximport.formats.detect import detect

    found = detect(ERSTE_HU, "W80844_EBH_201945.202122.csv")
    assert found.csv is not None and found.csv.has_header and found.csv.columns[0].role == "date"


DANSKE_LT = (  # Danske LT (kedder/ofxstatement-lithuanian's samples/danske.csv, cp1257), its text cells shortened
    "Date,Bank,Branch,Address,City,Country,Name,Memo,MemoConv,MemoDet,Amount,\n"
    '2012:03:01,,"",",Vilnius08500,LT","Paslaugų ir komisinių pajamos","Mokestis",,"Mokėjimo operacija",-7.8,\n'
    '2012:03:06,,"",",,","","Mokestis už lėšų",,"Mokėjimo operacija",-.46,\n'
).encode("cp1257")


def test_danske_lt_dates_year_first_with_colons_read() -> None:
    """qa47a 2: `2012:03:01` rejected every line InvalidDate, and the cp1257 text read as cp1252 (`Paslaugø`). (The
    rows are one cell shorter than the header: the columns are mapped by index.)"""
    mapping = {"columns": {"date": 0, "description": [4, 5], "amount": 8}, "header": True}
    events = run(parse_csv_mapped, DANSKE_LT, mapping=mapping)
    assert not errors(events)
    assert [(line.date_posted, line.amount, line.description) for line in lines(events)] == [
        (date(2012, 3, 1), Decimal("-7.8"), "Paslaugų ir komisinių pajamos Mokestis"),
        (date(2012, 3, 6), Decimal("-0.46"), "Mokestis už lėšų")]


WOOLWORTHS = (  # Woolworths Money AU (shenki/ofxstatement-woolworthsmoney's sample), a booked and a pending line
    b"Date,Status,Description,Credit,Debit\n"
    b"01 Jan 01,Processed,Edmund Barton                        ,,10.99,\n"
    b"Pending,Pending,COLES EXPRESS 0000       SYDNEY       000,,45.63,\n"
)
WOOLWORTHS_MAPPING = {"columns": {"date": "Date", "status": "Status", "description": "Description",
                                  "credit": "Credit", "debit": "Debit"},
                      "statusValues": {"booked": ["Processed"], "pending": ["Pending"]}}


def test_a_pending_line_whose_date_cell_holds_a_word_is_left_out_as_pending_not_rejected() -> None:
    """qa47a 6: Woolworths Money and John Lewis write `Pending` in the date cell of a pending line: it was rejected
    InvalidDate although its status says pending. It is a pending entry, left out and counted (with includePending it
    stays rejected, having no day to stage); a booked line whose date does not read is still rejected."""
    events = run(parse_csv_mapped, WOOLWORTHS, mapping=WOOLWORTHS_MAPPING)
    assert [(line.date_posted, line.amount) for line in lines(events)] == [(date(2001, 1, 1), Decimal("-10.99"))]
    assert [(e.line_number, e.code, e.actual_value, e.pending) for e in errors(events)] == [
        (3, INVALID_DATE, "Pending", True)]
    booked = WOOLWORTHS.replace(b"Pending,Pending", b"Pending,Processed")
    assert [(e.line_number, e.code, e.pending) for e in errors(run(parse_csv_mapped, booked,
                                                                   mapping=WOOLWORTHS_MAPPING))] == [
        (3, INVALID_DATE, False)]


LIVEBANK = (  # Livebank AT (nblock/ofxstatement-austrian's samples/livebank.csv): rows add quoted text cells
    b"Kontonummer;Auszugsnummer;Buchungsdatum;Valutadatum;Umsatzzeit;Zahlungsreferenz;Waehrung;Betrag;Buchungstext;"
    b"Umsatztext\n"
    b'12345678;1;2013-06-10;2013-06-10;2013-06-10-10.09.26.114844;"";EUR;-100,00;"Internetauftrag";"A text";'
    b'"A reference";"A text"\n'
    b'12345678;1;2013-06-05;2013-06-05;2013-06-05-06.31.12.554774;"";EUR;5.000,00;"Datentr\xe4ger-Umsatz";"A name";'
    b'"A text";"REF: XXXXXXXXXXXXXXXXXXXXXXXXXXXX"\n'
)


def test_a_row_wider_than_the_header_by_quoted_text_cells_says_so_not_that_a_value_must_be_quoted() -> None:
    """qa47a 5: Livebank's rows add 2 to 4 quoted text cells past its header; the width rule rejects them, but the
    message blamed an unquoted value holding the delimiter. Where an unquoted value may have been split (`-1,234.50`
    in a comma file), the message stays."""
    mapping = {"columns": {"date": "Buchungsdatum", "amount": "Betrag", "currency": "Waehrung",
                           "description": ["Buchungstext", "Umsatztext"]}}
    found = errors(run(parse_csv_mapped, LIVEBANK, mapping=mapping))
    assert [(e.line_number, e.code) for e in found] == [(2, INVALID_LINE), (3, INVALID_LINE)]
    for error in found:
        assert error.message.startswith("Expected at most 10 columns (the header has 10), found 12: the row has more "
                                        "cells than the header names")
        assert "mapping by column index (header: false, skipRows" in error.message
        assert "must be quoted" not in error.message
    by_index = {"columns": {"date": 2, "amount": 7, "currency": 6, "description": [8, 9]}, "header": False,
                "skipRows": 1}
    events = run(parse_csv_mapped, LIVEBANK, mapping=by_index)
    assert not errors(events) and [line.amount for line in lines(events)] == [Decimal("-100.00"), Decimal("5000.00")]
    split = b'Date,Text,Amount\n2024-01-02,"Coffee",-1,234.50\n2024-01-03,"Tea","-2.50"\n2024-01-04,"Cake",-3,"x"\n'
    found = errors(run(parse_csv_mapped, split, mapping={"columns": {"date": "Date", "description": "Text",
                                                                     "amount": "Amount"}}))
    assert [(e.line_number, e.message.endswith("a value holding the delimiter must be quoted.")) for e in found] == [
        (2, True), (4, False)]
