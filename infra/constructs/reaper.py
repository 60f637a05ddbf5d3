"""The reaper's two triggers: Step Functions' execution status change events for the import machine
(ended executions only), and a schedule that sweeps in-flight imports (tximport.services.reaper).

Standard workflows put an event on the account's default bus whenever an execution changes status;
the rule keeps the import machine's ended executions. EventBridge retries a failed delivery for a day;
an event lost anyway is caught by the next sweep, which asks Step Functions about every import still in
flight after a quiet period.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

#: how often the sweep runs
SWEEP_EVERY = Duration.minutes(15)
#: the execution statuses that end an execution
ENDED_STATUSES = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


class Reaper(Construct):
    """Routes ended executions of `state_machine`, and a schedule, to the reaper function."""

    def __init__(self, scope: Construct, construct_id: str, *, function: lambda_.IFunction,
                 state_machine: sfn.IStateMachine) -> None:
        super().__init__(scope, construct_id)
        self.execution_ended = events.Rule(
            self,
            "ExecutionEnded",
            description="An execution of the import workflow ended: the reaper ends its import if it is not final",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"stateMachineArn": [state_machine.state_machine_arn], "status": ENDED_STATUSES},
            ),
            targets=[targets.LambdaFunction(function, retry_attempts=185, max_event_age=Duration.hours(24))],
        )
        self.sweep = events.Rule(
            self,
            "Sweep",
            description="Sweep imports left in flight by an execution that ended (a lost event)",
            schedule=events.Schedule.rate(SWEEP_EVERY),
            targets=[targets.LambdaFunction(function, retry_attempts=2)],
        )
