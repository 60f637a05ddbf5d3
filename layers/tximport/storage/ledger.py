"""The ledger: confirmed transactions per bank account.

Transactions are partitioned by account and day (`...#A#<account>#D#<day>`), which spreads the writes
of a large commit over many partition keys and lets the duplicate check and the overlap count read
exactly the days a file covers. A small `DAY#` index item per account and day lets the ledger be
listed newest first without a scan.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import date
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from tximport.models import Tenant
from tximport.sessions.balances import ledger_sums
from tximport.sessions.models import TransactionStatus, TypeSums
from tximport.storage import keys
from tximport.storage.pagination import decode_cursor, encode_cursor

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

#: attributes of a ledger item, as the API shows them
LEDGER_FIELDS = (
    "transactionId", "bankAccountId", "amount", "currency", "datePosted", "valueDate", "description",
    "bankTransactionId", "reference", "counterpartyName", "counterpartyAccount", "balance",
    "originalAmount", "originalCurrency", "importId", "lineNumber", "committed",
    # lines committed from an import session (tximport.services.sessions.commit)
    "type", "transactionStatus", "categoryId", "subcategoryId", "tagIds", "workspaceId", "sessionId",
    "stagedTransactionId", "billingMonth", "cardId", "counterpartAccountId", "recurringId", "recurringType",
)


class TransientError(Exception):
    """Throughput was exceeded after retries: the workflow retries the whole chunk (writes are
    idempotent, so a retry never double-writes)."""


class PartialDelete(Exception):
    """A bulk delete stopped on an error after removing `removed` lines."""

    def __init__(self, removed: int, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause} (after removing {removed} line(s))")
        self.removed = removed
        self.cause = cause


class LedgerRepository:
    """Reads with the table resource; bulk writes with the low-level client (3x less CPU per item)."""

    def __init__(self, table: Any, client: Any) -> None:
        self.table = table
        self.client = client
        self.table_name = table.name

    def write(self, tenant: Tenant, rows: Iterable[dict[str, Any]]) -> int:
        """Put ledger items (idempotent: a line's key is its deterministic transaction id)."""
        requests: list[dict[str, Any]] = []
        days: set[tuple[str, str]] = set()
        written = 0
        for row in rows:
            item = {k: row[k] for k in LEDGER_FIELDS if row.get(k) is not None}
            item["pk"] = keys.ledger_day_pk(tenant, row["bankAccountId"], row["datePosted"])
            item["sk"] = f"TX#{row['transactionId']}"
            requests.append({"PutRequest": {"Item": {k: _serializer.serialize(v) for k, v in item.items()}}})
            days.add((row["bankAccountId"], row["datePosted"]))
            written += 1
            if len(requests) == 25:
                self._batch(requests)
                requests = []
        for account_id, day in sorted(days):
            requests.append({"PutRequest": {"Item": {
                "pk": {"S": keys.ledger_account_pk(tenant, account_id)}, "sk": {"S": f"DAY#{day}"},
            }}})
            if len(requests) == 25:
                self._batch(requests)
                requests = []
        if requests:
            self._batch(requests)
        return written

    def _batch(self, requests: list[dict[str, Any]]) -> None:
        pending = {self.table_name: requests}
        for attempt in range(8):
            answer = self.client.batch_write_item(RequestItems=pending)
            pending = answer.get("UnprocessedItems") or {}
            if not pending:
                return
            time.sleep(min(2.0, 0.05 * 2**attempt))
        raise TransientError("DynamoDB kept items unprocessed; the chunk will be retried")

    def day_items(self, tenant: Tenant, account_id: str, day: str) -> list[dict[str, Any]]:
        """Every ledger transaction of an account on one day."""
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": keys.ledger_day_pk(tenant, account_id, day)},
        }
        while True:
            page = self.table.query(**kwargs)
            out.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def days(self, tenant: Tenant, account_id: str, *, newest_first: bool = True,
             start_after: str | None = None) -> Iterator[str]:
        """The days on which an account has ledger lines."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :day)",
            "ExpressionAttributeValues": {":pk": keys.ledger_account_pk(tenant, account_id), ":day": "DAY#"},
            "ScanIndexForward": not newest_first,
        }
        if start_after:
            kwargs["ExclusiveStartKey"] = {"pk": keys.ledger_account_pk(tenant, account_id),
                                           "sk": f"DAY#{start_after}"}
        while True:
            page = self.table.query(**kwargs)
            for item in page.get("Items", []):
                yield item["sk"][4:]
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list(self, tenant: Tenant, account_id: str, *, limit: int = 100, cursor: str | None = None
             ) -> tuple[list[dict[str, Any]], str | None]:
        """Transactions newest first (by day, then by id within a day), `limit` at a time."""
        state = decode_cursor(cursor) or {}
        day_cursor: str | None = state.get("day")
        within: dict[str, Any] | None = state.get("lek")
        out: list[dict[str, Any]] = []
        days = self.days(tenant, account_id, start_after=day_cursor if within is None else None)
        if within is not None and day_cursor:
            days = _chain([day_cursor], self.days(tenant, account_id, start_after=day_cursor))
        for day in days:
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": keys.ledger_day_pk(tenant, account_id, day)},
                "ScanIndexForward": False,
            }
            if within is not None and day == day_cursor:
                kwargs["ExclusiveStartKey"] = within
            within = None
            while True:
                kwargs["Limit"] = limit - len(out)
                page = self.table.query(**kwargs)
                out.extend(page.get("Items", []))
                lek = page.get("LastEvaluatedKey")
                if len(out) >= limit:
                    next_state = {"day": day, "lek": lek} if lek else {"day": day}
                    return [_public(i) for i in out], encode_cursor(next_state)
                if not lek:
                    break
                kwargs["ExclusiveStartKey"] = lek
        return [_public(i) for i in out], None

    def delete_if_from_import(self, tenant: Tenant, row: dict[str, Any], import_id: str) -> bool:
        """Remove a ledger line only if this import wrote it (revert); True when removed."""
        try:
            self.table.delete_item(
                Key={"pk": keys.ledger_day_pk(tenant, row["bankAccountId"], row["datePosted"]),
                     "sk": f"TX#{row['transactionId']}"},
                ConditionExpression="importId = :id",
                ExpressionAttributeValues={":id": import_id},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def delete_many_if_from_import(self, tenant: Tenant, rows: Iterable[dict[str, Any]], import_id: str, *,
                                   workers: int = 16, stop: Callable[[], bool] | None = None) -> tuple[int, bool]:
        """Remove the ledger lines of `rows` that this import wrote, `workers` conditional deletes at a
        time (the low-level client is thread-safe, the table resource is not). Answers (lines removed,
        whether every row was handled); when `stop()` turns true no new delete starts and the rows left
        are not handled. At most `workers * 4` rows are held in flight, whatever the chunk's size."""
        removed = 0
        errors: list[BaseException] = []
        pending: set[Future[bool]] = set()
        complete = True

        def collect(done: set[Future[bool]]) -> None:
            nonlocal removed
            for future in done:
                error = future.exception()
                if error is not None:
                    errors.append(error)
                else:
                    removed += future.result()

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="revert") as pool:
            try:
                for row in rows:
                    if errors or (stop is not None and stop()):
                        complete = False
                        break
                    if len(pending) >= workers * 4:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        collect(done)
                    pending.add(pool.submit(self._delete_one, tenant, row, import_id))
            finally:
                collect(wait(pending).done)
        if errors:
            # the lines already removed are counted in the error: a retry finds them gone and does not
            # count them again
            raise PartialDelete(removed, errors[0]) from errors[0]
        return removed, complete

    def _delete_one(self, tenant: Tenant, row: dict[str, Any], import_id: str) -> bool:
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={"pk": {"S": keys.ledger_day_pk(tenant, row["bankAccountId"], row["datePosted"])},
                     "sk": {"S": f"TX#{row['transactionId']}"}},
                ConditionExpression="importId = :id",
                ExpressionAttributeValues={":id": {"S": import_id}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _chain(first: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("pk", "sk")}


# --- import-session lines: balances, invoices and statuses ------------------------------------------
# Besides the DAY# index, a card's partition has INVOICEDAY#<YYYY-MM>#<day> items (the days that hold
# lines of an invoice) and every VALIDATING line has a VALIDATING#<period>#<id> item (period: the day of
# an account line, the billing month of a card line), so close finds them without reading history.


def _validating_sk(row: dict[str, Any]) -> str:
    period = row["billingMonth"] if row.get("cardId") == row["bankAccountId"] else row["datePosted"]
    return f"VALIDATING#{period}#{row['transactionId']}"


class SessionLedger:
    """What import sessions read and write in the ledger, beside `LedgerRepository` (same table)."""

    def __init__(self, ledger: LedgerRepository) -> None:
        self.ledger = ledger
        self.table = ledger.table

    # what the duplicate check reads (tximport.services.duplicates.DuplicateDetector)
    def days(self, tenant: Tenant, account_id: str, *, newest_first: bool = True) -> Iterator[str]:
        return self.ledger.days(tenant, account_id, newest_first=newest_first)

    def day_items(self, tenant: Tenant, account_id: str, day: str) -> list[dict[str, Any]]:
        return self.ledger.day_items(tenant, account_id, day)

    def write_lines(self, tenant: Tenant, rows: list[dict[str, Any]]) -> int:
        """Write committed session lines (idempotent: deterministic ids) and their index items."""
        written = self.ledger.write(tenant, rows)
        index: list[dict[str, Any]] = []
        for row in rows:
            account_pk = keys.ledger_account_pk(tenant, row["bankAccountId"])
            if row.get("billingMonth") and row.get("cardId") == row["bankAccountId"]:
                index.append({"pk": account_pk, "sk": f"INVOICEDAY#{row['billingMonth']}#{row['datePosted']}"})
            if row.get("transactionStatus") == TransactionStatus.VALIDATING:
                index.append({"pk": account_pk, "sk": _validating_sk(row), "day": row["datePosted"]})
        unique = {(i["pk"], i["sk"]): i for i in index}
        requests = [{"PutRequest": {"Item": {k: _serializer.serialize(v) for k, v in i.items()}}}
                    for i in unique.values()]
        for start in range(0, len(requests), 25):
            self.ledger._batch(requests[start:start + 25])
        return written

    def _items(self, tenant: Tenant, account_id: str, days: Iterable[str]) -> Iterator[dict[str, Any]]:
        for day in days:
            yield from self.ledger.day_items(tenant, account_id, day)

    def _query_sks(self, pk: str, low: str, high: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
                                  "ExpressionAttributeValues": {":pk": pk, ":low": low, ":high": high}}
        while True:
            page = self.table.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def sum_between(self, tenant: Tenant, account_id: str, start: date | None, end: date) -> TypeSums:
        """Per-type sums of an account's ledger lines dated from `start` (None: the beginning) to `end`
        inclusive: the one place balances read the ledger (a later change may keep per-day balances)."""
        low = f"DAY#{start.isoformat()}" if start else "DAY#"
        days = [i["sk"][4:] for i in self._query_sks(keys.ledger_account_pk(tenant, account_id), low,
                                                      f"DAY#{end.isoformat()}")]
        return ledger_sums(self._items(tenant, account_id, days))

    def invoice_sums(self, tenant: Tenant, card_id: str, billing_month: str) -> TypeSums:
        """Per-type sums of the lines a card's invoice for `billing_month` holds."""
        prefix = f"INVOICEDAY#{billing_month}#"
        days = sorted({i["sk"][len(prefix):] for i in self._query_sks(keys.ledger_account_pk(tenant, card_id),
                                                                      prefix, prefix + "~")})
        return ledger_sums(i for i in self._items(tenant, card_id, days) if i.get("billingMonth") == billing_month)

    def mark_paid(self, tenant: Tenant, account_id: str, low: str, high: str) -> int:
        """VALIDATING -> PAID for the lines whose period is in [low, high] (a day or a billing month);
        answers how many changed. Each change is conditional on the line still being VALIDATING."""
        account_pk = keys.ledger_account_pk(tenant, account_id)
        changed = 0
        for entry in list(self._query_sks(account_pk, f"VALIDATING#{low}", f"VALIDATING#{high}~")):
            tx_id = entry["sk"].rsplit("#", 1)[1]
            try:
                self.table.update_item(
                    Key={"pk": keys.ledger_day_pk(tenant, account_id, entry["day"]), "sk": f"TX#{tx_id}"},
                    UpdateExpression="SET transactionStatus = :paid",
                    ConditionExpression="transactionStatus = :validating",
                    ExpressionAttributeValues={":paid": TransactionStatus.PAID.value,
                                               ":validating": TransactionStatus.VALIDATING.value})
                changed += 1
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
            self.table.delete_item(Key={"pk": account_pk, "sk": entry["sk"]})
        return changed
