"""Workflow task of statemachines/reconcile.asl.json: begin, match (the engine), fail; chosen by `action`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tximport.reconciliation.tasks import ReconcileTask
from tximport.runtime import cold_start, container

logger = Logger(service="tximport")
tracer = Tracer(service="tximport")
metrics = Metrics(namespace="tximport", service="tximport")
cold_start("reconcile")  # a missing setting fails here, when Lambda loads the function


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = ReconcileTask.model_validate(event)
    logger.append_keys(reconciliation_id=task.reconciliation_id, action=task.action, run=task.run)
    matching = container().reconciliations.matching
    match task.action:
        case "begin":
            return {"next": matching.begin(task.tenant, task.reconciliation_id, task.run)}
        case "match":
            outcome = matching.match(task.tenant, task.reconciliation_id, task.run)
            if "matched" in outcome:
                metrics.add_metric(name="ReconciliationEntriesMatched", unit=MetricUnit.Count,
                                   value=outcome["matched"])
            logger.info("matched", extra=outcome)
            return outcome
        case "fail":
            matching.fail(task.tenant, task.reconciliation_id, task.error)
            return {"ok": True}
