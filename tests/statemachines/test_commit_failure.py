"""A commit that fails part-way, through the real ASL (issue 13, item 5): the lines it wrote are
removed by the workflow's UndoCommit step before the failure is recorded, so the ledger never holds
part of a file; the import ends in error with its revert status reverted, and DELETE works on it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pytest

from tests.support.client import Api, poll
from tximport.models import Tenant
from tximport.runtime import container

LINES = 60
STATEMENT = b"date,description,amount\n" + b"".join(
    f"2024-05-{1 + n % 28:02d},Line {n},-{n + 1}.25\n".encode() for n in range(LINES))


def _execution_status(stack: Any, import_id: str) -> str:
    arn = f"{stack.state_machine_arn.replace(':stateMachine:', ':execution:')}:{import_id}"
    return str(stack.clients.stepfunctions.describe_execution(executionArn=arn)["status"])


def _a_commit_that_is_undone(api: Api) -> tuple[str, dict[str, Any]]:
    """The statement imported into a new account and confirmed, its commit failing: the account, and the import
    ended in error with its lines undone."""
    account = api.create_account()
    imp = api.import_file(account, STATEMENT)
    assert imp["status"] == "awaitingConfirmation", imp
    failed = api.confirm_and_complete(imp["id"])
    assert failed["status"] == "error", failed
    assert "CommitUndone" in [d["code"] for d in failed["errorDetails"]], failed["errorDetails"]
    return account, failed


def test_a_commit_that_fails_part_way_leaves_no_line_of_the_file(api: Api, stack, monkeypatch: pytest.MonkeyPatch):
    ledger = container().ledger
    write_staged = ledger.write_staged

    def dies_after_50(tenant: Tenant, records: Iterable[Mapping[str, Any]], **options: Any) -> int:
        """Writes the first 50 staged lines of an import of this tenant (the commit workers' write), then
        fails as a storage error would."""
        if tenant.organisation_id != api.organisation_id:
            return write_staged(tenant, records, **options)
        taken: list[Mapping[str, Any]] = []
        source: Iterator[Mapping[str, Any]] = iter(records)
        for record in source:
            taken.append(record)
            if len(taken) == 50:
                break
        write_staged(tenant, taken, **options)
        raise RuntimeError("the ledger refused line 51")

    monkeypatch.setattr(ledger, "write_staged", dies_after_50)

    account, imp = _a_commit_that_is_undone(api)

    assert api.ledger(account) == []  # nothing listed ...
    tenant = Tenant(organisation_id=api.organisation_id, company_id=api.company_id)
    assert not any(ledger.day_lines(tenant, account, day) for day in ledger.days(tenant, account))  # ... or stored
    poll(lambda: _execution_status(stack, imp["id"]) == "FAILED", what="the execution to fail")
    monkeypatch.undo()
    api.ok("DELETE", f"/imports/{imp['id']}", expect=204)
    assert api.get_import(imp["id"])["status"] == "deleted"


def test_balances_that_cannot_be_recomputed_undo_the_commit(api: Api, stack, monkeypatch: pytest.MonkeyPatch):
    """Every chunk was written, then the RefreshBalances step fails for good: the lines leave the ledger
    (a ledger with lines its balances leave out is never left behind) and the import ends in error."""
    commit = container().commit
    refresh = commit.refresh_balances

    def fails(imp: Any) -> int:
        if imp.organisation_id != api.organisation_id:
            return refresh(imp)
        raise RuntimeError("the ledger refused the balances")

    monkeypatch.setattr(commit, "refresh_balances", fails)

    account, _ = _a_commit_that_is_undone(api)

    assert api.ledger(account) == []
    balance = api.ok("GET", f"/bankaccounts/{account}/transactions", params={"include": "balance"})["meta"]["balance"]
    assert balance["amount"] is None, balance
