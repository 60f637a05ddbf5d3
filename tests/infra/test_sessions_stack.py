"""The import sessions in the synthesized stack: the table, the sessions function, the enrichment state
machine, the routes, and who may do what (IAM actions per role)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra.definitions import ENRICHMENT_STATE_MACHINE, SESSION_ROUTES
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
    return {"table": s.logical_id(s.stack.storage.tables["sessions"]),
            "ledger": s.logical_id(s.stack.storage.tables["ledger"]),
            "imports": s.logical_id(s.stack.storage.tables["imports"]),
            "sm": s.logical_id(s.stack.workflow.state_machines[ENRICHMENT_STATE_MACHINE.name]),
            "api": s.function_id("api"), "sessions": s.function_id("sessions")}


def test_the_sessions_table_is_on_demand_recoverable_and_known_to_every_function(synthesized, ids):
    props = synthesized.resources[ids["table"]]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert [k["AttributeName"] for k in props["KeySchema"]] == ["pk", "sk"]
    for name in synthesized.stack.functions:
        env = synthesized.resources[synthesized.function_id(name)]["Properties"]["Environment"]["Variables"]
        assert env["SESSIONS_TABLE_NAME"] == {"Ref": ids["table"]}, name


def test_only_the_api_and_the_sessions_function_touch_the_sessions_table(synthesized, ids):
    table = get_att_arn(ids["table"])
    for name in synthesized.stack.functions:
        statements = function_statements(synthesized, name)
        writes = allows(statements, "dynamodb:TransactWriteItems", table) or allows(statements, "dynamodb:PutItem",
                                                                                     table)
        reads = allows(statements, "dynamodb:Query", table)
        assert writes == reads == (name in ("api", "sessions")), name
    sessions = function_statements(synthesized, "sessions")
    assert resources_for(sessions, "dynamodb:PutItem") == [table], "the enrichment steps never write the ledger"
    assert not allows(sessions, "dynamodb:Query", get_att_arn(ids["ledger"]))
    assert resources_for(sessions, "s3:GetObject") == [] and resources_for(sessions, "events:PutEvents") == []


def test_the_enrichment_workflow_is_the_file_invoking_only_the_sessions_function(synthesized, ids):
    props = synthesized.resources[ids["sm"]]["Properties"]
    asset = Path(synthesized.app.outdir) / f"asset.{props['DefinitionS3Location']['Key']}"
    text = asset.read_text()
    assert text == ENRICHMENT_STATE_MACHINE.asl_file.read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(props["DefinitionSubstitutions"]) == {"SessionsFunctionArn"}
    assert props["DefinitionSubstitutions"]["SessionsFunctionArn"] == get_att_arn(ids["sessions"])
    assert props["StateMachineType"] == "STANDARD" and props["TracingConfiguration"] == {"Enabled": True}
    statements = role_statements(synthesized, props["RoleArn"]["Fn::GetAtt"][0])
    invocable = resources_for(statements, "lambda:InvokeFunction")
    assert sorted(map(json.dumps, invocable)) == sorted(map(json.dumps, [
        get_att_arn(ids["sessions"]), prefixed_arn(ids["sessions"], ":*")]))


def test_only_the_api_starts_enrichments_and_it_knows_the_arn(synthesized, ids):
    sm_ref = {"Ref": ids["sm"]}
    name = synthesized.resources[ids["sm"]]["Properties"]["StateMachineName"]
    for fn_name in synthesized.stack.functions:
        assert allows(function_statements(synthesized, fn_name), "states:StartExecution", sm_ref) == (
            fn_name == "api"), fn_name
    env = synthesized.resources[ids["api"]]["Properties"]["Environment"]["Variables"]
    assert env["ENRICHMENT_STATE_MACHINE_ARN"]["Fn::Join"][1][-1] == f":stateMachine:{name}"


def test_every_session_route_reaches_the_api_function_which_verifies_tokens(synthesized):
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in synthesized.of_type(
        "AWS::ApiGatewayV2::Route").values()}
    for route in SESSION_ROUTES:
        # no gateway authorizer: the api function verifies the token and answers 401 in the dialect's shape
        assert routes[f"{route.method} {route.path}"]["AuthorizationType"] == "NONE", route
