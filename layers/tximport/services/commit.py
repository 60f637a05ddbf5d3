"""Commit one staged chunk into the ledger (one Map worker per chunk)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tximport.models import Import, iso, utcnow
from tximport.storage.ledger import LedgerRepository
from tximport.storage.repository import ImportsRepository
from tximport.storage.staging import read_chunk

_DECIMAL_FIELDS = ("amount", "balance", "originalAmount")


class CommitService:
    def __init__(self, *, imports: ImportsRepository, ledger: LedgerRepository, s3: Any, bucket: str) -> None:
        self.imports = imports
        self.ledger = ledger
        self.s3 = s3
        self.bucket = bucket

    def commit_chunk(self, imp: Import, chunk_key: str) -> int:
        """Write the chunk's lines marked `import` into the ledger; answers how many.

        Idempotent: each line's key is its deterministic id, so a retried chunk rewrites the same items.
        """
        if chunk_key not in imp.chunk_keys:
            raise ValueError(f"{chunk_key} is not a staged chunk of import {imp.id}")
        decisions = self.imports.decisions(imp)
        committed = iso(utcnow())

        def rows() -> Any:
            for row in read_chunk(self.s3, self.bucket, chunk_key):
                decision = decisions.get(row["transactionId"], row.get("defaultDecision", "import"))
                if decision != "import":
                    continue
                for name in _DECIMAL_FIELDS:
                    if row.get(name) is not None:
                        row[name] = Decimal(str(row[name]))
                row["importId"] = imp.id
                row["committed"] = committed
                yield row

        return self.ledger.write(imp.tenant, rows())
