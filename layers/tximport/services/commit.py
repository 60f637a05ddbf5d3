"""Commit one staged chunk into the ledger (one Map worker per chunk)."""

from __future__ import annotations

from collections.abc import Iterator

from tximport.models import Import, LedgerLine, utcnow
from tximport.storage.ledger import LedgerStore
from tximport.storage.repository import ImportsStore
from tximport.storage.staging import Staging


class CommitService:
    def __init__(self, *, imports: ImportsStore, ledger: LedgerStore, staging: Staging) -> None:
        self.imports = imports
        self.ledger = ledger
        self.staging = staging

    def commit_chunk(self, imp: Import, chunk_key: str) -> int:
        """Write the chunk's lines marked `import` into the ledger; answers how many.

        Idempotent: each line's key is its deterministic id, so a retried chunk rewrites the same items.
        """
        if chunk_key not in imp.chunk_keys:
            raise ValueError(f"{chunk_key} is not a staged chunk of import {imp.id}")
        decisions = self.imports.decisions(imp)
        committed = utcnow()

        def lines() -> Iterator[LedgerLine]:
            for row in self.staging.rows(chunk_key):
                if decisions.get(row.transaction_id, row.default_decision) != "import":
                    continue
                yield LedgerLine.confirmed(row, import_id=imp.id, committed=committed)

        return self.ledger.write(imp.tenant, lines())
