"""Races against the local stack (issue 13, item 2, and what already holds): the real ASL in moto, and
concurrent callers that each hold their own warm copy of the service (a `Container` per thread, as
concurrent Lambda instances each hold theirs), so calls really interleave in DynamoDB and Step Functions.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import boto3

from tests.support.client import Api
from tests.support.stack import new_api
from tximport.commands import FlipSigns
from tximport.config import load_settings
from tximport.container import Container
from tximport.models import Tenant

#: 20 lines, 3 of which the reviewer marks skip
STATEMENT = b"date,description,amount\n" + b"".join(
    f"2024-02-{day:02d},Line {day},-{day}.25\n".encode() for day in range(1, 21))
SKIPPED = ("Line 3", "Line 7", "Line 11")


def _race(*calls: Callable[[], Any]) -> list[BaseException | None]:
    """Run the calls at once, one thread (and one warm container) each; answer what each raised."""
    outcomes: list[BaseException | None] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int, call: Callable[[], Any]) -> None:
        start.wait()
        try:
            call()
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@functools.cache
def _session() -> boto3.session.Session:
    """One boto3 session for every instance (made once the stack has set the environment): each
    instance still builds its own clients, but the service models load once, not once a second each."""
    return boto3.session.Session()


def _warm(tenant: Tenant, import_id: str, count: int) -> list[Container]:
    """`count` warm instances of the api function, each with its own settings, clients and services
    (each has read the import once, so no cold start is left inside the race)."""
    settings = load_settings(function="api")
    instances = [Container(settings, session=_session()) for _ in range(count)]
    for instance in instances:
        instance.imports.get(tenant, import_id)
        instance.workflow_engine.resume  # noqa: B018 - builds the Step Functions client now
    return instances


def _reviewed(api: Api) -> tuple[str, str]:
    account = api.create_account()
    imp = api.import_file(account, STATEMENT)
    assert imp["status"] == "awaitingConfirmation", imp
    for row in api.review(imp["id"]):
        if row["description"] in SKIPPED:
            api.ok("PATCH", f"/imports/{imp['id']}/reviewtransactions/{row['transactionId']}",
                   json={"data": {"decision": "skip"}}, expect=204)
    return account, imp["id"]


def _amend_races_confirm(api: Api) -> str:
    """One trial: answers who took the confirmation token ("amend" or "confirm")."""
    # Given an import awaiting confirmation with 3 of its 20 lines marked skip
    account, import_id = _reviewed(api)
    tenant = Tenant(organisation_id=api.organisation_id, company_id=api.company_id)
    line5 = next(r["transactionId"] for r in api.review(import_id) if r["description"] == "Line 5")
    amending, confirming, deciding = _warm(tenant, import_id, 3)
    # When an amend, a confirm and one more decision arrive at once on warm concurrent instances
    outcomes = _race(
        lambda: amending.import_service.amend(tenant, import_id, FlipSigns(bank_account_ids=[account])),
        lambda: confirming.import_service.confirm(tenant, import_id),
        lambda: deciding.review_service.set_decision(tenant, import_id, line5, "skip"))
    # Then the losers were refused (409), and whoever won is followed through
    assert all(getattr(o, "status_code", None) == 409 for o in outcomes if o is not None), outcomes
    amended, confirmed = outcomes[0] is None, outcomes[1] is None
    assert amended or confirmed, outcomes
    if amended and not confirmed:  # the amended file is processed and reviewed again, then confirmed
        imp = api.wait(import_id, "awaitingConfirmation", "error")
        assert imp["status"] == "awaitingConfirmation" and imp["amendCount"] == 1
        api.ok("POST", f"/imports/{import_id}/confirm", expect=204)
    done = api.wait(import_id, "complete", "error")
    assert done["status"] == "complete" and done["amendCount"] == int(amended)
    # and the ledger holds exactly what the review showed when the confirm won
    plan = api.ok("GET", f"/imports/{import_id}/dryrun")["data"]
    ledger = api.ledger(account)
    assert len(ledger) == plan["add"]
    assert sum(Decimal(r["amount"]) for r in ledger) == sum(Decimal(a["addSum"]) for a in plan["accounts"])
    if amended:  # a new generation: the signs flipped, the old decisions no longer apply
        assert len(ledger) == 20 and all(Decimal(r["amount"]) > 0 for r in ledger)
        return "amend"
    assert not {r["description"] for r in ledger} & set(SKIPPED)
    assert len(ledger) == 20 - len(SKIPPED) - (outcomes[2] is None)
    return "confirm"


def test_amend_racing_confirm_with_skips_writes_exactly_what_was_reviewed(stack):
    """10 trials at once, each on its own tenant and account: ledger lines == reviewed lines in every one."""
    winners: list[str] = []
    failures: list[BaseException] = []

    def trial() -> None:
        try:
            winners.append(_amend_races_confirm(new_api(stack)))
        except BaseException as exc:  # noqa: BLE001 - reported below with every other trial's
            failures.append(exc)

    threads = [threading.Thread(target=trial) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures
    assert len(winners) == 10


def test_ten_concurrent_confirms_write_the_ledger_once(api: Api):
    account = api.create_account()
    imp = api.import_file(account, STATEMENT)
    tenant = Tenant(organisation_id=api.organisation_id, company_id=api.company_id)
    outcomes = _race(*[lambda c=c: c.import_service.confirm(tenant, imp["id"]) for c in _warm(tenant, imp["id"], 10)])
    assert outcomes == [None] * 10  # confirm is idempotent: every caller is told it is confirmed
    assert api.wait(imp["id"], "complete", "error")["status"] == "complete"
    assert len(api.ledger(account)) == 20


def test_delete_racing_confirm_leaves_one_outcome(api: Api):
    account, import_id = _reviewed(api)
    tenant = Tenant(organisation_id=api.organisation_id, company_id=api.company_id)
    deleting, confirming = _warm(tenant, import_id, 2)
    outcomes = _race(lambda: deleting.import_service.delete(tenant, import_id),
                     lambda: confirming.import_service.confirm(tenant, import_id))
    assert all(getattr(o, "status_code", None) == 409 for o in outcomes if o is not None), outcomes
    deleted, confirmed = outcomes[0] is None, outcomes[1] is None
    final = api.wait(import_id, "deleted", "error") if deleted else api.wait(import_id, "complete", "error")
    if confirmed:  # the confirm won (a delete that came after the commit finished deletes a complete import)
        assert final["status"] == ("deleted" if deleted else "complete")
        assert len(api.ledger(account)) == 20 - len(SKIPPED)
    else:
        assert final["status"] == "deleted" and api.ledger(account) == []
    # either way the account is free for the next import
    nxt = api.import_file(account, STATEMENT.replace(b"Line", b"Next"))
    assert nxt["status"] == "awaitingConfirmation"
