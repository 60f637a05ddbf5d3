"""Crash and retry at every step (issue 13, item 11), through the real ASL with the local stack's fault
injection (TXIMPORT_LOCAL_FAULTS, tximport_cli.local.faults): each task of an import's workflow fails
once in turn, before its handler runs or after it ran to its end with its answer lost (a crash between
its writes and its reply, e.g. between the ledger write and the status write). The state machine's
Retry runs the task again, and every import still ends complete, with its execution SUCCEEDED, its
account released and the ledger holding exactly the file: no line doubled or lost.

All cases run at once, one import each (every fault names its import), so the tier costs about one
import's time and the retries' back-off."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.support.client import Api, poll
from tximport.runtime import container
from tximport_cli.local.faults import ENV, parse

LINES = 5
#: three staged chunks of two lines at most, so the commit has a first, middle and last chunk
CHUNK_ROWS = 2
AMOUNTS = [Decimal("-3.50"), Decimal("2500.00"), Decimal("-950.00"), Decimal("-20.25"), Decimal("0.01")]
STATEMENT = b"date,description,amount\n" + b"".join(
    f"2024-06-{n + 1:02d},Line {n},{amount}\n".encode() for n, amount in enumerate(AMOUNTS))

#: (function, invocation, when): the workflow function runs claim (1), await confirmation (2, with a
#: task token), begin commit (3) and complete (4) for an import; commit runs once per chunk. A failure
#: after the handler ran is the hard case, tried at every step; one before it ran, once per function
CASES = [
    *[("workflow", n, "after") for n in (1, 2, 3, 4)], ("workflow", 2, "before"),
    ("process", 1, "before"), ("process", 1, "after"),
    *[("commit", n, "after") for n in (1, 2, 3)], ("commit", 2, "before"),
]


def _execution_status(stack: Any, import_id: str) -> str:
    arn = f"{stack.state_machine_arn.replace(':stateMachine:', ':execution:')}:{import_id}"
    return str(stack.clients.stepfunctions.describe_execution(executionArn=arn)["status"])


def test_the_fault_switch_reads_what_it_documents():
    faults = parse("commit@imp-1:2:after, process:1")
    assert [(f.function, f.import_id, f.invocation, f.when) for f in faults] == [
        ("commit", "imp-1", 2, "after"), ("process", None, 1, "before")]
    for wrong in ("commit", "commit:0", "commit:x", "commit:1:during"):
        with pytest.raises(ValueError):
            parse(wrong)


def test_every_task_failing_once_is_retried_to_the_same_ledger(api: Api, stack, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(container().staging, "chunk_rows", CHUNK_ROWS)
    cases: dict[str, tuple[str, int, str]] = {}
    accounts: dict[str, str] = {}
    uploads: dict[str, str] = {}
    for case in CASES:
        account = api.create_account()
        import_id, upload_path = api.create_import(account)
        cases[import_id], accounts[import_id], uploads[import_id] = case, account, upload_path
    monkeypatch.setenv(ENV, ",".join(f"{fn}@{i}:{n}:{when}" for i, (fn, n, when) in cases.items()))

    for upload_path in uploads.values():
        api.upload(upload_path, STATEMENT)
    for import_id in cases:
        imp = api.wait(import_id, "awaitingConfirmation", "error", timeout=120)
        assert imp["status"] == "awaitingConfirmation", (cases[import_id], imp["errorDetails"])
        api.ok("POST", f"/imports/{import_id}/confirm", expect=204)

    for import_id, case in cases.items():
        done = api.wait(import_id, "complete", "error", timeout=120)
        assert done["status"] == "complete", (case, done["errorDetails"])
        ledger = api.ledger(accounts[import_id])
        assert sorted(Decimal(r["amount"]) for r in ledger) == sorted(AMOUNTS), case
        assert len({r["transactionId"] for r in ledger}) == LINES, case
        poll(lambda i=import_id: _execution_status(stack, i) == "SUCCEEDED", timeout=60,  # type: ignore[misc]
             what=f"the execution of {case} to succeed")
    # each account is free again: a second import on it starts at once
    again = api.import_file(accounts[next(iter(cases))], STATEMENT.replace(b"Line", b"Again"))
    assert again["status"] == "awaitingConfirmation"
