"""Calls at the confirmation timeout (issue 13, item 3): with a 3 s window, 11 confirms and 11 amends
arrive around the moment it closes (from 1.5 s before to 0.2 s after). Whatever each call is told, every
execution ends with its import final (complete, or error with ConfirmationExpired), the ledger holds the
file exactly when the import completed, and the import queued behind it on the same account starts."""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.support.client import poll
from tests.support.stack import new_api
from tximport.commands import FlipSigns
from tximport.config import load_settings
from tximport.container import Container
from tximport.errors import Conflict
from tximport.models import Tenant
from tximport.runtime import container

WINDOW = 3
STATEMENT = (b"date,description,amount\n2024-03-01,Coffee,-3.50\n2024-03-02,Salary,2500.00\n"
             b"2024-03-03,Rent,-950.00\n2024-03-04,Books,-20.00\n")
#: when each trial's call arrives, relative to the end of the window (seconds)
#: (the two earliest make sure a confirm in time completes even on a loaded machine)
OFFSETS = (-1.5, -0.6, -0.4, -0.3, -0.2, -0.1, -0.1, -0.05, 0.0, 0.1, 0.2)
CONCURRENT_TRIALS = 4


@pytest.fixture()
def short_window() -> Iterator[None]:
    uploads = container().uploads
    saved = uploads.confirmation_timeout
    uploads.confirmation_timeout = WINDOW
    yield
    uploads.confirmation_timeout = saved


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


def _execution(stack: Any, import_id: str) -> str:
    return f"{stack.state_machine_arn.replace(':stateMachine:', ':execution:')}:{import_id}"


def _window_closes(stack: Any, import_id: str) -> float:
    """When the import's current confirmation window closes (epoch seconds), from the execution history."""
    history = stack.clients.stepfunctions.get_execution_history(
        executionArn=_execution(stack, import_id), maxResults=1000, reverseOrder=True)["events"]
    entered = next(e for e in history if e["type"] == "TaskStateEntered"
                   and e["stateEnteredEventDetails"]["name"] == "AwaitConfirmation")
    return float(entered["timestamp"].timestamp()) + WINDOW


def _ended(stack: Any, import_id: str) -> bool:
    status = stack.clients.stepfunctions.describe_execution(executionArn=_execution(stack, import_id))["status"]
    return bool(status != "RUNNING")


def _status(warm: Container, tenant: Tenant, import_id: str, *wanted: str, timeout: float = 60) -> dict[str, Any]:
    """Poll the import through a warm instance (no HTTP: the local gateway runs one API call at a time,
    which would make 24 pollers miss a 3 s window)."""
    deadline = time.monotonic() + timeout
    while (imp := warm.imports.get(tenant, import_id)).status.value not in wanted:
        assert time.monotonic() < deadline, f"import {import_id} is {imp.status.value}, not {wanted}: {imp}"
        time.sleep(0.05)
    return {"status": imp.status.value, "code": imp.error_details[0].code if imp.error_details else None,
            "amendCount": imp.amend_count}


def _call(warm: Container, tenant: Tenant, call: str, import_id: str, account: str) -> str:
    """The call's answer, as a client sees it: one that lost a race with another write on the import (a loaded
    machine's await step storing its token late) tries again, as a client told 409 ConcurrentUpdate does."""
    for _ in range(20):
        try:
            if call == "confirm":
                warm.import_service.confirm(tenant, import_id)
            else:
                warm.import_service.amend(tenant, import_id, FlipSigns(bank_account_ids=[account]))
            return "204"
        except Conflict as exc:
            if exc.code != "ConcurrentUpdate":
                return f"409 {exc.code}"
            time.sleep(0.05)
    return "409 ConcurrentUpdate"


def _trial(stack: Any, call: str, offset: float) -> dict[str, Any]:
    api = new_api(stack)
    tenant = Tenant(organisation_id=api.organisation_id, company_id=api.company_id)
    warm = Container(load_settings(function="api"), session=_session())
    account = api.create_account()
    # two imports on one account, uploaded together: one takes the account, the other queues behind it
    uploads = [api.create_import(account) for _ in range(2)]
    api.upload(uploads[0][1], STATEMENT)
    api.upload(uploads[1][1], STATEMENT.replace(b"Books", b"Tea"))
    ids = [import_id for import_id, _ in uploads]
    deadline = time.monotonic() + 60
    while True:
        statuses = {i: warm.imports.get(tenant, i).status.value for i in ids}
        active = [i for i in ids if statuses[i] in ("awaitingConfirmation", "error")]
        if active:
            break
        assert time.monotonic() < deadline, statuses
        time.sleep(0.05)
    first_id = active[0]
    second_id = next(i for i in ids if i != first_id)
    queued = warm.imports.get(tenant, second_id).status.value == "queued"
    # the call arrives `offset` seconds from the end of the window
    time.sleep(max(0.0, _window_closes(stack, first_id) + offset - time.time()))
    answer = _call(warm, tenant, call, first_id, account)
    # every execution ends with its import final ...
    poll(lambda: _ended(stack, first_id), timeout=60, what="the first execution to end")
    done = _status(warm, tenant, first_id, "complete", "error", timeout=30)
    lines, _ = warm.ledger_queries.page(tenant, account, limit=100, cursor=None)
    # ... and the import queued behind it starts, then is deleted (or expires) and ends too
    second = _status(warm, tenant, second_id, "awaitingConfirmation", "error")
    if second["status"] == "awaitingConfirmation":
        with contextlib.suppress(Conflict):  # unless it expired meanwhile
            warm.import_service.delete(tenant, second_id)
    poll(lambda: _ended(stack, second_id), timeout=60, what="the second execution to end")
    second = _status(warm, tenant, second_id, "deleted", "error", timeout=30)
    return {"call": call, "offset": offset, "answer": answer, **done, "ledger": len(lines),
            "second": second["status"], "queued": queued}


@pytest.mark.usefixtures("short_window")
def test_calls_at_the_timeout_never_leave_an_import_stuck_and_the_queue_drains(stack):
    results: list[dict[str, Any]] = []
    failures: list[BaseException] = []

    # a few at a time: the local stack runs one invocation per function at a time, so many more would
    # queue the await step's invocation past the 3 s window before the call is even made
    running = threading.Semaphore(CONCURRENT_TRIALS)

    def run(call: str, offset: float) -> None:
        with running:
            try:
                results.append(_trial(stack, call, offset))
            except BaseException as exc:  # noqa: BLE001 - every trial's failure is reported below
                failures.append(exc)

    trials = [(call, offset) for call in ("confirm", "amend") for offset in OFFSETS]
    threads = [threading.Thread(target=run, args=trial) for trial in trials]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not failures, failures
    assert len(results) == len(trials) >= 20
    for r in results:
        if r["status"] == "complete":  # only a confirm that was told 204 completes, with the whole file
            assert (r["call"], r["answer"], r["ledger"]) == ("confirm", "204", 4), r
        else:  # everything else expired: nothing in the ledger
            assert (r["status"], r["code"], r["ledger"]) == ("error", "ConfirmationExpired", 0), r
            assert r["answer"].startswith("409") or (r["call"], r["answer"], r["amendCount"]) == ("amend", "204", 1), r
            if r["answer"].startswith("409"):
                assert r["amendCount"] == 0, r  # a refused call changed nothing
        assert r["second"] in ("deleted", "error"), r
    # both sides of the boundary were exercised, and most second imports waited in the queue
    assert {r["status"] for r in results if r["call"] == "confirm"} == {"complete", "error"}, results
    assert sum(r["queued"] for r in results) >= len(results) // 2, results
