"""Crash and retry at every step (issue 13, item 11), through the real ASL with the local stack's fault
injection (TXIMPORT_LOCAL_FAULTS, tximport_cli.local.faults): each task of an import's workflow fails
once in turn, before its handler runs or after it ran to its end with its answer lost (a crash between
its writes and its reply, e.g. between the ledger write and the status write). The state machine's
Retry runs the task again, and every import still ends complete, with its execution SUCCEEDED, its
account released and the ledger holding exactly the file: no line doubled or lost.

All cases run at once, one import each (every fault names its import), so the tier costs about one
import's time and the retries' back-off."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from tests.support.client import Api, poll
from tximport.runtime import container
from tximport.services import uploads
from tximport_cli.local.faults import ENV, hang_seconds, parse

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
    faults = parse("commit@imp-1:2:after, process:1, revert@imp-2:1:timeout")
    assert [(f.function, f.import_id, f.invocation, f.when) for f in faults] == [
        ("commit", "imp-1", 2, "after"), ("process", None, 1, "before"), ("revert", "imp-2", 1, "timeout")]
    assert hang_seconds({"timeoutSeconds": 2}, 900) == 3 and hang_seconds({}, 60) == 61
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


# --- the revert ------------------------------------------------------------------------------------
BEFORE = {"transactionId": "before-1", "text": "Before the import", "creditDebit": "debit", "amount": "1.00",
          "currency": "GBP", "valutaAt": "2024-05-31"}


def _complete_on_an_account_with_a_line(api: Api) -> tuple[str, str]:
    """An account with one line of its own, and a complete import of STATEMENT (three chunks) on it."""
    identifier = f"GB{uuid.uuid4().hex[:12]}"
    account = api.create_account(identifier)
    api.ok("POST", "/api/public/v1/transactions", expect=201,
           json={"transactions": [{**BEFORE, "accountIdentifier": identifier}]})
    imp = api.import_file(account, STATEMENT)
    assert api.confirm_and_complete(imp["id"])["status"] == "complete"
    assert len(api.ledger(account)) == LINES + 1
    return account, imp["id"]


def _once(key: str, fired: set[str], lock: threading.Lock) -> bool:
    with lock:
        if key in fired:
            return False
        fired.add(key)
        return True


def _revert_settled(api: Api, import_id: str) -> dict[str, Any] | None:
    data = api.get_import(import_id, report=False)
    return data if data.get("revertStatus") in ("reverted", "revertFailed") else None


def test_a_revert_of_many_runs_finishes_in_one_request(api: Api, stack, monkeypatch: pytest.MonkeyPatch):
    """Each run of the revert workflow may handle one chunk here (as a run out of time hands on): one POST
    /revert still ends reverted, its workflow having run the step once a chunk, and the ledger holds what it
    held before the import, with the account's balance of that alone."""
    c = container()
    monkeypatch.setattr(c.staging, "chunk_rows", CHUNK_ROWS)
    account, import_id = _complete_on_an_account_with_a_line(api)
    monkeypatch.setattr(c.revert, "chunks_per_run", 1)

    api.ok("POST", f"/imports/{import_id}/revert", expect=202)
    done = poll(lambda: _revert_settled(api, import_id), timeout=120, what="the revert")

    assert done["revertStatus"] == "reverted" and done["revertedLineCount"] == LINES, done
    assert [r["amount"] for r in api.ledger(account)] == ["-1.00"]
    sfn = stack.clients.stepfunctions
    (execution,) = [e["executionArn"] for e in sfn.list_executions(stateMachineArn=stack.state_machine_arns["revert"])[
        "executions"] if e["name"].startswith(f"{import_id}-revert-")]
    poll(lambda: sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED",
         timeout=60, what="the revert's execution to succeed")
    history = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    runs = [e for e in history if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] ==
            "RevertRun"]
    assert len(runs) == 3  # five lines in three chunks of two at most: a run each


def test_a_revert_failing_or_crashing_once_still_leaves_the_ledger_as_before_the_import(
        api: Api, stack: Any, monkeypatch: pytest.MonkeyPatch):
    """A run of the revert workflow fails once in turn: before it ran, after it ran (its answer lost),
    between its last ledger delete and the status write (a crash: the step's Retry runs it again and
    finishes it), and in its second chunk's delete (recorded revertFailed: the client's next POST /revert
    continues). Each time the ledger ends as it was before the import."""
    c = container()
    monkeypatch.setattr(c.staging, "chunk_rows", CHUNK_ROWS)
    cases = ["before", "after", "crash before the status write", "second chunk fails"]
    with ThreadPoolExecutor(len(cases)) as pool:  # the four imports at once: one import's time
        imports = dict(zip(cases, pool.map(lambda _: _complete_on_an_account_with_a_line(api), cases), strict=True))
    by_id = {import_id: case for case, (_, import_id) in imports.items()}
    fired: set[str] = set()
    lock = threading.Lock()
    finish, delete = c.revert._finish, c.ledger.delete_many_if_from_import
    chunks_seen: dict[str, int] = {}

    def crashing_finish(imp: Any) -> Any:
        if by_id.get(imp.id) == "crash before the status write" and _once("finish", fired, lock):
            raise RuntimeError("injected crash: every line deleted, the status not yet written")
        return finish(imp)

    def failing_delete(tenant: Any, rows: Any, import_id: str, **kwargs: Any) -> Any:
        if by_id.get(import_id) == "second chunk fails":
            with lock:
                chunks_seen[import_id] = seen = chunks_seen.get(import_id, 0) + 1
            if seen == 2:
                raise RuntimeError("injected failure of the second chunk's delete")
        return delete(tenant, rows, import_id, **kwargs)

    monkeypatch.setattr(c.revert, "_finish", crashing_finish)
    monkeypatch.setattr(c.ledger, "delete_many_if_from_import", failing_delete)
    monkeypatch.setenv(ENV, f"revert@{imports['before'][1]}:1:before,revert@{imports['after'][1]}:1:after")

    for _, import_id in imports.values():
        api.ok("POST", f"/imports/{import_id}/revert", expect=202)

    for case, (account, import_id) in imports.items():
        done = poll(lambda i=import_id: _revert_settled(api, i), timeout=60,  # type: ignore[misc]
                    what=f"the revert of {case}")
        if case == "second chunk fails":  # recorded, and the next revert continues where it stopped
            assert done["revertStatus"] == "revertFailed", done
            sfn = stack.clients.stepfunctions
            (execution,) = [e["executionArn"] for e in sfn.list_executions(
                stateMachineArn=stack.state_machine_arns["revert"])["executions"]
                if e["name"].startswith(f"{import_id}-revert-")]
            poll(lambda arn=execution, client=sfn: client.describe_execution(  # type: ignore[misc]
                executionArn=arn)["status"] == "FAILED", timeout=30, what="the failed revert's execution to fail")
            api.ok("POST", f"/imports/{import_id}/revert", expect=202)
            done = poll(lambda i=import_id: _revert_settled(api, i), timeout=60,  # type: ignore[misc]
                        what="the second revert")
        assert done["revertStatus"] == "reverted", (case, done)
        ledger = api.ledger(account)
        assert [r["amount"] for r in ledger] == ["-1.00"], (case, ledger)  # the line it had before, alone
        assert done["revertedLineCount"] == LINES, (case, done)


# --- timeouts ---------------------------------------------------------------------------------------
def test_a_process_run_hanging_past_its_step_timeout_is_timed_out_and_retried(
        api: Api, stack, monkeypatch: pytest.MonkeyPatch):
    """The first Process run hangs past the step's (here 3 s) timeout: Step Functions times it out and its
    Retry runs it again, while the hung run goes on late, as Lambda does. The import still completes
    with the file's lines, once each."""
    monkeypatch.setattr(uploads, "process_timeout", lambda size: 3)
    account = api.create_account()
    import_id, upload_path = api.create_import(account)
    monkeypatch.setenv(ENV, f"process@{import_id}:1:timeout")
    api.upload(upload_path, STATEMENT)
    imp = api.wait(import_id, "awaitingConfirmation", "error", timeout=120)
    assert imp["status"] == "awaitingConfirmation", imp["errorDetails"]
    assert api.confirm_and_complete(import_id)["status"] == "complete"
    ledger = api.ledger(account)
    assert sorted(Decimal(r["amount"]) for r in ledger) == sorted(AMOUNTS)
    assert len({r["transactionId"] for r in ledger}) == LINES
    poll(lambda: _execution_status(stack, import_id) == "SUCCEEDED", timeout=60, what="the execution to succeed")
    history = stack.clients.stepfunctions.get_execution_history(
        executionArn=f"{stack.state_machine_arn.replace(':stateMachine:', ':execution:')}:{import_id}",
        maxResults=1000)["events"]
    assert any(e["type"] == "LambdaFunctionTimedOut" or "TimedOut" in e["type"] for e in history), \
        [e["type"] for e in history]


def test_a_parse_past_its_budget_ends_in_error_quickly_and_the_account_runs_the_next_import(
        api: Api, monkeypatch: pytest.MonkeyPatch):
    """Process's own deadline (here a budget of nothing at all): the import ends in error
    ProcessingTimeout naming the line reached, and the account takes the next import at once."""
    account = api.create_account()
    monkeypatch.setattr(container().processing, "budget_seconds", 1e-9)
    stopped = api.import_file(account, STATEMENT)
    assert stopped["status"] == "error", stopped
    detail = stopped["errorDetails"][0]
    assert detail["code"] == "ProcessingTimeout" and detail["lineNumber"] >= 1, detail
    monkeypatch.setattr(container().processing, "budget_seconds", None)
    nxt = api.import_file(account, STATEMENT.replace(b"Line", b"Next"))
    assert nxt["status"] == "awaitingConfirmation", nxt
