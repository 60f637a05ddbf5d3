"""Import sessions' enrichment workflow steps (statemachines/session_enrichment.asl.json), by `action`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from tximport.errors import Conflict
from tximport.runtime import cold_start, container
from tximport.sessions.models import Scope
from tximport.tasks import (
    ENRICHMENT_STEPS,
    AbandonEnrichment,
    EnrichSegment,
    FinishEnrichment,
    PrepareEnrichment,
)

logger = Logger(service="tximport")
tracer = Tracer(service="tximport")
cold_start("sessions")  # a missing setting fails here, when Lambda loads the function


class ConflictError(Exception):
    """A concurrent write lost a version check: the state machine retries the step."""


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = ENRICHMENT_STEPS.validate_python(event)
    scope = Scope(tenant=step.tenant, workspace_id=step.workspace_id)
    enrich = container().sessions.enrich
    logger.append_keys(session_id=step.session_id, run_id=step.run_id, action=step.action)
    try:
        match step:
            case PrepareEnrichment():
                return {"segments": enrich.prepare(scope, step.session_id, step.run_id)}
            case EnrichSegment():
                return {"counts": enrich.enrich_segment(scope, step.session_id, step.run_id, step.start, step.end)}
            case FinishEnrichment():
                return enrich.finish(scope, step.session_id, step.run_id)
            case AbandonEnrichment():
                return enrich.finish(scope, step.session_id, step.run_id, step.error or {"Error": "unknown"})
    except Conflict as exc:
        raise ConflictError(exc.message) from exc
