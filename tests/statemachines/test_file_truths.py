"""What real bank files say about themselves reaches the import and its review (issue 8, file formats):
an OFX STATUS error, a file with nothing to import, investment sections not imported, CAMT reversals, an
MT942 interim report."""

from __future__ import annotations

from tests.support.client import Api

OFX_HEAD = b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nENCODING:USASCII\nCHARSET:1252\n\n"


def test_an_ofx_whose_status_is_an_error_ends_in_error_with_the_banks_code_and_message(api: Api):
    account = api.create_account("123456")
    body = OFX_HEAD + (b"<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>15500<SEVERITY>ERROR"
                       b"<MESSAGE>Signon invalid</STATUS><DTSERVER>20240101</SONRS></SIGNONMSGSRSV1></OFX>")
    imp = api.import_file(account, body, file_format="XML#OFX#v1")
    assert imp["status"] == "error"
    detail = imp["errorDetails"][0]
    assert detail["code"] == "BankReportedError" and "15500" in detail["message"]
    assert "Signon invalid" in detail["message"]


def test_an_ofx_with_only_investment_sections_ends_in_error_and_says_what_it_held(api: Api):
    account = api.create_account("999")
    body = OFX_HEAD + (
        b"<OFX><INVSTMTMSGSRSV1><INVSTMTTRNRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><INVSTMTRS><CURDEF>USD"
        b"<INVACCTFROM><BROKERID>broker.example<ACCTID>999</INVACCTFROM><INVTRANLIST><BUYSTOCK><INVBUY>"
        b"<UNITS>10</INVBUY></BUYSTOCK><INCOME><TOTAL>5</INCOME></INVTRANLIST><INVPOSLIST><POSSTOCK><INVPOS>"
        b"<UNITS>1</INVPOS></POSSTOCK></INVPOSLIST></INVSTMTRS></INVSTMTTRNRS></INVSTMTMSGSRSV1></OFX>")
    imp = api.import_file(account, body, file_format="XML#OFX#v1")
    assert imp["status"] == "error"
    codes = [(d["code"], d["severity"]) for d in imp["errorDetails"]]
    assert codes[0] == ("EmptyFile", "error")
    assert ("UnimportedSections", "info") in codes
    assert "2 investment transaction(s) and 1 position(s)" in imp["errorDetails"][0]["message"]


def test_a_header_only_csv_ends_in_error(api: Api):
    imp = api.import_file(api.create_account(), b"Date,Description,Amount\n")
    assert imp["status"] == "error" and imp["errorDetails"][0]["code"] == "EmptyFile"


CAMT = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>m</MsgId>
<CreDtTm>2024-01-03T10:00:00</CreDtTm></GrpHdr><Stmt><Id>s</Id><CreDtTm>2024-01-03T10:00:00</CreDtTm>
<Acct><Id><IBAN>NL77ABNA0574908765</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Ntry><Amt Ccy="EUR">12.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2024-01-02</Dt></BookgDt>
<AcctSvcrRef>r1</AcctSvcrRef><AddtlNtryInf>Coffee</AddtlNtryInf></Ntry>
<Ntry><Amt Ccy="EUR">12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><RvslInd>true</RvslInd><Sts>BOOK</Sts>
<BookgDt><Dt>2024-01-03</Dt></BookgDt><AcctSvcrRef>r2</AcctSvcrRef><AddtlNtryInf>Coffee reversed</AddtlNtryInf></Ntry>
</Stmt></BkToCstmrStmt></Document>"""


def test_a_camt_reversal_is_marked_on_the_line_and_in_review_and_the_ledger(api: Api):
    account = api.create_account("NL77ABNA0574908765")
    imp = api.import_file(account, CAMT, file_format="CAMT053#v1")
    assert imp["status"] == "awaitingConfirmation", imp["errorDetails"]
    rows = {r["description"]: r for r in api.review(imp["id"])}
    assert (rows["Coffee"]["reversal"], rows["Coffee reversed"]["reversal"]) == (False, True)
    assert rows["Coffee reversed"]["transactionAmount"] == 1250
    api.confirm_and_complete(imp["id"])
    assert {r["description"]: r["reversal"] for r in api.ledger(account)} == {"Coffee": False,
                                                                              "Coffee reversed": True}


MT942 = b""":20:INTERIM1
:25:NL77ABNA0574908765
:28C:1/1
:34F:EURD0,
:13D:2401021200+0100
:61:2401020102D12,50NTRFNONREF//B1
:86:Coffee
:90D:1EUR12,50
:90C:0EUR0,
"""


def test_an_mt942_is_marked_as_an_interim_report_in_the_import_and_its_review(api: Api):
    account = api.create_account("NL77ABNA0574908765")
    imp = api.import_file(account, MT942, file_format="MT940#v1")
    assert imp["status"] == "awaitingConfirmation", imp["errorDetails"]
    assert imp["interimReport"] is True
    assert "InterimReport" in {d["code"] for d in imp["errorDetails"]}
    page = api.ok("GET", f"/imports/{imp['id']}/reviewtransactions")
    assert page["meta"]["interimReport"] is True
