"""Read an uploaded object as a stream (formats may open it more than once)."""

from __future__ import annotations

import hashlib
import io
from typing import IO, Any


class _RawBody(io.RawIOBase):
    """Adapts a botocore StreamingBody to a raw stream so io.BufferedReader can buffer it."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        self._body.close()
        super().close()


class S3Source:
    """A `formats.base.Source` over one S3 object."""

    def __init__(self, s3: Any, bucket: str, key: str, size: int | None = None, etag: str | None = None) -> None:
        self.s3, self.bucket, self.key = s3, bucket, key
        self.size = size
        self.etag = etag

    def open(self) -> IO[bytes]:
        # the presigned URL stays valid for a while after the upload: with the ETag pinned, a second upload
        # over the same key makes the read fail (PreconditionFailed) instead of mixing two files
        extra = {"IfMatch": self.etag} if self.etag else {}
        body = self.s3.get_object(Bucket=self.bucket, Key=self.key, **extra)["Body"]
        return io.BufferedReader(_RawBody(body), buffer_size=1 << 20)

    def sha256(self) -> str:
        """Digest of the whole object, streamed."""
        digest = hashlib.sha256()
        with self.open() as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
