"""In-memory fakes of the reconciliation ports, with the same conditions the DynamoDB implementations
enforce (versions, day claims, ledger marks), so the services are tested in milliseconds without sockets."""

from __future__ import annotations

import copy
import gzip
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tximport.adapters.reconciliation import S3ResultObjects
from tximport.models import BankAccount, Tenant
from tximport.reconciliation.errors import Clash
from tximport.reconciliation.models import Override, Reconciliation, StatementLine
from tximport.reconciliation.records import EntryRecord
from tximport.services.reconciliations.ports import LineMark


class FakeS3:
    """put/get/list/delete of objects in a dict (enough for S3ResultObjects)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.reads: list[str] = []

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> None:  # noqa: N803
        self.objects[Key] = Body

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        self.reads.append(Key)
        return {"Body": io.BytesIO(self.objects[Key])}

    def get_paginator(self, _name: str) -> Any:
        fake = self

        class _Pages:
            def paginate(self, *, Bucket: str, Prefix: str) -> Iterator[dict[str, Any]]:  # noqa: N803
                yield {"Contents": [{"Key": k} for k in sorted(fake.objects) if k.startswith(Prefix)]}

        return _Pages()

    def delete_objects(self, *, Bucket: str, Delete: dict[str, Any]) -> None:  # noqa: N803
        for obj in Delete["Objects"]:
            self.objects.pop(obj["Key"], None)

    def lines(self, key: str) -> list[bytes]:
        return gzip.decompress(self.objects[key]).splitlines()


def fake_objects() -> tuple[S3ResultObjects, FakeS3]:
    s3 = FakeS3()
    return S3ResultObjects(s3, "bucket"), s3


@dataclass
class FakeAccounts:
    accounts: dict[tuple[str, str], BankAccount] = field(default_factory=dict)

    def add(self, tenant: Tenant, account: BankAccount) -> None:
        self.accounts[(tenant.key, account.id)] = account

    def find(self, tenant: Tenant, account_id: str) -> BankAccount | None:
        return self.accounts.get((tenant.key, account_id))


class FakeLedger:
    """Lines per (tenant, account) with their marks."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str, str, str], StatementLine] = {}
        self.marks: dict[tuple[str, str, str], dict[str, str]] = {}
        self.days_read: list[tuple[date, date]] = []

    def add(self, tenant: Tenant, account_id: str, *lines: StatementLine) -> None:
        for line in lines:
            self.lines[(tenant.key, account_id, line.transaction_id)] = line

    def lines_between(self, tenant: Tenant, account_id: str, start: date, end: date
                      ) -> Iterator[tuple[StatementLine, dict[str, str] | None]]:
        self.days_read.append((start, end))
        for (t, a, tx), line in sorted(self.lines.items()):
            if t == tenant.key and a == account_id and start <= line.booking_date <= end:
                yield line, self.marks.get((t, a, tx))

    def find(self, tenant: Tenant, account_id: str, transaction_id: str) -> tuple[StatementLine, dict | None] | None:
        key = (tenant.key, account_id, transaction_id)
        return (self.lines[key], self.marks.get(key)) if key in self.lines else None

    def find_digest(self, tenant: Tenant, account_id: str, digest: str, days: Iterable[date]
                    ) -> tuple[StatementLine, dict | None] | None:
        for day in days:
            found = self.find(tenant, account_id, f"{day.isoformat()}-{digest}")
            if found:
                return found
        return None

    def can_mark(self, tenant: Tenant, m: LineMark) -> bool:
        key = (tenant.key, m.account_id, m.transaction_id)
        held = self.marks.get(key)
        return key in self.lines and (held is None or held["entryId"] == m.entry_id
                                      or (m.replaces is not None and held["reconciliationId"] == m.replaces))

    def do_mark(self, tenant: Tenant, m: LineMark) -> None:
        self.marks[(tenant.key, m.account_id, m.transaction_id)] = {
            "reconciliationId": m.reconciliation_id, "entryId": m.entry_id, "matchStatus": m.status}

    def can_unmark(self, tenant: Tenant, m: LineMark) -> bool:
        held = self.marks.get((tenant.key, m.account_id, m.transaction_id))
        return held is not None and held["entryId"] == m.entry_id

    def mark(self, tenant: Tenant, marks: list[LineMark]) -> list[LineMark]:
        refused = []
        for m in marks:
            if self.can_mark(tenant, m):
                self.do_mark(tenant, m)
            else:
                refused.append(m)
        return refused

    def unmark(self, tenant: Tenant, marks: list[LineMark]) -> None:
        for m in marks:
            if self.can_unmark(tenant, m):
                del self.marks[(tenant.key, m.account_id, m.transaction_id)]


class FakeReconciliations:
    def __init__(self, ledger: FakeLedger) -> None:
        self.ledger = ledger
        self.items: dict[tuple[str, str], Reconciliation] = {}
        self.days: dict[tuple[str, str, str], str] = {}
        self.overrides_: dict[tuple[str, str, int], tuple[Override, EntryRecord]] = {}

    @staticmethod
    def _period(rec: Reconciliation) -> list[str]:
        return [(rec.period_start + timedelta(days=k)).isoformat()
                for k in range((rec.period_end - rec.period_start).days + 1)]

    def create(self, rec: Reconciliation) -> None:
        for day in self._period(rec):
            holder = self.days.get((rec.tenant.key, rec.account_id, day))
            if holder:
                raise Clash(f"reconciliation {holder} already covers {day}",
                            details={"conflictingReconciliationId": holder})
        for day in self._period(rec):
            self.days[(rec.tenant.key, rec.account_id, day)] = rec.id
        self.items[(rec.tenant.key, rec.id)] = copy.deepcopy(rec)

    def get(self, tenant: Tenant, reconciliation_id: str) -> Reconciliation | None:
        found = self.items.get((tenant.key, reconciliation_id))
        return copy.deepcopy(found) if found else None

    def _check_version(self, rec: Reconciliation) -> None:
        stored = self.items[(rec.tenant.key, rec.id)]
        if stored.version != rec.version:
            raise Clash("changed concurrently", details={"field": "version"})

    def save(self, rec: Reconciliation) -> Reconciliation:
        self._check_version(rec)
        rec.version += 1
        self.items[(rec.tenant.key, rec.id)] = copy.deepcopy(rec)
        return rec

    def list_all(self, tenant: Tenant) -> list[Reconciliation]:
        return [copy.deepcopy(r) for (t, _), r in sorted(self.items.items(), key=lambda kv: kv[0][1], reverse=True)
                if t == tenant.key]

    def release_days(self, rec: Reconciliation) -> None:
        for day in self._period(rec):
            if self.days.get((rec.tenant.key, rec.account_id, day)) == rec.id:
                del self.days[(rec.tenant.key, rec.account_id, day)]

    def overrides(self, rec: Reconciliation) -> dict[int, tuple[Override, EntryRecord]]:
        return {i: copy.deepcopy(v) for (t, r, i), v in self.overrides_.items() if (t, r) == (rec.tenant.key, rec.id)}

    def override(self, rec: Reconciliation, index: int) -> tuple[Override, EntryRecord] | None:
        found = self.overrides_.get((rec.tenant.key, rec.id, index))
        return copy.deepcopy(found) if found else None

    def put_overrides(self, rec: Reconciliation, overrides: list[tuple[Override, EntryRecord]]) -> None:
        for o, r in overrides:
            self.overrides_[(rec.tenant.key, rec.id, o.index)] = (o, r)

    def apply_manual(self, rec: Reconciliation, override: Override, record: EntryRecord, *,
                     mark: LineMark | None, unmark: LineMark | None) -> Reconciliation:
        self._check_version(rec)
        if mark and not self.ledger.can_mark(rec.tenant, mark):
            raise Clash("the ledger line is already matched to another entry", details={"field": "matchedStatementId"})
        if unmark and not self.ledger.can_unmark(rec.tenant, unmark):
            raise Clash("the previous line is held by another entry", details={"field": "matchedStatementId"})
        if mark:
            self.ledger.do_mark(rec.tenant, mark)
        if unmark:
            self.ledger.unmark(rec.tenant, [unmark])
        self.overrides_[(rec.tenant.key, rec.id, override.index)] = (override, record)
        return self.save(rec)


class FakeExecutions:
    def __init__(self, fail: bool = False) -> None:
        self.started: list[tuple[str, int]] = []
        self.fail = fail

    def start(self, rec: Reconciliation, run: int) -> str:
        if self.fail:
            raise RuntimeError("StateMachineDoesNotExist")
        self.started.append((rec.id, run))
        return f"arn:aws:states:us-east-1:1:execution:reconcile:{rec.id}-run{run}"
