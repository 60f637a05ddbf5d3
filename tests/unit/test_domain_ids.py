"""Identifiers: time-ordered import ids and deterministic transaction ids."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from tximport.ids import new_id, transaction_id
from tximport.services.processing import _Occurrences


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


def test_occurrences_count_identical_lines_and_stay_unique_when_dates_come_back():
    occ = _Occurrences()
    day = date(2024, 1, 1)
    assert [occ.next(day, b"k", n) for n in (1, 2)] == [1, 2]
    assert occ.next(day, b"other", 3) == 1
    # walk far past the window, then come back to the first day: ids must still differ
    for offset in range(2, 200):
        occ.next(date.fromordinal(day.toordinal() + offset), b"k", 10 + offset)
    again = occ.next(day, b"k", 999)
    assert again not in (1, 2)


def test_normalized_amount_is_normalize_written_plain():
    from decimal import Decimal

    from tximport.ids import normalized_amount

    for text in ["0", "-0", "0.00", "-0.00", "100", "100.0", "1E+2", "-1E+2", "1E-7", "12.3400", "-1234.56",
                 "0.10", "10", "-3.5", "1234567890123456789012345678.9", "99999999999999999999999999999.00"]:
        value = Decimal(text)
        assert normalized_amount(value) == f"{value.normalize():f}", text
