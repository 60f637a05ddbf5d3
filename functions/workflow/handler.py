"""Workflow task: the bookkeeping steps of the state machine, chosen by `action`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from tximport.runtime import container
from tximport.tasks import WorkflowTask

logger = Logger(service="tximport")
tracer = Tracer(service="tximport")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = WorkflowTask.model_validate(event)
    c = container()
    flow = c.workflow
    imp = c.lifecycle.imports.get(task.tenant, task.import_id)
    logger.append_keys(import_id=imp.id, action=task.action)
    match task.action:
        case "claim":
            return {"next": flow.claim(imp, task.execution_arn)}
        case "enqueue":
            flow.enqueue(imp, _token(task))
        case "await":
            flow.await_confirmation(imp, _token(task))
        case "expire":
            flow.expire(imp)
        case "beginCommit":
            return {"chunkKeys": flow.begin_commit(imp)}
        case "complete":
            flow.complete(imp)
        case "fail":
            flow.fail(imp, task.error)
        case _:
            raise ValueError(f"unknown workflow action {task.action!r}")
    return {"ok": True}


def _token(task: WorkflowTask) -> str:
    if not task.task_token:
        raise ValueError(f"action {task.action} needs a taskToken")
    return task.task_token
