"""The repositories in memory: `AccountsStore`, `ImportsStore`, `LocksStore` and `LedgerStore` (with the
reconciliation marks on its lines).

Documents go through JSON as they do in DynamoDB (a caller never shares an object with the store), an
import is saved only over the version it was read at, list pages are read before they are filtered
(DynamoDB applies `Limit` first), and every key is scoped by the tenant.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from tximport.errors import Conflict, NotFound
from tximport.models import (
    BankAccount,
    Decision,
    Import,
    ImportStatus,
    LedgerLine,
    LineMark,
    Tenant,
    Transaction,
    utcnow,
)
from tximport.sessions.balances import ledger_sums
from tximport.sessions.models import TransactionStatus, TypeSums
from tximport.storage import keys
from tximport.storage.ledger import LineRef, PartialDelete, invoice_month, validating_period
from tximport.storage.pagination import decode_cursor, encode_cursor
from tximport.storage.repository import Waiter
from tximport.storage.staging import decode_row


def _page(ids: list[str], limit: int, cursor: str | None) -> tuple[list[str], str | None]:
    """`limit` ids after the cursor's, and the cursor of the next page (None at the end)."""
    start = decode_cursor(cursor) or {}
    if "after" in start:
        ids = ids[ids.index(start["after"]) + 1:] if start["after"] in ids else []
    page = ids[:limit]
    return page, encode_cursor({"after": page[-1]}) if len(ids) > limit else None


class InMemoryAccounts:
    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], str] = {}

    def put(self, tenant: Tenant, account: BankAccount) -> None:
        key = (keys.tenant_pk(tenant), account.id)
        if key in self.docs:
            raise RuntimeError(f"bank account {account.id} exists")  # DynamoDB: ConditionalCheckFailed
        self.docs[key] = account.model_dump_json()

    def get(self, tenant: Tenant, account_id: str) -> BankAccount:
        doc = self.docs.get((keys.tenant_pk(tenant), account_id))
        if doc is None:
            raise NotFound(f"bank account {account_id} not found", code="BankAccountNotFound",
                           target="bankAccountId")
        return BankAccount.model_validate_json(doc)

    def list_page(self, tenant: Tenant, *, limit: int = 100, cursor: str | None = None
                  ) -> tuple[list[BankAccount], str | None]:
        pk = keys.tenant_pk(tenant)
        ids, nxt = _page(sorted(i for p, i in self.docs if p == pk), limit, cursor)
        return [self.get(tenant, i) for i in ids], nxt


class InMemoryImports:
    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], str] = {}
        self.decision_items: dict[tuple[str, str], dict[str, Decision]] = {}
        self.replays: dict[tuple[str, str, str], str] = {}

    def create(self, imp: Import) -> None:
        key = (keys.tenant_pk(imp.tenant), imp.id)
        if key in self.docs:
            raise RuntimeError(f"import {imp.id} exists")  # DynamoDB: ConditionalCheckFailed
        self.docs[key] = imp.model_dump_json()

    def get(self, tenant: Tenant, import_id: str) -> Import:
        doc = self.docs.get((keys.tenant_pk(tenant), import_id))
        if doc is None:
            raise NotFound(f"import {import_id} not found", code="ImportNotFound", target="importId")
        return Import.model_validate_json(doc)

    def save(self, imp: Import) -> Import:
        key = (keys.tenant_pk(imp.tenant), imp.id)
        stored = self.docs.get(key)
        if stored is None or Import.model_validate_json(stored).version != imp.version:
            raise Conflict(f"import {imp.id} was changed concurrently", code="ConcurrentUpdate")
        imp.version += 1
        imp.updated = utcnow()
        self.docs[key] = imp.model_dump_json()
        return imp

    def list_page(self, tenant: Tenant, *, limit: int = 50, cursor: str | None = None,
                  status: ImportStatus | None = None) -> tuple[list[Import], str | None]:
        pk = keys.tenant_pk(tenant)
        ids, nxt = _page(sorted((i for p, i in self.docs if p == pk), reverse=True), limit, cursor)
        imports = [self.get(tenant, i) for i in ids]
        return [i for i in imports if status is None or i.status == status], nxt

    def put_decision(self, imp: Import, transaction_id: str, decision: Decision) -> None:
        self.decision_items.setdefault((keys.tenant_pk(imp.tenant), imp.id), {})[transaction_id] = decision

    def decisions(self, imp: Import) -> dict[str, Decision]:
        return dict(self.decision_items.get((keys.tenant_pk(imp.tenant), imp.id), {}))

    def delete_decisions(self, imp: Import) -> None:
        self.decision_items.pop((keys.tenant_pk(imp.tenant), imp.id), None)

    def replay_of(self, tenant: Tenant, account_id: str, digest: str) -> str | None:
        return self.replays.get((keys.tenant_pk(tenant), account_id, digest))

    def put_replay(self, tenant: Tenant, account_id: str, digest: str, import_id: str,
                   expires_at: int | None) -> None:
        self.replays[(keys.tenant_pk(tenant), account_id, digest)] = import_id

    def delete_replay(self, tenant: Tenant, account_id: str, digest: str, import_id: str) -> None:
        key = (keys.tenant_pk(tenant), account_id, digest)
        if self.replays.get(key) == import_id:
            del self.replays[key]


class InMemoryLocks:
    def __init__(self) -> None:
        self.holders: dict[tuple[str, str], str] = {}
        self.queue: dict[tuple[str, str], Waiter] = {}

    def acquire(self, tenant: Tenant, account_id: str, import_id: str) -> bool:
        key = (keys.tenant_pk(tenant), account_id)
        if self.holders.get(key, import_id) != import_id:
            return False
        self.holders[key] = import_id
        return True

    def release(self, tenant: Tenant, account_id: str, import_id: str) -> bool:
        key = (keys.tenant_pk(tenant), account_id)
        if self.holders.get(key) != import_id:
            return False
        del self.holders[key]
        return True

    def holder(self, tenant: Tenant, account_id: str) -> str | None:
        return self.holders.get((keys.tenant_pk(tenant), account_id))

    def enqueue(self, tenant: Tenant, account_id: str, created: str, import_id: str, token: str) -> None:
        sk = f"{keys.queue_prefix(account_id)}{created}#{import_id}"
        self.queue[(keys.tenant_pk(tenant), sk)] = Waiter(sk=sk, import_id=import_id, task_token=token)

    def waiting(self, tenant: Tenant, account_id: str) -> list[Waiter]:
        pk, prefix = keys.tenant_pk(tenant), keys.queue_prefix(account_id)
        return [w for (p, sk), w in sorted(self.queue.items()) if p == pk and sk.startswith(prefix)]

    def dequeue(self, tenant: Tenant, account_id: str, sk: str) -> bool:
        return self.queue.pop((keys.tenant_pk(tenant), sk), None) is not None

    def remove_import(self, tenant: Tenant, account_id: str, import_id: str) -> None:
        for waiter in self.waiting(tenant, account_id):
            if waiter.import_id == import_id:
                self.dequeue(tenant, account_id, waiter.sk)


class InMemoryLedger:
    """Lines by tenant, account and day, with the day index the real ledger keeps. `fail_deletes_after`
    makes a bulk delete fail after that many deletes (a throttled table)."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str, str, date], dict[str, LedgerLine]] = {}
        self.fail_deletes_after: int | None = None
        self.reads = 0

    def write(self, tenant: Tenant, lines: Iterable[LedgerLine]) -> int:
        written = 0
        for line in lines:
            day = self.lines.setdefault((keys.tenant_pk(tenant), line.bank_account_id, line.date_posted), {})
            day[line.transaction_id] = copy.deepcopy(line)
            written += 1
        return written

    def write_staged(self, tenant: Tenant, records: Iterable[Mapping[str, Any]], *, import_id: str,
                     committed: datetime) -> int:
        return self.write(tenant, (LedgerLine.confirmed(decode_row(dict(r)), import_id=import_id, committed=committed)
                                   for r in records))

    def day_lines(self, tenant: Tenant, account_id: str, day: date) -> list[LedgerLine]:
        self.reads += 1
        found = self.lines.get((keys.tenant_pk(tenant), account_id, day), {})
        return [copy.deepcopy(found[i]) for i in sorted(found)]

    def days(self, tenant: Tenant, account_id: str, *, newest_first: bool = True,
             start_after: date | None = None) -> Iterator[date]:
        pk = keys.tenant_pk(tenant)
        days = sorted((d for p, a, d in self.lines if p == pk and a == account_id), reverse=newest_first)
        if start_after is not None:
            days = [d for d in days if (d < start_after if newest_first else d > start_after)]
        return iter(days)

    def list_page(self, tenant: Tenant, account_id: str, *, limit: int = 100, cursor: str | None = None
                  ) -> tuple[list[LedgerLine], str | None]:
        order = [f"{day.isoformat()}|{tx}" for day in self.days(tenant, account_id)
                 for tx in sorted(self.lines[(keys.tenant_pk(tenant), account_id, day)], reverse=True)]
        refs, nxt = _page(order, limit, cursor)
        out = []
        for ref in refs:
            day, tx = ref.split("|", 1)
            out.append(copy.deepcopy(self.lines[(keys.tenant_pk(tenant), account_id, date.fromisoformat(day))][tx]))
        return out, nxt

    def existing(self, tenant: Tenant, refs: Iterable[LineRef]) -> set[tuple[str, str]]:
        pk = keys.tenant_pk(tenant)
        return {(account_id, tx) for account_id, day, tx in refs if tx in self.lines.get((pk, account_id, day), {})}

    def delete_many_if_from_import(self, tenant: Tenant, lines: Iterable[Transaction], import_id: str, *,
                                   workers: int = 16, stop: Callable[[], bool] | None = None) -> tuple[int, bool]:
        removed = 0
        for line in lines:
            if stop is not None and stop():
                return removed, False
            if self.fail_deletes_after is not None and removed >= self.fail_deletes_after:
                raise PartialDelete(removed, ConnectionError("the table stopped answering"))
            day = self.lines.get((keys.tenant_pk(tenant), line.bank_account_id, line.date_posted), {})
            held = day.get(line.transaction_id)
            if held is not None and held.import_id == import_id:
                del day[line.transaction_id]
                removed += 1
        return removed, True

    def lines_between(self, tenant: Tenant, account_id: str, start: date | None, end: date) -> Iterator[LedgerLine]:
        return iter([line for line in self.all(tenant, account_id)
                     if (start is None or start <= line.date_posted) and line.date_posted <= end])

    def sum_between(self, tenant: Tenant, account_id: str, start: date | None, end: date) -> TypeSums:
        return ledger_sums(self.lines_between(tenant, account_id, start, end))

    def invoice_sums(self, tenant: Tenant, card_id: str, billing_month: str) -> TypeSums:
        return ledger_sums(line for line in self.all(tenant, card_id) if invoice_month(line) == billing_month)

    def mark_paid(self, tenant: Tenant, account_id: str, low: str, high: str) -> int:
        changed = 0
        for (pk, account, _), day in self.lines.items():
            if pk != keys.tenant_pk(tenant) or account != account_id:
                continue
            for line in day.values():
                period = validating_period(line)
                if line.session is not None and period is not None and low <= period <= high:
                    line.session.status = TransactionStatus.PAID
                    changed += 1
        return changed

    def get_lines(self, tenant: Tenant, refs: Iterable[LineRef]) -> list[LedgerLine]:
        pk = keys.tenant_pk(tenant)
        found = (self.lines.get((pk, account_id, day), {}).get(tx) for account_id, day, tx in refs)
        return [copy.deepcopy(line) for line in found if line is not None]

    def _held(self, tenant: Tenant, m: LineMark) -> LedgerLine | None:
        day = self.lines.get((keys.tenant_pk(tenant), m.account_id, date.fromisoformat(m.day)), {})
        return day.get(m.transaction_id)

    def can_mark(self, tenant: Tenant, m: LineMark) -> bool:
        """The condition of the real mark: the line exists and no other entry holds it."""
        line = self._held(tenant, m)
        held = line.reconciliation if line else None
        return line is not None and (held is None or held.entry_id == m.entry_id
                                     or (m.replaces is not None and held.reconciliation_id == m.replaces))

    def can_unmark(self, tenant: Tenant, m: LineMark) -> bool:
        line = self._held(tenant, m)
        return line is not None and line.reconciliation is not None and line.reconciliation.entry_id == m.entry_id

    def mark(self, tenant: Tenant, marks: list[LineMark], *, workers: int = 16) -> list[LineMark]:
        refused = []
        for m in marks:
            line = self._held(tenant, m)
            if line is not None and self.can_mark(tenant, m):
                line.reconciliation = m.mark
            else:
                refused.append(m)
        return refused

    def unmark(self, tenant: Tenant, marks: list[LineMark], *, workers: int = 16) -> None:
        for m in marks:
            line = self._held(tenant, m)
            if line is not None and self.can_unmark(tenant, m):
                line.reconciliation = None

    def all(self, tenant: Tenant, account_id: str) -> list[LedgerLine]:
        """Every line of an account (oldest day first), for assertions."""
        return [line for day in self.days(tenant, account_id, newest_first=False)
                for line in self.day_lines(tenant, account_id, day)]
