"""Revert a complete import: remove the ledger lines it wrote (invoked asynchronously by the API); or
undo a commit that failed part-way (the import workflow's UndoCommit step, synchronously)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from tximport.runtime import cold_start, container
from tximport.tasks import RevertTask

logger = Logger(service="tximport")
tracer = Tracer(service="tximport")
cold_start("revert")  # a missing setting fails here, when Lambda loads the function


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = RevertTask.model_validate(event)
    logger.append_keys(import_id=task.import_id)
    if task.undo_commit:  # raises on failure: the workflow retries the step
        removed = container().revert.undo_commit(task.tenant, task.import_id)
        logger.info("undid a failed commit", extra={"removed": removed})
        return {"removed": removed}
    # the service stops with time to spare, saves its progress and records revertFailed; a new
    # POST /revert continues from there
    imp = container().revert.run(task.tenant, task.import_id, remaining_ms=context.get_remaining_time_in_millis)
    logger.info("revert ran", extra={"revert_status": imp.revert.status})
    return {"revertStatus": imp.revert.status}
