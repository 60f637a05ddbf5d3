"""Differential tests: the streaming OFX reader gives the transactions ofxtools gives."""

from __future__ import annotations

import random
import warnings
from datetime import UTC, date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ofxtools.Parser import OFXTree

from tests.support.samples import SAMPLES as ALL_SAMPLES
from tests.unit.formats.structured_builders import Stmt, Txn, ofx_document
from tximport import money
from tximport.formats.base import (
    BytesSource,
    FileNote,
    FileSource,
    LineError,
    ParsedLine,
    ParseOptions,
    StatementAccount,
    StatementBalances,
)
from tximport.formats.ofx import parse_ofx

SAMPLES = ALL_SAMPLES / "ofx"
#: the samples ofxtools reads (the others break its schema: see test_ofx.py for what we make of them)
ORACLE_SAMPLES = ["ofxparse-anzcc.ofx", "ofxparse-bank_medium.ofx", "ofxparse-multiple_accounts.ofx",
                  "ofxparse-multiple_accounts2.ofx", "ofxparse-suncorp.ofx"]


def _stated(balance: Any, currency: str | None, notes: list[tuple[str, str]]) -> Decimal | None:
    """A balance's amount by ofxtools, with the rule our reader applies beside it (README "Error codes",
    `BalanceUnreadable`): an amount finer than the statement's currency (`CURDEF`) is left out, with a note."""
    if balance is None:
        return None
    amount: Decimal = balance.balamt
    places = amount.normalize().as_tuple().exponent
    if isinstance(places, int) and -places > money.exponent(currency):
        notes.append(("BalanceUnreadable", str(amount)))
        return None
    return amount


def oracle(path: Path) -> list[tuple]:
    """(account, currency, [(date, amount, fitid, name, memo, checknum)], (closing, available), notes) per
    statement, by ofxtools."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = OFXTree()
        tree.parse(str(path))
        doc = tree.convert()
    out = []
    for stmt in doc.statements:
        rows = []
        for t in stmt.banktranlist or []:
            # ofxtools converts to UTC; the date as the bank wrote it is what we keep
            rows.append((t.dtposted.astimezone(UTC).date(), t.trnamt, t.fitid, (t.name or "").strip(),
                         (t.memo or "").strip(), t.checknum))
        notes: list[tuple[str, str]] = []
        balances = (_stated(stmt.ledgerbal, stmt.curdef, notes), _stated(getattr(stmt, "availbal", None), stmt.curdef,
                                                                        notes))
        out.append((stmt.account.acctid, stmt.curdef, rows, balances, notes))
    return out


def ours(events: list) -> list[tuple]:
    out: list[tuple] = []
    for e in events:
        if isinstance(e, StatementAccount):
            out.append((e.account_ref, e.currency, [], (None, None), []))
        elif isinstance(e, StatementBalances):
            assert out and out[-1][0] == e.account_ref
            out[-1] = (*out[-1][:3], (e.closing.amount if e.closing else None,
                                      e.available.amount if e.available else None), out[-1][4])
        elif isinstance(e, FileNote) and e.code == "BalanceUnreadable":
            assert out and e.severity == "warning" and e.actual_value is not None
            out[-1][4].append((e.code, e.actual_value))
        elif isinstance(e, ParsedLine):
            assert out and out[-1][0] == e.account_ref
            out[-1][2].append((e.date_posted, e.amount, e.bank_transaction_id, e.counterparty_name or "",
                               e.description, e.reference))
        else:
            raise AssertionError(f"unexpected event {e!r}")
    return out


def comparable(theirs: list[tuple]) -> list[tuple]:
    """ofxtools keeps NAME and MEMO apart: fold them the way our description does."""
    out = []
    for account, currency, rows, balances, notes in theirs:
        folded = []
        for posted, amount, fitid, name, memo, checknum in rows:
            if not memo or memo == name:
                description = name
            elif not name or name in memo:
                description = memo
            else:
                description = f"{name} - {memo}"
            folded.append((posted, amount, fitid, name, description, checknum))
        out.append((account, currency, folded, balances, notes))
    return out


@pytest.mark.parametrize("name", ORACLE_SAMPLES)
def test_samples_match_ofxtools(name: str) -> None:
    path = SAMPLES / name
    assert ours(list(parse_ofx(FileSource(str(path)), ParseOptions()))) == comparable(oracle(path))


def random_statements(seed: int) -> list[Stmt]:
    rnd = random.Random(seed)
    stmts = []
    for index in range(rnd.randint(1, 3)):
        txns = [Txn(posted=date(2024, 1, 1) + timedelta(days=rnd.randint(0, 300)),
                    amount=Decimal(rnd.randint(-10**7, 10**7)) / 100,
                    fitid=f"F{seed}-{index}-{n}",
                    name=rnd.choice(["Shop", "Rent & Co", "Salary", "A <b> c", "Caf\u00e9"]) + str(n),
                    memo=rnd.choice(["", "memo text", "Shop"]))
                for n in range(rnd.randint(0, 40))]
        stmts.append(Stmt(account=f"{1000 + index}", currency=rnd.choice(["USD", "EUR"]), txns=txns,
                          card=index == 2))
    return stmts


@pytest.mark.parametrize("xml", [False, True], ids=["sgml", "xml"])
@pytest.mark.parametrize("seed", range(6))
def test_generated_files_match_ofxtools(tmp_path: Path, seed: int, xml: bool) -> None:
    path = tmp_path / "gen.ofx"
    path.write_text(ofx_document(random_statements(seed), xml), encoding="utf-8" if xml else "cp1252")
    assert ours(list(parse_ofx(FileSource(str(path)), ParseOptions()))) == comparable(oracle(path))


def test_generated_document_round_trips_its_rows() -> None:
    stmts = random_statements(42)
    events = list(parse_ofx(BytesSource(ofx_document(stmts, xml=True).encode()), ParseOptions()))
    rows = [e for e in events if isinstance(e, ParsedLine)]
    expected = [t for s in sorted(stmts, key=lambda s: s.card) for t in s.txns]
    assert [(r.date_posted, r.amount, r.bank_transaction_id) for r in rows] == [
        (t.posted, t.amount, t.fitid) for t in expected]


def test_an_amount_with_an_exponent_is_where_we_part_from_ofxtools(tmp_path: Path) -> None:
    """ofxtools hands TRNAMT to `Decimal`, which reads `1e3` as 1000; OFX amounts are plain decimals, so ours
    rejects the transaction (InvalidAmount) and keeps the others."""
    stmt = Stmt(account="1000", currency="USD", txns=[Txn(date(2024, 1, 2), Decimal("-5.00"), "F1", "Shop"),
                                                     Txn(date(2024, 1, 3), Decimal("7.00"), "F2", "Exponent")])
    path = tmp_path / "exponent.ofx"
    path.write_text(ofx_document([stmt], xml=True).replace("<TRNAMT>7.00<", "<TRNAMT>1e3<"), encoding="utf-8")
    [(_, _, rows, _, _)] = oracle(path)
    assert [row[1] for row in rows] == [Decimal("-5.00"), Decimal("1E+3")]
    events = list(parse_ofx(FileSource(str(path)), ParseOptions()))
    assert [e.amount for e in events if isinstance(e, ParsedLine)] == [Decimal("-5.00")]
    assert [(e.code, e.actual_value) for e in events if isinstance(e, LineError)] == [("InvalidAmount", "1e3")]


@pytest.mark.parametrize("xml", [False, True], ids=["sgml", "xml"])
@pytest.mark.parametrize(("currency", "written"), [("USD", "12.345"), ("USD", "-0.001"), ("JPY", "12.5"),
                                                   ("JPY", "12.00"), ("USD", "12.50")])
def test_a_balance_finer_than_its_currency_is_left_out_as_the_oracle_rule_says(tmp_path: Path, xml: bool,
                                                                               currency: str, written: str) -> None:
    """ofxtools reads `<BALAMT>12.345` in USD as 12.345; ours leaves it out with BalanceUnreadable (its report gives
    each balance as an integer of minor units), which the oracle's adapter applies beside ofxtools."""
    stmts = [Stmt(account="1000", currency=currency, txns=[Txn(date(2024, 1, 2), Decimal("-5.00"), "F1", "Shop")]),
             Stmt(account="2000", currency="USD", txns=[Txn(date(2024, 1, 3), Decimal("7.00"), "F2", "Pay")])]
    path = tmp_path / "balances.ofx"
    path.write_text(ofx_document(stmts, xml).replace("<BALAMT>0.00", f"<BALAMT>{written}", 1), encoding="utf-8")
    theirs = comparable(oracle(path))
    assert ours(list(parse_ofx(FileSource(str(path)), ParseOptions()))) == theirs
    assert [len(statement[4]) for statement in theirs] == [written not in ("12.00", "12.50"), 0]
