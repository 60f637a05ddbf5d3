"""The imports table's DynamoDB stream -> status events on the service's bus (at least once, in order)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from tximport.runtime import cold_start, container
from tximport.services.events import batch_item_failures, stream_changes

logger = Logger(service="tximport")
tracer = Tracer(service="tximport")
cold_start("events")  # a missing setting fails here, when Lambda loads the function


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # no Metrics here: Powertools keeps one metric set per process, and locally this handler runs
    # inside the writes of the others (flushing their metrics); the stream's own IteratorAge shows lag
    c = container()
    changes = stream_changes(event, c.table_keys)
    failed = c.status_events.publish(changes)
    if failed is not None:
        # Lambda reads the stream again from this record (ReportBatchItemFailures)
        logger.warning("events not all published; the stream is read again from a record",
                       extra={"sequence_number": failed, "records": len(changes)})
    return batch_item_failures(failed)
