"""Where a split file's work lives in the bucket, beside its staged chunks:

  staging/<org>/<company>/<importId>/g<generation>/split/manifest.json    the ranges (byte offsets)
  staging/<org>/<company>/<importId>/g<generation>/split/range-0003.json  what range 3 found
  staging/<org>/<company>/<importId>/g<generation>/r0003/rows-00001.jsonl.zst  range 3's staged rows

The workflow carries none of it: the Map over the ranges passes range indexes, each range and the
reduce read these documents. They go with the generation's prefix.
"""

from __future__ import annotations

import gzip

from tximport.storage.objects import ObjectStore
from tximport.storage.staging import CHUNK_SUFFIX, GZIP_SUFFIX, compress_chunk, decompress_chunk


def manifest_key(prefix: str) -> str:
    return f"{prefix}split/manifest.json"


def result_key(prefix: str, index: int) -> str:
    return f"{prefix}split/range-{index:04d}.json"


def range_prefix(prefix: str, index: int) -> str:
    """Where range `index` stages its chunks."""
    return f"{prefix}r{index:04d}/"


class SplitDocuments:
    """The manifest and the ranges' results of a split file (JSON documents, gzip-compressed)."""

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects

    def put(self, key: str, body: bytes) -> None:
        self.objects.put(key, gzip.compress(body, 1), content_type="application/json", content_encoding="gzip")

    def get(self, key: str) -> bytes:
        with self.objects.open(key) as raw:
            return gzip.decompress(raw.read())

    def put_chunk(self, key: str, lines: list[bytes]) -> None:
        """A staged chunk written again (the reduce's corrections), in the chunk writer's format (`key` ends
        in its suffix, `merged_key`)."""
        self.objects.put(key, compress_chunk(b"".join(lines)), content_type="application/x-ndjson",
                         content_encoding="zstd")

    def chunk(self, key: str) -> bytes:
        """A staged chunk's JSON lines, decompressed."""
        with self.objects.open(key) as raw:
            return decompress_chunk(key, raw.read())


def merged_key(key: str) -> str:
    """Where the reduce writes its corrections of the staged chunk `key` (beside it)."""
    return key.removesuffix(CHUNK_SUFFIX).removesuffix(GZIP_SUFFIX) + "-merged" + CHUNK_SUFFIX


__all__ = ["SplitDocuments", "manifest_key", "merged_key", "range_prefix", "result_key"]
