"""The pipeline section of `make bench` (`python -m tests.bench --only pipeline --mb 250`): everything after
the parsers, as issue 14's table lists it. Not run under pytest.

* Upload -> awaitingConfirmation of a generated statement CSV of `--mb` megabytes (ISO dates, dot
  decimals, 3 columns; and German-style: `;`, decimal comma, thousands dots, dd.mm.yyyy): the CPU
  seconds of `ProcessingService.process` on the in-memory adapters (the file read from disk: ids,
  duplicate check against an empty ledger, the report, the gzip chunks), against the parse alone (the
  floor), each in a fresh process (peak RSS is that run's), alternating, medians of `--repeats`. The ISO
  file is also run at a tenth of the size: peak RSS must be flat (within 32 MB).
* The duplicate check of a `--dup-rows` file against a ledger of as many lines (built beforehand, ~270 a
  day): the per-day join (services/duplicates.py) against the row scan it replaced
  (tests/support/reference/row_duplicates.py), in this process; the ledger day reads are counted.
* Ledger commit, client CPU a line: `CommitService.commit_chunk` of a staged chunk with DynamoDB's HTTP
  answered by a stub inside botocore (serialization and signing are measured), against the floor:
  `batch_write_item` of the same items built beforehand, on a client with parameter validation off.
"""

from __future__ import annotations

import io
import random
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

RSS_LIMIT_MB = 256
FLAT_MB = 32
GERMAN_TARGET_S_AT_250MB = 30.0
DUP_TARGET_S = 3.0
COMMIT_TARGET_US = 90.0
PROCESS_TARGET_RATIO = 3.0
#: the split estimate: ranges of a 250 MB file, the wall-time target on AWS, and what a step costs besides
#: its CPU (a Lambda invocation and a Step Functions transition, warm: tens of ms; cold starts of the range
#: workers in parallel: ~1 s; taken together, generously)
SPLIT_RANGES = 8
SPLIT_TARGET_S = 30.0
SPLIT_OVERHEAD_S = 3.0

_WORDS = ["Kartenzahlung", "Lastschrift", "Gutschrift", "Dauerauftrag", "Überweisung", "Card payment", "Direct debit",
          "Salary", "Rent", "Coffee"]


# --- generated statements (date ordered, as banks write them; written streamed) ---------------------

def _lines(target_bytes: int, german: bool) -> Any:
    rng = random.Random(14)
    day = date(2020, 1, 1)
    written, n = 0, 0
    while written + 200 < target_bytes:  # under the size: 250 MB is the formats' limit
        n += 1
        if n % 180 == 0:
            day += timedelta(days=1)
        cents = rng.randrange(-250_000, 150_000)
        description = f"{_WORDS[n % len(_WORDS)]} {rng.randrange(0, 2000)} Ref {n % 997}"
        if german:
            whole, frac = divmod(abs(cents), 100)
            amount = f"{'-' if cents < 0 else ''}{whole:,}".replace(",", ".") + f",{frac:02d}"
            line = f"{day:%d.%m.%Y};{description};{amount}\n"
        else:
            line = f"{day.isoformat()},{description},{Decimal(cents) / 100}\n"
        written += len(line.encode())  # bytes: 250 MB is the formats' limit
        yield line


def write_statement(path: Path, mb: float, *, german: bool = False) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("Buchungstag;Verwendungszweck;Betrag\n" if german else "date,description,amount\n")
        f.writelines(_lines(int(mb * 1_000_000) - 100, german))


# --- runs in a child process (tests/bench.py --child) -------------------------------------------------

def _style(path: str) -> Any:
    from tximport.formats.base import DateStyle

    return DateStyle.LITTLE_ENDIAN if "german" in Path(path).name else DateStyle.BIG_ENDIAN


def parse_only(path: str) -> int:
    """The parse as a caller taking lines gets it: a `ParsedLine` per line."""
    from tximport.formats.base import FileSource, ParsedLine, ParseOptions
    from tximport.formats.registry import FORMATS

    return sum(1 for e in FORMATS["Tabular3column#v1"].parser(FileSource(path), ParseOptions(date_style=_style(path)))
               if type(e) is ParsedLine)


def parse_columns(path: str) -> int:
    """The parse as processing takes it: the reader's plain blocks as columns (`LineBlock`)."""
    from tximport.formats.base import FileSource, LineBlock, ParsedLine, ParseOptions
    from tximport.formats.registry import FORMATS

    options = ParseOptions(date_style=_style(path), blocks=True)
    return sum(len(e) if type(e) is LineBlock else 1
               for e in FORMATS["Tabular3column#v1"].parser(FileSource(path), options)
               if type(e) is LineBlock or type(e) is ParsedLine)


def process(path: str) -> int:
    from tests.bench_processing import TENANT, _BenchContainer, _FileBackedObjects
    from tximport.commands import CreateBankAccount, CreateImport, ImportAccount

    class Uploaded(_FileBackedObjects):
        """Staged chunks are counted and dropped, as an upload to S3 leaves the worker's memory."""

        def put(self, key: str, body: bytes, *, content_type: str, content_encoding: str | None = None) -> None:
            self.staged_bytes = getattr(self, "staged_bytes", 0) + len(body)

    c = _BenchContainer()
    c.__dict__["objects"] = Uploaded()
    account = c.account_service.create(TENANT, CreateBankAccount(bank_id="b", country_code="DEU",
                                                                 account_identifier="DE89370400440532013000"))
    imp = c.import_service.create(TENANT, CreateImport(
        file_format="Tabular3column#v1", date_style=_style(path), bypass_replay_validation=True,
        bank_accounts=[ImportAccount(id=account.id)]))
    c.objects.files[imp.s3_key] = Path(path)
    c.workflow.claim(c.imports.get(TENANT, imp.id), None)
    c.processing.split_bytes = 0  # one worker, whatever the size (the split row measures the ranges)
    outcome = c.processing.process(c.imports.get(TENANT, imp.id))
    done = c.imports.get(TENANT, imp.id)
    if outcome != "review" or done.summary is None:
        raise RuntimeError(f"processing answered {outcome}: {done.error_details}")
    return done.summary.transaction_details_count


def split(path: str) -> int:
    """The same import processed in ranges, every step in this process one after the other (the fakes keep
    the staged chunks as files beside `path`): the CPU seconds of the Process step (the split plan), of each
    range and of the reduce go to `<path>.split.json` (a range and the reduce are separate Lambda
    invocations on AWS; the Map runs the ranges at once)."""
    import json
    import tempfile

    from tests.bench_processing import TENANT, _BenchContainer, _FileBackedObjects
    from tximport.commands import CreateBankAccount, CreateImport, ImportAccount

    staged = Path(tempfile.mkdtemp(prefix="staged-", dir=Path(path).parent))

    class Stored(_FileBackedObjects):
        """Staged chunks and the split's documents as files (the reduce reads some of them back)."""

        def put(self, key: str, body: bytes, *, content_type: str, content_encoding: str | None = None) -> None:
            target = staged / key.replace("/", "_")
            target.write_bytes(body)
            self.files[key] = target

        def delete_prefix(self, prefix: str) -> int:
            gone = [k for k in self.files if k.startswith(prefix)]
            for key in gone:
                self.files.pop(key).unlink()
            return len(gone)

    c = _BenchContainer()
    c.__dict__["objects"] = Stored()
    account = c.account_service.create(TENANT, CreateBankAccount(bank_id="b", country_code="DEU",
                                                                 account_identifier="DE89370400440532013000"))
    imp = c.import_service.create(TENANT, CreateImport(
        file_format="Tabular3column#v1", date_style=_style(path), bypass_replay_validation=True,
        bank_accounts=[ImportAccount(id=account.id)]))
    c.objects.files[imp.s3_key] = Path(path)
    c.workflow.claim(c.imports.get(TENANT, imp.id), None)
    c.processing.split_bytes = -(-Path(path).stat().st_size // SPLIT_RANGES)
    plan_cpu, outcome = _cpu(lambda: c.processing.process(c.imports.get(TENANT, imp.id)))
    if outcome != "split":
        raise RuntimeError(f"processing answered {outcome}, not split")
    ranges = []
    for index in c.processing.split_ranges(c.imports.get(TENANT, imp.id)):
        ranges.append(_cpu(lambda i=index: c.split.process_range(c.imports.get(TENANT, imp.id), i))[0])
    reduce_cpu, outcome = _cpu(lambda: c.split.reduce(c.imports.get(TENANT, imp.id)))
    done = c.imports.get(TENANT, imp.id)
    if outcome != "review" or done.summary is None:
        raise RuntimeError(f"the reduce answered {outcome}: {done.error_details}")
    merged = all("/r0" in key for key in done.chunk_keys)
    Path(f"{path}.split.json").write_text(json.dumps({"plan": plan_cpu, "ranges": ranges, "reduce": reduce_cpu,
                                                       "merged": merged}))
    for file in staged.iterdir():
        file.unlink()
    staged.rmdir()
    return done.summary.transaction_details_count


RUNNERS: dict[str, Callable[[str], int]] = {"pipeline-parse": parse_only, "pipeline-columns": parse_columns,
                                            "pipeline-process": process, "pipeline-split": split}


# --- the in-process rows ---------------------------------------------------------------------------

def _cpu(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.process_time()
    answer = run()
    return time.process_time() - start, answer


class _DayLedger:
    """The ledger's reads as the detector makes them (`days`, `day_lines`), answered from lines built
    beforehand: the check is measured, not the decoding of DynamoDB items (the in-memory fake's deep copy
    of every line read would be most of the time); reads are counted."""

    def __init__(self) -> None:
        self.by_day: dict[tuple[str, date], list[Any]] = {}
        self.reads = 0

    def write(self, lines: list[Any]) -> None:
        for line in lines:
            self.by_day.setdefault((line.bank_account_id, line.date_posted), []).append(line)

    def days(self, tenant: Any, account_id: str, *, newest_first: bool = True) -> list[date]:
        return sorted((day for account, day in self.by_day if account == account_id), reverse=newest_first)

    def day_lines(self, tenant: Any, account_id: str, day: date) -> list[Any]:
        self.reads += 1
        return list(self.by_day.get((account_id, day), []))


def duplicates(rows: int, repeats: int) -> dict[str, Any]:
    """The duplicate check of `rows` lines against a ledger of `rows` lines: ours and the row scan."""
    from tests.support.reference.row_duplicates import DuplicateDetector as RowScan
    from tximport.models import LedgerLine, Tenant, utcnow
    from tximport.services.duplicates import DuplicateDetector

    tenant = Tenant(organisation_id="bench", company_id="bench")
    rng = random.Random(5)
    per_day = 270
    start = date(2023, 1, 1)
    ledger = _DayLedger()
    committed = utcnow()
    ledger.write([LedgerLine(
        transaction_id=f"L{n}", bank_account_id="acc", amount=Decimal(rng.randrange(-50_000, 50_000)) / 100,
        date_posted=start + timedelta(days=n // per_day), description=f"{_WORDS[n % 10]} {n % 301}",
        import_id="earlier", committed=committed) for n in range(rows)])
    lines = [(f"T{n}", start + timedelta(days=n // per_day + rng.randrange(-2, 3)),
              Decimal(rng.randrange(-50_000, 50_000)) / 100, f"{_WORDS[n % 10]} {n % 301}") for n in range(rows)]
    for n in range(0, rows, 20):  # one line in 20 is in the ledger already (the others may be similar lines)
        day = start + timedelta(days=n // per_day)
        lines[n] = (f"L{n}", day, lines[n][2], lines[n][3])
    results: dict[str, list[float]] = {"ours": [], "rows": []}
    verdicts: dict[str, int] = {}
    reads: dict[str, int] = {}
    for _ in range(repeats):
        for name, detector_class in (("ours", DuplicateDetector), ("rows", RowScan)):
            ledger.reads = 0
            detector = detector_class(ledger, tenant)
            cpu, found = _cpu(lambda d=detector: sum(1 for tx, day, amount, text in lines
                                                     if d.check("acc", tx, day, amount, text, None)))
            results[name].append(cpu)
            verdicts[name], reads[name] = found, ledger.reads
    if verdicts["ours"] != verdicts["rows"]:
        raise RuntimeError(f"the two checks disagree: {verdicts}")
    days = len({day for _, day, _, _ in lines})
    return {"ours": statistics.median(results["ours"]), "rows": statistics.median(results["rows"]),
            "verdicts": verdicts["ours"], "reads": reads["ours"], "days": days}


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Any:
        yield self.getvalue()


def _stub_client(validate: bool) -> Any:
    """A real botocore DynamoDB client whose HTTP send is answered by an empty BatchWriteItem result."""
    import boto3
    from botocore.awsrequest import AWSResponse
    from botocore.config import Config

    client = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench",
                                   region_name="us-east-1").client("dynamodb", config=Config(
                                       parameter_validation=validate))

    def answer(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, {"x-amz-crc32": "2745614147"}, _Raw(b"{}"))

    client.meta.events.register("before-send.dynamodb.BatchWriteItem", answer)
    return client


def commit(rows: int, repeats: int) -> dict[str, Any]:
    """Client CPU a line of committing one staged chunk of `rows` lines, and of the floor."""
    from tests.fakes.objects import InMemoryObjects
    from tximport.models import Import, ImportBankAccount
    from tximport.services.commit import CommitService
    from tximport.storage.batch import batch_write
    from tximport.storage.ledger import LedgerRepository, encode_staged
    from tximport.storage.staging import Staging, read_chunk, staging_json

    class Table:
        """The table resource: its name (a chunk's write leaves the days' balances to the RefreshBalances
        step), and the reads of the pending lines a booked line replaces, answered as on an empty day."""

        name = "ledger"

        def get_item(self, **_: Any) -> dict[str, Any]:
            return {}

        def query(self, **_: Any) -> dict[str, Any]:
            return {"Items": []}

        def put_item(self, **_: Any) -> dict[str, Any]:
            return {}

    class Decisions:
        def decisions(self, imp: Import) -> dict[str, str]:
            return {}

    staging = Staging(InMemoryObjects(), rows)
    writer = staging.row_writer("bench/")
    lines = []
    for n in range(rows):  # as processing stages a plain block's lines: each the first of its kind on its day (its
        # id left to the reader), no optional field, no verdict
        amount = Decimal(n % 90_000 - 45_000) / 100
        written = {"bankAccountId": "acc", "amount": f"{amount:f}", "currency": "EUR",
                   "datePosted": (date(2024, 1, 1) + timedelta(days=n % 300)).isoformat(),
                   "description": f"{_WORDS[n % 10]} {n}", "lineNumber": n + 2}
        lines.append(staging_json(written) + "\n")
    writer.write_text("".join(lines), rows)
    [key] = writer.close()
    imp = Import(id="imp", organisation_id="bench", company_id="bench", file_format="Tabular3column#v1",
                 s3_key="k", chunk_keys=[key], bank_accounts=[ImportBankAccount(id="acc")])
    service = CommitService(imports=Decisions(), ledger=LedgerRepository(Table(), _stub_client(True),  # type: ignore[arg-type]
                                                                          _stub_client(False)), staging=staging)
    items = [{"PutRequest": {"Item": encode_staged("T#bench#bench#A#", r, "imp", "2024-01-01T00:00:00.000Z")}}
             for r in read_chunk(staging.objects, key)]
    floor_client = _stub_client(False)
    ours, floor = [], []
    for _ in range(repeats):
        ours.append(_cpu(lambda: service.commit_chunk(imp, key))[0] / rows * 1e6)
        floor.append(_cpu(lambda: batch_write(floor_client, "ledger", items))[0] / rows * 1e6)
    return {"ours": statistics.median(ours), "floor": statistics.median(floor), "rows": rows}


def _split_row(mb: float, measure: Callable[[str, Path], Any], tmp: Path) -> Row:
    """The ISO file of `mb` MB in `SPLIT_RANGES` ranges: each step's CPU, and the estimated wall time on AWS
    (the Process step's plan, the slowest range, the reduce, the overhead), scaled to 250 MB when smaller."""
    import json

    path = tmp / f"iso-split-{mb:g}mb.csv"
    write_statement(path, mb)
    result = measure("pipeline-split", path)
    steps = json.loads(Path(f"{path}.split.json").read_text())
    path.unlink()
    Path(f"{path}.split.json").unlink()
    scale = 250 / mb
    ranges = steps["ranges"]
    estimate = (steps["plan"] + max(ranges) + steps["reduce"]) * scale + SPLIT_OVERHEAD_S
    scaled = f", x{scale:g} to 250 MB" if scale != 1 else ""
    return Row(f"ISO 3-column CSV, {mb:g} MB ({result.rows:,} rows) in {len(ranges)} ranges: upload -> "
               f"awaitingConfirmation on AWS, estimated (plan {steps['plan']:.2f} + slowest range {max(ranges):.2f} "
               f"+ reduce {steps['reduce']:.2f} CPU s{scaled}, + {SPLIT_OVERHEAD_S:g} s invocations; ranges "
               f"{', '.join(f'{r:.2f}' for r in ranges)}; {'merged' if steps['merged'] else 'read again in one run'})",
               f"{estimate:.1f} s wall (estimate)", f"all steps {result.seconds:.2f} CPU s (one worker doing all)",
               f"{result.seconds * scale / estimate:.1f}x faster", f"{result.rss_mb:.0f} (all steps in one process)",
               f"< {SPLIT_TARGET_S:g} s at 250 MB", estimate < SPLIT_TARGET_S and steps["merged"])


@dataclass
class Row:
    work: str
    ours: str
    floor: str
    ratio: str
    rss: str
    target: str
    ok: bool

    def markdown(self) -> str:
        return (f"| {self.work} | {self.ours} | {self.floor} | {self.ratio} | {self.rss} | {self.target} "
                f"| {'yes' if self.ok else 'NO'} |")


HEADER = ("| work | ours (CPU s, median) | floor or baseline (CPU s, median) | ratio | peak RSS MB | target | ok |\n"
          "| --- | --- | --- | --- | --- | --- | --- |")


def run(mb: float, dup_rows: int, commit_rows: int, repeats: int,
        measure: Callable[[str, Path], Any], tmp: Path) -> tuple[list[str], list[str]]:
    """Every row of the section (markdown lines) and the targets missed."""
    rows: list[Row] = []
    rss_by_size: dict[float, float] = {}
    for german, label in ((False, "ISO 3-column CSV"), (True, "German-style CSV")):
        sizes = [mb / 10, mb] if not german else [mb]
        for size in sizes:
            path = tmp / f"{'german' if german else 'iso'}-{size:g}mb.csv"
            write_statement(path, size, german=german)
            ours_runs, floor_runs, column_runs = [], [], []
            for _ in range(repeats):
                floor_runs.append(measure("pipeline-parse", path))
                column_runs.append(measure("pipeline-columns", path))
                ours_runs.append(measure("pipeline-process", path))
            path.unlink()
            ours = statistics.median(r.seconds for r in ours_runs)
            floor = statistics.median(r.seconds for r in floor_runs)
            columns = statistics.median(r.seconds for r in column_runs)
            rss = max(r.rss_mb for r in ours_runs)
            lines = ours_runs[0].rows
            if not german:
                rss_by_size[size] = rss
            ratio = ours / floor if floor else float("inf")
            if german:
                limit = GERMAN_TARGET_S_AT_250MB * size / 250
                ok = ours <= limit and rss < RSS_LIMIT_MB
                target = f"<= {limit:.1f} s ({GERMAN_TARGET_S_AT_250MB:g} s at 250 MB), < {RSS_LIMIT_MB} MB"
            else:
                ok = ratio <= PROCESS_TARGET_RATIO and rss < RSS_LIMIT_MB
                target = f"<= {PROCESS_TARGET_RATIO:g}x the parse, < {RSS_LIMIT_MB} MB"
            rows.append(Row(f"{label}, {size:g} MB ({lines:,} rows): upload -> awaitingConfirmation",
                            f"{ours:.2f} ({lines / ours:,.0f} rows/s)",
                            f"parse only {floor:.2f} (as columns, as processing takes it: {columns:.2f})",
                            f"{ratio:.1f}x ({ours / columns:.1f}x the columns' parse)" if columns else f"{ratio:.1f}x",
                            f"{rss:.0f}", target, ok))
            print(rows[-1].markdown(), flush=True)
    if len(rss_by_size) == 2:
        small, large = sorted(rss_by_size)
        grows = rss_by_size[large] - rss_by_size[small]
        rows.append(Row(f"ISO CSV peak RSS, {small:g} MB -> {large:g} MB", f"+{grows:.0f} MB", "-", "-",
                        f"{rss_by_size[small]:.0f} -> {rss_by_size[large]:.0f}", f"flat (within {FLAT_MB} MB)",
                        grows <= FLAT_MB))
        print(rows[-1].markdown(), flush=True)
    rows.append(_split_row(mb, measure, tmp))
    print(rows[-1].markdown(), flush=True)
    dup = duplicates(dup_rows, repeats)
    rows.append(Row(f"duplicate check, {dup_rows:,}-line file against a {dup_rows:,}-line ledger "
                    f"({dup['verdicts']:,} flagged, {dup['reads']:,} day reads for {dup['days']:,} days)",
                    f"{dup['ours']:.2f}", f"row scan {dup['rows']:.2f}", f"{dup['rows'] / dup['ours']:.1f}x faster",
                    f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} (this process)",
                    f"<= {DUP_TARGET_S:g} s, reads O(days)",
                    dup["ours"] <= DUP_TARGET_S and dup["reads"] <= dup["days"] + 10))
    print(rows[-1].markdown(), flush=True)
    com = commit(commit_rows, repeats)
    rows.append(Row(f"ledger commit, client CPU a line ({com['rows']:,}-line chunk, DynamoDB stubbed in botocore)",
                    f"{com['ours']:.0f} us", f"batch_write_item, validation off {com['floor']:.0f} us",
                    f"{com['ours'] / com['floor']:.2f}x", "-", f"<= {COMMIT_TARGET_US:g} us",
                    com["ours"] <= COMMIT_TARGET_US))
    print(rows[-1].markdown(), flush=True)
    missed = [f"pipeline: {r.work}: {r.ours} (target {r.target})" for r in rows if not r.ok]
    return [HEADER, *(r.markdown() for r in rows)], missed
