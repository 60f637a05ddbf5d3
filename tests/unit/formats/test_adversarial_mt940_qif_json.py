"""Adversarial inputs for the MT940, QIF and JSON#v0 readers: time linear in the size (8x the input,
less than 16x the CPU time) and the limits that end a runaway input with a clear file error."""

from __future__ import annotations

import pytest

from tests.unit.formats.timing import assert_linear
from tximport.formats import mt940
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
    [_account, line] = list(mt940.parse_mt940(BytesSource(data), ParseOptions()))
    assert len(line.description) == mt940.MAX_LINE - 4
