"""The stack's wiring with stand-in functions: presigned upload -> S3 notification -> on_upload ->
the state machine (moto's interpreter calling our functions) -> EventBridge -> GET /local/events."""

from __future__ import annotations

import subprocess

import boto3
import pytest

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
    # the Map state ran one commit per staged chunk key the workflow answered
    chunks = sorted(e["chunkKey"] for e in calls("commit") if e.get("importId") == import_id)
    assert chunks == ["staging/c1", "staging/c2"]
    assert "event tximport.standin import.complete" in standin_stack.output()


def test_upload_outside_the_upload_prefix_does_not_notify(standin_stack, http):
    s3 = boto3.client("s3", endpoint_url=standin_stack.info["motoEndpoint"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    auth = {"Authorization": f"Bearer {standin_stack.token_for('o', 'c')}"}
    before = len(http.get(f"{standin_stack.base_url}/standin/calls", headers=auth).json()["data"])
    s3.put_object(Bucket=standin_stack.info["bucket"], Key="staging/x/chunk-1", Body=b"x")
    # the notification is synchronous within the PUT in moto: nothing new was recorded once it returned
    after = http.get(f"{standin_stack.base_url}/standin/calls", headers=auth).json()["data"]
    assert [c for c in after[before:] if c["function"] == "on_upload"] == []
