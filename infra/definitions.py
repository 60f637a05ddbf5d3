"""What the CDK stack and the local stack both build, as plain data: one definition of the tables,
the functions and the state machine substitutions, so the two cannot drift apart."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
STATE_MACHINE_FILE = ROOT / "statemachines" / "import.asl.json"
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
    # import sessions: workspaces, sessions, staged lines in blocks, their catalog (tximport.storage.sessions)
    TableDef("sessions", "SESSIONS_TABLE_NAME"),
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
    # the import sessions' enrichment workflow steps (statemachines/session_enrichment.asl.json), not the import's
    FunctionDef("sessions", "Import sessions: the steps of the asynchronous enrichment", 900, 1024),
)

#: the bucket's prefix for uploaded files and for staged chunks
UPLOAD_PREFIX = "uploads/"
STAGING_PREFIX = "staging/"


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
)

#: the import-sessions dialect (the third document, and the catalog it needs)
SESSION_ROUTES: tuple[Route, ...] = (
    Route("GET", "/workspaces"),
    Route("POST", "/workspaces"),
    Route("GET", "/import-sessions"),
    Route("POST", "/import-sessions"),
    Route("GET", "/import-sessions/{id}"),
    Route("PUT", "/import-sessions/{id}"),
    Route("DELETE", "/import-sessions/{id}"),
    Route("POST", "/import-sessions/{id}/upload"),
    Route("GET", "/import-sessions/{id}/staged-transactions"),
    Route("POST", "/import-sessions/{id}/staged-transactions"),
    Route("DELETE", "/import-sessions/{id}/staged-transactions"),
    Route("POST", "/import-sessions/{id}/enrich"),
    Route("POST", "/import-sessions/{id}/bind"),
    Route("GET", "/import-sessions/{id}/recurring-bindings"),
    Route("POST", "/import-sessions/{id}/recurring-bindings/{bindingId}/confirm"),
    Route("DELETE", "/import-sessions/{id}/recurring-bindings/{bindingId}"),
    Route("POST", "/import-sessions/{id}/commit"),
    Route("POST", "/import-sessions/{id}/close"),
    Route("GET", "/staged-transactions/{id}"),
    Route("PUT", "/staged-transactions/{id}"),
    Route("DELETE", "/staged-transactions/{id}"),
    Route("POST", "/enrichment/transactions"),
    *(Route(method, f"/{resource}{suffix}")
      for resource in ("cards", "categories", "tags", "enrichment-rules")
      for method, suffix in (("GET", ""), ("POST", ""), ("GET", "/{id}"), ("PUT", "/{id}"), ("DELETE", "/{id}"))),
    Route("GET", "/cards/{id}/invoices"),
    Route("GET", "/cards/{id}/invoices/{billingMonth}"),
    Route("GET", "/categories/{id}/subcategories"),
    Route("POST", "/categories/{id}/subcategories"),
    Route("GET", "/subcategories/{id}"),
    Route("PUT", "/subcategories/{id}"),
    Route("DELETE", "/subcategories/{id}"),
    Route("GET", "/recurring"),
    Route("POST", "/recurring"),
    Route("GET", "/recurring/{id}"),
    Route("PATCH", "/recurring/{id}"),
    Route("DELETE", "/recurring/{id}"),
    Route("GET", "/recurring-card-transactions"),
    Route("GET", "/recurring-card-transactions/{id}"),
)
ROUTES = ROUTES + SESSION_ROUTES

#: the import sessions' enrichment workflow, and the function each of its substitution variables names
ENRICHMENT_STATE_MACHINE_FILE = ROOT / "statemachines" / "session_enrichment.asl.json"
ENRICHMENT_ASL_FUNCTIONS = {"SessionsFunctionArn": "sessions"}


def local_function_name(name: str) -> str:
    """The name a function has in the local stack and in tests."""
    return f"tximport-{name.replace('_', '-')}"


def asl_substitutions(function_arns: dict[str, str]) -> dict[str, str]:
    """Map each workflow function's ASL variable to its ARN (`function_arns` is keyed by name)."""
    return {f.asl_variable: function_arns[f.name] for f in FUNCTIONS if f.asl_variable}


def enrichment_substitutions(function_arns: dict[str, str]) -> dict[str, str]:
    """The enrichment workflow's variables, from function ARNs keyed by function name."""
    return {variable: function_arns[name] for variable, name in ENRICHMENT_ASL_FUNCTIONS.items()}


def render_definition(substitutions: dict[str, str], path: Path = STATE_MACHINE_FILE) -> str:
    """The ASL with `${Var}` substituted, as CDK's DefinitionBody.from_file does at deploy time."""
    text = path.read_text()
    for key, value in substitutions.items():
        text = text.replace("${" + key + "}", value)
    if "${" in text:
        raise ValueError("unsubstituted variable left in the state machine definition")
    json.loads(text)  # must stay valid JSON
    return text
