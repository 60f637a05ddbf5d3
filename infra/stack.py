"""The tximport stack: composes storage, the functions, the workflow and the API, and grants each
function exactly what it touches. Environment-agnostic: it makes no AWS calls and needs no account or
region at synthesis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import ArnFormat, CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.alarms import DeadLetterAlarms
from infra.constructs.api import Api
from infra.constructs.cursors import SETTING as CURSOR_KEY_SETTING
from infra.constructs.cursors import CursorKey
from infra.constructs.events import StatusEvents
from infra.constructs.lambda_defaults import DomainLayer, ServiceFunction
from infra.constructs.nag import acknowledge
from infra.constructs.reaper import Reaper
from infra.constructs.storage import Storage
from infra.constructs.workflow import Workflow
from infra.definitions import (
    FUNCTIONS,
    RECONCILIATION_PREFIX,
    STAGING_PREFIX,
    STATE_MACHINES,
    TABLES,
    UPLOAD_PREFIX,
    StateMachineDef,
)
from tximport.services.events import default_translators

#: staged chunks outlive the import item: DynamoDB TTL deletes it up to a few days late
STAGING_RETENTION_MARGIN_DAYS = 35


@dataclass(frozen=True)
class StackConfig:
    """What a deployment may choose, read from CDK context; the defaults live in cdk.json.

    jwtIssuer, jwtAudience   the JWT authorizer's issuer URL and accepted audiences (list or
                             comma-separated string)
    removalPolicy            "retain" (default: tables, buckets and logs survive a stack delete) or
                             "destroy" (throwaway stacks)
    corsAllowedOrigins       origins allowed to PUT files to presigned URLs from a browser
    retentionDays            imports expire after this (DynamoDB TTL); staged chunks live this plus
                             STAGING_RETENTION_MARGIN_DAYS
    uploadRetentionDays      raw uploads expire after this
    confirmationTimeoutSeconds  how long an import waits in awaitingConfirmation
    logRetention             a RetentionDays name, e.g. THREE_MONTHS, for every log group
    throttleRateLimit, throttleBurstLimit  the API stage's default route throttling
    eventBusName             the service's EventBridge bus
    """

    jwt_issuer: str
    jwt_audience: tuple[str, ...]
    removal_policy: RemovalPolicy
    cors_allowed_origins: tuple[str, ...]
    retention_days: int
    upload_retention_days: int
    confirmation_timeout_seconds: int
    log_retention: logs.RetentionDays
    throttle_rate_limit: int
    throttle_burst_limit: int
    event_bus_name: str

    @classmethod
    def from_context(cls, scope: Construct) -> StackConfig:
        """Read the settings from context; a missing or malformed key fails synthesis with its name."""

        def get(key: str) -> Any:
            value = scope.node.try_get_context(key)
            if value is None:
                raise ValueError(f"CDK context key {key!r} is missing (see cdk.json)")
            return value

        def as_list(key: str) -> tuple[str, ...]:
            # `cdk deploy -c key=a,b` passes a string; cdk.json passes a list
            value = get(key)
            items = value.split(",") if isinstance(value, str) else value
            return tuple(str(item).strip() for item in items if str(item).strip())

        removal = str(get("removalPolicy")).lower()
        if removal not in {"retain", "destroy"}:
            raise ValueError("CDK context key 'removalPolicy' must be 'retain' or 'destroy'")
        return cls(
            jwt_issuer=str(get("jwtIssuer")),
            jwt_audience=as_list("jwtAudience"),
            removal_policy=RemovalPolicy.RETAIN if removal == "retain" else RemovalPolicy.DESTROY,
            cors_allowed_origins=as_list("corsAllowedOrigins"),
            retention_days=int(get("retentionDays")),
            upload_retention_days=int(get("uploadRetentionDays")),
            confirmation_timeout_seconds=int(get("confirmationTimeoutSeconds")),
            log_retention=logs.RetentionDays[str(get("logRetention"))],
            throttle_rate_limit=int(get("throttleRateLimit")),
            throttle_burst_limit=int(get("throttleBurstLimit")),
            event_bus_name=str(get("eventBusName")),
        )

    def __post_init__(self) -> None:
        # an amend re-reads the raw upload while the import awaits confirmation: the file must outlive
        # the confirmation timeout by a clear margin
        if self.upload_retention_days * 86400 < 2 * self.confirmation_timeout_seconds:
            raise ValueError(
                "uploadRetentionDays must be at least twice confirmationTimeoutSeconds: an amended "
                "import re-reads its uploaded file"
            )


# What each function touches, read off the services it runs (tximport.container): a function absent
# from a mapping gets nothing of that kind.

#: which bucket prefixes each function reads, writes and deletes under ("versions": lists the versions
#: of keys under it, nothing else)
BUCKET_ACCESS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    # presigns the upload PUT, pages staged rows for review, deletes both with the import
    # reconciliations: stages the entries (deleted again on a 409), pages the result chunks
    "api": {"read": (UPLOAD_PREFIX, STAGING_PREFIX, RECONCILIATION_PREFIX),
            "put": (UPLOAD_PREFIX, RECONCILIATION_PREFIX),
            "delete": (UPLOAD_PREFIX, STAGING_PREFIX, RECONCILIATION_PREFIX)},
    # streams the upload, writes chunks, drops the previous chunks when an amend re-runs it
    "process": {"read": (UPLOAD_PREFIX, STAGING_PREFIX), "put": (STAGING_PREFIX,),
                "delete": (STAGING_PREFIX,)},
    # lists an upload's versions: a later PUT over the reviewed file fails its import, or is removed
    # once the import commits (tximport.services.pinning)
    "on_upload": {"versions": (UPLOAD_PREFIX,), "delete": (UPLOAD_PREFIX,)},
    # lists an upload's versions before the commit begins (FileChanged); reads no file
    "workflow": {"versions": (UPLOAD_PREFIX,)},
    "commit": {"read": (STAGING_PREFIX,)},
    # a revert reads the import's staged chunks to know which ledger lines it wrote
    "revert": {"read": (STAGING_PREFIX,)},
    # reads a run's entries, writes its result chunks, drops the previous run's
    "reconcile": {"read": (RECONCILIATION_PREFIX,), "put": (RECONCILIATION_PREFIX,),
                  "delete": (RECONCILIATION_PREFIX,)},
}  # fmt: skip

#: which tables each function reads ("read"), reads and writes ("write"), or only deletes items of ("delete")
TABLE_ACCESS: Mapping[str, Mapping[str, str]] = {
    # the public endpoint and session commits write the ledger; import sessions live in their own table
    "api": {"imports": "write", "ledger": "write", "sessions": "write"},
    "on_upload": {"imports": "write"},
    "process": {"imports": "write", "ledger": "read"},  # duplicate check against the ledger
    "commit": {"imports": "write", "ledger": "write"},
    # statuses, account locks and the queue live in the imports table
    "workflow": {"imports": "write"},
    # saves its progress on the import; removes the import's own ledger lines (conditional deletes) and
    # recomputes the balance items of the days it touched (storage/ledger.py: reads the day, puts BAL#) and
    # opens again the pending lines its booked lines had replaced (an update conditional on the link); reads
    # the reconciliations (imports table) whose marks hold its lines
    "revert": {"imports": "write", "ledger": "delete"},
    # reads the imports table's stream only (granted by its event source), never the table
    "events": {},
    # ends imports left in flight (status, accounts and queue live in the imports table; reads its index)
    "reaper": {"imports": "write"},
    # the enrichment steps read rules, learning examples and recurring items, and rewrite staged lines
    "sessions": {"sessions": "write"},
    # reconciliations live in the imports table; the matched ledger lines get their mark (conditional updates)
    "reconcile": {"imports": "write", "ledger": "write"},
}

#: what each function may do with each state machine (keyed by its name in STATE_MACHINES):
#: "start" executions, "observe" them (describe, stop), "respond" to their task tokens
STATE_MACHINE_ACCESS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "import": {
        "start": ("on_upload",),  # an upload starts its import's execution
        # DELETE stops the execution of an import it deletes; the reaper asks how an execution stands
        "observe": ("api", "reaper"),
        # functions that release accounts (or confirm, amend, delete) resume a parked task token
        "respond": ("api", "on_upload", "process", "workflow", "reaper"),
    },
    # POST /import-sessions/{id}/enrich starts the enrichment of a large session
    "session-enrichment": {"start": ("api",)},
    "reconcile": {
        "start": ("api",),  # POST a reconciliation, or re-run one
    },
    # POST /imports/{id}/revert starts the revert of an import, and asks whether an earlier one still runs
    "revert": {"start": ("api",), "observe": ("api",)},
}


def _check_access_maps() -> None:
    """Every function named in an access map exists, and TABLE_ACCESS names every function."""
    names = {f.name for f in FUNCTIONS}
    granted = {*BUCKET_ACCESS, *TABLE_ACCESS}
    granted |= {fn for access in STATE_MACHINE_ACCESS.values() for fns in access.values() for fn in fns}
    if not granted <= names or set(TABLE_ACCESS) != names:
        raise ValueError("the access maps name a function missing from FUNCTIONS, or miss one of them")


def _grant_data_access(storage: Storage, fns: Mapping[str, lambda_.IFunction]) -> None:
    """TABLE_ACCESS and BUCKET_ACCESS, granted resource by resource."""
    for name, access in TABLE_ACCESS.items():
        for table_key, mode in access.items():
            table = storage.tables[table_key]
            if mode == "delete":  # deletes lines; reads a day's lines and rewrites its balance item; reads
                # the import's lines first (BatchGetItem) for the reconciliations' marks that hold them
                table.grant(fns[name], "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:BatchGetItem",
                            "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem")
            else:
                (table.grant_read_write_data if mode == "write" else table.grant_read_data)(fns[name])
    for name, bucket_access in BUCKET_ACCESS.items():
        for prefix in bucket_access.get("read", ()):
            storage.bucket.grant_read(fns[name], f"{prefix}*")
        for prefix in bucket_access.get("put", ()):
            storage.bucket.grant_put(fns[name], f"{prefix}*")
        for prefix in bucket_access.get("delete", ()):
            storage.bucket.grant_delete(fns[name], f"{prefix}*")
        for prefix in bucket_access.get("versions", ()):
            fns[name].add_to_role_policy(iam.PolicyStatement(
                actions=["s3:ListBucketVersions"], resources=[storage.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": f"{prefix}*"}}))


def _environment(config: StackConfig, storage: Storage, state_machine_arns: Mapping[str, str]) -> dict[str, str]:
    """The settings every function reads (tximport.config.Settings)."""
    return {
        **{t.env_var: storage.tables[t.key].table_name for t in TABLES},
        **{sm.arn_env_var: state_machine_arns[sm.name] for sm in STATE_MACHINES},
        "BUCKET_NAME": storage.bucket.bucket_name,
        "EVENT_BUS_NAME": config.event_bus_name,
        "RETENTION_DAYS": str(config.retention_days),
        "CONFIRMATION_TIMEOUT_SECONDS": str(config.confirmation_timeout_seconds),
        "JWT_ISSUER": config.jwt_issuer,
        "JWT_AUDIENCE": ",".join(config.jwt_audience),
        "POWERTOOLS_METRICS_NAMESPACE": "tximport",
    }


class TxImportStack(Stack):
    """Everything tximport runs on."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        config = StackConfig.from_context(self)
        _check_access_maps()

        storage = Storage(
            self,
            "Storage",
            removal_policy=config.removal_policy,
            cors_allowed_origins=config.cors_allowed_origins,
            upload_retention_days=config.upload_retention_days,
            staging_retention_days=config.retention_days + STAGING_RETENTION_MARGIN_DAYS,
        )
        layer = DomainLayer(self, "DomainLayer").layer

        state_machine_names = {sm.name: f"{self.stack_name}-{sm.name}" for sm in STATE_MACHINES}
        # known before the state machines exist (see Workflow): no dependency cycle through the env
        state_machine_arns = {
            key: self.format_arn(
                service="states",
                resource="stateMachine",
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for key, name in state_machine_names.items()
        }
        environment = _environment(config, storage, state_machine_arns)
        self.functions = {
            f.name: ServiceFunction(
                self,
                "".join(part.capitalize() for part in f.name.split("_")) + "Function",
                definition=f,
                layer=layer,
                environment=environment,
                log_retention=config.log_retention,
                removal_policy=config.removal_policy,
            )
            for f in FUNCTIONS
        }
        fns = {name: sf.function for name, sf in self.functions.items()}

        workflow = Workflow(
            self,
            "Workflow",
            state_machine_names=state_machine_names,
            event_bus_name=config.event_bus_name,
            functions=fns,
            bucket=storage.bucket,
            log_retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        state_machine = workflow.state_machine

        _grant_data_access(storage, fns)
        # the api signs its pagination cursors with a key only it reads
        self.cursor_key = CursorKey(self, "CursorKey", removal_policy=config.removal_policy)
        self.cursor_key.secret.grant_read(fns["api"])
        fns["api"].add_environment(CURSOR_KEY_SETTING, self.cursor_key.secret.secret_arn)
        self.status_events = self._status_events(storage, fns["events"], workflow.event_bus, config)
        # every dead-letter queue of the stack is watched (tests/infra asserts no queue goes without)
        self.alarms = DeadLetterAlarms(self, "Alarms")
        self.alarms.watch("EventsGivenUp", self.status_events.dead_letters,
                          "Status events were given up on (a stream batch the events function could not publish)")
        # workflow control
        for definition in STATE_MACHINES:
            self._grant_state_machine_access(
                definition, workflow.state_machines[definition.name], state_machine_arns[definition.name], fns
            )

        self.storage = storage
        self._acknowledge_scoped_wildcards(storage.bucket.node.default_child, workflow.state_machines)
        self._acknowledge_table_indexes(storage)
        self.reaper = Reaper(self, "Reaper", function=fns["reaper"], state_machine=state_machine)

        api = Api(
            self,
            "Api",
            handler=fns["api"],
            jwt_issuer=config.jwt_issuer,
            jwt_audience=config.jwt_audience,
            throttle_rate_limit=config.throttle_rate_limit,
            throttle_burst_limit=config.throttle_burst_limit,
            log_retention=config.log_retention,
            removal_policy=config.removal_policy,
        )

        CfnOutput(self, "ApiUrl", value=api.url, description="Base URL of the HTTP API")
        CfnOutput(self, "BucketName", value=storage.bucket.bucket_name, description="Uploads and staging")
        CfnOutput(self, "StateMachineArn", value=state_machine.state_machine_arn)
        self.api = api
        self.storage = storage
        self.workflow = workflow

    def _acknowledge_scoped_wildcards(self, bucket_resource: Any,
                                      state_machines: Mapping[str, sfn.StateMachine]) -> None:
        """The wildcards `grant_*` writes for S3 prefixes and Step Functions executions are scoped to
        one bucket prefix or one state machine. Each role acknowledges exactly the findings its own
        grants produce, so a broader grant added later still fails synthesis."""
        bucket_arn = f"<{self.get_logical_id(bucket_resource)}.Arn>"
        action_reasons = {
            "read": {
                "s3:GetObject*": "grant_read's object reads (GetObject, versions, attributes), on one "
                "bucket prefix only.",
                "s3:GetBucket*": "grant_read's bucket metadata reads, on the service's bucket only.",
                "s3:List*": "grant_read's listing (chunk keys of an import), on the service's bucket only.",
            },
            "put": {"s3:Abort*": "grant_put lets the writer abort its own multipart uploads, on one "
                    "bucket prefix only."},
            "delete": {"s3:DeleteObject*": "grant_delete, on one bucket prefix only."},
            "versions": {},  # one action on the bucket, limited to the prefix by a condition
        }
        for name, access in BUCKET_ACCESS.items():
            findings: dict[str, str] = {}
            for mode, prefixes in access.items():
                for action, reason in action_reasons[mode].items():
                    findings[f"AwsSolutions-IAM5[Action::{action}]"] = reason
                for prefix in prefixes if mode != "versions" else ():
                    findings[f"AwsSolutions-IAM5[Resource::{bucket_arn}/{prefix}*]"] = (
                        f"Objects under {prefix} in the service's own bucket: keys are per tenant and "
                        "import, so the prefix is the narrowest ARN."
                    )
            acknowledge(self.functions[name].role, findings)

        # grant_read/write on a table with indexes covers `<table>/index/*`: the table's own indexes only
        for table_def in TABLES:
            if not table_def.indexes:
                continue
            table_arn = f"<{self.get_logical_id(self.storage.tables[table_def.key].node.default_child)}.Arn>"
            for fn in self.functions.values():
                acknowledge(fn.role, {
                    f"AwsSolutions-IAM5[Resource::{table_arn}/index/*]": f"The {table_def.key} table's own "
                    f"indexes ({', '.join(i.name for i in table_def.indexes)}), which grant_*_data covers with "
                    "the table: no other table's."})

        for machine_name, access in STATE_MACHINE_ACCESS.items():
            sm_ref = f'{{"Ref":"{self.get_logical_id(state_machines[machine_name].node.default_child)}"}}'
            execution_arn = (
                "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
                f'{{"Fn::Select":[6,{{"Fn::Split":[":",{sm_ref}]}}]}}:*'
            )
            for name in access.get("observe", ()):
                acknowledge(
                    self.functions[name].role,
                    {
                        f"AwsSolutions-IAM5[Resource::{execution_arn}]": "Describe/stop the executions of "
                        f"the {machine_name} state machine only: execution names are only known at run time.",
                    },
                )

    def _acknowledge_table_indexes(self, storage: Storage) -> None:
        """A table grant also covers the table's indexes (`<table>/index/*`): those of one table only."""
        indexed = {t.key for t in TABLES if t.indexes}
        for name, access in TABLE_ACCESS.items():
            for table_key in indexed & set(access):
                table_id = self.get_logical_id(storage.tables[table_key].node.default_child)
                acknowledge(self.functions[name].role, {
                    f"AwsSolutions-IAM5[Resource::<{table_id}.Arn>/index/*]": f"The indexes of the {table_key} "
                    "table only, which a grant on the table includes (keys-only projections).",
                })

    def _status_events(self, storage: Storage, function: lambda_.IFunction, bus: events.IEventBus,
                       config: StackConfig) -> StatusEvents:
        """Status events, published from the streams of the tables that hold the statuses, by one
        function; the stream filter lets through the sort-key prefixes that have a translator."""
        translators = default_translators()
        streamed = {t.key: storage.tables[t.key] for t in TABLES if t.stream}
        return StatusEvents(
            self,
            "StatusEvents",
            function=function,
            tables=streamed,
            prefixes={key: translators.prefixes(key) for key in streamed},
            event_bus=bus,
            removal_policy=config.removal_policy,
        )

    def _grant_state_machine_access(self, definition: StateMachineDef, machine: sfn.StateMachine,
                                    arn: str, fns: Mapping[str, lambda_.IFunction]) -> None:
        """Grant STATE_MACHINE_ACCESS for one machine. A function the definition invokes is granted
        through the ARN known in advance, not through the state machine resource, which already
        depends on it (a dependency cycle otherwise)."""
        access = STATE_MACHINE_ACCESS.get(definition.name, {})
        by_arn = sfn.StateMachine.from_state_machine_arn(
            self, f"{definition.name.capitalize()}StateMachineByArn", arn
        )

        def target(name: str) -> sfn.IStateMachine:
            return by_arn if name in definition.invoked_functions else machine

        for name in access.get("start", ()):
            target(name).grant_start_execution(fns[name])
        for name in access.get("observe", ()):
            target(name).grant_execution(fns[name], "states:DescribeExecution", "states:StopExecution")
        for name in access.get("respond", ()):
            target(name).grant_task_response(fns[name])
