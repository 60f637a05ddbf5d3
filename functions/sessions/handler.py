"""Import sessions' enrichment workflow steps (statemachines/session_enrichment.asl.json), by `action`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from tximport.errors import Conflict
from tximport.runtime import container
from tximport.sessions.models import Scope
from tximport.tasks import EnrichmentTask

logger = Logger(service="tximport")
tracer = Tracer(service="tximport")


class ConflictError(Exception):
    """A concurrent write lost a version check: the state machine retries the step."""


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = EnrichmentTask.model_validate(event)
    scope = Scope(tenant=task.tenant, workspace_id=task.workspace_id)
    enrich = container().sessions.enrich
    logger.append_keys(session_id=task.session_id, run_id=task.run_id, action=task.action)
    try:
        match task.action:
            case "prepare":
                return {"segments": enrich.prepare(scope, task.session_id, task.run_id)}
            case "enrichSegment":
                return {"counts": enrich.enrich_segment(scope, task.session_id, task.run_id, task.start or 0,
                                                        task.end or 0)}
            case "finish":
                return enrich.finish(scope, task.session_id, task.run_id)
            case "abandon":
                return enrich.finish(scope, task.session_id, task.run_id, task.error or {"Error": "unknown"})
    except Conflict as exc:
        raise ConflictError(exc.message) from exc
    raise ValueError(f"unknown action {task.action!r}")
