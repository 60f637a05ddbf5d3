"""What the CDK stack and the local stack both build, as plain data: one definition of the tables,
the functions and the state machine substitutions, so the two cannot drift apart."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
STATE_MACHINE_FILE = ROOT / "statemachines" / "import.asl.json"
#: the reconciliation matching workflow (its own state machine)
RECONCILE_STATE_MACHINE_FILE = ROOT / "statemachines" / "reconcile.asl.json"
FUNCTIONS_DIR = ROOT / "functions"
LAYERS_DIR = ROOT / "layers"

#: the attribute DynamoDB TTL reads (epoch seconds) on every table
TTL_ATTRIBUTE = "expiresAt"


@dataclass(frozen=True)
class TableDef:
    key: str  # logical name, also the settings env var prefix
    env_var: str
    partition_key: str = "pk"
    sort_key: str = "sk"
    ttl_attribute: str = TTL_ATTRIBUTE


TABLES: tuple[TableDef, ...] = (
    # imports, their error details and per-line decisions, bank accounts, account locks and queue
    TableDef("imports", "IMPORTS_TABLE_NAME"),
    # confirmed transactions: pk = tenant + account + day, sk = transaction id; day index items
    TableDef("ledger", "LEDGER_TABLE_NAME"),
)


@dataclass(frozen=True)
class FunctionDef:
    name: str  # folder under functions/, handler is functions/<name>/handler.py:handler
    description: str
    timeout_seconds: int = 30
    memory_mb: int = 512
    #: ASL substitution variable that receives this function's ARN, if the workflow calls it
    asl_variable: str | None = None
    needs: tuple[str, ...] = field(default_factory=tuple)  # informative: what it touches


FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef("api", "REST API: bank accounts, file formats, imports, review, confirm", 29, 1024),
    FunctionDef("on_upload", "S3 ObjectCreated -> start the import workflow", 30, 256),
    FunctionDef("process", "Stream, parse and validate an uploaded file; stage rows in S3", 900, 1769,
                asl_variable="ProcessFunctionArn"),
    FunctionDef("commit", "Commit one staged chunk into the ledger", 900, 1024,
                asl_variable="CommitFunctionArn"),
    # 900 s: besides its quick workflow steps (each capped by the state machine's own TimeoutSeconds) it runs
    # the asynchronous revert of a large import
    FunctionDef("workflow", "Status changes, locks, task tokens and reverts for the workflow", 900, 512,
                asl_variable="WorkflowFunctionArn"),
    # the reconcile state machine's only function (not the import workflow's): see RECONCILE_ASL_FUNCTIONS.
    # 100k entries x 100k ledger lines take ~8 CPU s and ~0.5 GB in the engine; reading and marking the
    # ledger is most of the time
    FunctionDef("reconcile", "Match a reconciliation's entries against the ledger (reconcile workflow)", 900,
                3008),
)

#: ASL variable -> function name, for statemachines/reconcile.asl.json
RECONCILE_ASL_FUNCTIONS: dict[str, str] = {"ReconcileFunctionArn": "reconcile"}

#: the bucket's prefix for uploaded files and for staged chunks
UPLOAD_PREFIX = "uploads/"
STAGING_PREFIX = "staging/"
#: reconciliations' staged entries and result chunks
RECONCILIATION_PREFIX = "reconciliations/"


class Route(NamedTuple):
    """One HTTP route of the api function; path parameters in braces, as API Gateway writes them."""

    method: str
    path: str
    auth_required: bool = True


#: every route the api function serves: the HTTP API (CDK) and the local gateway both build from this.
#: Only the file-format catalogue is public, as in the service we follow.
ROUTES: tuple[Route, ...] = (
    Route("GET", "/fileformats", auth_required=False),
    Route("GET", "/fileformats/{id}/template", auth_required=False),
    Route("POST", "/fileformats/detect"),
    Route("GET", "/bankaccounts"),
    Route("POST", "/bankaccounts"),
    Route("GET", "/bankaccounts/{id}"),
    Route("GET", "/bankaccounts/{id}/transactions"),
    Route("GET", "/imports"),
    Route("POST", "/imports"),
    Route("GET", "/imports/{id}"),
    Route("DELETE", "/imports/{id}"),
    Route("POST", "/imports/{id}/confirm"),
    Route("GET", "/imports/{id}/errordetails"),
    Route("GET", "/imports/{id}/reviewtransactions"),
    Route("PATCH", "/imports/{id}/reviewtransactions/{transactionId}"),
    Route("POST", "/imports/{id}/amendtransactions"),
    Route("POST", "/imports/{id}/revert"),
    Route("GET", "/imports/{id}/dryrun"),
    Route("POST", "/api/public/v1/transactions"),
    Route("POST", "/baas/api/v1/reconciliations"),
    Route("GET", "/baas/api/v1/reconciliations"),
    Route("GET", "/baas/api/v1/reconciliations/{id}"),
    Route("GET", "/baas/api/v1/reconciliations/{id}/entries"),
    Route("PATCH", "/baas/api/v1/reconciliations/{id}/entries/{entryId}"),
    Route("POST", "/baas/api/v1/reconciliations/{id}/rerun"),
)


def local_function_name(name: str) -> str:
    """The name a function has in the local stack and in tests."""
    return f"tximport-{name.replace('_', '-')}"


def asl_substitutions(function_arns: dict[str, str]) -> dict[str, str]:
    """Map each workflow function's ASL variable to its ARN (`function_arns` is keyed by name)."""
    return {f.asl_variable: function_arns[f.name] for f in FUNCTIONS if f.asl_variable}


def reconcile_substitutions(function_arns: dict[str, str]) -> dict[str, str]:
    """The reconcile state machine's variables (`function_arns` is keyed by function name)."""
    return {variable: function_arns[name] for variable, name in RECONCILE_ASL_FUNCTIONS.items()}


def render_definition(substitutions: dict[str, str], path: Path = STATE_MACHINE_FILE) -> str:
    """The ASL with `${Var}` substituted, as CDK's DefinitionBody.from_file does at deploy time."""
    text = path.read_text()
    for key, value in substitutions.items():
        text = text.replace("${" + key + "}", value)
    if "${" in text:
        raise ValueError("unsubstituted variable left in the state machine definition")
    json.loads(text)  # must stay valid JSON
    return text
