"""Workflow task: parse and validate an uploaded file (streamed), stage its rows in S3."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tximport.errors import Conflict, TransientError
from tximport.runtime import cold_start, container
from tximport.tasks import ProcessTask

logger = Logger(service="tximport")
tracer = Tracer(service="tximport")
cold_start("process")  # a missing setting fails here, when Lambda loads the function
metrics = Metrics(namespace="tximport", service="tximport")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = ProcessTask.model_validate(event)
    c = container()
    imp = c.lifecycle.imports.get(task.tenant, task.import_id)
    logger.append_keys(import_id=imp.id)
    if task.range_index is not None:  # one range of a split file (the workflow's Map)
        c.split.process_range(imp, task.range_index)
        logger.info("range processed", extra={"range": task.range_index})
        return {"range": task.range_index}
    try:
        if task.reduce:
            outcome = c.split.reduce(imp)
        else:
            # the parse stops in time to record why (ProcessingTimeout) before Lambda or the step's timeout
            # ends it
            outcome = c.processing.process(imp, remaining_seconds=context.get_remaining_time_in_millis() / 1000,
                                           step_timeout_seconds=task.timeout_seconds)
    except Conflict as exc:
        if exc.code != "ConcurrentUpdate":
            raise
        # another run of this step (one Step Functions timed out, which Lambda lets finish) saved first:
        # the step's Retry runs again on what that run left (see ProcessingService.process)
        raise TransientError(str(exc)) from exc
    if imp.summary and outcome != "split":
        metrics.add_metric(name="LinesStaged", unit=MetricUnit.Count, value=imp.summary.transaction_details_count)
    logger.info("processed", extra={"outcome": outcome})
    # the workflow's Map iterates over the ranges (indexes only); empty unless the file is split
    return {"outcome": outcome, "ranges": c.processing.split_ranges(imp) if outcome == "split" else []}
