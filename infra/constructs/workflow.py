"""The import workflow: the state machine from `statemachines/import.asl.json`, the S3 notification that
starts it (through the on_upload function), and the service's event bus."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.nag import acknowledge
from infra.definitions import FUNCTIONS, STATE_MACHINE_FILE, UPLOAD_PREFIX, asl_substitutions

#: the construct id CDK gives the singleton function behind every S3 bucket notification
_NOTIFICATIONS_HANDLER_PREFIX = "BucketNotificationsHandler"


class Workflow(Construct):
    """State machine, event bus and the upload trigger.

    The state machine's name is fixed by the stack (not generated) so that its ARN is known before it
    exists: the functions it invokes receive that ARN in their environment and their grants, which
    would otherwise be a dependency cycle (function -> its policy -> state machine -> function ARN).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine_name: str,
        event_bus_name: str,
        functions: Mapping[str, lambda_.IFunction],
        bucket: s3.IBucket,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)

        self.event_bus = events.EventBus(self, "EventBus", event_bus_name=event_bus_name)

        workflow_functions = {f.name: functions[f.name] for f in FUNCTIONS if f.asl_variable}
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            # the /aws/vendedlogs/ prefix keeps the log group's resource policy small, as Step
            # Functions documents for state machines that log to CloudWatch
            log_group_name=f"/aws/vendedlogs/states/{state_machine_name}",
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(STATE_MACHINE_FILE)),
            definition_substitutions=asl_substitutions(
                {name: fn.function_arn for name, fn in workflow_functions.items()}
            ),
            # payloads carry ids and S3 keys only (never rows), so execution data may be logged
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
            tracing_enabled=True,
            removal_policy=removal_policy,
        )
        # the definition comes from a file, so CDK cannot see which functions it calls: grant them here
        for fn in workflow_functions.values():
            fn.grant_invoke(self.state_machine)
        acknowledge(
            self.state_machine.role,
            {
                "AwsSolutions-IAM5[Resource::*]": "CloudWatch Logs delivery (logs:CreateLogDelivery and "
                "friends) and X-Ray tracing support no resource-level permissions.",
                **{
                    f"AwsSolutions-IAM5[Resource::<{Stack.of(self).get_logical_id(fn.node.default_child)}"
                    f".Arn>:*]": f"lambda:InvokeFunction on the versions and aliases of the {name} "
                    "function only (grant_invoke's qualified-ARN form)."
                    for name, fn in workflow_functions.items()
                },
            },
        )

        # S3 events are at least once and unordered; on_upload deduplicates by import id
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.LambdaDestination(functions["on_upload"]),
            s3.NotificationKeyFilter(prefix=UPLOAD_PREFIX),
        )
        self._acknowledge_notifications_handler()

    def _acknowledge_notifications_handler(self) -> None:
        stack = Stack.of(self)
        for child in stack.node.children:
            if child.node.id.startswith(_NOTIFICATIONS_HANDLER_PREFIX):
                acknowledge(
                    child,
                    {
                        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                        "AWSLambdaBasicExecutionRole]": "CDK's own bucket-notification custom resource "
                        "(runs once per deployment to configure the notification); its role is not ours "
                        "to shape.",
                        "AwsSolutions-IAM5[Resource::*]": "CDK's bucket-notification custom resource needs "
                        "s3:PutBucketNotification; CDK writes that policy, not this project.",
                    },
                )
