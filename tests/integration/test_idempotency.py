"""Safe retries: the Idempotency-Key header on POST /imports, /bankaccounts and the public transactions."""

from __future__ import annotations

import time
import uuid
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.client import Api
from tests.support.stack import new_api
from tximport.config import load_settings
from tximport.container import Container
from tximport.errors import Conflict
from tximport.models import Tenant
from tximport_cli.local.lambdas import FakeLambdaContext
from tximport_cli.local.stack import LocalStack

TRANSACTIONS = "/api/public/v1/transactions"


def post(api: Api, path: str, body: dict[str, Any], key: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {api.token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return api.session.post(f"{api.base_url}{path}", json=body, headers=headers, timeout=30)


def import_body(account_id: str, file_name: str = "statement") -> dict[str, Any]:
    return {"data": {"fileFormat": "Tabular3column#v1", "fileName": file_name, "dateStyle": "bigEndian",
                     "bankAccounts": [{"id": account_id}]}}


def account_body(identifier: str) -> dict[str, Any]:
    return {"data": {"bankId": "test-bank", "countryCode": "GBR", "accountIdentifier": identifier}}


def listed_imports(api: Api) -> list[str]:
    return [i["id"] for i in api.ok("GET", "/imports")["data"]]


def test_same_key_same_body_answers_the_first_import(api: Api):
    account = api.create_account()
    key = str(uuid.uuid4())
    first = post(api, "/imports", import_body(account), key)
    again = post(api, "/imports", import_body(account), key)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert "idempotent-replayed" not in {h.lower() for h in first.headers}
    assert again.headers.get("Idempotent-Replayed") == "true"
    import_id = first.json()["data"]["id"]
    assert again.json()["data"] == first.json()["data"]
    assert listed_imports(api) == [import_id]
    # a replay signs the upload URL again (the stored one expires long before the key), for the same object
    first_url, again_url = first.json()["links"]["uploadPath"], again.json()["links"]["uploadPath"]
    assert urlsplit(again_url).path == urlsplit(first_url).path
    api.upload(again_url, b"2024-03-01,Coffee,-3.50\n")
    assert api.wait(import_id)["status"] == "awaitingConfirmation"


def test_same_key_different_body_is_a_conflict(api: Api):
    account = api.create_account()
    key = str(uuid.uuid4())
    assert post(api, "/imports", import_body(account), key).status_code == 201
    reused = post(api, "/imports", import_body(account, file_name="another"), key)
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "IdempotencyKeyReused"
    assert len(listed_imports(api)) == 1


def test_without_the_header_each_post_creates(api: Api):
    account = api.create_account()
    first = post(api, "/imports", import_body(account), None)
    second = post(api, "/imports", import_body(account), None)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["data"]["id"] != second.json()["data"]["id"]
    assert len(listed_imports(api)) == 2


def test_keys_belong_to_one_tenant_and_one_route(stack: LocalStack, api: Api):
    other = new_api(stack)
    key, body = str(uuid.uuid4()), account_body("GB33BUKB20201555555555")
    mine, theirs = post(api, "/bankaccounts", body, key), post(other, "/bankaccounts", body, key)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["data"]["id"] != theirs.json()["data"]["id"]
    assert [a["id"] for a in other.ok("GET", "/bankaccounts")["data"]] == [theirs.json()["data"]["id"]]
    # the same key on another route is another key
    created = post(api, "/imports", import_body(mine.json()["data"]["id"]), key)
    assert created.status_code == 201 and "Idempotent-Replayed" not in created.headers


def test_bank_account_replay_creates_one_account(api: Api):
    key = str(uuid.uuid4())
    first = post(api, "/bankaccounts", account_body("DE89370400440532013000"), key)
    again = post(api, "/bankaccounts", account_body("DE89370400440532013000"), key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert [a["id"] for a in api.ok("GET", "/bankaccounts")["data"]] == [first.json()["data"]["id"]]


def test_public_transactions_replay_answers_the_same_counts_and_writes_once(api: Api):
    account = api.create_account("GB33BUKB20201555555555")
    body = {"transactions": [
        {"accountIdentifier": "GB33BUKB20201555555555", "transactionId": "tx-1", "text": "Coffee",
         "creditDebit": "debit", "amount": "3.50", "currency": "GBP", "valutaAt": "2024-03-01"},
        {"accountIdentifier": "GB33BUKB20201555555555", "transactionId": "tx-2", "text": "Salary",
         "creditDebit": "credit", "amount": "1500.00", "currency": "GBP", "valutaAt": "2024-03-02"},
        {"accountIdentifier": "unknown", "transactionId": "tx-3", "amount": "1", "valutaAt": "2024-03-02"},
    ]}
    key = str(uuid.uuid4())
    first = post(api, TRANSACTIONS, body, key)
    again = post(api, TRANSACTIONS, body, key)
    assert (first.status_code, again.status_code) == (201, 201)
    counts = (first.json()["newTransactions"], first.json()["existingTransactions"],
              first.json()["errorTransactions"])
    assert counts == (2, 0, 1)
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    ledger = api.ledger(account)
    assert sorted(r["transactionAmount"] for r in ledger) == [-350, 150000]  # integers of minor units, once
    # without the key the same post runs again: everything is already there
    fresh = post(api, TRANSACTIONS, body, None).json()
    assert (fresh["newTransactions"], fresh["existingTransactions"]) == (0, 2)


def test_a_failed_request_stores_nothing(api: Api):
    key, body = str(uuid.uuid4()), import_body(str(uuid.uuid4()))  # no such bank account
    first, again = post(api, "/imports", body, key), post(api, "/imports", body, key)
    assert (first.status_code, again.status_code) == (404, 404)
    assert again.json()["error"]["code"] == "BankAccountNotFound"  # ran again: not replayed, not in progress


@pytest.mark.parametrize("key", ["", "k" * 129])
def test_the_key_is_1_to_128_characters(api: Api, key: str):
    answer = post(api, "/bankaccounts", account_body("GB33BUKB20201555555555"), key)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "ValidationError"
    assert api.ok("GET", "/bankaccounts")["data"] == []


def test_a_request_in_progress_is_a_conflict_and_records_sit_in_the_tenant_partition(stack: LocalStack):
    # as the api handler does, with its Lambda context: a call that dies holds its key only until the timeout
    run = partial(Container(load_settings()).idempotency.run,
                  lambda_context=FakeLambdaContext(function_name="tximport-api", timeout_seconds=29))
    tenant = Tenant(organisation_id=f"org-{uuid.uuid4().hex[:8]}", company_id="co-1")
    key, body = str(uuid.uuid4()), {"data": {"n": 1}}
    seen: list[str] = []

    def retry_while_running() -> dict[str, Any]:
        try:
            run(tenant, "POST /things", key, body, lambda: {"never": True})
        except Conflict as exc:
            seen.append(exc.code)
        return {"statusCode": 201, "body": {"amount": "12.50"}}

    answer, replayed = run(tenant, "POST /things", key, body, retry_while_running)
    assert seen == ["IdempotencyRequestInProgress"]
    assert (answer, replayed) == ({"statusCode": 201, "body": {"amount": "12.50"}}, False)
    assert run(tenant, "POST /things", key, body, lambda: {"never": True}) == (answer, True)

    items = stack.clients.dynamodb.query(
        TableName=load_settings().imports_table, KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"T#{tenant.organisation_id}#co-1"}})["Items"]
    assert len(items) == 1
    item = items[0]
    assert item["sk"]["S"].startswith("IDEMPOTENCY#") and key not in item["sk"]["S"]
    assert item["status"]["S"] == "COMPLETED"
    assert 0 < int(item["inProgressExpiresAt"]["N"]) / 1000 - time.time() <= 29
    assert abs(int(item["expiresAt"]["N"]) - (time.time() + 24 * 3600)) < 120
