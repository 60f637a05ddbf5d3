"""The committed file is the reviewed file (issue 13, item 6): a second PUT to an import's presigned URL
at each moment it can land, through the local stack (versioned bucket, real ASL, our handlers).

Before the commit the import fails loudly (status error, FileChanged) and writes nothing; once it is
committed the later version is removed, so the stored file stays the one in the ledger; a deleted
import keeps no version of its file, even after another PUT.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.support.client import Api, poll
from tximport.services import processing

HEADER = b"date,description,amount\n"
#: the file the client means: many lines
FIRST = HEADER + b"".join(b"2024-03-%02d,Line %d,-%d.25\n" % (1 + n % 28, n, n + 1) for n in range(200))
#: what lands over it: one line
SECOND = HEADER + b"2024-03-05,Something else,-1.00\n"


def _versions(stack, import_id: str, api: Api) -> list[dict[str, Any]]:
    key = api.get_import(import_id, report=False)["s3FilePath"]
    answer = stack.clients.s3.list_object_versions(Bucket=stack.describe()["bucket"], Prefix=key)
    return [v for v in answer.get("Versions", []) if v["Key"] == key]


def _stored(stack, import_id: str, api: Api) -> bytes:
    key = api.get_import(import_id, report=False)["s3FilePath"]
    return stack.clients.s3.get_object(Bucket=stack.describe()["bucket"], Key=key)["Body"].read()


def _execution_status(stack, import_id: str) -> str:
    arn = f"{stack.state_machine_arn.replace(':stateMachine:', ':execution:')}:{import_id}"
    return stack.clients.stepfunctions.describe_execution(executionArn=arn)["status"]


def _failed_file_changed(api: Api, import_id: str, account: str) -> None:
    """The import ends in error with FileChanged, nothing of either file in the ledger, and nothing
    more can be done with it but delete."""
    failed = api.wait(import_id, "error", "complete", timeout=60)
    assert failed["status"] == "error", failed
    assert failed["errorDetails"][0]["code"] == "FileChanged", failed["errorDetails"]
    assert api.call("POST", f"/imports/{import_id}/confirm").status_code == 409
    assert api.ledger(account) == []


def test_a_second_put_right_after_the_first_fails_the_import(api: Api, stack):
    account = api.create_account()
    import_id, upload_path = api.create_import(account)
    api.upload(upload_path, FIRST)
    api.upload(upload_path, SECOND)  # at once: before or while the first is processed
    _failed_file_changed(api, import_id, account)
    poll(lambda: _execution_status(stack, import_id) != "RUNNING", what="the execution to end")


def test_a_put_while_the_file_is_processed_fails_the_import(api: Api, stack, monkeypatch: pytest.MonkeyPatch):
    account = api.create_account()
    import_id, upload_path = api.create_import(account)
    original = processing.report_warnings
    landed: list[str] = []

    def second_put_meanwhile(*args: Any, **kwargs: Any) -> Any:
        # every line of the first file is read and staged; the import is not saved yet
        if not landed:
            landed.append(import_id)
            response = requests.put(upload_path, data=SECOND, timeout=30)
            assert response.status_code == 200, response.text
        return original(*args, **kwargs)

    monkeypatch.setattr(processing, "report_warnings", second_put_meanwhile)
    api.upload(upload_path, FIRST)
    _failed_file_changed(api, import_id, account)
    assert landed == [import_id]
    poll(lambda: _execution_status(stack, import_id) != "RUNNING", what="the execution to end")


def test_a_put_after_review_fails_the_import_and_ends_its_execution(api: Api, stack):
    account = api.create_account()
    import_id, upload_path = api.create_import(account)
    api.upload(upload_path, FIRST)
    assert api.wait(import_id, "awaitingConfirmation", "error")["status"] == "awaitingConfirmation"
    api.upload(upload_path, SECOND)
    _failed_file_changed(api, import_id, account)
    amend = api.call("POST", f"/imports/{import_id}/amendtransactions",
                     json={"data": {"flipTransactions": {"bankAccountIds": [account]}}})
    assert amend.status_code == 409
    ended = poll(lambda: (status := _execution_status(stack, import_id)) != "RUNNING" and status)
    assert ended == "SUCCEEDED"  # the wait ended with the import: nothing waits for a confirmation
    # the account is free for the next import
    assert api.import_file(account, SECOND)["status"] == "awaitingConfirmation"


def test_a_put_after_the_commit_is_removed_and_the_stored_file_stays_the_reviewed_one(api: Api, stack):
    account = api.create_account()
    import_id, upload_path = api.create_import(account)
    api.upload(upload_path, FIRST)
    api.wait(import_id, "awaitingConfirmation")
    assert api.confirm_and_complete(import_id)["status"] == "complete"
    api.upload(upload_path, SECOND)
    poll(lambda: len(_versions(stack, import_id, api)) == 1, what="the later version to be removed")
    assert _stored(stack, import_id, api) == FIRST
    assert api.get_import(import_id)["status"] == "complete"
    assert len(api.ledger(account)) == 200


def test_delete_removes_every_version_and_a_put_after_it_leaves_nothing(api: Api, stack):
    account = api.create_account()
    import_id, upload_path = api.create_import(account)
    api.upload(upload_path, FIRST)
    api.wait(import_id, "awaitingConfirmation")
    api.ok("DELETE", f"/imports/{import_id}", expect=204)
    assert _versions(stack, import_id, api) == []
    api.upload(upload_path, SECOND)  # the presigned URL is still valid
    poll(lambda: _versions(stack, import_id, api) == [], what="the upload after DELETE to be removed")
    assert api.get_import(import_id)["status"] == "deleted"
    assert api.ledger(account) == []
