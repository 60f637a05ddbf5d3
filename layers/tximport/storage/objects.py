"""The bucket behind a small interface: uploaded files (a presigned PUT, their size and ETag, streamed
reads pinned to that ETag) and staged chunks (put, read, delete by prefix).

`S3Objects` is the S3 implementation the container injects; unit tests use an in-memory fake with the
same behaviour (tests/fakes). `ObjectSource` reads one stored file as a `formats.base.Source`.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import IO, Any, Protocol

from botocore.exceptions import ClientError


@dataclass(frozen=True, slots=True)
class ObjectHead:
    size: int
    etag: str


class ObjectChanged(OSError):
    """The object is no longer the one its ETag pinned (another upload replaced it). An OSError: the
    store failed the read, not the file, so parsers let it through (formats.encoding.guarded)."""


class ObjectStore(Protocol):
    """The operations the services need from the bucket."""

    def presign_put(self, key: str, expires_in: int) -> str:
        """A URL that accepts one PUT of the object (e.g. `curl -T file URL`) for `expires_in` seconds."""
        ...

    def head(self, key: str) -> ObjectHead:
        """The object's size and ETag."""
        ...

    def open(self, key: str, *, etag: str | None = None) -> IO[bytes]:
        """The object as a stream; with `etag`, ObjectChanged when it is no longer that version."""
        ...

    def put(self, key: str, body: bytes, *, content_type: str, content_encoding: str | None = None) -> None:
        """Store `body` under `key`."""
        ...

    def delete(self, key: str) -> None:
        """Remove one object (nothing happens when it is not there)."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under `prefix`; answers how many."""
        ...


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


class S3Objects:
    """`ObjectStore` on one S3 bucket (a boto3 S3 client, signature v4)."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def presign_put(self, key: str, expires_in: int) -> str:
        url: str = self.client.generate_presigned_url("put_object", Params={"Bucket": self.bucket, "Key": key},
                                                      ExpiresIn=expires_in, HttpMethod="PUT")
        return url

    def head(self, key: str) -> ObjectHead:
        answer = self.client.head_object(Bucket=self.bucket, Key=key)
        return ObjectHead(size=int(answer["ContentLength"]), etag=str(answer.get("ETag", "")))

    def open(self, key: str, *, etag: str | None = None) -> IO[bytes]:
        # the presigned URL stays valid for a while after the upload: with the ETag pinned, a second upload
        # over the same key makes the read fail (PreconditionFailed) instead of mixing two files
        extra = {"IfMatch": etag} if etag else {}
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                raise ObjectChanged(f"{key} changed since it was first read") from exc
            raise
        return io.BufferedReader(_RawBody(body), buffer_size=1 << 20)

    def put(self, key: str, body: bytes, *, content_type: str, content_encoding: str | None = None) -> None:
        extra = {"ContentEncoding": content_encoding} if content_encoding else {}
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, **extra)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_prefix(self, prefix: str) -> int:
        deleted = 0
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objects:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})
                deleted += len(objects)
        return deleted


class ObjectSource:
    """A `formats.base.Source` over one stored file, every read pinned to the ETag it had when first
    seen (formats may open it more than once)."""

    def __init__(self, objects: ObjectStore, key: str, size: int | None = None, etag: str | None = None) -> None:
        self.objects, self.key = objects, key
        self.size = size
        self.etag = etag

    def open(self) -> IO[bytes]:
        return self.objects.open(self.key, etag=self.etag)

    def sha256(self) -> str:
        """Digest of the whole object, streamed."""
        digest = hashlib.sha256()
        with self.open() as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
