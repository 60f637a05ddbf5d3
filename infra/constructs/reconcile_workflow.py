"""The reconciliation matching workflow: the state machine from `statemachines/reconcile.asl.json`, which
invokes the reconcile function only (begin, match, fail)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.nag import acknowledge
from infra.definitions import RECONCILE_ASL_FUNCTIONS, RECONCILE_STATE_MACHINE_FILE, reconcile_substitutions


class ReconcileWorkflow(Construct):
    """A Standard state machine with a fixed name (its ARN is known to the api before it exists, as for the
    import workflow), execution logs and tracing; its role may invoke the reconcile function and nothing
    else."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine_name: str,
        functions: Mapping[str, lambda_.IFunction],
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        invoked = {name: functions[name] for name in RECONCILE_ASL_FUNCTIONS.values()}
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/vendedlogs/states/{state_machine_name}",
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(RECONCILE_STATE_MACHINE_FILE)),
            definition_substitutions=reconcile_substitutions({n: f.function_arn for n, f in invoked.items()}),
            # payloads carry ids only (entries and results live in S3 and DynamoDB)
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True,
            removal_policy=removal_policy,
        )
        for fn in invoked.values():
            fn.grant_invoke(self.state_machine)
        stack = Stack.of(self)
        acknowledge(
            self.state_machine.role,
            {
                "AwsSolutions-IAM5[Resource::*]": "CloudWatch Logs delivery (logs:CreateLogDelivery and "
                "friends) and X-Ray tracing support no resource-level permissions.",
                **{
                    f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(fn.node.default_child)}.Arn>:*]":
                    f"lambda:InvokeFunction on the versions and aliases of the {name} function only "
                    "(grant_invoke's qualified-ARN form)."
                    for name, fn in invoked.items()
                },
            },
        )
