"""Processing benchmark: `python -m tests.bench_processing --rows N` (not run under pytest).

Stages a generated Tabular3column#v1 file of N rows through `ProcessingService.process` on the
in-memory adapters (tests/fakes): the parse, account resolution, ids, the duplicate check against an
empty ledger, the report and the gzip JSON-lines chunks, with no AWS in the way. Prints CPU seconds
and rows/s next to the parse alone, run in the same process, so the ratio says what processing costs
on top of parsing.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from functools import cached_property
from pathlib import Path
from typing import IO

from tests.bench import write_csv
from tests.fakes.container import FakeContainer
from tests.fakes.objects import InMemoryObjects
from tximport.commands import CreateBankAccount, CreateImport, ImportAccount
from tximport.formats.base import DateStyle, FileSource, ParseOptions
from tximport.formats.registry import FORMATS
from tximport.models import Tenant
from tximport.storage.objects import ObjectHead, ObjectVersion

TENANT = Tenant(organisation_id="bench", company_id="bench")


class _FileBackedObjects(InMemoryObjects):
    """Uploaded files stay on disk (a 1M-row file need not sit in memory twice)."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, Path] = {}

    def head(self, key: str) -> ObjectHead:
        if key in self.files:
            return ObjectHead(size=self.files[key].stat().st_size, etag='"bench"')
        return super().head(key)

    def versions(self, key: str) -> list[ObjectVersion]:
        """A file on disk is the key's one version (processing pins it)."""
        if key in self.files:
            return [ObjectVersion(version_id="bench", etag='"bench"', size=self.files[key].stat().st_size)]
        return super().versions(key)

    def open(self, key: str, *, etag: str | None = None, version_id: str | None = None,
             start: int = 0) -> IO[bytes]:
        if key not in self.files:
            return super().open(key, etag=etag, version_id=version_id, start=start)
        stream = self.files[key].open("rb")
        stream.seek(start)
        return stream


class _BenchContainer(FakeContainer):
    @cached_property
    def objects(self) -> _FileBackedObjects:
        return _FileBackedObjects()


def _parse_only(path: Path) -> float:
    start = time.process_time()
    for _ in FORMATS["Tabular3column#v1"].parser(FileSource(str(path)), ParseOptions(date_style=DateStyle.BIG_ENDIAN)):
        pass
    return time.process_time() - start


def _process(path: Path) -> tuple[float, str, int]:
    c = _BenchContainer()
    account = c.account_service.create(TENANT, CreateBankAccount(bank_id="b", country_code="GBR",
                                                                 account_identifier="GB33BUKB20201555555555"))
    imp = c.import_service.create(TENANT, CreateImport(
        file_format="Tabular3column#v1", date_style=DateStyle.BIG_ENDIAN, bypass_replay_validation=True,
        bank_accounts=[ImportAccount(id=account.id)]))
    c.objects.files[imp.s3_key] = path
    c.workflow.claim(c.imports.get(TENANT, imp.id), None)
    start = time.process_time()
    outcome = c.processing.process(c.imports.get(TENANT, imp.id))
    cpu = time.process_time() - start
    return cpu, outcome, len(c.imports.get(TENANT, imp.id).chunk_keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "statement.csv"
        write_csv(path, rows)
        parse = _parse_only(path)
        cpu, outcome, chunks = _process(path)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows {rows:,}  parse only: {parse:.2f} s CPU ({rows / parse:,.0f} rows/s)  "
          f"processing: {cpu:.2f} s CPU ({rows / cpu:,.0f} rows/s, {chunks} chunks, outcome {outcome})  "
          f"processing / parse: {cpu / parse:.1f}x  peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
