"""The column-wise reader of uniform OFX transaction runs (`ofx._uniform_run`) against the reader
that takes one transaction at a time (`ofx._transaction`): same events, always."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.formats.structured_builders import Stmt, ofx_head, ofx_statement_close, ofx_statement_open
from tximport.formats import ofx
from tximport.formats.base import BytesSource, FileError, LineError, ParsedLine, ParseOptions


def _parse(data: bytes) -> list[Any] | tuple[str, str]:
    ofx._DATES.clear()  # the date cache must not decide the result
    try:
        return list(ofx.parse_ofx(BytesSource(data), ParseOptions()))
    except FileError as exc:
        return exc.code, exc.message


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records, per run of transactions, whether the column-wise reader took it."""
    seen: list[bool] = []
    original = ofx._uniform_run

    def spy(*args: Any) -> Any:
        result = original(*args)
        seen.append(result is not None)
        return result

    monkeypatch.setattr(ofx, "_uniform_run", spy)
    return seen


def both(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    fast = _parse(data)
    with monkeypatch.context() as m:
        m.setattr(ofx, "_uniform_run", lambda *args: None)
        slow = _parse(data)
    return fast, slow


def document(transactions: list[str], xml: bool = False) -> bytes:
    stmt = Stmt(account="123456789", currency="USD")
    text = (ofx_head(xml) + "<BANKMSGSRSV1>\n" + ofx_statement_open(stmt, xml, 1) + "".join(transactions)
            + ofx_statement_close(stmt, xml) + "</BANKMSGSRSV1>\n</OFX>\n")
    return text.encode("utf-8" if xml else "cp1252")


def _sgml(i: int, name: str = "Payee", memo: str = "Memo", newline: str = "\n") -> str:
    return newline.join(["<STMTTRN>", "<TRNTYPE>DEBIT", f"<DTPOSTED>202401{i % 28 + 1:02d}120000",
                         f"<TRNAMT>-{i}.50", f"<FITID>FIT{i}", f"<NAME>{name} {i}", f"<MEMO>{memo} {i}",
                         "</STMTTRN>", ""])


def test_uniform_runs_are_read_by_columns(runs: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:
    data = document([_sgml(i) for i in range(50)])
    fast, slow = both(data, monkeypatch)
    assert fast == slow
    lines = [e for e in fast if isinstance(e, ParsedLine)]
    assert len(lines) == 50 and runs and all(runs)
    assert (lines[1].line_number - lines[0].line_number, lines[1].description, lines[1].bank_transaction_id) == (
        8, "Payee 1 - Memo 1", "FIT1")


@pytest.mark.parametrize("odd", [
    "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20241332\n<TRNAMT>-1.00\n<FITID>X\n</STMTTRN>\n",
    "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240105\n<TRNAMT>-1,50\n<FITID>X\n</STMTTRN>\n",
    "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240105\n<TRNAMT>1E+99\n<FITID>X\n</STMTTRN>\n",
    "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED> 20240105\n<TRNAMT>2\n<FITID>X\n</STMTTRN>\n",
    "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240105\n<TRNAMT>2\n<NAME>A &amp; B\n</STMTTRN>\n",
    "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240105\n<TRNAMT>2\n<NAME>two\nlines\n</STMTTRN>\n",
    "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240105\n<TRNAMT>2\n<CURRENCY><CURRATE>1<CURSYM>EUR</CURRENCY>\n"
    "</STMTTRN>\n",
    "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240105\n<TRNAMT>2\n<BANKACCTTO><BANKID>1<ACCTID>9</BANKACCTTO>\n"
    "</STMTTRN>\n",
    "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240105\n<TRNAMT>2\n<NAME>a\n<NAME>b\n</STMTTRN>\n",
    "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240105\n<DTUSER>20240106\n<TRNAMT>2\n<CHECKNUM> \n<REFNUM>R1\n"
    "</STMTTRN>\n",
    "<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240105<TRNAMT>2<NAME>same line</STMTTRN>\n",
    "<STMTTRN>\n<TRNAMT>2\n<DTPOSTED>20240105\n<NAME>other order\n</STMTTRN>\n",
    "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240105\n<TRNAMT>2\n<NAME>a>b\n</STMTTRN>\n",
    "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240105\n<TRNAMT>\n<NAME>no amount\n</STMTTRN>\n",
    "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240105\n<TRNAMT>1e3\n<NAME>exponent\n</STMTTRN>\n",
])
@pytest.mark.parametrize("where", [0, 3, 9])
def test_odd_transactions_give_the_same_events(odd: str, where: int, monkeypatch: pytest.MonkeyPatch) -> None:
    transactions = [_sgml(i) for i in range(10)]
    transactions.insert(where, odd)
    fast, slow = both(document(transactions), monkeypatch)
    assert fast == slow
    assert len([e for e in fast if isinstance(e, ParsedLine | LineError)]) == 11


def _trait(i: int, name: str = "Name", extra: str = "") -> str:
    return (f"<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>202402{i % 28 + 1:02d}\n<TRNAMT>{i}.75\n<FITID>F{i}\n"
            f"<NAME>{name}\n{extra}</STMTTRN>\n")


@pytest.mark.parametrize("build", [
    lambda i: _trait(i, "A &amp; B" if i == 4 else "A and B"),
    lambda i: _trait(i, extra="<CURRENCY><CURRATE>1.1\n<CURSYM>EUR\n</CURRENCY>\n"),
    lambda i: _trait(i, extra="<ORIGCURRENCY><CURRATE>1.1\n<CURSYM>EUR\n</ORIGCURRENCY>\n"),
    lambda i: _trait(i, extra="<BANKACCTTO><BANKID>1\n<ACCTID>DE{i}\n</BANKACCTTO>\n"),
    lambda i: _trait(i, extra="<NAME>second name\n"),
    lambda i: _trait(i, extra="<DTUSER>2024030{i % 9}\n"),
    # one transaction a line short in one leaf and a line long in another: line numbers must follow
    lambda i: _trait(i, "x<MEMO>m" if i == 3 else "y\n\n<MEMO>m" if i == 5 else "z\n<MEMO>m"),
    lambda i: _trait(i, "two\nlines" if i == 6 else "one"),
    lambda i: _trait(i).replace("<TRNAMT>", "<TRNAMT>-0" if i == 2 else "<TRNAMT>"),
    lambda i: _trait(i).replace("<DTPOSTED>", "<DTPOSTED>\n" if i == 7 else "<DTPOSTED>"),
    lambda i: _trait(i, " " if i == 3 else "Name"),
    # the same leaves in another order, same width and lines
    lambda i: _trait(i).replace("<FITID>", "<XFITID>").replace("<NAME>", "<FITID>").replace("<XFITID>", "<NAME>")
    if i == 5 else _trait(i),
])
def test_uniform_runs_with_an_unusual_trait_give_the_same_events(build: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = both(document([build(i) for i in range(10)]), monkeypatch)
    assert fast == slow
    assert len([e for e in fast if isinstance(e, ParsedLine | LineError)]) == 10


_TAGS = ["TRNTYPE", "DTPOSTED", "DTUSER", "DTAVAIL", "TRNAMT", "FITID", "CHECKNUM", "REFNUM", "SIC", "NAME",
         "MEMO"]
#: per leaf: (values a bank's export has, odd values)
_VALUES = {
    "TRNTYPE": (["DEBIT", "CREDIT"], [""]),
    "DTPOSTED": (["20240105", "20240105120000", "20240106120000.000[-5:EST]", "20240229"],
                 ["20241332", "", " 20240107", "2024010", "\n20240108"]),
    "DTUSER": (["20240105", "20240110"], ["", " ", "x", "20240231", " 20240108"]),
    "DTAVAIL": (["20240105"], [""]),
    "TRNAMT": (["-1.50", "2", "+3.25", "-0.00", "12345678901234"],
               [" 4.00 ", "1,50", "1.234,50", "NaN", "", "1e3", "123456789012345678", "1_0", "sNaN"]),
    "FITID": (["F1", "F2"], ["", " F2 ", "F&amp;3"]),
    "CHECKNUM": (["101", "102"], ["", " "]),
    "REFNUM": (["R1", "R2"], [""]),
    "SIC": (["5411"], ["&#53;"]),
    "NAME": (["Shop", "Shop Memo", "Caf\u00e9"], ["Shop &lt;1&gt;", " Shop ", "", "A &amp; B", "two\nlines"]),
    "MEMO": (["Memo", "Shop", "Shop Memo", "x"], ["", " Memo ", "two\nlines"]),
}


def _value(tag: str) -> st.SearchStrategy[str]:
    common, odd = _VALUES[tag]
    return st.integers(0, 19).flatmap(lambda n: st.sampled_from(odd if n == 0 else common))


@st.composite
def _transaction(draw: Any, tags: list[str], xml: bool, newline: str) -> str:
    parts = ["<STMTTRN>"]
    for tag in tags:
        value = draw(_value(tag))
        parts.append(f"<{tag}>{value}</{tag}>" if xml else f"<{tag}>{value}")
    parts.append("</STMTTRN>")
    return newline.join(parts) + newline


@st.composite
def _documents(draw: Any) -> bytes:
    xml = draw(st.booleans())
    newline = draw(st.sampled_from(["\n", "\r\n", ""]))
    tags = draw(st.lists(st.sampled_from(_TAGS), unique=True, min_size=1, max_size=8))
    if draw(st.booleans()):
        tags = [tag for tag in _TAGS if tag in tags]  # the specification's order
    # mostly one layout (as in a bank's export), sometimes a transaction with another
    transactions = draw(st.lists(_transaction(tags, xml, newline), min_size=1, max_size=20))
    if draw(st.integers(0, 3)) == 0:
        other = draw(st.lists(st.sampled_from(_TAGS), unique=True, min_size=1, max_size=8))
        at = draw(st.integers(0, len(transactions)))
        transactions.insert(at, draw(_transaction(other, xml, draw(st.sampled_from(["\n", ""])))))
    return document(transactions, xml)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_documents())
def test_generated_runs_give_the_same_events(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = both(data, monkeypatch)
    assert fast == slow


def test_generated_runs_mostly_take_the_column_reader(runs: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:
    """The common shapes are in fact read by columns (else the test above would prove little)."""
    for xml in (False, True):
        for newline in ("\n", "\r\n", ""):
            transactions = [
                newline.join(["<STMTTRN>", "<TRNTYPE>DEBIT", f"<DTPOSTED>2024020{i % 9 + 1}",
                              f"<DTUSER>2024030{i % 9 + 1}", f"<TRNAMT>{i}.25", "<CHECKNUM>7" if i % 2 else
                              "<CHECKNUM>", "<REFNUM>R", f"<NAME>N{i % 3}", f"<MEMO>N{i % 3} more", "</STMTTRN>"])
                + newline for i in range(20)]
            if xml:
                transactions = [t.replace("\n<", "<") for t in transactions]
            fast, slow = both(document(transactions, xml), monkeypatch)
            assert fast == slow
    assert runs and all(runs)
