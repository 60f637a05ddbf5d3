"""The statement side of reconciliations: the account's ledger lines as the engine sees them, and the marks
that say which reconciliation entry holds a line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import Any

from tximport.models import Tenant
from tximport.reconciliation.ids import ledger_day
from tximport.reconciliation.models import Direction, StatementLine
from tximport.services.reconciliations.ports import LineMark
from tximport.storage.ledger import LedgerRepository


def statement_line(item: dict[str, Any]) -> StatementLine:
    """A ledger item as a statement line: direction from the sign, the amount absolute."""
    amount = Decimal(str(item["amount"]))
    return StatementLine(
        transaction_id=item["transactionId"], direction=Direction.CREDIT if amount >= 0 else Direction.DEBIT,
        amount=abs(amount), booking_date=date.fromisoformat(item["datePosted"]),
        description=item.get("description") or "", currency=item.get("currency"),
        bank_transaction_id=item.get("bankTransactionId"), reference=item.get("reference"),
        counterparty=item.get("counterpartyName"))


class LedgerStatement:
    """Reads lines by day (one day-index query, then one query per day with lines) and marks them."""

    def __init__(self, ledger: LedgerRepository, workers: int = 16) -> None:
        self.ledger = ledger
        self.workers = workers

    def lines_between(self, tenant: Tenant, account_id: str, start: date, end: date
                      ) -> Iterator[tuple[StatementLine, dict[str, str] | None]]:
        for item in self.items_between(tenant, account_id, start, end):
            yield statement_line(item), item.get("reconciliation")

    def items_between(self, tenant: Tenant, account_id: str, start: date, end: date) -> Iterator[dict[str, Any]]:
        days = self.ledger.days_between(tenant, account_id, start.isoformat(), end.isoformat())
        for day in days:
            yield from (_plain(i) for i in self.ledger.day_items(tenant, account_id, day))

    def find(self, tenant: Tenant, account_id: str, transaction_id: str
             ) -> tuple[StatementLine, dict | None] | None:
        day = ledger_day(transaction_id)
        if day is None:
            return None
        found = self.ledger.get_lines(tenant, account_id, [(day, transaction_id)])
        return (statement_line(found[0]), found[0].get("reconciliation")) if found else None

    def find_digest(self, tenant: Tenant, account_id: str, digest: str, days: Iterable[date]
                    ) -> tuple[StatementLine, dict | None] | None:
        wanted = [(d.isoformat(), f"{d.isoformat()}-{digest}") for d in days]
        found = self.ledger.get_lines(tenant, account_id, wanted)
        return (statement_line(found[0]), found[0].get("reconciliation")) if found else None

    def mark(self, tenant: Tenant, marks: list[LineMark]) -> list[LineMark]:
        def one(m: LineMark) -> bool:
            return self.ledger.apply(self.ledger.mark_action(
                tenant, m.account_id, m.day, m.transaction_id,
                {"reconciliationId": m.reconciliation_id, "entryId": m.entry_id, "matchStatus": m.status},
                replaces=m.replaces))

        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="mark") as pool:
            done = list(pool.map(one, marks))
        return [m for m, ok in zip(marks, done, strict=True) if not ok]

    def unmark(self, tenant: Tenant, marks: list[LineMark]) -> None:
        def one(m: LineMark) -> bool:
            return self.ledger.apply(self.ledger.unmark_action(tenant, m.account_id, m.day, m.transaction_id,
                                                               m.entry_id))

        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="unmark") as pool:
            list(pool.map(one, marks))


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("pk", "sk")}
