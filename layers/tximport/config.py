"""Configuration is a model: each handler builds its settings once, at cold start, from the
environment; a missing or malformed value fails there with a clear message. Nothing below the handlers
reads os.environ."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Settings(BaseModel):
    """Everything the service's functions need to know about their environment."""

    imports_table: str = Field(alias="IMPORTS_TABLE_NAME")
    ledger_table: str = Field(alias="LEDGER_TABLE_NAME")
    bucket: str = Field(alias="BUCKET_NAME")
    #: the import-sessions table (workspaces, sessions, staged lines, their catalog)
    sessions_table: str | None = Field(default=None, alias="SESSIONS_TABLE_NAME")
    #: the import sessions' enrichment workflow, started for sessions too large to enrich within a call
    enrichment_state_machine_arn: str | None = Field(default=None, alias="ENRICHMENT_STATE_MACHINE_ARN")
    state_machine_arn: str | None = Field(default=None, alias="STATE_MACHINE_ARN")
    #: the reconciliation matching workflow (statemachines/reconcile.asl.json)
    reconcile_state_machine_arn: str | None = Field(default=None, alias="RECONCILE_STATE_MACHINE_ARN")
    #: the revert workflow (statemachines/revert.asl.json)
    revert_state_machine_arn: str | None = Field(default=None, alias="REVERT_STATE_MACHINE_ARN")
    #: the most staged chunks one run of the revert workflow handles before the next run goes on (0: as many as
    #: the run's time allows)
    revert_chunks_per_run: int = Field(default=0, alias="REVERT_CHUNKS_PER_RUN", ge=0)
    event_bus_name: str = Field(default="default", alias="EVENT_BUS_NAME")
    #: how long a presigned upload URL is valid
    upload_url_ttl_seconds: int = Field(default=900, alias="UPLOAD_URL_TTL_SECONDS")
    #: days a pending line may wait for its booked line before an import reports it expired (PendingExpired)
    pending_window_days: int = Field(default=10, alias="PENDING_WINDOW_DAYS", ge=1)
    #: how long an import may wait in awaitingConfirmation before it expires
    confirmation_timeout_seconds: int = Field(default=7 * 24 * 3600, alias="CONFIRMATION_TIMEOUT_SECONDS")
    #: how long after `complete` an import may still be reverted
    revert_window_seconds: int = Field(default=30 * 24 * 3600, alias="REVERT_WINDOW_SECONDS")
    #: imports and staged rows expire this long after creation (DynamoDB TTL, S3 lifecycle)
    retention_days: int = Field(default=365, alias="RETENTION_DAYS")
    #: at most this many seconds of parsing per Process run (besides Lambda's remaining time and the step's
    #: timeout): a parse past it ends the import in error (ProcessingTimeout). Unset on AWS; a tiny value in tests
    process_budget_seconds: float | None = Field(default=None, alias="PROCESS_BUDGET_SECONDS", gt=0)
    #: rows per staged chunk (one commit worker handles one chunk)
    chunk_rows: int = Field(default=50_000, alias="CHUNK_ROWS")
    #: a file above this many bytes is processed in ranges of about this size by the workflow's Map
    #: (CSV, MT940, CAMT.053; see tximport.services.split); 0 processes every file in one run
    split_bytes: int = Field(default=64_000_000, alias="SPLIT_BYTES", ge=0)
    #: the reaper's sweep leaves alone in-flight imports that changed more recently than this
    reaper_quiet_seconds: int = Field(default=300, alias="REAPER_QUIET_SECONDS", ge=0)
    #: how long an Idempotency-Key answers the first answer again (records expire by DynamoDB TTL)
    idempotency_ttl_seconds: int = Field(default=24 * 3600, alias="IDEMPOTENCY_TTL_SECONDS", gt=0)
    #: the Secrets Manager secret (ARN or name) whose value signs pagination cursors (read at cold start)
    cursor_key_secret: str | None = Field(default=None, alias="CURSOR_KEY_SECRET")

    #: bearer tokens: the issuer (`iss`), the accepted audiences (comma-separated `aud`/`client_id`) and where
    #: the issuer's signing keys are (default `<issuer>/.well-known/jwks.json`); the api function verifies
    jwt_issuer: str | None = Field(default=None, alias="JWT_ISSUER")
    jwt_audience: str | None = Field(default=None, alias="JWT_AUDIENCE")
    jwks_url: str | None = Field(default=None, alias="JWKS_URL")

    model_config = ConfigDict(populate_by_name=True)


#: what each function needs besides the settings every function needs (the tables and the bucket):
#: a function whose setting is missing fails at cold start, naming it, instead of at first use
REQUIRED_BY_FUNCTION: dict[str, tuple[str, ...]] = {
    # a revert and a reconciliation's matching run in their workflows;
    # bearer tokens are verified against the issuer; the import-sessions dialect lives in its own table and
    # enriches large sessions through its state machine; cursors are signed with the deployment's key
    "api": ("revert_state_machine_arn", "reconcile_state_machine_arn", "jwt_issuer", "jwt_audience", "sessions_table",
            "enrichment_state_machine_arn", "cursor_key_secret"),
    "on_upload": ("state_machine_arn",),  # an upload starts the import's execution
    "process": (),
    "commit": (),
    "workflow": (),
    "revert": (),
    "events": (),
    "reaper": ("state_machine_arn",),  # it asks Step Functions how each import's execution stands
    "reconcile": (),
    "sessions": ("sessions_table",),  # the enrichment steps read and rewrite a session's lines
}


class ConfigError(RuntimeError):
    pass


def load_settings(environ: dict[str, str] | None = None, *, function: str | None = None) -> Settings:
    """Build settings from the environment; raise ConfigError naming what is missing or wrong. With
    `function` (a folder of functions/), the settings that function needs must be there too."""
    env = dict(os.environ if environ is None else environ)
    try:
        settings = Settings.model_validate(env)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"tximport configuration is invalid: {problems}") from exc
    if function is not None:
        missing = [Settings.model_fields[name].alias or name for name in REQUIRED_BY_FUNCTION[function]
                   if not getattr(settings, name)]
        if missing:
            raise ConfigError(f"tximport configuration is invalid for the {function} function: "
                              + "; ".join(f"{alias}: Field required" for alias in missing))
    return settings


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings (handlers call this at cold start)."""
    return load_settings()
