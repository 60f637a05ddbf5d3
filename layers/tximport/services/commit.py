"""Commit one staged chunk into the ledger (one Map worker per chunk), then the days' balances of the
whole import, once (the workflow's RefreshBalances step, after the Map)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from tximport.ids import apart_id, kept_apart
from tximport.models import Import, utcnow
from tximport.storage.ledger import LedgerStore
from tximport.storage.repository import ImportsStore
from tximport.storage.staging import Staging

#: days whose balances are recomputed at once (each by its own thread: the ledger's client is thread-safe)
BALANCE_WORKERS = 16


class CommitService:
    def __init__(self, *, imports: ImportsStore, ledger: LedgerStore, staging: Staging,
                 balance_workers: int = BALANCE_WORKERS) -> None:
        self.imports = imports
        self.ledger = ledger
        self.staging = staging
        self.balance_workers = balance_workers

    def commit_chunk(self, imp: Import, chunk_key: str) -> int:
        """Write the chunk's lines marked `import` into the ledger; answers how many.

        Idempotent: each line's key is its deterministic id, so a retried chunk rewrites the same items. A line
        that is a certain duplicate (its id may be a ledger line's already) and that the review imported all the
        same is written under an id of its own (`apart_id`): a confirmed line is never overwritten.
        """
        if chunk_key not in imp.chunk_keys:
            raise ValueError(f"{chunk_key} is not a staged chunk of import {imp.id}")
        decisions = self.imports.decisions(imp)
        currencies = {a.id: a.currency.upper() for a in imp.bank_accounts if a.currency}

        def chosen() -> Iterator[dict[str, Any]]:
            # the chunk's lines as they are staged: no model per line on this path (see Staging.records)
            for record in self.staging.records(chunk_key):
                default = "skip" if record.get("defaultDecision") == "skip" else "import"
                tx_id = record["transactionId"]
                if decisions.get(tx_id, default) != "import":
                    continue
                if kept_apart(record.get("possibleDuplicate", False), record.get("defaultDecision")):
                    # a certain duplicate imported all the same: beside the ledger line of its id, never over it
                    record = {**record, "transactionId": apart_id(tx_id, imp.id)}
                own = currencies.get(record["bankAccountId"])
                if own is not None and (record.get("currency") or own).upper() != own:
                    # another currency's line (CurrencyMismatch) the review imported: kept, outside the balances
                    record = {**record, "foreignCurrency": True}
                yield record

        return self.ledger.write_staged(imp.tenant, chosen(), import_id=imp.id, committed=utcnow())

    def refresh_balances(self, imp: Import) -> int:
        """Recompute the balance of every (account, day) the import's staged lines fall on, once each, after
        every chunk is written; answers how many days. Idempotent: a day's balance is recomputed from its
        lines. The days of lines the review skipped are recomputed too (their balance is unchanged)."""
        days: set[tuple[str, date]] = set()
        seen: set[tuple[str, str]] = set()
        for chunk_key in imp.chunk_keys:
            for record in self.staging.records(chunk_key, ids=False):
                if (place := (record["bankAccountId"], record["datePosted"])) not in seen:
                    seen.add(place)
                    days.add((place[0], date.fromisoformat(place[1])))
        self.ledger.refresh_totals(imp.tenant, days, workers=self.balance_workers)
        return len(days)
