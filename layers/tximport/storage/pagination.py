"""Opaque pagination cursors (base64url JSON), their seal (HMAC) for clients, and reading every page
of a query."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from typing import Any

from tximport.errors import ValidationFailed


def encode_cursor(state: dict[str, Any] | None) -> str | None:
    if not state:
        return None
    raw = json.dumps(state, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def query_all(table: Any, **request: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query on a table resource answers, page after page."""
    while True:
        page = table.query(**request)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        raise ValidationFailed("malformed pagination cursor", code="InvalidCursor", target="cursor") from None
    if not isinstance(value, dict):
        raise ValidationFailed("malformed pagination cursor", code="InvalidCursor", target="cursor")
    return value


class CursorSigner:
    """Seals the cursors this layer hands out, so that a client can neither forge one nor change one.

    A sealed cursor is `<cursor>.<mac>`, the mac an HMAC-SHA256 with the deployment's key over the
    cursor and a scope that names the tenant and the listing it was issued for: a cursor changed by one
    character, made up, or issued to another tenant or for another listing is `InvalidCursor` before
    anything reads it. The cursor itself stays the storage layer's own (its key layout never leaves it
    unsealed, and is never trusted unsealed).
    """

    MIN_KEY_BYTES = 32
    #: a sealed cursor longer than this is not one of ours (ours are a few hundred characters)
    MAX_LENGTH = 2048
    _SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}")

    def __init__(self, key: bytes) -> None:
        if len(key) < self.MIN_KEY_BYTES:
            raise ValueError(f"a cursor signing key has at least {self.MIN_KEY_BYTES} bytes")
        self._key = key

    def seal(self, cursor: str | None, scope: str) -> str | None:
        """The cursor as a client sees it (None stays None: the last page has no next)."""
        return None if not cursor else f"{cursor}.{self._mac(cursor, scope)}"

    def open(self, sealed: str | None, scope: str) -> str | None:
        """The cursor a sealed one carries; ValidationFailed `InvalidCursor` unless this signer sealed it
        for this scope. No cursor (None or empty) is the first page."""
        if not sealed:
            return None
        if len(sealed) > self.MAX_LENGTH or not self._SHAPE.fullmatch(sealed):
            raise _invalid()
        cursor, _, mac = sealed.rpartition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(cursor, scope).encode()):
            raise _invalid()
        return cursor

    def _mac(self, cursor: str, scope: str) -> str:
        digest = hmac.new(self._key, f"{scope}\n{cursor}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _invalid() -> ValidationFailed:
    return ValidationFailed("the pagination cursor is not one this API issued for this listing; start again "
                            "without a cursor", code="InvalidCursor", target="cursor")
