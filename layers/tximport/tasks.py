"""The payloads the state machines hand the functions: ids and keys
only, never rows. One model per workflow action, each with exactly its fields; `WorkflowTask` is their
union, told apart by `action`. The process, commit and revert functions each take their own model; the
sessions function takes the steps of the import sessions' enrichment (`EnrichmentStep`)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from tximport.models import Tenant


class TenantRef(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    organisation_id: str = Field(alias="organisationId")
    company_id: str = Field(alias="companyId")

    @classmethod
    def of(cls, tenant: Tenant) -> TenantRef:
        return cls(organisation_id=tenant.organisation_id, company_id=tenant.company_id)


class TenantTask(BaseModel):
    """What every task names: its tenant (an import's tasks and a reconciliation's alike)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    tenant_ref: TenantRef = Field(alias="tenant")

    @property
    def tenant(self) -> Tenant:
        return Tenant(organisation_id=self.tenant_ref.organisation_id, company_id=self.tenant_ref.company_id)

    def payload(self) -> dict[str, Any]:
        """The task as the function receives it (JSON, by its wire names)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def step_error(error: dict[str, Any] | None, *, code: str, message: str) -> tuple[str, str]:
    """The message and the code of an error a state's Catch hands a task (`{"Error", "Cause"}`; a Lambda
    error's Cause is the JSON `{"errorMessage", "errorType"}`); `message` and `code` where it says nothing."""
    error = error or {}
    code = str(error.get("Error") or code)
    cause = error.get("Cause")
    if isinstance(cause, str) and cause:
        try:
            parsed = json.loads(cause)
            message = str(parsed.get("errorMessage") or parsed)
            code = str(parsed.get("errorType") or code)
        except ValueError:
            message = cause
    return message, code


class ImportTask(TenantTask):
    """What every import task names: the import and its tenant."""

    import_id: str = Field(alias="importId")


class StartInput(ImportTask):
    """Input of an import's execution (the state machine hands its parts to the tasks)."""

    confirmation_timeout_seconds: int = Field(alias="confirmationTimeoutSeconds")
    queue_timeout_seconds: int = Field(alias="queueTimeoutSeconds")
    #: how long the Process step may take for this file (see `process_timeout`)
    process_timeout_seconds: int = Field(default=900, alias="processTimeoutSeconds", ge=1, le=900)


#: the Process step's time: a base, plus per MB 4x what the slowest reader takes (MT940, ~0.6 CPU s per
#: MB), at most the process function's 900 s. A runaway parse then ends in error in about a minute for a
#: small file instead of 15 minutes
PROCESS_BASE_SECONDS = 60
PROCESS_SECONDS_PER_MB = 2.5
PROCESS_MAX_SECONDS = 900


def process_timeout(size: int | None) -> int:
    """The Process step's timeout for a file of `size` bytes (the longest when the size is unknown)."""
    if size is None:
        return PROCESS_MAX_SECONDS
    return min(PROCESS_MAX_SECONDS, PROCESS_BASE_SECONDS + int(size / 1_000_000 * PROCESS_SECONDS_PER_MB))


class ProcessTask(ImportTask):
    """Input of the process function: parse and stage the import's file. A file above the split size
    answers `split` with its range indexes; then `range` runs one range (the workflow's Map) and `reduce`
    merges them (tximport.services.split)."""

    range_index: int | None = Field(default=None, alias="range", ge=0)
    reduce: bool | None = None

    #: the Process step's timeout (the execution's processTimeoutSeconds): the parse stops before it
    timeout_seconds: int | None = Field(default=None, alias="timeoutSeconds", ge=1, le=PROCESS_MAX_SECONDS)


class CommitTask(ImportTask):
    """Input of the commit function: one staged chunk."""

    chunk_key: str = Field(alias="chunkKey")


class BalancesTask(ImportTask):
    """Input of the commit function once every chunk is written (the RefreshBalances step): recompute the
    balances of the import's days."""

    refresh_balances: Literal[True] = Field(alias="refreshBalances")


#: what the commit function takes
CommitStep = TypeAdapter(CommitTask | BalancesTask)


class ClaimTask(ImportTask):
    """Take the import's accounts, or queue behind the import that holds them."""

    action: Literal["claim"] = "claim"
    execution_arn: str | None = Field(default=None, alias="executionArn")


class EnqueueTask(ImportTask):
    """Park the queue's task token until the accounts come free."""

    action: Literal["enqueue"] = "enqueue"
    task_token: str = Field(alias="taskToken")


class AwaitTask(ImportTask):
    """Park the confirmation's task token on the import."""

    action: Literal["await"] = "await"
    task_token: str = Field(alias="taskToken")


class ExpireTask(ImportTask):
    """Nobody confirmed within the confirmation window."""

    action: Literal["expire"] = "expire"


class BeginCommitTask(ImportTask):
    """Confirmed: answer the staged chunk keys the commit Map iterates over."""

    action: Literal["beginCommit"] = "beginCommit"


class CompleteTask(ImportTask):
    """Every chunk is committed."""

    action: Literal["complete"] = "complete"


class FailTask(ImportTask):
    """A step failed: record why (the state machine's error object: Error and Cause)."""

    action: Literal["fail"] = "fail"
    error: dict[str, Any] | None = None


class RevertTask(ImportTask):
    """The import workflow's UndoCommit step (`undoCommit`): remove the ledger lines a commit that failed
    part-way wrote, before the workflow records the failure."""

    undo_commit: bool | None = Field(default=None, alias="undoCommit")


class RevertRunTask(ImportTask):
    """One run of the revert workflow (statemachines/revert.asl.json): remove the import's ledger lines from
    where its revert stands, as far as the run's time allows. The workflow runs the step again while the run
    answers `more`."""

    action: Literal["run"] = "run"
    #: the staged chunks whose days an earlier run of this execution recomputed already (a run recomputes the
    #: days of the chunks after these, up to where it stops)
    refreshed_through: int = Field(default=0, alias="refreshedThrough", ge=0)


class RevertFailTask(ImportTask):
    """A run of the revert workflow failed past its retries: record revertFailed (the state machine's error
    object: Error and Cause)."""

    action: Literal["fail"] = "fail"
    error: dict[str, Any] | None = None


class RevertRunResult(BaseModel):
    """What a run of the revert workflow answers: whether the workflow runs it again, and from which chunk
    the next run recomputes days."""

    model_config = ConfigDict(populate_by_name=True)

    revert_status: str | None = Field(alias="revertStatus")
    more: bool
    refreshed_through: int = Field(alias="refreshedThrough")


#: what the revert function takes: a step of the revert workflow (by `action`), or the import workflow's
#: UndoCommit (no action)
RevertStep = TypeAdapter(Annotated[RevertRunTask | RevertFailTask, Field(discriminator="action")] | RevertTask)


class ImportRef(BaseModel):
    """The import an execution runs for, read from the execution's input (other fields are ignored, so
    executions started by an older version still read)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    import_id: str = Field(alias="importId")
    tenant_ref: TenantRef = Field(alias="tenant")

    @property
    def tenant(self) -> Tenant:
        return Tenant(organisation_id=self.tenant_ref.organisation_id, company_id=self.tenant_ref.company_id)


class ExecutionStatusDetail(BaseModel):
    """The detail of Step Functions' "Step Functions Execution Status Change" event."""

    model_config = ConfigDict(extra="ignore")

    executionArn: str  # noqa: N815 - the event's field names
    stateMachineArn: str  # noqa: N815
    name: str
    status: str
    input: str | None = None
    error: str | None = None
    cause: str | None = None

    def import_ref(self) -> ImportRef | None:
        """The import this execution ran for, if its input names one."""
        try:
            return ImportRef.model_validate_json(self.input or "")
        except ValueError:
            return None


class ExecutionStatusChange(BaseModel):
    """What EventBridge delivers to the reaper when an execution of the import machine ends."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    detail_type: Literal["Step Functions Execution Status Change"] = Field(alias="detail-type")
    detail: ExecutionStatusDetail


WorkflowTask = Annotated[
    ClaimTask | EnqueueTask | AwaitTask | ExpireTask | BeginCommitTask | CompleteTask | FailTask,
    Field(discriminator="action"),
]

#: validates the workflow function's input into the task of its action
WORKFLOW_TASKS: TypeAdapter[WorkflowTask] = TypeAdapter(WorkflowTask)


# --- import sessions: the enrichment workflow (statemachines/session_enrichment.asl.json) -------------
class EnrichmentInput(TenantTask):
    """Input of an enrichment run (and what each of its steps names): the session and the run."""

    workspace_id: str = Field(alias="workspaceId")
    session_id: str = Field(alias="sessionId")
    run_id: str = Field(alias="runId")


class PrepareEnrichment(EnrichmentInput):
    """Mark the session's PENDING lines PROCESSING; answer the ranges of sequence numbers to enrich."""

    action: Literal["prepare"] = "prepare"


class EnrichSegment(EnrichmentInput):
    """Enrich the PROCESSING lines whose sequence numbers are in [start, end)."""

    action: Literal["enrichSegment"] = "enrichSegment"
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class FinishEnrichment(EnrichmentInput):
    """Every range is enriched: no line stays PROCESSING; the session records the outcome."""

    action: Literal["finish"] = "finish"


class AbandonEnrichment(EnrichmentInput):
    """A step failed (the state machine's error object: Error and Cause): lines back to PENDING."""

    action: Literal["abandon"] = "abandon"
    error: dict[str, Any] | None = None


EnrichmentStep = Annotated[
    PrepareEnrichment | EnrichSegment | FinishEnrichment | AbandonEnrichment,
    Field(discriminator="action"),
]

#: validates the sessions function's input into the step of its action
ENRICHMENT_STEPS: TypeAdapter[EnrichmentStep] = TypeAdapter(EnrichmentStep)
