"""The bucket in memory: `ObjectStore` with presigned URLs, versions, ETags and prefixes."""

from __future__ import annotations

import hashlib
import io
import itertools
from typing import IO

from tximport.storage.objects import ObjectChanged, ObjectHead, ObjectMissing, ObjectVersion


class InMemoryObjects:
    """`tximport.storage.objects.ObjectStore` over a versioned dict: key -> its versions, oldest first
    (`objects` holds each key's current body)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.history: dict[str, list[tuple[str, bytes]]] = {}
        self.content_types: dict[str, str] = {}
        self.reads: list[str] = []  # the keys opened, in order
        self._ids = itertools.count(1)

    @staticmethod
    def etag_of(body: bytes) -> str:
        return f'"{hashlib.md5(body).hexdigest()}"'  # noqa: S324 - S3's ETag of a single-part upload

    def upload(self, key: str, body: bytes) -> None:
        """What a client's PUT to the presigned URL does: a new version of the key."""
        self.history.setdefault(key, []).append((f"v{next(self._ids)}", bytes(body)))
        self.objects[key] = bytes(body)

    def presign_put(self, key: str, expires_in: int) -> str:
        return f"https://bucket.invalid/{key}?X-Amz-Expires={expires_in}"

    def head(self, key: str) -> ObjectHead:
        body = self._body(key)
        return ObjectHead(size=len(body), etag=self.etag_of(body))

    def versions(self, key: str) -> list[ObjectVersion]:
        return [ObjectVersion(version_id=version, etag=self.etag_of(body), size=len(body))
                for version, body in reversed(self.history.get(key, []))]

    def open(self, key: str, *, etag: str | None = None, version_id: str | None = None,
             start: int = 0) -> IO[bytes]:
        self.reads.append(key)
        if version_id is None:
            body = self._body(key)
        else:
            found = [b for v, b in self.history.get(key, []) if v == version_id]
            if not found:
                raise ObjectMissing(f"{key} has no version {version_id}")
            body = found[0]
        if etag is not None and etag != self.etag_of(body):
            raise ObjectChanged(f"{key} changed since it was first read")
        return io.BytesIO(body[start:])

    def put(self, key: str, body: bytes, *, content_type: str, content_encoding: str | None = None) -> None:
        self.upload(key, body)
        self.content_types[key] = content_type

    def delete(self, key: str) -> None:
        self.delete_versions(key)

    def delete_versions(self, key: str, *, keep: str | None = None) -> int:
        before = self.history.pop(key, [])
        kept = [(v, b) for v, b in before if v == keep]
        if kept:
            self.history[key] = kept
            self.objects[key] = kept[-1][1]
        else:
            self.objects.pop(key, None)
        return len(before) - len(kept)

    def delete_prefix(self, prefix: str) -> int:
        doomed = [key for key in self.history if key.startswith(prefix)]
        for key in doomed:
            self.delete_versions(key)
        return len(doomed)

    def keys(self, prefix: str = "") -> list[str]:
        return sorted(key for key in self.objects if key.startswith(prefix))

    def _body(self, key: str) -> bytes:
        try:
            return self.objects[key]
        except KeyError:
            raise ObjectMissing(key) from None
