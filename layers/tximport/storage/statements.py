"""The statement history of each bank account: every confirmed statement with its closing balance.

Items live in the imports table, in the tenant's partition, keyed by account and the day the statement
ends (tximport.storage.keys.statement_sk): the account's last closing is the newest item of its
prefix, one query of one item. An import writes its statements when it completes and removes them
when it is reverted, so the previous statement becomes the last one again (the revert restores the
account's previous closing). Both writes are idempotent (same keys), so a retried step adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from tximport.models import Tenant
from tximport.statements.models import StatementRecord
from tximport.storage.keys import statement_prefix, statement_sk, tenant_pk
from tximport.storage.kv import Store


def _sk(record: StatementRecord) -> str:
    return statement_sk(record.bank_account_id, record.end_date, record.import_id, record.index)


class StatementHistory:
    """Confirmed statements per account, over the key-value store of the imports table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def last(self, tenant: Tenant, account_id: str) -> StatementRecord | None:
        """The account's latest confirmed statement (by the day it ends), or None."""
        items, _ = self.store.query(tenant_pk(tenant), prefix=statement_prefix(account_id), limit=1, reverse=True)
        return StatementRecord.model_validate_json(items[0]["record"]) if items else None

    def put(self, tenant: Tenant, records: Iterable[StatementRecord]) -> None:
        """Add confirmed statements (the same record twice is one item)."""
        pk = tenant_pk(tenant)
        items = [{"pk": pk, "sk": _sk(r), "record": r.model_dump_json()} for r in records]
        if items:
            self.store.put_many(items)

    def remove(self, tenant: Tenant, records: Iterable[StatementRecord]) -> None:
        """Remove an import's statements (its revert): the account's previous closing is the last again."""
        pk = tenant_pk(tenant)
        keys = [(pk, _sk(r)) for r in records]
        if keys:
            self.store.delete_many(keys)
