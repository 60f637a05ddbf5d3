"""The local stack behaves like AWS where a client can tell: presigned uploads (whatever their
Content-Type, checked like S3 checks them), atomic DynamoDB requests, the caller's own events only."""

from __future__ import annotations

import threading
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from tests.support.client import Api, poll
from tests.support.stack import new_api
from tximport_cli.local.stack import BUCKET_NAME, LocalStack, table_name

UTF8_CSV = "Date,Description,Amount\n2024-01-02,Café a=b&c=d,-3.50\n2024-01-03,Salary,2500.00\n".encode()
CP1252_CSV = "Date,Description,Amount\n2024-01-02,Café,-3.50\n2024-01-03,Salary,2500.00\n".encode("cp1252")


def _urllib_put(url: str, body: bytes) -> int:
    """A PUT as urllib makes it: with data and no Content-Type, it sends application/x-www-form-urlencoded."""
    request = urllib.request.Request(url, data=body, method="PUT")
    with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310 - the local stack
        return answer.status


@pytest.mark.parametrize("body", [UTF8_CSV, CP1252_CSV], ids=["utf-8", "cp1252"])
def test_a_presigned_put_with_urllibs_form_content_type_uploads_the_file(api: Api, body: bytes):
    # Given an import and its upload URL
    import_id, upload = api.create_import(api.create_account())
    # When the file is PUT by urllib, whose default Content-Type is a form
    assert _urllib_put(upload, body) == 200
    # Then the bytes are stored as sent (before: an empty object, or a PUT that hung) and processed
    stored = boto3.client("s3", endpoint_url=f"http://{urlsplit(upload).netloc}", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing").get_object(
        Bucket=BUCKET_NAME, Key=f"uploads/{api.organisation_id}/{api.company_id}/{import_id}")["Body"].read()
    assert stored == body
    done = api.wait(import_id)
    assert done["status"] == "awaitingConfirmation", done
    assert sorted(r["description"] for r in api.review(import_id)) == ["Café a=b&c=d", "Salary"] \
        if body == UTF8_CSV else ["Café", "Salary"]


def _tampered(url: str, import_id: str) -> dict[str, str]:
    other = import_id[:-1] + ("0" if import_id[-1] != "0" else "1")
    return {
        "another key": url.replace(import_id, other),
        "a longer expiry": url.replace("X-Amz-Expires=900", "X-Amz-Expires=3600"),
        "a changed signature": url[:-4] + ("0000" if not url.endswith("0000") else "1111"),
        "no signature": url.split("&X-Amz-Signature=")[0] + "&X-Amz-Signature=",
    }


def test_a_tampered_presigned_url_is_refused_as_s3_refuses_it(api: Api):
    account = api.create_account()
    import_id, upload = api.create_import(account)
    for what, url in _tampered(upload, import_id).items():
        answer = requests.put(url, data=UTF8_CSV, timeout=15)
        assert answer.status_code == 403, what
        assert "<Code>SignatureDoesNotMatch</Code>" in answer.text, (what, answer.text)
    # nothing was stored and nothing started; the untampered URL still works
    assert api.get_import(import_id)["status"] == "awaitingFileUpload"
    assert requests.put(upload, data=UTF8_CSV, timeout=15).status_code == 200
    assert api.wait(import_id)["status"] == "awaitingConfirmation"


def test_an_expired_presigned_url_is_refused(stack: LocalStack):
    url = stack.clients.s3.generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET_NAME, "Key": "uploads/o/c/expiring"}, ExpiresIn=1)
    assert requests.put(url, data=b"x", timeout=15).status_code == 200  # within its second
    refused = poll(lambda: (r := requests.put(url, data=b"x", timeout=15)).status_code == 403 and r.text,
                   timeout=10, interval=0.25, what="the URL to expire")
    assert "<Message>Request has expired</Message>" in refused


def test_conditional_writes_are_atomic_even_when_moto_is_slow(stack: LocalStack, monkeypatch):
    """moto checks a condition and then writes, without a lock: widen that gap, and two conditional
    writes on one item would both succeed. DynamoDB lets exactly one win."""
    import moto.dynamodb.models.table as moto_table

    checks = moto_table.get_filter_expression

    class _Slow:
        def __init__(self, op: Any) -> None:
            self.op = op

        def expr(self, item: Any) -> Any:
            time.sleep(0.2)
            return self.op.expr(item)

    monkeypatch.setattr(moto_table, "get_filter_expression", lambda *a, **k: _Slow(checks(*a, **k)))
    key = {"pk": {"S": "T#race#race"}, "sk": {"S": f"RACE#{time.time_ns()}"}}
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def claim(n: int) -> None:
        client = boto3.client("dynamodb", endpoint_url=stack.moto_endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        barrier.wait(timeout=10)
        try:
            client.put_item(TableName=table_name("imports"), Item={**key, "owner": {"N": str(n)}},
                            ConditionExpression="attribute_not_exists(pk)")
            outcomes.append("won")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["ConditionalCheckFailedException"] * 7 + ["won"]


def test_local_events_need_a_token_and_show_the_callers_tenant_only(stack: LocalStack):
    first, second = new_api(stack), new_api(stack)
    mine = first.create_import(first.create_account())[0]
    theirs = second.create_import(second.create_account())[0]
    assert requests.get(f"{stack.base_url}/local/events", timeout=10).status_code == 401

    def ids(api: Api) -> set[str]:
        return {e["detail"].get("importId") for e in api.ok("GET", "/local/events")["data"]}

    assert mine in ids(first) and theirs not in ids(first)
    assert theirs in ids(second) and mine not in ids(second)
    assert all(e["detail"]["organisationId"] == first.organisation_id
               for e in first.ok("GET", "/local/events")["data"])


def test_a_client_that_hangs_up_before_its_answer_is_logged_as_gone_not_as_a_failure(
        stack: LocalStack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture):
    import logging
    import socket
    import struct

    caplog.set_level(logging.INFO, logger="tximport_cli.local.gateway")
    gateway = stack._gateway
    answer, hung_up = gateway.invoke_api, threading.Event()

    def slow(event: dict[str, Any]) -> Any:
        result = answer(event)
        if event.get("rawPath") == "/fileformats":
            hung_up.wait(10)  # the client is gone before the answer is written
            time.sleep(0.2)
            result = {**result, "body": "x" * 4_000_000}  # large enough that the write meets the reset
        return result

    monkeypatch.setattr(gateway, "invoke_api", slow)
    host, port = urlsplit(stack.base_url).hostname, urlsplit(stack.base_url).port
    with socket.create_connection((host, port), timeout=10) as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        client.sendall(b"GET /fileformats HTTP/1.1\r\nHost: local\r\n\r\n")
        time.sleep(0.2)
    hung_up.set()
    poll(lambda: any(" /fileformats 499 " in r.getMessage() for r in caplog.records), timeout=10,
         what="the request logged as 499")
    assert not any("gateway failed" in r.getMessage() for r in caplog.records)
    assert requests.get(f"{stack.base_url}/fileformats", timeout=10).status_code in (200, 401)  # still serving


def test_reads_leave_no_copy_of_the_items_they_answer_behind(api: Api):
    """moto lists every model instance it makes, and its reads deep-copy the items they answer: each ledger read
    kept its copies for good (5 MB a read of an account with ten years of days; a local stack polled for hours
    was killed at 22 GB). With the stack's patch, reading the ledger again and again keeps nothing."""
    import gc

    from moto.dynamodb.models.dynamo_type import Item
    from moto.s3.models import FakeKey

    keys_tracked = len(FakeKey.instances_tracked)  # (S3 objects overwritten or deleted were kept too)
    account = api.create_account()
    rows = "".join(f"2024-01-{day:02d},Line {day},-1.00\n" for day in range(1, 29))
    imp = api.import_file(account, ("Date,Description,Amount\n" + rows).encode())
    api.confirm_and_complete(imp["id"])
    api.ok("GET", f"/bankaccounts/{account}/transactions", params={"include": "balance"})
    gc.collect()
    alive, tracked = sum(1 for o in gc.get_objects() if type(o) is Item), len(Item.instances_tracked)
    for _ in range(5):
        api.ok("GET", f"/bankaccounts/{account}/transactions", params={"include": "balance", "pageSize": 10})
        api.ok("GET", "/transactions", params={"pageSize": 10})
    gc.collect()
    assert sum(1 for o in gc.get_objects() if type(o) is Item) <= alive + 5
    assert len(Item.instances_tracked) == tracked
    assert len(FakeKey.instances_tracked) == keys_tracked


def test_imports_leave_no_acl_stream_record_or_finished_thread_behind(api: Api):
    """moto kept every S3 object's ACL and grants, every DynamoDB stream record and every interpreter thread it
    started (about 150 objects a small file import, a local stack growing 0.7 MB an import); none is kept now."""
    from moto.dynamodb.models.table import StreamRecord
    from moto.s3.models import FakeAcl, FakeGrant, FakeGrantee
    from moto.stepfunctions.parser.utils import TMP_THREADS

    models = (FakeAcl, FakeGrant, FakeGrantee, StreamRecord)
    before = [len(model.instances_tracked) for model in models]
    account = api.create_account()

    def imported(n: int) -> None:
        rows = "".join(f"2024-02-{day:02d},Line {n} {day},-1.00\n" for day in range(1, 6))
        imp = api.import_file(account, ("Date,Description,Amount\n" + rows).encode())
        api.confirm_and_complete(imp["id"])

    imported(1)
    imported(2)
    assert [len(model.instances_tracked) for model in models] == before
    # the threads finished by now (an execution's own may end just after it) are let go when the next one ends
    finished = [t for t in TMP_THREADS if not t.is_alive()]
    imported(3)
    poll(lambda: not [t for t in finished if t in TMP_THREADS], timeout=10, what="finished threads let go")
