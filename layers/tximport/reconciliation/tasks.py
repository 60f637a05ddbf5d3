"""The payloads statemachines/reconcile.asl.json hands the reconcile function: ids only, never entries."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tximport.models import Tenant
from tximport.tasks import TenantRef


class ReconcileInput(BaseModel):
    """Input of one execution: one run of one reconciliation (the state machine hands it to each step)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    reconciliation_id: str = Field(alias="reconciliationId")
    run: int = Field(ge=1)
    tenant_ref: TenantRef = Field(alias="tenant")

    @property
    def tenant(self) -> Tenant:
        return Tenant(organisation_id=self.tenant_ref.organisation_id, company_id=self.tenant_ref.company_id)

    def payload(self) -> dict[str, Any]:
        """The input as the execution receives it (JSON, by its wire names)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ReconcileTask(ReconcileInput):
    """One step of the matching workflow, chosen by `action` (`error` is what `fail` records)."""

    action: Literal["begin", "match", "fail"]
    error: dict[str, Any] | None = None
