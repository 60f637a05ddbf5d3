"""JSON#v0: our reader against the ijson reader it replaced (oracles/json_ijson.py), its limits, and no
input that can stop the process (issue 13 item 1: a 4,400-digit number crashed ijson's C backend).

The differential tests generate documents of both shapes with the variety clients send (keys in any
order, accountIdentifier after the transactions, values of every JSON type, numbers as strings and as
numbers, extra keys holding nested values, any whitespace, escapes), whole and damaged, and compare the
events and the file error code. The crash test runs the reader in a child process, so that a crash is
a failed test rather than a dead test run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.formats.oracles.json_ijson import parse_json_v0 as oracle_parse
from tximport.formats import json_v0
from tximport.formats.base import (
    ELEMENT_TOO_LARGE,
    INVALID_AMOUNT,
    INVALID_SOURCE_DATA,
    NESTING_TOO_DEEP,
    BytesSource,
    FileError,
    LineError,
    ParsedLine,
    ParseOptions,
    StatementAccount,
)
from tximport.formats.json_v0 import parse_json_v0

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))


def outcome(parser: Any, data: bytes) -> tuple[list[Any], str | None]:
    events: list[Any] = []
    try:
        for event in parser(BytesSource(data), ParseOptions()):
            events.append(event)
    except FileError as exc:
        return events, exc.code
    return events, None


#: a `\u` escape of a surrogate: ijson's C backend pairs a high one with whatever `\u` escape follows and
#: writes a lone low one as bytes it then cannot decode, so it is no oracle for those
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def vars_of(event: Any) -> list[Any]:
    return [getattr(event, name) for name in getattr(event, "__dataclass_fields__", {})]


def assert_same(data: bytes) -> None:
    ours, theirs = outcome(parse_json_v0, data), outcome(oracle_parse, data)
    if ours != theirs and _SURROGATE_ESCAPE.search(data):
        # ours reads a lone surrogate as `?` and pairs only a high one with a low one: every text it yields
        # can be written as UTF-8
        texts = [v for event in ours[0] for v in vars_of(event) if isinstance(v, str)]
        assert all(text.encode("utf-8") is not None for text in texts)  # raises on a lone surrogate
        return
    assert ours == theirs


# --- documents --------------------------------------------------------------------------------------


class Num:
    """A JSON number written as given (json.dumps has no way to write `1.50` or `-0`)."""

    def __init__(self, text: str) -> None:
        self.text = text


def dump(value: Any, style: dict[str, Any]) -> str:
    """JSON text of `value` (Num as written), in the drawn whitespace style."""
    sep, colon, nl = style["sep"], style["colon"], style["nl"]
    if isinstance(value, Num):
        return value.text
    if isinstance(value, dict):
        return "{" + nl + sep.join(json.dumps(key, ensure_ascii=style["ascii"]) + colon + dump(item, style)
                                   for key, item in value.items()) + nl + "}"
    if isinstance(value, list):
        return "[" + nl + sep.join(dump(item, style) for item in value) + nl + "]"
    return json.dumps(value, ensure_ascii=style["ascii"])


def mostly(common: list[Any], rare: list[Any]) -> st.SearchStrategy[Any]:
    return st.integers(min_value=0, max_value=9).flatmap(lambda n: st.sampled_from(rare if n == 9 else common))


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
numbers = st.sampled_from(["0", "-0", "12", "-12.50", "0.1", "1e2", "1.5E-3", "-7e+1", "123456789012345678",
                           "1" * 25, "3.14159265358979323846"]).map(Num)  # (the old reader rounded beyond 28 digits)
dates = mostly(["2024-01-31", "2024-02-29", "2023-12-01T10:00:00Z", "2024-03-01 08:00"],
               ["31.01.2024", "2024-02-30", "", " 2024-01-01 ", "2024-1-1", "yesterday"])
amounts = st.one_of(mostly(["-12.50", "2500.00", "0.1", "7", "+3.5", "-0"],
                           ["1,50", "", " 12.00 ", "1e5", ".5", "5.", "abc", "-", "١٢٣"]), numbers)
anything = st.one_of(st.none(), st.booleans(), texts, numbers, st.just([]), st.just({}), st.just([1, {"a": None}]))


@st.composite
def transaction(draw: st.DrawFn) -> Any:
    if draw(st.integers(min_value=0, max_value=24)) == 0:
        return draw(anything)  # not an object
    tx: dict[str, Any] = {"datePosted": draw(dates), "amount": draw(amounts)}
    optional = {
        "transactionId": st.one_of(texts, numbers), "description": texts, "text": texts, "reference": texts,
        "counterpartyName": texts, "counterpartyAccount": texts, "valueDate": dates,
        "creditDebit": mostly(["credit", "debit"], ["up", None]), "currency": mostly(["EUR", "usd"], ["EURO"]),
        "balance": amounts, "originalAmount": amounts, "originalCurrency": mostly(["CHF"], ["x"]),
        "pending": mostly([True, False], ["yes"]), "extra": anything,
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), max_size=5, unique=True)):
        tx[key] = draw(optional[key])
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        key = draw(st.sampled_from(sorted(tx)))
        tx[key] = draw(anything)  # a value of another type
    if draw(st.booleans()):
        tx = dict(draw(st.permutations(list(tx.items()))))
    return tx


plain_amounts = mostly(["-12.50", "2500.00", "0.1", "7", "+3.5", "-0", "5.", "1" * 25],
                       ["1,50", "", " 12.00 ", ".5", Num("1.5"), None, "1e5"])
common_dates = mostly(["2024-01-31", "2024-02-29", "2023-12-01"], ["2024-02-30", "", None, "2024-01-01T10:00"])
common_texts = mostly(["Payment", " padded ", "", "Caf\u00e9", "Cafe\u0301", "\u00e9\u00e9"], [None, 7, "x\ud7ff"])


@st.composite
def alike(draw: st.DrawFn) -> list[Any]:
    """Transactions written alike (the keys the reader makes column by column), values mostly common."""
    keys = ["datePosted", "amount", *draw(st.lists(st.sampled_from(
        ["transactionId", "description", "text", "reference", "counterpartyName", "counterpartyAccount",
         "valueDate"]), max_size=4, unique=True))]
    if draw(st.booleans()):
        keys = draw(st.permutations(keys))
    drawn = {"datePosted": common_dates, "amount": plain_amounts, "valueDate": common_dates}
    return [{key: draw(drawn.get(key, common_texts)) for key in keys}
            for _ in range(draw(st.integers(min_value=2, max_value=12)))]


@st.composite
def transactions(draw: st.DrawFn) -> list[Any]:
    if draw(st.booleans()):
        return draw(alike())
    return draw(st.lists(transaction(), max_size=6))


@st.composite
def account(draw: st.DrawFn) -> Any:
    if draw(st.integers(min_value=0, max_value=19)) == 0:
        return draw(anything)
    ident = draw(mostly(["DE89370400440532013000", "CARD-1234", " padded "], ["", None, 12]))
    items: list[tuple[str, Any]] = [("transactions", draw(transactions()))]
    if draw(st.integers(min_value=0, max_value=14)):
        items.insert(draw(st.integers(min_value=0, max_value=1)), ("accountIdentifier", ident))
    if draw(st.booleans()):
        items.insert(draw(st.integers(min_value=0, max_value=len(items))),
                     ("currency", draw(mostly(["EUR", "USD"], ["eur", 1]))))
    if draw(st.booleans()):
        items.insert(draw(st.integers(min_value=0, max_value=len(items))), ("bank", {"bic": "X", "n": [1, 2]}))
    return dict(items)


@st.composite
def document(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        top: dict[str, Any] = {"bankAccounts": draw(st.lists(account(), max_size=3))}
    else:
        top = {"transactions": draw(transactions())}
        if draw(st.booleans()):
            top["accountIdentifier"] = draw(mostly(["DE89370400440532013000"], [7, None]))
        if draw(st.booleans()):
            top["currency"] = draw(mostly(["EUR"], ["euro"]))
    if draw(st.booleans()):
        top["generator"] = draw(anything)
    if draw(st.booleans()):
        top = dict(draw(st.permutations(list(top.items()))))
    style = {"sep": draw(st.sampled_from([",", ", ", ",\n  ", " ,\r\n"])),
             "colon": draw(st.sampled_from([":", ": ", " : "])), "nl": draw(st.sampled_from(["", "\n", " "])),
             "ascii": draw(st.booleans())}
    text = dump(top, style) + draw(st.sampled_from(["", "\n", "  \r\n"]))
    return draw(mostly([b""], [b"\xef\xbb\xbf"])) + text.encode("utf-8")


@SETTINGS
@given(data=document())
def test_generated_documents_read_as_before(data: bytes) -> None:
    assert_same(data)


@SETTINGS
@given(data=document(), cuts=st.lists(st.tuples(st.floats(min_value=0, max_value=1),
                                                st.text('{}[]",:0123456789.eE+-tfnulx \n\\', max_size=4)),
                                      min_size=1, max_size=3))
def test_damaged_documents_read_as_before(data: bytes, cuts: list[tuple[float, str]]) -> None:
    for where, junk in cuts:
        at = int(len(data) * where)
        data = data[:at] + junk.encode() + data[at:]
    assert_same(data)


@pytest.mark.parametrize("junk", [b"00", b"01", b"-01", b"0", b"0E", b"1."])
def test_a_number_with_a_leading_zero_between_transactions_reads_as_before(junk: bytes) -> None:
    """`00` is the number 0 and a digit after it (no JSON number has a leading zero): the 0 is a transaction that is
    no object, then the document breaks, as ijson reads it (found by the damaged-documents test)."""
    line = b'{"datePosted":"2024-01-31","amount":"-12.50"}'
    assert_same(b'{"transactions":[' + line + b"," + junk + line + b'],"generator":null}')


def test_the_blocks_of_a_long_document_read_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks cut anywhere (small blocks: every kind of cut occurs), in the middle of a string, a number,
    an escape, a literal, between a key and its value."""
    monkeypatch.setattr(json_v0, "_CHUNK", 97)
    txs = [{"transactionId": f"T{i}", "datePosted": f"2024-01-{1 + i % 28:02d}", "amount": f"-{i}.5",
            "description": f"Payment \u00e9\\\"{i}", "pending": i % 3 == 0, "balance": Num(f"{i}.25e1"),
            "valueDate": None if i % 5 else "2024-02-01"} for i in range(300)]
    txs[100]["amount"] = "1,5"  # a rejected one among them
    txs[200] = {**txs[200], "nested": {"a": [1, 2, {"b": "}],"}]}}
    data = dump({"bankAccounts": [{"transactions": txs, "accountIdentifier": "A"}]},
                {"sep": ",", "colon": ":", "nl": "", "ascii": False}).encode()
    events, code = outcome(parse_json_v0, data)
    assert code is None and len(events) == 301
    assert (events, code) == outcome(oracle_parse, data)


# --- limits and numbers -----------------------------------------------------------------------------

def one(amount: str, **extra: Any) -> bytes:
    body = ", ".join(f'"{key}": {value}' for key, value in extra.items())
    return (b'{"transactions": [{"datePosted": "2024-01-01", "amount": ' + amount.encode() + (b", " + body.encode()
            if body else b"") + b'}, {"datePosted": "2024-01-02", "amount": "1.00"}]}')


@pytest.mark.parametrize("amount", ["1" * 4400, "1" * 4300, "1" * 4301, "-" + "9" * 5000, "1e999999",
                                    "1e99999999999999999999", "1E-999999", "0." + "0" * 200 + "1",
                                    '"' + "1" * 39 + '"', "1" * 39, "1e126", "1e-131"])
def test_numbers_the_ledger_cannot_store_are_rejected_lines(amount: str) -> None:
    events, code = outcome(parse_json_v0, one(amount))
    assert code is None
    [rejected, line] = events
    assert isinstance(rejected, LineError) and rejected.code == INVALID_AMOUNT
    assert rejected.target == "$.transactions[0].amount"
    assert isinstance(line, ParsedLine) and line.amount == Decimal("1.00") and line.line_number == 2


@pytest.mark.parametrize(("amount", "expected"), [
    ("-0", Decimal(0)), ('"-0"', Decimal(0)), ("1" * 38, Decimal("1" * 38)), ("1e125", Decimal("1e125")),
    ("1" + "0" * 40, Decimal("1e40")), ("1." + "0" * 50, Decimal(1)), ("1e-130", Decimal("1e-130")),
    ("12.50", Decimal("12.50"))])
def test_numbers_the_ledger_stores_read_exactly(amount: str, expected: Decimal) -> None:
    [line, _second] = outcome(parse_json_v0, one(amount))[0]
    assert isinstance(line, ParsedLine) and line.amount == expected


def test_a_debit_of_38_digits_keeps_every_digit() -> None:
    [line, _second] = outcome(parse_json_v0, one('"' + "9" * 37 + '.1"', creditDebit='"debit"'))[0]
    assert isinstance(line, ParsedLine) and str(line.amount) == "-" + "9" * 37 + ".1"


def test_a_long_integer_id_is_read_as_written() -> None:
    [line, _second] = outcome(parse_json_v0, one('"1"', transactionId="7" * 4400))[0]
    assert isinstance(line, ParsedLine) and line.bank_transaction_id == "7" * 4400


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_file_errors(constant: str) -> None:
    assert outcome(parse_json_v0, one(constant))[1] == INVALID_SOURCE_DATA


def test_a_lone_surrogate_escape_becomes_a_question_mark() -> None:
    [line, _second] = outcome(parse_json_v0, one('"1"', description='"a\\ud800b"'))[0]
    assert isinstance(line, ParsedLine) and line.description == "a?b"


@pytest.mark.parametrize("where", ["transaction", "extra key", "account key"])
def test_deep_nesting_is_a_file_error(where: str) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    data = {"transaction": '{"transactions": [' + deep + "]}",
            "extra key": '{"meta": ' + deep + ', "transactions": []}',
            "account key": '{"bankAccounts": [{"accountIdentifier": "A", "x": ' + deep + "}]}"}[where]
    events, code = outcome(parse_json_v0, data.encode())
    assert (events, code) == ([], NESTING_TOO_DEEP)


def test_nesting_within_the_limit_reads() -> None:
    data = '{"meta": ' + "[" * 200 + "]" * 200 + ', "transactions": [{"datePosted": "2024-01-01", "amount": 1, ' \
        '"x": ' + "[" * 200 + "]" * 200 + "}]}"
    [line] = outcome(parse_json_v0, data.encode())[0]
    assert isinstance(line, ParsedLine)


@pytest.mark.parametrize("where", ["description", "extra key"])
def test_a_value_over_the_element_limit_is_a_file_error(where: str) -> None:
    huge = '"' + "x" * (json_v0.MAX_ELEMENT + 10) + '"'
    data = {"description": one('"1"', description=huge), "extra key": ('{"meta": ' + huge + ', "transactions": []}'
                                                                         ).encode()}[where]
    events, code = outcome(parse_json_v0, data)
    assert (events, code) == ([], ELEMENT_TOO_LARGE)


def test_a_long_string_under_the_limit_reads() -> None:
    [line, _second] = outcome(parse_json_v0, one('"1"', description='"' + "x" * 3_000_000 + '"'))[0]
    assert isinstance(line, ParsedLine) and len(line.description) == 3_000_000


def test_a_long_array_of_non_objects_gives_a_rejected_line_each() -> None:
    elements = ",".join(["1", "null", '"x"', "[]"] * 500)
    data = ('{"bankAccounts": [{"accountIdentifier": "A", "transactions": [' + elements + "]}]}").encode()
    events, code = outcome(parse_json_v0, data)
    assert code is None
    assert isinstance(events[0], StatementAccount) and len(events) == 2001
    assert {e.code for e in events[1:]} == {"InvalidLine"}  # type: ignore[union-attr]


# --- no input stops the process ---------------------------------------------------------------------

CHILD = """
import json, sys
from tximport.formats.base import BytesSource, FileError, ParseOptions
from tximport.formats.json_v0 import parse_json_v0
for raw in sys.stdin.buffer.read().split(b"\\0\\0SEP\\0\\0"):
    events, code = 0, None
    try:
        for _event in parse_json_v0(BytesSource(raw), ParseOptions()):
            events += 1
    except FileError as exc:
        code = exc.code
    print(json.dumps([events, code]), flush=True)
"""


def run_in_child(documents: list[bytes]) -> list[tuple[int, str | None]]:
    """Each document's event count and file error code, read in a child process; a crash fails."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers"), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", CHILD], input=b"\0\0SEP\0\0".join(documents),
                          capture_output=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, f"the reader's process ended with {done.returncode}: {done.stderr[-2000:]!r}"
    results = [tuple(json.loads(line)) for line in done.stdout.decode().splitlines()]
    assert len(results) == len(documents)
    return results  # type: ignore[return-value]


#: what issue 13 found (4,400 digits), its neighbours, and the other number and nesting edges
EDGES = [one("1" * 4400), one("1" * 4300), one("1" * 4301), one("-" + "1" * 100_000), one("1e999999"),
         one("1e-999999999999999999999"), one("-0"), one('"1"', transactionId="1" * 4400),
         one('"1"', balance="9" * 4400 + ".5"), b'{"transactions": [' + b"[" * 100_000 + b"]}",
         b'{"x": ' + b'{"a":' * 100_000 + b"}}", one('"1"', description='"' + "y" * 9_000_000 + '"'),
         b'{"transactions": [' + b"1" * 100_000, b'{"accountIdentifier": ' + b"2" * 5000 + b', "transactions": []}']


def test_edge_numbers_and_nesting_do_not_stop_the_process() -> None:
    results = run_in_child(EDGES)
    assert results[0] == (2, None)  # the 4,400-digit amount is a rejected line, the next line reads
    assert [code for _count, code in results[9:11]] == [NESTING_TOO_DEEP, NESTING_TOO_DEEP]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A document with number tokens made long, deep or odd, and random bytes put in."""
    data = draw(document())
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(data)))
        junk = draw(st.one_of(
            st.integers(min_value=4290, max_value=4420).map(lambda n: b"9" * n),
            st.sampled_from([b"1e999999", b"-0", b"1E+99999999999999999999", b"NaN", b"\\ud800", b'"\\udc00"',
                             b"[" * 3000, b"{" * 3000, b"\xff\xfe", b"\x00", b'":']),
            st.binary(max_size=8)))
        data = data[:at] + junk + data[at:]
    return data


@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
@given(documents=st.lists(mutated(), min_size=40, max_size=40))
def test_mutated_documents_do_not_stop_the_process(documents: list[bytes]) -> None:
    run_in_child(documents)


def test_a_long_bad_amount_is_shown_elided_in_its_message_as_the_oracle_shows_it() -> None:
    """An amount whose text is long once written out (astral characters, escaped): the message shows it elided in
    the middle, its actual value whole (a property test found the oracle showing it whole)."""
    amount = "00000\x1f\U000101fe\U00018cd6\U0001df1f\U0002ebe1\U0002ebe1"
    data = json.dumps({"bankAccounts": [{"accountIdentifier": "A", "transactions": [
        {"transactionId": "T", "datePosted": "2024-01-01", "amount": amount, "description": "x"}]}]}).encode()
    events, code = outcome(parse_json_v0, data)
    (error,) = [e for e in events if type(e).__name__ == "LineError"]
    assert code is None and error.actual_value == amount and "..." in error.message
    assert (events, code) == outcome(oracle_parse, data)
