"""The payloads statemachines/reconcile.asl.json hands the reconcile function: ids only, never entries."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tximport.models import Tenant


class TenantRef(BaseModel):
    organisation_id: str = Field(alias="organisationId")
    company_id: str = Field(alias="companyId")


class ReconcileTask(BaseModel):
    """One step of the matching workflow for one run of one reconciliation."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    action: Literal["begin", "match", "fail"]
    reconciliation_id: str = Field(alias="reconciliationId")
    run: int = Field(ge=1)
    tenant_ref: TenantRef = Field(alias="tenant")
    error: dict[str, Any] | None = None

    @property
    def tenant(self) -> Tenant:
        return Tenant(organisation_id=self.tenant_ref.organisation_id, company_id=self.tenant_ref.company_id)
