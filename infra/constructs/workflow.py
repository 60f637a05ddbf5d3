"""The workflows: one state machine per entry of `infra.definitions.STATE_MACHINES` (its ASL file with
substitutions), the S3 notification that starts the import workflow (through the on_upload function),
and the service's event bus."""

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
from infra.definitions import IMPORT_STATE_MACHINE, STATE_MACHINES, UPLOAD_PREFIX, StateMachineDef

#: the construct id CDK gives the singleton function behind every S3 bucket notification
_NOTIFICATIONS_HANDLER_PREFIX = "BucketNotificationsHandler"


class Workflow(Construct):
    """State machines, event bus and the upload trigger.

    Each state machine's name is fixed by the stack (not generated) so that its ARN is known before it
    exists: the functions it invokes receive that ARN in their environment and their grants, which
    would otherwise be a dependency cycle (function -> its policy -> state machine -> function ARN).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine_names: Mapping[str, str],
        event_bus_name: str,
        functions: Mapping[str, lambda_.IFunction],
        bucket: s3.IBucket,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)

        self.event_bus = events.EventBus(self, "EventBus", event_bus_name=event_bus_name)

        #: the state machines by their name in STATE_MACHINES
        self.state_machines: dict[str, sfn.StateMachine] = {}
        #: their log groups, by the same names
        self.log_groups: dict[str, logs.LogGroup] = {}
        for definition in STATE_MACHINES:
            self._add_state_machine(definition, state_machine_names[definition.name], functions,
                                    log_retention=log_retention, removal_policy=removal_policy)
        self.state_machine = self.state_machines[IMPORT_STATE_MACHINE.name]
        self.log_group = self.log_groups[IMPORT_STATE_MACHINE.name]

        # S3 events are at least once and unordered; on_upload deduplicates by import id
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.LambdaDestination(functions["on_upload"]),
            s3.NotificationKeyFilter(prefix=UPLOAD_PREFIX),
        )
        self._acknowledge_notifications_handler()

    def _add_state_machine(self, definition: StateMachineDef, name: str,
                           functions: Mapping[str, lambda_.IFunction], *, log_retention: logs.RetentionDays,
                           removal_policy: RemovalPolicy) -> None:
        # the import machine keeps the construct ids it was first deployed with: a named state
        # machine whose logical id changed would have to be replaced, which CloudFormation refuses
        prefix = "" if definition is IMPORT_STATE_MACHINE else definition.name.capitalize()
        invoked = {fn_name: functions[fn_name] for fn_name in definition.invoked_functions}
        log_group = logs.LogGroup(
            self,
            f"{prefix}Logs",
            # the /aws/vendedlogs/ prefix keeps the log group's resource policy small, as Step
            # Functions documents for state machines that log to CloudWatch
            log_group_name=f"/aws/vendedlogs/states/{name}",
            retention=log_retention,
            removal_policy=removal_policy,
        )
        machine = sfn.StateMachine(
            self,
            f"{prefix}StateMachine",
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(definition.asl_file)),
            definition_substitutions=definition.substitutions(
                {fn_name: fn.function_arn for fn_name, fn in invoked.items()}
            ),
            # payloads carry ids and S3 keys only (never rows), so execution data may be logged
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True,
            removal_policy=removal_policy,
        )
        # the definition comes from a file, so CDK cannot see which functions it calls: grant them here
        for fn in invoked.values():
            fn.grant_invoke(machine)
        acknowledge(
            machine.role,
            {
                "AwsSolutions-IAM5[Resource::*]": "CloudWatch Logs delivery (logs:CreateLogDelivery and "
                "friends) and X-Ray tracing support no resource-level permissions.",
                **{
                    f"AwsSolutions-IAM5[Resource::<{Stack.of(self).get_logical_id(fn.node.default_child)}"
                    f".Arn>:*]": f"lambda:InvokeFunction on the versions and aliases of the {fn_name} "
                    "function only (grant_invoke's qualified-ARN form)."
                    for fn_name, fn in invoked.items()
                },
            },
        )
        self.state_machines[definition.name] = machine
        self.log_groups[definition.name] = log_group

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
