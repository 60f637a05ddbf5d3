"""Property tests: generated statements parse back to the same rows in OFX (SGML and XML), CAMT
and MT940, and arbitrary or truncated bytes only ever give FileError or LineError."""

from __future__ import annotations

import string
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.formats.structured_builders import Stmt, Txn, camt_document, mt940_document, ofx_document
from tximport.formats.base import (
    BytesSource,
    FileError,
    FileNote,
    LineError,
    ParsedLine,
    ParseOptions,
    StatementAccount,
    StatementBalances,
)
from tximport.formats.camt import parse_camt053
from tximport.formats.mt940 import parse_mt940
from tximport.formats.ofx import parse_ofx

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

amounts = st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2,
                      allow_nan=False, allow_infinity=False)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2069, 12, 31))
# MT940 :86: and OFX names: letters, digits and the punctuation banks use (no `?`, the MT940 separator)
names = st.text(alphabet=string.ascii_letters + string.digits + " .,-/&<>'", min_size=1, max_size=27).map(
    str.strip).filter(bool)
# NONREF and NOTPROVIDED mean "no reference" in MT940, so no format should give them back as one
refs = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=16).filter(
    lambda r: r not in ("NONREF", "NOTPROVIDED"))


@st.composite
def statements(draw: st.DrawFn, card: bool = True) -> list[Stmt]:
    out = []
    count = draw(st.integers(min_value=1, max_value=3))
    for index in range(count):
        txns = draw(st.lists(st.builds(Txn, posted=dates, amount=amounts, fitid=refs, name=names,
                                       memo=st.just("")), max_size=8))
        account = draw(st.from_regex(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{6,14}", fullmatch=True)) + str(index)
        out.append(Stmt(account=account, currency=draw(st.sampled_from(["EUR", "USD", "CHF"])), txns=txns,
                        card=card and draw(st.booleans())))
    return out


def rows(events: list) -> list[tuple]:
    out: list[tuple] = []
    for e in events:
        if isinstance(e, StatementAccount):
            out.append((e.account_ref, e.currency))
        elif isinstance(e, ParsedLine):
            out.append((e.account_ref, e.date_posted, e.amount, e.description.strip(), e.bank_transaction_id))
        elif isinstance(e, StatementBalances):
            continue  # the statement's balances: tests/unit/formats/test_balances.py
        else:
            raise AssertionError(f"unexpected {e!r}")
    return out


def expected(stmts: list[Stmt], squeeze: bool = False) -> list[tuple]:
    out: list[tuple] = []
    for s in stmts:
        out.append((s.account, s.currency))
        out.extend((s.account, t.posted, t.amount, " ".join(t.name.split()) if squeeze else t.name, t.fitid)
                   for t in s.txns)
    return out


@SETTINGS
@given(stmts=statements(), xml=st.booleans())
def test_ofx_round_trip(stmts: list[Stmt], xml: bool) -> None:
    data = ofx_document(stmts, xml).encode("utf-8" if xml else "cp1252")
    ordered = sorted(stmts, key=lambda s: s.card)  # the document lists bank statements first
    assert rows(list(parse_ofx(BytesSource(data), ParseOptions()))) == expected(ordered)


@SETTINGS
@given(stmts=statements(card=False), version=st.sampled_from(["02", "04", "08", "13"]))
def test_camt_round_trip(stmts: list[Stmt], version: str) -> None:
    data = camt_document(stmts, version).encode()
    assert rows(list(parse_camt053(BytesSource(data), ParseOptions()))) == expected(stmts)


@SETTINGS
@given(stmts=statements(card=False))
def test_mt940_round_trip(stmts: list[Stmt]) -> None:
    data = mt940_document(stmts).encode()
    # the MT940 bank reference after `//` is the fitid; runs of spaces in details are squeezed
    assert rows(list(parse_mt940(BytesSource(data), ParseOptions()))) == expected(stmts, squeeze=True)


PARSERS = [parse_ofx, parse_camt053, parse_mt940]


def only_contract_outcomes(parser, data: bytes) -> list | None:
    """The events (None for a FileError), each of a kind the contract lists (a note of a documented code)."""
    events = []
    try:
        for event in parser(BytesSource(data), ParseOptions()):
            assert isinstance(event, StatementAccount | ParsedLine | LineError | StatementBalances | FileNote)
            assert not isinstance(event, FileNote) or event.code in {
                "FileTruncated", "InterimReport", "UnimportedSections", "BalanceUnreadable", "StatementDateUnreadable",
                "BalanceMissing"}
            events.append(event)
    except FileError as exc:
        assert exc.code in {"InvalidSourceData", "UnsupportedEncoding", "EmptyFile", "ElementTooLarge",
                            "NestingTooDeep"}
        return None
    return events


@SETTINGS
@given(data=st.binary(max_size=2000), which=st.sampled_from(PARSERS))
def test_random_bytes_only_give_contract_errors(data: bytes, which) -> None:
    only_contract_outcomes(which, data)


@SETTINGS
@given(stmts=statements(card=False), cut=st.floats(min_value=0, max_value=1), junk=st.binary(max_size=20),
       kind=st.sampled_from(["ofx-sgml", "ofx-xml", "camt", "mt940"]))
def test_truncated_and_damaged_files_only_give_contract_errors(stmts: list[Stmt], cut: float, junk: bytes,
                                                               kind: str) -> None:
    if kind.startswith("ofx"):
        data, parser = ofx_document(stmts, kind == "ofx-xml").encode(), parse_ofx
    elif kind == "camt":
        data, parser = camt_document(stmts).encode(), parse_camt053
    else:
        data, parser = mt940_document(stmts).encode(), parse_mt940
    at = int(len(data) * cut)
    events = only_contract_outcomes(parser, data[:at] + junk)
    only_contract_outcomes(parser, data[:at] + junk + data[at:])
    if kind.startswith("ofx") and events is not None and b"</OFX>" not in data[:at] + junk:
        # an OFX document cut anywhere before its end tag is taken for a cut one
        assert [e.code for e in events if isinstance(e, FileNote)] == ["FileTruncated"]
