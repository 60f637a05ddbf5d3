"""A reconciliation's entries and each run's results in the bucket, as gzip JSON-lines chunks (written and
read as staged rows are: `tximport.storage.staging`). One `EntryRecord` a line, by its short field names:

  reconciliations/<org>/<company>/<reconciliationId>/r<run>/<LISTING>-00001.jsonl.gz

A run writes the listing ALL (every entry, in entry order) and one listing per match status (MATCHED,
UNMATCHED), each in entry order and chunks of `chunk_size`, and keeps where they are (`ResultChunks`: keys,
the first entry index of each chunk, counts) on the reconciliation, so a page reads only its chunks. Run 0 is
the entries as posted (the workflow's input to run 1).
"""

from __future__ import annotations

from collections.abc import Iterable

from tximport.models import Tenant
from tximport.reconciliation.models import MatchStatus, ResultChunks
from tximport.reconciliation.records import EntryRecord
from tximport.storage.objects import ObjectStore
from tximport.storage.staging import ChunkWriter, read_lines

#: the listing of every entry
ALL = "ALL"


def reconciliation_prefix(tenant: Tenant, reconciliation_id: str) -> str:
    """Where every run of a reconciliation keeps its chunks."""
    return f"reconciliations/{tenant.key}/{reconciliation_id}/"


def run_prefix(prefix: str, run: int) -> str:
    """Where one run's chunks are, under the reconciliation's prefix."""
    return f"{prefix}r{run}/"


class ResultChunkStore:
    """Writes a run's listings and reads one chunk back (`ObjectStore`: S3, or in memory in unit tests)."""

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects

    def write_results(self, prefix: str, records: list[EntryRecord], chunk_size: int, run: int) -> ResultChunks:
        """Write the run's records (in entry order) in chunks: ALL and one listing per match status."""
        out = ResultChunks(run=run, chunk_size=chunk_size)
        listings: dict[str, list[EntryRecord]] = {ALL: records}
        for status in (MatchStatus.MATCHED, MatchStatus.UNMATCHED):
            listings[status.value] = [r for r in records if r.status == status]
        for name, items in listings.items():
            out.counts[name] = len(items)
            out.firsts[name] = [items[k].index for k in range(0, len(items), chunk_size)]
            if name != ALL and len(items) == len(records):
                out.keys[name] = out.keys[ALL]  # every entry is in this listing: share the chunks
                continue
            out.keys[name] = self._write(run_prefix(prefix, run), name, items, chunk_size)
        return out

    def _write(self, prefix: str, name: str, records: Iterable[EntryRecord], chunk_size: int) -> list[str]:
        writer = ChunkWriter(self.objects, prefix, name, chunk_size)
        for record in records:
            writer.write_encoded(record.model_dump_json(by_alias=True, exclude_defaults=True))
        return writer.close()

    def chunk(self, key: str) -> list[EntryRecord]:
        """The records of one chunk, in entry order."""
        return [EntryRecord.model_validate_json(line) for line in read_lines(self.objects, key)]

    def delete_prefix(self, prefix: str) -> None:
        """Remove every chunk under `prefix` (a run's, or a whole reconciliation's)."""
        self.objects.delete_prefix(prefix)
