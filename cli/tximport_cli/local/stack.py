"""The local stack: moto in server mode, the resources of infra/definitions.py, our Lambda handlers
in-process, and an API Gateway stand-in in front of the api handler.

moto keeps its state in process-wide globals, so there is one stack per process; `start()` and
`stop()` are idempotent, and `stop()` resets moto and restores the environment it changed.

Status events are published as on AWS: the imports table has a stream, and the events function reads
it through an event source mapping (moto invokes it on each write; streams.py keeps delivery ordered
and retries what the function reports). What reaches EventBridge is captured by wrapping moto's events
backend `put_events` (moto cannot deliver to code in this process, and a rule with an SQS target would
need draining): every accepted entry is kept (the last 1,000), logged on one line, and served at
`GET /local/events`.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import logging
import os
import sys
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from infra import definitions
from infra.definitions import (
    FUNCTIONS,
    IMPORT_STATE_MACHINE,
    STATE_MACHINES,
    TABLES,
    UPLOAD_PREFIX,
    local_function_name,
    local_state_machine_name,
)
from tximport_cli.local.gateway import Gateway, Route, routes_from_definitions
from tximport_cli.local.lambdas import Handler, call_handler, route_lambdas
from tximport_cli.local.moto_patches import fast_queries, fast_transactions
from tximport_cli.local.streams import StreamDelivery
from tximport_cli.local.tokens import DEV_AUDIENCE, DEV_ISSUER, dev_secret, dev_token

log = logging.getLogger("tximport_cli.local")

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
BUCKET_NAME = "tximport-local-data"
EVENT_BUS_NAME = "tximport-local"
ROLE_NAME = "tximport-local"

#: the api function's documentation routes, routed by the local gateway only (public, as
#: tximport.api.access lists them): the deployed API keeps to infra/definitions.py's ROUTES, and the
#: document ships as docs/openapi.json
LOCAL_DOCS_ROUTES: tuple[definitions.Route, ...] = (definitions.Route("GET", "/docs"),
                                                    definitions.Route("GET", "/openapi.json"))

#: the permissions of the demo tenant's tokens (`make run`'s banner, the CLI's default local token)
DEMO_PERMISSIONS = ("BAAS_RECONCILIATION_CREATE", "BAAS_RECONCILIATION_READ")
DEMO_ORGANISATION = "demo-org"
DEMO_COMPANY = "demo-co"
DEMO_WORKSPACE_NAME = "Demo workspace"
DEMO_BANK_ACCOUNT = {
    "bankId": "demo-bank",
    "countryCode": "GBR",
    "accountIdentifier": "12345678",
    "name": "Demo current account",
    "currency": "GBP",
}


def table_name(key: str) -> str:
    return f"tximport-local-{key}"


@dataclass
class Clients:
    """boto3 clients on the stack's moto endpoint."""

    s3: Any
    dynamodb: Any
    stepfunctions: Any
    lambda_: Any
    events: Any
    iam: Any


class EventCapture:
    """Keeps the EventBridge entries moto accepts (see the module docstring)."""

    def __init__(self, maxlen: int = 1000) -> None:
        self._events: collections.deque[dict[str, Any]] = collections.deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._seq = 0
        self._original: Any = None

    def install(self) -> None:
        from moto.events.models import EventsBackend

        if self._original is not None:
            return
        original = self._original = EventsBackend.put_events
        capture = self

        def put_events(backend: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
            results = original(backend, events)
            for entry, result in zip(events, results, strict=False):
                if "EventId" in result:
                    capture.record(entry, result["EventId"])
            return results

        EventsBackend.put_events = put_events  # type: ignore[method-assign]

    def uninstall(self) -> None:
        from moto.events.models import EventsBackend

        if self._original is not None:
            EventsBackend.put_events = self._original  # type: ignore[method-assign]
            self._original = None

    def record(self, entry: dict[str, Any], event_id: str) -> None:
        try:
            detail = json.loads(entry.get("Detail") or "{}")
        except ValueError:
            detail = entry.get("Detail")
        with self._lock:
            self._seq += 1
            item = {
                "seq": self._seq,
                "id": event_id,
                "time": datetime.now(UTC).isoformat(),
                "eventBusName": entry.get("EventBusName") or "default",
                "source": entry.get("Source"),
                "detailType": entry.get("DetailType"),
                "detail": detail,
            }
            self._events.append(item)
        summary = json.dumps(detail, default=str)
        log.info("event %s %s %s", item["source"], item["detailType"],
                 summary if len(summary) <= 300 else summary[:300] + "...")

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()


def _dummy_zip() -> bytes:
    """moto wants a deployment package; the seam runs the real code, so any zip will do."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def _forget_cold_start_state() -> None:
    """Drop the settings and the container (boto3 clients) the domain package caches per process."""
    from tximport import config, runtime

    config.settings.cache_clear()
    runtime.reset_container()


_active_lock = threading.Lock()
_active: LocalStack | None = None  # moto's state is process-wide: one running stack per process


class LocalStack:
    """Start everything on free ports (0) or given ones; one per process.

    `handlers` maps function names (`api`, `on_upload`, ... or `tximport-api`, ...) to callables; by
    default the real `functions/<name>/handler.py` are loaded (missing ones are skipped with a warning).
    `extra_routes` adds `(method, path, auth_required)` routes to infra/definitions.py's ROUTES.
    """

    def __init__(self, port: int = 0, moto_port: int = 0, *, host: str = "127.0.0.1",
                 handlers: dict[str, Handler] | None = None, demo: bool = False,
                 confirmation_timeout_seconds: int | None = None,
                 extra_routes: Sequence[tuple[str, str, bool]] = ()) -> None:
        self.host = host
        self.requested_port = port
        self.requested_moto_port = moto_port
        self.demo = demo
        self.confirmation_timeout_seconds = confirmation_timeout_seconds
        self.extra_routes = list(extra_routes)
        self._given_handlers = None if handlers is None else {
            (name if name.startswith("tximport-") else local_function_name(name)): fn
            for name, fn in handlers.items()
        }
        self.events = EventCapture()
        self.streams = StreamDelivery()
        self.handlers: dict[str, Handler] = {}
        self.moto_port: int | None = None
        #: the ARN of each state machine, by its name in STATE_MACHINES
        self.state_machine_arns: dict[str, str] = {}
        self.function_arns: dict[str, str] = {}
        self.demo_bank_account_id: str | None = None
        self.demo_workspace_id: str | None = None
        self._moto: Any = None
        self._gateway: Gateway | None = None
        self._exit = contextlib.ExitStack()
        self._saved_env: dict[str, str | None] = {}
        self._saved_sfn_config: Any = None
        self._clients: Clients | None = None
        self._started = False
        self._lock = threading.Lock()

    # --- public surface ---------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self._started

    @property
    def base_url(self) -> str:
        if self._gateway is None:
            raise RuntimeError("the local stack is not started")
        return self._gateway.base_url

    @property
    def port(self) -> int:
        if self._gateway is None:
            raise RuntimeError("the local stack is not started")
        return self._gateway.port

    @property
    def state_machine_arn(self) -> str | None:
        """The import workflow's state machine (see `state_machine_arns` for every one)."""
        return self.state_machine_arns.get(IMPORT_STATE_MACHINE.name)

    @property
    def moto_endpoint(self) -> str:
        if self.moto_port is None:
            raise RuntimeError("the local stack is not started")
        return f"http://{self.host}:{self.moto_port}"

    @property
    def clients(self) -> Clients:
        if self._clients is None:
            endpoint = self.moto_endpoint

            def client(service: str) -> Any:
                return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                                    aws_access_key_id="testing", aws_secret_access_key="testing")

            self._clients = Clients(s3=client("s3"), dynamodb=client("dynamodb"),
                                    stepfunctions=client("stepfunctions"), lambda_=client("lambda"),
                                    events=client("events"), iam=client("iam"))
        return self._clients

    def token_for(self, organisation_id: str, company_id: str, ttl_seconds: int = 12 * 3600,
                  permissions: Sequence[str] = (), roles: Sequence[str] = ()) -> str:
        """A bearer token the stack's gateway accepts for a tenant (with `permissions` and `roles` claims
        when given)."""
        return dev_token(organisation_id, company_id, ttl_seconds, permissions=permissions, roles=roles)

    def environment(self) -> dict[str, str]:
        """What the in-process handlers read (tximport.config.Settings) and what boto3 needs."""
        env = {
            "AWS_ENDPOINT_URL": self.moto_endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            # moto's Step Functions interpreter calls Lambda and DynamoDB at localhost:$MOTO_PORT
            "MOTO_PORT": str(self.moto_port),
            "BUCKET_NAME": BUCKET_NAME,
            "EVENT_BUS_NAME": EVENT_BUS_NAME,
            **{sm.arn_env_var: f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:"
                                 f"{local_state_machine_name(sm.name)}" for sm in STATE_MACHINES},
            # the api invokes it asynchronously to revert an import (moto runs the invocation in-process)
            "REVERT_FUNCTION_NAME": local_function_name("revert"),
            "JWT_SECRET": dev_secret(),
            "JWT_ISSUER": DEV_ISSUER,
            "JWT_AUDIENCE": DEV_AUDIENCE,
            "POWERTOOLS_SERVICE_NAME": "tximport",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "tximport-local",
            # the handlers' JSON logs and metrics are for CloudWatch; locally only warnings show,
            # unless TXIMPORT_LOG_LEVEL asks for more (e.g. INFO)
            "POWERTOOLS_LOG_LEVEL": os.environ.get("TXIMPORT_LOG_LEVEL", "WARNING"),
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        for table in TABLES:
            env[table.env_var] = table_name(table.key)
        if self.confirmation_timeout_seconds is not None:
            env["CONFIRMATION_TIMEOUT_SECONDS"] = str(self.confirmation_timeout_seconds)
        return env

    def start(self) -> LocalStack:
        """Start moto, create the resources, route the functions, open the gateway. Idempotent."""
        with self._lock:
            if self._started:
                return self
            global _active
            with _active_lock:
                if _active is not None:
                    raise RuntimeError("another LocalStack is running in this process; stop it first")
                _active = self
            try:
                self._start()
            except BaseException:
                self._stop()
                with _active_lock:
                    _active = None
                raise
            self._started = True
            return self

    def stop(self) -> None:
        """Close the gateway, reset and stop moto, restore the environment. Idempotent."""
        global _active
        with self._lock:
            self._stop()
            self._started = False
            with _active_lock:
                if _active is self:
                    _active = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def invoke_api(self, event: dict[str, Any]) -> Any:
        """Run the api handler on one API Gateway event, as the gateway does."""
        name = local_function_name("api")
        handler = self.handlers.get(name)
        if handler is None:
            raise RuntimeError("no api handler")
        return call_handler(handler, name, event)

    # --- start and stop ---------------------------------------------------------------------------
    def _start(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # moto's own copy whole tables per transaction and scan them per query (see moto_patches)
        self._exit.enter_context(fast_transactions())
        self._exit.enter_context(fast_queries())
        self._moto = ThreadedMotoServer(ip_address=self.host, port=self.requested_moto_port, verbose=False)
        self._moto.start()
        self.moto_port = int(self._moto.get_host_and_port()[1])
        self._set_environment(self.environment())
        self._enable_step_functions()
        self.events.install()
        self.streams.install()
        self._create_resources()

        # handlers build their settings and clients at cold start: import them after the environment,
        # and forget what an earlier stack in this process left cached (clients on its moto port)
        _forget_cold_start_state()
        if self._given_handlers is None:
            for module in [m for m in sys.modules if m == "functions" or m.startswith("functions.")]:
                del sys.modules[module]
            self.handlers = self._exit.enter_context(route_lambdas(missing_ok=True))
        else:
            self.handlers = self._exit.enter_context(route_lambdas(self._given_handlers))

        self._subscribe_streams()
        api = self.handlers.get(local_function_name("api"))
        raw_routes = getattr(definitions, "ROUTES", None)
        if raw_routes is not None or self.extra_routes:
            raw_routes = [*(raw_routes or ()), *LOCAL_DOCS_ROUTES, *self.extra_routes]
        routes: list[Route] | None = routes_from_definitions(raw_routes)
        self._gateway = Gateway(self.invoke_api if api is not None else None, secret=dev_secret(),
                                issuer=DEV_ISSUER, audience=DEV_AUDIENCE, host=self.host,
                                port=self.requested_port, routes=routes,
                                extra_routes={("GET", "/local/events"): self._events_endpoint})
        self._gateway.start()
        if api is None:
            log.warning("functions/api/handler.py is missing: the API answers 503 until it exists")
        if self.demo:
            self.demo_bank_account_id = self._create_demo_account()
            self.demo_workspace_id = self._create_demo_workspace()

    def _stop(self) -> None:
        if self._gateway is not None:
            self._gateway.stop()
            self._gateway = None
        if self._moto is not None:
            with contextlib.suppress(Exception):
                urllib.request.urlopen(urllib.request.Request(  # noqa: S310 - loopback only
                    f"{self.moto_endpoint}/moto-api/reset", method="POST"), timeout=10).close()
            self._moto.stop()
            self._moto = None
        self._exit.close()
        self._exit = contextlib.ExitStack()
        self.events.uninstall()
        self.streams.uninstall()
        self.events.clear()
        self._restore_step_functions()
        self._restore_environment()
        _forget_cold_start_state()
        self.handlers = {}
        self._clients = None
        self.moto_port = None
        self.state_machine_arns = {}
        self.function_arns = {}
        self.demo_bank_account_id = None
        self.demo_workspace_id = None

    def _set_environment(self, env: dict[str, str]) -> None:
        for key, value in env.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        for key in ("AWS_PROFILE",):  # a profile would win over the fake keys
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ.pop(key, None)

    def _restore_environment(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}

    def _enable_step_functions(self) -> None:
        from moto.core.config import default_user_config

        self._saved_sfn_config = json.loads(json.dumps(default_user_config.get("stepfunctions", {})))
        request = urllib.request.Request(
            f"{self.moto_endpoint}/moto-api/config", method="POST",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            headers={"content-type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - loopback only

    def _restore_step_functions(self) -> None:
        if self._saved_sfn_config is None:
            return
        from moto.core.config import default_user_config

        default_user_config["stepfunctions"] = self._saved_sfn_config
        self._saved_sfn_config = None

    def _create_resources(self) -> None:
        c = self.clients
        for table in TABLES:
            c.dynamodb.create_table(
                TableName=table_name(table.key), BillingMode="PAY_PER_REQUEST",
                **({"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
                   if table.stream else {}),
                AttributeDefinitions=[{"AttributeName": table.partition_key, "AttributeType": "S"},
                                      {"AttributeName": table.sort_key, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": table.partition_key, "KeyType": "HASH"},
                           {"AttributeName": table.sort_key, "KeyType": "RANGE"}])
            c.dynamodb.update_time_to_live(
                TableName=table_name(table.key),
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute})

        role_arn = c.iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                           "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]}}],
        }))["Role"]["Arn"]
        package = _dummy_zip()
        for fn in FUNCTIONS:
            created = c.lambda_.create_function(
                FunctionName=local_function_name(fn.name), Runtime="python3.12", Role=role_arn,
                Handler=f"functions.{fn.name}.handler.handler", Code={"ZipFile": package},
                Description=fn.description, Timeout=fn.timeout_seconds, MemorySize=fn.memory_mb)
            self.function_arns[fn.name] = created["FunctionArn"]

        c.events.create_event_bus(Name=EVENT_BUS_NAME)

        for machine in STATE_MACHINES:
            arn = c.stepfunctions.create_state_machine(
                name=local_state_machine_name(machine.name), definition=machine.render(self.function_arns),
                roleArn=role_arn)["stateMachineArn"]
            self.state_machine_arns[machine.name] = arn
            if arn != os.environ[machine.arn_env_var]:
                os.environ[machine.arn_env_var] = arn

        c.s3.create_bucket(Bucket=BUCKET_NAME)
        c.s3.put_bucket_cors(Bucket=BUCKET_NAME, CORSConfiguration={"CORSRules": [{
            "AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT", "HEAD"],
            "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3000}]})
        c.s3.put_bucket_notification_configuration(Bucket=BUCKET_NAME, NotificationConfiguration={
            "LambdaFunctionConfigurations": [{
                "Id": "uploads-to-on-upload",
                "LambdaFunctionArn": self.function_arns["on_upload"],
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": UPLOAD_PREFIX}]}},
            }]})

    def _subscribe_streams(self) -> None:
        """The events function reads the streamed tables, as the stack's event source mappings say
        (moto delivers each write as it happens; see streams.py). Without an events handler (stand-in
        functions) nothing is subscribed, so no record waits for a function that is not there."""
        name = local_function_name("events")
        if name not in self.handlers:
            log.warning("no events handler: status events are not published")
            return
        for table in TABLES:
            if table.stream:
                stream_arn = self.clients.dynamodb.describe_table(
                    TableName=table_name(table.key))["Table"]["LatestStreamArn"]
                self.clients.lambda_.create_event_source_mapping(
                    EventSourceArn=stream_arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
                    BatchSize=100, FunctionResponseTypes=["ReportBatchItemFailures"])

    def _events_endpoint(self) -> tuple[int, Any]:
        events = self.events.snapshot()
        return 200, {"data": events, "links": None, "meta": {"count": len(events)}, "error": None}

    def _create_demo_workspace(self) -> str | None:
        """The demo tenant's workspace for import sessions (its id goes in X-Workspace-ID)."""
        answer = self._demo_post("/workspaces", {"name": DEMO_WORKSPACE_NAME})
        workspace_id = answer.get("id") if isinstance(answer, dict) else None
        return str(workspace_id) if workspace_id else None

    def _create_demo_account(self) -> str | None:
        """The demo tenant's bank account, created through the api handler like any client would."""
        answer = self._demo_post("/bankaccounts", {"data": DEMO_BANK_ACCOUNT})
        if answer is None:
            return None
        data = answer.get("data") if isinstance(answer, dict) else None
        account_id = data.get("id") if isinstance(data, dict) else None
        if not account_id:
            log.warning("POST /bankaccounts answered no data.id: %s", str(answer)[:500])
            return None
        return str(account_id)

    def _demo_post(self, path: str, payload: dict[str, Any]) -> Any:
        """POST as the demo tenant through the gateway (None when it fails, with a warning)."""
        if self.handlers.get(local_function_name("api")) is None:
            log.warning("no api handler: the demo tenant's %s is not created", path)
            return None
        body = json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.base_url}{path}", data=body, method="POST",
            headers={"content-type": "application/json",
                     "authorization": f"Bearer {self.token_for(DEMO_ORGANISATION, DEMO_COMPANY)}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
                answer = json.loads(response.read() or b"{}")
        except (urllib.error.URLError, ValueError) as exc:
            detail = ""
            if isinstance(exc, urllib.error.HTTPError):
                detail = exc.read().decode(errors="replace")[:500]
            log.warning("could not POST %s for the demo tenant: %s %s", path, exc, detail)
            return None
        return answer

    def describe(self) -> dict[str, Any]:
        """What a client or a test needs to reach the stack."""
        return {
            "baseUrl": self.base_url,
            "motoEndpoint": self.moto_endpoint,
            "region": REGION,
            "bucket": BUCKET_NAME,
            "eventBusName": EVENT_BUS_NAME,
            "stateMachineArn": self.state_machine_arn,
            "stateMachineArns": dict(self.state_machine_arns),
            "tables": {t.key: table_name(t.key) for t in TABLES},
            "functions": {name: local_function_name(name) for name in self.function_arns},
            "routedFunctions": sorted(self.handlers),
            "demo": {"organisationId": DEMO_ORGANISATION, "companyId": DEMO_COMPANY,
                     "bankAccountId": self.demo_bank_account_id, "workspaceId": self.demo_workspace_id},
        }

    def write_ready_file(self, path: Path) -> None:
        """Write describe() as JSON, atomically (a waiting test never reads half a file)."""
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.describe(), indent=2))
        tmp.replace(path)
