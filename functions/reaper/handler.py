"""Reaper: an import whose execution ended without leaving it final ends in error, its accounts
released. Invoked by EventBridge when an execution of the import machine ends, and on a schedule to
sweep the in-flight imports that have not changed for a while."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from tximport.runtime import cold_start, container
from tximport.tasks import ExecutionStatusChange

logger = Logger(service="tximport")
tracer = Tracer(service="tximport")
cold_start("reaper")  # a missing setting fails here, when Lambda loads the function

#: a sweep stops starting new checks when less than this is left of the invocation
_SWEEP_MARGIN_MS = 10_000


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    reaper = container().reaper
    if event.get("detail-type") == "Step Functions Execution Status Change":
        change = ExecutionStatusChange.model_validate(event).detail
        ref = change.import_ref()
        if ref is None:
            logger.warning("an execution without an import in its input ended", extra={"execution": change.name})
            return {"reaped": []}
        reaped = reaper.execution_ended(ref.tenant, ref.import_id, change.status, change.cause or change.error)
        return {"reaped": [ref.import_id] if reaped else []}
    # the schedule (or anything else) sweeps
    sweep = reaper.sweep(stop=lambda: context.get_remaining_time_in_millis() < _SWEEP_MARGIN_MS)
    if sweep.reaped:
        logger.warning("imports ended by the sweep", extra={"reaped": sweep.reaped})
    return {"checked": sweep.checked, "reaped": sweep.reaped}
