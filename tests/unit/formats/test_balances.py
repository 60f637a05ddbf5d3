"""The balances each reader states (StatementBalances), from real bank files and built statements."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from tests.support.samples import SAMPLES
from tests.support.statements import Line, mt940
from tximport.formats import camt_fast
from tximport.formats.base import (
    Balance,
    BytesSource,
    FileNote,
    FileSource,
    ParsedLine,
    ParseOptions,
    StatementBalances,
)
from tximport.formats.registry import FORMATS

D = Decimal


def _events(fmt: str, path: str) -> list:
    return list(FORMATS[fmt].parser(FileSource(str(SAMPLES / path)), ParseOptions()))


def _balances(events: list) -> list[StatementBalances]:
    return [e for e in events if isinstance(e, StatementBalances)]


def _notes(events: list) -> list[FileNote]:
    return [e for e in events if isinstance(e, FileNote)]


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
    events = list(FORMATS["CAMT053#v1"].parser(BytesSource(camt.encode()), ParseOptions()))
    (stated,) = _balances(events)
    assert stated.opening is None and stated.closing == Balance(D("115.00"), date(2024, 3, 1))
    assert [(n.code, n.line_number, n.actual_value) for n in _notes(events)] == [("BalanceUnreadable", 4, "1E2")]

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
    assert [(n.code, n.line_number, n.actual_value) for n in _notes(events)] == [("BalanceUnreadable", 73, "1.0099E2")]


# --- camt and OFX balances that do not read: left out with a warning at their line (qa41a F4, F5) ------------------

CAMT = (SAMPLES / "camt053/oca-test-camt053.xml").read_text()
#: the sample's OPBD and CLBD amounts and the lines they are on
CAMT_AMOUNTS = {"OPBD": ("15568.27", 32), "CLBD": ("15121.12", 44)}
#: damage that leaves no camt amount (or one finer than EUR, or signed: the indicator states the sign)
CAMT_DAMAGE: dict[str, Callable[[str], str]] = {
    "point doubled": lambda t: t.replace(".", ".."), "letter in the whole part": lambda t: f"{t[:2]}x{t[2:]}",
    "letter in the decimals": lambda t: f"{t[:-1]}x{t[-1]}", "finer than EUR": lambda t: f"{t}5",
    "decimal comma": lambda t: t.replace(".", ","), "signed": lambda t: f"-{t}", "exponent": lambda t: "1.5E4"}


@pytest.fixture(params=["text", "lxml"])
def camt_reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs with each camt reader: the text reader (`camt_fast`) and lxml alone."""
    monkeypatch.setattr(camt_fast, "ENABLED", request.param == "text")
    return str(request.param)


def _camt(text: str) -> list:
    return list(FORMATS["CAMT053#v1"].parser(BytesSource(text.encode()), ParseOptions()))


@pytest.mark.parametrize("damage", CAMT_DAMAGE)
@pytest.mark.parametrize("code", CAMT_AMOUNTS)
def test_a_camt_balance_that_does_not_read_is_left_out_with_a_warning_at_its_line(camt_reader: str, code: str,
                                                                                  damage: str) -> None:
    """`15568..27` on the OPBD gave opening null and no warning (and the file's own BalanceMismatch went with it)."""
    amount, line = CAMT_AMOUNTS[code]
    written = CAMT_DAMAGE[damage](amount)
    original = f'<Amt Ccy="EUR">{amount}</Amt>'
    assert CAMT.splitlines()[line - 1].strip() == original
    events = _camt(CAMT.replace(original, f'<Amt Ccy="EUR">{written}</Amt>'))
    (stated,) = _balances(events)
    left, kept = (stated.opening, stated.closing) if code == "OPBD" else (stated.closing, stated.opening)
    assert left is None and kept is not None and kept.day == date(2014, 1, 5)
    (note,) = _notes(events)
    assert (note.code, note.severity, note.line_number, note.actual_value) == (
        "BalanceUnreadable", "warning", line, written)
    assert f"the {code} balance states no amount" in note.message and "left out of the statement checks" in note.message
    assert [r.amount for r in events if isinstance(r, ParsedLine)] == [
        D("-754.25"), D("-564.05"), D("-100.00"), D("1405.31")]


def test_an_interim_balance_that_does_not_read_keeps_its_place(camt_reader: str) -> None:
    """The first ITBD is the opening, the last the closing: a first one that does not read is left out, and the
    second stays the closing (taken for the opening, it would check the lines against the wrong end)."""
    xml = """<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>P2</Id>
<Acct><Id><IBAN>DE02100100100006820101</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>ITBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1O.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>
<Dt><Dt>2024-03-01</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>ITBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2024-03-01</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>OPAV</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1x</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2024-02-30</Dt></Dt></Bal>
<Ntry><Amt Ccy="EUR">15.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2024-03-01</Dt></BookgDt></Ntry>
</Stmt></BkToCstmrStmt></Document>"""
    events = _camt(xml)
    (stated,) = _balances(events)
    assert stated.opening is None and stated.opening_interim
    assert stated.closing == Balance(D("5.00"), date(2024, 3, 1)) and stated.closing_interim
    # (a balance of a type the checks do not read, OPAV, is left alone, whatever it states)
    assert [(n.code, n.line_number, n.actual_value) for n in _notes(events)] == [("BalanceUnreadable", 4, "1O.00")]


@pytest.mark.parametrize("written", ["2014-01-32", "2014-13-05", "2014-02-30"])
def test_a_camt_balance_day_that_does_not_exist_is_named_and_its_amount_kept(camt_reader: str, written: str) -> None:
    """The day is left unknown (the statement is dated by its period and lines, as for a balance stating none);
    the amount still checks the lines, and the history keeps the statement's closing for the next one."""
    text = CAMT.splitlines()
    assert text[34].strip() == "<Dt>2014-01-05</Dt>" and text[46].strip() == "<Dt>2014-01-05</Dt>"
    for line, code in ((35, "OPBD"), (47, "CLBD")):
        damaged = "\n".join(text[:line - 1] + [text[line - 1].replace("2014-01-05", written)] + text[line:])
        events = _camt(damaged)
        (stated,) = _balances(events)
        left, kept = (stated.opening, stated.closing) if code == "OPBD" else (stated.closing, stated.opening)
        assert left == Balance(D("15568.27") if code == "OPBD" else D("15121.12"), None)
        assert kept is not None and kept.day == date(2014, 1, 5)
        (note,) = _notes(events)
        assert (note.code, note.severity, note.line_number, note.actual_value) == (
            "StatementDateUnreadable", "warning", line, written)
        assert f"the Dt/Dt of the {code} balance states no day" in note.message


@pytest.mark.parametrize("written", ["2014-01-32", "2014-13-05", "2014-02-30"])
@pytest.mark.parametrize(("tag", "line"), [("FrDtTm", 12), ("ToDtTm", 13)])
def test_a_camt_period_day_that_does_not_exist_is_named(camt_reader: str, tag: str, line: int, written: str) -> None:
    original = f"<{tag}>2014-01-05T"
    assert original in CAMT.splitlines()[line - 1]
    events = _camt(CAMT.replace(original, f"<{tag}>{written}T"))
    (stated,) = _balances(events)
    assert (stated.period_start, stated.period_end) == (
        (None, date(2014, 1, 5)) if tag == "FrDtTm" else (date(2014, 1, 5), None))
    assert stated.opening == Balance(D("15568.27"), date(2014, 1, 5))
    (note,) = _notes(events)
    assert (note.code, note.severity, note.line_number) == ("StatementDateUnreadable", "warning", line)
    assert note.actual_value is not None and note.actual_value.startswith(f"{written}T")


OFX = (SAMPLES / "ofx/ofxparse-checking.ofx").read_bytes()


@pytest.mark.parametrize("written", ["..", "1x", ".9x", "5"])
@pytest.mark.parametrize(("kind", "amount", "line"), [("LEDGERBAL", "100.99", 73), ("AVAILBAL", "75.99", 77)])
def test_an_ofx_balance_that_does_not_read_is_left_out_with_a_warning_at_its_line(kind: str, amount: str, line: int,
                                                                                  written: str) -> None:
    """`<BALAMT>100..99` (`1x00.99`, `100.9x9`, `100.995`: finer than USD) gave closing null and no warning."""
    damaged = {"..": amount.replace(".", ".."), "1x": f"{amount[0]}x{amount[1:]}", ".9x": f"{amount[:-1]}x{amount[-1]}",
               "5": f"{amount}5"}[written]
    assert OFX.splitlines()[line - 1].strip() == f"<BALAMT>{amount}".encode()
    events = _events_of(OFX.replace(f"<BALAMT>{amount}".encode(), f"<BALAMT>{damaged}".encode()))
    (stated,) = _balances(events)
    assert (stated.closing if kind == "LEDGERBAL" else stated.available) is None
    assert (stated.available if kind == "LEDGERBAL" else stated.closing) is not None
    (note,) = _notes(events)
    assert (note.code, note.severity, note.line_number, note.actual_value) == (
        "BalanceUnreadable", "warning", line, damaged)
    assert f"the {kind} states no amount" in note.message and "left out of the statement checks" in note.message


def _events_of(ofx: bytes) -> list:
    return list(FORMATS["XML#OFX#v1"].parser(BytesSource(ofx), ParseOptions()))


@pytest.mark.parametrize("written", ["20130532", "20131325", "20130230"])
@pytest.mark.parametrize(("tag", "original", "line"), [
    ("DTSTART", "20000101070000", 44), ("DTEND", "20130525060000", 45), ("DTASOF", "20130525225731", 74),
    ("DTASOF", "20130525225731", 78)])
def test_an_ofx_day_that_does_not_exist_is_named(tag: str, original: str, line: int, written: str) -> None:
    """A period day (DTSTART, DTEND) is left unknown, as a balance's day (DTASOF), whose amount is kept."""
    ofx_lines = OFX.splitlines()
    assert ofx_lines[line - 1].strip().startswith(f"<{tag}>{original}".encode())
    ofx_lines[line - 1] = ofx_lines[line - 1].replace(original[:8].encode(), written.encode())
    events = _events_of(b"\n".join(ofx_lines))
    (stated,) = _balances(events)
    assert stated.closing is not None and stated.closing.amount == D("100.99")
    assert stated.available is not None and stated.available.amount == D("75.99")
    days = {44: stated.period_start, 45: stated.period_end, 74: stated.closing.day, 78: stated.available.day}
    assert days.pop(line) is None and None not in days.values()
    (note,) = _notes(events)
    assert (note.code, note.severity, note.line_number) == ("StatementDateUnreadable", "warning", line)
    assert note.actual_value is not None and note.actual_value.startswith(written)


def test_no_camt_or_ofx_sample_gets_a_balance_or_statement_day_warning(camt_reader: str) -> None:
    for path in sorted(SAMPLES.glob("camt053/*.xml")):
        assert not _notes(_events("CAMT053#v1", f"camt053/{path.name}")), path.name
    for path in sorted(SAMPLES.glob("ofx/*.ofx")):
        assert not [n for n in _notes(_events("XML#OFX#v1", f"ofx/{path.name}"))
                    if n.code in ("BalanceUnreadable", "StatementDateUnreadable")], path.name


@pytest.mark.parametrize(("written", "line", "actual"), [
    ("<CdtDbtInd>DBT</CdtDbtInd>", 33, "DBT"), ("<CdtDbtInd></CdtDbtInd>", 33, None), ("", 26, None)])
def test_a_camt_balance_without_a_sign_that_reads_is_left_out_with_a_warning(camt_reader: str, written: str,
                                                                             line: int, actual: str | None) -> None:
    """A missing or unknown `CdtDbtInd` (mandatory, as on an entry) was read as a credit, without a word: an overdraft
    so written would check the lines against the wrong sign."""
    lines = CAMT.splitlines()
    assert lines[32].strip() == "<CdtDbtInd>CRDT</CdtDbtInd>" and lines[25].strip() == "<Bal>"
    events = _camt("\n".join(lines[:32] + [written] + lines[33:]))
    (stated,) = _balances(events)
    assert stated.opening is None and stated.closing == Balance(D("15121.12"), date(2014, 1, 5))
    (note,) = _notes(events)
    assert (note.code, note.severity, note.line_number, note.actual_value) == (
        "BalanceUnreadable", "warning", line, actual)
    assert "the OPBD balance states no sign that reads" in note.message
