"""CAMT.052/053/054: the sample files and hand-made fixtures for each rule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.support.samples import SAMPLES as ALL_SAMPLES
from tests.unit.formats.helpers import errors, lines
from tximport.formats import camt, camt_fast
from tximport.formats.base import (
    BytesSource,
    FileError,
    FileSource,
    ParsedLine,
    ParseOptions,
    StatementAccount,
    StatementBalances,
)
from tximport.formats.registry import FORMATS

SAMPLES = ALL_SAMPLES / "camt053"


def parse(data: bytes | str, parser=camt.parse_camt053) -> list:
    if isinstance(data, str):
        data = data.encode()
    return list(parser(BytesSource(data), ParseOptions()))


def parse_sample(name: str) -> list:
    path = SAMPLES / name
    return list(camt.parse_camt053(FileSource(str(path)), ParseOptions()))



def test_registry_entries() -> None:
    assert FORMATS["CAMT053#v1"].accounts_supported == "multi"
    assert set(FORMATS["CAMT053#v1"].file_extensions) == {"XML", "TXT"}
    assert FORMATS["CAMT052#v1"].parser is camt.parse_camt052
    assert FORMATS["CAMT054#v1"].parser is camt.parse_camt054


# --- the sample files -------------------------------------------------------------------------

def test_sample_no_entries_is_an_empty_import() -> None:
    account, balances = parse_sample("oca-test-camt053-no-ntry.xml")
    assert account == StatementAccount("NL77ABNA0574908765", "CHF", "ABNANL2A", 7)
    assert isinstance(balances, StatementBalances) and balances.opening == balances.closing


def test_sample_v02_with_a_batch_and_a_reversal() -> None:
    events = parse_sample("oca-test-camt053.xml")
    assert events[0] == StatementAccount("NL77ABNA0574908765", "EUR", "ABNANL2A", 7)
    rows = lines(events)
    assert [r.amount for r in rows] == [Decimal("-754.25"), Decimal("-564.05"), Decimal("-100.00"),
                                        Decimal("1405.31")]
    assert sum(r.amount for r in rows) == Decimal("-12.99")
    first = rows[0]
    assert first.line_number == 50
    assert first.reference == "435005714488-ABNO33052620"
    assert first.description == "Insurance policy 857239PERIOD 01.01.2014 - 31.12.2014"
    assert (first.counterparty_name, first.counterparty_account) == ("INSURANCE COMPANY TESTX",
                                                                    "NL46ABNA0499998748")
    # the reversed direct debit (DBIT + RvslInd) is split into its two TxDtls, both money out
    assert [r.line_number for r in rows[1:3]] == [113, 113]
    assert [r.reference for r in rows[1:3]] == ["TESTBANK/NL/20141229/01206408", "TESTBANK/NL/20141229/01206407"]
    # no RmtInf: the additional transaction information describes it
    assert rows[3].description == "#RD PARTY MEDIA CUSNO 90782 4210773"
    assert rows[3].counterparty_name == "3rd party Media"
    assert {(r.date_posted, r.value_date, r.currency) for r in rows} == {
        (date(2014, 1, 5), date(2014, 1, 5), "EUR")}
    assert not errors(events)


def test_sample_v04_batch_with_txdtls_amounts() -> None:
    events = parse_sample("oca-test-camt053-txdtls.xml")
    assert events[0] == StatementAccount("CH1111000000123456789", "CHF", None, 13)
    rows = lines(events)
    assert [r.amount for r in rows] == [Decimal("2187.00"), Decimal("1296.00")]
    assert sum(r.amount for r in rows) == Decimal("3483.00")  # the entry's amount
    # one AcctSvcrRef for the entry, repeated on every TxDtls: made unique per line
    assert [r.bank_transaction_id for r in rows] == ["20170323001234567891234567891234/1",
                                                     "20170323001234567891234567891234/2"]
    assert [r.counterparty_account for r in rows] == ["CH2222000000123456789", "CH3333000000123456789"]
    assert rows[0].description == "302388292000011111111111111"
    assert (rows[0].date_posted, rows[0].value_date) == (date(2017, 3, 22), date(2017, 3, 23))


# --- hand-made fixtures -----------------------------------------------------------------------

def doc(entries: str, version: str = "053.001.08", acct: str = "<Id><IBAN>DE89370400440532013000</IBAN></Id>"
        "<Ccy>EUR</Ccy>", kind: tuple[str, str] = ("BkToCstmrStmt", "Stmt")) -> str:
    outer, stmt = kind
    return (f'<?xml version="1.0"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{version}">\n'
            f"<{outer}>\n<GrpHdr><MsgId>1</MsgId></GrpHdr>\n<{stmt}>\n<Id>S1</Id>\n<Acct>{acct}</Acct>\n"
            f"{entries}</{stmt}>\n</{outer}>\n</Document>\n")


def entry(amount: str = '<Amt Ccy="EUR">10.00</Amt>', indicator: str = "CRDT", status: str = "<Sts><Cd>BOOK</Cd></Sts>",
          details: str = "", extra: str = "") -> str:
    return (f"<Ntry>\n{amount}<CdtDbtInd>{indicator}</CdtDbtInd>{status}"
            f"<BookgDt><DtTm>2024-03-01T10:00:00</DtTm></BookgDt><ValDt><Dt>2024-03-02</Dt></ValDt>"
            f"<AcctSvcrRef>REF1</AcctSvcrRef>{extra}<NtryDtls>{details}</NtryDtls></Ntry>\n")


def test_empty_statement_v08() -> None:
    assert parse(doc("")) == [StatementAccount("DE89370400440532013000", "EUR", None, 5)]


def test_v08_namespace_single_entry() -> None:
    details = ("<TxDtls><Refs><EndToEndId>E2E-1</EndToEndId></Refs><RltdPties><Dbtr><Pty><Nm>Alice</Nm></Pty>"
               "</Dbtr><DbtrAcct><Id><Othr><Id>12345678</Id></Othr></Id></DbtrAcct></RltdPties>"
               "<RmtInf><Ustrd>Invoice 1</Ustrd><Ustrd>and 2</Ustrd></RmtInf></TxDtls>")
    [account, row] = parse(doc(entry(details=details)))
    assert account.account_ref == "DE89370400440532013000"
    assert row == ParsedLine(line_number=8, date_posted=date(2024, 3, 1), amount=Decimal("10.00"),
                             description="Invoice 1 and 2", account_ref="DE89370400440532013000", currency="EUR",
                             value_date=date(2024, 3, 2), bank_transaction_id="REF1", reference="E2E-1",
                             counterparty_name="Alice", counterparty_account="12345678")


@pytest.mark.parametrize("version", ["053.001.02", "053.001.04", "053.001.06", "053.001.10", "053.001.13"])
def test_versions(version: str) -> None:
    status = "<Sts>BOOK</Sts>" if version == "053.001.02" else "<Sts><Cd>BOOK</Cd></Sts>"
    rows = lines(parse(doc(entry(indicator="DBIT", status=status), version=version)))
    assert [r.amount for r in rows] == [Decimal("-10.00")]


def test_batch_split_with_older_amount_details() -> None:
    details = "".join(
        f"<TxDtls><Refs><EndToEndId>E{n}</EndToEndId></Refs><AmtDtls><TxAmt><Amt Ccy=\"EUR\">{n}.00</Amt>"
        f"</TxAmt></AmtDtls><RmtInf><Ustrd>part {n}</Ustrd></RmtInf></TxDtls>" for n in (3, 7))
    rows = lines(parse(doc(entry(indicator="DBIT", details=details))))
    assert [(r.amount, r.description, r.bank_transaction_id, r.reference) for r in rows] == [
        (Decimal("-3.00"), "part 3", "REF1/1", "E3"), (Decimal("-7.00"), "part 7", "REF1/2", "E7")]


def test_batch_details_in_another_currency_split_by_their_booked_amounts() -> None:
    details = "".join(
        f'<TxDtls><Amt Ccy="USD">100.00</Amt><AmtDtls><InstdAmt><Amt Ccy="USD">100.00</Amt></InstdAmt>'
        f'<TxAmt><Amt Ccy="EUR">92.00</Amt></TxAmt></AmtDtls><RmtInf><Ustrd>part {n}</Ustrd></RmtInf></TxDtls>'
        for n in (1, 2))
    amount = '<Amt Ccy="EUR">184.00</Amt>'
    for text_reader in (True, False):
        with pytest.MonkeyPatch.context() as m:
            m.setattr(camt_fast, "ENABLED", text_reader)
            rows = lines(parse(doc(entry(amount=amount, indicator="DBIT", details=details))))
        assert [(r.amount, r.currency, r.original_amount, r.original_currency) for r in rows] == [
            (Decimal("-92.00"), "EUR", Decimal("-100.00"), "USD")] * 2


@pytest.mark.parametrize("parts", [("10.00", "20.00"), ("30.00", "20.00")])
def test_batch_details_that_do_not_make_the_booked_amount_stay_one_line(parts: tuple[str, str]) -> None:
    details = "".join(f'<TxDtls><Amt Ccy="EUR">{part}</Amt><RmtInf><Ustrd>part {n}</Ustrd></RmtInf></TxDtls>'
                      for n, part in enumerate(parts))
    for text_reader in (True, False):
        with pytest.MonkeyPatch.context() as m:
            m.setattr(camt_fast, "ENABLED", text_reader)
            [row] = lines(parse(doc(entry(amount='<Amt Ccy="EUR">40.00</Amt>', details=details))))
        assert (row.amount, row.bank_transaction_id) == (Decimal("40.00"), "REF1")


def test_batch_without_amounts_stays_one_line() -> None:
    details = "<TxDtls><RmtInf><Ustrd>a</Ustrd></RmtInf></TxDtls><TxDtls><RmtInf><Ustrd>b</Ustrd></RmtInf></TxDtls>"
    [row] = lines(parse(doc(entry(details=details, extra="<AddtlNtryInf>Batch of 2</AddtlNtryInf>"))))
    assert (row.amount, row.description, row.bank_transaction_id) == (Decimal("10.00"), "a", "REF1")


def test_pending_entry_is_flagged() -> None:
    events = parse(doc(entry(status="<Sts><Cd>PDNG</Cd></Sts>") + entry(status="<Sts>BOOK</Sts>")))
    assert [r.pending for r in lines(events)] == [True, False]


def test_entry_without_amount_is_a_line_error() -> None:
    events = parse(doc(entry() + entry(amount="") + entry(indicator="DBIT")))
    [error] = errors(events)
    assert error.code == "RequiredValueMissing"
    assert error.target == "/Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt"
    assert error.line_number == 10  # the entries span two lines each, from line 8
    assert [r.amount for r in lines(events)] == [Decimal("10.00"), Decimal("-10.00")]


@pytest.mark.parametrize(("amount", "indicator", "code", "target"), [
    ('<Amt Ccy="EUR">ten</Amt>', "CRDT", "InvalidAmount", "Amt"),
    ('<Amt Ccy="EUR">-5</Amt>', "CRDT", "InvalidAmount", "Amt"),
    # xs:decimal has no exponent (Decimal alone reads `1E2` as 100)
    ('<Amt Ccy="EUR">1E2</Amt>', "CRDT", "InvalidAmount", "Amt"),
    ('<Amt Ccy="EUR">1.5e-1</Amt>', "DBIT", "InvalidAmount", "Amt"),
    ('<Amt Ccy="EUR">1_000</Amt>', "CRDT", "InvalidAmount", "Amt"),
    ('<Amt Ccy="EUR">5</Amt>', "", "RequiredValueMissing", "CdtDbtInd"),
    ('<Amt Ccy="EUR">5</Amt>', "CREDIT", "InvalidAmount", "CdtDbtInd"),
])
def test_bad_entries(amount: str, indicator: str, code: str, target: str) -> None:
    [error] = errors(parse(doc(entry(amount=amount, indicator=indicator))))
    assert (error.code, error.target) == (code, f"/Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/{target}")


def test_bad_date() -> None:
    data = doc(entry()).replace("2024-03-01T10:00:00", "2024-13-01T10:00:00")
    [error] = errors(parse(data))
    assert (error.code, error.actual_value) == ("InvalidDate", "2024-13-01T10:00:00")


@pytest.mark.parametrize(("damaged", "written", "target"), [
    ("2024-03-01T10:00:00", "2024-13-01T10:00:00", "BookgDt"), ("2024-03-02", "2024-02-30", "ValDt"),
    ("2024-03-02", "2024-03-32", "ValDt")])
def test_a_date_that_does_not_read_is_named_where_it_stands(damaged: str, written: str, target: str) -> None:
    """A value date that does not exist was reported as the booking date, quoting the booking date's own text."""
    [error] = errors(parse(doc(entry()).replace(damaged, written)))
    assert (error.code, error.actual_value, error.target) == (
        "InvalidDate", written, f"/Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/{target}")
    assert written in error.message


def test_several_statements_and_currency_from_the_balance() -> None:
    one = doc(entry())
    second = ("<Stmt><Id>S2</Id><Acct><Id><Othr><Id>ACC-2</Id></Othr></Id></Acct><Bal><Amt Ccy=\"USD\">1"
              "</Amt></Bal>" + entry(amount='<Amt Ccy="USD">4</Amt>') + "</Stmt>\n")
    data = one.replace("</BkToCstmrStmt>", second + "</BkToCstmrStmt>")
    events = parse(data)
    assert [(type(e).__name__, getattr(e, "account_ref", None)) for e in events] == [
        ("StatementAccount", "DE89370400440532013000"), ("ParsedLine", "DE89370400440532013000"),
        ("StatementAccount", "ACC-2"), ("ParsedLine", "ACC-2")]
    assert events[2].currency == "USD"
    assert events[3].amount == Decimal("4")


def test_camt052_and_camt054() -> None:
    report = doc(entry(), version="052.001.08", kind=("BkToCstmrAcctRpt", "Rpt"))
    assert [r.amount for r in lines(parse(report, camt.parse_camt052))] == [Decimal("10.00")]
    note = doc(entry(), version="054.001.08", kind=("BkToCstmrDbtCdtNtfctn", "Ntfctn"))
    assert [r.amount for r in lines(parse(note, camt.parse_camt054))] == [Decimal("10.00")]
    with pytest.raises(FileError) as info:
        parse(report)
    assert info.value.code == "InvalidSourceData" and "camt.052" in info.value.message


def test_original_currency() -> None:
    details = ("<TxDtls><AmtDtls><InstdAmt><Amt Ccy=\"USD\">11.00</Amt></InstdAmt></AmtDtls></TxDtls>")
    [row] = lines(parse(doc(entry(indicator="DBIT", details=details))))
    assert (row.amount, row.original_amount, row.original_currency) == (Decimal("-10.00"), Decimal("-11.00"), "USD")


def test_no_namespace_is_read() -> None:
    data = doc(entry()).replace(' xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"', "")
    assert len(lines(parse(data))) == 1


@pytest.mark.parametrize("data", [
    b"",
    b"not xml at all",
    b"<Document xmlns='urn:example:other'><x/></Document>",
    b"<OFX><BANKMSGSRSV1/></OFX>",
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "boom">]><Document><BkToCstmrStmt>&x;</BkToCstmrStmt></Document>',
    b'<?xml version="1.0"?><!DOCTYPE Document SYSTEM "http://example.invalid/x.dtd"><Document>&ext;</Document>',
])
def test_not_camt_is_a_file_error(data: bytes) -> None:
    with pytest.raises(FileError) as info:
        parse(data)
    assert info.value.code == "InvalidSourceData"


def test_truncated_file_is_a_file_error_after_the_lines_it_read() -> None:
    data = doc(entry() * 3).encode()
    cut = data[: data.rindex(b"<Ntry>") + 20]
    events: list = []
    with pytest.raises(FileError) as info:
        events.extend(camt.parse_camt053(BytesSource(cut), ParseOptions()))
    assert info.value.code == "InvalidSourceData"
    assert len(lines(events)) == 2


def test_each_line_names_the_place_of_its_amount_as_an_xpath() -> None:
    """The target a check after parsing gives (an amount finer than its currency): the entry's `Amt`, or for a
    line split from a batch entry the `Amt` (or `AmtDtls/TxAmt/Amt`) of its TxDtls."""
    batch = ('<TxDtls><Amt Ccy="EUR">3.335</Amt></TxDtls>'
             '<TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">6.665</Amt></TxAmt></AmtDtls></TxDtls>')
    events = parse(doc(entry() + entry(details=batch)))
    base = "/Document/BkToCstmrStmt/Stmt[1]"
    assert [(r.amount, r.amount_target) for r in lines(events)] == [
        (Decimal("10.00"), f"{base}/Ntry[1]/Amt"), (Decimal("3.335"), f"{base}/Ntry[2]/NtryDtls/TxDtls[1]/Amt"),
        (Decimal("6.665"), f"{base}/Ntry[2]/NtryDtls/TxDtls[2]/AmtDtls/TxAmt/Amt")]


def _reversal(parties: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04">'
            "<BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr><Stmt><Id>S</Id><Acct><Id><IBAN>CH9300762011623852957"
            "</IBAN></Id></Acct>"
            '<Ntry><Amt Ccy="CHF">250.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2024-01-30</Dt>'
            "</BookgDt><AcctSvcrRef>R1</AcctSvcrRef><NtryDtls><TxDtls><RltdPties><Cdtr><Nm>Swisscom AG</Nm></Cdtr>"
            "<CdtrAcct><Id><IBAN>CH5604835012345678009</IBAN></Id></CdtrAcct></RltdPties></TxDtls></NtryDtls></Ntry>"
            '<Ntry><Amt Ccy="CHF">250.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><RvslInd>true</RvslInd><Sts>BOOK</Sts>'
            "<BookgDt><Dt>2024-01-31</Dt></BookgDt><AcctSvcrRef>R2</AcctSvcrRef><NtryDtls><TxDtls><RltdPties>"
            f"{parties}</RltdPties></TxDtls></NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>").encode()


@pytest.mark.parametrize("parties", [
    "<Cdtr><Nm>Swisscom AG</Nm></Cdtr><CdtrAcct><Id><IBAN>CH5604835012345678009</IBAN></Id></CdtrAcct>",
    "<Dbtr><Nm>Swisscom AG</Nm></Dbtr><DbtrAcct><Id><IBAN>CH5604835012345678009</IBAN></Id></DbtrAcct>"])
def test_a_reversal_keeps_the_counterparty_of_the_transaction_it_reverses(parties: str) -> None:
    """A reversed debit (CRDT, RvslInd) names its creditor as the debit did (ISO 20022 keeps the parties): the
    counterparty is Swisscom, not nobody; a bank that named it as the debtor is read too. Both readers alike."""
    for parser in (camt.parse_camt053, FORMATS["CAMT053#v1"].parser):
        debit, reversal = lines(parse(_reversal(parties), parser))
        assert reversal.reversal and reversal.amount == Decimal("250.00")
        assert [(ln.counterparty_name, ln.counterparty_account) for ln in (debit, reversal)] == [
            ("Swisscom AG", "CH5604835012345678009")] * 2
