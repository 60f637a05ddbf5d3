"""LocalStack in this process: start and stop are idempotent and leave nothing behind."""

from __future__ import annotations

import os

import pytest
import requests

from tests.e2e import standins
from tximport_cli.local.stack import BUCKET_NAME, LocalStack

pytestmark = pytest.mark.e2e


def test_start_stop_idempotent_and_clean():
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.dynamodb.models.table import StreamShard
    from moto.events.models import EventsBackend

    invoke, put_events = LambdaFunction._invoke_lambda, EventsBackend.put_events
    stream_add, send_stream = StreamShard.add, LambdaBackend.send_dynamodb_items
    endpoint_before = os.environ.get("AWS_ENDPOINT_URL")
    stack = LocalStack(handlers=standins.HANDLERS, extra_routes=standins.EXTRA_ROUTES)
    try:
        assert stack.start() is stack.start()
        with pytest.raises(RuntimeError, match="another LocalStack"):
            LocalStack().start()
        assert os.environ["AWS_ENDPOINT_URL"] == stack.moto_endpoint
        assert os.environ["MOTO_PORT"] == str(stack.moto_port)
        assert requests.get(f"{stack.base_url}/fileformats", timeout=10).status_code == 200
        token = stack.token_for("o", "c")
        assert requests.get(f"{stack.base_url}/imports", headers={"Authorization": f"Bearer {token}"},
                            timeout=10).status_code == 200
        assert BUCKET_NAME in [b["Name"] for b in stack.clients.s3.list_buckets()["Buckets"]]
        assert stack.clients.stepfunctions.describe_state_machine(
            stateMachineArn=stack.state_machine_arn)["status"] == "ACTIVE"
        base = stack.base_url
    finally:
        stack.stop()
    stack.stop()
    assert not stack.started
    assert os.environ.get("AWS_ENDPOINT_URL") == endpoint_before
    assert LambdaFunction._invoke_lambda is invoke and EventsBackend.put_events is put_events
    assert StreamShard.add is stream_add and LambdaBackend.send_dynamodb_items is send_stream
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/fileformats", timeout=5)

    from moto.s3.models import s3_backends

    assert not s3_backends["123456789012"]["aws"].buckets  # moto was reset


def test_a_second_stack_in_the_process_gets_fresh_clients():
    """The domain package caches settings and boto3 clients per process (a Lambda cold start); a stack
    started after another one must not talk to the first one's (stopped) moto."""
    for attempt in range(2):
        stack = LocalStack()
        try:
            stack.start()
            if "tximport-api" not in stack.handlers:
                pytest.skip("waiting for functions/api/handler.py")
            token = stack.token_for(f"org-{attempt}", "co")
            created = requests.post(f"{stack.base_url}/bankaccounts", timeout=30,
                                    headers={"Authorization": f"Bearer {token}"},
                                    json={"data": {"bankId": "demo-bank", "countryCode": "GBR",
                                                   "accountIdentifier": "12345678", "name": "A",
                                                   "currency": "GBP"}})
            assert created.status_code in (200, 201), created.text
        finally:
            stack.stop()
