"""The balances each reader states (StatementBalances), from real bank files and built statements."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.support.samples import SAMPLES
from tests.support.statements import Line, mt940
from tximport.formats.base import Balance, BytesSource, FileSource, ParsedLine, ParseOptions, StatementBalances
from tximport.formats.registry import FORMATS

D = Decimal


def _events(fmt: str, path: str) -> list:
    return list(FORMATS[fmt].parser(FileSource(str(SAMPLES / path)), ParseOptions()))


def _balances(events: list) -> list[StatementBalances]:
    return [e for e in events if isinstance(e, StatementBalances)]


def test_camt_opening_and_closing_booked_balances_with_statement_id_and_period():
    (stated,) = _balances(_events("CAMT053#v1", "camt053/oca-test-camt053-txdtls.xml"))
    assert stated.account_ref == "CH1111000000123456789" and stated.currency == "CHF"
    assert stated.opening == Balance(D("75960.15"), date(2017, 3, 22))
    assert stated.closing == Balance(D("79443.15"), date(2017, 3, 23))
    assert (stated.statement_id, stated.sequence) == ("20170323123456789012345", "58")
    assert (stated.period_start, stated.period_end) == (date(2017, 3, 23), date(2017, 3, 23))
    assert not (stated.opening_interim or stated.closing_interim)


def test_camt_balances_come_after_the_statements_lines():
    events = _events("CAMT053#v1", "camt053/oca-test-camt053.xml")
    assert isinstance(events[-1], StatementBalances)
    assert all(isinstance(e, ParsedLine) for e in events[1:-1])


def test_camt_interim_balances_and_a_debit_balance():
    xml = """<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>P2</Id>
<Acct><Id><IBAN>DE02100100100006820101</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>ITBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>
<Dt><Dt>2024-03-01</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>ITBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2024-03-01</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLAV</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">4.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2024-03-01</Dt></Dt></Bal>
<Ntry><Amt Ccy="EUR">15.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2024-03-01</Dt></BookgDt></Ntry>
</Stmt></BkToCstmrStmt></Document>"""
    events = list(FORMATS["CAMT053#v1"].parser(BytesSource(xml.encode()), ParseOptions()))
    (stated,) = _balances(events)
    assert stated.opening == Balance(D("-10.00"), date(2024, 3, 1)) and stated.opening_interim
    assert stated.closing == Balance(D("5.00"), date(2024, 3, 1)) and stated.closing_interim
    assert stated.available == Balance(D("4.00"), date(2024, 3, 1))


def test_mt940_balances_of_each_message_final_and_interim():
    first, second = _balances(_events("MT940#v1", "mt940/mt940-jejik-abnamro.sta"))
    assert first.account_ref == "517852257" and first.currency == "EUR"
    assert first.opening == Balance(D("3236.28"), date(2011, 5, 22))
    assert first.closing == Balance(D("876.84"), date(2011, 5, 23))
    assert not first.opening_interim and second.opening_interim and second.closing_interim  # :60M: / :62M:


def test_mt940_debit_balances_and_the_available_balance():
    stated = _balances(_events("MT940#v1", "mt940/mt940-betterplace-sepa_mt9401.sta"))
    assert len(stated) == 26
    assert stated[0].opening == Balance(D("-1234718.36"), date(2007, 9, 3))
    assert stated[0].available == Balance(D("-1237628.23"), date(2007, 9, 4))


def test_mt940_built_statement_states_what_it_was_built_with():
    text = mt940("NL01X", 7, D("-5.00"), [Line(date(2024, 1, 2), D("7.50"), "IN")], opened=date(2024, 1, 1),
                 closed=date(2024, 1, 31))
    events = list(FORMATS["MT940#v1"].parser(BytesSource(text.encode()), ParseOptions()))
    (stated,) = _balances(events)
    assert stated.opening == Balance(D("-5.00"), date(2024, 1, 1))
    assert stated.closing == Balance(D("2.50"), date(2024, 1, 31))
    assert (stated.statement_id, stated.sequence) == ("STMT0007", "00007/1")


def test_ofx_ledger_balance_is_the_closing_and_avail_balance_the_available():
    (stated,) = _balances(_events("XML#OFX#v1", "ofx/ofxparse-checking.ofx"))
    assert stated.opening is None
    assert stated.closing == Balance(D("100.99"), date(2013, 5, 25))
    assert stated.available == Balance(D("75.99"), date(2013, 5, 25))
    assert (stated.period_start, stated.period_end) == (date(2000, 1, 1), date(2013, 5, 25))


def test_ofx_each_statement_of_a_multi_account_file_states_its_own():
    stated = _balances(_events("XML#OFX#v1", "ofx/ofxparse-multiple_accounts2.ofx"))
    assert [(s.account_ref, s.closing.amount if s.closing else None) for s in stated] == [
        ("9100", D("111")), ("9200", D("222"))]


def test_a_balance_amount_with_an_exponent_is_left_out_as_any_balance_that_does_not_read():
    """`Decimal` reads `1E2` as 100: no camt, MT940 or OFX balance is written so (they are plain decimals), and
    a balance that does not read is left out (the statement states none), never taken for another amount."""
    camt = """<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>P2</Id>
<Acct><Id><IBAN>DE02100100100006820101</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1E2</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2024-03-01</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">115.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2024-03-01</Dt></Dt></Bal>
<Ntry><Amt Ccy="EUR">15.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2024-03-01</Dt></BookgDt></Ntry>
</Stmt></BkToCstmrStmt></Document>"""
    (stated,) = _balances(list(FORMATS["CAMT053#v1"].parser(BytesSource(camt.encode()), ParseOptions())))
    assert stated.opening is None and stated.closing == Balance(D("115.00"), date(2024, 3, 1))

    text = mt940("NL01X", 7, D("100.00"), [Line(date(2024, 1, 2), D("7.50"), "IN")], opened=date(2024, 1, 1),
                 closed=date(2024, 1, 31)).replace("EUR100,00", "EUR1E2")
    (stated,) = _balances(list(FORMATS["MT940#v1"].parser(BytesSource(text.encode()), ParseOptions())))
    assert stated.opening is None and stated.closing == Balance(D("107.50"), date(2024, 1, 31))

    ofx = (SAMPLES / "ofx/ofxparse-checking.ofx").read_bytes()
    assert b"<BALAMT>100.99" in ofx
    events = list(FORMATS["XML#OFX#v1"].parser(BytesSource(ofx.replace(b"<BALAMT>100.99", b"<BALAMT>1.0099E2")),
                                               ParseOptions()))
    (stated,) = _balances(events)
    assert stated.closing is None and stated.available == Balance(D("75.99"), date(2013, 5, 25))
