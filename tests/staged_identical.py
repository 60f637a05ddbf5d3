"""Whether processing stages the same rows as another version of the code: `python tests/staged_identical.py OLD`
(OLD: a tree of that version, e.g. `mkdir /tmp/main && git archive main | tar -x -C /tmp/main`).

Writes the pipeline bench's statements (tests/bench_pipeline.py: the ISO 3-column CSV and the German-style one,
`--mb` megabytes each, 2.5 unless told), processes each with one worker, once with this tree's code and once with
OLD's, each in a child process with that tree first on its path, and compares what they staged: the decompressed
chunks record by record, each as a reader gets it (`staging.staged_record`: a row whose id processing left to
its readers gets it there), and the report (outcome, summary, error and validation details); it says how many
chunk lines differ as bytes. The account's id is fixed,
so that the ids are comparable. Exit status 1 when anything differs. Not run under pytest (a minute or so): a
check for work that must leave the results as they were.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_ID = "01234567-89ab-7cde-8f01-23456789abcd"


def stage(path: str, out: Path) -> None:
    """Process `path` (in the child) and write its decompressed chunks and its report under `out`."""
    from tests.bench_pipeline import _style
    from tests.bench_processing import TENANT, _BenchContainer, _FileBackedObjects
    from tximport.commands import CreateBankAccount, CreateImport, ImportAccount
    from tximport.services import accounts
    from tximport.storage.staging import decompress_chunk

    accounts.new_id = lambda: ACCOUNT_ID  # type: ignore[attr-defined]
    staged: dict[str, bytes] = {}

    class Kept(_FileBackedObjects):
        def put(self, key: str, body: bytes, *, content_type: str, content_encoding: str | None = None) -> None:
            if "/rows-" in key or "/errors-" in key:
                staged[key] = decompress_chunk(key, body)
            else:
                super().put(key, body, content_type=content_type, content_encoding=content_encoding)

    c = _BenchContainer()
    c.__dict__["objects"] = Kept()
    account = c.account_service.create(TENANT, CreateBankAccount(bank_id="b", country_code="DEU",
                                                                 account_identifier="DE89370400440532013000"))
    imp = c.import_service.create(TENANT, CreateImport(
        file_format="Tabular3column#v1", date_style=_style(path), bypass_replay_validation=True,
        bank_accounts=[ImportAccount(id=account.id)]))
    c.objects.files[imp.s3_key] = Path(path)
    c.workflow.claim(c.imports.get(TENANT, imp.id), None)
    c.processing.split_bytes = 0
    outcome = c.processing.process(c.imports.get(TENANT, imp.id))
    done = c.imports.get(TENANT, imp.id)
    out.mkdir(parents=True, exist_ok=True)
    for n, key in enumerate(done.chunk_keys + done.error_chunk_keys):
        (out / f"{n:04d}-{'rows' if '/rows-' in key else 'errors'}.jsonl").write_bytes(staged[key])
    report: dict[str, Any] = {
        "outcome": outcome, "summary": done.summary.model_dump(mode="json") if done.summary else None,
        "errorDetails": [d.model_dump(mode="json") for d in done.error_details],
        "validationDetails": [d.model_dump(mode="json") for d in done.validation_details]}
    (out / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True))


def _staged_by(tree: Path, path: Path, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree / "layers"), str(tree)])}
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(path), str(out)], env=env,
                   check=True)


def _records(path: Path) -> list[dict[str, Any]]:
    from tximport.storage.staging import staged_record

    return [staged_record(line) for line in path.read_bytes().splitlines()]


def _differences(mine: Path, theirs: Path) -> tuple[list[str], int]:
    """The files whose records differ (or that only one side has), and how many lines differ as bytes."""
    names = sorted({p.name for p in mine.iterdir()} | {p.name for p in theirs.iterdir()})
    differ, lines = [], 0
    for name in names:
        if not (mine / name).exists() or not (theirs / name).exists():
            differ.append(name)
            continue
        a, b = (mine / name).read_bytes(), (theirs / name).read_bytes()
        lines += sum(x != y for x, y in zip(a.splitlines(), b.splitlines(), strict=False))
        same = a == b or (name.endswith(".jsonl") and _records(mine / name) == _records(theirs / name))
        if not same:
            differ.append(name)
    return differ, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", nargs="?", type=Path, help="a tree of the other version")
    parser.add_argument("--mb", type=float, default=2.5)
    parser.add_argument("--child", nargs=2, metavar=("PATH", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        stage(args.child[0], Path(args.child[1]))
        return
    if args.old is None:
        parser.error("the other version's tree is needed")
    sys.path.insert(0, str(ROOT))
    from tests.bench_pipeline import write_statement

    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for name, german in (("iso", False), ("german", True)):
            path = Path(tmp) / f"{name}.csv"  # ("german" in the name: the bench reads it day first)
            write_statement(path, args.mb, german=german)
            _staged_by(ROOT, path, Path(tmp) / f"{name}-this")
            _staged_by(args.old.resolve(), path, Path(tmp) / f"{name}-old")
            differ, lines = _differences(Path(tmp) / f"{name}-this", Path(tmp) / f"{name}-old")
            chunks = sorted((Path(tmp) / f"{name}-this").glob("*.jsonl"))
            size = sum(p.stat().st_size for p in chunks)
            verdict = f"DIFFER in {differ}" if differ else f"identical records ({lines:,} lines differ as bytes)"
            print(f"{name}: {len(chunks)} chunks, {size:,} bytes: {verdict}")
            failed = failed or bool(differ)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
