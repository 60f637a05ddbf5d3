"""The revert workflow's steps (statemachines/revert.asl.json): a run that removes an import's ledger lines from
where its revert stands (run again while it answers `more`), and the record of a run that failed past its
retries; and the import workflow's UndoCommit step (a commit that failed part-way loses what it wrote)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from tximport.runtime import cold_start, container
from tximport.tasks import RevertFailTask, RevertRunResult, RevertRunTask, RevertStep

logger = Logger(service="tximport")
tracer = Tracer(service="tximport")
cold_start("revert")  # a missing setting fails here, when Lambda loads the function


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = RevertStep.validate_python(event)
    logger.append_keys(import_id=task.import_id)
    service = container().revert
    if isinstance(task, RevertFailTask):
        imp = service.fail(task.tenant, task.import_id, task.error)
        logger.warning("revert run failed", extra={"revert_status": imp.revert.status, "error": task.error})
        return {"revertStatus": imp.revert.status}
    if isinstance(task, RevertRunTask):
        # the run stops with time to spare and saves its progress: the workflow runs it again while it answers
        # `more`; a failure is recorded on the import as revertFailed (a new POST /revert continues)
        run = service.run(task.tenant, task.import_id, remaining_ms=context.get_remaining_time_in_millis,
                          refreshed_through=task.refreshed_through)
        logger.info("revert ran", extra={"revert_status": run.imp.revert.status, "more": run.more,
                                         "lines_removed": run.imp.revert.line_count})
        return RevertRunResult(revert_status=run.imp.revert.status, more=run.more,
                               refreshed_through=run.refreshed_through).model_dump(by_alias=True)
    removed = service.undo_commit(task.tenant, task.import_id)  # raises on failure: the workflow retries the step
    logger.info("undid a failed commit", extra={"removed": removed})
    return {"removed": removed}
