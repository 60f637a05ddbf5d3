"""Identifiers: time-ordered import ids, deterministic transaction ids."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
import uuid
from datetime import date
from decimal import Decimal

_last = 0
_lock = threading.Lock()

#: what an id that becomes part of a stored key may hold: a tenant's organisationId and companyId, an
#: import, bank account or transaction id. 1 to 128 letters, digits, `.`, `_` and `-`, starting with a
#: letter or digit: safe as an S3 key segment (no `/`, never `.` or `..`, nothing to escape) and as a
#: part of a DynamoDB key (no `#`, which separates the parts)
SAFE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_SAFE_ID = re.compile(SAFE_ID_PATTERN)


def is_safe_id(value: str) -> bool:
    """True when `value` may be part of a stored key (SAFE_ID_PATTERN)."""
    return _SAFE_ID.fullmatch(value) is not None


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def canonical_id(value: str | None) -> str | None:
    """An id as we store it: a UUID in lower case (RFC 9562: its hex digits are case insensitive on input, and
    clients such as .NET or SQL Server write them in upper case); any other id as it is."""
    if value is not None and _UUID.match(value):
        return value.lower()
    return value


def new_id() -> str:
    """A UUID (version 7 layout) whose first 48 bits are the creation time in milliseconds, so that
    ids sort by creation time and `GET /imports` can list newest first straight from the key. Ids made
    in the same millisecond by one process still increase (the random part is bumped)."""
    global _last
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    with _lock:
        if value <= _last:
            value = _last + 1
        _last = value
    return str(uuid.UUID(int=value))


def transaction_id(bank_account_id: str, *, date_posted: date, amount: Decimal, description: str,
                   bank_transaction_id: str | None, occurrence: int, pending: bool = False,
                   bank_occurrence: int = 1) -> str:
    """The id of a statement line in an account: the same line always gets the same id.

    A bank-assigned id (FITID, AcctSvcrRef) identifies the line on its own. Without one the line is
    identified by its content plus its occurrence index among identical lines of the same file, so two
    equal coffees on one day stay two transactions, and re-importing the statement names them again.
    A pending line has an id of its own: the booked line that replaces it often keeps its bank id, day,
    amount and text, and must not be taken for it (it is written beside it, linked).
    A bank id that comes again on the same day of a file (a bank that reuses one: `bank_occurrence` 2 and on)
    has that occurrence in its basis, so each such line stays a line of its own.
    """
    if bank_transaction_id:
        basis = f"{bank_account_id}\x1fB\x1f{bank_transaction_id}{bank_suffix(bank_occurrence)}"
    else:
        basis = _content_basis(bank_account_id, date_posted.isoformat(), f"{amount.normalize():f}", description,
                               occurrence)
    if pending:
        basis += "\x1fP"
    digest = hashlib.sha256(basis.encode()).hexdigest()[:32]
    return f"{date_posted.isoformat()}-{digest}"


def _content_basis(bank_account_id: str, day_iso: str, amount_key: str, description: str, occurrence: int) -> str:
    key = normalized_description(description)
    return f"{bank_account_id}\x1fC\x1f{day_iso}\x1f{amount_key}\x1f{key}\x1f{occurrence}"


#: a decimal text as `str(Decimal)` writes one without an exponent (no sign but a minus, no leading zero)
_PLAIN_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")


def amount_key(text: str) -> str:
    """`normalized_amount(Decimal(text))` (an amount as ids compare it), by string work where `text` is plain (as a
    staged row writes its amount) and short enough that normalize would not round it."""
    if len(text) > 28 or _PLAIN_TEXT.fullmatch(text) is None:
        return normalized_amount(Decimal(text))
    return text.rstrip("0").rstrip(".") if "." in text else text


def first_id(bank_account_id: str, day_iso: str, amount_text: str, description: str) -> str:
    """`transaction_id` of a line with no bank id, not pending, the first of its kind on its day (occurrence 1),
    from its texts as a staged row holds them (`day_iso`: its ISO day, `amount_text`: its amount as a decimal)."""
    basis = _content_basis(bank_account_id, day_iso, amount_key(amount_text), description, 1)
    return f"{day_iso}-{hashlib.sha256(basis.encode()).hexdigest()[:32]}"


def reissued_id(transaction_id: str, amount: Decimal) -> str:
    """The id of a line whose bank id gave it the id of a ledger line of another amount (a bank that reuses its
    ids across statements): the same day, and a digest of that id and the line's amount, so the same line
    imported again gets it again."""
    basis = f"{transaction_id}\x1fA\x1f{normalized_amount(amount)}"
    return f"{transaction_id[:10]}-{hashlib.sha256(basis.encode()).hexdigest()[:32]}"


def apart_id(transaction_id: str, import_id: str) -> str:
    """The ledger id of a staged line the review imported although a ledger line already had its id (`alreadyImported`:
    a line of another import): the same day, and a digest of that id and the import, so the line already there is
    never overwritten, and a retried commit (or the revert) finds the same item again."""
    basis = f"{transaction_id}\x1fI\x1f{import_id}"
    return f"{transaction_id[:10]}-{hashlib.sha256(basis.encode()).hexdigest()[:32]}"


def kept_apart(possible_duplicate: bool, default_decision: str | None) -> bool:
    """Whether a staged line is a certain duplicate (the same line, or the same bank id, already imported: skipped
    by default), whose own id may be a ledger line's already (then, imported, it takes `apart_id`)."""
    return bool(possible_duplicate) and default_decision == "skip"


def bank_suffix(bank_occurrence: int) -> str:
    """What a bank id's basis gets for its occurrence on its day: nothing the first time (its id stays the one the
    bank id alone gives), else the occurrence."""
    return "" if bank_occurrence == 1 else f"\x1f{bank_occurrence}"


def content_key(bank_account_id: str, date_posted: date, amount: Decimal, description: str) -> bytes:
    """A compact key for counting identical lines (occurrence index)."""
    text = f"{bank_account_id}\x1f{date_posted.isoformat()}\x1f{amount.normalize():f}\x1f" \
           f"{' '.join(description.split()).casefold()}"
    return hashlib.blake2b(text.encode(), digest_size=12).digest()


def normalized_description(description: str) -> str:
    """A description as ids compare it: whitespace runs as one space, case folded."""
    return " ".join(description.split()).casefold()



def plain_decimal(value: Decimal) -> str:
    """`format(value, "f")`, the fast way: str() already writes it so unless it chose an exponent."""
    text = str(value)
    return format(value, "f") if "E" in text else text


def normalized_amount(value: Decimal) -> str:
    """`f"{value.normalize():f}"` (an amount as ids compare it: no trailing zeros), by string work on the
    plain text where the value has the digits of an amount (normalize rounds to 28 digits beyond that)."""
    text = plain_decimal(value)
    if len(text) > 28:
        return f"{value.normalize():f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
