"""Staged rows and rejected lines, kept in the bucket as compressed JSON-lines chunks (zstd).

DynamoDB is the wall for large files (see DESIGN.md), so parsed rows are not written one item per
row: they are written in chunks of `chunk_rows` under the import's staging prefix, reviewed page by
page from there, and committed to the ledger one chunk per worker.

  staging/<org>/<company>/<importId>/g<generation>/rows-00001.jsonl.zst
  staging/<org>/<company>/<importId>/g<generation>/errors-00001.jsonl.zst

A staged row is one JSON object per line, by the API's field names (`transactionId`, `amount` as a
decimal string, `datePosted` as an ISO date, ...; absent values are null or left out); a rejected line
likewise (`severity`, `code`, `message`, `lineNumber`, `actualValue`, `target`). `Staging` maps them to
and from `StagedRow` and `ErrorDetail`; every reader (review pages, commit workers, revert, the reduce of a
split file) goes through it.

A staged row without `transactionId` is the first line of its kind on its day, with no bank id and not
pending (as most lines are): processing leaves its id to the reader, which computes it from the row
(`staged_record`: `tximport.ids.first_id`, the `transaction_id` of occurrence 1). A file's ids are then
hashed where they are read (most once, by the commit) rather than all before its review, and its chunks are
a quarter smaller (the hash is most of what does not compress).

Processing writes its lines as JSON text a batch at a time (`ChunkWriter.write_block`), compressed
with zstd at level 1: staging is on the path of every file, and zstd 1 compresses JSON lines about four
times faster than zlib 1 (0.5 against 2.2 us a staged row, measured here) into chunks some 25% smaller. Its hash
table is 2^12 entries rather than level 1's 2^14 (one that stays in the core's cache): about 10% faster on the
chunk lines and no larger (0.36 against 0.40 us a row, 7.1 against 6.9 times smaller, measured on the bench's
ISO file); the negative levels are faster still (-2: 0.29 us) but their chunks 60% larger (4.3 times smaller).
Chunks written before that (`.jsonl.gz`, gzip) are still read: the reader goes by the key's suffix.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import IO, Any, Generic, TypeVar

import zstandard

from tximport.ids import apart_id, first_id, kept_apart
from tximport.models import ErrorDetail, Severity, StagedRow, Tenant
from tximport.storage.objects import ObjectStore
from tximport.storage.transactions import transaction_fields

T = TypeVar("T")

#: encoded lines handed to the compressor at once (one call per line costs more than the compression)
_BATCH = 1024


def staging_prefix(tenant: Tenant, import_id: str, generation: int, run: str | None = None) -> str:
    """Where one processing run (generation) of an import stages its chunks. `run` tells apart two runs of
    one generation (a Process run Step Functions timed out goes on beside its retry): neither may write or
    remove the chunks the other's saved import points to."""
    return f"{import_prefix(tenant, import_id)}g{generation}{f'-{run}' if run else ''}/"


def import_prefix(tenant: Tenant, import_id: str) -> str:
    """Where every generation of an import's chunks lives."""
    return f"staging/{tenant.key}/{import_id}/"


def _default(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_default)
#: zstd parameters of staged chunks (see the module's docstring)
_PARAMETERS = zstandard.ZstdCompressionParameters.from_level(1, hash_log=12)
#: the suffix of a staged chunk's key (and of a chunk written before zstd: gzip)
CHUNK_SUFFIX = ".jsonl.zst"
GZIP_SUFFIX = ".jsonl.gz"


def compress_chunk(data: bytes) -> bytes:
    """A whole chunk compressed the way `ChunkWriter` writes it."""
    return zstandard.ZstdCompressor(compression_params=_PARAMETERS).compress(data)


def decompress_chunk(key: str, data: bytes) -> bytes:
    """A chunk's JSON lines, by its key's suffix (zstd, or gzip for a chunk written before zstd)."""
    if key.endswith(GZIP_SUFFIX):
        return gzip.decompress(data)
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def _line_stream(key: str, body: IO[bytes]) -> IO[bytes]:
    """`body` (a chunk as stored) decompressed, read by lines."""
    if key.endswith(GZIP_SUFFIX):
        return gzip.GzipFile(fileobj=body, mode="rb")  # type: ignore[return-value]
    return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(body))


def staging_json(value: Any) -> str:
    """`value` as chunk lines write JSON (compact; Decimal as its decimal string)."""
    return _ENCODER.encode(value)


class ChunkWriter:
    """Buffers records (JSON objects) and uploads a compressed chunk every `chunk_rows` records.
    Memory stays bounded by one chunk, whatever the file size."""

    def __init__(self, objects: ObjectStore, prefix: str, kind: str, chunk_rows: int) -> None:
        self.objects, self.prefix, self.kind = objects, prefix, kind
        self.chunk_rows = chunk_rows
        self.keys: list[str] = []
        self.count = 0
        self._parts: list[bytes] = []
        self._zip: Any = None  # a zstd compressor (one frame per chunk)
        #: records not compressed yet: texts of whole lines (each ended by a line break), then single lines
        self._texts: list[str] = []
        self._lines: list[str] = []
        self._buffered = 0
        self._in_chunk = 0

    def write(self, record: dict[str, Any]) -> None:
        self.write_encoded(_ENCODER.encode(record))

    def write_encoded(self, line: str) -> None:
        """Add one record already written as a JSON object on one line (a pydantic model's JSON)."""
        self._lines.append(line)
        self._buffered += 1
        self._in_chunk += 1
        self.count += 1
        if self._buffered >= _BATCH:
            self._compress()
        if self._in_chunk >= self.chunk_rows:
            self._flush()

    def write_block(self, lines: list[str]) -> None:
        """Add many records already written as JSON objects on one line each (one join, one compression
        call per block: the batch path of processing)."""
        start, total = 0, len(lines)
        while start < total:
            take = min(total - start, self.chunk_rows - self._in_chunk)
            self._lines.extend(lines[start:start + take] if start or take < total else lines)
            start += take
            self._buffered += take
            self._in_chunk += take
            self.count += take
            if self._buffered >= _BATCH:
                self._compress()
            if self._in_chunk >= self.chunk_rows:
                self._flush()

    def write_text(self, text: str, count: int) -> None:
        """Add `count` records already written as JSON lines, each ended by a line break, in one text (processing
        writes a block's so: no string per line to join again); a chunk that fills within it ends at its line."""
        while count:
            take = min(count, self.chunk_rows - self._in_chunk)
            if take < count:  # (once a chunk: the text is cut at the line that fills it)
                head = text.split("\n", take)
                self._add_text("\n".join(head[:take]) + "\n", take)
                text = head[take]
            else:
                self._add_text(text, take)
            count -= take

    def _add_text(self, text: str, count: int) -> None:
        if self._lines:  # (the lines before it go first)
            self._lines.append("")
            self._texts.append("\n".join(self._lines))
            self._lines = []
        self._texts.append(text)
        self._buffered += count
        self._in_chunk += count
        self.count += count
        if self._buffered >= _BATCH:
            self._compress()
        if self._in_chunk >= self.chunk_rows:
            self._flush()

    @property
    def filling(self) -> int:
        """The index of the chunk the next record goes into."""
        return len(self.keys)

    @property
    def last_written(self) -> int:
        """The index of the chunk the last record went into."""
        return len(self.keys) - (0 if self._in_chunk else 1)

    def _compress(self) -> None:
        if self._zip is None:
            # a compressor of its own: one is not safe to share between threads (the local stack runs several
            # functions in one process), and its compressobj works in the compressor's context
            self._zip = zstandard.ZstdCompressor(compression_params=_PARAMETERS).compressobj()
        if self._lines:
            self._lines.append("")
            self._texts.append("\n".join(self._lines))
            self._lines = []
        texts = self._texts
        self._parts.append(self._zip.compress((texts[0] if len(texts) == 1 else "".join(texts)).encode()))
        self._texts, self._buffered = [], 0

    def _flush(self) -> None:
        if self._buffered:
            self._compress()
        if self._zip is None:
            return
        self._parts.append(self._zip.flush())
        key = f"{self.prefix}{self.kind}-{len(self.keys) + 1:05d}{CHUNK_SUFFIX}"
        self.objects.put(key, b"".join(self._parts), content_type="application/x-ndjson", content_encoding="zstd")
        self.keys.append(key)
        self._zip, self._parts, self._in_chunk = None, [], 0

    def close(self) -> list[str]:
        """Upload what is buffered; answer every chunk key written, in order."""
        self._flush()
        return self.keys


def staged_record(line: bytes | str) -> dict[str, Any]:
    """A chunk line's record, a staged row's with its `transactionId` (computed where processing left it to the
    reader: the row is the first of its kind on its day, with no bank id and not pending)."""
    record: dict[str, Any] = json.loads(line)
    if "transactionId" not in record and "bankAccountId" in record:
        record["transactionId"] = first_id(record["bankAccountId"], record["datePosted"], record["amount"],
                                           record["description"])
    return record


def read_chunk(objects: ObjectStore, key: str, *, ids: bool = True) -> Iterator[dict[str, Any]]:
    """The records of one chunk, streamed (amounts come back as the decimal strings they were written as; `ids`
    False: a staged row's id only where the chunk holds it, for a reader that needs none)."""
    for line in read_lines(objects, key):
        yield staged_record(line) if ids else json.loads(line)


def read_lines(objects: ObjectStore, key: str) -> Iterator[bytes]:
    """The records of one chunk as their JSON lines, streamed (for a pydantic model to parse)."""
    with objects.open(key) as body, _line_stream(key, body) as stream:
        for line in stream:
            if line.strip():
                yield line


def page_rows(objects: ObjectStore, chunk_keys: list[str], *, chunk: int, skip: int, limit: int
              ) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
    """Up to `limit` records starting at record `skip` of chunk number `chunk`; answers them and where the
    next page starts as (chunk, skip), or None at the end. Only the chunks a page touches are read."""
    rows: list[dict[str, Any]] = []
    for index in range(chunk, len(chunk_keys)):
        start = skip if index == chunk else 0
        for position, line in enumerate(read_lines(objects, chunk_keys[index])):
            if position < start:
                continue  # skipped lines are not decoded: a page costs its own rows (and the reading)
            if len(rows) == limit:
                return rows, (index, position)
            rows.append(staged_record(line))
    return rows, None


# --- staged rows and rejected lines ---------------------------------------------------------------

def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def encode_row(row: StagedRow) -> dict[str, Any]:
    """A staged row as its chunk line holds it."""
    return {
        "transactionId": row.transaction_id,
        "bankAccountId": row.bank_account_id,
        "amount": format(row.amount, "f"),
        "currency": row.currency,
        "datePosted": row.date_posted.isoformat(),
        "valueDate": _day(row.value_date),
        "description": row.description,
        "lineNumber": row.line_number,
        "bankTransactionId": row.bank_transaction_id,
        "reference": row.reference,
        "counterpartyName": row.counterparty_name,
        "counterpartyAccount": row.counterparty_account,
        "balance": _money(row.balance),
        "originalAmount": _money(row.original_amount),
        "originalCurrency": row.original_currency,
        "purchaseDate": _day(row.purchase_date),
        "reversal": row.reversal,
        **_statement_links(row),
        "possibleDuplicate": row.possible_duplicate,
        "duplicateOf": row.duplicate_of,
        "duplicateReason": row.duplicate_reason,
        "defaultDecision": row.default_decision,
    }


def _statement_links(row: StagedRow) -> dict[str, Any]:
    """Pending and reversal links, only where set (most rows have none)."""
    links = {"pending": row.pending or None, "replacesPendingId": row.replaces_pending_id,
             "reversalOf": row.reversal_of}
    return {name: value for name, value in links.items() if value is not None}


def decode_row(line: dict[str, Any]) -> StagedRow:
    """A staged row from its chunk line."""
    return StagedRow(
        **transaction_fields(line),
        possible_duplicate=bool(line.get("possibleDuplicate")),
        duplicate_of=line.get("duplicateOf"),
        duplicate_reason=line.get("duplicateReason"),
        default_decision="skip" if line.get("defaultDecision") == "skip" else "import",
    )


def encode_error(detail: ErrorDetail) -> dict[str, Any]:
    """A rejected line as its chunk line holds it."""
    return {"severity": detail.severity.value, "code": detail.code, "message": detail.message,
            "lineNumber": detail.line_number, "actualValue": detail.actual_value, "target": detail.target}


def decode_error(line: dict[str, Any]) -> ErrorDetail:
    """A rejected line from its chunk line."""
    return ErrorDetail(severity=Severity(line.get("severity", "error")), code=line["code"], message=line["message"],
                       target=line.get("target"), line_number=line.get("lineNumber"),
                       actual_value=line.get("actualValue"))


class TypedWriter(Generic[T]):
    """A ChunkWriter of domain objects (staged rows or rejected lines)."""

    def __init__(self, chunks: ChunkWriter, encode: Callable[[T], dict[str, Any]]) -> None:
        self.chunks = chunks
        self._encode = encode

    def write(self, item: T) -> None:
        self.chunks.write(self._encode(item))

    def write_block(self, lines: list[str]) -> None:
        """Add records already encoded as their chunk lines (see `ChunkWriter.write_block`)."""
        self.chunks.write_block(lines)

    def write_text(self, text: str, count: int) -> None:
        """Add `count` records already encoded as chunk lines in one text (see `ChunkWriter.write_text`)."""
        self.chunks.write_text(text, count)

    def close(self) -> list[str]:
        """Upload what is buffered; answer every chunk key written, in order."""
        return self.chunks.close()


class Staging:
    """An import's staged rows and rejected lines in the bucket."""

    def __init__(self, objects: ObjectStore, chunk_rows: int = 50_000) -> None:
        self.objects = objects
        self.chunk_rows = chunk_rows

    def row_writer(self, prefix: str) -> TypedWriter[StagedRow]:
        return TypedWriter(ChunkWriter(self.objects, prefix, "rows", self.chunk_rows), encode_row)

    def error_writer(self, prefix: str) -> TypedWriter[ErrorDetail]:
        return TypedWriter(ChunkWriter(self.objects, prefix, "errors", self.chunk_rows), encode_error)

    def records(self, chunk_key: str, *, ids: bool = True) -> Iterator[dict[str, Any]]:
        """The staged rows of one chunk as their chunk lines (by the API's names: what `decode_row` reads),
        streamed: for the commit workers, which write them to the ledger as they are (`ids` False: without the
        ids processing left to readers, for one that reads no id)."""
        return read_chunk(self.objects, chunk_key, ids=ids)

    def rows(self, chunk_key: str) -> Iterator[StagedRow]:
        """The staged rows of one chunk, streamed."""
        for line in read_chunk(self.objects, chunk_key):
            yield decode_row(line)

    def written_rows(self, chunk_key: str, import_id: str, decisions: Mapping[str, str]) -> Iterator[StagedRow]:
        """The staged rows of one chunk the commit of `import_id` wrote, as the commit chose them (`decisions`: the
        review's, else each row's default), by the ids it wrote them under: a certain duplicate by its own
        (`apart_id`), and by its staged id too (what a commit wrote before such lines were kept apart). For the
        revert, whose deletes are conditional on the import, so a line of another import is never removed; a line
        the review skipped was never written, and is not tried."""
        for row in self.rows(chunk_key):
            if decisions.get(row.transaction_id, row.default_decision) != "import":
                continue
            if kept_apart(row.possible_duplicate, row.default_decision):
                yield replace(row, transaction_id=apart_id(row.transaction_id, import_id))
            yield row

    def all_rows(self, chunk_keys: list[str]) -> Iterator[StagedRow]:
        """Every staged row of the chunks, in order, streamed."""
        for key in chunk_keys:
            yield from self.rows(key)

    def page_rows(self, chunk_keys: list[str], *, chunk: int, skip: int, limit: int
                  ) -> tuple[list[StagedRow], tuple[int, int] | None]:
        """A page of staged rows (see `page_rows`)."""
        lines, nxt = page_rows(self.objects, chunk_keys, chunk=chunk, skip=skip, limit=limit)
        return [decode_row(line) for line in lines], nxt

    def page_errors(self, chunk_keys: list[str], *, chunk: int, skip: int, limit: int
                    ) -> tuple[list[ErrorDetail], tuple[int, int] | None]:
        """A page of rejected lines (see `page_rows`)."""
        lines, nxt = page_rows(self.objects, chunk_keys, chunk=chunk, skip=skip, limit=limit)
        return [decode_error(line) for line in lines], nxt

    def delete(self, prefix: str) -> int:
        """Remove every chunk under `prefix`; answers how many."""
        return self.objects.delete_prefix(prefix)
