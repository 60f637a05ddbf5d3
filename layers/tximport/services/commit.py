"""Commit one staged chunk into the ledger (one Map worker per chunk)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tximport.models import Import, utcnow
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

        def chosen() -> Iterator[dict[str, Any]]:
            # the chunk's lines as they are staged: no model per line on this path (see Staging.records)
            for record in self.staging.records(chunk_key):
                default = "skip" if record.get("defaultDecision") == "skip" else "import"
                if decisions.get(record["transactionId"], default) == "import":
                    yield record

        return self.ledger.write_staged(imp.tenant, chosen(), import_id=imp.id, committed=utcnow())
