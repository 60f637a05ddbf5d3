"""DynamoDB repository of reconciliations, in the imports table (every key under the tenant's partition; the
layout is in tximport/storage/keys.py):

  RECON#<reconciliationId>                  the reconciliation (doc JSON, status, version)
  RECONDAY#<accountId>#<yyyy-mm-dd>         a day of an account's period claimed by a reconciliation: two
                                            reconciliations overlap when they claim the same day, so the
                                            claims (written in one transaction with the reconciliation) are
                                            the 409 guard; a FAILED reconciliation gives its days back
  RECONOVR#<reconciliationId>#<index:08d>   a manual decision on one entry (override + the entry's record)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from tximport.models import LineMark, Tenant, utcnow
from tximport.reconciliation.errors import Clash
from tximport.reconciliation.models import Override, Reconciliation
from tximport.reconciliation.records import EntryRecord
from tximport.storage import keys
from tximport.storage.batch import failed_actions
from tximport.storage.ledger import LedgerRepository

_ser, _de = TypeSerializer(), TypeDeserializer()


def _item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in values.items()}


class ReconciliationsStore(Protocol):
    """Reconciliation items, the days they claim on an account, and manual overrides (`DynamoReconciliations`
    on DynamoDB; an in-memory fake in tests/fakes)."""

    def create(self, rec: Reconciliation) -> None:
        """Save a new reconciliation and claim each day of its period on the account, atomically; raises
        `Clash` naming the reconciliation that already holds a day."""
        ...

    def get(self, tenant: Tenant, reconciliation_id: str) -> Reconciliation | None:
        """One of the tenant's reconciliations, or None."""
        ...

    def save(self, rec: Reconciliation) -> Reconciliation:
        """Write if unchanged since read (version); raises `Clash` otherwise."""
        ...

    def list_all(self, tenant: Tenant) -> list[Reconciliation]:
        """Every reconciliation of a tenant, newest first."""
        ...

    def release_days(self, rec: Reconciliation) -> None:
        """Give the period's days back (a FAILED reconciliation blocks nothing)."""
        ...

    def delete(self, rec: Reconciliation) -> None:
        """Remove the reconciliation if it is unchanged since read (version), then its overrides; raises `Clash`
        (and removes nothing) otherwise, or when it is gone. Its day claims are released apart (`release_days`)."""
        ...

    def overrides(self, rec: Reconciliation) -> dict[int, tuple[Override, EntryRecord]]:
        """Every manual decision of a reconciliation, by entry index."""
        ...

    def override(self, rec: Reconciliation, index: int) -> tuple[Override, EntryRecord] | None:
        """The manual decision on one entry, if any."""
        ...

    def apply_manual(self, rec: Reconciliation, override: Override, record: EntryRecord, *,
                     mark: LineMark | None, unmark: LineMark | None) -> Reconciliation:
        """In one transaction: save `rec` (version checked), put the override, mark one ledger line (only if
        no other entry holds it) and unmark another (only if this entry holds it). Raises `Clash`."""
        ...

    def put_overrides(self, rec: Reconciliation, overrides: list[tuple[Override, EntryRecord]]) -> None:
        """Rewrite overrides (a run rebases them on its own results); no version check: a run holds the
        reconciliation in PROCESSING, when manual changes are refused."""
        ...


class DynamoReconciliations:
    """`ReconciliationsStore` on the imports table; manual changes in one transaction with the ledger."""

    def __init__(self, table: Any, client: Any, ledger: LedgerRepository) -> None:
        self.table, self.client, self.ledger = table, client, ledger
        self.table_name = table.name

    def _recon_item(self, rec: Reconciliation) -> dict[str, Any]:
        return {"pk": keys.tenant_pk(rec.tenant), "sk": keys.reconciliation_sk(rec.id), "doc": rec.model_dump_json(),
                "status": rec.status.value, "version": rec.version, "accountId": rec.account_id}

    def _days(self, rec: Reconciliation) -> list[str]:
        count = (rec.period_end - rec.period_start).days + 1
        return [(rec.period_start + timedelta(days=k)).isoformat() for k in range(count)]

    def create(self, rec: Reconciliation) -> None:
        pk = keys.tenant_pk(rec.tenant)
        actions: list[dict[str, Any]] = [{"Put": {"TableName": self.table_name, "Item": _item(self._recon_item(rec)),
                                                  "ConditionExpression": "attribute_not_exists(pk)"}}]
        days = self._days(rec)
        for day in days:
            actions.append({"Put": {"TableName": self.table_name, "ConditionExpression": "attribute_not_exists(pk)",
                                    "Item": _item({"pk": pk, "sk": keys.reconciliation_day_sk(rec.account_id, day),
                                                   "reconciliationId": rec.id})}})
        try:
            self.client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            failed = failed_actions(exc)
            if failed is None:
                raise
            held = [days[i - 1] for i in failed if i >= 1]
            holder = self._holder(rec.tenant, rec.account_id, held[0]) if held else None
            covered = f"{held[0]}, a day of this period," if held else "part of this period"
            raise Clash(f"reconciliation {holder} already covers {covered} on account {rec.account_id}",
                        details={"field": "periodStart", "conflictingReconciliationId": holder}) from None

    def _holder(self, tenant: Tenant, account_id: str, day: str) -> str | None:
        key = {"pk": keys.tenant_pk(tenant), "sk": keys.reconciliation_day_sk(account_id, day)}
        item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return item.get("reconciliationId") if item else None

    @staticmethod
    def from_item(item: dict[str, Any]) -> Reconciliation:
        """The reconciliation an item holds (also what a stream record's images hold)."""
        return Reconciliation.model_validate_json(item["doc"])

    def get(self, tenant: Tenant, reconciliation_id: str) -> Reconciliation | None:
        item = self.table.get_item(Key={"pk": keys.tenant_pk(tenant), "sk": keys.reconciliation_sk(reconciliation_id)},
                                   ConsistentRead=True).get("Item")
        return self.from_item(item) if item else None

    def _save_action(self, rec: Reconciliation) -> dict[str, Any]:
        expected = rec.version
        rec.version += 1
        rec.updated = utcnow()
        return {"Put": {"TableName": self.table_name, "Item": _item(self._recon_item(rec)),
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {":v": {"N": str(expected)}}}}

    def save(self, rec: Reconciliation) -> Reconciliation:
        action = self._save_action(rec)["Put"]
        try:
            self.client.put_item(**action)
        except ClientError as exc:
            rec.version -= 1
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise Clash(f"reconciliation {rec.id} was changed concurrently; read it again",
                            details={"field": "version"}) from None
            raise
        return rec

    def list_all(self, tenant: Tenant) -> list[Reconciliation]:
        return [self.from_item(i) for i in self._query(tenant, keys.reconciliation_sk(""), newest=True)]

    def _query(self, tenant: Tenant, prefix: str, *, newest: bool = False) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
            "ExpressionAttributeValues": {":pk": keys.tenant_pk(tenant), ":p": prefix},
            "ScanIndexForward": not newest, "ConsistentRead": True,
        }
        while True:
            page = self.table.query(**kwargs)
            out.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def release_days(self, rec: Reconciliation) -> None:
        pk = keys.tenant_pk(rec.tenant)
        for day in self._days(rec):
            try:
                self.table.delete_item(Key={"pk": pk, "sk": keys.reconciliation_day_sk(rec.account_id, day)},
                                       ConditionExpression="reconciliationId = :r",
                                       ExpressionAttributeValues={":r": rec.id})
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise

    def delete(self, rec: Reconciliation) -> None:
        pk = keys.tenant_pk(rec.tenant)
        try:
            self.table.delete_item(Key={"pk": pk, "sk": keys.reconciliation_sk(rec.id)},
                                   ConditionExpression="version = :v", ExpressionAttributeValues={":v": rec.version})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise Clash(f"reconciliation {rec.id} was changed concurrently; read it again",
                            details={"field": "version"}) from None
            raise
        # then its overrides (up to MAX_OVERRIDES: no transaction takes them with it); nothing reads the overrides
        # of a reconciliation that is gone, should this stop part-way
        with self.table.batch_writer() as batch:
            for item in self._query(rec.tenant, keys.reconciliation_override_sk(rec.id)):
                batch.delete_item(Key={"pk": pk, "sk": item["sk"]})

    # overrides -------------------------------------------------------------------------------------
    @staticmethod
    def _parse_override(item: dict[str, Any]) -> tuple[Override, EntryRecord]:
        return Override.model_validate_json(item["override"]), EntryRecord.model_validate_json(item["record"])

    def _override_item(self, rec: Reconciliation, override: Override, record: EntryRecord) -> dict[str, Any]:
        return {"pk": keys.tenant_pk(rec.tenant), "sk": keys.reconciliation_override_sk(rec.id, override.index),
                "override": override.model_dump_json(), "record": record.model_dump_json(by_alias=True)}

    def overrides(self, rec: Reconciliation) -> dict[int, tuple[Override, EntryRecord]]:
        parsed = (self._parse_override(i) for i in self._query(rec.tenant, keys.reconciliation_override_sk(rec.id)))
        return {o.index: (o, r) for o, r in parsed}

    def override(self, rec: Reconciliation, index: int) -> tuple[Override, EntryRecord] | None:
        key = {"pk": keys.tenant_pk(rec.tenant), "sk": keys.reconciliation_override_sk(rec.id, index)}
        item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return self._parse_override(item) if item else None

    def put_overrides(self, rec: Reconciliation, overrides: list[tuple[Override, EntryRecord]]) -> None:
        with self.table.batch_writer() as batch:
            for override, record in overrides:
                batch.put_item(Item=self._override_item(rec, override, record))

    def apply_manual(self, rec: Reconciliation, override: Override, record: EntryRecord, *,
                     mark: LineMark | None, unmark: LineMark | None) -> Reconciliation:
        actions = [self._save_action(rec),
                   {"Put": {"TableName": self.table_name, "Item": _item(self._override_item(rec, override, record))}}]
        if mark:
            actions.append(self.ledger.mark_action(rec.tenant, mark))
        if unmark:
            actions.append(self.ledger.unmark_action(rec.tenant, unmark))
        try:
            self.client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            rec.version -= 1
            failed = failed_actions(exc)
            if failed is None:
                raise
            what = {0: "the reconciliation was changed concurrently; read it again",
                    2: "the ledger line is already matched to another entry (or is gone)"}
            reason = what.get(failed[0], "the entry's previous line is held by another entry")
            if failed[0] == 2 and not mark:
                reason = "the entry's previous line is held by another entry"
            raise Clash(reason, details={"field": "matchedStatementId" if failed[0] == 2 else "version"}) from None
        return rec


