"""Workflow task: the bookkeeping steps of the state machine, chosen by `action`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from tximport.errors import Conflict, TransientError
from tximport.runtime import cold_start, container
from tximport.tasks import (
    WORKFLOW_TASKS,
    AwaitTask,
    BeginCommitTask,
    ClaimTask,
    CompleteTask,
    EnqueueTask,
    ExpireTask,
    FailTask,
    WorkflowTask,
)

logger = Logger(service="tximport")
tracer = Tracer(service="tximport")
cold_start("workflow")  # a missing setting fails here, when Lambda loads the function


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = WORKFLOW_TASKS.validate_python(event)
    logger.append_keys(import_id=task.import_id, action=task.action)
    try:
        return _run(task)
    except Conflict as exc:
        if exc.code != "ConcurrentUpdate":
            raise
        # another writer changed the import between our read and our write: the step's Retry runs it
        # again on what is there now (every workflow step is safe to run again)
        raise TransientError(str(exc)) from exc


def _run(task: WorkflowTask) -> dict[str, Any]:
    c = container()
    flow = c.workflow
    imp = c.lifecycle.imports.get(task.tenant, task.import_id)
    match task:
        case ClaimTask():
            return {"next": flow.claim(imp, task.execution_arn)}
        case EnqueueTask():
            flow.enqueue(imp, task.task_token)
        case AwaitTask():
            flow.await_confirmation(imp, task.task_token)
        case ExpireTask():
            flow.expire(imp)
        case BeginCommitTask():
            return {"chunkKeys": flow.begin_commit(imp)}
        case CompleteTask():
            flow.complete(imp)
        case FailTask():
            flow.fail(imp, task.error)
    return {"ok": True}
