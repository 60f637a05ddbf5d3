"""The import sessions' enrichment workflow: the state machine from
`statemachines/session_enrichment.asl.json`, which invokes the sessions function, started by the api
for sessions too large to enrich within a call."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.nag import acknowledge
from infra.definitions import ENRICHMENT_ASL_FUNCTIONS, ENRICHMENT_STATE_MACHINE_FILE


class SessionsWorkflow(Construct):
    """Its name is fixed by the stack, so the api learns its ARN without a dependency cycle."""

    def __init__(self, scope: Construct, construct_id: str, *, state_machine_name: str,
                 functions: dict[str, lambda_.IFunction], starter: lambda_.IFunction,
                 log_retention: logs.RetentionDays, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        invoked = {variable: functions[name] for variable, name in ENRICHMENT_ASL_FUNCTIONS.items()}
        self.log_group = logs.LogGroup(self, "Logs", log_group_name=f"/aws/vendedlogs/states/{state_machine_name}",
                                       retention=log_retention, removal_policy=removal_policy)
        self.state_machine = sfn.StateMachine(
            self, "StateMachine", state_machine_name=state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(ENRICHMENT_STATE_MACHINE_FILE)),
            definition_substitutions={variable: fn.function_arn for variable, fn in invoked.items()},
            # payloads carry ids and sequence numbers only (never lines), so execution data may be logged
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True, removal_policy=removal_policy)
        for fn in invoked.values():
            fn.grant_invoke(self.state_machine)
        self.state_machine.grant_start_execution(starter)
        stack = Stack.of(self)
        acknowledge(self.state_machine.role, {
            "AwsSolutions-IAM5[Resource::*]": "CloudWatch Logs delivery (logs:CreateLogDelivery and friends) and "
            "X-Ray tracing support no resource-level permissions.",
            **{f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(fn.node.default_child)}.Arn>:*]":
               "lambda:InvokeFunction on the versions and aliases of the sessions function only (grant_invoke's "
               "qualified-ARN form)." for fn in invoked.values()},
        })
