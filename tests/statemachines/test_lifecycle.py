"""The real ASL (statemachines/import.asl.json) executed by moto's interpreter, our handlers in-process.

Driven through the public surface: the HTTP API, a presigned S3 PUT, and the state machine's own
execution history.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.support.client import Api, poll
from tximport.runtime import container

STATEMENT = (b"date,description,amount\n"
             b"2024-03-01,Coffee,-3.50\n"
             b"2024-03-01,Coffee,-3.50\n"
             b"2024-03-02,Salary,2500.00\n"
             b"2024-03-03,Rent,-950.00\n")


def execution(stack, import_id: str) -> dict:
    sfn = stack.clients.stepfunctions
    arn = f"{stack.state_machine_arn.replace(':stateMachine:', ':execution:')}:{import_id}"
    return sfn.describe_execution(executionArn=arn)


def test_happy_path_from_upload_to_ledger(api: Api, stack):
    # Given a bank account and an import awaiting its file
    account = api.create_account()
    import_id, upload_path = api.create_import(account)
    assert api.get_import(import_id)["status"] == "awaitingFileUpload"
    # When the file is uploaded with the presigned URL
    api.upload(upload_path, STATEMENT)
    # Then the workflow parses it and waits for confirmation with a report
    imp = api.wait(import_id, "awaitingConfirmation", "error")
    assert imp["status"] == "awaitingConfirmation", imp
    summary = imp["statement"]["summary"]
    assert summary["transactionDetailsCount"] == 4
    assert (summary["transactionCreditCount"], summary["transactionDebitCount"]) == (1, 3)
    assert summary["transactionCreditSum"] == 250000 and summary["creditAmount"] == "2500.00"
    assert summary["transactionDebitSum"] == -95700 and summary["debitAmount"] == "-957.00"
    assert (summary["transactionRangeStartDate"], summary["transactionRangeEndDate"]) == (
        "2024-03-01T00:00:00.000Z", "2024-03-03T00:00:00.000Z")
    rows = api.review(import_id)
    assert [r["description"] for r in rows] == ["Coffee", "Coffee", "Salary", "Rent"]
    assert rows[0]["transactionId"] != rows[1]["transactionId"]  # two equal coffees stay two
    assert {r["transactionType"] for r in rows} == {"DEBIT", "CREDIT"}
    # When it is confirmed
    done = api.confirm_and_complete(import_id)
    assert done["status"] == "complete"
    # Then the ledger holds the lines, newest first, and the execution succeeded
    ledger = api.ledger(account)
    assert [r["postingDate"] for r in ledger] == ["2024-03-03", "2024-03-02", "2024-03-01", "2024-03-01"]
    assert sum(Decimal(r["amount"]) for r in ledger) == Decimal("1543.00")
    assert all(r["importId"] == import_id for r in ledger)
    poll(lambda: execution(stack, import_id)["status"] == "SUCCEEDED", what="execution to succeed")


def test_no_transaction_rows_travel_in_state_payloads(api: Api, stack):
    account = api.create_account()
    imp = api.import_file(account, STATEMENT)
    api.confirm_and_complete(imp["id"])
    poll(lambda: execution(stack, imp["id"])["status"] == "SUCCEEDED", what="execution end")
    history = stack.clients.stepfunctions.get_execution_history(
        executionArn=execution(stack, imp["id"])["executionArn"], maxResults=1000)["events"]
    text = json.dumps(history, default=str)
    assert "Salary" not in text and "2500.00" not in text
    assert "staging/" in text  # chunk keys, not rows


def test_parse_error_ends_in_error_with_details(api: Api):
    account = api.create_account()
    imp = api.import_file(account, b"date,description,amount\nnot-a-date,Coffee,abc\n2024-13-45,Bad,1\n")
    assert imp["status"] == "error"
    assert imp["errorDetails"][0]["code"] == "InvalidSourceData"
    details = api.ok("GET", f"/imports/{imp['id']}/errordetails")["data"]
    lines = [d for d in details if d["lineNumber"] is not None]
    assert [d["lineNumber"] for d in lines] == [2, 3]
    assert lines[0]["code"] == "InvalidDate" and lines[0]["actualValue"] == "not-a-date"
    assert lines[0]["target"] == "date"


def test_empty_file_ends_in_error(api: Api):
    account = api.create_account()
    imp = api.import_file(account, b"")
    assert imp["status"] == "error"
    assert imp["errorDetails"][0]["code"] == "EmptyFile"


def test_file_larger_than_the_format_allows_ends_in_error(api: Api, monkeypatch):
    import dataclasses

    from tximport.formats import registry

    small = dataclasses.replace(registry.FORMATS["Tabular3column#v1"], max_file_size=20)
    monkeypatch.setitem(registry.FORMATS, "Tabular3column#v1", small)
    account = api.create_account()
    imp = api.import_file(account, STATEMENT)
    assert imp["status"] == "error"
    assert imp["errorDetails"][0]["code"] == "FileTooLarge"


def test_wrong_format_ends_in_error_never_stuck(api: Api):
    account = api.create_account()
    imp = api.import_file(account, b"\x00\x01\x02PK\x03\x04 binary junk \xff\xfe")
    assert imp["status"] == "error"
    assert imp["errorDetails"]


def test_confirm_twice_writes_the_ledger_once(api: Api):
    account = api.create_account()
    imp = api.import_file(account, STATEMENT)
    api.ok("POST", f"/imports/{imp['id']}/confirm", expect=204)
    api.ok("POST", f"/imports/{imp['id']}/confirm", expect=204)
    api.wait(imp["id"], "complete", "error")
    api.ok("POST", f"/imports/{imp['id']}/confirm", expect=204)
    assert len(api.ledger(account)) == 4


def test_the_same_upload_event_twice_starts_one_execution(api: Api, stack):
    account = api.create_account()
    import_id, upload_path = api.create_import(account)
    api.upload(upload_path, STATEMENT)
    api.wait(import_id, "awaitingConfirmation")
    key = f"uploads/{api.organisation_id}/{api.company_id}/{import_id}"
    event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "awsRegion": "us-east-1",
                          "s3": {"bucket": {"name": "b", "arn": "arn:aws:s3:::b"},
                                 "object": {"key": key.replace("/", "%2F"), "size": len(STATEMENT)}}}]}
    for _ in range(2):
        answer = stack.clients.lambda_.invoke(FunctionName="tximport-on-upload", Payload=json.dumps(event))
        assert json.loads(answer["Payload"].read())["results"][0]["outcome"] == "duplicate"
    executions = stack.clients.stepfunctions.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    assert [e["name"] for e in executions].count(import_id) == 1
    assert api.get_import(import_id)["status"] == "awaitingConfirmation"


def test_delete_while_awaiting_confirmation(api: Api, stack):
    account = api.create_account()
    imp = api.import_file(account, STATEMENT)
    prefix = f"staging/{api.organisation_id}/{api.company_id}/{imp['id']}/"
    s3 = stack.clients.s3
    assert s3.list_objects_v2(Bucket="tximport-local-data", Prefix=prefix).get("KeyCount", 0) > 0
    api.ok("DELETE", f"/imports/{imp['id']}", expect=204)
    assert api.get_import(imp["id"])["status"] == "deleted"
    poll(lambda: execution(stack, imp["id"])["status"] == "SUCCEEDED", what="the waiting execution to end")
    assert s3.list_objects_v2(Bucket="tximport-local-data", Prefix=prefix).get("KeyCount", 0) == 0
    upload_key = f"uploads/{api.organisation_id}/{api.company_id}/{imp['id']}"
    assert s3.list_objects_v2(Bucket="tximport-local-data", Prefix=upload_key).get("KeyCount", 0) == 0
    assert api.ledger(account) == []
    # the account is free again: the next import runs straight away
    nxt = api.import_file(account, STATEMENT)
    assert nxt["status"] == "awaitingConfirmation"


def test_a_deleted_import_with_rejected_lines_still_lists_its_problems(api: Api):
    account = api.create_account()
    imp = api.import_file(account, b"Date,Description,Amount\n2025-12-01,ok,-1.00\n2025-13-01,bad,-1.00\n")
    assert imp["status"] == "awaitingConfirmation"
    assert [d["code"] for d in api.ok("GET", f"/imports/{imp['id']}/errordetails")["data"]].count("InvalidDate") == 1
    api.ok("DELETE", f"/imports/{imp['id']}", expect=204)
    # the rejected lines went with the staged rows; the import's own problems remain, never a 500
    listed = api.ok("GET", f"/imports/{imp['id']}/errordetails")
    assert "Deleted" in [d["code"] for d in listed["data"]] and "InvalidDate" not in [d["code"] for d in listed["data"]]
    assert listed["meta"]["total"] == len(listed["data"])


def test_a_line_booked_on_a_day_no_ledger_keeps_is_rejected_with_its_line(api: Api):
    account = api.create_account()
    imp = api.import_file(account, b"Date,Description,Amount\n2025-12-01,ok,-1.00\n9999-12-31,far,-1.00\n")
    assert imp["status"] == "awaitingConfirmation" and len(api.review(imp["id"])) == 1
    (rejected,) = [d for d in api.ok("GET", f"/imports/{imp['id']}/errordetails")["data"] if d["code"] == "InvalidDate"]
    assert (rejected["lineNumber"], rejected["actualValue"], rejected["target"]) == (3, "9999-12-31", "Date")


def test_delete_is_refused_while_processing_states(api: Api):
    account = api.create_account()
    import_id, _ = api.create_import(account)
    answer = api.call("DELETE", f"/imports/{import_id}")
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "InvalidImportStatus"


def test_confirmation_timeout_ends_in_documented_status(api: Api, stack):
    uploads = container().uploads
    saved = uploads.confirmation_timeout
    uploads.confirmation_timeout = 1
    try:
        account = api.create_account()
        imp = api.import_file(account, STATEMENT)
        assert imp["status"] == "awaitingConfirmation"
        expired = api.wait(imp["id"], "error", timeout=30)
    finally:
        uploads.confirmation_timeout = saved
    assert expired["errorDetails"][0]["code"] == "ConfirmationExpired"
    assert api.call("POST", f"/imports/{imp['id']}/confirm").status_code == 409
    # its account was released
    assert api.import_file(account, STATEMENT.replace(b"Rent", b"Rent March"))["status"] == "awaitingConfirmation"


@pytest.mark.parametrize("path", ["/imports/{id}", "/imports/{id}/reviewtransactions", "/imports/{id}/errordetails"])
def test_another_tenant_sees_404(api: Api, stack, path):
    from tests.support.stack import new_api

    account = api.create_account()
    imp = api.import_file(account, STATEMENT)
    other = new_api(stack)
    answer = other.call("GET", path.format(id=imp["id"]))
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "ImportNotFound"
    assert other.call("GET", f"/bankaccounts/{account}").status_code == 404
    assert other.call("POST", f"/imports/{imp['id']}/confirm").status_code == 404
