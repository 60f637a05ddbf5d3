"""JSON with exact decimals: a Decimal is written as JSON number text exactly as it is (never through a
float) and a JSON number with a fraction is read as a Decimal. The import-sessions dialect answers with
these numbers (its documents say number), and the sessions table stores its documents this way."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import simplejson

from tximport.models import iso


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    """Compact JSON text; Decimal as exact number text, timestamps as ISO 8601 with a Z, dates ISO."""
    text: str = simplejson.dumps(value, use_decimal=True, default=_default, separators=(",", ":"),
                                 ensure_ascii=False)
    return text


def loads(text: str | bytes) -> Any:
    """Parse JSON text; numbers with a fraction or exponent become Decimal, integers int. Malformed
    text raises the standard library's JSONDecodeError (what the API's resolver answers 400 for)."""
    return json.loads(text, parse_float=Decimal)
