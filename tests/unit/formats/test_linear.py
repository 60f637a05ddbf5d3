"""Every reader takes time linear in its input, whatever the input (issue 13: a 1 MB OFX of unclosed
tags took 99 s). Each case parses an adversarial input at one size and at eight times that size and
checks the CPU time grew less than sixteenfold (a quadratic reader grows about 64-fold). This ratio is
the one timing check the tests make: it holds on a busy machine, as both sizes run alike."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tximport.formats import camt, csv_feed, ofx
from tximport.formats.base import BytesSource, FileError, ParseOptions
from tximport.formats.csv_mapped import parse_csv_mapped
from tximport.formats.tabular import parse_tabular_3col

GROWTH = 8
LIMIT = 16  # times the CPU time of the small input
FLOOR = 0.004  # seconds: below this, the small run's time is noise


def _cpu(parser: Any, data: bytes, options: dict[str, Any]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        try:
            for _event in parser(BytesSource(data), ParseOptions(**options)):
                pass
        except FileError:
            pass  # a limit reached is an answer too: what counts is how long it took
        best = min(best, time.process_time() - start)
    return best


def assert_linear(parser: Any, make: Callable[[int], bytes], n: int, **options: Any) -> None:
    small, large = make(n), make(n * GROWTH)
    once = _cpu(parser, small, options)
    grown = _cpu(parser, large, options)
    assert grown < LIMIT * max(once, FLOOR), (
        f"{len(small):,} bytes took {once:.4f} s, {len(large):,} bytes {grown:.4f} s "
        f"({grown / max(once, 1e-9):.0f}x for {GROWTH}x the input)")


# --- OFX ---------------------------------------------------------------------------------------------

OFX_HEAD = (b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nENCODING:USASCII\nCHARSET:1252\n\n<OFX><BANKMSGSRSV1>"
            b"<STMTTRNRS><STMTRS><CURDEF>USD<BANKACCTFROM><ACCTID>1</BANKACCTFROM><BANKTRANLIST>")

OFX_CASES: dict[str, Callable[[int], bytes]] = {
    "unclosed transactions": lambda n: OFX_HEAD + b"<STMTTRN><DTPOSTED>20240101<TRNAMT>1" * n,
    "closed and unclosed by turns": lambda n: OFX_HEAD + (
        b"<STMTTRN><DTPOSTED>20240101<TRNAMT>1</STMTTRN><STMTTRN><DTPOSTED>20240101<TRNAMT>2") * (n // 2),
    "a closed run then unclosed ones": lambda n: OFX_HEAD + b"<STMTTRN><TRNAMT>1</STMTTRN>" * (n // 2)
    + b"<STMTTRN><TRNAMT>2" * (n // 2),
    "unclosed comments": lambda n: OFX_HEAD + b"<!--" * (4 * n),
    "unclosed CDATA sections": lambda n: OFX_HEAD + b"<NAME><![CDATA[" * n,
    "a text without end": lambda n: OFX_HEAD + b"<MEMO>" + b"x" * (40 * n),
    "tag openers without tags": lambda n: OFX_HEAD + b"<A" * (4 * n),
    "deep nesting": lambda n: OFX_HEAD + b"<AGG>" * n + b"</AGG>" * n,
}


@pytest.mark.parametrize("case", sorted(OFX_CASES))
def test_ofx_is_linear(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ofx, "_CHUNK", 64 * 1024)  # several buffers even for the small input
    assert_linear(ofx.parse_ofx, OFX_CASES[case], 4000)


# --- CSV ---------------------------------------------------------------------------------------------

CSV_CASES: dict[str, Callable[[int], bytes]] = {
    "one giant quoted field": lambda n: b'date,description,amount\n2024-01-01,"' + b"x" * (60 * n),
    "a quote opened on every line": lambda n: b"date,description,amount\n" + b'2024-01-01,"a,1.00\n' * n,
    "a line without end": lambda n: b"date,description,amount\n2024-01-01," + b"y" * (60 * n),
    "lines of every width": lambda n: b"".join(b"2024-01-01" + b",x" * (i % 7) + b"\n" for i in range(n)),
    "lone carriage returns": lambda n: b"date,description,amount\r" + b"2024-01-01,a,1.00\r" * n,
    "quotes in the middle of cells": lambda n: b'2024-01-01,a"b"c,1.00\n' * n,
    "blank lines": lambda n: b"date,description,amount\n" + b"\n" * (2 * n) + b"2024-01-01,a,1\n",
    "dates that need a style": lambda n: b"".join(f"{i % 28 + 1:02d}.{i % 12 + 1:02d}.2024;x;1,50\n".encode()
                                                  for i in range(n)),
}


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_csv_is_linear(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_feed, "MAX_LINE", 32 * 1024)  # the limits are reached within the small input
    assert_linear(parse_tabular_3col, CSV_CASES[case], 3000)


def test_mapped_csv_header_search_and_footer_are_linear() -> None:
    def make(n: int) -> bytes:
        return b"Date;Text;Amount\n" + b"01.02.2024;x;1,00\n" * n + b"Total;;9,99\n" * 3

    mapping = {"columns": {"date": "Date", "description": "Text", "amount": "Amount"}, "skipFooterRows": 3}
    assert_linear(parse_csv_mapped, make, 3000, mapping=mapping)


# --- CAMT --------------------------------------------------------------------------------------------

CAMT_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
             "<BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr><Stmt><Acct><Id><IBAN>DE1</IBAN></Id></Acct>")
CAMT_TAIL = "</Stmt></BkToCstmrStmt></Document>"
ENTRY = ('<Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2024-01-02</Dt></BookgDt>'
         "<NtryDtls><TxDtls><RmtInf><Ustrd>x</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n")

CAMT_CASES: dict[str, Callable[[int], str]] = {
    "100k nested elements": lambda n: CAMT_HEAD + "<X>" * (25 * n) + "</X>" * (25 * n) + CAMT_TAIL,
    "an entry of many elements": lambda n: CAMT_HEAD + "<Ntry>" + "<AddtlNtryInf>a</AddtlNtryInf>" * (3 * n)
    + "</Ntry>" + CAMT_TAIL,
    "entries of every shape": lambda n: CAMT_HEAD + "".join(
        ENTRY.replace("<Ustrd>x</Ustrd>", "<Ustrd>x</Ustrd>" * (i % 12)) for i in range(n // 4)) + CAMT_TAIL,
    "entries with comments": lambda n: CAMT_HEAD + ENTRY.replace("<Ustrd>", "<!-- c --><Ustrd>") * (n // 4)
    + CAMT_TAIL,
    "an unclosed entry": lambda n: CAMT_HEAD + ENTRY * n + "<Ntry>" + "<Amt>1</Amt>" * n,
    "a long text": lambda n: CAMT_HEAD + "<Ntry><AddtlNtryInf>" + "x" * (100 * n),
    "a statement without entries": lambda n: CAMT_HEAD + "<Bal><Amt Ccy='EUR'>1</Amt></Bal>" * n + CAMT_TAIL,
}


@pytest.mark.parametrize("case", sorted(CAMT_CASES))
def test_camt_is_linear(case: str) -> None:
    assert_linear(camt.parse_camt053, lambda n: CAMT_CASES[case](n).encode(), 2000)
