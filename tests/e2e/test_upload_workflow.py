"""The stack's wiring with stand-in functions: presigned upload -> S3 notification -> on_upload ->
the state machine (moto's interpreter calling our functions) -> EventBridge -> GET /local/events."""

from __future__ import annotations

import subprocess
import uuid
from urllib.parse import unquote_plus

import boto3
import pytest
import requests

from tests.support.client import poll

pytestmark = pytest.mark.e2e


def test_presigned_put_with_curl_fires_on_upload_and_runs_the_workflow(standin_stack, http, tmp_path):
    base = standin_stack.base_url
    auth = {"Authorization": f"Bearer {standin_stack.token_for('org-u', 'co-u')}"}
    created = http.post(f"{base}/imports", json={"data": {}}, headers=auth)
    assert created.status_code == 201
    import_id = created.json()["data"]["id"]
    upload = created.json()["links"]["uploadPath"]
    assert upload.startswith(standin_stack.info["motoEndpoint"] + "/")

    statement = tmp_path / "statement.csv"
    statement.write_text("Date,Description,Amount\n2024-01-02,Coffee,-3.50\n")
    done = subprocess.run(["curl", "-sS", "--fail", "-T", str(statement), upload],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr

    s3 = boto3.client("s3", endpoint_url=standin_stack.info["motoEndpoint"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    key = f"uploads/org-u/co-u/{import_id}"
    stored = s3.get_object(Bucket=standin_stack.info["bucket"], Key=key)["Body"].read()
    assert stored == statement.read_bytes()

    def calls(function: str) -> list:
        data = http.get(f"{base}/standin/calls", headers=auth).json()["data"]
        return [c["event"] for c in data if c["function"] == function]

    def upload_seen() -> list:
        return [e for e in calls("on_upload") if import_id in e["Records"][0]["s3"]["object"]["key"]]

    notified = poll(upload_seen, timeout=20, what="on_upload to see the upload")
    record = notified[0]["Records"][0]
    assert record["eventName"].startswith("ObjectCreated")
    assert record["s3"]["bucket"]["name"] == standin_stack.info["bucket"]

    def finished() -> list:
        events = http.get(f"{base}/local/events", headers=auth).json()["data"]
        return [e for e in events if e["detail"].get("importId") == import_id]

    events = poll(finished, timeout=30, what="the workflow's completion event")
    assert events[0]["detailType"] == "import.complete", events
    assert events[0]["eventBusName"] == standin_stack.info["eventBusName"]
    # the Map state ran one commit per staged chunk key the workflow answered, then RefreshBalances once
    commits = [e for e in calls("commit") if e.get("importId") == import_id]
    assert sorted(e["chunkKey"] for e in commits if "chunkKey" in e) == ["staging/c1", "staging/c2"]
    assert [e for e in commits if "chunkKey" not in e] == [
        {"importId": import_id, "tenant": commits[0]["tenant"], "refreshBalances": True}]
    assert "event tximport.standin import.complete" in standin_stack.output()


def _s3(standin_stack):
    return boto3.client("s3", endpoint_url=standin_stack.info["motoEndpoint"], region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _calls(standin_stack, http, auth, function: str) -> list:
    data = http.get(f"{standin_stack.base_url}/standin/calls", headers=auth).json()["data"]
    return [unquote_plus(c["event"]["Records"][0]["s3"]["object"]["key"]) for c in data
            if c["function"] == function]


def test_upload_outside_the_upload_prefix_does_not_notify(standin_stack, http):
    s3 = _s3(standin_stack)
    auth = {"Authorization": f"Bearer {standin_stack.token_for('o', 'c')}"}
    s3.put_object(Bucket=standin_stack.info["bucket"], Key="staging/x/chunk-1", Body=b"x")
    # notifications are asynchronous, as on AWS: one for an upload made after it shows the staging
    # object's would have been delivered by now (its invocation is started while the PUT is answered)
    marker = f"uploads/o/c/{uuid.uuid4()}"
    s3.put_object(Bucket=standin_stack.info["bucket"], Key=marker, Body=b"x")
    poll(lambda: marker in _calls(standin_stack, http, auth, "on_upload"), timeout=20, what="the marker upload")
    assert [k for k in _calls(standin_stack, http, auth, "on_upload") if k.startswith("staging/")] == []


def test_an_upload_is_answered_before_the_notified_function_ends(standin_stack, http):
    """S3 invokes the notification's function asynchronously: a PUT does not wait for on_upload (moto
    invokes it inside the PUT: a slow or busy on_upload would hold every upload)."""
    auth = {"Authorization": f"Bearer {standin_stack.token_for('o', 'c')}"}
    key = f"uploads/o/c/hold-{uuid.uuid4()}"
    url = _s3(standin_stack).generate_presigned_url(
        "put_object", Params={"Bucket": standin_stack.info["bucket"], "Key": key}, ExpiresIn=300)
    # on_upload holds this upload until released: were it invoked inside the PUT, the PUT would time out
    answer = requests.put(url, data=b"Date,Description,Amount\n", timeout=20)
    assert answer.status_code == 200, answer.text
    poll(lambda: key in _calls(standin_stack, http, auth, "on_upload"), timeout=20, what="on_upload to start")
    assert key not in _calls(standin_stack, http, auth, "on_upload released")
    http.post(f"{standin_stack.base_url}/standin/release", headers=auth)
    poll(lambda: key in _calls(standin_stack, http, auth, "on_upload released"), timeout=20,
         what="on_upload to end")
