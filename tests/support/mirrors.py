"""Lines as an import session's commit writes them: its own, and the mirrors it writes into the other account of a
transfer or card payment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tximport.models import LedgerLine, utcnow
from tximport.sessions.ids import ledger_transaction_id
from tximport.sessions.models import SessionLedgerEntry, StagedTransactionType, TransactionStatus


def mirror_line(account_id: str, day: date, amount: Decimal | str, *, counterpart: str = "other-account",
                staged: str = "staged-1", card_payment: bool = False, description: str = "Transferência",
                ignored: bool = False) -> LedgerLine:
    """The mirror in `account_id` of a transfer (or card payment) `counterpart`'s session committed (session "s");
    `ignored`: committed IGNORE."""
    kind = StagedTransactionType.CARD_PAYMENT if card_payment else StagedTransactionType.TRANSFER
    return _session_line(account_id, day, amount, description, kind, staged, counterpart, mirror=True,
                         ignored=ignored)


def committed_line(account_id: str, day: date, amount: Decimal | str, description: str, *,
                   staged: str = "staged-1", ignored: bool = False) -> LedgerLine:
    """A line `account_id`'s own session committed (session "s"); `ignored`: committed IGNORE (a settled copy)."""
    kind = StagedTransactionType.INCOME if Decimal(amount) > 0 else StagedTransactionType.EXPENSE
    return _session_line(account_id, day, amount, description, kind, staged, None, mirror=False, ignored=ignored)


def _session_line(account_id: str, day: date, amount: Decimal | str, description: str, kind: StagedTransactionType,
                  staged: str, counterpart: str | None, *, mirror: bool, ignored: bool) -> LedgerLine:
    status = TransactionStatus.IGNORE if ignored else TransactionStatus.VALIDATING
    session = SessionLedgerEntry(type=kind, status=status, workspace_id="w", session_id="s",
                                 staged_transaction_id=staged, counterpart_account_id=counterpart)
    return LedgerLine(transaction_id=ledger_transaction_id("s", staged, day.isoformat(), mirror),
                      bank_account_id=account_id, amount=Decimal(amount), date_posted=day, description=description,
                      import_id="", committed=utcnow(), session=session)
