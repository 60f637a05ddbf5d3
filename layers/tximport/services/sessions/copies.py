"""What a line being staged may repeat: a ledger line (the file import's duplicate check, run the other way
round), a line the session holds already, a line an earlier session committed from the same statement, or the
mirror another account's session wrote here. The staged line is marked (`data.possible_duplicate`), never
dropped; a certain copy waits for the client's `data.ignore` (sessions/rules.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from tximport.ids import normalized_description, transaction_id
from tximport.models import LedgerLine, Tenant
from tximport.services.duplicates import DuplicateDetector
from tximport.sessions.ids import COMMITTED_REASON, MIRROR_REASONS, is_mirror, mirror_reason
from tximport.sessions.models import StagedTransactionType, TransactionStatus
from tximport.storage.ledger import LedgerStore, ignored, invoice_month

#: the data key of the copy mark (the server's alone: what a client sends for it is ignored)
MARK = "possible_duplicate"

Held = dict[tuple[date, Decimal, str], list[str]]


def same_line(day: date, amount: Decimal, description: str | None) -> tuple[date, Decimal, str]:
    """What two lines share when one repeats the other (amounts compare by value: 1.50 is 1.5)."""
    return day, amount, normalized_description(description or "")


class CopyFinder:
    """Marks the lines of one add, in their order, against the ledger of `account_id` and the lines `held` (by
    `same_line` of their staged amount: each answers one new line)."""

    def __init__(self, ledger: LedgerStore, tenant: Tenant, account_id: str, held: Held, *,
                 own_session: str | None = None) -> None:
        # committed and mirror lines come after the session's own copies here (`_committed_copy`, `_mark_mirror`)
        self.detector = DuplicateDetector(ledger, tenant, session_lines=False)
        self.account_id = account_id
        self.held = held
        #: a session whose own ledger lines are no copies (a commit judging its next chunk after the first)
        self.own_session = own_session
        #: lines of this add by `same_line` (committed copies), and by their exact text (the file import's ids)
        self.occurrences: Counter[tuple[date, Decimal, str]] = Counter()
        self.exact: Counter[tuple[date, Decimal, str]] = Counter()
        self.answered: set[str] = set()  # the mirror lines a line of this add took

    def mark(self, day: date, amount: Decimal, staged_amount: Decimal, description: str, data: dict[str, Any]
             ) -> None:
        """Mark `data` when the line (`amount` as the ledger would hold it) repeats something."""
        key = same_line(day, amount, description)
        self.occurrences[key] += 1
        exact = (day, amount, description)
        self.exact[exact] += 1
        bank_id = data.get("bank_transaction_id") if isinstance(data.get("bank_transaction_id"), str) else None
        tx_id = transaction_id(self.account_id, date_posted=day, amount=amount, description=description,
                               bank_transaction_id=bank_id, occurrence=self.exact[exact])
        verdict = self.detector.check(self.account_id, tx_id, day, amount, description, bank_id)
        # certain copies first (each held back until the client decides), then a look-alike
        if verdict is not None and verdict.certain:
            _mark(data, verdict.duplicate_of, verdict.reason, True)
        elif (committed := self._committed_copy(day, amount, key)) is not None:
            _mark(data, committed.transaction_id, COMMITTED_REASON, True)
        elif twins := self.held.get(same_line(day, staged_amount, description)):
            _mark(data, twins.pop(0), "alreadyStaged", True)
        elif not self._mark_mirror(day, amount, data) and verdict is not None:
            _mark(data, verdict.duplicate_of, verdict.reason, False)

    def counted(self, day: date, amount: Decimal, description: str, data: dict[str, Any]) -> None:
        """Count a line of the session a commit does not judge again (left staged, or decided by the client with
        `data.ignore`): it takes its place among the identical lines (the next such line repeats the next ledger
        copy, if any), and the mirror its certain mark names answers no other line."""
        self.occurrences[same_line(day, amount, description)] += 1
        self.exact[(day, amount, description)] += 1
        mark = data.get(MARK)
        if isinstance(mark, dict) and mark.get("certain") is True and mark.get("reason") in MIRROR_REASONS.values():
            self.answered.add(str(mark.get("duplicate_of")))

    def _mark_mirror(self, day: date, amount: Decimal, data: dict[str, Any]) -> bool:
        """A mirror line of the amount within MIRROR_DAYS, not answered yet: another account's session booked
        this money here already, and this account's statement shows it under its own description. Answers
        whether it marked `data`."""
        mirror = next((line for line in self.detector.lines_near(self.account_id, day, amount,
                                                                  DuplicateDetector.MIRROR_DAYS)
                       if is_mirror(line) and not ignored(line) and line.transaction_id not in self.answered), None)
        if mirror is None or mirror.session is None:
            return False
        self.answered.add(mirror.transaction_id)
        _mark(data, mirror.transaction_id, mirror_reason(mirror), True)
        data[MARK]["counterpart_account_id"] = mirror.session.counterpart_account_id
        return True

    def _committed_copy(self, day: date, amount: Decimal, key: tuple[date, Decimal, str]) -> LedgerLine | None:
        """The n-th line an earlier session committed on the day with this amount and description, for the n-th
        such line of this add (two coffees booked and two in the statement again: both copies; a third is new).
        A session's ledger line has an id of its own (its session and staged line), so the file import's id check
        cannot find it."""
        copies = [line for line in self.detector.lines_near(self.account_id, day, amount)
                  if line.date_posted == day and line.session is not None and not is_mirror(line) and not ignored(line)
                  and line.session.session_id != self.own_session
                  and same_line(line.date_posted, line.amount, line.description) == key]
        wanted = self.occurrences[key]
        return copies[wanted - 1] if wanted <= len(copies) else None


def _mark(data: dict[str, Any], duplicate_of: str, reason: str, certain: bool) -> None:
    """A line marked as a possible duplicate (a certain one waits for the client's `data.ignore`: `rules`)."""
    data[MARK] = {"duplicate_of": duplicate_of, "reason": reason, "certain": certain}


def as_payment(line: LedgerLine, mirror: LedgerLine) -> LedgerLine | None:
    """The card's own line of a card payment, committed before the payment by the card's session (which typed it
    CARD_CHARGEBACK, by the sign rule), as the payment's mirror would have been: the same line (its session, its
    status), typed and filed as the payment (CARD_PAYMENT, the paying account, the invoice it pays), so that the
    invoice shows the payment whichever statement came first. None for any other answering line: another type, or a
    line settled already (its invoice closed with it)."""
    entry, paying = line.session, mirror.session
    if (entry is None or paying is None or paying.type != StagedTransactionType.CARD_PAYMENT
            or entry.type != StagedTransactionType.CARD_CHARGEBACK or entry.status != TransactionStatus.VALIDATING
            or invoice_month(line) is None):
        return None
    return replace(line, session=replace(paying, workspace_id=entry.workspace_id, session_id=entry.session_id,
                                         staged_transaction_id=entry.staged_transaction_id, status=entry.status,
                                         counterpart_transaction_id=line.linked_by))


def answering_line(detector: DuplicateDetector, mirror: LedgerLine, taken: set[str], own_id: str
                   ) -> LedgerLine | None:
    """The line of the mirror's account that already shows the mirror's money (its amount within MIRROR_DAYS, not a
    mirror, not in `taken`, not linked to another line than `own_id`, the mirror's own line): that account's
    statement was imported first."""
    return next((line for line in detector.lines_near(mirror.bank_account_id, mirror.date_posted, mirror.amount,
                                                      DuplicateDetector.MIRROR_DAYS)
                 if not is_mirror(line) and not ignored(line) and line.transaction_id not in taken
                 and line.linked_by in (None, own_id)), None)
