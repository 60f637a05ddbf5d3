"""Twenty clients at once through the local gateway, as API Gateway would serve them: every request is
answered (no reset, no 5xx), each tenant sees only its own data, and every import lands in its ledger."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from tests.support.client import Api
from tests.support.stack import new_api
from tximport_cli.local.stack import LocalStack

CLIENTS = 20


def _statement(n: int) -> bytes:
    return (f"Date,Description,Amount\n2024-03-0{n % 9 + 1},Client {n} coffee,-{n}.25\n"
            f"2024-03-1{n % 9},Client {n} salary,{1000 + n}.00\n").encode()


def _one_client(api: Api, n: int) -> dict:
    account = api.create_account()
    imp = api.import_file(account, _statement(n))
    assert imp["status"] == "awaitingConfirmation", imp
    assert len(api.review(imp["id"])) == 2
    assert api.confirm_and_complete(imp["id"])["status"] == "complete"
    return {"account": account, "import": imp["id"], "ledger": api.ledger(account),
            "imports": [i["id"] for i in api.ok("GET", "/imports")["data"]],
            "accounts": [a["id"] for a in api.ok("GET", "/bankaccounts")["data"]]}


def test_twenty_concurrent_clients_each_complete_their_import_and_see_only_their_own(stack: LocalStack):
    apis = [new_api(stack) for _ in range(CLIENTS)]
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(_one_client, apis, range(CLIENTS)))
    for n, result in enumerate(results):
        assert result["imports"] == [result["import"]]
        assert result["accounts"] == [result["account"]]
        # the exact decimal as `amount`; transactionAmount is the same in minor units (the document's integer)
        assert sorted((Decimal(t["amount"]), t["transactionAmount"]) for t in result["ledger"]) == \
            [(Decimal(f"-{n}.25"), -(n * 100 + 25)), (Decimal(f"{1000 + n}.00"), (1000 + n) * 100)]


def test_a_claim_that_loses_the_race_for_the_import_to_the_upload_runs_again(api: Api, monkeypatch):
    """The upload's handler starts the workflow and then marks the import processing; the workflow's
    claim may read the import before that write lands and save after it (ConcurrentUpdate). The claim
    runs again on the fresh import instead of failing a good file."""
    from tximport.services.workflow import WorkflowService

    claim, raced = WorkflowService.claim, []

    def losing_once(self: WorkflowService, imp, execution_arn):
        if not raced:
            raced.append(imp.id)
            self.imports.save(self.imports.get(imp.tenant, imp.id))  # another writer moves the version on
        return claim(self, imp, execution_arn)

    monkeypatch.setattr(WorkflowService, "claim", losing_once)
    done = api.import_file(api.create_account(), _statement(1))
    assert raced == [done["id"]]
    assert done["status"] == "awaitingConfirmation", done
