"""The payloads statemachines/reconcile.asl.json hands the reconcile function: ids only, never entries."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tximport.tasks import TenantTask


class ReconcileInput(TenantTask):
    """Input of one execution: one run of one reconciliation (the state machine hands it to each step)."""

    reconciliation_id: str = Field(alias="reconciliationId")
    run: int = Field(ge=1)


class ReconcileTask(ReconcileInput):
    """One step of the matching workflow, chosen by `action` (`error` is what `fail` records)."""

    action: Literal["begin", "match", "fail"]
    error: dict[str, Any] | None = None
