"""Generated MT940 statements for the statement-truth flows: a month per statement, balances that add up
unless a test says otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class Line:
    day: date
    amount: Decimal
    text: str
    ref: str = "NONREF"
    reversal: bool = False


def _amount(value: Decimal) -> str:
    return format(abs(value), ".2f").replace(".", ",")


def _balance(tag: str, value: Decimal, day: date, currency: str) -> str:
    return f":{tag}:{'C' if value >= 0 else 'D'}{day:%y%m%d}{currency}{_amount(value)}"


def mt940(account: str, number: int, opening: Decimal, lines: list[Line], *, opened: date, closed: date,
          closing: Decimal | None = None, currency: str = "EUR") -> str:
    """One MT940 message; `closing` defaults to opening + the lines (give another to break the arithmetic)."""
    end = opening + sum((x.amount for x in lines), Decimal(0)) if closing is None else closing
    out = [f":20:STMT{number:04d}", f":25:{account}", f":28C:{number:05d}/1",
           _balance("60F", opening, opened, currency)]
    for x in lines:
        mark = ("R" if x.reversal else "") + ("C" if (x.amount >= 0) != x.reversal else "D")
        out.append(f":61:{x.day:%y%m%d}{x.day:%m%d}{mark}{_amount(x.amount)}NTRF{x.ref}//{x.ref}")
        out.append(f":86:{x.text}")
    out.append(_balance("62F", end, closed, currency))
    return "\r\n".join(out) + "\r\n-\r\n"


def month(account: str, number: int, year: int, month_: int, opening: Decimal, amounts: list[str], *,
          closing: Decimal | None = None, first_day: int = 3) -> str:
    """A month's statement with one line per amount, on days first_day, first_day + 1, ...; as banks
    write them, the opening is dated the previous month's last day (the day of the previous closing)."""
    lines = [Line(date(year, month_, first_day + i), Decimal(a), f"LINE {year}-{month_:02d} {i + 1}")
             for i, a in enumerate(amounts)]
    first = date(year, month_, 1)
    closed = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return mt940(account, number, opening, lines, opened=first - timedelta(days=1), closed=closed, closing=closing)


@dataclass(frozen=True)
class Entry:
    day: date
    amount: Decimal
    text: str
    ref: str
    status: str = "BOOK"
    reversal: bool = False


def camt053(iban: str, statement_id: str, opening: Decimal, entries: list[Entry], *, day: date,
            currency: str = "EUR") -> str:
    """A camt.053.001.02 statement; its closing is opening + the booked entries (pending ones left out)."""
    booked = sum((e.amount for e in entries if e.status == "BOOK"), Decimal(0))

    def bal(code: str, value: Decimal) -> str:
        return (f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"{currency}\">{abs(value):.2f}</Amt>"
                f"<CdtDbtInd>{'CRDT' if value >= 0 else 'DBIT'}</CdtDbtInd><Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>")

    def ntry(e: Entry) -> str:
        reversal = "<RvslInd>true</RvslInd>" if e.reversal else ""
        return (f"<Ntry><NtryRef>{e.ref}</NtryRef><Amt Ccy=\"{currency}\">{abs(e.amount):.2f}</Amt>"
                f"<CdtDbtInd>{'CRDT' if e.amount >= 0 else 'DBIT'}</CdtDbtInd>{reversal}<Sts>{e.status}</Sts>"
                f"<BookgDt><Dt>{e.day.isoformat()}</Dt></BookgDt><ValDt><Dt>{e.day.isoformat()}</Dt></ValDt>"
                f"<AcctSvcrRef>{e.ref}</AcctSvcrRef><AddtlNtryInf>{e.text}</AddtlNtryInf></Ntry>")

    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
            "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt>"
            f"<GrpHdr><MsgId>{statement_id}</MsgId><CreDtTm>{day.isoformat()}T20:00:00</CreDtTm></GrpHdr>"
            f"<Stmt><Id>{statement_id}</Id><CreDtTm>{day.isoformat()}T20:00:00</CreDtTm>"
            f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{currency}</Ccy></Acct>"
            f"{bal('OPBD', opening)}{bal('CLBD', opening + booked)}{''.join(ntry(e) for e in entries)}"
            "</Stmt></BkToCstmrStmt></Document>")


@dataclass(frozen=True)
class Card:
    """An OFX transaction: booked in `<BANKTRANLIST>`, or pending (`<STMTTRNP>`, no FITID) in `<BANKTRANLISTP>`."""

    day: date
    amount: Decimal
    text: str
    fitid: str | None = None


def ofx(account: str, booked: list[Card], pending: list[Card], *, closing: Decimal, day: date,
        currency: str = "EUR") -> str:
    """An OFX 2 credit-card statement as banks answer `INCLUDEPENDING`: the booked list, then the pending list."""

    def trn(tag: str, date_tag: str, c: Card) -> str:
        fitid = f"<FITID>{c.fitid}</FITID>" if c.fitid else ""
        return (f"<{tag}><TRNTYPE>POS</TRNTYPE><{date_tag}>{c.day:%Y%m%d}120000</{date_tag}>"
                f"<TRNAMT>{c.amount:.2f}</TRNAMT>{fitid}<NAME>{c.text}</NAME></{tag}>\n")

    first = min((c.day for c in booked + pending), default=day)
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<?OFX OFXHEADER=\"200\" VERSION=\"220\"?>\n"
            "<OFX><CREDITCARDMSGSRSV1><CCSTMTTRNRS><TRNUID>1</TRNUID><CCSTMTRS>"
            f"<CURDEF>{currency}</CURDEF><CCACCTFROM><ACCTID>{account}</ACCTID></CCACCTFROM>\n"
            f"<BANKTRANLIST><DTSTART>{first:%Y%m%d}</DTSTART><DTEND>{day:%Y%m%d}</DTEND>\n"
            + "".join(trn("STMTTRN", "DTPOSTED", c) for c in booked)
            + f"</BANKTRANLIST>\n<BANKTRANLISTP><DTASOF>{day:%Y%m%d}</DTASOF>\n"
            + "".join(trn("STMTTRNP", "DTTRAN", c) for c in pending)
            + f"</BANKTRANLISTP>\n<LEDGERBAL><BALAMT>{closing:.2f}</BALAMT><DTASOF>{day:%Y%m%d}</DTASOF></LEDGERBAL>"
            "</CCSTMTRS></CCSTMTTRNRS></CREDITCARDMSGSRSV1></OFX>\n")


def two_banks_ofx(banks: tuple[str | None, str | None] = ("30001", "99999")) -> bytes:
    """An OFX file of two statements of account number 12345678901: at `banks[0]` (a -12.50 CAFE line on
    2024-01-05) and at `banks[1]` (a -9.99 KIOSK line on 2024-01-07), in EUR; a bank None: no BANKID."""
    def stmt(bank: str | None, day: str, amount: str, fitid: str, name: str) -> str:
        bank_id = f"<BANKID>{bank}" if bank else ""
        return (f"<STMTTRNRS><TRNUID>{fitid}<STATUS><CODE>0<SEVERITY>INFO</STATUS><STMTRS><CURDEF>EUR<BANKACCTFROM>"
                f"{bank_id}<ACCTID>12345678901<ACCTTYPE>CHECKING</BANKACCTFROM><BANKTRANLIST><DTSTART>20240101"
                f"<DTEND>20240131<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>{day}<TRNAMT>{amount}<FITID>{fitid}<NAME>{name}"
                "</STMTTRN></BANKTRANLIST></STMTRS></STMTTRNRS>")
    return ("OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX><BANKMSGSRSV1>"
            + stmt(banks[0], "20240105", "-12.50", "A", "CAFE") + stmt(banks[1], "20240107", "-9.99", "B", "KIOSK")
            + "</BANKMSGSRSV1></OFX>").encode()
