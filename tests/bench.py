"""Parser benchmarks against baselines: `make bench` (or `python -m tests.bench --rows N`), and the
reconciliation matching section (tests/bench_reconcile.py).

Generates one file per format in a temporary directory, then parses each in a fresh subprocess
(so peak RSS, read from `ru_maxrss`, belongs to that run alone) and prints rows/s, MB/s and peak
RSS next to a baseline measured in the same run. Rates are CPU time of the parse in the child
(`time.process_time` around the parse loop, imports excluded), so that other work on a shared
machine slows neither side; wall time is reported beside it. Where a ratio is a target, ours and
the baseline are each run `--repeats` times (default 3), alternating, and the medians compared;
peak RSS is the largest of the runs. The baselines:

* CSV (`Tabular3column#v1`) against `csv.reader` + a pydantic model per row; a German bank export
  (cp1252, `;`, dd.mm.yyyy, quoted text, `-1.234,56`) against `csv.reader` + the conversions it needs
  (the date sliced, the grouping dots dropped and the comma made a point) + a pydantic model per row;
* OFX against ofxtools (on a smaller file, ofxtools holds the whole tree: rates are compared);
* CAMT.053 against plain lxml `iterparse` (every end event, the entry read with `findtext`);
* MT940 against `mt940.parse` of a whole (smaller) file; QIF and JSON without a baseline (a rate to
  reach instead).

Targets (exit status 1 when one is missed): both CSVs >= 2x their baselines, the German export of
`--big-mb` MB (default 250, about 4.7M rows) in at most 10 CPU seconds per 250 MB as processing takes it (the
reader's plain blocks handed over as columns; the parse giving a `ParsedLine` per line is shown beside), OFX >= 20x
ofxtools, CAMT >= 2x its baseline, MT940 >= 5x the mt-940 library, QIF and JSON >= 300,000 rows/s,
peak RSS under 256 MB for every format at the full row count, and OFX memory flat in the file size
(the full run within 32 MB of the small one). The table is also written to docs/bench.md. Nothing here
runs under pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RSS_LIMIT_MB = 256
FLAT_MB = 32


# --- file writers (streamed: the benchmark itself must not need the memory it measures) -------

def _rows(n: int) -> Any:
    start = date(2024, 1, 1)
    for i in range(n):
        yield i, start + timedelta(days=i % 365), Decimal(((i * 7919) % 2_000_000) - 1_000_000) / 100


def write_csv(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("date,description,amount\n")
        for i, day, amount in _rows(n):
            f.write(f"{day.isoformat()},Payment {i % 1000} to shop,{amount}\n")


def _german_amount(amount: Decimal) -> str:
    text = f"{abs(amount):,.2f}".replace(",", "\0").replace(".", ",").replace("\0", ".")
    return "-" + text if amount < 0 else text


#: bytes a row of `write_german_csv` takes on average (250 MB is then about 4.7M rows)
GERMAN_ROW_BYTES = 53.2


def write_german_csv(path: Path, n: int) -> None:
    """A German bank export: cp1252, semicolons, dd.mm.yyyy, quoted text, `-1.234,56` (53 bytes a row)."""
    with path.open("w", encoding="cp1252", newline="") as f:
        f.write("Buchungstag;Verwendungszweck;Betrag\n")
        for i, day, amount in _rows(n):
            f.write(f'{day:%d.%m.%Y};"Überweisung {i % 1000} an Müller GmbH";{_german_amount(amount)}\n')


def write_ofx(path: Path, n: int, xml: bool = False) -> None:
    from tests.unit.formats.structured_builders import (
        Stmt,
        Txn,
        ofx_head,
        ofx_statement_close,
        ofx_statement_open,
        ofx_transaction,
    )

    stmt = Stmt(account="123456789", currency="USD")
    with path.open("w", encoding="cp1252" if not xml else "utf-8") as f:
        f.write(ofx_head(xml) + "<BANKMSGSRSV1>\n" + ofx_statement_open(stmt, xml, 1))
        for i, day, amount in _rows(n):
            f.write(ofx_transaction(Txn(day, amount, f"FIT{i}", f"Payee {i % 1000}", f"Memo {i}"), xml))
        f.write(ofx_statement_close(stmt, xml) + "</BANKMSGSRSV1>\n</OFX>\n")


def write_camt(path: Path, n: int) -> None:
    from tests.unit.formats.structured_builders import (
        CAMT_TAIL,
        Stmt,
        Txn,
        camt_entry,
        camt_head,
        camt_statement_open,
    )

    stmt = Stmt(account="DE89370400440532013000", currency="EUR")
    with path.open("w", encoding="utf-8") as f:
        f.write(camt_head("08") + camt_statement_open(stmt, 1))
        for i, day, amount in _rows(n):
            f.write(camt_entry(Txn(day, amount, f"REF{i}", f"Invoice {i}"), "EUR"))
        f.write("</Stmt>\n" + CAMT_TAIL)


def write_mt940(path: Path, n: int) -> None:
    from tests.unit.formats.structured_builders import Stmt, Txn, mt940_statement

    per_statement = 1000
    with path.open("w", encoding="utf-8") as f:
        batch: list[Txn] = []
        index = 0
        for i, day, amount in _rows(n):
            batch.append(Txn(day, amount, f"B{i}", f"Invoice {i}"))
            if len(batch) == per_statement:
                index += 1
                f.writelines(mt940_statement(Stmt(f"DE89370400440532013{index % 1000:03d}", "EUR"), index, batch))
                batch = []
        if batch:
            f.writelines(mt940_statement(Stmt("DE89370400440532013999", "EUR"), index + 1, batch))


def write_qif(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write("!Type:Bank\n")
        for i, day, amount in _rows(n):
            f.write(f"D{day.isoformat()}\nT{amount}\nPPayee {i % 1000}\nMMemo {i}\nN{i}\n^\n")


def write_json(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write('{"bankAccounts": [{"accountIdentifier": "DE89370400440532013000", "currency": "EUR", '
                '"transactions": [\n')
        for i, day, amount in _rows(n):
            sep = "," if i else ""
            f.write(f'{sep}{{"transactionId": "T{i}", "datePosted": "{day.isoformat()}", "amount": "{amount}", '
                    f'"description": "Payment {i}"}}\n')
        f.write("]}]}\n")


# --- runs (each in its own process) --------------------------------------------------------------

def _ours(format_id: str, path: str) -> int:
    from tximport.formats.base import FileSource, ParsedLine, ParseOptions
    from tximport.formats.registry import FORMATS

    count = 0
    for event in FORMATS[format_id].parser(FileSource(path), ParseOptions()):
        if type(event) is ParsedLine:
            count += 1
    return count


def _columns(path: str) -> int:
    """The German export as processing takes it: the CSV reader's plain blocks as columns (`LineBlock`), a
    line that needs reading by rows as a `ParsedLine`."""
    from tximport.formats.base import FileSource, LineBlock, ParsedLine, ParseOptions
    from tximport.formats.registry import FORMATS

    count = 0
    for event in FORMATS["Tabular3column#v1"].parser(FileSource(path), ParseOptions(blocks=True)):
        if type(event) is LineBlock:
            count += len(event)
        elif type(event) is ParsedLine:
            count += 1
    return count


def _csv_pydantic(path: str) -> int:
    import csv

    from pydantic import BaseModel

    class Row(BaseModel):
        date: date
        description: str
        amount: Decimal

    count = 0
    with open(path, encoding="utf-8", newline="") as f:  # noqa: PTH123
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            Row(date=row[0], description=row[1], amount=row[2])
            count += 1
    return count


def _csv_pydantic_german(path: str) -> int:
    """csv.reader + the conversions a German export needs (dd.mm.yyyy, `-1.234,56`) + a pydantic model."""
    import csv

    from pydantic import BaseModel

    class Row(BaseModel):
        date: date
        description: str
        amount: Decimal

    count = 0
    with open(path, encoding="cp1252", newline="") as f:  # noqa: PTH123
        reader = csv.reader(f, delimiter=";")
        next(reader)
        for row in reader:
            day = row[0]
            Row(date=date(int(day[6:10]), int(day[3:5]), int(day[0:2])), description=row[1],
                amount=Decimal(row[2].replace(".", "").replace(",", ".")))
            count += 1
    return count


def _ofxtools(path: str) -> int:
    import warnings

    from ofxtools.Parser import OFXTree

    warnings.simplefilter("ignore")
    tree = OFXTree()
    tree.parse(path)
    return sum(len(s.banktranlist or []) for s in tree.convert().statements)


def _lxml_plain(path: str) -> int:
    from lxml import etree

    count = 0
    for _event, el in etree.iterparse(path, events=("end",), resolve_entities=False, no_network=True,
                                      load_dtd=False):
        if el.tag.endswith("}Ntry"):
            ns = el.tag[:-4]
            Decimal(el.findtext(f"{ns}Amt"))
            el.findtext(f"{ns}CdtDbtInd")
            date.fromisoformat(el.findtext(f"{ns}BookgDt/{ns}Dt"))
            count += 1
            el.clear()
            while el.getprevious() is not None:
                del el.getparent()[0]
    return count


def _mt940_whole(path: str) -> int:
    import mt940

    return len(mt940.parse(path))


#: the kind of the German export parsed as processing takes it
COLUMNS = "Tabular3column#v1 columns"


RUNNERS: dict[str, Callable[[str], int]] = {
    "csv-pydantic": _csv_pydantic,
    "csv-pydantic-german": _csv_pydantic_german,
    "ofxtools": _ofxtools,
    "lxml-iterparse": _lxml_plain,
    "mt940-parse": _mt940_whole,
    COLUMNS: _columns,
}


def _warm_up(kind: str) -> None:
    """Import what a run needs before the clock starts: imports are not parsing."""
    import csv  # noqa: F401

    import lxml.etree  # noqa: F401
    import mt940  # noqa: F401
    import pydantic  # noqa: F401

    if kind == "ofxtools":
        import ofxtools.Parser  # noqa: F401
    from tximport.formats import registry  # noqa: F401


def _child(kind: str, path: str) -> None:
    from tests import bench_pipeline

    _warm_up(kind)
    runners = {**RUNNERS, **bench_pipeline.RUNNERS}
    if kind in bench_pipeline.RUNNERS:
        import tests.bench_processing  # noqa: F401  (the container and the fakes: imports are not work)
        import tximport.services.processing  # noqa: F401
    cpu, wall = time.process_time(), time.perf_counter()
    count = runners[kind](path) if kind in runners else _ours(kind, path)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": count, "cpu": cpu, "wall": wall, "rss_mb": rss_kb / 1024}))


@dataclass
class Result:
    rows: int
    seconds: float  # CPU seconds of the parse
    wall: float
    rss_mb: float
    size_mb: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def mb_s(self) -> float:
        return self.size_mb / self.seconds if self.seconds else 0.0


def measure(kind: str, path: Path) -> Result:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'layers'}:{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run([sys.executable, "-m", "tests.bench", "--child", kind, str(path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} on {path.name} failed:\n{out.stderr[-2000:]}")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return Result(data["rows"], data["cpu"], data["wall"], data["rss_mb"], path.stat().st_size / 1e6)


def median_of(results: list[Result]) -> Result:
    """The median CPU and wall time of repeated runs, and the largest peak RSS."""
    first = results[0]
    if any(r.rows != first.rows for r in results):
        raise RuntimeError(f"repeated runs parsed different row counts: {[r.rows for r in results]}")
    return Result(first.rows, statistics.median(r.seconds for r in results),
                  statistics.median(r.wall for r in results), max(r.rss_mb for r in results), first.size_mb)


# --- the report ----------------------------------------------------------------------------------

@dataclass
class Case:
    label: str
    format_id: str
    writer: Callable[[Path, int], None]
    suffix: str
    baseline: str | None = None
    baseline_rows: int | None = None  # None: the full row count
    target: float | None = None  # our rate / baseline rate must reach this
    #: a file of this many MB instead of --rows rows, parsed in at most `seconds` CPU seconds per 250 MB
    size_mb: float | None = None
    seconds: float | None = None
    min_rate: float | None = None  # rows per CPU second our parse must reach


def cases(oracle_rows: int, big_mb: float) -> list[Case]:
    return [
        Case("CSV (Tabular3column#v1)", "Tabular3column#v1", write_csv, ".csv", "csv-pydantic", None, 2.0),
        Case("CSV German export (Tabular3column#v1)", "Tabular3column#v1", write_german_csv, ".csv",
             "csv-pydantic-german", None, 2.0),
        Case(f"CSV German export, {big_mb:g} MB (Tabular3column#v1), a ParsedLine per line", "Tabular3column#v1",
             write_german_csv, ".csv", size_mb=big_mb),
        Case(f"CSV German export, {big_mb:g} MB (Tabular3column#v1), as processing takes it: plain blocks as columns",
             COLUMNS, write_german_csv, ".csv", size_mb=big_mb, seconds=10.0),
        Case("OFX 1.x SGML (XML#OFX#v1)", "XML#OFX#v1", write_ofx, ".ofx", "ofxtools", oracle_rows, 20.0),
        Case("CAMT.053 .08 (CAMT053#v1)", "CAMT053#v1", write_camt, ".xml", "lxml-iterparse", None, 2.0),
        Case("MT940 (MT940#v1)", "MT940#v1", write_mt940, ".sta", "mt940-parse", oracle_rows, 5.0),
        Case("QIF (QIF#v1)", "QIF#v1", write_qif, ".qif", min_rate=300_000),
        Case("JSON (JSON#v0)", "JSON#v0", write_json, ".json", min_rate=300_000),
    ]


def _row_count(case: Case, rows: int) -> int:
    return round(case.size_mb * 1e6 / GERMAN_ROW_BYTES) if case.size_mb else rows


def run_case(case: Case, args: argparse.Namespace, tmp: str) -> tuple[str, list[str]]:
    """One line of the table for `case`, and the targets it missed."""
    rows = _row_count(case, args.rows)
    path = Path(tmp) / f"full{case.suffix}"
    case.writer(path, rows)
    repeats = (max(1, args.repeats) if case.target is not None or case.seconds is not None or case.min_rate
               else 1)
    base_path = Path(tmp) / f"base{case.suffix}"
    if case.baseline:
        case.writer(base_path, case.baseline_rows or rows)
    ours_runs: list[Result] = []
    base_runs: list[Result] = []
    for _ in range(repeats):  # alternating, so that a busy spell of the machine hits both sides
        ours_runs.append(measure(case.format_id, path))
        if case.baseline:
            base_runs.append(measure(case.baseline, base_path))
    ours = median_of(ours_runs)
    path.unlink()
    failures: list[str] = []
    if ours.rows != rows:
        failures.append(f"{case.label}: parsed {ours.rows} rows of {rows}")
    if ours.rss_mb >= RSS_LIMIT_MB:
        failures.append(f"{case.label}: peak RSS {ours.rss_mb:.0f} MB >= {RSS_LIMIT_MB} MB")
    target = f"< {RSS_LIMIT_MB} MB"
    if case.min_rate is not None:
        target = f">= {case.min_rate:,.0f} rows/s (median of {len(ours_runs)}), " + target
        if ours.rate < case.min_rate:
            failures.append(f"{case.label}: {ours.rate:,.0f} rows/s, target {case.min_rate:,.0f}")
    if case.seconds is not None:
        allowed = case.seconds * ours.size_mb / 250
        target = f"<= {case.seconds:g} s per 250 MB ({allowed:.1f} s here), " + target
        if ours.seconds > allowed:
            failures.append(f"{case.label}: {ours.seconds:.1f} CPU s, target {allowed:.1f} s")
    base_cells = "- | - | - | - | "
    if case.baseline:
        base = median_of(base_runs)
        if case.format_id == "XML#OFX#v1":
            small = measure(case.format_id, base_path)
            if ours.rss_mb - small.rss_mb > FLAT_MB:
                failures.append(f"{case.label}: RSS grows with the file ({small.rss_mb:.0f} MB at {small.rows} "
                                f"rows, {ours.rss_mb:.0f} MB at {ours.rows})")
        base_path.unlink()
        ratio = ours.rate / base.rate if base.rate else 0.0
        if case.target is not None:
            target = f">= {case.target:g}x, " + target
            if ratio < case.target:
                failures.append(f"{case.label}: {ratio:.1f}x its baseline, target {case.target:g}x")
        base_cells = (f"{case.baseline} ({base.rows:,} rows, median of {len(base_runs)}) | {base.rate:,.0f} "
                      f"| {base.rss_mb:.0f} | {ratio:.1f}x | ")
    line = (f"| {case.label} | {ours.rows:,} | {ours.size_mb:,.0f} | {ours.seconds:.2f} | {ours.wall:.2f} "
            f"| {ours.rate:,.0f} | {ours.mb_s:.1f} | {ours.rss_mb:.0f} | {base_cells}{target} "
            f"| {'NO' if failures else 'yes'} |")
    return line, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per generated file (ours)")
    parser.add_argument("--oracle-rows", type=int, default=20_000,
                        help="rows for the baselines that hold a whole file in memory (ofxtools, mt940)")
    parser.add_argument("--big-mb", type=float, default=250,
                        help="size of the large German export (its CPU target scales with it)")
    parser.add_argument("--only", nargs="*",
                        help="format ids or words of the labels to run, and/or `reconciliation`, `pipeline` "
                             "(default: every format and every section)")
    parser.add_argument("--mb", type=float, default=250,
                        help="size in MB of the pipeline section's generated statements (also run at a tenth)")
    parser.add_argument("--dup-rows", type=int, default=100_000,
                        help="file lines and ledger lines of the pipeline section's duplicate check")
    parser.add_argument("--commit-rows", type=int, default=20_000,
                        help="lines of the staged chunk the pipeline section's commit row writes")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of ours and of the baseline (alternating, medians compared) where a ratio "
                             "or a time is a target")
    parser.add_argument("--out", default=None,
                        help="markdown report ('' for none; default docs/bench.md for a whole run, none with --only, "
                             "so a partial run never replaces the whole report)")
    parser.add_argument("--reconcile-entries", type=int, default=100_000,
                        help="entries (and about as many ledger lines) for the reconciliation section")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0

    from tximport.formats.registry import FORMATS

    header = ("| format | rows | file MB | CPU s | wall s | rows/s | MB/s | peak RSS MB | baseline "
              "| baseline rows/s | baseline RSS MB | ratio | target | ok |")
    table = [header, "|" + " --- |" * 14]
    failures: list[str] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tximport-bench-") as tmp:
        for case in cases(args.oracle_rows, args.big_mb):
            if case.format_id not in FORMATS and case.format_id not in RUNNERS:
                print(f"skipped {case.label}: {case.format_id} is not in the registry", file=sys.stderr)
                continue
            if args.only and not any(o == case.format_id or o.lower() in case.label.lower() for o in args.only):
                continue
            line, missed = run_case(case, args, tmp)
            table.append(line)
            failures.extend(missed)
            print(line, flush=True)
    report = "\n".join(table)
    reconcile_text = ""
    if not args.only or "reconciliation" in args.only:
        from tests import bench_reconcile

        print("\nReconciliation matching (tests/bench_reconcile.py):", flush=True)
        rows, missed = bench_reconcile.run(args.reconcile_entries, repeats=args.repeats)
        failures += missed
        reconcile_text = ("\n## Reconciliation matching\n\n" + (bench_reconcile.__doc__ or "").split("\n\n")[0]
                          + "\n\n" + "\n".join(rows) + "\n")
    pipeline_text = ""
    if not args.only or "pipeline" in args.only:
        from tests import bench_pipeline

        print("\nPipeline (tests/bench_pipeline.py):", flush=True)
        with tempfile.TemporaryDirectory(prefix="tximport-pipeline-") as tmp:
            lines, missed = bench_pipeline.run(args.mb, args.dup_rows, args.commit_rows, max(1, args.repeats),
                                               measure, Path(tmp))
        failures += missed
        pipeline_text = ("\n## Pipeline: upload to awaitingConfirmation, duplicates, commit\n\n"
                         + (bench_pipeline.__doc__ or "").split("\n\n")[0] + "\n\n"
                         + f"`--mb {args.mb:g} --dup-rows {args.dup_rows} --commit-rows {args.commit_rows}`\n\n"
                         + "\n".join(lines) + "\n")
    # other work on the machine inflates CPU seconds too (shared caches and cores): the load is shown
    machine = (f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, load "
               f"average {load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the end")
    text = (f"# Parser benchmark\n\n`python -m tests.bench --rows {args.rows} --big-mb {args.big_mb:g} "
            f"--repeats {args.repeats}` ({machine}). Each run is a fresh process; peak RSS is its `ru_maxrss` "
            "(the largest of the runs). rows/s and MB/s are per CPU second of the parse (`time.process_time` in "
            "the child, imports excluded); wall seconds are shown beside. Where a ratio or a time is a target, "
            f"ours and the baseline ran {args.repeats} times each, alternating, and the table shows medians. "
            "Ratios compare rows/s.\n\n" + report + "\n" + reconcile_text + pipeline_text)
    if failures:
        text += "\nMissed targets:\n\n" + "\n".join(f"- {f}" for f in failures) + "\n"
    print()
    print(report)
    if reconcile_text:
        print(reconcile_text)
    if pipeline_text:
        print(pipeline_text)
    out = args.out if args.out is not None else ("" if args.only else str(ROOT / "docs" / "bench.md"))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")
    if failures:
        print("\nMissed targets:\n" + "\n".join(failures), file=sys.stderr)
        return 1
    print("\nAll targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
