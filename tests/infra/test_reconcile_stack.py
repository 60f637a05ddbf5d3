"""The reconciliation parts of the synthesized stack: its state machine, the reconcile function's role, the
api's grants and the routes (read as a reviewer would: who may do what)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra.definitions import RECONCILE_STATE_MACHINE, ROUTES, TABLES
from tests.infra.test_stack import (
    allows,
    function_statements,
    get_att_arn,
    prefixed_arn,
    resources_for,
    role_statements,
)

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def ids(synthesized) -> dict[str, str]:
    s = synthesized
    return {"sm": s.logical_id(s.stack.workflow.state_machines["reconcile"]),
            "import_sm": s.logical_id(s.stack.workflow.state_machine),
            "bucket": s.logical_id(s.stack.storage.bucket), "bus": s.logical_id(s.stack.workflow.event_bus),
            "fn": s.function_id("reconcile"), "api": s.function_id("api"),
            **{f"table:{t.key}": s.logical_id(s.stack.storage.tables[t.key]) for t in TABLES}}


def test_the_reconcile_state_machine_is_the_file_and_invokes_only_the_reconcile_function(synthesized, ids):
    sm = synthesized.resources[ids["sm"]]["Properties"]
    asset = Path(synthesized.app.outdir) / f"asset.{sm['DefinitionS3Location']['Key']}"
    text = asset.read_text()
    assert text == RECONCILE_STATE_MACHINE.asl_file.read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(sm["DefinitionSubstitutions"]) == {"ReconcileFunctionArn"}
    assert sm["DefinitionSubstitutions"]["ReconcileFunctionArn"] == get_att_arn(ids["fn"])
    assert sm["StateMachineType"] == "STANDARD" and sm["TracingConfiguration"] == {"Enabled": True}
    statements = role_statements(synthesized, sm["RoleArn"]["Fn::GetAtt"][0])
    invocable = resources_for(statements, "lambda:InvokeFunction")
    assert sorted(map(json.dumps, invocable)) == sorted(map(json.dumps, [get_att_arn(ids["fn"]),
                                                                         prefixed_arn(ids["fn"], ":*")]))
    # and the import workflow may not invoke it
    import_sm = synthesized.resources[ids["import_sm"]]["Properties"]
    import_invocable = resources_for(role_statements(synthesized, import_sm["RoleArn"]["Fn::GetAtt"][0]),
                                     "lambda:InvokeFunction")
    assert get_att_arn(ids["fn"]) not in import_invocable


def test_every_task_of_the_reconcile_definition_retries_catches_and_times_out():
    states = json.loads(RECONCILE_STATE_MACHINE.asl_file.read_text())["States"]
    tasks = {name: s for name, s in states.items() if s["Type"] == "Task"}
    assert set(tasks) == {"Begin", "Match", "RecordFailure"}
    for name, task in tasks.items():
        assert task["Retry"] and task["Catch"] and task["TimeoutSeconds"] <= 900, name
        assert set(task["Parameters"]["Payload"]) <= {"action", "reconciliationId.$", "run.$", "tenant.$",
                                                      "error.$"}, name


def test_the_reconcile_role_reads_and_writes_its_prefix_and_tables_only(synthesized, ids):
    statements = function_statements(synthesized, "reconcile")
    objects = prefixed_arn(ids["bucket"], "/reconciliations/*")
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert allows(statements, action, objects), action
    for prefix in ("/uploads/*", "/staging/*"):
        assert not allows(statements, "s3:GetObject", prefixed_arn(ids["bucket"], prefix)), prefix
    for table in ("imports", "ledger"):
        arn = get_att_arn(ids[f"table:{table}"])
        for action in ("dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchGetItem"):
            assert allows(statements, action, arn), (table, action)
    # status events come from the imports table's stream (the events function), never from here
    assert resources_for(statements, "events:PutEvents") == []
    assert resources_for(statements, "states:StartExecution") == []
    assert resources_for(statements, "lambda:InvokeFunction") == []
    props = synthesized.resources[ids["fn"]]["Properties"]
    assert props["Timeout"] == 900 and props["MemorySize"] == 3008


def test_the_api_starts_reconcile_runs_and_stages_entries(synthesized, ids):
    statements = function_statements(synthesized, "api")
    assert allows(statements, "states:StartExecution", {"Ref": ids["sm"]})
    objects = prefixed_arn(ids["bucket"], "/reconciliations/*")
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert allows(statements, action, objects), action
    env = synthesized.resources[ids["api"]]["Properties"]["Environment"]["Variables"]
    assert "RECONCILE_STATE_MACHINE_ARN" in env
    # only the api starts reconciliation runs
    for name in ("on_upload", "process", "commit", "workflow", "reconcile"):
        assert not allows(function_statements(synthesized, name), "states:StartExecution", {"Ref": ids["sm"]}), name


def test_the_dialect_routes_reach_the_api_function_which_verifies_tokens(synthesized):
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in synthesized.of_type(
        "AWS::ApiGatewayV2::Route").values()}
    dialect = [f"{r.method} {r.path}" for r in ROUTES if r.path.startswith("/baas/api/v1/reconciliations")]
    assert len(dialect) == 7  # the document's four, PATCH an entry, rerun and DELETE (ours)
    for key in dialect:
        # no gateway authorizer: the api function verifies the token and answers 401 in the dialect's shape
        assert routes[key]["AuthorizationType"] == "NONE", key
