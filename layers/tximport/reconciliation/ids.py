"""Identifiers of the reconciliation dialect: entry ids carry their position, statement ids are UUIDs.

An entry id is the reconciliation's UUID with its low 32 bits replaced by the entry's index: unique within
the service, a valid UUID (version and variant bits sit higher), and resolvable to the entry without a
lookup. A statement id is the UUID the document shows for a ledger line: the 128-bit digest inside our
ledger transaction ids (`2024-01-10-<32 hex>`) written as an RFC 9562 version 8 UUID (its version and variant
bits set, the other 122 bits the digest's), resolved back by looking for the line whose id gives it among the
lines of a reconciliation's window; other ids map through uuid5. (Statement ids were the bare digest before:
such a UUID is still resolved, by the digest.)
"""

from __future__ import annotations

import re
import uuid
from datetime import date

_LOW = (1 << 32) - 1
_LEDGER_ID = re.compile(r"^(\d{4}-\d{2}-\d{2})-([0-9a-f]{32})$")
_NAMESPACE = uuid.UUID("6f1c2d4e-8a5b-4c3d-9e7f-0a1b2c3d4e5f")
#: the version (8: custom) and variant (RFC 9562) bits of a statement UUID, and where they sit
_VERSION_8 = (0x8 << 76) | (0b10 << 62)
_VERSION_BITS = (0xF << 76) | (0b11 << 62)


def is_uuid(value: str) -> bool:
    """Whether `value` is a UUID as we write them (reconciliation ids are; anything else is not ours)."""
    try:
        return str(uuid.UUID(value)) == value.lower()
    except (ValueError, AttributeError, TypeError):
        return False


def entry_id(reconciliation_id: str, index: int) -> str:
    base = uuid.UUID(reconciliation_id).int & ~_LOW
    return str(uuid.UUID(int=base | index))


def entry_index(reconciliation_id: str, value: str) -> int | None:
    """The index an entry id names within this reconciliation, or None if it is not one of its ids."""
    try:
        candidate = uuid.UUID(value).int
    except (ValueError, AttributeError, TypeError):
        return None
    if candidate & ~_LOW != uuid.UUID(reconciliation_id).int & ~_LOW:
        return None
    return candidate & _LOW


def statement_id(transaction_id: str) -> str:
    """The UUID a ledger line is known by in reconciliation answers (`matchedStatementId`)."""
    found = _LEDGER_ID.match(transaction_id)
    if found:
        return str(uuid.UUID(int=int(found.group(2), 16) & ~_VERSION_BITS | _VERSION_8))
    return str(uuid.uuid5(_NAMESPACE, transaction_id))


def ledger_day(transaction_id: str) -> date | None:
    """The booking day our ledger ids start with (None for an id that is not one of ours)."""
    found = _LEDGER_ID.match(transaction_id)
    try:
        return date.fromisoformat(found.group(1)) if found else None
    except ValueError:  # a shape of ours, but no calendar day
        return None


def digest_of(statement: str) -> str | None:
    """The 32-hex digest a statement UUID stands for (to try on each day of a window)."""
    try:
        return uuid.UUID(statement).hex
    except (ValueError, AttributeError, TypeError):
        return None
