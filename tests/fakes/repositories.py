"""The repositories in memory: `AccountsStore`, `ImportsStore`, `LocksStore`, `SettingsStore` and `LedgerStore`
(with the reconciliation marks on its lines).

Documents go through JSON as they do in DynamoDB (a caller never shares an object with the store), an
import is saved only over the version it was read at, list pages are read before they are filtered
(DynamoDB applies `Limit` first), and every key is scoped by the tenant. Conditional writes are atomic
(one lock per store), so services can be raced in threads against them; `InMemoryImports.before_write`
lets a test run a competitor between a service's read and its conditional write.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tximport.errors import Conflict, NotFound
from tximport.models import (
    IN_FLIGHT_STATUSES,
    BankAccount,
    Decision,
    Import,
    ImportStatus,
    LedgerLine,
    LineMark,
    PollMonitor,
    Tenant,
    TenantSettings,
    Transaction,
    utcnow,
)
from tximport.sessions.balances import ledger_sums
from tximport.sessions.models import TransactionStatus, TypeSums
from tximport.statements.pending import LineKey
from tximport.storage import keys
from tximport.storage.ledger import (
    LineChanged,
    LineRef,
    LinesHeld,
    PartialDelete,
    invoice_month,
    settled_by,
    validating_period,
)
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


def _desc(text: str) -> tuple[int, ...]:
    """A sort key that orders strings from last to first."""
    return tuple(-ord(ch) for ch in text) + (1,)


class InMemoryAccounts:
    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], str] = {}
        self.identifiers: dict[tuple[str, str], str] = {}

    def claim_identifier(self, tenant: Tenant, identifier: str, account_id: str) -> str:
        return self.identifiers.setdefault((keys.tenant_pk(tenant), keys.identifier_sk(identifier)), account_id)

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
        #: decisions by (tenant pk, import id, generation)
        self.decision_items: dict[tuple[str, str, int], dict[str, Decision]] = {}
        self.replays: dict[tuple[str, str, str], str] = {}
        self.polls: dict[tuple[str, str], PollMonitor] = {}
        #: called with the import about to be written (save or put_decision), before the condition is checked
        self.before_write: Callable[[Import], None] | None = None
        self._lock = threading.RLock()

    def poll(self, imp: Import) -> PollMonitor:
        key = (keys.tenant_pk(imp.tenant), imp.id)
        now = utcnow()
        held = self.polls.get(key) or PollMonitor(first_attempt=now)
        self.polls[key] = PollMonitor(first_attempt=held.first_attempt, attempts=held.attempts + 1, last_attempt=now)
        return self.polls[key].model_copy()

    def monitors(self, tenant: Tenant, import_ids: list[str]) -> dict[str, PollMonitor]:
        pk = keys.tenant_pk(tenant)
        return {i: self.polls[(pk, i)].model_copy() for i in import_ids if (pk, i) in self.polls}

    def _hook(self, imp: Import) -> None:
        hook = self.before_write
        if hook is not None:
            self.before_write = None  # once: the competitor's own writes go straight through
            hook(imp)

    def create(self, imp: Import) -> None:
        key = (keys.tenant_pk(imp.tenant), imp.id)
        with self._lock:
            if key in self.docs:
                raise RuntimeError(f"import {imp.id} exists")  # DynamoDB: ConditionalCheckFailed
            self.docs[key] = imp.model_dump_json()

    def get(self, tenant: Tenant, import_id: str) -> Import:
        doc = self.docs.get((keys.tenant_pk(tenant), import_id))
        if doc is None:
            raise NotFound(f"import {import_id} not found", code="ImportNotFound", target="importId")
        return Import.model_validate_json(doc)

    def save(self, imp: Import) -> Import:
        self._hook(imp)
        key = (keys.tenant_pk(imp.tenant), imp.id)
        with self._lock:
            stored = self.docs.get(key)
            if stored is None or Import.model_validate_json(stored).version != imp.version:
                raise Conflict(f"import {imp.id} was changed concurrently", code="ConcurrentUpdate", target="id")
            imp.version += 1
            imp.updated = utcnow()
            self.docs[key] = imp.model_dump_json()
        return imp

    def list_page(self, tenant: Tenant, *, limit: int = 50, cursor: str | None = None,
                  status: ImportStatus | None = None) -> tuple[list[Import], str | None]:
        # with a status, the byStatus index: only that status's imports are paged
        pk = keys.tenant_pk(tenant)
        ids = sorted((i for p, i in list(self.docs) if p == pk and (
            status is None or Import.model_validate_json(self.docs[(p, i)]).status == status)), reverse=True)
        page, nxt = _page(ids, limit, cursor)
        return [self.get(tenant, i) for i in page], nxt

    def put_decision(self, imp: Import, transaction_id: str, decision: Decision) -> None:
        self._hook(imp)
        pk = keys.tenant_pk(imp.tenant)
        with self._lock:
            stored = self.docs.get((pk, imp.id))
            current = Import.model_validate_json(stored) if stored else None
            if (current is None or current.status != ImportStatus.AWAITING_CONFIRMATION
                    or current.generation != imp.generation):
                raise Conflict(f"import {imp.id} no longer awaits confirmation of these lines",
                               code="InvalidImportStatus", target="status")
            self.decision_items.setdefault((pk, imp.id, imp.generation), {})[transaction_id] = decision

    def preset_decisions(self, imp: Import, decisions: dict[str, Decision]) -> None:
        with self._lock:
            self.decision_items.setdefault((keys.tenant_pk(imp.tenant), imp.id, imp.generation), {}).update(decisions)

    def decisions(self, imp: Import) -> dict[str, Decision]:
        with self._lock:
            return dict(self.decision_items.get((keys.tenant_pk(imp.tenant), imp.id, imp.generation), {}))

    def delete_decisions(self, imp: Import, generation: int | None = None) -> None:
        pk = keys.tenant_pk(imp.tenant)
        with self._lock:
            for key in [k for k in self.decision_items if k[:2] == (pk, imp.id)
                        and (generation is None or k[2] == generation)]:
                del self.decision_items[key]

    def replay_of(self, tenant: Tenant, account_id: str, digest: str) -> str | None:
        return self.replays.get((keys.tenant_pk(tenant), account_id, digest))

    def in_flight(self, updated_before: datetime) -> Iterator[Import]:
        for doc in list(self.docs.values()):
            imp = Import.model_validate_json(doc)
            if imp.status in IN_FLIGHT_STATUSES and imp.updated < updated_before:
                yield imp

    def put_replay(self, tenant: Tenant, account_id: str, digest: str, import_id: str,
                   expires_at: int | None) -> None:
        self.replays[(keys.tenant_pk(tenant), account_id, digest)] = import_id

    def delete_replay(self, tenant: Tenant, account_id: str, digest: str, import_id: str) -> None:
        key = (keys.tenant_pk(tenant), account_id, digest)
        with self._lock:
            if self.replays.get(key) == import_id:
                del self.replays[key]


class InMemorySettings:
    def __init__(self) -> None:
        self.docs: dict[str, str] = {}

    def get(self, tenant: Tenant) -> TenantSettings:
        doc = self.docs.get(keys.tenant_pk(tenant))
        return TenantSettings.model_validate_json(doc) if doc else TenantSettings()

    def put(self, tenant: Tenant, settings: TenantSettings) -> None:
        self.docs[keys.tenant_pk(tenant)] = settings.model_dump_json()


class InMemoryLocks:
    def __init__(self) -> None:
        self.holders: dict[tuple[str, str], str] = {}
        #: the end of a lease (epoch seconds), per held account
        self.leases: dict[tuple[str, str], int] = {}
        self.queue: dict[tuple[str, str], Waiter] = {}
        self._lock = threading.RLock()

    def acquire(self, tenant: Tenant, account_id: str, import_id: str, *, until: int | None = None) -> bool:
        key = (keys.tenant_pk(tenant), account_id)
        with self._lock:
            if self.holder(tenant, account_id) not in (None, import_id):
                return False
            self.holders[key] = import_id
            if until is None:
                self.leases.pop(key, None)
            else:
                self.leases[key] = until
            return True

    def release(self, tenant: Tenant, account_id: str, import_id: str) -> bool:
        key = (keys.tenant_pk(tenant), account_id)
        with self._lock:
            if self.holders.get(key) != import_id:
                return False
            del self.holders[key]
            self.leases.pop(key, None)
            return True

    def holder(self, tenant: Tenant, account_id: str) -> str | None:
        key = (keys.tenant_pk(tenant), account_id)
        if key in self.leases and self.leases[key] < int(time.time()):
            return None  # a lease that ran out
        return self.holders.get(key)

    def enqueue(self, tenant: Tenant, account_id: str, created: str, import_id: str, token: str) -> None:
        sk = f"{keys.queue_prefix(account_id)}{created}#{import_id}"
        self.queue[(keys.tenant_pk(tenant), sk)] = Waiter(sk=sk, import_id=import_id, task_token=token)

    def waiting(self, tenant: Tenant, account_id: str) -> list[Waiter]:
        pk, prefix = keys.tenant_pk(tenant), keys.queue_prefix(account_id)
        with self._lock:
            return [w for (p, sk), w in sorted(self.queue.items()) if p == pk and sk.startswith(prefix)]

    def dequeue(self, tenant: Tenant, account_id: str, sk: str) -> bool:
        with self._lock:
            return self.queue.pop((keys.tenant_pk(tenant), sk), None) is not None

    def remove_import(self, tenant: Tenant, account_id: str, import_id: str) -> None:
        for waiter in self.waiting(tenant, account_id):
            if waiter.import_id == import_id:
                self.dequeue(tenant, account_id, waiter.sk)


class InMemoryLedger:
    """Lines by tenant, account and day, with the day index the real ledger keeps. `fail_deletes_after`
    makes a bulk delete fail after that many deletes (a throttled table); `before_delete` runs before each
    line of a bulk delete is looked at (a concurrent writer, in tests)."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str, str, date], dict[str, LedgerLine]] = {}
        self.fail_deletes_after: int | None = None
        self.before_delete: Callable[[Transaction], None] | None = None
        self.reads = 0
        self.references: dict[tuple[str, str, str], LineRef] = {}
        #: the (account, day)s whose balances were recomputed, in order
        self.refreshed: list[tuple[str, date]] = []
        self._lock = threading.RLock()

    def refs(self, tenant: Tenant, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], LineRef]:
        pk = keys.tenant_pk(tenant)
        return {(a, b): self.references[(pk, a, b)] for a, b in wanted if (pk, a, b) in self.references}

    def claim_ref(self, tenant: Tenant, account_id: str, bank_transaction_id: str, ref: LineRef
                  ) -> tuple[LineRef, bool]:
        key = (keys.tenant_pk(tenant), account_id, bank_transaction_id)
        if key in self.references:
            return self.references[key], False
        self.references[key] = ref
        return ref, True

    def lines_at(self, tenant: Tenant, refs: Iterable[LineRef]) -> dict[tuple[str, str], LedgerLine]:
        pk = keys.tenant_pk(tenant)
        found = {}
        for account_id, day, tx in refs:
            line = self.lines.get((pk, account_id, day), {}).get(tx)
            if line is not None:
                found[(account_id, tx)] = copy.deepcopy(line)
        return found

    def replace(self, tenant: Tenant, old: LineRef, line: LedgerLine, bank_transaction_id: str) -> None:
        with self._lock:
            stored = self.lines.get((keys.tenant_pk(tenant), old[0], old[1]), {}).get(old[2])
            moved = old[1] != line.date_posted
            pointed = self.references.get((keys.tenant_pk(tenant), line.bank_account_id, bank_transaction_id))
            if stored is None or stored.reconciliation != line.reconciliation or (moved and line.reconciliation) \
                    or (moved and pointed is not None and pointed[1] != old[1]):
                raise LineChanged(f"line {line.transaction_id} changed while it was replaced")
            self.write(tenant, [line])
            if moved:
                self.lines[(keys.tenant_pk(tenant), old[0], old[1])].pop(old[2], None)
            self.references[(keys.tenant_pk(tenant), line.bank_account_id, bank_transaction_id)] = (
                line.bank_account_id, line.date_posted, line.transaction_id)

    def write(self, tenant: Tenant, lines: Iterable[LedgerLine], *, refresh: bool = True) -> int:
        written = 0
        for line in lines:
            with self._lock:
                day = self.lines.setdefault((keys.tenant_pk(tenant), line.bank_account_id, line.date_posted), {})
                day[line.transaction_id] = copy.deepcopy(line)
            written += 1
            if line.replaces_pending_id:
                replaced = self._find(tenant, line.bank_account_id, line.replaces_pending_id)
                if replaced is not None and replaced.pending and not replaced.replaced_by:
                    replaced.replaced_by = line.transaction_id
            if refresh:
                self.refreshed.append((line.bank_account_id, line.date_posted))
        return written

    def write_staged(self, tenant: Tenant, records: Iterable[Mapping[str, Any]], *, import_id: str,
                     committed: datetime) -> int:
        return self.write(tenant, (replace(LedgerLine.confirmed(decode_row(dict(r)), import_id=import_id,
                                                                committed=committed),
                                           foreign_currency=bool(r.get("foreignCurrency"))) for r in records),
                          refresh=False)

    def write_claimed(self, tenant: Tenant, claimed: Iterable[tuple[LedgerLine, str]]) -> set[str]:
        written: set[str] = set()
        for line, bank_id in claimed:
            with self._lock:
                pointed = self.references.get((keys.tenant_pk(tenant), line.bank_account_id, bank_id))
                day = self.lines.get((keys.tenant_pk(tenant), line.bank_account_id, line.date_posted), {})
                here = (line.bank_account_id, line.date_posted, line.transaction_id)
                if pointed != here or line.transaction_id in day:
                    continue
                self.write(tenant, [line])
            written.add(line.transaction_id)
        return written

    def write_new(self, tenant: Tenant, lines: Iterable[LedgerLine]) -> set[str]:
        written: set[str] = set()
        for line in lines:
            with self._lock:
                day = self.lines.get((keys.tenant_pk(tenant), line.bank_account_id, line.date_posted), {})
                if line.transaction_id in day:
                    continue
                self.write(tenant, [line])
            written.add(line.transaction_id)
        return written

    def refresh_totals(self, tenant: Tenant, days: Iterable[tuple[str, date]], *, workers: int = 1) -> None:
        """Counted only: the fake sums a day's lines when its balance is read (`day_totals`)."""
        self.refreshed.extend(sorted(set(days)))

    def _find(self, tenant: Tenant, account_id: str, transaction_id: str) -> LedgerLine | None:
        pk = keys.tenant_pk(tenant)
        for (p, a, _), day in self.lines.items():
            if p == pk and a == account_id and transaction_id in day:
                return day[transaction_id]
        return None

    def open_pending(self, tenant: Tenant, account_id: str) -> list[LineKey]:
        return [LineKey(x.transaction_id, x.date_posted, x.amount, x.description, x.bank_transaction_id)
                for x in self.all(tenant, account_id) if x.pending and not x.replaced_by]

    def restore_pending(self, tenant: Tenant, booked: Transaction) -> None:
        pending = self._find(tenant, booked.bank_account_id, booked.replaces_pending_id or "")
        if pending is not None and pending.replaced_by == booked.transaction_id:
            pending.replaced_by = None

    def day_lines(self, tenant: Tenant, account_id: str, day: date) -> list[LedgerLine]:
        self.reads += 1
        found = self.lines.get((keys.tenant_pk(tenant), account_id, day), {})
        return [copy.deepcopy(found[i]) for i in sorted(found)]

    def days_lines(self, tenant: Tenant, account_id: str, days: Iterable[date], *, workers: int = 16
                   ) -> dict[date, list[LedgerLine]]:
        return {day: self.day_lines(tenant, account_id, day) for day in sorted(set(days))}

    def days(self, tenant: Tenant, account_id: str, *, newest_first: bool = True,
             start_after: date | None = None) -> Iterator[date]:
        pk = keys.tenant_pk(tenant)
        days = sorted((d for (p, a, d), found in self.lines.items() if p == pk and a == account_id and found),
                      reverse=newest_first)
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

    def tenant_page(self, tenant: Tenant, account_ids: list[str], *, start: date | None = None,
                    end: date | None = None, import_id: str | None = None, limit: int = 100,
                    cursor: str | None = None) -> tuple[list[LedgerLine], str | None]:
        pk = keys.tenant_pk(tenant)
        found = sorted(((day, account, tx) for (p, account, day), lines in self.lines.items()
                        if p == pk and account in account_ids and (start is None or day >= start)
                        and (end is None or day <= end)
                        for tx, line in lines.items() if import_id is None or line.import_id == import_id),
                       key=lambda k: (-k[0].toordinal(), k[1], _desc(k[2])))
        order = [f"{day.isoformat()}|{account}|{tx}" for day, account, tx in found]
        page, nxt = _page(order, limit, cursor)
        out = []
        for ref in page:
            day, account, tx = ref.split("|", 2)
            out.append(copy.deepcopy(self.lines[(pk, account, date.fromisoformat(day))][tx]))
        return out, nxt

    def day_totals(self, tenant: Tenant, account_id: str, after: date | None, until: date | None
                   ) -> list[tuple[date, Decimal]]:
        pk = keys.tenant_pk(tenant)
        return [(d, sum((x.amount for x in lines.values() if _counted(x)), Decimal(0)))
                for (p, a, d), lines in sorted(self.lines.items(), key=lambda kv: kv[0][2])
                if p == pk and a == account_id and any(_counted(x) for x in lines.values())
                and (after is None or d > after)
                and (until is None or d <= until)]

    def sum_later_in_day(self, tenant: Tenant, account_id: str, day: date, transaction_id: str) -> Decimal:
        found = self.lines.get((keys.tenant_pk(tenant), account_id, day), {})
        return sum((x.amount for tx, x in found.items() if tx > transaction_id and _counted(x)), Decimal(0))

    def existing(self, tenant: Tenant, refs: Iterable[LineRef]) -> set[tuple[str, str]]:
        pk = keys.tenant_pk(tenant)
        return {(account_id, tx) for account_id, day, tx in refs if tx in self.lines.get((pk, account_id, day), {})}

    def delete_many_if_from_import(self, tenant: Tenant, lines: Iterable[Transaction], import_id: str, *,
                                   workers: int = 16, stop: Callable[[], bool] | None = None,
                                   released: frozenset[str] = frozenset(),
                                   touched: set[tuple[str, date]] | None = None) -> tuple[int, bool]:
        removed = 0
        holders: dict[str, int] = {}
        for line in lines:
            if stop is not None and stop():
                return removed, False
            if touched is not None:
                touched.add((line.bank_account_id, line.date_posted))
            if self.fail_deletes_after is not None and removed >= self.fail_deletes_after:
                raise PartialDelete(removed, ConnectionError("the table stopped answering"))
            if self.before_delete is not None:
                self.before_delete(line)
            day = self.lines.get((keys.tenant_pk(tenant), line.bank_account_id, line.date_posted), {})
            held = day.get(line.transaction_id)
            if held is None or held.import_id != import_id:
                continue
            mark = held.reconciliation
            if mark is not None and mark.reconciliation_id not in released:
                holders[mark.reconciliation_id] = holders.get(mark.reconciliation_id, 0) + 1
                continue
            del day[line.transaction_id]
            removed += 1
        if holders:
            raise LinesHeld(removed, holders)
        return removed, True

    def lines_between(self, tenant: Tenant, account_id: str, start: date | None, end: date) -> Iterator[LedgerLine]:
        return iter([line for line in self.all(tenant, account_id)
                     if (start is None or start <= line.date_posted) and line.date_posted <= end])

    def invoice_sums(self, tenant: Tenant, card_id: str, billing_month: str) -> TypeSums:
        return ledger_sums(self.invoice_lines(tenant, card_id, billing_month))

    def invoice_lines(self, tenant: Tenant, card_id: str, billing_month: str) -> list[LedgerLine]:
        return sorted((line for line in self.all(tenant, card_id) if invoice_month(line) == billing_month),
                      key=lambda line: line.date_posted)

    def mark_paid(self, tenant: Tenant, account_id: str, low: str, high: str) -> int:
        changed = 0
        for (pk, _, _), day in self.lines.items():
            if pk != keys.tenant_pk(tenant):
                continue
            for line in day.values():
                period = validating_period(line)
                if (line.session is not None and period is not None and settled_by(line) == account_id
                        and low <= period <= high):
                    line.session.status = TransactionStatus.PAID
                    changed += line.bank_account_id == account_id
        return changed

    def link(self, tenant: Tenant, line: LedgerLine, by: str) -> bool:
        with self._lock:
            stored = self._find(tenant, line.bank_account_id, line.transaction_id)
            if stored is None or stored.linked_by not in (None, by):
                return False
            stored.linked_by = by
            return True

    def retype(self, tenant: Tenant, before: LedgerLine, after: LedgerLine) -> None:
        self.write(tenant, [after], refresh=False)

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


def _counted(line: LedgerLine) -> bool:
    """Whether a line counts in a balance: not pending, not committed IGNORE, not in another currency than its
    account's (as the ledger's `BAL#` items)."""
    return not line.pending and not line.foreign_currency and not (
        line.session is not None and line.session.status == TransactionStatus.IGNORE)
