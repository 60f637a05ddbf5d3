"""Staged line ids: UUIDs (version 8) that carry their session's number and their own sequence number.

`GET/PUT/DELETE /staged-transactions/{id}` name a line without its session. Rather than a pointer item
per line (twice the writes of a 10,000-line upload), the id itself says where the line is: the
session's per-workspace number (48 bits) and the line's sequence in the session (32 bits), with random
bits so that ids of equal numbers in two workspaces still differ. Lookups stay scoped by workspace.
"""

from __future__ import annotations

import hashlib
import os
import uuid

from tximport.models import LedgerLine
from tximport.sessions.models import StagedTransactionType

#: the reason a line answering a mirror line is marked with, by the mirror's type
MIRROR_REASONS = {StagedTransactionType.TRANSFER: "transferMirror",
                  StagedTransactionType.CARD_PAYMENT: "cardPaymentMirror"}

_NUMBER_BITS = 48
_SEQ_BITS = 32
_VERSION = 8


def staged_id(session_number: int, seq: int) -> str:
    """The id of line `seq` of the session numbered `session_number`."""
    if not 0 <= session_number < 1 << _NUMBER_BITS or not 0 <= seq < 1 << _SEQ_BITS:
        raise ValueError("session number or sequence out of range")
    rand = int.from_bytes(os.urandom(6), "big")  # 42 of these bits are used
    value = (session_number << 80) | (_VERSION << 76) | ((rand >> 30) & 0xFFF) << 64
    value |= (0b10 << 62) | (seq << 30) | (rand & ((1 << 30) - 1))  # RFC 4122 variant, sequence, random
    return str(uuid.UUID(int=value))


def parse_staged_id(text: str) -> tuple[int, int] | None:
    """(session number, sequence) of a staged id, or None when the text is not one of ours."""
    try:
        value = uuid.UUID(text).int
    except (ValueError, AttributeError, TypeError):
        return None
    if (value >> 76) & 0xF != _VERSION or (value >> 62) & 0b11 != 0b10:
        return None
    return value >> 80, (value >> 30) & ((1 << _SEQ_BITS) - 1)


def ledger_transaction_id(session_id: str, staged: str, transaction_date: str, mirror: bool = False) -> str:
    """The ledger id of a committed line: deterministic in (session, staged id), so committing twice
    writes the same item once; a transfer's or card payment's mirror line in the other account gets
    its own. Same shape as file-import ids: `<date>-<32 hex>`."""
    basis = f"session\x1f{session_id}\x1f{staged}\x1f{'mirror' if mirror else 'line'}"
    return f"{transaction_date}-{hashlib.sha256(basis.encode()).hexdigest()[:32]}"


def is_mirror(line: LedgerLine) -> bool:
    """Whether a ledger line is the mirror a transfer or card payment of another account's session wrote here (the
    line the other account's statement shows as its own is that session's line; this one is its reflection)."""
    entry = line.session
    return entry is not None and line.transaction_id == ledger_transaction_id(
        entry.session_id, entry.staged_transaction_id, line.date_posted.isoformat(), True)


#: every reason `mirror_reason` gives
MIRROR_REASON_NAMES = frozenset({*MIRROR_REASONS.values(), "mirrorLine"})
#: the reason a line repeating a line a session committed (not a mirror) is marked with
COMMITTED_REASON = "alreadyCommitted"
#: the reasons of a copy of a session's line (a file import's duplicate check takes each such line once)
SESSION_REASONS = MIRROR_REASON_NAMES | {COMMITTED_REASON}


def mirror_reason(line: LedgerLine) -> str:
    """Why a line answering the mirror line `line` repeats it: `transferMirror`, `cardPaymentMirror`."""
    return MIRROR_REASONS.get(line.session.type, "mirrorLine") if line.session is not None else "mirrorLine"
