"""S3 ObjectCreated -> start the import's workflow (one execution per import, named after it)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from tximport.runtime import cold_start, container

logger = Logger(service="tximport")
tracer = Tracer(service="tximport")
cold_start("on_upload")  # a missing setting fails here, when Lambda loads the function


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_source(data_class=S3Event)
def handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    uploads = container().uploads
    results = []
    for record in event.records:
        # keys arrive URL-encoded; the service decodes them (record.s3.get_object.key is raw)
        raw_key = record.raw_event["s3"]["object"]["key"]
        size = record.raw_event["s3"]["object"].get("size")
        outcome = uploads.on_object_created(raw_key, size)
        logger.info("upload event", extra={"key": raw_key, "outcome": outcome})
        results.append({"key": raw_key, "outcome": outcome})
    return {"results": results}
