"""Workflow task: commit one staged chunk into the ledger (one Map worker), or, once every chunk is
written, recompute the balances of the import's days (the RefreshBalances step)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tximport.runtime import cold_start, container
from tximport.tasks import BalancesTask, CommitStep

logger = Logger(service="tximport")
tracer = Tracer(service="tximport")
cold_start("commit")  # a missing setting fails here, when Lambda loads the function
metrics = Metrics(namespace="tximport", service="tximport")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = CommitStep.validate_python(event)
    c = container()
    imp = c.lifecycle.imports.get(task.tenant, task.import_id)
    if isinstance(task, BalancesTask):
        days = c.commit.refresh_balances(imp)
        logger.info("balances recomputed", extra={"import_id": imp.id, "days": days})
        return {"days": days}
    written = c.commit.commit_chunk(imp, task.chunk_key)
    metrics.add_metric(name="LedgerLinesWritten", unit=MetricUnit.Count, value=written)
    logger.info("chunk committed", extra={"import_id": imp.id, "chunk": task.chunk_key, "written": written})
    return {"written": written}
