"""Writers of OFX, CAMT and MT940 documents from plain rows, for property tests, differential
tests against ofxtools and the benchmark."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape


@dataclass
class Txn:
    posted: date
    amount: Decimal
    fitid: str
    name: str
    memo: str = ""


@dataclass
class Stmt:
    account: str
    currency: str
    txns: list[Txn] = field(default_factory=list)
    bank_id: str = "123456789"
    card: bool = False


# --- OFX ---------------------------------------------------------------------------------------

SGML_HEADER = ("OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:1252\n"
               "COMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n")
XML_HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" '
              'OLDFILEUID="NONE" NEWFILEUID="NONE"?>\n')


def _leaf(tag: str, value: str, xml: bool) -> str:
    return f"<{tag}>{escape(value)}</{tag}>" if xml else f"<{tag}>{escape(value)}"


def ofx_transaction(t: Txn, xml: bool) -> str:
    kind = "CREDIT" if t.amount >= 0 else "DEBIT"
    parts = [_leaf("TRNTYPE", kind, xml), _leaf("DTPOSTED", t.posted.strftime("%Y%m%d") + "120000", xml),
             _leaf("TRNAMT", str(t.amount), xml), _leaf("FITID", t.fitid, xml), _leaf("NAME", t.name, xml)]
    if t.memo:
        parts.append(_leaf("MEMO", t.memo, xml))
    return "<STMTTRN>\n" + "\n".join(parts) + "\n</STMTTRN>\n"


def ofx_head(xml: bool) -> str:
    signon = (f"<SIGNONMSGSRSV1><SONRS><STATUS>{_leaf('CODE', '0', xml)}{_leaf('SEVERITY', 'INFO', xml)}"
              f"</STATUS>{_leaf('DTSERVER', '20240101120000', xml)}{_leaf('LANGUAGE', 'ENG', xml)}</SONRS>"
              "</SIGNONMSGSRSV1>\n")
    return (XML_HEADER if xml else SGML_HEADER) + "<OFX>\n" + signon


def ofx_statement_open(s: Stmt, xml: bool, uid: int) -> str:
    status = f"<STATUS>{_leaf('CODE', '0', xml)}{_leaf('SEVERITY', 'INFO', xml)}</STATUS>"
    if s.card:
        acct = f"<CCACCTFROM>{_leaf('ACCTID', s.account, xml)}</CCACCTFROM>"
        head = f"<CCSTMTTRNRS>{_leaf('TRNUID', str(uid), xml)}{status}<CCSTMTRS>"
    else:
        acct = (f"<BANKACCTFROM>{_leaf('BANKID', s.bank_id, xml)}{_leaf('ACCTID', s.account, xml)}"
                f"{_leaf('ACCTTYPE', 'CHECKING', xml)}</BANKACCTFROM>")
        head = f"<STMTTRNRS>{_leaf('TRNUID', str(uid), xml)}{status}<STMTRS>"
    return (f"{head}{_leaf('CURDEF', s.currency, xml)}{acct}\n<BANKTRANLIST>"
            f"{_leaf('DTSTART', '20000101', xml)}{_leaf('DTEND', '20300101', xml)}\n")


def ofx_statement_close(s: Stmt, xml: bool) -> str:
    bal = f"<LEDGERBAL>{_leaf('BALAMT', '0.00', xml)}{_leaf('DTASOF', '20240101', xml)}</LEDGERBAL>"
    tail = "</CCSTMTRS></CCSTMTTRNRS>" if s.card else "</STMTRS></STMTTRNRS>"
    return f"</BANKTRANLIST>{bal}{tail}\n"


def ofx_document(stmts: list[Stmt], xml: bool) -> str:
    """A complete OFX document; bank statements first, then credit card statements."""
    out = [ofx_head(xml)]
    for group, wrapper in ((False, "BANKMSGSRSV1"), (True, "CREDITCARDMSGSRSV1")):
        chosen = [s for s in stmts if s.card == group]
        if not chosen:
            continue
        out.append(f"<{wrapper}>\n")
        for uid, s in enumerate(chosen, start=1):
            out.append(ofx_statement_open(s, xml, uid))
            out.extend(ofx_transaction(t, xml) for t in s.txns)
            out.append(ofx_statement_close(s, xml))
        out.append(f"</{wrapper}>\n")
    out.append("</OFX>\n")
    return "".join(out)


# --- CAMT.053 ----------------------------------------------------------------------------------

def camt_entry(t: Txn, currency: str) -> str:
    indicator = "CRDT" if t.amount >= 0 else "DBIT"
    day = t.posted.isoformat()
    return (f"<Ntry><Amt Ccy=\"{currency}\">{abs(t.amount)}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>"
            f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
            f"<AcctSvcrRef>{escape(t.fitid)}</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>{escape(t.name)}"
            "</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n")


def camt_head(version: str = "08") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:'
            f'camt.053.001.{version}"><BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId>'
            "<CreDtTm>2024-01-01T00:00:00</CreDtTm></GrpHdr>\n")


def camt_statement_open(s: Stmt, index: int) -> str:
    return (f"<Stmt><Id>S{index}</Id><Acct><Id><IBAN>{escape(s.account)}</IBAN></Id><Ccy>{s.currency}</Ccy>"
            "</Acct>\n")


CAMT_TAIL = "</BkToCstmrStmt></Document>\n"


def camt_document(stmts: list[Stmt], version: str = "08") -> str:
    out = [camt_head(version)]
    for index, s in enumerate(stmts, start=1):
        out.append(camt_statement_open(s, index))
        out.extend(camt_entry(t, s.currency) for t in s.txns)
        out.append("</Stmt>\n")
    out.append(CAMT_TAIL)
    return "".join(out)


# --- MT940 -------------------------------------------------------------------------------------

def _mt_amount(value: Decimal) -> str:
    return f"{abs(value):.2f}".replace(".", ",")


def mt940_transaction(t: Txn) -> str:
    mark = "C" if t.amount >= 0 else "D"
    day = t.posted.strftime("%y%m%d")
    return (f":61:{day}{t.posted.strftime('%m%d')}{mark}{_mt_amount(t.amount)}NTRFNONREF//{t.fitid}\n"
            f":86:166?00GUTSCHRIFT?20{t.name}\n")


def mt940_statement(s: Stmt, index: int, txns: Iterable[Txn] | None = None) -> Iterator[str]:
    yield f":20:STMT{index}\n:25:{s.account}\n:28C:{index}/1\n:60F:C240101{s.currency}0,00\n"
    for t in s.txns if txns is None else txns:
        yield mt940_transaction(t)
    yield f":62F:C241231{s.currency}0,00\n-\n"


def mt940_document(stmts: list[Stmt]) -> str:
    return "".join(part for index, s in enumerate(stmts, start=1) for part in mt940_statement(s, index))
