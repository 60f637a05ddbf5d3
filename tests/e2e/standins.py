"""Stand-in Lambda handlers for testing the local stack itself (gateway, upload notification, workflow,
events) without the service's real functions. Run with `tximport local --handlers-module
tests.e2e.standins`; what they saw is served at `GET /standin/calls`."""

from __future__ import annotations

import base64
import json
import os
import threading
import uuid
from typing import Any
from urllib.parse import unquote_plus

import boto3

_calls: list[dict[str, Any]] = []
_lock = threading.Lock()
_barriers: dict[int, threading.Barrier] = {}
#: on_upload holds an upload whose import id starts with "hold-" until POST /standin/release
_held = threading.Event()


def _record(function: str, event: Any) -> None:
    with _lock:
        _calls.append({"function": function, "event": event})


def _answer(status: int, data: Any, links: Any = None) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps({"data": data, "links": links, "meta": {}, "error": None})}


def api(event: dict[str, Any], context: Any) -> dict[str, Any]:
    method = event["requestContext"]["http"]["method"]
    path = event["rawPath"]
    if (method, path) == ("GET", "/fileformats"):
        return _answer(200, [{"fileFormat": "Tabular3column#v1"}])
    if (method, path) == ("GET", "/standin/binary"):
        return {"statusCode": 200, "headers": {"content-type": "application/octet-stream"},
                "isBase64Encoded": True, "body": base64.b64encode(bytes(range(256))).decode()}
    if (method, path) == ("GET", "/standin/calls"):
        with _lock:
            return _answer(200, list(_calls))
    if method == "POST" and path.endswith("/confirm"):
        # a 204 whose body is not empty: the gateway must not send it
        return {"statusCode": 204, "headers": {"content-type": "application/json"}, "body": "null"}
    if (method, path) == ("POST", "/standin/release"):
        _held.set()
        return _answer(200, {"released": True})
    if (method, path) == ("GET", "/standin/boom"):
        raise RuntimeError("stand-in failure")
    if (method, path) == ("GET", "/standin/rendezvous"):
        # answers only once `parties` requests are inside the function at the same time
        parties = int((event.get("queryStringParameters") or {}).get("parties", "2"))
        with _lock:
            barrier = _barriers.setdefault(parties, threading.Barrier(parties))
        barrier.wait(timeout=20)
        return _answer(200, {"parties": parties, "requestId": event["requestContext"]["requestId"]})
    if (method, path) == ("POST", "/imports"):
        claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
        import_id = str(uuid.uuid4())
        key = f"uploads/{claims['organisationId']}/{claims['companyId']}/{import_id}"
        url = boto3.client("s3").generate_presigned_url(
            "put_object", Params={"Bucket": os.environ["BUCKET_NAME"], "Key": key}, ExpiresIn=900)
        return _answer(201, {"id": import_id, "status": "awaitingFileUpload"}, {"uploadPath": url})
    # every other route answers the event it received, so tests can check what the gateway built
    return _answer(200, event)


def on_upload(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _record("on_upload", event)
    key = unquote_plus(event["Records"][0]["s3"]["object"]["key"])
    _, org, company, import_id = key.split("/")
    if import_id.startswith("hold-"):
        _held.wait(timeout=60)
        _record("on_upload released", event)
    boto3.client("stepfunctions").start_execution(
        stateMachineArn=os.environ["STATE_MACHINE_ARN"], name=import_id,
        input=json.dumps({"importId": import_id, "tenant": {"organisationId": org, "companyId": company},
                          "confirmationTimeoutSeconds": 60, "queueTimeoutSeconds": 60,
                          "processTimeoutSeconds": 60}))
    return {"started": import_id}


def _publish(detail_type: str, event: dict[str, Any]) -> None:
    boto3.client("events").put_events(Entries=[{
        "Source": "tximport.standin", "DetailType": detail_type, "EventBusName": os.environ["EVENT_BUS_NAME"],
        "Detail": json.dumps({"importId": event.get("importId"), "action": event.get("action"),
                              "error": event.get("error"), **(event.get("tenant") or {})}),
    }])


def workflow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # answers every action in one shape, so the stand-in keeps working when the workflow gains states
    _record("workflow", event)
    if event.get("action") in ("complete", "fail"):
        _publish(f"import.{event['action']}", event)
    return {"next": "process", "chunkKeys": ["staging/c1", "staging/c2"]}


def process(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _record("process", event)
    return {"outcome": "confirm", "ranges": []}


def commit(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _record("commit", event)
    return {"written": 1}


#: test-only routes the gateway adds to infra/definitions.py's ROUTES
EXTRA_ROUTES = [("GET", "/standin/calls", True), ("GET", "/standin/binary", True),
                ("GET", "/standin/boom", True), ("GET", "/standin/rendezvous", True),
                ("POST", "/standin/release", True)]

HANDLERS = {"api": api, "on_upload": on_upload, "workflow": workflow, "process": process, "commit": commit}
