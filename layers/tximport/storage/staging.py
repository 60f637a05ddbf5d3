"""Staged rows and rejected lines, kept in S3 as gzip-compressed JSON-lines chunks.

DynamoDB is the wall for large files (see DESIGN.md), so parsed rows are not written one item per
row: they are written in chunks of `chunk_rows` under the import's staging prefix, reviewed page by
page from there, and committed to the ledger one chunk per worker.

  staging/<org>/<company>/<importId>/g<generation>/rows-00001.jsonl.gz
  staging/<org>/<company>/<importId>/g<generation>/errors-00001.jsonl.gz
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from tximport.models import Tenant


def staging_prefix(tenant: Tenant, import_id: str, generation: int) -> str:
    return f"staging/{tenant.key}/{import_id}/g{generation}/"


def _default(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


class ChunkWriter:
    """Buffers rows and uploads a compressed chunk every `chunk_rows` rows. Memory stays bounded by one
    chunk, whatever the file size."""

    def __init__(self, s3: Any, bucket: str, prefix: str, kind: str, chunk_rows: int) -> None:
        self.s3, self.bucket, self.prefix, self.kind = s3, bucket, prefix, kind
        self.chunk_rows = chunk_rows
        self.keys: list[str] = []
        self.count = 0
        self._buffer: io.BytesIO | None = None
        self._gzip: gzip.GzipFile | None = None
        self._in_chunk = 0

    def write(self, row: dict[str, Any]) -> None:
        if self._gzip is None:
            self._buffer = io.BytesIO()
            self._gzip = gzip.GzipFile(fileobj=self._buffer, mode="wb", compresslevel=5)
        self._gzip.write(json.dumps(row, separators=(",", ":"), default=_default).encode() + b"\n")
        self._in_chunk += 1
        self.count += 1
        if self._in_chunk >= self.chunk_rows:
            self._flush()

    def _flush(self) -> None:
        if self._gzip is None or self._buffer is None:
            return
        self._gzip.close()
        key = f"{self.prefix}{self.kind}-{len(self.keys) + 1:05d}.jsonl.gz"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=self._buffer.getvalue(),
                           ContentType="application/x-ndjson", ContentEncoding="gzip")
        self.keys.append(key)
        self._gzip, self._buffer, self._in_chunk = None, None, 0

    def close(self) -> list[str]:
        """Upload what is buffered; answer every chunk key written, in order."""
        self._flush()
        return self.keys


def read_chunk(s3: Any, bucket: str, key: str) -> Iterator[dict[str, Any]]:
    """The rows of one chunk, streamed (amounts come back as strings; callers make them Decimal)."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    with gzip.GzipFile(fileobj=body, mode="rb") as stream:
        for line in stream:
            if line.strip():
                yield json.loads(line)


def page_rows(s3: Any, bucket: str, chunk_keys: list[str], *, chunk: int, skip: int, limit: int
              ) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
    """Up to `limit` rows starting at row `skip` of chunk number `chunk`; answers the rows and where the
    next page starts as (chunk, skip), or None at the end. Only the chunks a page touches are read."""
    rows: list[dict[str, Any]] = []
    for index in range(chunk, len(chunk_keys)):
        start = skip if index == chunk else 0
        for position, row in enumerate(read_chunk(s3, bucket, chunk_keys[index])):
            if position < start:
                continue
            if len(rows) == limit:
                return rows, (index, position)
            rows.append(row)
    return rows, None


def delete_prefix(s3: Any, bucket: str, prefix: str) -> int:
    """Delete every object under `prefix`; answers how many."""
    deleted = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
            deleted += len(objects)
    return deleted
