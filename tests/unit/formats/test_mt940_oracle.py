"""MT940: our reader against the mt-940 library, its oracle.

Two levels: the events of a whole file equal those of the library-based reader we had before
(`oracles/mt940_library.py`: the library reads, we map), and every message reads to the same
transactions and balances as `mt940.models.Transactions` with `Options.all()`. Inputs: every sample,
and statements generated with the variety banks send (entry dates across a year end, February 30,
reversal marks, structured `:86:` with `?xx` sub-fields and SEPA keywords, SWIFT `/CODE/` fields,
wrapped lines, envelopes, CRLF, broken tags), also damaged at random.
"""

from __future__ import annotations

import string
from decimal import Decimal
from typing import Any
from unittest import mock

import mt940 as library
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.samples import SAMPLES
from tests.unit.formats.oracles.mt940_library import parse_mt940 as oracle_parse
from tests.unit.formats.oracles.mt940_library import parse_text
from tximport.formats import mt940 as ours
from tximport.formats import mt940_message
from tximport.formats.base import BytesSource, FileError, FileNote, FileSource, LineError, ParseOptions

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))


def comparable(events: list) -> list:
    """Events with the LineError message left out (the library words its errors with object ids), and
    without our reader's FileNote (an MT942 marked interim: the library has no such notion)."""
    return [(e.line_number, e.code, e.actual_value, e.target) if isinstance(e, LineError) else e for e in events
            if not isinstance(e, FileNote)]


def outcome(parser: Any, data: bytes) -> tuple[list, str | None]:
    events: list = []
    try:
        for event in parser(BytesSource(data), ParseOptions()):
            events.append(event)
    except FileError as exc:
        return comparable(events), exc.code
    return comparable(events), None


def assert_same_as_oracle(data: bytes) -> None:
    expected, expected_error = outcome(oracle_parse, data)
    if expected_error is not None:
        # our reader words two file errors more precisely; the other outcomes are the library's
        assert outcome(ours.parse_mt940, data)[1] in {expected_error, "ElementTooLarge", "LineTooLong"}
        return
    assert outcome(ours.parse_mt940, data) == (expected, None)


def test_patterns_are_the_librarys() -> None:
    tags = library.tags
    assert tags.Statement.pattern == mt940_message.STATEMENT_PATTERN
    assert tags.BalanceBase.pattern == mt940_message.BALANCE_PATTERN
    assert tags.DateTimeIndication.pattern == mt940_message.DATE_TIME_PATTERN
    assert tags.StatementNumber.pattern == mt940_message.STATEMENT_NUMBER_PATTERN
    assert tags.FloorLimitIndicator.pattern == mt940_message.FLOOR_LIMIT_PATTERN
    assert tags.SumEntries.pattern == mt940_message.SUM_ENTRIES_PATTERN
    known = {str(key) for key in library.tags.TAG_BY_ID}
    assert known == {"13", "20", "21", "25", "28", "34", "60", "60F", "60M", "61", "62", "62F", "62M", "64",
                     "65", "86", "90", "90D", "90C", "NS"}


@pytest.mark.parametrize("name", sorted(p.name for p in (SAMPLES / "mt940").glob("*.sta")))
def test_every_sample_reads_as_with_the_library(name: str) -> None:
    path = SAMPLES / "mt940" / name
    expected = comparable(list(oracle_parse(FileSource(str(path)), ParseOptions())))
    assert comparable(list(ours.parse_mt940(FileSource(str(path)), ParseOptions()))) == expected
    assert_messages_read_alike(path.read_bytes())


# --- message level: our read_message against mt940.models.Transactions ----------------------------

ENTRY_KEYS = ("date", "entry_date", "amount", "id", "customer_reference", "bank_reference", "extra_details",
              "transaction_details", "posting_text", "purpose", "applicant_name", "applicant_iban",
              "end_to_end_reference")
BALANCES = ("opening_balance", "final_opening_balance", "intermediate_opening_balance", "closing_balance",
            "final_closing_balance", "intermediate_closing_balance", "available_balance",
            "forward_available_balance")


def library_message(text: str) -> tuple[list[dict], dict, str | None] | None:
    try:
        transactions = parse_text(text)  # the library with Options.all(), and our one rule beside it
    except Exception:  # noqa: BLE001 - the library raises what its tags raise
        return None
    entries = []
    for tx in transactions:
        data = tx.data
        entry = {key: data.get(key) for key in ENTRY_KEYS}
        entry["entry_date"] = data.get("guessed_entry_date") or data.get("entry_date")
        entry["currency"] = data["amount"].currency
        entry["amount"] = data["amount"].amount
        entries.append(entry)
    balances = {key: (b.status, b.amount.amount, b.amount.currency, b.date)
                for key, b in transactions.data.items() if key in BALANCES}
    return entries, balances, transactions.currency


def our_message(text: str) -> tuple[list[dict], dict, str | None] | None:
    try:
        message = mt940_message.read_message(text)
    except mt940_message.Unreadable:
        return None
    entries = [{**{key: mt940_message.value_of(entry, key) for key in ENTRY_KEYS}, "currency": entry["currency"]}
               for entry in message.entries]
    balances = {key: (b.status, b.amount, b.currency, b.date) for key, b in message.balances.items()
                if key in BALANCES}
    return entries, balances, message.currency


def assert_messages_read_alike(data: bytes) -> None:
    try:
        messages = list(ours._messages(__import__("io").BytesIO(data)))
    except FileError:
        return
    for _line, text in messages:
        assert our_message(text) == library_message(text)


# --- generated statements -------------------------------------------------------------------------

TEXT = string.ascii_letters + string.digits + " .,-/+&()'"
words = st.text(alphabet=TEXT, min_size=0, max_size=30)
digits2 = st.integers(min_value=0, max_value=99).map(lambda n: f"{n:02d}")


def mostly(common: list[str], rare: list[str]) -> st.SearchStrategy[str]:
    """One of `common`, or once in 30 draws one of `rare` (the odd and the broken)."""
    return st.integers(min_value=0, max_value=29).flatmap(
        lambda n: st.sampled_from(rare if n == 29 else common))


@st.composite
def yymmdd(draw: st.DrawFn) -> str:
    month = draw(mostly(["01", "02", "03", "06", "12"], ["13", "00", "02"]))
    day = draw(mostly(["01", "15", "28"], ["29", "30", "31", "32", "00"]))
    return draw(digits2) + month + day


@st.composite
def amount(draw: st.DrawFn) -> str:
    whole = draw(st.sampled_from(["0", "1", "12", "1234", "000000000025", "999999999999"]))
    return whole + draw(mostly([",00", ",5", ","], [",123", "", ",1,2"]))


@st.composite
def statement_line(draw: st.DrawFn) -> str:
    value = draw(yymmdd())
    entry = draw(mostly(["", value[2:6], "0101", "1231"], ["    ", "0229", "0230", "1301"]))
    mark = draw(mostly(["C", "D", "RC", "RD"], ["c", "d", "rd", "DR", "CR"]))
    funds = draw(mostly(["", "", "R", "E"], ["1"]))
    kind = draw(mostly(["NTRF", "NMSC", "N024", "S020"], ["", "ntrf", "N"]))
    customer = draw(st.sampled_from(["NONREF", "", "EREF", "KREF-1", "A" * 16, "A" * 20, "E2E 1",
                                     "NOTPROVIDED"]))
    bank = draw(st.sampled_from(["", "//B1", "//0724710345313905", "//" + "9" * 30]))
    extra = draw(st.sampled_from(["", "", "\nNL70ABNA0987654321", "\nP001234567", "\nsome text", " extra"]))
    split = draw(st.sampled_from(["", "", "\n", " \n"]))  # the amount on the next line (Sparkasse)
    return f":61:{value}{entry}{mark}{funds}{split}{draw(amount())}{kind}{customer}{bank}{extra}\n"


SEPA = ["EREF+E2E-1", "SVWZ+Miete Januar", "KREF+K1", "IBAN+DE02120300000000202051", "BIC ", "Zahlung BIC",
        "Zahlung IBAN", "MREF+M1 CRED+DE98ZZZ", "EREF+X SVWZ+Rent BIC", "ABCD+x", "+lead", "EREF+", "SVWZ+",
        "EREF+A SVWZ+B SVWZ+C KREF+D"]


@st.composite
def structured_details(draw: st.DrawFn) -> str:
    code = draw(mostly(["166", "805", "020"], ["1", "16"]))
    fields = []
    if draw(st.booleans()):
        fields.append(("00", draw(st.sampled_from(["GUTSCHRIFT", "UEBERWEISUNG", "ENTGELT", ""]))))
    fields += draw(st.lists(st.tuples(st.sampled_from(["20", "21", "22", "29", "2X"]),
                                      st.one_of(words, st.sampled_from(SEPA))), max_size=4))
    fields += draw(st.lists(st.tuples(
        mostly(["30", "31", "32", "33", "34", "35", "60", "61", "10"], ["99", "?", "2", "20", "00"]),
        st.one_of(words, st.sampled_from(SEPA))), max_size=4))
    tail = draw(mostly(["", "", "", "?"], ["?2", "??"]))
    return code + "".join(f"?{key}{text}" for key, text in fields) + tail


@st.composite
def details(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["structured", "structured", "free", "swift", "wrapped", "empty"]))
    if kind == "structured":
        text = draw(structured_details())
    elif kind == "swift":
        parts = draw(st.lists(st.tuples(st.sampled_from(["EREF", "NAME", "REMI", "IBAN", "BENM", "ISDT", "X"]),
                                        words), min_size=1, max_size=4))
        text = "".join(f"/{code}/{value}" for code, value in parts)
    elif kind == "wrapped":
        text = draw(st.text(alphabet=TEXT + "?", min_size=60, max_size=200))
    elif kind == "empty":
        text = ""
    else:
        text = draw(words)
    width = draw(st.sampled_from([64, 65, 27, 1000]))
    lines = [text[i:i + width] for i in range(0, len(text), width)] or [""]
    return ":86:" + "\n".join(lines) + "\n"


@st.composite
def balance(draw: st.DrawFn) -> str:
    tag = draw(st.sampled_from(["60F", "60M", "60", "62F", "62M", "62", "64", "65", "60E"]))
    status = draw(mostly(["C", "D"], ["d", "X"]))
    currency = draw(mostly(["EUR", "USD"], ["chf", "E1"]))
    return f":{tag}:{status}{draw(yymmdd())}{currency}{draw(amount())}\n"


other_tags = mostly([":28C:00001/001\n", ":28:5\n", ":13D:2401031200+0100\n", ":34F:EURD0,\n",
                     ":34F:EUR 5,00\n", ":90D:1EUR5,00\n", ":90C:0EUR0,\n", ":NS:22Buchungstag\n",
                     ":99:unknown tag\n", ":21:NONREF\n", "-\n", "\n", "  \n"],
                    [":28C:1/1/1\n", ":13D:2413031200\n", ":34F:EURC\n", ":90:1EUR5,00\n", ":\n", ":86X:x\n",
                     ":61X:2401010101C1,00NTRF\n", " :61:2401010101C1,00NTRF\n"])


@st.composite
def message(draw: st.DrawFn) -> str:
    out = [draw(st.sampled_from([":20:STMT\n", ":20:\n", "{4:\n:20:REF\n", ":20:12345678901234567890\n"]))]
    account = draw(st.sampled_from(["DE89370400440532013000", "12345678/1020304050", "  NL91ABNA0417164300  ",
                                    "", "517852257"]))
    out.append(f":25:{account}\n")
    entry = st.tuples(statement_line(), st.lists(details(), max_size=2)).map(lambda t: t[0] + "".join(t[1]))
    body = draw(st.lists(st.one_of(entry, entry, entry, entry, balance(), other_tags, details()), max_size=8))
    if draw(st.booleans()):
        out.append(draw(balance()))
    out.extend(body)
    out.append(draw(st.sampled_from(["-\n", "-}\n", "", "-}{5:{CHK:1}}\n"])))
    return "".join(out)


@st.composite
def document(draw: st.DrawFn) -> bytes:
    text = draw(st.sampled_from(["", "preamble\n", "{1:F01ABNANL2AXXXX0000000000}{2:O940ABNANL2AXXXXN}\n"]))
    text += "".join(draw(st.lists(message(), min_size=1, max_size=3)))
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    encoding = draw(st.sampled_from(["utf-8", "cp1252"]))
    return text.encode(encoding, errors="replace")


@SETTINGS
@given(data=document())
def test_generated_statements_read_as_with_the_library(data: bytes) -> None:
    assert_same_as_oracle(data)
    assert_messages_read_alike(data)


@SETTINGS
@given(data=document(), cuts=st.lists(st.tuples(st.floats(min_value=0, max_value=1),
                                                st.text(alphabet=":?/+-\n\r 0123456789CDRN{}", max_size=6)),
                                      min_size=1, max_size=4))
def test_damaged_statements_read_as_with_the_library(data: bytes, cuts: list[tuple[float, str]]) -> None:
    for where, junk in cuts:
        at = int(len(data) * where)
        data = data[:at] + junk.encode() + data[at:]
    assert_same_as_oracle(data)
    assert_messages_read_alike(data)


@SETTINGS
@given(data=document())
def test_long_messages_read_alike(data: bytes) -> None:
    # a message over _SMALL is checked, then streamed; its tags are cut window by window: both with
    # limits this small run on every generated statement
    with mock.patch.object(ours, "_SMALL", 40), mock.patch.object(mt940_message, "_WINDOW", 30):
        assert_same_as_oracle(data)
        assert_messages_read_alike(data)


def test_a_long_statement_reads_as_with_the_library() -> None:
    from datetime import date, timedelta

    from tests.unit.formats.structured_builders import Stmt, Txn, mt940_document

    txns = [Txn(date(2024, 1, 1) + timedelta(days=i % 400), Decimal(i * 7919 % 200000 - 100000) / 100, f"B{i}",
                f"Invoice {i} for order {i * 31}") for i in range(400)]
    data = mt940_document([Stmt("DE89370400440532013000", "EUR", txns)]).encode()
    with mock.patch.object(ours, "_SMALL", 10_000), mock.patch.object(mt940_message, "_WINDOW", 3_000):
        assert len(data) > 3 * ours._SMALL
        assert_same_as_oracle(data)
        assert_same_as_oracle(data.replace(b":61:240105", b":61:24X105", 1))


def test_generated_amounts_keep_their_sign_and_scale() -> None:
    events = list(ours.parse_mt940(BytesSource(b":20:X\n:25:A\n:61:2401010101RC1,50NTRF\n:61:2401010101RD2,NTRF\n"
                                               b":61:2401010101d0,5NTRF\n"), ParseOptions()))
    assert [str(e.amount) for e in events[1:4]] == ["-1.50", "2", "-0.5"]
    assert [e.amount for e in events[1:4]] == [Decimal("-1.5"), Decimal(2), Decimal("-0.5")]


def test_a_damaged_amount_is_where_we_part_from_the_library() -> None:
    """The library reads `:61:...D14x,48N426NONREF` as 14 with the customer reference `x,48N426NONREF`; ours rejects
    the line (InvalidAmount): SWIFT puts the transaction type right after the amount."""
    data = (b":20:X\n:25:DE89370400440532013000\n:28C:1\n:60F:C240101EUR0,\n:61:2401020102D14x,48N426NONREF\n"
            b":86:x\n-\n")
    transactions = library.models.Transactions(options=library.Options.all())
    [line] = transactions.parse(data.decode())
    assert (line.data["amount"].amount, line.data["id"]) == (Decimal("-14"), None)
    mine, _ = outcome(ours.parse_mt940, data)
    written = ":61:2401020102D14x,48N426NONREF"
    assert [e for e in mine if isinstance(e, tuple)] == [(5, "InvalidAmount", written, ":61:")]
    assert outcome(oracle_parse, data) == (mine, None)  # the oracle applies the same rule


def test_a_cp852_file_reads_as_with_the_library() -> None:
    """A message that is not UTF-8 is read in the file's DOS code page (cp852 here) by both: the oracle applies the
    reader's rule (`encoding.fallback_code_page`)."""
    data = ":20:X\n:25:HU42117730161111101800000000\n:28C:1\n:60F:C240101HUF0,\n:61:2401020102C5,NTRFNONREF\n" \
           ":86:Csoportos átutalás jóváírása\n:61:2401020102D1,NTRFNONREF\n:86:napi összevont utánvét\n" \
           ":62F:C240102HUF4,\n-\n"
    mine, error = outcome(ours.parse_mt940, data.encode("cp852"))
    assert error is None and "napi összevont utánvét" in repr(mine)
    assert_same_as_oracle(data.encode("cp852"))


def test_a_type_of_two_capitals_reads_as_with_the_library() -> None:
    """qa42b F5: the library reads `:61:1610301031D0,42MCI0NONREF//...` as -0.42 of type `MCI0`, and so do ours and the
    oracle (`mt940_message.is_transaction_type`); `E2E1` after the amount stays refused by both."""
    data = b":20:X\n:25:GJB0291077111\n:28C:1\n:34F:EURD0,00\n:61:1610301031D0,42MCI0NONREF//055001022000001\n" \
           b":86:REMIT:Costs\n-\n"
    [line] = library.models.Transactions(options=library.Options.all()).parse(data.decode())
    assert (line.data["amount"].amount, line.data["id"]) == (Decimal("-0.42"), "MCI0")
    mine, error = outcome(ours.parse_mt940, data)
    assert error is None and [e.amount for e in mine if hasattr(e, "amount")] == [Decimal("-0.42")]
    assert_same_as_oracle(data)
    refused = data.replace(b"MCI0NONREF", b"E2E1")
    assert [e[1] for e in outcome(ours.parse_mt940, refused)[0] if isinstance(e, tuple)] == ["InvalidLine"]
    assert_same_as_oracle(refused)


def test_an_amount_with_an_exponent_is_where_we_part_from_the_library() -> None:
    """The library's pattern reads `:61:...C1E2NTRF` as 1 of transaction type `E2NT`; SWIFT amounts are digits and a
    decimal comma, so ours rejects the line (InvalidAmount) rather than book 1 where the file meant 100."""
    data = b":20:X\n:25:DE89370400440532013000\n:28C:1\n:60F:C240101EUR0,\n:61:2401020102C1E2NTRFNONREF\n:86:x\n-\n"
    transactions = library.models.Transactions(options=library.Options.all())
    [line] = transactions.parse(data.decode())
    assert (line.data["amount"].amount, line.data["id"]) == (Decimal("1"), "E2NT")
    mine, _ = outcome(ours.parse_mt940, data)
    assert [e for e in mine if isinstance(e, tuple)] == [(5, "InvalidAmount", ":61:2401020102C1E2NTRFNONREF", ":61:")]


@pytest.mark.parametrize("line", [":61:000101C0,00//B1", ":61:000101C1,00//", ":61:2006080608D12,35 NRTIKREF+//2016",
                                  ":61:000101C1,00  NTRF//B1", ":61:000101C1,00 8NTRF//B1", ":61:000101C1,00 xyz"])
def test_a_type_after_spaces_and_a_bank_reference_after_the_amount_read_as_the_oracle_says(line: str) -> None:
    """The damaged-statements property drew `:61:000101C0,00//B1`, which our reader reads (no type, the bank
    reference right after the amount) and the oracle refused: the oracle applies both documented rules beside the
    library now."""
    assert_same_as_oracle(f":20:STMT\n:25:DE89370400440532013000\n{line}\n-\n".encode())
