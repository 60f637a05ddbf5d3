"""What callers ask the import-session use cases to do, as domain inputs (no wire names, no HTTP): the
API converts its request models into these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from tximport.sessions.models import StagedTransactionStatus, StagedTransactionType


@dataclass(frozen=True, slots=True)
class SessionInput:
    """A new session: exactly one of account_id and card_id, and its billing month."""

    account_id: str | None
    card_id: str | None
    billing_month: str | None
    target_value: Decimal | None = None
    description: str | None = None


class SessionChanges(BaseModel):
    """What an update of a session changes: the fields given (`model_fields_set`), null included."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str | None = None
    card_id: str | None = None
    billing_month: str | None = None
    description: str | None = None
    target_value: Decimal | None = None


@dataclass(slots=True)
class StagedInput:
    """A line to stage; `type` left out follows the sign rule."""

    amount: Decimal
    transaction_date: date
    description: str = ""
    type: StagedTransactionType | None = None
    data: dict[str, Any] = field(default_factory=dict)
    line_number: int | None = None


class StagedChanges(BaseModel):
    """What an update of a staged line changes (None: unchanged). `data` merges into the line's data,
    a null value removing its key. `status` is what the client decides: READY (the line must have what READY
    needs; a copy mark is overridden) or PENDING (held back from commit until READY is set)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Decimal | None = None
    transaction_date: date | None = None
    description: str | None = None
    type: StagedTransactionType | None = None
    data: dict[str, Any] | None = None
    status: StagedTransactionStatus | None = None


@dataclass(frozen=True, slots=True)
class BindRequest:
    """Bind a staged line to a recurring item."""

    staged_transaction_id: str
    recurring_transaction_id: str
