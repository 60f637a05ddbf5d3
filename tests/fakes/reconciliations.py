"""The reconciliations repository in memory: `ReconciliationsStore` with the conditions the DynamoDB one
enforces (versions, day claims, one transaction for a manual change and its ledger marks)."""

from __future__ import annotations

from datetime import timedelta

from tests.fakes.repositories import InMemoryLedger
from tximport.models import LineMark, Tenant
from tximport.reconciliation.errors import Clash
from tximport.reconciliation.models import Override, Reconciliation
from tximport.reconciliation.records import EntryRecord
from tximport.storage import keys


def _period(rec: Reconciliation) -> list[str]:
    return [(rec.period_start + timedelta(days=k)).isoformat()
            for k in range((rec.period_end - rec.period_start).days + 1)]


class InMemoryReconciliations:
    """Documents go through JSON as they do in DynamoDB; the manual changes mark lines of `ledger`."""

    def __init__(self, ledger: InMemoryLedger) -> None:
        self.ledger = ledger
        self.docs: dict[tuple[str, str], str] = {}
        self.days: dict[tuple[str, str, str], str] = {}
        self.decisions: dict[tuple[str, str, int], tuple[str, str]] = {}

    def create(self, rec: Reconciliation) -> None:
        pk = keys.tenant_pk(rec.tenant)
        for day in _period(rec):
            holder = self.days.get((pk, rec.account_id, day))
            if holder:
                raise Clash(f"reconciliation {holder} already covers {day}, a day of this period, on account "
                            f"{rec.account_id}",
                            details={"field": "periodStart", "conflictingReconciliationId": holder})
        for day in _period(rec):
            self.days[(pk, rec.account_id, day)] = rec.id
        self.docs[(pk, rec.id)] = rec.model_dump_json()

    def get(self, tenant: Tenant, reconciliation_id: str) -> Reconciliation | None:
        doc = self.docs.get((keys.tenant_pk(tenant), reconciliation_id))
        return Reconciliation.model_validate_json(doc) if doc else None

    def _check_version(self, rec: Reconciliation) -> None:
        stored = self.get(rec.tenant, rec.id)
        if stored is None or stored.version != rec.version:
            raise Clash(f"reconciliation {rec.id} was changed concurrently; read it again",
                        details={"field": "version"})

    def save(self, rec: Reconciliation) -> Reconciliation:
        self._check_version(rec)
        rec.version += 1
        self.docs[(keys.tenant_pk(rec.tenant), rec.id)] = rec.model_dump_json()
        return rec

    def list_all(self, tenant: Tenant) -> list[Reconciliation]:
        pk = keys.tenant_pk(tenant)
        return [Reconciliation.model_validate_json(doc)
                for (p, _), doc in sorted(self.docs.items(), reverse=True) if p == pk]

    def release_days(self, rec: Reconciliation) -> None:
        pk = keys.tenant_pk(rec.tenant)
        for day in _period(rec):
            if self.days.get((pk, rec.account_id, day)) == rec.id:
                del self.days[(pk, rec.account_id, day)]

    def delete(self, rec: Reconciliation) -> None:
        self._check_version(rec)
        pk = keys.tenant_pk(rec.tenant)
        for key in [k for k in self.decisions if k[:2] == (pk, rec.id)]:
            del self.decisions[key]
        del self.docs[(pk, rec.id)]

    def overrides(self, rec: Reconciliation) -> dict[int, tuple[Override, EntryRecord]]:
        pk = keys.tenant_pk(rec.tenant)
        return {i: self._parse(v) for (p, r, i), v in sorted(self.decisions.items()) if (p, r) == (pk, rec.id)}

    def override(self, rec: Reconciliation, index: int) -> tuple[Override, EntryRecord] | None:
        found = self.decisions.get((keys.tenant_pk(rec.tenant), rec.id, index))
        return self._parse(found) if found else None

    @staticmethod
    def _parse(stored: tuple[str, str]) -> tuple[Override, EntryRecord]:
        return Override.model_validate_json(stored[0]), EntryRecord.model_validate_json(stored[1])

    def put_overrides(self, rec: Reconciliation, overrides: list[tuple[Override, EntryRecord]]) -> None:
        for override, record in overrides:
            self.decisions[(keys.tenant_pk(rec.tenant), rec.id, override.index)] = (
                override.model_dump_json(), record.model_dump_json(by_alias=True))

    def apply_manual(self, rec: Reconciliation, override: Override, record: EntryRecord, *,
                     mark: LineMark | None, unmark: LineMark | None) -> Reconciliation:
        # every condition first, then every write: all or nothing, as a DynamoDB transaction
        self._check_version(rec)
        if mark and not self.ledger.can_mark(rec.tenant, mark):
            raise Clash("the ledger line is already matched to another entry (or is gone)",
                        details={"field": "matchedStatementId"})
        if unmark and not self.ledger.can_unmark(rec.tenant, unmark):
            raise Clash("the entry's previous line is held by another entry", details={"field": "matchedStatementId"})
        if mark:
            self.ledger.mark(rec.tenant, [mark])
        if unmark:
            self.ledger.unmark(rec.tenant, [unmark])
        self.put_overrides(rec, [(override, record)])
        return self.save(rec)
