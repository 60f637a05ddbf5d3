"""What the CDK stack and the local stack both build, as plain data: one definition of the tables,
the functions and the state machines (ASL file and substitutions), so the two cannot drift apart."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tximport.api.access import is_public
from tximport.storage import keys

ROOT = Path(__file__).resolve().parent.parent
STATE_MACHINES_DIR = ROOT / "statemachines"
FUNCTIONS_DIR = ROOT / "functions"
LAYERS_DIR = ROOT / "layers"

#: the attribute DynamoDB TTL reads (epoch seconds) on every table
TTL_ATTRIBUTE = "expiresAt"


@dataclass(frozen=True)
class IndexDef:
    """A global secondary index (string keys). `projection`: KEYS_ONLY where readers fetch the item itself
    (the reaper's in-flight sweep), ALL where the query answers from the index (byStatus pages)."""

    name: str
    partition_key: str
    sort_key: str
    projection: str = "KEYS_ONLY"


@dataclass(frozen=True)
class TableDef:
    key: str  # logical name, also the settings env var prefix
    env_var: str
    partition_key: str = "pk"
    sort_key: str = "sk"
    ttl_attribute: str = TTL_ATTRIBUTE
    #: a DynamoDB stream (NEW_AND_OLD_IMAGES) the events function reads: the status events of the
    #: table's items (tximport.services.events) are published from it
    stream: bool = False
    #: global secondary indexes (CDK and the local stack both create them)
    indexes: tuple[IndexDef, ...] = ()

    def create_table_arguments(self, table_name: str) -> dict[str, Any]:
        """boto3 `create_table` arguments for this table (the local stack and the tests; CDK builds the
        same from these fields)."""
        keys = [self.partition_key, self.sort_key, *(k for i in self.indexes for k in (i.partition_key, i.sort_key))]
        arguments: dict[str, Any] = {
            "TableName": table_name, "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": k, "AttributeType": "S"} for k in dict.fromkeys(keys)],
            "KeySchema": [{"AttributeName": self.partition_key, "KeyType": "HASH"},
                          {"AttributeName": self.sort_key, "KeyType": "RANGE"}],
        }
        if self.stream:
            arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        if self.indexes:
            arguments["GlobalSecondaryIndexes"] = [{
                "IndexName": i.name, "Projection": {"ProjectionType": i.projection},
                "KeySchema": [{"AttributeName": i.partition_key, "KeyType": "HASH"},
                              {"AttributeName": i.sort_key, "KeyType": "RANGE"}],
            } for i in self.indexes]
        return arguments


#: imports whose workflow is under way (queued to finalProcessing), sharded, by when they last changed:
#: the reaper's sweep reads it (tximport.storage.repository writes its keys on those imports only)
IN_FLIGHT_INDEX = IndexDef(keys.IN_FLIGHT_INDEX, keys.IN_FLIGHT_SHARD, keys.IN_FLIGHT_UPDATED)

TABLES: tuple[TableDef, ...] = (
    # imports, their error details and per-line decisions, bank accounts, account locks and queue
    # byStatus: a sparse index of the import items by tenant and status (GET /imports?status=), newest first;
    # the in-flight index: imports whose workflow is under way (the reaper's sweep)
    TableDef("imports", "IMPORTS_TABLE_NAME", stream=True,
             indexes=(IndexDef("byStatus", "statusKey", "sk", projection="ALL"), IN_FLIGHT_INDEX)),
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
    needs: tuple[str, ...] = field(default_factory=tuple)  # informative: what it touches


FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef("api", "REST API: bank accounts, file formats, imports, review, confirm", 29, 1024),
    FunctionDef("on_upload", "S3 ObjectCreated -> start the import workflow", 30, 256),
    FunctionDef("process", "Stream, parse and validate an uploaded file; stage rows in S3", 900, 1769),
    FunctionDef("commit", "Commit one staged chunk into the ledger", 900, 1024),
    # quick bookkeeping steps only: 50 s stays below the 60 s TimeoutSeconds of the steps that invoke it,
    # so Lambda's own timeout (an error the step's Retry and Catch see) ends a stuck call first
    FunctionDef("workflow", "Status changes, account locks and task tokens for the workflow", 50, 512),
    # the revert workflow's runs: a large import's ledger lines are removed chunk by chunk; a run out of time
    # saves its progress and the workflow runs it again; also the import workflow's UndoCommit step (a commit
    # that failed part-way loses what it wrote)
    FunctionDef("revert", "Revert a complete import: remove the ledger lines it wrote", 900, 512),
    # reads the streamed tables and puts one event per status change on the bus (at least once)
    FunctionDef("events", "Publish status events from the imports table's stream", 60, 256),
    # told when an execution of the import machine ends, and sweeps on a schedule: an import left in flight
    # by its ended execution goes to error and its accounts are released
    FunctionDef("reaper", "End imports whose workflow ended without finishing them; release their accounts",
                300, 256),
    # the import sessions' enrichment workflow steps (statemachines/session_enrichment.asl.json)
    FunctionDef("sessions", "Import sessions: the steps of the asynchronous enrichment", 300, 1024),
    # the reconcile state machine's only function: 100k entries x 100k ledger lines take ~8 CPU s and
    # ~0.5 GB in the engine; reading and marking the ledger is most of the time
    FunctionDef("reconcile", "Match a reconciliation's entries against the ledger (reconcile workflow)", 900,
                3008),
)


@dataclass(frozen=True)
class StateMachineDef:
    """One state machine: its ASL file and the function whose ARN each `${Variable}` of the file receives.

    CDK (`DefinitionBody.from_file` + `definition_substitutions`), the local stack and the tests all
    build a machine from its entry here; a new workflow adds its ASL file and one entry to
    STATE_MACHINES. Substitutions are strings, so numbers stay literal in the file.
    """

    name: str  # short name: `<stack name>-<name>` on AWS, `tximport-<name>` locally
    asl_file: Path
    #: ASL substitution variable -> the name (in FUNCTIONS) of the function whose ARN it receives
    functions: Mapping[str, str]
    #: the setting (environment variable) that carries the machine's ARN to the functions
    arn_env_var: str
    description: str = ""

    @property
    def invoked_functions(self) -> tuple[str, ...]:
        """The functions the definition invokes, each once, in a stable order."""
        return tuple(sorted(set(self.functions.values())))

    def substitutions(self, function_arns: Mapping[str, str]) -> dict[str, str]:
        """Each ASL variable mapped to its function's ARN (`function_arns` is keyed by function name)."""
        return {variable: function_arns[name] for variable, name in self.functions.items()}

    def render(self, function_arns: Mapping[str, str]) -> str:
        """The definition with every variable bound to its function's ARN (see `render_definition`)."""
        return render_definition(self.substitutions(function_arns), self.asl_file)


#: every state machine of the service
STATE_MACHINES: tuple[StateMachineDef, ...] = (
    StateMachineDef(
        "import",
        STATE_MACHINES_DIR / "import.asl.json",
        {"WorkflowFunctionArn": "workflow", "ProcessFunctionArn": "process", "CommitFunctionArn": "commit",
         "RevertFunctionArn": "revert"},
        arn_env_var="STATE_MACHINE_ARN",
        description="claim accounts or queue, parse and stage, await confirmation, commit chunks",
    ),
    StateMachineDef(
        "session-enrichment",
        STATE_MACHINES_DIR / "session_enrichment.asl.json",
        {"SessionsFunctionArn": "sessions"},
        arn_env_var="ENRICHMENT_STATE_MACHINE_ARN",
        description="import sessions: enrich a large session's PENDING lines, never leaving them PROCESSING",
    ),
    StateMachineDef(
        "reconcile",
        STATE_MACHINES_DIR / "reconcile.asl.json",
        {"ReconcileFunctionArn": "reconcile"},
        arn_env_var="RECONCILE_STATE_MACHINE_ARN",
        description="match one run of a reconciliation's entries against the account's ledger lines",
    ),
    StateMachineDef(
        "revert",
        STATE_MACHINES_DIR / "revert.asl.json",
        {"RevertFunctionArn": "revert"},
        arn_env_var="REVERT_STATE_MACHINE_ARN",
        description="revert a complete import: remove the ledger lines it wrote, run after run until none is left",
    ),
)


def state_machine(name: str) -> StateMachineDef:
    """The entry of STATE_MACHINES named `name`."""
    for definition in STATE_MACHINES:
        if definition.name == name:
            return definition
    raise KeyError(f"no state machine named {name!r} in STATE_MACHINES")


#: the import workflow (statemachines/import.asl.json)
IMPORT_STATE_MACHINE = state_machine("import")
#: the import sessions' enrichment workflow (statemachines/session_enrichment.asl.json)
ENRICHMENT_STATE_MACHINE = state_machine("session-enrichment")
#: the reconciliation matching workflow (statemachines/reconcile.asl.json)
RECONCILE_STATE_MACHINE = state_machine("reconcile")
#: the revert workflow (statemachines/revert.asl.json)
REVERT_STATE_MACHINE = state_machine("revert")

#: the bucket's prefix for uploaded files and for staged chunks
UPLOAD_PREFIX = "uploads/"
STAGING_PREFIX = "staging/"
#: reconciliations' staged entries and result chunks
RECONCILIATION_PREFIX = "reconciliations/"


@dataclass(frozen=True)
class Route:
    """One HTTP route of the api function; path parameters in braces, as API Gateway writes them."""

    method: str
    path: str

    @property
    def auth_required(self) -> bool:
        """False only for the routes `tximport.api.access.PUBLIC_ROUTES` lists: the one list of public
        routes, owned by the layer because the api function reads it at run time."""
        return not is_public(self.method, self.path)


#: every route the api function serves: the HTTP API (CDK) and the local gateway both build from this.
#: Only the file-format catalogue is public, as in the service we follow (see PUBLIC_ROUTES).
ROUTES: tuple[Route, ...] = (
    Route("GET", "/fileformats"),
    Route("GET", "/fileformats/{id}/template"),
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
    # the document's method is GET with a JSON body (an HTTP API passes it through); POST does the same
    Route("GET", "/imports/{id}/amendtransactions"),
    Route("POST", "/imports/{id}/amendtransactions"),
    Route("POST", "/imports/{id}/revert"),
    Route("GET", "/imports/{id}/dryrun"),
    Route("POST", "/api/public/v1/transactions"),
    Route("GET", "/transactions"),
    Route("GET", "/settings"),
    Route("PATCH", "/settings"),
    Route("POST", "/baas/api/v1/reconciliations"),
    Route("GET", "/baas/api/v1/reconciliations"),
    Route("GET", "/baas/api/v1/reconciliations/{id}"),
    Route("DELETE", "/baas/api/v1/reconciliations/{id}"),
    Route("GET", "/baas/api/v1/reconciliations/{id}/entries"),
    Route("PATCH", "/baas/api/v1/reconciliations/{id}/entries/{entryId}"),
    Route("POST", "/baas/api/v1/reconciliations/{id}/rerun"),
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
    Route("GET", "/recurring/pending"),
    Route("GET", "/recurring/summary"),
    Route("GET", "/recurring/{id}/projection"),
    Route("GET", "/recurring/{id}"),
    Route("PATCH", "/recurring/{id}"),
    Route("DELETE", "/recurring/{id}"),
    Route("GET", "/recurring-card-transactions"),
    Route("GET", "/recurring-card-transactions/{id}"),
)
ROUTES = ROUTES + SESSION_ROUTES


def local_function_name(name: str) -> str:
    """The name a function has in the local stack and in tests."""
    return f"tximport-{name.replace('_', '-')}"


def local_state_machine_name(name: str) -> str:
    """The name a state machine has in the local stack and in tests."""
    return f"tximport-{name}"


def render_definition(substitutions: Mapping[str, str], asl_file: Path) -> str:
    """The ASL with `${Var}` substituted, as CDK's DefinitionBody.from_file does at deploy time."""
    text = asl_file.read_text()
    for key, value in substitutions.items():
        text = text.replace("${" + key + "}", value)
    if "${" in text:
        raise ValueError(f"unsubstituted variable left in the state machine definition {asl_file.name}")
    json.loads(text)  # must stay valid JSON
    return text
