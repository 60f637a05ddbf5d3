"""Adversarial inputs for the MT940, QIF and JSON#v0 readers: time linear in the size (8x the input,
less than 16x the CPU time) and the limits that end a runaway input with a clear file error."""

from __future__ import annotations

import pytest

from tests.unit.formats.timing import assert_linear
from tximport.formats import json_v0, mt940, qif
from tximport.formats.base import BytesSource, FileError, ParseOptions

HEAD = b":20:STMT\n:25:DE89370400440532013000\n:60F:C240101EUR0,00\n"
LINE = b":61:2401010101C1,00NTRFNONREF//B1\n"

MT940_INPUTS = {
    # one :86: continued over many lines
    "long :86: continuation": lambda n: HEAD + LINE + b":86:" + b"Wrapped purpose text, line by line\n" * n,
    # many :61: without :86:
    ":61: without :86:": lambda n: HEAD + LINE * n + b"-\n",
    # :86: after :86: (the library joins each to the last, a quadratic string)
    "repeated :86:": lambda n: HEAD + LINE + b":86:more details\n" * n,
    # repeated tag starts: empty statements, one after the other
    "repeated :20:": lambda n: b":20:X\n" * n,
    # a structured :86: of many sub-fields and `?`
    "structured :86: of many sub-fields": lambda n: HEAD + LINE + b":86:166" + b"?20a?2?" * n + b"\n",
    # a :61: followed by long lines it cannot match
    "long lines after a :61:": lambda n: HEAD + b":61:2401010101C1,00NTRF" + b"X" * 60 + b"\n" + b"Y" * n * 30
    + b"\n" + b"Z\n",
    # one long line (below the line limit)
    "one long line": lambda n: HEAD + LINE + b":86:" + b"x" * (n * 30) + b"\n",
    # a broken statement read line by line (the fallback), with many :61:
    "broken statement, many :61:": lambda n: HEAD + b":60F:X\n" + LINE * n,
}


@pytest.mark.parametrize("name", sorted(MT940_INPUTS))
def test_mt940_time_is_linear(name: str) -> None:
    # the inputs that make many lines are smaller: each test stays well under two seconds
    size = 600 if name in (":61: without :86:", "repeated :20:", "broken statement, many :61:") else 2000
    assert_linear(mt940.parse_mt940, MT940_INPUTS[name], size)


def _file_error(data: bytes) -> FileError:
    with pytest.raises(FileError) as info:
        for _event in mt940.parse_mt940(BytesSource(data), ParseOptions()):
            pass
    return info.value


def test_mt940_line_and_statement_limits() -> None:
    error = _file_error(HEAD + b":86:" + b"x" * (mt940.MAX_LINE + 1) + b"\n")
    assert (error.code, error.details) == ("LineTooLong", {"line": 4})
    assert _file_error(b"x" * (3 * mt940.MAX_LINE)).code == "LineTooLong"  # no newline at all
    lines = b":86:" + b"y" * 60 + b"\n"
    error = _file_error(HEAD + LINE + lines * (mt940.MAX_MESSAGE // len(lines) + 1))
    assert (error.code, error.details) == ("ElementTooLarge", {"line": 1})


def test_mt940_a_line_at_the_limit_reads() -> None:
    data = HEAD + LINE + b":86:" + b"x" * (mt940.MAX_LINE - 4) + b"\n"
    [_account, line, *_balances] = list(mt940.parse_mt940(BytesSource(data), ParseOptions()))
    assert len(line.description) == mt940.MAX_LINE - 4


# --- QIF -------------------------------------------------------------------------------------------

QIF_RECORD = b"D01/31/2024\nT-1,234.56\nPPayee\nMMemo\n^\n"

QIF_INPUTS = {
    # records without `^`: one record that only grows (below the record limit)
    "no ^ separators": lambda n: b"!Type:Bank\n" + b"D01/31/2024\nT1.00\nPP\n" * n,
    # one long line (below the line limit)
    "one long line": lambda n: b"!Type:Bank\nD01/31/2024\nT1.00\nP" + b"x" * (n * 40) + b"\n^\n",
    # a header on every line
    "repeated headers": lambda n: b"!Type:Bank\n!Type:Cat\n" * n,
    # records of ever new shapes (more than the reader learns) and of two shapes in turn
    "changing shapes": lambda n: b"!Type:Bank\n" + b"".join(
        b"D01/31/2024\nT1.00\n" + b"".join(b"%c%d\n" % (65 + (i + j) % 26, j) for j in range(i % 20)) + b"^\n"
        for i in range(n)),
    "two shapes in turn": lambda n: b"!Type:Bank\n" + (QIF_RECORD + b"D01/31/2024\nT5\n^\n") * n,
    # investment records (skipped, counted)
    "investment records": lambda n: b"!Type:Invst\n" + b"D01/31/2024\nNBuy\nYACME\nI10\nQ5\nT50\n^\n" * n,
    # records alike, each one broken at its end (a run that never goes on)
    "runs broken at every record": lambda n: b"!Type:Bank\n" + (QIF_RECORD + b"Xodd\n") * n,
}


@pytest.mark.parametrize("name", sorted(QIF_INPUTS))
def test_qif_time_is_linear(name: str) -> None:
    size = {"one long line": 3000, "two shapes in turn": 500, "changing shapes": 500}.get(name, 1500)
    assert_linear(qif.parse_qif, QIF_INPUTS[name], size)


def _qif_error(data: bytes) -> FileError:
    with pytest.raises(FileError) as info:
        for _event in qif.parse_qif(BytesSource(data), ParseOptions()):
            pass
    return info.value


def test_qif_line_and_record_limits() -> None:
    error = _qif_error(b"!Type:Bank\nD01/31/2024\nP" + b"x" * (qif.MAX_LINE + 1) + b"\n^\n")
    assert (error.code, error.details) == ("LineTooLong", {"line": 3})
    assert _qif_error(b"x" * (3 * qif.MAX_LINE)).code == "LineTooLong"  # no newline at all
    error = _qif_error(b"!Type:Bank\n" + b"D01/31/2024\nT1\n" * (qif.MAX_RECORD_LINES // 2 + 1))
    assert (error.code, error.details) == ("ElementTooLarge", {"line": 2})


# --- JSON#v0 ---------------------------------------------------------------------------------------

JSON_TX = b'{"transactionId": "T1", "datePosted": "2024-01-31", "amount": "-12.50", "description": "Coffee"}'


def _json_array(elements: bytes) -> bytes:
    return b'{"bankAccounts": [{"accountIdentifier": "A", "transactions": [' + elements + b"]}]}"


JSON_INPUTS = {
    # nesting under the limit, over and over
    "deep elements": lambda n: _json_array(b",".join([b"[" * 200 + b"]" * 200] * (n // 20))),
    "deep ignored value": lambda n: b'{"meta": [' + b",".join([b"[" * 200 + b"]" * 200] * (n // 20))
    + b'], "transactions": []}',
    # long strings (under the element limit)
    "long string": lambda n: _json_array(b'{"datePosted": "2024-01-31", "amount": "1", "description": "'
                                         + b"x" * (n * 200) + b'"}'),
    # long arrays of non-objects, as transactions and as an ignored value
    "array of non-objects": lambda n: _json_array(b",".join([b"1", b"null", b'"x"', b"[]"] * n)),
    "ignored array of numbers": lambda n: b'{"meta": [' + b",".join([b"123456"] * (n * 4))
    + b'], "transactions": []}',
    # an unterminated string at the end: read on to the end (or the element limit)
    "unterminated string": lambda n: _json_array(b",".join([JSON_TX] * n) + b', "' + b"y" * (n * 50)),
    # transactions that never decode as a block (each nests a `}` before its last one)
    "no block decodes": lambda n: _json_array(b",".join(
        [b'{"datePosted": "2024-01-31", "amount": "1", "x": {"y": {}}}'] * n)),
    # many keys in an account
    "many account keys": lambda n: b'{"bankAccounts": [{"accountIdentifier": "A", '
    + b", ".join(b'"k%d": {"v": [1, 2]}' % i for i in range(n)) + b', "transactions": []}]}',
    # accountIdentifier after the transactions (a second pass over the file)
    "identifier after the transactions": lambda n: b'{"bankAccounts": [{"transactions": ['
    + b",".join([JSON_TX] * n) + b'], "accountIdentifier": "A"}]}',
}


@pytest.mark.parametrize("name", sorted(JSON_INPUTS))
def test_json_time_is_linear(name: str) -> None:
    size = {"deep elements": 3000, "long string": 4000, "deep ignored value": 400}.get(name, 800)
    assert_linear(json_v0.parse_json_v0, JSON_INPUTS[name], size)
