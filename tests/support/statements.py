"""Generated statements for the statement-truth flows (MT940: a month per statement; camt.053, OFX, PayPal CSV),
balances that add up unless a test says otherwise."""

from __future__ import annotations

import random
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


#: a PayPal CSV export through the mapping (qa42b F3): its one `Balance` column runs per currency
PAYPAL_MAPPING = {"columns": {"date": "Date", "description": "Description", "amount": "Net", "balance": "Balance",
                              "currency": "Currency", "bankTransactionId": "Transaction ID"},
                  "dateStyle": "middleEndian"}


@dataclass(frozen=True)
class PayPalLine:
    day: date
    currency: str  # "" as PayPal never writes it: a cell left empty
    net: Decimal
    balance: Decimal
    status: str = "Completed"


def paypal_csv(lines: list[PayPalLine]) -> bytes:
    """A PayPal CSV export of `lines` (the file's line n + 2 is `lines[n]`), written as PayPal writes them: every cell
    quoted, days month first, thousands separated."""
    rows = ['"Date","Time","Time Zone","Description","Currency","Gross","Fee","Net","Balance","Transaction ID",'
            '"Status"']
    rows += [f'"{p.day.month}/{p.day.day}/{p.day.year}","12:00:00","PST","Payment {n}","{p.currency}",'
             f'"{p.net:,.2f}","0.00","{p.net:,.2f}","{p.balance:,.2f}","TID{n}","{p.status}"'
             for n, p in enumerate(lines)]
    return ("\n".join(rows) + "\n").encode()


def paypal_lines(rng: random.Random, count: int, *, interleaved: bool, blanks: bool = False) -> list[PayPalLine]:
    """`count` lines in USD, EUR and GBP, each currency's balance running on its own (from 0.89, 0.75, 10.00): in
    blocks of one currency, or interleaved; `blanks`: now and then a line with its currency cell empty, of the
    currency of the line before it."""
    balances = {"USD": Decimal("0.89"), "EUR": Decimal("0.75"), "GBP": Decimal("10.00")}
    lines: list[PayPalLine] = []
    currency = "EUR"
    for i in range(count):
        blank = blanks and i % 4 == 1
        if not blank:
            currency = rng.choice(sorted(balances)) if interleaved else ("EUR", "USD", "GBP")[3 * i // count]
        net = Decimal(rng.randrange(-90_000, 120_000)) / 100
        balances[currency] += net
        lines.append(PayPalLine(date(2024, 3, 1) + timedelta(days=i // 6), "" if blank else currency, net,
                                balances[currency]))
    return lines
