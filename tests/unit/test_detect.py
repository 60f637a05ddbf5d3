"""Format detection from a file's first bytes: every sample, CSV layouts, ambiguity."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.samples import SAMPLES
from tests.unit.formats.helpers import errors, lines, run
from tximport.formats.csv_mapped import CsvMapping, parse_csv_mapped
from tximport.formats.detect import DETECT_SAMPLE_SIZE, detect
from tximport.formats.registry import FORMATS

FAMILY = {"ofx": {"XML#OFX#v1"}, "camt053": {"CAMT053#v1"}, "mt940": {"MT940#v1"}, "qif": {"QIF#v1"},
          "csv": {"CSV#mapped#v1", "CSV#4col#v1", "Tabular3column#v1"}}


def _samples() -> list[Path]:
    return sorted(p for p in SAMPLES.rglob("*") if p.is_file())


@pytest.mark.parametrize("path", _samples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_sample_is_detected_as_its_format(path: Path) -> None:
    # Given the first 64 KB of a sample, as the CLI sends them
    sample = path.read_bytes()[:DETECT_SAMPLE_SIZE]
    # When it is detected
    found = detect(sample, path.name)
    # Then the format is named, unambiguously, and it is a format the service has
    assert found.file_format in FAMILY[path.parent.name], found.reasons
    assert found.file_format in FORMATS
    assert not found.ambiguous
    assert 0.5 <= found.confidence <= 1
    if path.parent.name == "csv":
        assert found.csv is not None and found.csv.delimiter == ","
        assert found.suggested_mapping is not None
        CsvMapping.from_json(found.suggested_mapping)  # usable as the CSV#mapped#v1 mapping


def test_suggested_mapping_reads_the_sample_it_was_made_from() -> None:
    data = (SAMPLES / "csv" / "oca-debit_credit_amount.csv").read_bytes()
    found = detect(data)
    assert found.suggested_mapping["columns"]["debit"] == "Debit"
    events = run(parse_csv_mapped, data, mapping=found.suggested_mapping)
    assert not errors(events)
    assert [line.amount for line in lines(events)] == [Decimal("20.00"), Decimal("-13.50"), Decimal("-33.50"),
                                                      Decimal("-1500.00")]


def test_a_dutch_export_signs_by_its_af_bij_column() -> None:
    data = (b'"Datum";"Naam / Omschrijving";"Rekening";"Tegenrekening";"Code";"Af Bij";"Bedrag (EUR)";"Mutatiesoort";'
            b'"Mededelingen"\n"20241201";"Albert Heijn 1234";"NL91INGB0001234567";"";"BA";"Af";"12,34";'
            b'"Betaalautomaat";"Pasvolgnr:001"\n"20241202";"Werkgever BV";"NL91INGB0001234567";"NL20RABO0300065264";'
            b'"GT";"Bij";"2.100,00";"Overschrijving";"Salaris november"\n')
    found = detect(data, "ing.csv")
    columns = found.suggested_mapping["columns"]
    assert (columns["indicator"], columns["amount"], columns["counterpartyAccount"]) == (
        "Af Bij", "Bedrag (EUR)", "Tegenrekening")
    assert "Rekening" not in json.dumps(columns["description"]).replace("Tegenrekening", "")  # the own account
    events = run(parse_csv_mapped, data, mapping=found.suggested_mapping)
    assert not errors(events)
    assert [(line.amount, line.description.split(" ")[0]) for line in lines(events)] == [
        (Decimal("-12.34"), "Albert"), (Decimal("2100.00"), "Werkgever")]


MINT = (b'"Date","Description","Original Description","Amount","Transaction Type","Category","Account Name","Labels",'
        b'"Notes"\n"8/02/2016","Amazon","AMAZON MKTPLACE PMTS AMZN.COM/BILL WA","29.99","debit","Shopping","1234",'
        b'"",""\n'
        b'"6/02/2016","Autopay Rautopay Auto","AUTOPAY 000000000000000RAUTOPAY AUTO-PMT","123.45","credit",'
        b'"Credit Card Payment","1234","",""\n')


def test_an_unsigned_amount_is_signed_by_a_column_of_debit_and_credit_words() -> None:
    """qa42b F2: a Mint export's `Transaction Type` (debit/credit) beside its unsigned `Amount` was left out of the
    suggested mapping, so the Amazon debit of 29.99 was staged as a credit, without a word."""
    found = detect(MINT, "mint.csv")
    assert found.suggested_mapping["columns"]["indicator"] == "Transaction Type"
    assert any("'Transaction Type' says which amounts are credits" in reason for reason in found.reasons)
    events = run(parse_csv_mapped, MINT, mapping={**found.suggested_mapping, "dateStyle": "middleEndian"})
    assert [line.amount for line in lines(events)] == [Decimal("-29.99"), Decimal("123.45")]
    debits_only = MINT.replace(b'"credit"', b'"debit"')
    assert detect(debits_only).suggested_mapping["columns"]["indicator"] == "Transaction Type"  # a word says it
    # one-letter marks only where both kinds occur; and no signed amount column takes an indicator
    assert "indicator" not in detect(MINT.replace(b'"debit"', b'"D"').replace(b'"credit"', b'"D"')
                                     ).suggested_mapping["columns"]
    assert "indicator" not in detect(MINT.replace(b'"29.99"', b'"-29.99"')).suggested_mapping["columns"]


def test_a_sparkasse_export_marks_its_pending_lines_by_its_info_column() -> None:
    """Sparkasse's CSV-CAMT export says `Umsatz gebucht` or `Umsatz vorgemerkt` in its `Info` column: the suggested
    mapping reads it as the lines' status, so a pending card payment is a pending line, not a booked one."""
    header = ('"Auftragskonto";"Buchungstag";"Valutadatum";"Buchungstext";"Verwendungszweck";"Glaeubiger ID";'
              '"Mandatsreferenz";"Kundenreferenz (End-to-End)";"Sammlerreferenz";"Lastschrift Ursprungsbetrag";'
              '"Auslagenersatz Ruecklastschrift";"Beguenstigter/Zahlungspflichtiger";"Kontonummer/IBAN";'
              '"BIC (SWIFT-Code)";"Betrag";"Waehrung";"Info"\r\n')
    rows = [("02.01.24", "LOHN GEHALT", "Gehalt Januar", "ACME GmbH", "2.500,00", "Umsatz gebucht"),
            ("03.01.24", "KARTENZAHLUNG", "Supermarkt", "Markt", "-23,45", "Umsatz gebucht"),
            ("04.01.24", "KARTENZAHLUNG", "Tankstelle", "Tanke", "-50,00", "Umsatz vorgemerkt")]
    body = "".join(f'"DE89370400440532013000";"{day}";"{day}";"{kind}";"{text}";"";"";"";"";"";"";"{name}";'
                   f'"DE02120300000000202051";"BYLADEM1001";"{amount}";"EUR";"{info}"\r\n'
                   for day, kind, text, name, amount, info in rows)
    data = (header + body).encode("cp1252")
    found = detect(data, "sparkasse.csv")
    columns = found.suggested_mapping["columns"]
    assert (columns["status"], columns["counterpartyAccount"]) == ("Info", "Kontonummer/IBAN")
    events = run(parse_csv_mapped, data, mapping=found.suggested_mapping, date_style="littleEndian",
                 include_pending=True)
    assert not errors(events)
    assert [(line.amount, line.pending) for line in lines(events)] == [
        (Decimal("2500.00"), False), (Decimal("-23.45"), False), (Decimal("-50.00"), True)]


def test_a_delimiter_after_every_rows_last_value_keeps_the_header() -> None:
    """Chase ends every data row with a comma, so the rows have one cell more than the header."""
    data = (b"Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #\n"
            b'DEBIT,01/02/2024,"STARBUCKS STORE 123 SEATTLE WA",-5.75,DEBIT_CARD,1994.25,,\n'
            b'CREDIT,01/15/2024,"ACME CORP PAYROLL PPD ID: 123",2500.00,ACH_CREDIT,4494.25,,\n'
            b'DEBIT,01/31/2024,"RENT PAYMENT",-1200.00,ACH_DEBIT,3294.25,,\n')
    found = detect(data, "chase.csv")
    assert (found.file_format, found.ambiguous, found.csv.has_header) == ("CSV#mapped#v1", False, True)
    columns = found.suggested_mapping["columns"]
    assert (columns["date"], columns["amount"], columns["balance"]) == ("Posting Date", "Amount", "Balance")
    events = run(parse_csv_mapped, data, mapping=found.suggested_mapping)
    assert not errors(events)
    assert [(line.date_posted.isoformat(), line.amount) for line in lines(events)] == [
        ("2024-01-02", Decimal("-5.75")), ("2024-01-15", Decimal("2500.00")), ("2024-01-31", Decimal("-1200.00"))]


def test_preamble_footer_and_comma_decimals_are_found_but_day_month_order_is_left_open() -> None:
    data = (SAMPLES / "csv" / "oca-meta_data_separated_credit_debit.csv").read_bytes()
    found = detect(data)
    assert found.csv.header_row == 4 and found.csv.has_header
    assert found.csv.decimal_separator == ","
    assert found.csv.date_style is None
    assert any("day/month" in r for r in found.reasons)
    assert found.suggested_mapping["skipFooterRows"] == 1
    assert found.suggested_mapping["columns"]["description"] == ["Label", "Detail"]
    events = run(parse_csv_mapped, data, mapping=found.suggested_mapping, date_style="littleEndian")
    assert not errors(events)
    assert sum(line.amount for line in lines(events)) == Decimal("1069.32")


def test_three_column_csv_is_the_fixed_layout() -> None:
    found = detect(b"date,description,amount\n2024-01-02,Coffee,-3.50\n2024-01-03,Salary,2500.00\n")
    assert found.file_format == "Tabular3column#v1"
    assert found.csv.date_style.value == "bigEndian"
    assert [c.role for c in found.csv.columns] == ["date", "description", "amount"]
    assert [c.file_format for c in found.candidates][:2] == ["Tabular3column#v1", "CSV#mapped#v1"]


def test_four_column_csv_without_header_is_credit_then_debit() -> None:
    found = detect(b"02.01.2024;Coffee;;3,50\n03.01.2024;Salary;2500,00;\n31.01.2024;Rent;;950,00\n")
    assert found.file_format == "CSV#4col#v1"
    assert found.csv.delimiter == ";"
    assert not found.csv.has_header
    assert found.csv.decimal_separator == ","
    assert found.csv.date_style.value == "littleEndian"


def test_headerless_csv_with_two_full_numeric_columns_is_ambiguous() -> None:
    # credit/debit or amount and balance? Without a header nothing tells.
    found = detect(b"2024-01-02,Coffee,3.50,100.00\n2024-01-03,Salary,2500.00,2600.00\n")
    assert found.ambiguous
    assert found.file_format is None
    assert {"CSV#mapped#v1", "CSV#4col#v1"} <= {c.file_format for c in found.candidates}
    assert any("cannot be told apart" in r for r in found.reasons)


def test_csv_with_no_amount_column_is_ambiguous() -> None:
    found = detect(b"when,what,who\n2024-01-02,Coffee,Ann\n2024-01-03,Tea,Bob\n")
    assert found.ambiguous and found.file_format is None
    assert found.suggested_mapping is None


def test_camt_version_and_kind_come_from_the_namespace() -> None:
    doc = (b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">'
           b"<BkToCstmrDbtCdtNtfctn>")
    found = detect(doc, complete=False)
    assert found.file_format == "CAMT054#v1"
    assert "camt.054.001.08" in found.reasons[0]


def test_json_v0_shape_is_recognised_and_other_json_is_not() -> None:
    doc = {"bankAccounts": [{"accountIdentifier": "X", "transactions": [
        {"datePosted": "2024-01-02", "amount": "1.00"}]}]}
    assert detect(json.dumps(doc).encode()).file_format == "JSON#v0"
    other = detect(b'{"hello": "world"}')
    assert other.file_format is None and other.ambiguous


def test_binary_and_empty_samples_are_not_recognised() -> None:
    assert detect(b"\x00\x01\x02\x03" * 100).file_format is None
    empty = detect(b"   \n")
    assert empty.file_format is None and empty.reasons == ["the file is empty"]


def test_api_shape_is_json_serialisable() -> None:
    found = detect(b"date,description,amount\n2024-01-02,Coffee,-3.50\n")
    out = json.loads(json.dumps(found.to_api()))
    assert set(out) >= {"fileFormat", "confidence", "candidates", "csv", "suggestedMapping", "ambiguous",
                        "reasons"}
    assert out["csv"]["columns"][2] == {"index": 2, "header": "amount", "role": "amount"}


@pytest.mark.parametrize("name", ["test.qif", "export.txt", None])
def test_a_qif_that_opens_with_comment_lines_is_qif(name: str | None) -> None:
    """qa42b F6: quiffen's test file opens with `### ...` lines; it was `fileFormat: null`, no format marker."""
    sample = (b"### Most of example qif file is copied from Wikipedia ###\n#\n\n"
              b"!Type:Class\nNTest class\n^\n!Type:Bank\nD2/14'2020\nT67.50\nPT-Mobile\n^\n")
    found = detect(sample, name)
    assert found.file_format == "QIF#v1", found.reasons
    assert found.confidence >= 0.9
    assert "!Type:Class" in found.reasons[0]


LLOYDS = (b"Transaction Date,Transaction Type,Sort Code,Account Number,Transaction Description,Debit Amount,"
          b"Credit Amount,Balance,\n"
          b"15/01/2024,DEB,'99-88-74,1515152252,ACME STORE CD 1417    14JAN24,8.99,,2040.59\n"
          b"12/01/2024,DEB,'99-88-74,1515152252,NON-GBP TRANS FEE          2.75% CD 1417,4.79,,2049.58\n"
          b"02/12/2023,FPI,'99-88-74,1515152252,SALARY ACME LTD,,2000.00,2054.37\n")


@pytest.mark.parametrize("data", [LLOYDS, LLOYDS.replace(b"\n1", b",\n1").replace(b"2054.37\n", b"2054.37,\n")],
                         ids=["header only", "header and rows"])
def test_a_header_that_ends_in_a_delimiter_is_still_the_header(data: bytes) -> None:
    """qa45a 3: Lloyds writes a comma after the header's last name (`...,Balance,`) and none after the rows' last
    value; detect took the header for no header and answered no format and no mapping."""
    found = detect(data, "lloyds.csv")
    assert (found.file_format, found.ambiguous, found.csv.has_header) == ("CSV#mapped#v1", False, True)
    columns = found.suggested_mapping["columns"]
    assert (columns["date"], columns["debit"], columns["credit"], columns["balance"]) == (
        "Transaction Date", "Debit Amount", "Credit Amount", "Balance")
    events = run(parse_csv_mapped, data, mapping=found.suggested_mapping)
    assert not errors(events)
    assert [(line.date_posted.isoformat(), line.amount) for line in lines(events)] == [
        ("2024-01-15", Decimal("-8.99")), ("2024-01-12", Decimal("-4.79")), ("2023-12-02", Decimal("2000.00"))]


def test_an_account_number_beside_a_sort_code_is_the_holders_own_not_a_counterpartys() -> None:
    """qa45a: Lloyds' `Account Number` (beside its `Sort Code`) is the holder's account on every line; detect
    suggested it as every line's counterparty account. An `Account Number` with no sort code stays one."""
    columns = detect(LLOYDS, "lloyds.csv").suggested_mapping["columns"]
    assert "counterpartyAccount" not in columns
    other = LLOYDS.replace(b"Sort Code", b"Reference")
    assert detect(other, "other.csv").suggested_mapping["columns"]["counterpartyAccount"] == "Account Number"


REVOLUT = ("Type,Product,Started Date,Completed Date,Description,Amount,Fee,Currency,State,Balance\n"
           "TRANSFER,Current,2021-09-05 11:32:41,2021-09-05 11:32:41,transfer,-250,0,EUR,COMPLETED,165.52\n"
           "CARD_PAYMENT,Current,2021-09-03 18:13:48,2021-09-05 18:22:20,company äöå,-9.5,0,EUR,COMPLETED,156.02\n"
           "CARD_PAYMENT,Current,2021-09-04 09:01:02,2021-09-06 10:11:12,Coffee,-4.85,0,EUR,COMPLETED,151.17\n"
           ).encode()


def test_the_booking_date_is_preferred_over_the_transactions_own_date() -> None:
    """qa45a 1: Revolut books a line on its `Completed Date`; detect suggested the `Started Date` beside it, so 2 of
    these 3 lines were staged a day or two early, without a word."""
    found = detect(REVOLUT, "revolut.csv")
    columns = found.suggested_mapping["columns"]
    assert columns["date"] == "Completed Date"
    assert "Started Date" not in columns.values()
    events = run(parse_csv_mapped, REVOLUT, mapping=found.suggested_mapping)
    assert not errors(events)
    assert [(line.date_posted.isoformat(), line.amount) for line in lines(events)] == [
        ("2021-09-05", Decimal("-250")), ("2021-09-05", Decimal("-9.5")), ("2021-09-06", Decimal("-4.85"))]
    # whichever comes first: a posting date beside a transaction date (Capital One, Chase's cards)
    card = b"Transaction Date,Posted Date,Description,Debit,Credit\n2024-01-02,2024-01-04,Coffee,3.50,\n"
    assert detect(card).suggested_mapping["columns"]["date"] == "Posted Date"
    assert detect(card.replace(b"Posted Date", b"Booking Date", 1).replace(b"Transaction Date", b"Date", 1)
                  ).suggested_mapping["columns"]["date"] == "Booking Date"


GLS = ("Umsatzanzeige;Datei erstellt am: 28.12.2018 16:57\r\n;Letztes Update: aktuell\r\n\r\n"
       "Kontonummer;Buchungstag;Wertstellung;Auftraggeber/Empfänger;Buchungstext;"
       + "".join(f"VWZ{i};" for i in range(1, 15)) + "Betrag;Kontostand;Währung\r\n"
       '1234567890;10.10.2017;10.10.2017;Drillisch Online AG;"SEPA-Basislastschrift";B4658645 U123456789 B123456;'
       "987 SIMply Rechnung;;;;;;;;;;;;;-98,76;1.234,56;EUR\r\n"
       '1234567890;12.10.2017;12.10.2017;ACME GmbH;"Gutschrift";Gehalt Oktober;;;;;;;;;;;;;;2.000,00;3.234,56;EUR\r\n'
       ).encode("cp1252")


def test_a_header_with_numbered_names_is_still_the_header() -> None:
    """qa45a 4: GLS Bank's header names its purpose lines `VWZ1`..`VWZ14`, which read as a currency code and a
    number: detect took the header for data and answered no format and no mapping."""
    found = detect(GLS, "gls.csv")
    assert (found.file_format, found.ambiguous, found.csv.header_row) == ("CSV#mapped#v1", False, 3)
    columns = found.suggested_mapping["columns"]
    assert (columns["date"], columns["amount"], columns["balance"]) == ("Buchungstag", "Betrag", "Kontostand")
    assert columns["description"][:3] == ["Buchungstext", "VWZ1", "VWZ2"]
    events = run(parse_csv_mapped, GLS, mapping=found.suggested_mapping)
    assert not errors(events)
    assert [(line.date_posted.isoformat(), line.amount, line.balance) for line in lines(events)] == [
        ("2017-10-10", Decimal("-98.76"), Decimal("1234.56")), ("2017-10-12", Decimal("2000.00"), Decimal("3234.56"))]
    assert "987 SIMply Rechnung" in lines(events)[0].description


SCHWAB = (b'"Date","Status","Type","CheckNumber","Description","Withdrawal","Deposit","RunningBalance"\n'
          b'"08/17/2022","Posted","DEPOSIT","","Deposit Mobile Banking","","$20.00","$878.47"\n'
          b'"08/14/2022","Posted","ATM","","BMO HARRIS BANK","$103.00","","$858.47"\n'
          b'"08/12/2022","Posted","ACH","","PAYROLL ACME","","$1,500.00","$961.47"\n')


@pytest.mark.parametrize("name", [b"RunningBalance", b"Running Balance", b"Kontostand", b"Saldo", b"Solde",
                                  b"Current Balance"])
def test_a_running_balance_column_is_the_balance(name: bytes) -> None:
    """qa45a 6: Schwab's `RunningBalance` was not suggested as the balance."""
    data = SCHWAB.replace(b"RunningBalance", name)
    found = detect(data, "schwab.csv")
    assert found.suggested_mapping["columns"]["balance"] == name.decode()
    events = run(parse_csv_mapped, data, mapping=found.suggested_mapping)
    assert not errors(events)
    assert [(line.amount, line.balance) for line in lines(events)] == [
        (Decimal("20.00"), Decimal("878.47")), (Decimal("-103.00"), Decimal("858.47")),
        (Decimal("1500.00"), Decimal("961.47"))]


KNAB = (b"KNAB EXPORT;;;;;;;;;;;;;;;;\r\n"
        b"Rekeningnummer;Transactiedatum;Valutacode;CreditDebet;Bedrag;Tegenrekeningnummer;Tegenrekeninghouder;"
        b"Valutadatum;Betaalwijze;Omschrijving;Type betaling;Machtigingsnummer;Incassant ID;Adres;Referentie;"
        b"Boekdatum;\r\n"
        b'"NL99KNAB9999999999";"21-06-2019";"EUR";"D";"827,75";"FR9999999999999999999999999";"Gert Janssen (FR)";'
        b'"21-06-2019";"Overboeking";"Tresorie";"";"";"";"";"B9F21PGYA068V2KD";"21-06-2019";\r\n'
        b'"NL99KNAB9999999999";"21-06-2019";"EUR";"C";"827,75";"99999999";"Gert Janssen";"21-06-2019";'
        b'"Ontvangen betaling";"";"";"";"";"";"B9F21PGUJE88SFDR";"21-06-2019";\r\n'
        b'"NL99KNAB9999999999";"19-06-2019";"EUR";"C";"2500";"99999999";"Gert Janssen";"19-06-2019";'
        b'"Ontvangen betaling";"";"";"";"";"";"B9F19PGFCT4Q5467";"19-06-2019";\r\n')
N26 = (b'"Booking Date","Value Date","Partner Name","Partner Iban",Type,"Payment Reference","Account Name",'
       b'"Amount (EUR)","Original Amount","Original Currency","Exchange Rate"\n'
       b'2020-03-07,,"Compte courant",DE27100110000000000000,"Credit Transfer",,"Coffre fort",328.00,,,\n'
       b'2020-03-07,,"Compte courant",DE27100110000000000000,"Debit Transfer",,"Coffre fort",-328.00,,,\n')
INGDE = ("Buchung;Wertstellungsdatum;Auftraggeber/Empfänger;Buchungstext;Verwendungszweck;Betrag;Währung\n"
         "28.12.2018;28.12.2018;PayDude (Europe) S.a.r.l. et Cie., S .C.A.;Lastschrift;PP.1234.PP . Blumen Berther;"
         "-5,49;EUR\n28.12.2018;28.12.2018;Karl Karlsen;Gutschrift aus Dauerauftrag;Monatliche Ueberweisung;50,00;EUR\n"
         ).encode("cp1252")


@pytest.mark.parametrize(("data", "payee", "texts"), [
    (KNAB, "Tegenrekeninghouder", ["Gert Janssen (FR) Tresorie", "Gert Janssen", "Gert Janssen"]),
    (N26, "Partner Name", ["Compte courant Credit Transfer", "Compte courant Debit Transfer"]),
    (INGDE, "Auftraggeber/Empfänger", ["Lastschrift PP.1234.PP . Blumen Berther",
                                       "Gutschrift aus Dauerauftrag Monatliche Ueberweisung"]),
], ids=["Knab", "N26", "ING DE"])
def test_the_payee_name_is_suggested(data: bytes, payee: str, texts: list[str]) -> None:
    """qa45a 5: Knab's staged lines had an empty description on most rows (its `Omschrijving` is mostly empty) and
    no counterparty, ING DE's `Auftraggeber/Empfänger` was left out, and N26's description was the partner's IBAN.
    The payee's column is the counterparty name, and opens the description where the description is empty on most
    rows or no header names one."""
    found = detect(data)
    columns = found.suggested_mapping["columns"]
    assert columns["counterpartyName"] == payee
    events = run(parse_csv_mapped, data, mapping=found.suggested_mapping)
    assert not errors(events)
    assert [line.description for line in lines(events)] == texts
    assert {line.counterparty_name for line in lines(events)} <= {"Gert Janssen (FR)", "Gert Janssen",
                                                                  "Compte courant", "Karl Karlsen",
                                                                  "PayDude (Europe) S.a.r.l. et Cie., S .C.A."}
    assert all(line.counterparty_name for line in lines(events))


def test_a_value_date_written_wertstellungsdatum_is_the_value_date() -> None:
    data = ("Buchung;Wertstellungsdatum;Auftraggeber/Empfänger;Buchungstext;Verwendungszweck;Saldo;Währung;Betrag;"
            "Währung\n"
            "28.12.2018;27.12.2018;PayDude;Lastschrift;Blumen;150,00;EUR;-5,50;EUR\n"
            "27.12.2018;27.12.2018;Karl Karlsen;Gutschrift;Miete;155,50;EUR;100,00;EUR\n").encode("latin-1")
    found = detect(data, "ing.csv")
    assert found.suggested_mapping["columns"]["valueDate"] in ("Wertstellungsdatum", 1)  # (by index: names repeat)
    events = run(parse_csv_mapped, data, mapping=found.suggested_mapping)
    assert [line.value_date.isoformat() for line in lines(events)] == ["2018-12-27", "2018-12-27"]


RAIFFEISEN_AT = ('28.06.2013;"0,125 % p.a. Habenzinsen ab 01.04.13";01.07.2013;0,58;EUR;28.06.2013 00:00:30:989;\n'
                 '28.06.2013;"Kapitalertragsteuer";01.07.2013;-0,15;EUR;28.06.2013 00:00:31:010;\n').encode("cp1252")
EASYBANK_CARD = (b"12345678901;Some vendor/info|12345678909876543212345;02.07.2013;30.06.2013;-5,99;EUR\n"
                 b"12345678901;Another vendor|23456789098765432123456;21.06.2013;19.06.2013;+30,99;EUR\n")


@pytest.mark.parametrize(("data", "amounts"), [
    (RAIFFEISEN_AT, [Decimal("0.58"), Decimal("-0.15")]), (EASYBANK_CARD, [Decimal("-5.99"), Decimal("30.99")])],
    ids=["Raiffeisen AT", "easybank card"])
def test_a_headerless_amount_is_neither_a_dotted_date_nor_a_whole_number_beside_it(data: bytes,
                                                                                    amounts: list[Decimal]) -> None:
    """qa47a 3a: headerless Raiffeisen AT's value date `01.07.2013` read as a number, so detect suggested it as the
    amount and every line was rejected InvalidAmount. easybank's card number `12345678901` beside `-5,99` is no
    amount either."""
    found = detect(data, "export.csv")
    assert not found.ambiguous
    events = run(parse_csv_mapped, data, mapping=found.suggested_mapping)
    assert not errors(events)
    assert [line.amount for line in lines(events)] == amounts


def test_an_amount_beside_a_balance_without_a_header_is_not_guessed() -> None:
    """qa47a 3c: without a header an amount and a balance, both filled on every row, cannot be told apart: the
    first one was suggested (Swedbank LT's record type 10/20/86 was so staged as every line's amount, without a
    word). Ambiguous, and no mapping."""
    found = detect(b"2024-01-02,Coffee,3.50,100.00\n2024-01-03,Salary,2500.00,2600.00\n")
    assert found.ambiguous and found.suggested_mapping is None
    assert any("no mapping is suggested" in r for r in found.reasons)


JLP = ("Date Processed,Description,Amount,\n"
       "28-Mar-2020,Amazon.co.uk*3N8FF0AA5 AMAZON.CO.UK  LUX,£99.99,\n"
       '21-Apr-2020,DIRECT DEBIT TRANSACTION,"+ £1,234.56",CR\n'
       "22-Apr-2020,WAITROSE DIRECT        SVS DIRECT SE GBR,£88.99,\n").encode()


def test_a_cr_mark_in_an_unnamed_column_signs_the_amounts_and_empty_is_a_debit() -> None:
    """qa47a 4: John Lewis's card writes `CR` past its header's last name on a payment and nothing on a charge; the
    suggestion left the column out, so the charges were staged as credits and the payment was rejected."""
    found = detect(JLP, "jlp.csv")
    assert found.suggested_mapping["columns"]["indicator"] == 3
    assert found.suggested_mapping["indicatorValues"] == {"credit": ["CR"], "debit": [""]}
    events = run(parse_csv_mapped, JLP, mapping=found.suggested_mapping)
    assert not errors(events)
    assert [line.amount for line in lines(events)] == [Decimal("-99.99"), Decimal("1234.56"), Decimal("-88.99")]


SWEDBANK_ROWS = (b'"LT797300010XXXXXXXXX","20","2012-01-02","KRISTIANA","PIRKINYS 0000000000000000 2011.12.31 215 LTL",'
                 b'"215.00","LTL","D","2012010200228849","K","","","",\n'
                 b'"LT797300010XXXXXXXXX","20","2012-01-10","Company","Salary","1600.00","LTL","K","2012011000673562",'
                 b'"MK","","5050","",\n')


def test_d_and_k_marks_sign_a_headerless_amount_and_a_lone_letter_gives_no_mapping() -> None:
    """qa47a 3c: Swedbank's rows sign their unsigned `Suma` by `D`/`K` (debetas/kreditas), which are not among
    indicatorValues' defaults; a file with `D` only (Swedbank EE) cannot tell whether that column signs at all."""
    found = detect(SWEDBANK_ROWS, "swedbank.csv")
    assert (found.suggested_mapping["columns"]["indicator"], found.suggested_mapping["indicatorValues"]) == (
        7, {"credit": ["K"], "debit": ["D"]})
    events = run(parse_csv_mapped, SWEDBANK_ROWS, mapping=found.suggested_mapping)
    assert [line.amount for line in lines(events)] == [Decimal("-215.00"), Decimal("1600.00")]
    debits_only = SWEDBANK_ROWS.replace(b'"K","2012011000673562"', b'"D","2012011000673562"')
    found = detect(debits_only, "swedbank.csv")
    assert found.ambiguous and found.suggested_mapping is None


SPK_CARD = ('"Umsatz getätigt von";"Belegdatum";"Buchungsdatum";"Originalbetrag";"Originalwährung";"Umrechnungskurs";'
            '"Buchungsbetrag";"Buchungswährung";"Transaktionsbeschreibung"\n'
            '"51_5 4400 7700 9222443";"20.02.18";"20.02.18";"-5,00";"EUR";"1,00";"-5,00";"EUR";'
            '"AMREST STARBUCKS DE 08007263333  DE"\n').encode("cp1252")


def test_an_exact_amount_header_wins_over_a_prefix_and_a_card_number_is_no_amount() -> None:
    """qa47a 3b: Sparkasse's card export: `Umsatz getätigt von` (a card number) was the amount by its prefix
    `umsatz`, beside `Buchungsbetrag`; the one line was rejected InvalidAmount."""
    found = detect(SPK_CARD, "umsatz.CSV")
    columns = found.suggested_mapping["columns"]
    assert (columns["amount"], columns["currency"], columns["originalAmount"]) == (
        "Buchungsbetrag", "Buchungswährung", "Originalbetrag")
    events = run(parse_csv_mapped, SPK_CARD, mapping=found.suggested_mapping)
    assert not errors(events)
    assert [(line.date_posted.isoformat(), line.amount) for line in lines(events)] == [("2018-02-20", Decimal("-5.00"))]
    # a money word on a column of text is no amount, even when it is the only one
    assert detect(SPK_CARD.replace(b"Buchungsbetrag", b"Notiz")).csv.columns[0].role is None


@pytest.mark.parametrize(("data", "role", "name"), [
    (b"Buchungsdatum;Betrag;Auftraggebername;Auftraggeber IBAN/Kto.Nr.;Text\n"
     b"15.03.2017;-11,00;Max Muster;AT611904300234573201;Miete\n", "counterpartyName", "Auftraggebername"),
    (b'"Datum","Bedrag","Naam tegenpartij","Omschrijving-1"\n"2018-03-01","-337,49","Jan Jansen","RENTE LENING"\n',
     "counterpartyName", "Naam tegenpartij"),
    (b"kaarthouder;datum verrichting;Datum verrekening;bedrag;Handelaar\n"
     b"SMITH JOHN;01/02/2020;03/02/2020;-16,52;More info\n", "date", "Datum verrekening"),
    ("Datum provedení;Datum zaúčtování;Název protiúčtu;Zaúčtovaná částka;Měna účtu\n"
     '27.05.2018;"27.05.2018";"Name Surname";"-1,00";"CZK"\n'.encode("cp1250"), "amount", "Zaúčtovaná částka"),
], ids=["Oberbank", "Rabobank", "KBC Mastercard", "Raiffeisen CZ"])
def test_the_banks_own_header_words_name_their_roles(data: bytes, role: str, name: str) -> None:
    """qa47a 9: Oberbank's name went to `Auftraggeber IBAN/Kto.Nr.` (an IBAN), Rabobank's `Naam tegenpartij` was
    left out, KBC's `datum verrichting` won over its booking `Datum verrekening`, and Raiffeisen CZ's `Zaúčtovaná
    částka` gave no mapping."""
    assert detect(data).suggested_mapping["columns"][role] == name


def test_an_account_in_the_first_column_the_same_on_every_line_is_the_holders_own() -> None:
    """qa47a 9: ING-DiBa AT's own `Kontonummer` was suggested as every line's counterparty account."""
    data = ("Kontonummer;Text;Datum;Währung;Soll;Haben\n12345678001;Habenzinsen;31.12.2013;EUR;0,00;12,23\n"
            "12345678001;Kapitalertragsteuer;31.12.2013;EUR;3,06;0,00\n").encode("cp1252")
    assert "counterpartyAccount" not in detect(data).suggested_mapping["columns"]


FIDELITY = (b"Run Date,Action,Symbol,Amount ($),\r\n"
            b"01/27/2023, DIRECT DEBIT TREASURY DIRECTREAS DRCT (Cash),  ,-10000,\r\n"
            b"01/23/2023, DIRECT DEPOSIT Apple Cash TRAN Name WEB (Cash),  ,200.99,\r\n"
            b",,,,\r\n,,,,\r\n"
            b"The data and information in this spreadsheet is provided to you solely for your use,,,,\r\n"
            b"exported and is subject to change.,,,,\r\n"
            b",,,,\r\n"
            b'"Brokerage services are provided by Fidelity Brokerage Services LLC, 900 Salem Street",,,,\r\n'
            b",,,,\r\n"
            b"Date downloaded 01/24/2023 10:28 am,,,,\r\n")


def test_the_suggested_footer_counts_the_blank_rows_inside_it() -> None:
    """qa47a 7: Fidelity's footer has blank rows between its notes; the suggested skipFooterRows left them out of
    the count, though the parser counts them, so two notes were rejected InvalidDate."""
    found = detect(FIDELITY, "History.csv")
    assert found.suggested_mapping["skipFooterRows"] == 6
    events = run(parse_csv_mapped, FIDELITY, mapping=found.suggested_mapping)
    assert not errors(events)
    assert [line.amount for line in lines(events)] == [Decimal("-10000"), Decimal("200.99")]


LIVEBANK = (b"Kontonummer;Auszugsnummer;Buchungsdatum;Valutadatum;Umsatzzeit;Zahlungsreferenz;Waehrung;Betrag;"
            b"Buchungstext;Umsatztext\n"
            b'12345678;1;2013-07-03;2013-07-03;2013-07-03-08.21.36.47192;"";EUR;150,00;"Datentraeger-Umsatz";A name;'
            b'"A text";"REF: X"\n'
            b'12345678;1;2013-07-01;2013-07-01;2013-07-01-09.08.26.618116;"";EUR;0,00;"Verstaendigung";"Aenderung";'
            b'"Bonuszins";"Basiszins";"Gesamtzinssatz";"Details"\n'
            b'12345678;1;2013-06-10;2013-06-10;2013-06-10-10.09.26.114844;"";EUR;-100,00;"Internetauftrag";"A text";'
            b'"A reference";"A text";"x";"y"\n')


def test_a_first_line_narrower_than_the_lines_after_it_is_not_skipped():
    """Livebank AT's lines carry 2-4 text cells past their 10-name header: the table's width is the widest lines',
    and the suggested skipRows passed over the first line, 150.00, which was then left out without a word."""
    found = detect(LIVEBANK, "livebank.csv")
    assert found.suggested_mapping["skipRows"] == 1
    events = run(parse_csv_mapped, LIVEBANK, mapping=found.suggested_mapping)
    assert not errors(events)
    assert [line.amount for line in lines(events)] == [Decimal("150.00"), Decimal("0.00"), Decimal("-100.00")]


SWEDBANK_LT = ('"Sąskaitos Nr.","","Data","Gavėjas","Paaiškinimai","Suma","Valiuta","D/K","Įrašo Nr.","Kodas",'
               '"Įmokos kodas","Dok. Nr.","Kliento kodas mokėtojo IS","Kliento kodas","Pradinis mokėtojas",'
               '"Galutinis gavėjas","Extra"\n'
               '"LT797300010XXXXXXXXX","10","2012-01-01","","Likutis pradžiai","2123.82","LTL","K","","AS","","",\n'
               '"LT797300010XXXXXXXXX","20","2012-01-02","KRISTIANA","PIRKINYS 215 LTL","215.00","LTL","D",'
               '"2012010200228849","K","",\n'
               '"LT797300010XXXXXXXXX","20","2012-01-26","Naktida","PIRKINYS 12.2 LTL","12.20","LTL","D",'
               '"2012012600096815","K","",\n'
               '"LT797300010XXXXXXXXX","86","2012-01-31","","Likutis pabaigai","3917.30","LTL","K","","LS","","",\n'
               ).encode()


def test_a_header_wider_than_its_rows_gives_no_mapping():
    """qa48a 1: Swedbank LT's 17 names stand over rows of 12 to 14 cells; detect read no header and suggested a
    confident mapping by index that staged the opening and closing balance records (types 10, 86) as lines, with no
    currency: which name goes with which cell cannot be told, so no mapping is guessed."""
    found = detect(SWEDBANK_LT, "swedbank.csv")
    assert (found.file_format, found.ambiguous, found.suggested_mapping) == (None, True, None)
    assert any("more names than" in reason for reason in found.reasons)


def test_a_column_past_the_headers_names_makes_the_mapping_by_index():
    """qa48a 4: `Date,Description,Amount,` over signed amounts with a DR/CR mark past the names: a mapping by names
    found every row one cell wider than its header and rejected all of them."""
    data = (b"Date,Description,Amount,\n01/03/2024,Shop,-10.00,DR\n02/03/2024,Refund,5.00,CR\n"
            b"15/03/2024,Rent,-900.00,DR\n")
    found = detect(data, "signed.csv")
    mapping = found.suggested_mapping
    assert (mapping["columns"]["amount"], mapping["header"], mapping["skipRows"]) == (2, False, 1)
    events = run(parse_csv_mapped, data, mapping=found.suggested_mapping)
    assert not errors(events)
    assert [line.amount for line in lines(events)] == [Decimal("-10.00"), Decimal("5.00"), Decimal("-900.00")]


ERSTE_HU = ("Tranzakció dátuma,Partner neve,Partner számlaszáma,Számla neve,Számlaszám,Tranzakció típusa,"
            "Tranzakció összege,Tranzakció devizaneme,Bevétel/Kiadás,Kártyaszám,Értéknap,Közlemény,"
            "Megbízás azonosító,Részletek,Egyenleg,Devizanem\n"
            "2019.04.19.,memo goes here,payee account,name of account,bank account,transaction t...,-350,HUF,outflow,"
            "card number,2019.04.19.,,,payee,2345.56,HUF\n"
            "2019.04.17.,memo goes here,payee account,name of account,bank account,transaction t...,1290,HUF,inflow,"
            "card number,2019.04.18.,,,payee,1055.56,HUF\n").encode()


def test_a_hungarian_header_names_its_columns():
    """qa48a 3: Erste HU's header words were none of detect's, so it read the values and found two numeric columns
    it could not tell apart: no mapping."""
    found = detect(ERSTE_HU, "erste.csv")
    columns = found.suggested_mapping["columns"]
    assert (columns["date"], columns["amount"], columns["currency"], columns["balance"], columns["valueDate"]) == (
        "Tranzakció dátuma", "Tranzakció összege", "Tranzakció devizaneme", "Egyenleg", "Értéknap")
    events = run(parse_csv_mapped, ERSTE_HU, mapping=found.suggested_mapping)
    assert not errors(events)
    assert [(line.date_posted.isoformat(), line.amount, line.balance) for line in lines(events)] == [
        ("2019-04-19", Decimal("-350"), Decimal("2345.56")), ("2019-04-17", Decimal("1290"), Decimal("1055.56"))]
