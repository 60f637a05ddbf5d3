"""Alarms on the stack's dead-letter queues: a message in one is work the service gave up on (a stream
batch whose events were never published, ...), which someone has to look at before the queue's
retention drops it. Each queue gets one alarm, raised by its first message and notifying one topic."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.nag import acknowledge

#: how often a queue's depth is looked at; a message is noticed within this
PERIOD = Duration.minutes(5)


class DeadLetterAlarms(Construct):
    """The topic alarms notify (subscribe an address or a pager to it), and `watch` for each queue."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Topic", display_name="tximport alarms", enforce_ssl=True)
        acknowledge(self.topic, {
            "AwsSolutions-SNS2": "The topic carries alarm state changes only (no transaction data), and "
            "CloudWatch cannot publish to a topic encrypted with the AWS managed SNS key.",
        })
        self.alarms: dict[str, cloudwatch.Alarm] = {}

    def watch(self, name: str, queue: sqs.IQueue, what: str) -> cloudwatch.Alarm:
        """An alarm raised while `queue` holds a message (`what` says what a message there means)."""
        alarm = cloudwatch.Alarm(
            self,
            name,
            alarm_description=f"{what}: read the queue's messages, fix the cause, then redrive or delete them",
            metric=queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms[name] = alarm
        return alarm
