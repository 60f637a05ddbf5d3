"""The camt text reader (`camt_fast`) against the lxml reader: the same events for every document,
whichever reader (or both, one after the other) reads it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.samples import SAMPLES as ALL_SAMPLES
from tests.unit.formats.structured_builders import Stmt, Txn, camt_document
from tximport.formats import camt, camt_fast
from tximport.formats.base import (
    ELEMENT_TOO_LARGE,
    NESTING_TOO_DEEP,
    BytesSource,
    FileError,
    FileNote,
    LineError,
    ParsedLine,
    ParseOptions,
    StatementAccount,
)

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def _run(data: bytes, parser: Any = camt.parse_camt053) -> list[Any] | tuple[str, Any]:
    events: list[Any] = []
    try:
        events.extend(parser(BytesSource(data), ParseOptions()))
    except FileError as exc:
        return exc.code, len(events)
    return events


@pytest.fixture
def texts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records which reader finished each document: "text" or "lxml"."""
    seen: list[str] = []
    original = camt._read_text

    def spy(*args: Any) -> Any:
        try:
            yield from original(*args)
        except camt_fast.Unusual:
            seen.append("lxml")
            raise
        seen.append("text")

    monkeypatch.setattr(camt, "_read_text", spy)
    return seen


def both(data: bytes, monkeypatch: pytest.MonkeyPatch, parser: Any = camt.parse_camt053) -> tuple[Any, Any]:
    """The events with the text reader, and with lxml alone (for a FileError: its code and how many
    events came before it)."""
    fast = _run(data, parser)
    with monkeypatch.context() as m:
        m.setattr(camt_fast, "ENABLED", False)
        slow = _run(data, parser)
    if isinstance(fast, tuple) and isinstance(slow, tuple):
        return fast[0], slow[0]  # (libxml2 checks a chunk ahead: errors may come a few entries earlier)
    if isinstance(fast, list) and isinstance(slow, list):  # where each line states its amount (not in its equality)
        assert [getattr(e, "amount_target", None) for e in fast] == [getattr(e, "amount_target", None) for e in slow]
    return fast, slow


def document(entries: str, *, root: str = f'<Document xmlns="{NS}">', head: str = "",
             statement: str = "<Stmt><Id>S1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id>"
                              "<Ccy>EUR</Ccy></Acct>") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{head}{root}<BkToCstmrStmt><GrpHdr><MsgId>M</MsgId>'
            f"</GrpHdr>\n{statement}\n{entries}</Stmt></BkToCstmrStmt></Document>\n").encode()


def entry(ref: str = "R1", amount: str = "10.00", indicator: str = "CRDT", text: str = "Invoice",
          details: str = "") -> str:
    return (f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
            f"<BookgDt><Dt>2024-01-02</Dt></BookgDt><ValDt><Dt>2024-01-03</Dt></ValDt>"
            f"<AcctSvcrRef>{ref}</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>{text}</Ustrd></RmtInf>"
            f"{details}</TxDtls></NtryDtls></Ntry>\n")


@pytest.mark.parametrize("name", sorted(p.name for p in (ALL_SAMPLES / "camt053").glob("*.xml")))
def test_every_sample_reads_the_same(name: str, monkeypatch: pytest.MonkeyPatch, texts: list[str]) -> None:
    fast, slow = both((ALL_SAMPLES / "camt053" / name).read_bytes(), monkeypatch)
    assert fast == slow
    assert texts[0] == "text"


def test_a_statement_is_read_by_the_text_reader(monkeypatch: pytest.MonkeyPatch, texts: list[str]) -> None:
    entries = "".join(entry(f"R{i}", f"{i}.50", "DBIT" if i % 3 else "CRDT", f"Text {i}") for i in range(50))
    fast, slow = both(document(entries), monkeypatch)
    assert fast == slow
    assert texts == ["text"]
    assert isinstance(fast, list) and isinstance(fast[0], StatementAccount)
    assert fast[1] == ParsedLine(4, date(2024, 1, 2), Decimal("0.50"), "Text 0", "DE89370400440532013000", "EUR",
                                 date(2024, 1, 3), "R0")
    assert fast[2].amount == Decimal("-1.50")


ODD_ENTRIES = [
    entry(text="A &amp; B &#x263A; &#65;"),
    entry(text="a <!-- comment --> b"),
    entry(text="<![CDATA[x < y & z]]>"),
    entry(text="line one\r\nline two\rthree"),
    entry().replace("<Ntry>", "<Ntry >").replace('Ccy="EUR"', "Ccy='EUR'"),
    entry().replace("<AcctSvcrRef>R1</AcctSvcrRef>", "<AcctSvcrRef/>"),
    entry().replace("<Ntry>", "<Ntry\n>").replace("<Amt ", "<Amt\n  "),
    entry(details="<Refs><EndToEndId>E2E</EndToEndId></Refs><RltdPties><Dbtr><Nm>Name</Nm></Dbtr></RltdPties>"),
    entry().replace("<Sts><Cd>BOOK</Cd></Sts>", "<Sts>PDNG</Sts>"),
    entry().replace("<NtryDtls>", "<NtryDtls><TxDtls><Amt Ccy='EUR'>4.00</Amt></TxDtls>")
           .replace("</TxDtls></NtryDtls>", "<Amt Ccy='EUR'>6.00</Amt></TxDtls></NtryDtls>"),
    entry(amount="1" * 40),
    entry(amount="1.00000000000000000000000000000000001", indicator="DBIT"),
    entry(amount="x"), entry(amount="1E2"), entry(indicator="XX"), entry().replace("2024-01-02", "2024-13-02"),
    entry().replace("<Ntry>", "<Ntry><Ntry><Amt Ccy='EUR'>9</Amt></Ntry>"),
    "<Ntry/>\n",
    "<Other><Ntry><Amt Ccy='EUR'>5</Amt></Ntry></Other>\n",
    entry().replace("<Ustrd>", "<?pi x?><Ustrd>"),
    entry().replace("<AcctSvcrRef>", '<AcctSvcrRef xmlns="urn:other">'),
    entry().replace("<Ustrd>", "<x:Ustrd xmlns:x='urn:other'>").replace("</Ustrd>", "</x:Ustrd>"),
]


@pytest.mark.parametrize("odd", ODD_ENTRIES)
@pytest.mark.parametrize("where", [0, 5, 9])
def test_odd_entries_read_the_same(odd: str, where: int, monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [entry(f"R{i}", f"{i}.25") for i in range(9)]
    entries.insert(where, odd)
    fast, slow = both(document("".join(entries)), monkeypatch)
    assert fast == slow


@pytest.mark.parametrize("data", [
    document(entry(), root=f'<ns:Document xmlns:ns="{NS}">').replace(b"</Document>", b"</ns:Document>"),
    document(entry(), root="<Document>"),
    document(entry(), root=f'<Document xmlns="{NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                           'xsi:schemaLocation="x y">'),
    document(entry(), head="<!-- exported -->\n<?pi here?>\n"),
    document(entry()).replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"').replace(b"Invoice", b"Caf\xe9"),
    document(entry()).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
    b"\xef\xbb\xbf" + document(entry()),
    document(entry(), statement="<Stmt/><Stmt><Acct><Id><Othr><Id>X1</Id></Othr></Id></Acct>"),
    document("", statement="<Stmt><Acct><Id><IBAN>E1</IBAN></Id></Acct><Bal><Amt Ccy='CHF'>1</Amt></Bal>"),
    document(entry(), statement="<Stmt>\n<Acct>\n<Id>\n<IBAN>DE1</IBAN>\n</Id>\n</Acct>\n<!-- note -->"),
    document(entry() + "</Stmt><Stmt><Acct><Id><IBAN>DE2</IBAN></Id></Acct>" + entry("R2")),
    document(entry()).replace(b"<BkToCstmrStmt>", b"<BkToCstmrAcctRpt>").replace(b"</BkToCstmrStmt>",
                                                                                   b"</BkToCstmrAcctRpt>"),
    document(entry()).replace(b"camt.053", b"camt.054"),
    document(entry()).replace(NS.encode(), b"urn:example:other"),
    document(entry()).replace(b"<Stmt>", b"<Grp><Stmt>").replace(b"</Stmt>", b"</Stmt></Grp>"),
    document(entry()).replace(b"<?xml", b"<!DOCTYPE Document>\n<?xml").replace(b"<?xml", b"<?xml", 1),
    document(entry())[:-40],
    document(entry()).replace(b"</Amt>", b"</Amt", 1),
    document(entry()) + b"<extra/>",
    b"<Document/>",
    b"   ",
])
def test_documents_read_the_same(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = both(data, monkeypatch)
    assert fast == slow


def _bal(code: str, amount: str, day: str = "2024-01-01") -> str:
    return (f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>\n<Amt Ccy='EUR'>{amount}</Amt>"
            f"<CdtDbtInd>CRDT</CdtDbtInd>\n<Dt><Dt>{day}</Dt></Dt></Bal>\n")


ACCOUNT = "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
UNREAD_BALANCES = [
    _bal("OPBD", "10..00") + _bal("CLBD", "20.005"),
    _bal("OPBD", "10.00", "2024-02-30") + _bal("CLBD", "1E2") + _bal("CLAV", "-3.00", "2024-13-01"),
    _bal("OPBD", "10.00").replace("<Amt ", "<Amt\n  ") + _bal("CLBD", "2x0.00").replace("<Amt ", "<Amt\n\n  "),
    _bal("ITBD", "1O.00") + _bal("ITBD", "20.00", "2024-01-32"),
    _bal("CLBD", "5.00").replace("<Dt>2024-01-01</Dt></Dt>", "<DtTm>2024-02-30T10:00:00</DtTm></Dt>"),
    "<FrToDt><FrDtTm>2024-01-32T00:00:00</FrDtTm>\n<ToDtTm>2024-02-30T00:00:00</ToDtTm></FrToDt>\n"
    + _bal("OPBD", "10.00"),
]


@pytest.mark.parametrize("balances", UNREAD_BALANCES)
@pytest.mark.parametrize("entries", [1, 0])
@pytest.mark.parametrize("crlf", [False, True])
def test_balances_that_do_not_read_are_noted_alike(balances: str, entries: int, crlf: bool,
                                                   monkeypatch: pytest.MonkeyPatch, texts: list[str]) -> None:
    """Both readers leave out a balance that does not read and name its line (the text reader reads the
    statement's head from a fragment of the file), in a later statement and one without entries too."""
    monkeypatch.setattr(camt_fast, "CHUNK", 256)
    first = "<Stmt><Id>S1</Id>\n" + ACCOUNT + _bal("OPBD", "1.00") + entry() + "</Stmt>\n"
    data = document(entry() * entries, statement=first + "<Stmt\n><Id>S2</Id>\n" + ACCOUNT + balances)
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    fast, slow = both(data, monkeypatch)
    assert fast == slow and texts == ["text"]
    assert isinstance(fast, list)
    notes = [e for e in fast if isinstance(e, FileNote)]
    assert notes and all(n.severity == "warning" and n.line_number and n.line_number > 10 for n in notes)
    text = data.decode().replace("\r\n", "\n").splitlines()
    assert all(n.actual_value in text[n.line_number - 1] for n in notes)


def test_a_document_the_text_reader_leaves_part_way_is_finished_by_lxml(monkeypatch: pytest.MonkeyPatch,
                                                                        texts: list[str]) -> None:
    entries = [entry(f"R{i}") for i in range(20)]
    entries[15] = entries[15].replace("<Ustrd>", "<x:Ustrd xmlns:x='urn:other'>").replace("</Ustrd>", "</x:Ustrd>")
    fast, slow = both(document("".join(entries)), monkeypatch)
    assert fast == slow and len(fast) == 21
    assert texts == ["lxml"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stmts=st.lists(st.builds(
    Stmt, account=st.sampled_from(["DE89370400440532013000", "CH93 0076 2011 6238 5295 7", "ACC&1"]),
    currency=st.sampled_from(["EUR", "USD"]),
    txns=st.lists(st.builds(Txn, posted=st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)),
                            amount=st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False),
                            fitid=st.text("AZ09-/&<", min_size=1, max_size=8),
                            name=st.text("ab &<>\"'äß€\u0301", max_size=12)), max_size=8)), min_size=1, max_size=3),
       version=st.sampled_from(["02", "08", "13"]), chunk=st.sampled_from([64, 1 << 20]),
       crlf=st.booleans())
def test_generated_documents_read_the_same(stmts: list[Stmt], version: str, chunk: int, crlf: bool,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(camt_fast, "CHUNK", chunk)
    data = camt_document(stmts, version)
    if crlf:
        data = data.replace("\n", "\r\n").replace("><", ">\r\n  <")
    fast, slow = both(data.encode(), monkeypatch)
    assert fast == slow


def test_an_entry_too_long_is_a_file_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(camt_fast, "MAX_ENTRY", 2000)
    monkeypatch.setattr(camt_fast, "CHUNK", 512)
    data = document(entry() + entry(text="x" * 5000))
    events: list[Any] = []
    with pytest.raises(FileError) as info:
        events.extend(camt.parse_camt053(BytesSource(data), ParseOptions()))
    assert (info.value.code, info.value.target, info.value.details) == (ELEMENT_TOO_LARGE, "Ntry",
                                                                       {"lineNumber": 5})
    assert [type(e) for e in events] == [StatementAccount, ParsedLine]


def test_a_statement_header_too_long_is_a_file_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(camt_fast, "MAX_HEADER", 2000)
    monkeypatch.setattr(camt_fast, "CHUNK", 512)
    data = document(entry(), statement="<Stmt>" + "<AddtlStmtInf>note</AddtlStmtInf>" * 200)
    with pytest.raises(FileError) as info:
        list(camt.parse_camt053(BytesSource(data), ParseOptions()))
    assert (info.value.code, info.value.target) == (ELEMENT_TOO_LARGE, "Stmt")


def test_deep_nesting_is_a_file_error() -> None:
    data = document(entry(), statement="<Stmt>" + "<X>" * 100 + "</X>" * 100)
    with pytest.raises(FileError) as info:
        list(camt.parse_camt053(BytesSource(data), ParseOptions()))
    assert info.value.code == NESTING_TOO_DEEP
    assert info.value.details["limit"] == camt_fast.MAX_DEPTH


def test_lines_and_errors_name_their_entry() -> None:
    data = document(entry() + entry("R2", amount="1." + "1" * 40) + entry("R3", indicator="BAD"))
    events = _run(data)
    assert isinstance(events, list)
    errors = [e for e in events if isinstance(e, LineError)]
    assert [(e.line_number, e.code, e.target) for e in errors] == [
        (5, "InvalidAmount", "/Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt"),
        (6, "InvalidAmount", "/Document/BkToCstmrStmt/Stmt[1]/Ntry[3]/CdtDbtInd")]
    assert "38" in errors[0].message
