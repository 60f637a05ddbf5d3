"""The bucket in memory: `ObjectStore` with presigned URLs, ETags and prefixes."""

from __future__ import annotations

import hashlib
import io
from typing import IO

from tximport.storage.objects import ObjectChanged, ObjectHead


class InMemoryObjects:
    """`tximport.storage.objects.ObjectStore` over a dict of key -> bytes."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.content_types: dict[str, str] = {}
        self.reads: list[str] = []  # the keys opened, in order

    @staticmethod
    def etag_of(body: bytes) -> str:
        return f'"{hashlib.md5(body).hexdigest()}"'  # noqa: S324 - S3's ETag of a single-part upload

    def upload(self, key: str, body: bytes) -> None:
        """What a client's PUT to the presigned URL does."""
        self.objects[key] = body

    def presign_put(self, key: str, expires_in: int) -> str:
        return f"https://bucket.invalid/{key}?X-Amz-Expires={expires_in}"

    def head(self, key: str) -> ObjectHead:
        body = self._body(key)
        return ObjectHead(size=len(body), etag=self.etag_of(body))

    def open(self, key: str, *, etag: str | None = None) -> IO[bytes]:
        self.reads.append(key)
        body = self._body(key)
        if etag is not None and etag != self.etag_of(body):
            raise ObjectChanged(f"{key} changed since it was first read")
        return io.BytesIO(body)

    def put(self, key: str, body: bytes, *, content_type: str, content_encoding: str | None = None) -> None:
        self.objects[key] = bytes(body)
        self.content_types[key] = content_type

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def delete_prefix(self, prefix: str) -> int:
        doomed = [key for key in self.objects if key.startswith(prefix)]
        for key in doomed:
            del self.objects[key]
        return len(doomed)

    def keys(self, prefix: str = "") -> list[str]:
        return sorted(key for key in self.objects if key.startswith(prefix))

    def _body(self, key: str) -> bytes:
        try:
            return self.objects[key]
        except KeyError:
            raise FileNotFoundError(key) from None
