"""S3 staging chunks and review paging, against an in-memory S3 stand-in."""

from __future__ import annotations

import gzip
import json
import threading
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes.objects import InMemoryObjects as FakeS3
from tximport import ids
from tximport.errors import ValidationFailed
from tximport.ids import transaction_id
from tximport.storage import staging
from tximport.storage.pagination import decode_cursor, encode_cursor
from tximport.storage.split import SplitDocuments, merged_key
from tximport.storage.staging import ChunkWriter, page_rows, read_chunk


def _write(s3: FakeS3, n: int, chunk_rows: int) -> list[str]:
    writer = ChunkWriter(s3, "p/", "rows", chunk_rows)
    for i in range(n):
        writer.write({"i": i, "amount": Decimal("1.10") * i})
    return writer.close()


def test_rows_are_chunked_and_read_back_exactly():
    s3 = FakeS3()
    keys = _write(s3, 25, 10)
    assert keys == ["p/rows-00001.jsonl.zst", "p/rows-00002.jsonl.zst", "p/rows-00003.jsonl.zst"]
    assert s3.objects["p/rows-00001.jsonl.zst"][:4] == b"\x28\xb5\x2f\xfd"  # a zstd frame
    rows = [r for k in keys for r in read_chunk(s3, k)]
    assert [r["i"] for r in rows] == list(range(25))
    assert rows[3]["amount"] == "3.30"  # Decimal kept exact, as text


@pytest.mark.parametrize("chunk_rows", [1, 4, 7, 10, 1000])
def test_lines_handed_over_as_texts_are_chunked_as_the_same_lines_one_by_one(chunk_rows: int,
                                                                             monkeypatch: pytest.MonkeyPatch):
    """Processing hands a block's chunk lines over as one text (`write_text`), beside lines one by one and in
    lists: the chunks hold the same lines in the same order, a chunk that fills within a text ending at its
    line."""
    monkeypatch.setattr(staging, "_BATCH", 3)  # (compressed a few lines at a time: texts and lines mixed)
    lines = [f'{{"i":{i}}}' for i in range(40)]
    one_by_one, mixed = FakeS3(), FakeS3()
    writer = ChunkWriter(one_by_one, "p/", "rows", chunk_rows)
    for line in lines:
        writer.write_encoded(line)
    expected = [staging.decompress_chunk(k, one_by_one.objects[k]) for k in writer.close()]
    writer = ChunkWriter(mixed, "p/", "rows", chunk_rows)
    writer.write_text("".join(f"{line}\n" for line in lines[:9]), 9)
    writer.write_encoded(lines[9])
    writer.write_block(lines[10:12])
    writer.write_text("".join(f"{line}\n" for line in lines[12:13]), 1)
    writer.write_text("".join(f"{line}\n" for line in lines[13:40]), 27)
    assert writer.count == 40
    assert [staging.decompress_chunk(k, mixed.objects[k]) for k in writer.close()] == expected
    assert b"".join(expected) == "".join(f"{line}\n" for line in lines).encode()


def test_a_gzip_chunk_written_before_zstd_is_still_read():
    """An import staged before chunks were zstd (keys ending .jsonl.gz) is reviewed and merged alike."""
    s3 = FakeS3()
    s3.put("p/rows-00001.jsonl.gz", gzip.compress(b'{"i":0}\n{"i":1}\n'), content_type="application/x-ndjson",
           content_encoding="gzip")
    assert [r["i"] for r in read_chunk(s3, "p/rows-00001.jsonl.gz")] == [0, 1]
    assert page_rows(s3, ["p/rows-00001.jsonl.gz"], chunk=0, skip=1, limit=5) == ([{"i": 1}], None)
    documents = SplitDocuments(s3)
    assert documents.chunk("p/rows-00001.jsonl.gz") == b'{"i":0}\n{"i":1}\n'
    merged = merged_key("p/rows-00001.jsonl.gz")
    assert merged == "p/rows-00001-merged.jsonl.zst"
    documents.put_chunk(merged, [b'{"i":2}\n'])
    assert [r["i"] for r in read_chunk(s3, merged)] == [2]


def test_pages_cross_chunk_boundaries_without_gaps():
    s3 = FakeS3()
    keys = _write(s3, 25, 10)
    seen, cursor = [], (0, 0)
    while cursor is not None:
        rows, cursor = page_rows(s3, keys, chunk=cursor[0], skip=cursor[1], limit=7)
        seen.extend(r["i"] for r in rows)
    assert seen == list(range(25))


def test_empty_staging_pages_to_nothing():
    assert page_rows(FakeS3(), [], chunk=0, skip=0, limit=10) == ([], None)


def test_cursor_round_trip_and_garbage():
    assert decode_cursor(encode_cursor({"c": 1, "s": 2})) == {"c": 1, "s": 2}
    assert encode_cursor(None) is None and decode_cursor(None) is None
    with pytest.raises(ValidationFailed) as err:
        decode_cursor("!!!not-base64")
    assert err.value.code == "InvalidCursor"


def test_chunks_written_by_threads_at_once_read_back_whole():
    """Functions of the local stack run as threads of one process: each chunk writer compresses with a
    compressor of its own (a zstd compressor shared between threads garbles frames, or crashes)."""
    s3 = FakeS3()
    written: dict[int, list[str]] = {}

    def write(worker: int) -> None:
        writer = ChunkWriter(s3, f"w{worker}/", "rows", 700)
        for i in range(3000):
            writer.write({"worker": worker, "i": i, "text": f"line {i} of {worker} " * (i % 7)})
        written[worker] = writer.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker, keys in written.items():
        rows = [r for key in keys for r in read_chunk(s3, key)]
        assert [(r["worker"], r["i"]) for r in rows] == [(worker, i) for i in range(3000)]


_AMOUNTS = st.decimals(allow_nan=False, allow_infinity=False, places=None, min_value=-10**12, max_value=10**12)
_TEXTS = st.text(alphabet=st.sampled_from(["a", "Z", " ", "\t", "\xa0", "ß", "µ", "İ", "Σ", "é", "\u2028", "€", '"']),
                 max_size=12)


@settings(max_examples=300, deadline=None)
@given(amount=_AMOUNTS, description=_TEXTS, day=st.dates())
def test_a_row_staged_without_its_id_is_read_with_the_id_of_the_first_line_of_its_kind(
        amount: Decimal, description: str, day: date):
    """Processing leaves the id of a line that is the first of its kind on its day (no bank id, not pending) to
    the reader: every reader gets the id `transaction_id` gives it, from the row as staged."""
    row = {"bankAccountId": "acc-1", "amount": format(amount, "f"), "currency": "EUR",
           "datePosted": day.isoformat(), "description": description, "lineNumber": 7}
    expected = transaction_id("acc-1", date_posted=day, amount=amount, description=description,
                              bank_transaction_id=None, occurrence=1)
    read = staging.staged_record(json.dumps(row))
    assert read == {"transactionId": expected, **row}
    assert ids.amount_key(row["amount"]) == ids.normalized_amount(amount)


def test_rows_with_their_ids_and_rejected_lines_are_read_as_written():
    s3 = FakeS3()
    writer = ChunkWriter(s3, "p/", "rows", 10)
    written = [{"transactionId": "2024-01-02-x", "bankAccountId": "a", "amount": "1.00", "datePosted": "2024-01-02",
                "description": "Tea", "lineNumber": 2},
               {"code": "InvalidDate", "lineNumber": 3, "message": "no date"},
               {"bankAccountId": "a", "amount": "1.00", "datePosted": "2024-01-02", "description": "Tea",
                "lineNumber": 4}]
    for record in written:
        writer.write(record)
    [key] = writer.close()
    first, rejected, left = list(read_chunk(s3, key))
    assert first == written[0] and rejected == written[1]
    assert left["transactionId"] == transaction_id("a", date_posted=date(2024, 1, 2), amount=Decimal("1"),
                                                   description="tea", bank_transaction_id=None, occurrence=1)
    rows, _ = page_rows(s3, [key], chunk=0, skip=2, limit=5)
    assert rows == [left]


@pytest.mark.parametrize("text", ["-3.50", "100", "100.00", "0.00", "-0.00", "-0", "0", "007", "+7", "5.", ".50",
                                  "1E+2", "-1.5e-3", "12345678901234567890123456.7890", "9" * 40 + ".10", "-0.000"])
def test_an_amount_key_from_text_is_the_normalized_amount(text: str):
    assert ids.amount_key(text) == ids.normalized_amount(Decimal(text))
