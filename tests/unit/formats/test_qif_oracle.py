"""QIF: the block reader against the line reader it replaced (oracles/qif_lines.py).

Same events (and the same file errors) for every sample and for generated files with the variety QIF
exports have: sections and account lists, fields in any order and case, split lines, blank lines,
records without `^`, CR/CRLF line ends, a BOM, the date and amount forms of several countries; also
damaged at random.
"""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.samples import SAMPLES
from tests.unit.formats.oracles.qif_lines import parse_qif as oracle_parse
from tximport.formats.base import BytesSource, FileError, FileSource, ParseOptions
from tximport.formats.qif import parse_qif
from tximport.models import DateStyle

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def outcome(parser: Any, data: bytes, **options: Any) -> tuple[list, str | None]:
    events: list = []
    try:
        for event in parser(BytesSource(data), ParseOptions(**options)):
            events.append(event)
    except FileError as exc:
        return events, exc.code
    return events, None


def assert_same(data: bytes, **options: Any) -> None:
    expected = outcome(oracle_parse, data, **options)
    assert outcome(parse_qif, data, **options) == expected


@pytest.mark.parametrize("name", sorted(p.name for p in (SAMPLES / "qif").glob("*.qif")))
@pytest.mark.parametrize("style", [None, DateStyle.MIDDLE_ENDIAN])
def test_every_sample_reads_as_before(name: str, style: DateStyle | None) -> None:
    path = SAMPLES / "qif" / name
    source = FileSource(str(path))
    expected = outcome(lambda _s, o: oracle_parse(source, o), b"", date_style=style)
    assert outcome(lambda _s, o: parse_qif(source, o), b"", date_style=style) == expected


def one_of_mostly(common: list[str], rare: list[str]) -> st.SearchStrategy[str]:
    return st.integers(min_value=0, max_value=19).flatmap(lambda n: st.sampled_from(rare if n == 19 else common))


dates = one_of_mostly(["01/31/2024", "1/31'24", "12/01/2023", "31.01.2024", "2024-01-31", "1/ 5' 4",
                       "05/06/2024", "13/01/2024"],
                      ["31/02/2024", "yesterday", "", "2024-13-01", "1/31'", "32.01.2024"])
amounts = one_of_mostly(["-1,234.56", "2,500.00", "-75.46", "12.5", "1.234,56", "-9,99", "100", "1 234,56",
                         "(12.00)", "12.00-", "1.000"], ["abc", "", "1e5", "--1", "1,2,3.4"])
text = st.text(alphabet=string.ascii_letters + string.digits + " äöüßé.-/&'", max_size=20)


@st.composite
def record(draw: st.DrawFn) -> list[str]:
    fields = [("D", draw(dates)), ("T", draw(amounts)), ("P", draw(text)), ("M", draw(text)),
              ("N", draw(st.sampled_from(["", "1001", "ref-7", "ä1"])))]
    fields += draw(st.lists(st.tuples(st.sampled_from(["C", "L", "A", "S", "E", "$", "U", "T", "D", "d", "t"]),
                                      st.one_of(text, amounts)), max_size=3))
    if draw(st.booleans()):
        fields = draw(st.permutations(fields))
    keep = draw(st.lists(st.booleans(), min_size=len(fields), max_size=len(fields)))
    if draw(st.integers(min_value=0, max_value=9)) == 0:  # now and then a field goes missing
        fields = [field for field, kept in zip(fields, keep, strict=True) if kept]
    lines = [code + value for code, value in fields]
    if draw(st.integers(min_value=0, max_value=14)) == 0:
        at = draw(st.integers(min_value=0, max_value=len(lines)))
        lines.insert(at, draw(st.sampled_from(["", "  ", " Pindented"])))
    return [*lines, draw(one_of_mostly(["^"], ["^ extra", " ^", ""]))]


@st.composite
def section(draw: st.DrawFn) -> list[str]:
    header = draw(one_of_mostly(["!Type:Bank", "!Type:CCard", "!Type:Cash", "!type:bank"],
                                ["!Type:Invst", "!Type:Cat", "!Type:Oth A", "!Account", "!Option:AutoSwitch",
                                 "!Clear:AutoSwitch", "!Type:Memorized"]))
    out = [header]
    if header == "!Account":
        out += [f"N{draw(text)}", "TBank", "^"]
    count = draw(st.integers(min_value=0, max_value=6))
    if draw(st.booleans()):  # an export writes its records alike
        shape = draw(record())
        for _ in range(count):
            out += [line[0] + draw(text) if line[:1] in ("P", "M") else line for line in shape]
    else:
        for _ in range(count):
            out += draw(record())
    return out


@st.composite
def document(draw: st.DrawFn) -> bytes:
    lines: list[str] = []
    if draw(st.booleans()):
        lines += [line for part in draw(st.lists(record(), max_size=2)) for line in part]  # before any header
    for part in draw(st.lists(section(), min_size=1, max_size=4)):
        lines += part
    if draw(st.booleans()) and lines and lines[-1].startswith("^"):
        lines.pop()  # the last record without `^`
    end = draw(one_of_mostly(["\n", "\r\n"], ["\r"]))
    body = end.join(lines) + draw(st.sampled_from(["", end]))
    encoding = draw(one_of_mostly(["utf-8", "cp1252"], ["utf-16", "utf-8-sig"]))
    return body.encode(encoding, errors="replace")


STYLES = st.sampled_from([None, None, DateStyle.MIDDLE_ENDIAN, DateStyle.LITTLE_ENDIAN])
DECIMALS = st.sampled_from([None, None, {"decimalSeparator": ","}, {"decimalSeparator": "."}])


@SETTINGS
@given(data=document(), style=STYLES, mapping=DECIMALS)
def test_generated_files_read_as_before(data: bytes, style: DateStyle | None, mapping: dict | None) -> None:
    assert_same(data, date_style=style, mapping=mapping)


@SETTINGS
@given(data=document(), cuts=st.lists(st.tuples(st.floats(min_value=0, max_value=1),
                                                st.binary(max_size=6)), min_size=1, max_size=3))
def test_damaged_files_read_as_before(data: bytes, cuts: list[tuple[float, bytes]]) -> None:
    for where, junk in cuts:
        at = int(len(data) * where)
        data = data[:at] + junk + data[at:]
    assert_same(data, date_style=DateStyle.MIDDLE_ENDIAN)
    assert_same(data)
