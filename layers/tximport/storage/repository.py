"""DynamoDB repositories for the imports table: bank accounts, imports, decisions, locks and queue.

Each repository has a Protocol naming what the services rely on (`AccountsStore`, `ImportsStore`,
`LocksStore`); unit tests pass in-memory fakes of them (tests/fakes), held to the same behaviour as
these classes by a contract test on moto.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from tximport.errors import Conflict, NotFound
from tximport.models import (
    IN_FLIGHT_STATUSES,
    BankAccount,
    Decision,
    Import,
    ImportStatus,
    PollMonitor,
    Tenant,
    TenantSettings,
    iso,
    utcnow,
)
from tximport.storage import keys
from tximport.storage.pagination import decode_cursor, encode_cursor, query_all


def _conditional_failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class AccountsStore(Protocol):
    def put(self, tenant: Tenant, account: BankAccount) -> None:
        """Store a new account."""
        ...

    def get(self, tenant: Tenant, account_id: str) -> BankAccount:
        """The account, or NotFound BankAccountNotFound."""
        ...

    def list_page(self, tenant: Tenant, *, limit: int = 100, cursor: str | None = None
                  ) -> tuple[list[BankAccount], str | None]:
        """Up to `limit` accounts and the cursor of the next page (None at the end)."""
        ...

    def claim_identifier(self, tenant: Tenant, identifier: str, account_id: str) -> str:
        """Claim an account identifier (spaces and case aside) for `account_id` unless an account already
        holds it; answers the account that holds it."""
        ...


class ImportsStore(Protocol):
    def create(self, imp: Import) -> None:
        """Store a new import."""
        ...

    def get(self, tenant: Tenant, import_id: str) -> Import:
        """The import, or NotFound ImportNotFound."""
        ...

    def save(self, imp: Import) -> Import:
        """Write `imp` (its version goes up) if nobody changed it since it was read; Conflict otherwise."""
        ...

    def list_page(self, tenant: Tenant, *, limit: int = 50, cursor: str | None = None,
                  status: ImportStatus | None = None) -> tuple[list[Import], str | None]:
        """Up to `limit` imports, newest first, and the cursor of the next page (None at the end)."""
        ...

    def poll(self, imp: Import) -> PollMonitor:
        """Count one poll of the import (beside it: the import itself does not change)."""
        ...

    def monitors(self, tenant: Tenant, import_ids: list[str]) -> dict[str, PollMonitor]:
        """The poll counts of these imports (imports never polled are left out)."""
        ...

    def put_decision(self, imp: Import, transaction_id: str, decision: Decision) -> None:
        """Set one staged line's decision, in one write conditional on the import still awaiting
        confirmation at `imp.generation`; Conflict otherwise (a confirm, amend, delete or expiry won)."""
        ...

    def preset_decisions(self, imp: Import, decisions: dict[str, Decision]) -> None:
        """Decisions processing sets on lines of the import's current generation before any review (the lines of a
        statement the file holds twice): written while processing holds the import, with no condition."""
        ...

    def decisions(self, imp: Import) -> dict[str, Decision]:
        """Every decision set on the lines of the import's current generation, by transaction id."""
        ...

    def delete_decisions(self, imp: Import, generation: int | None = None) -> None:
        """Forget the decisions of one generation of the import, or of every generation."""
        ...

    def replay_of(self, tenant: Tenant, account_id: str, digest: str) -> str | None:
        """The import that imported the file with this digest into the account, if any."""
        ...

    def in_flight(self, updated_before: datetime) -> Iterator[Import]:
        """Every tenant's imports whose workflow is under way (queued to finalProcessing) and that have
        not changed since `updated_before`."""
        ...

    def put_replay(self, tenant: Tenant, account_id: str, digest: str, import_id: str,
                   expires_at: int | None) -> None:
        """Remember that `import_id` imported the file with this digest into the account."""
        ...

    def delete_replay(self, tenant: Tenant, account_id: str, digest: str, import_id: str) -> None:
        """Forget it, if it was `import_id` that imported it."""
        ...


class SettingsStore(Protocol):
    def get(self, tenant: Tenant) -> TenantSettings:
        """The tenant's settings (the defaults until it changes one)."""
        ...

    def put(self, tenant: Tenant, settings: TenantSettings) -> None:
        """Store the tenant's settings."""
        ...


@dataclass(frozen=True, slots=True)
class Waiter:
    """An import queued behind the one that holds an account, with the task token that resumes it."""

    sk: str
    import_id: str
    task_token: str


class LocksStore(Protocol):
    def acquire(self, tenant: Tenant, account_id: str, import_id: str, *, until: int | None = None) -> bool:
        """Take the account for `import_id` (re-entrant); False when another holds it. With `until` (epoch
        seconds) the hold is a lease: past it, another may take the account."""
        ...

    def release(self, tenant: Tenant, account_id: str, import_id: str) -> bool:
        """Give the account back if `import_id` holds it; True when it did."""
        ...

    def holder(self, tenant: Tenant, account_id: str) -> str | None:
        """The import holding the account, if any."""
        ...

    def enqueue(self, tenant: Tenant, account_id: str, created: str, import_id: str, token: str) -> None:
        """Queue `import_id` (created at `created`, ISO) behind the account's holder."""
        ...

    def waiting(self, tenant: Tenant, account_id: str) -> list[Waiter]:
        """The account's queue, oldest first."""
        ...

    def dequeue(self, tenant: Tenant, account_id: str, sk: str) -> bool:
        """Remove one queue entry; True for the caller that actually removed it."""
        ...

    def remove_import(self, tenant: Tenant, account_id: str, import_id: str) -> None:
        """Take `import_id` out of the account's queue."""
        ...


class AccountsRepository:
    """Placeholder bank accounts, per tenant."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def put(self, tenant: Tenant, account: BankAccount) -> None:
        self.table.put_item(Item={
            "pk": keys.tenant_pk(tenant), "sk": keys.account_sk(account.id),
            "doc": account.model_dump_json(),
        }, ConditionExpression=Attr("pk").not_exists())

    def get(self, tenant: Tenant, account_id: str) -> BankAccount:
        item = self.table.get_item(Key={"pk": keys.tenant_pk(tenant), "sk": keys.account_sk(account_id)},
                                   ConsistentRead=True).get("Item")
        if not item:
            raise NotFound(f"bank account {account_id} not found", code="BankAccountNotFound",
                           target="bankAccountId")
        return BankAccount.model_validate_json(item["doc"])

    def list_page(self, tenant: Tenant, *, limit: int = 100, cursor: str | None = None
             ) -> tuple[list[BankAccount], str | None]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(keys.tenant_pk(tenant)) & Key("sk").begins_with("ACCOUNT#"),
            "Limit": limit,
        }
        start = decode_cursor(cursor)
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = self.table.query(**kwargs)
        accounts = [BankAccount.model_validate_json(i["doc"]) for i in page.get("Items", [])]
        return accounts, encode_cursor(page.get("LastEvaluatedKey"))

    def claim_identifier(self, tenant: Tenant, identifier: str, account_id: str) -> str:
        key = {"pk": keys.tenant_pk(tenant), "sk": keys.identifier_sk(identifier)}
        try:
            self.table.put_item(Item={**key, "accountId": account_id}, ConditionExpression=Attr("pk").not_exists())
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
            item = self.table.get_item(Key=key, ConsistentRead=True).get("Item") or {}
            return str(item.get("accountId", account_id))
        return account_id


#: the imports table's index of imports by tenant and status (sparse: only import items carry its key)
STATUS_INDEX = "byStatus"
STATUS_KEY = "statusKey"


class ImportsRepository:
    """Imports, with optimistic locking on `version` so concurrent updates never overwrite each other.

    Each import item also carries `statusKey` (tenant + status), the partition key of the sparse
    `byStatus` index, so `GET /imports?status=` reads full pages of one status, newest first. Polls are
    counted on a `POLL#` item beside the import (an atomic counter), never on the versioned document.
    """

    def __init__(self, table: Any) -> None:
        self.table = table

    def _item(self, imp: Import) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": keys.tenant_pk(imp.tenant), "sk": keys.import_sk(imp.id),
            "doc": imp.model_dump_json(), "status": imp.status.value, "version": imp.version,
            STATUS_KEY: keys.status_key(imp.tenant, imp.status.value),
            # read by the conditions of writes that depend on the import (a decision)
            "generation": imp.generation,
        }
        if imp.expires_at:
            item["expiresAt"] = imp.expires_at
        if imp.status in IN_FLIGHT_STATUSES:
            item[keys.IN_FLIGHT_SHARD] = keys.in_flight_shard(imp.id)
            item[keys.IN_FLIGHT_UPDATED] = imp.updated.isoformat()
        return item

    def create(self, imp: Import) -> None:
        self.table.put_item(Item=self._item(imp), ConditionExpression=Attr("pk").not_exists())

    @staticmethod
    def from_item(item: Mapping[str, Any]) -> Import:
        """The import an item of this table holds (an item read back, or a stream record's image)."""
        return Import.model_validate_json(item["doc"])

    def get(self, tenant: Tenant, import_id: str) -> Import:
        item = self.table.get_item(Key={"pk": keys.tenant_pk(tenant), "sk": keys.import_sk(import_id)},
                                   ConsistentRead=True).get("Item")
        if not item:
            raise NotFound(f"import {import_id} not found", code="ImportNotFound", target="importId")
        return Import.model_validate_json(item["doc"])

    def save(self, imp: Import) -> Import:
        """Write `imp` if nobody changed it since it was read; raise Conflict otherwise."""
        expected = imp.version
        imp.version = expected + 1
        imp.updated = utcnow()
        try:
            self.table.put_item(Item=self._item(imp), ConditionExpression=Attr("version").eq(expected))
        except ClientError as exc:
            imp.version = expected
            if _conditional_failed(exc):
                raise Conflict(f"import {imp.id} was changed concurrently", code="ConcurrentUpdate",
                               target="id") from exc
            raise
        return imp

    def list_page(self, tenant: Tenant, *, limit: int = 50, cursor: str | None = None,
                  status: ImportStatus | None = None) -> tuple[list[Import], str | None]:
        kwargs: dict[str, Any] = {"ScanIndexForward": False, "Limit": limit}
        if status:
            kwargs["IndexName"] = STATUS_INDEX
            kwargs["KeyConditionExpression"] = Key(STATUS_KEY).eq(keys.status_key(tenant, status.value))
        else:
            kwargs["KeyConditionExpression"] = Key("pk").eq(keys.tenant_pk(tenant)) & Key("sk").begins_with("IMPORT#")
        start = decode_cursor(cursor)
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = self.table.query(**kwargs)
        imports = [Import.model_validate_json(i["doc"]) for i in page.get("Items", [])]
        return imports, encode_cursor(page.get("LastEvaluatedKey"))

    # polls ------------------------------------------------------------------------------------
    def poll(self, imp: Import) -> PollMonitor:
        now = iso(utcnow())
        values: dict[str, Any] = {":one": 1, ":now": now}
        update = ("ADD pollAttempts :one "
                  "SET pollLastAttempt = :now, pollFirstAttempt = if_not_exists(pollFirstAttempt, :now)")
        if imp.expires_at:
            update += ", expiresAt = :expires"
            values[":expires"] = imp.expires_at
        answer = self.table.update_item(
            Key={"pk": keys.tenant_pk(imp.tenant), "sk": keys.poll_sk(imp.id)}, UpdateExpression=update,
            ExpressionAttributeValues=values, ReturnValues="ALL_NEW")
        return _monitor(answer["Attributes"])

    def monitors(self, tenant: Tenant, import_ids: list[str]) -> dict[str, PollMonitor]:
        found: dict[str, PollMonitor] = {}
        for start in range(0, len(import_ids), 100):  # BatchGetItem reads at most 100 keys
            request = {self.table.name: {"Keys": [{"pk": keys.tenant_pk(tenant), "sk": keys.poll_sk(i)}
                                                  for i in import_ids[start:start + 100]]}}
            while request:
                # the table resource's client reads and writes plain values (not attribute values)
                answer = self.table.meta.client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table.name, []):
                    found[str(item["sk"]).removeprefix("POLL#")] = _monitor(item)
                request = answer.get("UnprocessedKeys") or {}
        return found

    def in_flight(self, updated_before: datetime) -> Iterator[Import]:
        """Reads the index shard by shard (keys only), then each import itself."""
        for shard in range(keys.IN_FLIGHT_SHARDS):
            kwargs: dict[str, Any] = {
                "IndexName": keys.IN_FLIGHT_INDEX,
                "KeyConditionExpression": Key(keys.IN_FLIGHT_SHARD).eq(f"S{shard}")
                & Key(keys.IN_FLIGHT_UPDATED).lt(updated_before.isoformat()),
            }
            while True:
                page = self.table.query(**kwargs)
                for entry in page.get("Items", []):
                    item = self.table.get_item(Key={"pk": entry["pk"], "sk": entry["sk"]},
                                               ConsistentRead=True).get("Item")
                    if item:
                        yield self.from_item(item)
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # per-line decisions -------------------------------------------------------------------------
    def put_decision(self, imp: Import, transaction_id: str, decision: Decision) -> None:
        """One transaction: the decision, and a check that the import still awaits confirmation at the
        generation the decision is for. DynamoDB serialises it with the import's own conditional writes,
        so a decision lands before a confirm (which then commits it) or fails after it: never both."""
        pk = keys.tenant_pk(imp.tenant)
        try:
            self.table.meta.client.transact_write_items(TransactItems=[
                {"ConditionCheck": {
                    "TableName": self.table.name, "Key": {"pk": pk, "sk": keys.import_sk(imp.id)},
                    "ConditionExpression": "#status = :awaiting AND #generation = :generation",
                    "ExpressionAttributeNames": {"#status": "status", "#generation": "generation"},
                    "ExpressionAttributeValues": {":awaiting": ImportStatus.AWAITING_CONFIRMATION.value,
                                                  ":generation": imp.generation},
                }},
                {"Put": {"TableName": self.table.name, "Item": {
                    "pk": pk, "sk": keys.decision_sk(imp.id, imp.generation, transaction_id),
                    "decision": decision, **({"expiresAt": imp.expires_at} if imp.expires_at else {}),
                }}},
            ])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                raise Conflict(f"import {imp.id} no longer awaits confirmation of these lines",
                               code="InvalidImportStatus", target="status") from exc
            raise

    def preset_decisions(self, imp: Import, decisions: dict[str, Decision]) -> None:
        pk = keys.tenant_pk(imp.tenant)
        expires = {"expiresAt": imp.expires_at} if imp.expires_at else {}
        with self.table.batch_writer() as batch:
            for transaction_id, decision in decisions.items():
                batch.put_item(Item={"pk": pk, "sk": keys.decision_sk(imp.id, imp.generation, transaction_id),
                                     "decision": decision, **expires})

    def decisions(self, imp: Import) -> dict[str, Decision]:
        """The per-line decisions of the import's current generation (only lines whose decision was set)."""
        out: dict[str, Decision] = {}
        for item in self._query_prefix(imp.tenant, keys.decision_sk(imp.id, imp.generation)):
            out[item["sk"].rsplit("#", 1)[1]] = item["decision"]
        return out

    def delete_decisions(self, imp: Import, generation: int | None = None) -> None:
        with self.table.batch_writer() as batch:
            for item in self._query_prefix(imp.tenant, keys.decision_sk(imp.id, generation)):
                batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})

    def _query_prefix(self, tenant: Tenant, prefix: str) -> Iterator[dict[str, Any]]:
        return query_all(self.table, ConsistentRead=True,
                         KeyConditionExpression=Key("pk").eq(keys.tenant_pk(tenant)) & Key("sk").begins_with(prefix))

    # replay protection -----------------------------------------------------------------------
    def replay_of(self, tenant: Tenant, account_id: str, digest: str) -> str | None:
        item = self.table.get_item(Key={"pk": keys.tenant_pk(tenant), "sk": keys.replay_sk(account_id, digest)},
                                   ConsistentRead=True).get("Item")
        return item["importId"] if item else None

    def put_replay(self, tenant: Tenant, account_id: str, digest: str, import_id: str,
                   expires_at: int | None) -> None:
        item: dict[str, Any] = {"pk": keys.tenant_pk(tenant), "sk": keys.replay_sk(account_id, digest),
                                "importId": import_id}
        if expires_at:
            item["expiresAt"] = expires_at
        self.table.put_item(Item=item)

    def delete_replay(self, tenant: Tenant, account_id: str, digest: str, import_id: str) -> None:
        try:
            self.table.delete_item(Key={"pk": keys.tenant_pk(tenant), "sk": keys.replay_sk(account_id, digest)},
                                   ConditionExpression=Attr("importId").eq(import_id))
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise


def _monitor(item: Mapping[str, Any]) -> PollMonitor:
    first, last = item.get("pollFirstAttempt"), item.get("pollLastAttempt")
    return PollMonitor(first_attempt=datetime.fromisoformat(first) if first else None,
                       attempts=int(item.get("pollAttempts") or 0),
                       last_attempt=datetime.fromisoformat(last) if last else None)


class SettingsRepository:
    """A tenant's settings: one item in its partition."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def get(self, tenant: Tenant) -> TenantSettings:
        item = self.table.get_item(Key={"pk": keys.tenant_pk(tenant), "sk": keys.SETTINGS_SK},
                                   ConsistentRead=True).get("Item")
        return TenantSettings.model_validate_json(item["doc"]) if item else TenantSettings()

    def put(self, tenant: Tenant, settings: TenantSettings) -> None:
        self.table.put_item(Item={"pk": keys.tenant_pk(tenant), "sk": keys.SETTINGS_SK,
                                  "doc": settings.model_dump_json()})


class LocksRepository:
    """One active import per bank account: a lock item per account, taken with a conditional write,
    and a queue of waiting imports (oldest first) holding their Step Functions task tokens."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def acquire(self, tenant: Tenant, account_id: str, import_id: str, *, until: int | None = None) -> bool:
        """Take the account for `import_id` (re-entrant); False when another holds it. With `until` (epoch
        seconds) the hold is a lease: past it, another may take the account."""
        item: dict[str, Any] = {"pk": keys.tenant_pk(tenant), "sk": keys.lock_sk(account_id), "importId": import_id,
                                "acquired": utcnow().isoformat()}
        if until is not None:
            item["leaseUntil"] = until
        try:
            self.table.put_item(
                Item=item,
                ConditionExpression=Attr("pk").not_exists() | Attr("importId").eq(import_id)
                | Attr("leaseUntil").lt(int(time.time())),
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def release(self, tenant: Tenant, account_id: str, import_id: str) -> bool:
        """Give the account back if `import_id` holds it; True when it did."""
        try:
            self.table.delete_item(Key={"pk": keys.tenant_pk(tenant), "sk": keys.lock_sk(account_id)},
                                   ConditionExpression=Attr("importId").eq(import_id))
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def holder(self, tenant: Tenant, account_id: str) -> str | None:
        item = self.table.get_item(Key={"pk": keys.tenant_pk(tenant), "sk": keys.lock_sk(account_id)},
                                   ConsistentRead=True).get("Item")
        if item is None or ("leaseUntil" in item and int(item["leaseUntil"]) < int(time.time())):
            return None  # free, or a lease its holder never gave back (a crash) that ran out
        return str(item["importId"])

    def enqueue(self, tenant: Tenant, account_id: str, created: str, import_id: str, token: str) -> None:
        self.table.put_item(Item={
            "pk": keys.tenant_pk(tenant), "sk": f"{keys.queue_prefix(account_id)}{created}#{import_id}",
            "importId": import_id, "taskToken": token,
        })

    def waiting(self, tenant: Tenant, account_id: str) -> list[Waiter]:
        """Waiting imports of an account, oldest first."""
        page = self.table.query(
            KeyConditionExpression=Key("pk").eq(keys.tenant_pk(tenant))
            & Key("sk").begins_with(keys.queue_prefix(account_id)),
            ConsistentRead=True,
        )
        return [Waiter(sk=item["sk"], import_id=item["importId"], task_token=item["taskToken"])
                for item in page.get("Items", [])]

    def dequeue(self, tenant: Tenant, account_id: str, sk: str) -> bool:
        """Remove one queue entry; True for the caller that actually removed it."""
        try:
            self.table.delete_item(Key={"pk": keys.tenant_pk(tenant), "sk": sk},
                                   ConditionExpression=Attr("pk").exists())
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def remove_import(self, tenant: Tenant, account_id: str, import_id: str) -> None:
        for waiter in self.waiting(tenant, account_id):
            if waiter.import_id == import_id:
                self.dequeue(tenant, account_id, waiter.sk)
