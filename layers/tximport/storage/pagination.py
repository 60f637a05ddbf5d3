"""Opaque pagination cursors (base64url JSON)."""

from __future__ import annotations

import base64
import json
from typing import Any

from tximport.errors import ValidationFailed


def encode_cursor(state: dict[str, Any] | None) -> str | None:
    if not state:
        return None
    raw = json.dumps(state, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


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
