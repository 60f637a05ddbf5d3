"""JSON with exact decimals: a Decimal is written as JSON number text (never through a float) and a JSON
number with a fraction is read as a Decimal. The import-sessions and reconciliation dialects answer with
these numbers (their documents say number), and the sessions table stores its documents this way."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from tximport.models import iso

#: a per-process marker no client text can contain: Decimals are written as marked strings, then unquoted
_MARK = uuid.uuid4().hex
_MARKED = re.compile(f'"{_MARK}(-?[0-9]+(?:\\.[0-9]+)?)"')


def dumps(value: Any, *, number: Callable[[Decimal], Decimal] | None = None) -> str:
    """Compact JSON text: a Decimal as its exact number text (`number` may reshape it first, e.g. to
    two decimals at least), timestamps as ISO 8601 with milliseconds and a Z, dates ISO, enums by value."""

    def default(item: Any) -> Any:
        if isinstance(item, Decimal):
            return f"{_MARK}{format(number(item) if number else item, 'f')}"
        if isinstance(item, datetime):
            return iso(item)
        if isinstance(item, date):
            return item.isoformat()
        if isinstance(item, Enum):
            return item.value
        raise TypeError(f"{type(item).__name__} is not JSON serialisable")

    return _MARKED.sub(r"\1", json.dumps(value, default=default, ensure_ascii=False, separators=(",", ":")))


def loads(text: str | bytes) -> Any:
    """Parse JSON text; numbers with a fraction or exponent become Decimal, integers int. Malformed
    text raises the standard library's JSONDecodeError (what the API's resolver answers 400 for)."""
    return json.loads(text, parse_float=Decimal)


def loads_request(text: str | bytes) -> Any:
    """`loads` for a request's body, which names each member of an object once: `{"amount": 1, "amount": 2}` says
    two things, and taking the last would act on what the client may not have meant (JSONDecodeError naming it).
    `NaN`, `Infinity` and `-Infinity`, which Python's json module reads, are no JSON (RFC 8259): refused the same
    way, so none is ever stored to be answered back as text no strict client can read."""
    return json.loads(text, parse_float=Decimal, object_pairs_hook=_unique_members, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is no JSON value (RFC 8259 has no NaN or Infinity)", "", 0)


#: what the refusals `loads_request` adds to the standard library's say
_OWN_REFUSALS = ("is given twice in one object", "is no JSON value")


def message(error: Mapping[str, Any], fallback: str) -> str:
    """A JSON decoding error's message as the API tells it: one `loads_request` raised names what is wrong (a member
    given twice, NaN); the standard library's says only where parsing stopped (`fallback`)."""
    said = str((error.get("ctx") or {}).get("error", ""))
    return said if any(part in said for part in _OWN_REFUSALS) else fallback


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise json.JSONDecodeError(f"the member {name!r} {_OWN_REFUSALS[0]}", "", 0)
            seen.add(name)
    return members
