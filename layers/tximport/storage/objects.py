"""The bucket behind a small interface: uploaded files (a presigned PUT, their versions, streamed reads
pinned to one version and its ETag) and staged chunks (put, read, delete by prefix).

The bucket is versioned: every PUT over an upload key is a new version, so a second upload over an
import's key can be told apart from the file its import reviewed (services/pinning.py).

`S3Objects` is the S3 implementation the container injects; unit tests use an in-memory fake with the
same behaviour (tests/fakes). `ObjectSource` reads one stored file as a `formats.base.Source`.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Protocol

from botocore.exceptions import ClientError


@dataclass(frozen=True, slots=True)
class ObjectHead:
    size: int
    etag: str


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    """One stored version of an object. On a bucket without versioning the one version is "null"."""

    version_id: str
    etag: str
    size: int


class ObjectChanged(OSError):
    """The object is no longer the one its ETag pinned (another upload replaced it). An OSError: the
    store failed the read, not the file, so parsers let it through (formats.encoding.guarded)."""


class ObjectMissing(FileNotFoundError):
    """The object (or the version asked for) is not in the bucket: removed meanwhile, as the chunks of an
    import's earlier generation are once it is processed again."""


class ObjectStore(Protocol):
    """The operations the services need from the bucket."""

    def presign_put(self, key: str, expires_in: int) -> str:
        """A URL that accepts one PUT of the object (e.g. `curl -T file URL`) for `expires_in` seconds."""
        ...

    def head(self, key: str) -> ObjectHead:
        """The object's size and ETag."""
        ...

    def versions(self, key: str) -> list[ObjectVersion]:
        """Every stored version of exactly `key` (delete markers left out), newest first."""
        ...

    def open(self, key: str, *, etag: str | None = None, version_id: str | None = None,
             start: int = 0) -> IO[bytes]:
        """The object (with `version_id`, that version of it) as a stream, from byte `start` on; with
        `etag`, ObjectChanged when it is no longer that version."""
        ...

    def put(self, key: str, body: bytes, *, content_type: str, content_encoding: str | None = None) -> None:
        """Store `body` under `key`."""
        ...

    def delete(self, key: str) -> None:
        """Remove one object, every version of it (nothing happens when it is not there)."""
        ...

    def delete_versions(self, key: str, *, keep: str | None = None) -> int:
        """Remove every version (and delete marker) of exactly `key` but `keep`; answers how many."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under `prefix`, every version of it; answers how many objects."""
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

    def versions(self, key: str) -> list[ObjectVersion]:
        found: list[ObjectVersion] = []
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
            found.extend(ObjectVersion(version_id=str(v.get("VersionId") or "null"), etag=str(v.get("ETag", "")),
                                       size=int(v.get("Size", 0)))
                         for v in page.get("Versions", []) if v["Key"] == key)
        return found  # S3 lists a key's versions newest first

    def open(self, key: str, *, etag: str | None = None, version_id: str | None = None,
             start: int = 0) -> IO[bytes]:
        # the presigned URL stays valid for a while after the upload: with the version (and ETag) pinned,
        # a second upload over the same key is never read as if it were the first
        extra = {"IfMatch": etag} if etag else {}
        if version_id and version_id != "null":  # "null": the one version a bucket without versioning keeps
            extra["VersionId"] = version_id
        if start:  # a range of a split file: a ranged GET, not a read past the bytes before it
            extra["Range"] = f"bytes={start}-"
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "412"):
                raise ObjectChanged(f"{key} changed since it was first read") from exc
            if code in ("NoSuchKey", "NoSuchVersion", "404"):
                raise ObjectMissing(f"{key} is not in the bucket") from exc
            raise
        return io.BufferedReader(_RawBody(body), buffer_size=1 << 20)

    def put(self, key: str, body: bytes, *, content_type: str, content_encoding: str | None = None) -> None:
        extra = {"ContentEncoding": content_encoding} if content_encoding else {}
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, **extra)

    def delete(self, key: str) -> None:
        self.delete_versions(key)

    def delete_versions(self, key: str, *, keep: str | None = None) -> int:
        return len(self._delete_every_version(key, lambda k, version: k == key and version != keep))

    def delete_prefix(self, prefix: str) -> int:
        return len({k for k, _ in self._delete_every_version(prefix, lambda k, version: True)})

    def _delete_every_version(self, prefix: str, doomed: Callable[[str, str], bool]) -> list[tuple[str, str]]:
        """Delete the versions and delete markers under `prefix` that `doomed(key, version)` picks (on a
        versioned bucket a plain delete would only hide them); answers the (key, version) deleted, delete
        markers left out."""
        deleted: list[tuple[str, str]] = []
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            versions = [(v["Key"], str(v.get("VersionId") or "null")) for v in page.get("Versions", [])]
            markers = [(v["Key"], str(v.get("VersionId") or "null")) for v in page.get("DeleteMarkers", [])]
            entries = [(k, version) for k, version in [*versions, *markers] if doomed(k, version)]
            if entries:
                self.client.delete_objects(Bucket=self.bucket, Delete={
                    "Objects": [{"Key": k, "VersionId": version} for k, version in entries], "Quiet": True})
                deleted.extend(entry for entry in versions if doomed(*entry))
        return deleted


class ObjectSource:
    """A `formats.base.Source` over one stored file, every read pinned to the version (and ETag) it had
    when first seen (formats may open it more than once)."""

    def __init__(self, objects: ObjectStore, key: str, size: int | None = None, etag: str | None = None,
                 version_id: str | None = None) -> None:
        self.objects, self.key = objects, key
        self.size = size
        self.etag = etag
        self.version_id = version_id

    def open(self) -> IO[bytes]:
        return self.objects.open(self.key, etag=self.etag, version_id=self.version_id)

    def open_at(self, start: int) -> IO[bytes]:
        """The file from byte `start` on (one range of a split file)."""
        return self.objects.open(self.key, etag=self.etag, version_id=self.version_id, start=start)

    def sha256(self) -> str:
        """Digest of the whole object, streamed."""
        digest = hashlib.sha256()
        with self.open() as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
