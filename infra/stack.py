"""The tximport stack: composes storage, the functions, the workflow and the API, and grants each
function exactly what it touches. Environment-agnostic: it makes no AWS calls and needs no account or
region at synthesis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import ArnFormat, CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.api import Api
from infra.constructs.lambda_defaults import DomainLayer, ServiceFunction
from infra.constructs.nag import acknowledge
from infra.constructs.sessions import SessionsWorkflow
from infra.constructs.storage import Storage
from infra.constructs.workflow import Workflow
from infra.definitions import FUNCTIONS, STAGING_PREFIX, TABLES, UPLOAD_PREFIX

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

#: which bucket prefixes each function reads, writes and deletes under
BUCKET_ACCESS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    # presigns the upload PUT, pages staged rows for review, deletes both with the import
    "api": {"read": (UPLOAD_PREFIX, STAGING_PREFIX), "put": (UPLOAD_PREFIX,),
            "delete": (UPLOAD_PREFIX, STAGING_PREFIX)},
    # streams the upload, writes chunks, drops the previous chunks when an amend re-runs it
    "process": {"read": (UPLOAD_PREFIX, STAGING_PREFIX), "put": (STAGING_PREFIX,),
                "delete": (STAGING_PREFIX,)},
    "commit": {"read": (STAGING_PREFIX,)},
    # a revert reads the import's staged chunks to know which ledger lines it wrote
    "workflow": {"read": (STAGING_PREFIX,)},
}  # fmt: skip

#: which tables each function reads ("read") or reads and writes ("write")
TABLE_ACCESS: Mapping[str, Mapping[str, str]] = {
    # the public endpoint, revert and session commits write the ledger; import sessions live in their table
    "api": {"imports": "write", "ledger": "write", "sessions": "write"},
    "on_upload": {"imports": "write"},
    "process": {"imports": "write", "ledger": "read"},  # duplicate check against the ledger
    "commit": {"imports": "write", "ledger": "write"},
    # statuses, account locks and the queue live in the imports table; a revert deletes ledger lines
    "workflow": {"imports": "write", "ledger": "write"},
    # the enrichment steps read rules, learning examples and recurring items, and rewrite staged lines
    "sessions": {"sessions": "write"},
}

#: functions that change an import's status: each change is published on the bus
EVENT_PUBLISHERS = ("api", "on_upload", "process", "workflow")

#: functions that release accounts (or confirm, amend, delete) and so resume a parked task token
TASK_RESPONDERS = ("api", "on_upload", "process", "workflow")


class TxImportStack(Stack):
    """Everything tximport runs on."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        config = StackConfig.from_context(self)
        names = {f.name for f in FUNCTIONS}
        granted = {*BUCKET_ACCESS, *TABLE_ACCESS, *EVENT_PUBLISHERS, *TASK_RESPONDERS}
        if not granted <= names or set(TABLE_ACCESS) != names:
            raise ValueError("the access maps name a function missing from FUNCTIONS, or miss one of them")

        storage = Storage(
            self,
            "Storage",
            removal_policy=config.removal_policy,
            cors_allowed_origins=config.cors_allowed_origins,
            upload_retention_days=config.upload_retention_days,
            staging_retention_days=config.retention_days + STAGING_RETENTION_MARGIN_DAYS,
        )
        layer = DomainLayer(self, "DomainLayer").layer

        state_machine_name = f"{self.stack_name}-import"
        enrichment_name = f"{self.stack_name}-session-enrichment"
        # known before the state machine exists (see Workflow): no dependency cycle through the env
        state_machine_arn = self.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=state_machine_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        environment = {
            **{t.env_var: storage.tables[t.key].table_name for t in TABLES},
            "BUCKET_NAME": storage.bucket.bucket_name,
            "STATE_MACHINE_ARN": state_machine_arn,
            "ENRICHMENT_STATE_MACHINE_ARN": self.format_arn(service="states", resource="stateMachine",
                                                            resource_name=enrichment_name,
                                                            arn_format=ArnFormat.COLON_RESOURCE_NAME),
            "EVENT_BUS_NAME": config.event_bus_name,
            "RETENTION_DAYS": str(config.retention_days),
            "CONFIRMATION_TIMEOUT_SECONDS": str(config.confirmation_timeout_seconds),
            "JWT_ISSUER": config.jwt_issuer,
            "JWT_AUDIENCE": ",".join(config.jwt_audience),
            "POWERTOOLS_METRICS_NAMESPACE": "tximport",
        }
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
            state_machine_name=state_machine_name,
            event_bus_name=config.event_bus_name,
            functions=fns,
            bucket=storage.bucket,
            log_retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        state_machine = workflow.state_machine

        # data
        for name, access in TABLE_ACCESS.items():
            for table_key, mode in access.items():
                table = storage.tables[table_key]
                (table.grant_read_write_data if mode == "write" else table.grant_read_data)(fns[name])
        for name, access in BUCKET_ACCESS.items():
            for prefix in access.get("read", ()):
                storage.bucket.grant_read(fns[name], f"{prefix}*")
            for prefix in access.get("put", ()):
                storage.bucket.grant_put(fns[name], f"{prefix}*")
            for prefix in access.get("delete", ()):
                storage.bucket.grant_delete(fns[name], f"{prefix}*")
        for name in EVENT_PUBLISHERS:
            workflow.event_bus.grant_put_events_to(fns[name])

        # workflow control
        # a revert runs in the workflow function, invoked asynchronously by the api
        fns["api"].add_environment("WORKFLOW_FUNCTION_NAME", fns["workflow"].function_name)
        fns["workflow"].grant_invoke(fns["api"])
        state_machine.grant_start_execution(fns["on_upload"])
        state_machine.grant_execution(fns["api"], "states:DescribeExecution", "states:StopExecution")
        # functions the definition invokes are granted through the ARN known in advance, not through
        # the state machine resource, which already depends on them
        by_arn = sfn.StateMachine.from_state_machine_arn(self, "ImportStateMachineByArn", state_machine_arn)
        in_definition = {f.name for f in FUNCTIONS if f.asl_variable}
        for name in TASK_RESPONDERS:
            (by_arn if name in in_definition else state_machine).grant_task_response(fns[name])

        self._acknowledge_scoped_wildcards(storage.bucket.node.default_child, state_machine)
        # import sessions: the api starts the enrichment workflow of large sessions
        self.sessions_workflow = SessionsWorkflow(self, "SessionsWorkflow", state_machine_name=enrichment_name,
                                                  functions=fns, starter=fns["api"],
                                                  log_retention=config.log_retention,
                                                  removal_policy=config.removal_policy)

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

    def _acknowledge_scoped_wildcards(self, bucket_resource: Any, state_machine: sfn.StateMachine) -> None:
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
        }
        for name, access in BUCKET_ACCESS.items():
            findings: dict[str, str] = {}
            for mode, prefixes in access.items():
                for action, reason in action_reasons[mode].items():
                    findings[f"AwsSolutions-IAM5[Action::{action}]"] = reason
                for prefix in prefixes:
                    findings[f"AwsSolutions-IAM5[Resource::{bucket_arn}/{prefix}*]"] = (
                        f"Objects under {prefix} in the service's own bucket: keys are per tenant and "
                        "import, so the prefix is the narrowest ARN."
                    )
            acknowledge(self.functions[name].role, findings)

        workflow_fn = self.get_logical_id(self.functions["workflow"].function.node.default_child)
        sm_ref = f'{{"Ref":"{self.get_logical_id(state_machine.node.default_child)}"}}'
        execution_arn = (
            "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f'{{"Fn::Select":[6,{{"Fn::Split":[":",{sm_ref}]}}]}}:*'
        )
        acknowledge(
            self.functions["api"].role,
            {
                f"AwsSolutions-IAM5[Resource::{execution_arn}]": "Describe/stop the executions of this one "
                "state machine: execution names are only known at run time.",
                f"AwsSolutions-IAM5[Resource::<{workflow_fn}.Arn>:*]": "grant_invoke's versions and aliases "
                "of the one workflow function, which the api invokes asynchronously to revert an import.",
            },
        )
