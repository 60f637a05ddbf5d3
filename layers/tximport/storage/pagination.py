"""Opaque pagination cursors (base64url JSON), and reading every page of a query."""

from __future__ import annotations

import base64
import json
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
