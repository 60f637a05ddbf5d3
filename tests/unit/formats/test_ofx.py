"""OFX/QFX: every sample file, hand-made fixtures, and the streaming edge cases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.support.samples import SAMPLES as ALL_SAMPLES
from tests.unit.formats.helpers import accounts, errors, lines
from tximport.formats import ofx
from tximport.formats.base import (
    BytesSource,
    FileError,
    FileNote,
    FileSource,
    ParsedLine,
    ParseOptions,
    StatementAccount,
    StatementBalances,
)
from tximport.formats.registry import FORMATS

SAMPLES = ALL_SAMPLES / "ofx"


def parse(data: bytes) -> list:
    return list(ofx.parse_ofx(BytesSource(data), ParseOptions()))


def parse_sample(name: str) -> list:
    path = SAMPLES / name
    return list(ofx.parse_ofx(FileSource(str(path)), ParseOptions()))



def test_registry_entry() -> None:
    fmt = FORMATS["XML#OFX#v1"]
    assert fmt.accounts_supported == "multi"
    assert set(fmt.file_extensions) == {"OFX", "QFX"}
    assert fmt.parser is ofx.parse_ofx


# --- the sample files -------------------------------------------------------------------------

def test_oca_bank_and_credit_card_statements() -> None:
    events = parse_sample("oca-test_ofx.ofx")
    assert [(a.account_ref, a.currency, a.bank_id) for a in accounts(events)] == [
        ("123456", "USD", "000000123"), ("123412341234", "USD", None)]
    rows = lines(events)
    assert [r.amount for r in rows] == [Decimal("-80"), Decimal("-90"), Decimal("-100"), Decimal("-90")]
    assert sum(r.amount for r in rows) == Decimal("-360")
    first = rows[0]
    assert (first.line_number, first.date_posted, first.bank_transaction_id, first.description) == (
        31, date(2013, 8, 24), "219378", "Agrolait")
    assert {r.account_ref for r in rows} == {"123456"}
    assert not errors(events)
    # the account comes before its lines
    assert isinstance(events[0], StatementAccount)


def test_oca_iban_variant() -> None:
    events = parse_sample("oca-test_ofx_iban.ofx")
    assert accounts(events)[0] == StatementAccount("12345678901", "USD", "30001", 21)
    rows = lines(events)
    assert len(rows) == 4 and sum(r.amount for r in rows) == Decimal("-360")
    assert rows[-1].description == "China Scuba"


def test_oca_wrong_file_gives_no_line_of_its_accountless_statement_to_the_card() -> None:
    # The checking statement's account aggregate (and CURDEF), and the date, amount and FITID of its
    # second transaction, are commented out; the file's other statement is a card's, with no lines.
    events = parse_sample("oca-test_ofx_wrong.ofx")
    assert lines(events) == []
    assert [(e.line_number, e.code, e.target) for e in errors(events)] == [
        (31, "RequiredValueMissing", "STMTRS/BANKACCTFROM"), (42, "RequiredValueMissing", "STMTTRN/DTPOSTED"),
        (53, "RequiredValueMissing", "STMTRS/BANKACCTFROM"), (64, "RequiredValueMissing", "STMTRS/BANKACCTFROM")]
    assert "line 21" in errors(events)[0].message
    assert [a.account_ref for a in accounts(events)] == ["123412341234"]
    # the checking statement's closing balance (2156.56) is no statement of the card's
    assert [(b.account_ref, b.closing.amount if b.closing else None)
            for b in events if isinstance(b, StatementBalances)] == [("123412341234", Decimal("-562.00"))]


def _statement(kind: str, account: str | None, fitid: str, amount: str, pending: bool = False) -> str:
    aggregate = "CCACCTFROM" if kind == "CCSTMTRS" else "BANKACCTFROM"
    acct = "" if account is None else f"<{aggregate}><BANKID>1</BANKID><ACCTID>{account}</ACCTID></{aggregate}>"
    held = ("<BANKTRANLISTP><STMTTRNP><TRNTYPE>POS</TRNTYPE><DTTRAN>20240104</DTTRAN><TRNAMT>-1.00</TRNAMT>"
            "<NAME>Held</NAME></STMTTRNP></BANKTRANLISTP>") if pending else ""
    return (f"<{kind}><CURDEF>EUR</CURDEF>{acct}<BANKTRANLIST><STMTTRN><TRNTYPE>DEBIT</TRNTYPE>"
            f"<DTPOSTED>20240102</DTPOSTED><TRNAMT>{amount}</TRNAMT><FITID>{fitid}</FITID><NAME>{fitid}</NAME>"
            f"</STMTTRN></BANKTRANLIST>{held}<LEDGERBAL><BALAMT>{amount}</BALAMT><DTASOF>20240103</DTASOF></LEDGERBAL>"
            f"</{kind}>\n")


def _file(*statements: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<OFX>\n' + "".join(statements) + "</OFX>\n").encode()


@pytest.mark.parametrize("chunk", [5, 1 << 20])
def test_a_statement_without_account_is_the_imports_alone_and_no_ones_beside_others(
        monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(ofx, "_CHUNK", chunk)
    alone = parse(_file(_statement("STMTRS", None, "A1", "-777.00")))
    assert [(r.bank_transaction_id, r.account_ref) for r in lines(alone)] == [("A1", None)]  # the import's account
    assert [b.account_ref for b in alone if isinstance(b, StatementBalances)] == [None]
    for statements in ([_statement("STMTRS", None, "A1", "-777.00", pending=True),
                        _statement("CCSTMTRS", "4111222233334444", "C1", "-5.00")],
                       [_statement("CCSTMTRS", "4111222233334444", "C1", "-5.00"),
                        _statement("STMTRS", None, "A1", "-777.00", pending=True)]):
        events = parse(_file(*statements))
        assert [(r.bank_transaction_id, r.account_ref) for r in lines(events)] == [("C1", "4111222233334444")]
        assert [(e.code, e.target, e.pending) for e in errors(events)] == [
            ("RequiredValueMissing", "STMTRS/BANKACCTFROM", False), ("RequiredValueMissing", "STMTRS/BANKACCTFROM",
                                                                     True)]
        assert [b.account_ref for b in events if isinstance(b, StatementBalances)] == ["4111222233334444"]
    # a statement commented out is none
    hidden = parse(_file(_statement("STMTRS", None, "A1", "-777.00"),
                         "<!-- " + _statement("CCSTMTRS", "4111222233334444", "C1", "-5.00") + " -->"))
    assert [(r.bank_transaction_id, r.account_ref) for r in lines(hidden)] == [("A1", None)]


def test_anz_credit_card_sgml_leaves_in_an_xml_file() -> None:
    events = parse_sample("ofxparse-anzcc.ofx")
    assert accounts(events) == [StatementAccount("1234123412341234", "AUD", None, 21)]
    [row] = lines(events)
    assert row.amount == Decimal("-5.50")
    assert row.description == "SOME MEMO"
    assert row.bank_transaction_id == "201705080001"
    assert row.date_posted == row.value_date == date(2017, 5, 8)
    assert row.currency == "AUD"


def test_bank_medium_sgml_one_line_per_transaction() -> None:
    events = parse_sample("ofxparse-bank_medium.ofx")
    assert accounts(events)[0].account_ref == "12300 000012345678"
    rows = lines(events)
    assert [r.amount for r in rows] == [Decimal("-6.60"), Decimal("-316.67"), Decimal("-22.00")]
    assert sum(r.amount for r in rows) == Decimal("-345.27")
    assert [r.line_number for r in rows] == [15, 16, 17]
    assert rows[1].reference == "0"  # CHECKNUM
    assert rows[1].counterparty_name == "Joe's Bald Hairstyles"
    # the memo repeats the name: the memo alone says it all
    assert rows[0].description == "POS MERCHANDISE;MCDONALD'S #112"
    assert rows[0].date_posted == date(2009, 4, 1)
    assert {r.currency for r in rows} == {"CAD"}


def test_bank_small_has_no_statement() -> None:
    assert parse_sample("ofxparse-bank_small.ofx") == []


def test_checking_sgml_with_tabs() -> None:
    events = parse_sample("ofxparse-checking.ofx")
    assert accounts(events)[0] == StatementAccount("1452687~7", "USD", "5472369148", 36)
    rows = lines(events)
    assert [r.amount for r in rows] == [Decimal("0.01"), Decimal("-34.51"), Decimal("-25.00")]
    assert sum(r.amount for r in rows) == Decimal("-59.50")
    assert rows[2].reference == "319"
    assert rows[0].description.startswith("DIVIDEND EARNED FOR PERIOD OF 03/01/2011")


def test_fail_nice_date_missing() -> None:
    events = parse_sample("ofxparse-fail_nice-date_missing.ofx")
    assert not lines(events)
    assert [(e.code, e.line_number, e.target) for e in errors(events)] == [
        ("RequiredValueMissing", 33, "STMTTRN/DTPOSTED"),
        ("RequiredValueMissing", 40, "STMTTRN/DTPOSTED"),
        ("InvalidDate", 48, "STMTTRN/DTPOSTED"),
    ]
    assert errors(events)[2].actual_value == "20120231"


def test_fail_nice_decimal_error() -> None:
    events = parse_sample("ofxparse-fail_nice-decimal_error.ofx")
    assert accounts(events)[0].currency == "CAD"  # `<CURDEF>CAD` without an end tag in an XML-ish file
    [error] = errors(events)
    assert (error.code, error.actual_value, error.line_number) == ("InvalidDate", "201120000000", 34)
    assert not lines(events)


def test_fail_nice_empty_balance_still_imports_the_transaction() -> None:
    events = parse_sample("ofxparse-fail_nice-empty_balance.ofx")
    [row] = lines(events)
    assert (row.amount, row.date_posted, row.description) == (Decimal("120"), date(2011, 3, 8), "Foobar")


@pytest.mark.parametrize("name", ["ofxparse-multiple_accounts.ofx", "ofxparse-multiple_accounts2.ofx"])
def test_multiple_accounts_without_transactions(name: str) -> None:
    events = parse_sample(name)
    assert [(a.account_ref, a.currency, a.bank_id) for a in accounts(events)] == [
        ("9100", "USD", "123"), ("9200", "USD", "123")]
    assert not lines(events)


def test_v102_empty_tags() -> None:
    events = parse_sample("ofxparse-ofx-v102-empty-tags.ofx")
    assert accounts(events) == [StatementAccount("12345678", None, "NPBS", 23)]
    [row] = lines(events)
    assert row.amount == Decimal("12.34")
    assert row.bank_transaction_id is None  # <FITID></FITID>
    assert row.description == "CBA:Transfer"
    assert row.currency == "AUD"  # CURRENCY/CURSYM, the statement has an empty CURDEF


def test_suncorp_cdata() -> None:
    events = parse_sample("ofxparse-suncorp.ofx")
    [row] = lines(events)
    assert row.amount == Decimal("-16.85")
    assert row.counterparty_name == "EFTPOS WDL HANDYWAY ALDI STORE"
    assert row.description == "EFTPOS WDL HANDYWAY ALDI STORE   GEELONG WEST VICAU"
    assert row.reference == "0"
    assert row.line_number == 35


# --- hand-made fixtures -----------------------------------------------------------------------

OFX2_TWO_ACCOUNTS = b"""<?xml version="1.0" encoding="UTF-8"?>
<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>
<OFX>
  <BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID>
    <STMTRS>
      <CURDEF>EUR</CURDEF>
      <BANKACCTFROM><BANKID>BANK1</BANKID><ACCTID>DE89370400440532013000</ACCTID>
        <ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM>
      <BANKTRANLIST><DTSTART>20240101</DTSTART><DTEND>20240131</DTEND>
        <STMTTRN><TRNTYPE>CREDIT</TRNTYPE><DTPOSTED>20240105</DTPOSTED><TRNAMT>1500.00</TRNAMT>
          <FITID>A1</FITID><NAME>Salary &amp; bonus</NAME></STMTTRN>
        <STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20240106</DTPOSTED><TRNAMT>-12,50</TRNAMT>
          <FITID>A2</FITID><NAME>Caf\xc3\xa9</NAME><MEMO>Lunch</MEMO></STMTTRN>
      </BANKTRANLIST>
    </STMTRS></STMTTRNRS></BANKMSGSRSV1>
  <CREDITCARDMSGSRSV1><CCSTMTTRNRS><TRNUID>2</TRNUID>
    <CCSTMTRS>
      <CURDEF>EUR</CURDEF>
      <CCACCTFROM><ACCTID>4111********1111</ACCTID></CCACCTFROM>
      <BANKTRANLIST>
        <STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20240110093000.000[+1:CET]</DTPOSTED>
          <TRNAMT>-42.00</TRNAMT><FITID>C1</FITID><NAME>Books</NAME></STMTTRN>
      </BANKTRANLIST>
    </CCSTMTRS></CCSTMTTRNRS></CREDITCARDMSGSRSV1>
</OFX>
"""


def test_ofx2_xml_two_accounts() -> None:
    events = parse(OFX2_TWO_ACCOUNTS)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["StatementAccount", "ParsedLine", "ParsedLine", "StatementAccount", "ParsedLine"]
    bank, card = accounts(events)
    assert (bank.account_ref, bank.currency, bank.bank_id) == ("DE89370400440532013000", "EUR", "BANK1")
    assert card.account_ref == "4111********1111"
    rows = lines(events)
    assert [(r.account_ref, r.amount) for r in rows] == [
        ("DE89370400440532013000", Decimal("1500.00")),
        ("DE89370400440532013000", Decimal("-12.50")),  # comma decimal
        ("4111********1111", Decimal("-42.00")),
    ]
    assert rows[0].description == "Salary & bonus"
    assert rows[1].description == "Café - Lunch"
    assert rows[2].date_posted == date(2024, 1, 10)


SGML_1252 = (
    b"OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nSECURITY:NONE\r\nENCODING:USASCII\r\nCHARSET:1252\r\n"
    b"COMPRESSION:NONE\r\nOLDFILEUID:NONE\r\nNEWFILEUID:NONE\r\n\r\n"
    b"<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR<BANKACCTFROM><BANKID>1<ACCTID>777"
    b"<ACCTTYPE>SAVINGS</BANKACCTFROM><BANKTRANLIST>\r\n"
    b"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240301<TRNAMT>-9.99<FITID>X1<NAME>Caf\xe9 M\xfcller \x80 fee"
    b"</STMTTRN>\r\n</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\r\n"
)


def test_sgml_charset_1252() -> None:
    [account, row] = parse(SGML_1252)
    assert account == StatementAccount("777", "EUR", "1", 11)
    assert row.description == "Café Müller € fee"
    assert row.line_number == 12


def test_sgml_utf8_encoding_header() -> None:
    data = SGML_1252.replace(b"ENCODING:USASCII", b"ENCODING:UTF-8").replace(
        b"Caf\xe9 M\xfcller \x80 fee", "Café Müller € fee".encode())
    assert lines(parse(data))[0].description == "Café Müller € fee"


def test_xml_declaration_latin1() -> None:
    data = OFX2_TWO_ACCOUNTS.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"').replace(
        b"Caf\xc3\xa9", b"Caf\xe9")
    assert lines(parse(data))[1].description == "Café - Lunch"


def test_every_field_lands_in_its_place() -> None:
    data = (b"<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>USD</CURDEF><BANKACCTFROM><BANKID>9"
            b"</BANKID><ACCTID>55</ACCTID></BANKACCTFROM><BANKTRANLIST>"
            b"<STMTTRN><TRNTYPE>XFER</TRNTYPE><DTPOSTED>20240229</DTPOSTED><DTUSER>20240228</DTUSER>"
            b"<TRNAMT>+1,234.50</TRNAMT><FITID> F-1 </FITID><REFNUM>R9</REFNUM><NAME>Alice</NAME>"
            b"<MEMO>rent share</MEMO><BANKACCTTO><BANKID>2</BANKID><ACCTID>66</ACCTID></BANKACCTTO>"
            b"<CURRENCY><CURRATE>1.1</CURRATE><CURSYM>EUR</CURSYM></CURRENCY></STMTTRN>"
            b"</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>")
    [_account, row] = parse(data)
    assert row == ParsedLine(
        line_number=1, date_posted=date(2024, 2, 29), amount=Decimal("1234.50"), description="Alice - rent share",
        account_ref="55", currency="EUR", value_date=date(2024, 2, 28), bank_transaction_id="F-1",
        reference="R9", counterparty_name="Alice", counterparty_account="66", balance=None,
        original_amount=None, original_currency=None, pending=False)


def test_original_currency() -> None:
    data = OFX2_TWO_ACCOUNTS.replace(
        b"<NAME>Books</NAME>", b"<NAME>Books</NAME><ORIGCURRENCY><CURRATE>0.9</CURRATE><CURSYM>GBP</CURSYM>"
        b"</ORIGCURRENCY>")
    row = lines(parse(data))[-1]
    assert (row.currency, row.original_currency) == ("EUR", "GBP")


def test_invalid_amount_is_a_line_error() -> None:
    data = OFX2_TWO_ACCOUNTS.replace(b"<TRNAMT>-42.00</TRNAMT>", b"<TRNAMT>$42</TRNAMT>")
    events = parse(data)
    [error] = errors(events)
    assert (error.code, error.actual_value, error.target) == ("InvalidAmount", "$42", "STMTTRN/TRNAMT")
    assert error.line_number == 21
    assert len(lines(events)) == 2


@pytest.mark.parametrize("amount", [b"1E999999", b"NaN", b"Infinity", b"1,2,3", b"", b"1e3", b"-1.5E2", b"1,5e2",
                                    b"1_000"])
def test_unusable_amounts(amount: bytes) -> None:
    data = OFX2_TWO_ACCOUNTS.replace(b"<TRNAMT>-42.00</TRNAMT>", b"<TRNAMT>" + amount + b"</TRNAMT>")
    [error] = errors(parse(data))
    assert error.code == ("RequiredValueMissing" if not amount else "InvalidAmount")


def test_missing_amount() -> None:
    data = OFX2_TWO_ACCOUNTS.replace(b"<TRNAMT>1500.00</TRNAMT>", b"")
    [error] = errors(parse(data))
    assert (error.code, error.target, error.line_number) == ("RequiredValueMissing", "STMTTRN/TRNAMT", 10)


def test_unclosed_transaction_ends_at_the_next_one() -> None:
    data = OFX2_TWO_ACCOUNTS.replace(b"<FITID>A1</FITID><NAME>Salary &amp; bonus</NAME></STMTTRN>",
                                     b"<FITID>A1</FITID><NAME>Salary</NAME>")
    rows = lines(parse(data))
    assert [r.bank_transaction_id for r in rows] == ["A1", "A2", "C1"]


@pytest.mark.parametrize("data", [b"", b"hello world", b"date,amount\n2024-01-01,5\n", b"\x00\xff" * 100,
                                  b"<html><body>nope</body></html>"])
def test_not_ofx_is_a_file_error(data: bytes) -> None:
    with pytest.raises(FileError) as info:
        parse(data)
    assert info.value.code == "InvalidSourceData"


def test_unknown_charset_is_unsupported_encoding() -> None:
    with pytest.raises(FileError) as info:
        parse(SGML_1252.replace(b"CHARSET:1252", b"CHARSET:KLINGON"))
    assert info.value.code == "UnsupportedEncoding"


def test_utf16_with_bom() -> None:
    data = OFX2_TWO_ACCOUNTS.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert [r.bank_transaction_id for r in lines(parse(data))] == ["A1", "A2", "C1"]


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
@pytest.mark.parametrize("name", ["oca-test_ofx_wrong.ofx", "ofxparse-suncorp.ofx", "ofxparse-bank_medium.ofx",
                                  "ofxparse-checking.ofx"])
def test_tiny_chunks_give_the_same_events(monkeypatch: pytest.MonkeyPatch, name: str, chunk: int) -> None:
    # Tags, comments and CDATA sections cut at every possible place must not change the result.
    whole = parse_sample(name)
    monkeypatch.setattr(ofx, "_CHUNK", chunk)
    assert parse_sample(name) == whole


def test_investment_statement_bank_transactions() -> None:
    data = (b"<OFX><INVSTMTMSGSRSV1><INVSTMTTRNRS><INVSTMTRS><CURDEF>USD<INVACCTFROM><BROKERID>broker.com"
            b"<ACCTID>INV1</INVACCTFROM><INVTRANLIST><INVBANKTRAN><STMTTRN><TRNTYPE>CREDIT"
            b"<DTPOSTED>20240102<TRNAMT>10.00<FITID>I1<NAME>Dividend</STMTTRN><SUBACCTFUND>CASH"
            b"</INVBANKTRAN></INVTRANLIST></INVSTMTRS></INVSTMTTRNRS></INVSTMTMSGSRSV1></OFX>")
    account, row, note = parse(data)
    assert (account.account_ref, account.bank_id) == ("INV1", "broker.com")
    assert (row.account_ref, row.amount) == ("INV1", Decimal("10.00"))
    # the investment statement itself is not imported: said so with its counts
    assert note.code == "UnimportedSections" and "1 investment statement(s)" in note.message


def test_a_transaction_without_end_tag_ends_at_the_end_of_its_list() -> None:
    # the next statement's transactions are not taken into it, and keep their own account
    data = (b"<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR<BANKACCTFROM><ACCTID>A</BANKACCTFROM>"
            b"<BANKTRANLIST><STMTTRN><DTPOSTED>20240101<TRNAMT>1<FITID>A1<NAME>open</BANKTRANLIST></STMTRS>"
            b"</STMTTRNRS><STMTTRNRS><STMTRS><CURDEF>USD<BANKACCTFROM><ACCTID>B</BANKACCTFROM><BANKTRANLIST>"
            b"<STMTTRN><DTPOSTED>20240102<TRNAMT>2<FITID>B1<NAME>b</STMTTRN></BANKTRANLIST></STMTRS>"
            b"</STMTTRNRS></BANKMSGSRSV1></OFX>")
    rows = lines(parse(data))
    assert [(r.bank_transaction_id, r.account_ref, r.currency, r.description) for r in rows] == [
        ("A1", "A", "EUR", "open"), ("B1", "B", "USD", "b")]


def test_a_transaction_that_never_ends_is_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ofx, "_MAX_BLOCK", 10_000)
    monkeypatch.setattr(ofx, "_CHUNK", 1_000)
    data = (b"<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><BANKTRANLIST>\n<STMTTRN><DTPOSTED>20240101<TRNAMT>1<MEMO>"
            + b"x" * 50_000)
    with pytest.raises(FileError) as info:
        parse(data)
    assert (info.value.code, info.value.target, info.value.details) == ("ElementTooLarge", "STMTTRN",
                                                                       {"lineNumber": 2})


@pytest.mark.parametrize("chunk", [7, 4096])
def test_unclosed_comments_and_cdata_are_read_as_the_pattern_read_them(monkeypatch: pytest.MonkeyPatch,
                                                                       chunk: int) -> None:
    monkeypatch.setattr(ofx, "_CHUNK", chunk)
    body = (b"<STMTTRN><DTPOSTED>20240101<TRNAMT>1<NAME>a<!-- gone --> b<MEMO><![CDATA[x<y]]></STMTTRN>"
            b"<STMTTRN><DTPOSTED>20240102<TRNAMT>2<NAME>c <!-- <!-- twice --><MEMO>d</STMTTRN>")
    data = (b"<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><BANKTRANLIST>" + body + b"</BANKTRANLIST></STMTRS>"
            b"</STMTTRNRS></BANKMSGSRSV1></OFX><!-- never closed <!--")
    rows = lines(parse(data))
    assert [r.description for r in rows] == ["a b - x<y", "c - d"]


def test_amounts_the_ledger_cannot_store_are_rejected_lines() -> None:
    body = b"".join(b"<STMTTRN><DTPOSTED>20240101<TRNAMT>" + amount + b"<FITID>F" + str(i).encode()
                    + b"</STMTTRN>\n" for i, amount in enumerate([b"1.00", b"1." + b"1" * 40, b"2.00"]))
    data = (b"<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><BANKTRANLIST>\n" + body
            + b"</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>")
    events = parse(data)
    assert [r.amount for r in lines(events)] == [Decimal("1.00"), Decimal("2.00")]
    [error] = errors(events)
    assert (error.code, error.target, error.line_number) == ("InvalidAmount", "STMTTRN/TRNAMT", 3)


PENDING = b"""<?xml version="1.0" encoding="UTF-8"?>
<OFX><CREDITCARDMSGSRSV1><CCSTMTTRNRS><TRNUID>1</TRNUID><CCSTMTRS><CURDEF>USD</CURDEF>
<CCACCTFROM><ACCTID>4111********1111</ACCTID></CCACCTFROM>
<BANKTRANLIST><DTSTART>20240301</DTSTART><DTEND>20240305</DTEND>
<STMTTRN><TRNTYPE>POS</TRNTYPE><DTPOSTED>20240301</DTPOSTED><TRNAMT>-5.00</TRNAMT><FITID>A1</FITID><NAME>Bakery</NAME></STMTTRN>
<STMTTRN><TRNTYPE>HOLD</TRNTYPE><DTPOSTED>20240302</DTPOSTED><TRNAMT>-50.00</TRNAMT><FITID>A2</FITID><NAME>Hotel</NAME></STMTTRN>
</BANKTRANLIST>
<BANKTRANLISTP><DTASOF>20240305</DTASOF>
<STMTTRNP><TRNTYPE>POS</TRNTYPE><DTTRAN>20240304120000[-5:EST]</DTTRAN><DTEXPIRE>20240311</DTEXPIRE>
<TRNAMT>-9.99</TRNAMT><REFNUM>R1</REFNUM><NAME>CARD COFFEE</NAME><MEMO>Main St &amp; 5th</MEMO></STMTTRNP>
<STMTTRNP><TRNTYPE>HOLD</TRNTYPE><DTTRAN>soon</DTTRAN><TRNAMT>-1.00</TRNAMT><NAME>Fuel</NAME></STMTTRNP>
</BANKTRANLISTP>
<LEDGERBAL><BALAMT>-55.00</BALAMT><DTASOF>20240305</DTASOF></LEDGERBAL>
</CCSTMTRS></CCSTMTTRNRS></CREDITCARDMSGSRSV1></OFX>
"""


def _sgml(xml: bytes) -> bytes:
    """The same document as OFX 1 writes it: leaves without end tags."""
    import re
    body = re.sub(rb"</(TRNTYPE|DTPOSTED|DTTRAN|DTEXPIRE|TRNAMT|FITID|NAME|MEMO|REFNUM|DTASOF|DTSTART|DTEND|"
                  rb"BALAMT|ACCTID|CURDEF|TRNUID)>", b"", xml.split(b"?>", 1)[1])
    return b"OFXHEADER:100" + body  # (one header line, so the lines keep their numbers)


@pytest.mark.parametrize("data", [PENDING, _sgml(PENDING)], ids=["xml", "sgml"])
def test_pending_transactions_of_the_pending_list_and_holds_are_marked_pending(data: bytes) -> None:
    events = parse(data)
    rows = lines(events)
    assert [(r.line_number, r.amount, r.pending) for r in rows] == [
        (5, Decimal("-5.00"), False), (6, Decimal("-50.00"), True), (9, Decimal("-9.99"), True)]
    coffee = rows[2]
    assert (coffee.date_posted, coffee.description, coffee.reference, coffee.bank_transaction_id,
            coffee.account_ref, coffee.currency) == (
        date(2024, 3, 4), "CARD COFFEE - Main St & 5th", "R1", None, "4111********1111", "USD")
    (error,) = errors(events)
    assert (error.line_number, error.code, error.target, error.actual_value) == (
        11, "InvalidDate", "STMTTRNP/DTTRAN", "soon")
    assert "DTTRAN" in error.message
    # the statement's balances still close the statement, after its pending lines
    assert type(events[-1]).__name__ == "StatementBalances"


@pytest.mark.parametrize("chunk", [7, 64])
def test_pending_lists_read_in_tiny_chunks_give_the_same_events(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    whole = parse(PENDING)
    monkeypatch.setattr(ofx, "_CHUNK", chunk)
    assert parse(PENDING) == whole


def test_a_run_of_holds_is_read_as_one_transaction_at_a_time_alike() -> None:
    run = b"".join(b"<STMTTRN><TRNTYPE>%s</TRNTYPE><DTPOSTED>202403%02d</DTPOSTED><TRNAMT>-%d.00</TRNAMT>"
                   b"<FITID>F%d</FITID><NAME>Shop</NAME></STMTTRN>\n" % (b"HOLD" if i % 3 == 0 else b"POS", i + 1, i, i)
                   for i in range(20))
    data = (b"<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR</CURDEF><BANKACCTFROM><ACCTID>1</ACCTID>"
            b"</BANKACCTFROM><BANKTRANLIST>\n" + run + b"</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>")
    assert [r.pending for r in lines(parse(data))] == [i % 3 == 0 for i in range(20)]


def test_a_pending_transaction_that_never_ends_is_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ofx, "_MAX_BLOCK", 200)
    data = PENDING.replace(b"<MEMO>Main St &amp; 5th</MEMO>", b"<MEMO>x</MEMO>" * 30)
    with pytest.raises(FileError) as caught:
        parse(data)
    assert caught.value.code == "ElementTooLarge" and caught.value.target == "STMTTRNP"


# --- files cut short ---------------------------------------------------------------------------------

def truncations(events: list) -> list[tuple[str, str, int | None]]:
    return [(e.code, e.severity, e.line_number) for e in events if isinstance(e, FileNote)]


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.ofx")))
def test_no_sample_is_taken_for_a_cut_file(name: str) -> None:
    assert not [e for e in parse_sample(name) if isinstance(e, FileNote) and e.code == "FileTruncated"]


@pytest.mark.parametrize(("cut_at", "rows"), [
    (b"<TRNAMT>-42.00", 2),  # the last transaction cut before its amount: rejected, the others kept
    (b"00</TRNAMT><FITID>C1", 3),  # ... inside its amount (`-42.` is read: the warning says why to look)
    (b"</STMTTRN>\n      </BANKTRANLIST>\n    </CCSTMTRS>", 3),  # the last </STMTTRN>
    (b"</CCSTMTRS>", 3),
    (b"</OFX>", 3),  # every aggregate but the document closed
    (b"<CREDITCARDMSGSRSV1>", 2),  # between two statements
])
def test_a_file_cut_short_warns_at_its_last_line(cut_at: bytes, rows: int) -> None:
    cut = OFX2_TWO_ACCOUNTS[:OFX2_TWO_ACCOUNTS.rindex(cut_at) + (4 if cut_at.startswith(b"00<") else 0)]
    events = parse(cut)
    assert truncations(events) == [("FileTruncated", "warning", cut.rstrip().count(b"\n") + 1)]
    assert len(lines(events)) == rows
    assert truncations(parse(OFX2_TWO_ACCOUNTS[:OFX2_TWO_ACCOUNTS.rindex(b"</OFX>")])) == [
        ("FileTruncated", "warning", 24)]  # (its </CCSTMTTRNRS></CREDITCARDMSGSRSV1> line)


def test_an_ofx_1_sgml_file_cut_short_warns_too() -> None:
    data = (SAMPLES / "ofxparse-checking.ofx").read_bytes()
    cut = data[:data.rindex(b"</STMTTRN>")]
    [(code, severity, line)] = truncations(parse(cut))
    assert (code, severity, line) == ("FileTruncated", "warning", cut.rstrip().count(b"\n") + 1)
    assert truncations(parse(data + b"\n\n")) == []
