"""Identifiers: time-ordered import ids and deterministic transaction ids."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tximport.ids import new_id, normalized_description, plain_decimal, transaction_id
from tximport.services.line_ids import OTHER_SPACES, LineIds, _keys, amount_texts, joined_ids, line_id


def test_import_ids_are_uuids_that_sort_by_creation():
    ids = [new_id() for _ in range(50)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == 50


def test_same_line_same_account_same_id():
    kwargs = {"date_posted": date(2024, 3, 1), "amount": Decimal("-3.50"), "description": "Coffee  shop",
              "bank_transaction_id": None, "occurrence": 1}
    assert transaction_id("acc", **kwargs) == transaction_id("acc", **{**kwargs, "amount": Decimal("-3.5")})
    assert transaction_id("acc", **kwargs) == transaction_id("acc", **{**kwargs, "description": "COFFEE shop"})
    assert transaction_id("acc", **kwargs) != transaction_id("other", **kwargs)
    assert transaction_id("acc", **kwargs) != transaction_id("acc", **{**kwargs, "occurrence": 2})


def test_bank_id_identifies_a_line_on_its_own():
    a = transaction_id("acc", date_posted=date(2024, 3, 1), amount=Decimal(1), description="x",
                       bank_transaction_id="FITID1", occurrence=1)
    b = transaction_id("acc", date_posted=date(2024, 3, 1), amount=Decimal(2), description="y",
                       bank_transaction_id="FITID1", occurrence=3)
    assert a == b


def _ids(ids: LineIds, day: date, descriptions: list[str], first_line: int) -> list[str]:
    n = len(descriptions)
    amounts = [Decimal("-1.50")] * n
    return ids.many("acc", [day] * n, [day.isoformat()] * n, amount_texts(amounts, list(map(str, amounts))),
                    descriptions, [None] * n, list(range(first_line, first_line + n)), [False] * n)


def test_identical_lines_get_ids_of_their_own_and_stay_unique_when_dates_come_back():
    ids = LineIds()
    day = date(2024, 1, 1)
    first = _ids(ids, day, ["Coffee", "Coffee", "Tea"], 1)
    assert len(set(first)) == 3 and all(i.startswith("2024-01-01-") for i in first)
    # the same as `transaction_id` with the occurrence counted (whitespace and case do not count)
    assert first[1] == transaction_id("acc", date_posted=day, amount=Decimal("-1.5"), description="  COFFEE ",
                                      bank_transaction_id=None,
                                      occurrence=2)
    assert first[1] == line_id("acc", "2024-01-01", Decimal("-1.50"), "coffee", None, 2, 2, False)[1]
    # walk far past the counters' window, then come back to the first day: ids must still differ
    for offset in range(2, 200):
        _ids(ids, date.fromordinal(day.toordinal() + offset), ["Coffee"], 10 + offset)
    again = _ids(ids, day, ["Coffee", "Coffee"], 999)
    assert len(set(again) | set(first)) == 5


def test_ids_of_columns_without_bank_ids_or_pending_lines_need_no_column_for_them():
    """`many` takes None for a column no line has (no bank id, none pending): the ids of the columns filled."""
    day = date(2024, 1, 1)
    days, isos = [day, day, day], ["2024-01-01"] * 3
    texts = amount_texts([Decimal("-1.50"), Decimal("2"), Decimal("-1.50")], ["-1.50", "2", "-1.50"])
    filled = LineIds().many("acc", days, isos, texts, ["Tea", "Cake", "Tea"], [None] * 3, range(4, 7), [False] * 3)
    assert LineIds().many("acc", days, isos, texts, ["Tea", "Cake", "Tea"], None, range(4, 7), None) == filled
    assert len(set(filled)) == 3


def test_the_ids_hashes_joined_with_their_days_are_the_ids():
    """`hashes` counts the lines as `many` does and answers what follows each id's day: a caller writing the ids
    into its own text (the chunk lines) gets the same ids, identical lines, bank ids and pending lines included."""
    days = [date(2024, 1, 1)] * 3 + [date(2024, 1, 2)] * 3
    isos = [d.isoformat() for d in days]
    texts = ["-1.5", "-1.5", "2", "3", "3", "4"]
    descriptions = ["Tea", "tea ", "Cake", "Rent", "Rent", "Fee"]
    banks = [None, None, "B1", None, None, "B1"]
    pendings = [False, False, False, False, True, False]
    hashes = LineIds().hashes("acc", days, isos, texts, descriptions, banks, range(1, 7), pendings)
    ids = LineIds().many("acc", days, isos, texts, descriptions, banks, range(1, 7), pendings)
    assert joined_ids(isos, hashes) == ids and len(set(ids)) == 6
    assert all(len(h) == 32 and i.endswith(h) for h, i in zip(hashes, ids, strict=True))


def test_amount_texts_are_normalize_written_plain():
    values = [Decimal(t) for t in ["0", "-0", "0.00", "-0.00", "100", "100.0", "1E+2", "-1E+2", "1E-7", "12.3400",
                                   "-1234.56", "0.10", "10", "-3.5"]]
    assert amount_texts(values, [plain_decimal(v) for v in values]) == [f"{v.normalize():f}" for v in values]
    long = [Decimal("1234567890123456789012345678.9"), Decimal("99999999999999999999999999999.00")]
    assert amount_texts(long, [plain_decimal(v) for v in long]) == [f"{v.normalize():f}" for v in long]
    # the longest text's length given (known from an earlier pass): the same texts
    texts = [plain_decimal(v) for v in values + long]
    assert amount_texts(values + long, texts, max(map(len, texts))) == amount_texts(values + long, texts)
    # told that no text ends in a zero after its point (a reader's shapes tell it): the texts as they are
    plain = [Decimal(t) for t in ["-1234.56", "12.3", "100", "0", "-7"]]
    texts = [plain_decimal(v) for v in plain]
    assert list(amount_texts(plain, texts, 8, zero_ended=False)) == amount_texts(plain, texts) == texts


def test_normalized_amount_is_normalize_written_plain():
    from decimal import Decimal

    from tximport.ids import normalized_amount

    for text in ["0", "-0", "0.00", "-0.00", "100", "100.0", "1E+2", "-1E+2", "1E-7", "12.3400", "-1234.56",
                 "0.10", "10", "-3.5", "1234567890123456789012345678.9", "99999999999999999999999999999.00"]:
        value = Decimal(text)
        assert normalized_amount(value) == f"{value.normalize():f}", text


def test_whitespace_the_ids_ignore_is_what_str_split_splits_at():
    assert set(OTHER_SPACES) == {chr(c) for c in range(0x110000) if chr(c).isspace() and chr(c) != " "}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(["a", "B", " ", "\t", "\xa0", "ß", "\x00", "\u2028", "İ", "Σ",
                                                   "\u3000", "ﬁ", "Ü", "1"]), max_size=8), max_size=6))
def test_descriptions_normalized_together_as_one_by_one(descriptions: list[str]):
    assert _keys(descriptions) == [normalized_description(d) for d in descriptions]


def test_a_line_like_one_of_an_earlier_batch_of_its_day_counts_on():
    # batches of one day: all new, then one like a line before (the second Tea), then one again all new
    ids = LineIds()
    day = date(2024, 1, 1)
    got = _ids(ids, day, ["Coffee", "Tea"], 1) + _ids(ids, day, ["Cake", "TEA"], 3) + _ids(ids, day, ["Milk"], 5)
    expected = [transaction_id("acc", date_posted=day, amount=Decimal("-1.5"), description=d,
                               bank_transaction_id=None, occurrence=n)
                for d, n in [("Coffee", 1), ("Tea", 1), ("Cake", 1), ("Tea", 2), ("Milk", 1)]]
    assert got == expected


def test_latin1_descriptions_fold_as_casefold_does():
    # every Latin-1 character (the micro sign and the sharp s fold into others), beside ASCII and alone
    descriptions = [f"A{chr(c)}b" for c in range(1, 256)] + ["Straße µ ÄÖÜ ÿ"]
    assert _keys(descriptions) == [normalized_description(d) for d in descriptions]
    assert _keys(["Maße"]) == ["masse"] and _keys(["µ"]) == ["\u03bc"]
