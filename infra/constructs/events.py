"""Status events from DynamoDB streams: the events function reads the stream of every table that
`infra.definitions.TABLES` marks `stream=True` and puts one event per status change on the bus.

Why a stream and a function (and not the writer publishing, or EventBridge Pipes): a status is written
first and published from the stream, so a change that was saved is always announced, however the writer
ended; the function compares the old and new images (an event per *change*, not per write), which a
Pipe's filter cannot do without an enrichment function anyway; and the same handler runs in the local
stack through moto's stream-to-Lambda mapping.

Delivery: records are read in order per shard (parallelization 1), starting from the oldest record
kept (TRIM_HORIZON). The function reports the first record whose events EventBridge refused
(ReportBatchItemFailures), and Lambda retries from it until it succeeds or the record leaves the stream
(24 hours); a batch given up on then is described (shard and sequence numbers) in a queue kept 14 days
for someone to look at. Only the sort-key prefixes a translator is registered for pass the filter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.nag import acknowledge

#: at most this many records per invocation; the function answers within seconds either way
BATCH_SIZE = 100


def stream_filter(prefixes: Sequence[str], sort_key: str = "sk") -> dict[str, object]:
    """The event source filter: inserts and changes of items whose sort key starts with a prefix."""
    return lambda_.FilterCriteria.filter({
        "eventName": lambda_.FilterRule.or_("INSERT", "MODIFY"),
        "dynamodb": {"Keys": {sort_key: {"S": [{"prefix": prefix} for prefix in prefixes]}}},
    })


class StatusEvents(Construct):
    """Subscribes the events function to the streamed tables and lets it put events on the bus."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        tables: Mapping[str, dynamodb.ITable],
        prefixes: Mapping[str, Sequence[str]],
        event_bus: events.IEventBus,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self,
            "GivenUp",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=removal_policy,
        )
        acknowledge(
            self.dead_letters,
            {
                "AwsSolutions-SQS3": "This queue is itself the failure destination of the stream "
                "subscription: it describes stream batches that could not be published.",
            },
        )
        self.sources: dict[str, sources.DynamoEventSource] = {}
        for key, table in tables.items():
            if not prefixes.get(key):
                raise ValueError(f"the {key} table is streamed but no event translator is registered for it")
            self.sources[key] = sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=BATCH_SIZE,
                parallelization_factor=1,  # in order per shard: one item's changes arrive in sequence
                report_batch_item_failures=True,
                bisect_batch_on_error=False,
                on_failure=sources.SqsDlq(self.dead_letters),
                filters=[stream_filter(prefixes[key])],
            )
            function.add_event_source(self.sources[key])
        event_bus.grant_put_events_to(function)
        if function.role is not None:
            acknowledge(
                function.role,
                {
                    "AwsSolutions-IAM5[Resource::*]": "X-Ray PutTraceSegments/PutTelemetryRecords and "
                    "dynamodb:ListStreams (how the stream subscription finds the table's stream; the "
                    "records themselves are read from that one stream's ARN) support no resource-level "
                    "permissions.",
                },
            )
