"""The payloads the state machine hands its tasks: ids and keys only, never rows."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tximport.models import Tenant


class TenantRef(BaseModel):
    organisation_id: str = Field(alias="organisationId")
    company_id: str = Field(alias="companyId")


class WorkflowTask(BaseModel):
    """Input of the process and workflow functions."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    action: Literal["claim", "enqueue", "await", "expire", "beginCommit", "complete", "fail"] | None = None
    import_id: str = Field(alias="importId")
    tenant_ref: TenantRef = Field(alias="tenant")
    task_token: str | None = Field(default=None, alias="taskToken")
    execution_arn: str | None = Field(default=None, alias="executionArn")
    error: dict[str, Any] | None = None

    @property
    def tenant(self) -> Tenant:
        return Tenant(organisation_id=self.tenant_ref.organisation_id, company_id=self.tenant_ref.company_id)


class RevertTask(BaseModel):
    """Input of the revert function (invoked asynchronously by the API): which import to revert."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    import_id: str = Field(alias="importId")
    tenant_ref: TenantRef = Field(alias="tenant")

    @property
    def tenant(self) -> Tenant:
        return Tenant(organisation_id=self.tenant_ref.organisation_id, company_id=self.tenant_ref.company_id)


class CommitTask(WorkflowTask):
    """Input of the commit function: one staged chunk."""

    chunk_key: str = Field(alias="chunkKey")


class EnrichmentTask(BaseModel):
    """Input of the import sessions' enrichment steps: ids and sequence numbers only."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    action: Literal["prepare", "enrichSegment", "finish", "abandon"]
    tenant_ref: TenantRef = Field(alias="tenant")
    workspace_id: str = Field(alias="workspaceId")
    session_id: str = Field(alias="sessionId")
    run_id: str = Field(alias="runId")
    start: int | None = None
    end: int | None = None
    error: dict[str, Any] | None = None

    @property
    def tenant(self) -> Tenant:
        return Tenant(organisation_id=self.tenant_ref.organisation_id, company_id=self.tenant_ref.company_id)
