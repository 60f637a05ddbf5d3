"""The synthesized stack, read as a reviewer would: who may call what, what is wired to what, what is
kept and for how long. Given the app synthesized once with test context (conftest), when we read the
template, then each behaviour below holds."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks

from infra.definitions import FUNCTIONS, IMPORT_STATE_MACHINE, ROUTES, STATE_MACHINES, TABLES, TTL_ATTRIBUTE
from infra.stack import StackConfig
from tests.infra.conftest import TEST_CONTEXT, Synthesized
from tximport.config import Settings

pytestmark = pytest.mark.infra

WORKFLOW_FUNCTIONS = set(IMPORT_STATE_MACHINE.invoked_functions)


# ---------------------------------------------------------------- helpers


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def get_att_arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def prefixed_arn(logical_id: str, suffix: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [get_att_arn(logical_id), suffix]]}


def role_statements(s: Synthesized, role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the role."""
    statements = []
    for policy in s.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def function_statements(s: Synthesized, name: str) -> list[dict[str, Any]]:
    return role_statements(s, s.logical_id(s.stack.functions[name].role))


def allows(statements: list[dict[str, Any]], action: str, resource: Any) -> bool:
    """True if an Allow statement grants `action` (IAM wildcards honoured) on exactly `resource`."""
    return any(
        st["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase(action, pattern) for pattern in as_list(st["Action"]))
        and resource in as_list(st["Resource"])
        for st in statements
    )


def resources_for(statements: list[dict[str, Any]], action: str) -> list[Any]:
    """Every resource on which `action` is allowed."""
    found = []
    for st in statements:
        if st["Effect"] == "Allow" and any(fnmatch.fnmatchcase(action, p) for p in as_list(st["Action"])):
            found += as_list(st["Resource"])
    return found


@pytest.fixture(scope="module")
def ids(synthesized: Synthesized) -> dict[str, str]:
    s = synthesized
    return {
        "bucket": s.logical_id(s.stack.storage.bucket),
        "log_bucket": s.logical_id(s.stack.storage.access_log_bucket),
        "state_machine": s.logical_id(s.stack.workflow.state_machine),
        "bus": s.logical_id(s.stack.workflow.event_bus),
        **{f"table:{key}": s.logical_id(table) for key, table in s.stack.storage.tables.items()},
        **{f"fn:{f.name}": s.function_id(f.name) for f in FUNCTIONS},
    }


# ---------------------------------------------------------------- API


def test_every_route_is_explicit_and_unknown_routes_reach_the_function_for_an_enveloped_404(synthesized, ids):
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in synthesized.of_type(
        "AWS::ApiGatewayV2::Route").values()}

    assert set(routes) == {f"{r.method} {r.path}" for r in ROUTES} | {"$default"}, "no missing route"
    # the api function verifies tokens (a 401 in the envelope): API Gateway's authorizer cannot shape its 401
    assert synthesized.of_type("AWS::ApiGatewayV2::Authorizer") == {}
    assert {props["AuthorizationType"] for props in routes.values()} == {"NONE"}
    public = {r.path for r in ROUTES if not r.auth_required}
    assert public == {"/fileformats", "/fileformats/{id}/template"}


def test_every_route_reaches_the_api_function(synthesized, ids):
    integrations = synthesized.of_type("AWS::ApiGatewayV2::Integration")
    for props in (r["Properties"] for r in synthesized.of_type("AWS::ApiGatewayV2::Route").values()):
        target = props["Target"]["Fn::Join"][1][1]["Ref"]
        integration = integrations[target]["Properties"]
        assert integration["IntegrationUri"] == get_att_arn(ids["fn:api"]), props["RouteKey"]
        # the Powertools APIGatewayHttpResolver reads the v2 event
        assert integration["PayloadFormatVersion"] == "2.0"


def test_the_api_function_verifies_tokens_of_the_issuer_and_audience_from_context(synthesized, ids):
    env = synthesized.resources[ids["fn:api"]]["Properties"]["Environment"]["Variables"]
    audience = TEST_CONTEXT["jwtAudience"]
    assert env["JWT_ISSUER"] == TEST_CONTEXT["jwtIssuer"]
    assert env["JWT_AUDIENCE"] == (",".join(audience) if isinstance(audience, list) else audience)


def test_stage_logs_access_and_throttles(synthesized):
    (stage,) = synthesized.of_type("AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "$default" and props["AutoDeploy"] is True
    assert props["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": TEST_CONTEXT["throttleRateLimit"],
        "ThrottlingBurstLimit": TEST_CONTEXT["throttleBurstLimit"],
    }
    log_group = props["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert synthesized.resources[log_group]["Properties"]["RetentionInDays"] > 0
    assert "$context.requestId" in json.loads(props["AccessLogSettings"]["Format"]).values()


# ---------------------------------------------------------------- workflow


def test_one_state_machine_per_definition(synthesized, ids):
    machines = synthesized.of_type("AWS::StepFunctions::StateMachine")
    assert len(machines) == len(STATE_MACHINES)
    stack_name = synthesized.stack.stack_name
    assert {m["Properties"]["StateMachineName"] for m in machines.values()} == {
        f"{stack_name}-{d.name}" for d in STATE_MACHINES
    }


@pytest.mark.parametrize("definition", STATE_MACHINES, ids=lambda d: d.name)
def test_state_machine_definition_is_the_file_with_every_variable_bound_to_its_function(
    synthesized, ids, definition
):
    sm = synthesized.resources[synthesized.logical_id(synthesized.stack.workflow.state_machines[definition.name])]
    props = sm["Properties"]
    asset = Path(synthesized.app.outdir) / f"asset.{props['DefinitionS3Location']['Key']}"
    text = asset.read_text()
    assert text == definition.asl_file.read_text(), "the deployed definition is the workflow file"

    substitutions = props["DefinitionSubstitutions"]
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(substitutions)
    # what CloudFormation does at deploy time: substitute, then nothing of the form ${...} remains
    markers = {}
    for variable, value in substitutions.items():
        logical_id = value["Fn::GetAtt"][0]
        assert value == get_att_arn(logical_id)
        markers[variable] = f"arn-of:{logical_id}"
        text = text.replace("${" + variable + "}", markers[variable])
    assert "${" not in text

    called = set()

    def walk(states: dict[str, Any]) -> None:
        for state in states.values():
            if state.get("Resource", "").startswith("arn:aws:states:::lambda:invoke"):
                called.add(state["Parameters"]["FunctionName"])
            if "ItemProcessor" in state:
                walk(state["ItemProcessor"]["States"])

    walk(json.loads(text)["States"])
    assert called == {f"arn-of:{ids[f'fn:{name}']}" for name in definition.invoked_functions}
    assert substitutions == {
        variable: get_att_arn(ids[f"fn:{name}"]) for variable, name in definition.functions.items()
    }


@pytest.mark.parametrize("definition", STATE_MACHINES, ids=lambda d: d.name)
def test_state_machine_is_standard_logged_and_traced(synthesized, definition):
    sm = synthesized.resources[synthesized.logical_id(synthesized.stack.workflow.state_machines[definition.name])]
    props = sm["Properties"]
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    log_group = props["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
    assert synthesized.resources[log_group["Fn::GetAtt"][0]]["Properties"]["RetentionInDays"] > 0


@pytest.mark.parametrize("definition", STATE_MACHINES, ids=lambda d: d.name)
def test_state_machine_may_invoke_exactly_the_functions_of_its_definition(synthesized, ids, definition):
    sm = synthesized.resources[synthesized.logical_id(synthesized.stack.workflow.state_machines[definition.name])]
    statements = role_statements(synthesized, sm["Properties"]["RoleArn"]["Fn::GetAtt"][0])
    invocable = resources_for(statements, "lambda:InvokeFunction")
    expected = [get_att_arn(ids[f"fn:{n}"]) for n in definition.invoked_functions]
    expected += [prefixed_arn(ids[f"fn:{n}"], ":*") for n in definition.invoked_functions]
    assert sorted(map(json.dumps, invocable)) == sorted(map(json.dumps, expected))
    assert "*" not in invocable


def test_no_function_invokes_another_and_the_api_starts_reverts_through_their_workflow(synthesized, ids):
    for f in FUNCTIONS:  # the revert function runs in its workflow only (and in the import's UndoCommit)
        assert resources_for(function_statements(synthesized, f.name), "lambda:InvokeFunction") == [], f.name
    env = synthesized.resources[ids["fn:api"]]["Properties"]["Environment"]["Variables"]
    assert "REVERT_FUNCTION_NAME" not in env and "REVERT_STATE_MACHINE_ARN" in env
    starts = resources_for(function_statements(synthesized, "api"), "states:StartExecution")
    revert_machine = synthesized.logical_id(synthesized.stack.workflow.state_machines["revert"])
    assert {"Ref": revert_machine} in starts, starts
    # nothing else (no service principal, no other account) may invoke the revert function either
    revert = ids["fn:revert"]
    permissions = synthesized.of_type("AWS::Lambda::Permission").values()
    assert not [p for p in permissions if p["Properties"]["FunctionName"] in (get_att_arn(revert), {"Ref": revert})]


def _task_timeouts(states: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(state, ASL variable of the invoked function, TimeoutSeconds) of every Task with a fixed timeout."""
    found = []
    for name, state in states.items():
        function = (state.get("Parameters") or {}).get("FunctionName", "")
        if state["Type"] == "Task" and "TimeoutSeconds" in state and function.startswith("${"):
            found.append((name, function[2:-1], state["TimeoutSeconds"]))
        if "ItemProcessor" in state:
            found += _task_timeouts(state["ItemProcessor"]["States"])
    return found


@pytest.mark.parametrize("definition", STATE_MACHINES, ids=lambda d: d.name)
def test_every_step_gives_its_function_the_whole_function_timeout(synthesized, ids, definition):
    """A step that timed out while its function still runs would retry alongside it: each function's own
    timeout fits inside the TimeoutSeconds of every step that invokes it."""
    steps = _task_timeouts(json.loads(definition.asl_file.read_text())["States"])
    assert steps
    for state, variable, step_timeout in steps:
        function = definition.functions[variable]
        timeout = synthesized.resources[ids[f"fn:{function}"]]["Properties"]["Timeout"]
        assert timeout <= step_timeout, (state, function, timeout, step_timeout)


def test_the_workflow_function_is_quick_and_the_revert_function_may_run_long(synthesized, ids):
    timeout = {f.name: synthesized.resources[ids[f"fn:{f.name}"]]["Properties"]["Timeout"] for f in FUNCTIONS}
    steps = _task_timeouts(json.loads(IMPORT_STATE_MACHINE.asl_file.read_text())["States"])
    workflow_steps = [t for _, variable, t in steps if IMPORT_STATE_MACHINE.functions[variable] == "workflow"]
    assert timeout["workflow"] < min(workflow_steps) == 60, "below its steps' 60 s, so Lambda's timeout fires first"
    assert timeout["revert"] == 900, "a large revert runs up to Lambda's limit and saves progress per chunk"


def _access(s: Synthesized, name: str) -> dict[str, set[str]]:
    """What a function's role allows, resource by resource, beside its own logs and X-Ray."""
    out: dict[str, set[str]] = {}
    for st in function_statements(s, name):
        actions = set(as_list(st["Action"]))
        if st["Effect"] != "Allow" or actions <= {"logs:CreateLogStream", "logs:PutLogEvents",
                                                   "xray:PutTraceSegments", "xray:PutTelemetryRecords"}:
            continue
        for resource in as_list(st["Resource"]):
            out.setdefault(json.dumps(resource, sort_keys=True), set()).update(actions)
    return out


def test_the_revert_role_deletes_ledger_lines_and_recomputes_day_balances(synthesized, ids):
    access = _access(synthesized, "revert")
    ledger = json.dumps(get_att_arn(ids["table:ledger"]), sort_keys=True)
    imports = json.dumps(get_att_arn(ids["table:imports"]), sort_keys=True)
    staging = json.dumps(prefixed_arn(ids["bucket"], "/staging/*"), sort_keys=True)
    assert access[ledger] == {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query",
                              "dynamodb:PutItem", "dynamodb:UpdateItem"}, (
        "deletes lines (conditional on importId and no reconciliation mark); reads the import's lines first for "
        "their marks, the days it touched, rewrites their BAL# items, reopens pending lines")
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"} <= access[imports]
    assert {"s3:GetObject*"} <= access[staging] and not [a for a in access[staging] if "Put" in a or "Delete" in a]
    assert not [a for actions in access.values() for a in actions if a.startswith(("states:", "lambda:"))]


def _index_arn(table_id: str) -> dict:
    return {"Fn::Join": ["", [get_att_arn(table_id), "/index/*"]]}


def test_the_workflow_role_keeps_to_the_imports_table_and_task_tokens(synthesized, ids):
    access = _access(synthesized, "workflow")
    imports = json.dumps(get_att_arn(ids["table:imports"]), sort_keys=True)
    assert "dynamodb:PutItem" in access.pop(imports)
    access.pop(json.dumps(_index_arn(ids["table:imports"]), sort_keys=True))  # the imports table's own indexes
    tokens = [resource for resource, actions in access.items() if actions == {
        "states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}]
    assert len(tokens) == 1
    access.pop(tokens[0])
    # the versions of an upload, listed before a commit begins (a later PUT fails it: FileChanged)
    assert access.pop(json.dumps(get_att_arn(ids["bucket"]), sort_keys=True)) == {"s3:ListBucketVersions"}
    assert access == {}, "no ledger, no file, no invoke, no events (the stream publishes them)"


def test_ended_executions_of_the_import_machine_and_a_schedule_reach_the_reaper(synthesized, ids):
    rules = synthesized.template.find_resources("AWS::Events::Rule")
    reaper_arn = get_att_arn(ids["fn:reaper"])
    targeted = [r["Properties"] for r in rules.values()
                if any(t["Arn"] == reaper_arn for t in r["Properties"].get("Targets", []))]
    patterns = [p["EventPattern"] for p in targeted if "EventPattern" in p]
    assert patterns == [{
        "source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"stateMachineArn": [{"Ref": ids["state_machine"]}],
                   "status": ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]},
    }]
    assert [p["ScheduleExpression"] for p in targeted if "ScheduleExpression" in p] == ["rate(15 minutes)"]
    reaper = function_statements(synthesized, "reaper")
    assert {a for st in reaper for a in as_list(st["Action"]) if a.startswith("states:")} == {
        "states:DescribeExecution", "states:StopExecution",
        "states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}


def test_uploads_under_the_upload_prefix_trigger_on_upload(synthesized, ids):
    synthesized.template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "BucketName": {"Ref": ids["bucket"]},
            "NotificationConfiguration": {
                "LambdaFunctionConfigurations": [
                    {
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
                        "LambdaFunctionArn": get_att_arn(ids["fn:on_upload"]),
                    }
                ]
            },
        },
    )
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": get_att_arn(ids["fn:on_upload"]),
            "Principal": "s3.amazonaws.com",
            "SourceArn": get_att_arn(ids["bucket"]),
        },
    )


def test_functions_drive_the_workflow_with_the_right_state_machine_permissions(synthesized, ids):
    sm_ref = {"Ref": ids["state_machine"]}
    name = synthesized.resources[ids["state_machine"]]["Properties"]["StateMachineName"]
    statements = {f.name: function_statements(synthesized, f.name) for f in FUNCTIONS}

    assert allows(statements["on_upload"], "states:StartExecution", sm_ref)
    # (the api starts reconciliation runs on their own state machine: tests/infra/test_reconcile_stack.py)
    assert [n for n, st in statements.items() if sm_ref in resources_for(st, "states:StartExecution")] == \
        ["on_upload"]

    # the api observes this machine's runs (DELETE stops one) and the revert machine's (a revert asks whether
    # its earlier run still goes on)
    described = resources_for(statements["api"], "states:DescribeExecution")
    assert described == resources_for(statements["api"], "states:StopExecution") and len(described) == 2
    machines = [d["Fn::Join"][1][-2]["Fn::Select"][1]["Fn::Split"][1] for d in described]
    revert_ref = {"Ref": synthesized.logical_id(synthesized.stack.workflow.state_machines["revert"])}
    assert sorted(map(json.dumps, machines)) == sorted(map(json.dumps, [sm_ref, revert_ref])), "these machines' runs"

    # releasing an account resumes the next queued import's task token: every function that can
    # release (or confirm, amend, delete) may answer tokens of this state machine, and commit may not
    for fn_name in ("api", "on_upload", "process", "workflow"):
        for action in ("states:SendTaskSuccess", "states:SendTaskFailure"):
            (resource,) = resources_for(statements[fn_name], action)
            if fn_name in WORKFLOW_FUNCTIONS:
                # invoked by the definition: granted through the ARN written out by name
                assert resource["Fn::Join"][1][-1] == f":stateMachine:{name}", fn_name
            else:
                assert resource == sm_ref, fn_name
    assert resources_for(statements["commit"], "states:SendTaskSuccess") == []


def test_every_function_knows_the_state_machine_arns_it_is_granted_on(synthesized, ids):
    for definition in STATE_MACHINES:
        machine = synthesized.stack.workflow.state_machines[definition.name]
        name = synthesized.resources[synthesized.logical_id(machine)]["Properties"]["StateMachineName"]
        for f in FUNCTIONS:
            env = synthesized.resources[ids[f"fn:{f.name}"]]["Properties"]["Environment"]["Variables"]
            assert env[definition.arn_env_var]["Fn::Join"][1][-1] == f":stateMachine:{name}"


def test_only_the_events_function_publishes_on_the_bus(synthesized, ids):
    bus_arn = get_att_arn(ids["bus"])
    for f in FUNCTIONS:
        statements = function_statements(synthesized, f.name)
        assert allows(statements, "events:PutEvents", bus_arn) == (f.name == "events"), f.name
        assert resources_for(statements, "events:PutEvents") in ([], [bus_arn]), "no other bus"
    synthesized.template.has_resource_properties("AWS::Events::EventBus", {"Name": "tximport"})


def test_status_events_come_from_the_imports_table_stream(synthesized, ids):
    """Statuses are announced from the stream, so a saved change cannot go unannounced: every imports
    write reaches the events function, in order, and a refused event is retried from its record."""
    from tximport.services.events import default_translators

    tables = {t.key: synthesized.resources[ids[f"table:{t.key}"]]["Properties"] for t in TABLES}
    assert tables["imports"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert "StreamSpecification" not in tables["ledger"]
    assert {t.key for t in TABLES if t.stream} == set(default_translators().tables())

    (mapping,) = synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert props["FunctionName"] == {"Ref": ids["fn:events"]}
    assert props["EventSourceArn"] == {"Fn::GetAtt": [ids["table:imports"], "StreamArn"]}
    assert props["StartingPosition"] == "TRIM_HORIZON", "records written before the subscription count too"
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["ParallelizationFactor"] == 1 and props["BisectBatchOnFunctionError"] is False, "in order"
    assert "MaximumRetryAttempts" not in props, "retried until it succeeds or leaves the stream"
    queue = props["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert synthesized.resources[queue]["Type"] == "AWS::SQS::Queue"
    assert synthesized.resources[queue]["Properties"]["SqsManagedSseEnabled"] is True
    (pattern,) = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    assert pattern == {
        "eventName": ["INSERT", "MODIFY"],
        "dynamodb": {"Keys": {"sk": {"S": [{"prefix": p} for p in default_translators().prefixes("imports")]}}},
    }
    # imports, session events (their outbox) and reconciliations (each with its own translator)
    assert pattern["dynamodb"]["Keys"]["sk"]["S"] == [{"prefix": "IMPORT#"}, {"prefix": "SESSIONEVENT#"},
                                                      {"prefix": "RECON#"}]

    events_role = function_statements(synthesized, "events")
    stream_arn = {"Fn::GetAtt": [ids["table:imports"], "StreamArn"]}
    assert allows(events_role, "dynamodb:GetRecords", stream_arn)
    assert resources_for(events_role, "dynamodb:GetItem") == [], "reads the stream, never the table"
    assert resources_for(events_role, "dynamodb:PutItem") == []


def _dead_letter_queues(synthesized: Synthesized) -> set[str]:
    """Every queue something hands its given-up work to: stream or async failure destinations, Lambda
    dead-letter configs, EventBridge targets' dead-letter queues, SQS redrive policies."""
    found: set[str] = set()

    def walk(value: Any, under_dead_letters: bool) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                marked = under_dead_letters or key in ("DestinationConfig", "DeadLetterConfig", "OnFailure",
                                                       "RedrivePolicy", "DestinationConfigs")
                if key == "Fn::GetAtt" and under_dead_letters and isinstance(item, list):
                    found.add(item[0])
                walk(item, marked)
        elif isinstance(value, list):
            for item in value:
                walk(item, under_dead_letters)

    for resource in synthesized.resources.values():
        walk(resource.get("Properties", {}), False)
    return {q for q in found if synthesized.resources.get(q, {}).get("Type") == "AWS::SQS::Queue"}


def test_every_dead_letter_queue_has_an_alarm_that_notifies_the_alarm_topic(synthesized, ids):
    """A message in a dead-letter queue is work given up on: its first message raises an alarm (and its
    last one leaving clears it), and the alarm tells the topic someone subscribes to."""
    queues = set(synthesized.of_type("AWS::SQS::Queue"))
    dead_letters = _dead_letter_queues(synthesized)
    events_queue = synthesized.logical_id(synthesized.stack.status_events.dead_letters)
    assert events_queue in dead_letters and dead_letters == queues, "every queue of the stack is a dead-letter queue"
    (topic,) = synthesized.of_type("AWS::SNS::Topic")
    alarms = synthesized.of_type("AWS::CloudWatch::Alarm").values()
    watched = {}
    for alarm in alarms:
        p = alarm["Properties"]
        (dimension,) = p["Dimensions"]
        watched[dimension["Value"]["Fn::GetAtt"][0]] = p
    assert set(watched) == dead_letters
    for p in watched.values():
        assert (p["Namespace"], p["MetricName"], p["Statistic"]) == (
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum")
        assert p["Threshold"] == 1 and p["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert p["EvaluationPeriods"] == 1 and p["Period"] <= 300 and p["TreatMissingData"] == "notBreaching"
        assert p["AlarmActions"] == [{"Ref": topic}] and p["OKActions"] == [{"Ref": topic}]
    policies = synthesized.of_type("AWS::SNS::TopicPolicy").values()
    assert any('"aws:SecureTransport"' in json.dumps(policy) for policy in policies), "TLS only"


# ---------------------------------------------------------------- functions


def test_functions_share_runtime_layer_tracing_and_their_own_log_group(synthesized, ids):
    layer_ref = {"Ref": synthesized.logical_id(synthesized.stack.node.find_child("DomainLayer").layer)}
    for f in FUNCTIONS:
        props = synthesized.resources[ids[f"fn:{f.name}"]]["Properties"]
        assert props["Handler"] == "handler.handler"
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["x86_64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["Layers"] == [layer_ref]
        assert props["Timeout"] == f.timeout_seconds and props["MemorySize"] == f.memory_mb
        log_group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert synthesized.resources[log_group]["Properties"]["RetentionInDays"] > 0
        # the function writes to that group and no other
        logs_resources = resources_for(function_statements(synthesized, f.name), "logs:PutLogEvents")
        assert logs_resources == [get_att_arn(log_group)]


def test_functions_get_every_setting_the_config_model_requires(synthesized, ids):
    required = {field.alias for field in Settings.model_fields.values() if field.is_required()}
    for f in FUNCTIONS:
        env = synthesized.resources[ids[f"fn:{f.name}"]]["Properties"]["Environment"]["Variables"]
        assert required <= set(env), f.name
        assert env["BUCKET_NAME"] == {"Ref": ids["bucket"]}
        for table in TABLES:
            assert env[table.env_var] == {"Ref": ids[f"table:{table.key}"]}
        assert env["EVENT_BUS_NAME"] == "tximport"
        assert env["JWT_ISSUER"] == TEST_CONTEXT["jwtIssuer"]


def test_function_roles_carry_no_managed_policy_and_no_wildcard_beyond_xray(synthesized):
    for f in FUNCTIONS:
        role = synthesized.resources[synthesized.logical_id(synthesized.stack.functions[f.name].role)]
        assert "ManagedPolicyArns" not in role["Properties"], f.name
        for st in function_statements(synthesized, f.name):
            actions = as_list(st["Action"])
            assert "*" not in actions and not any(a.endswith(":*") for a in actions), (f.name, st)
            if "*" in as_list(st["Resource"]):
                # ListStreams (finding the table's stream) has no resource-level permission
                beyond = {"dynamodb:ListStreams"} if f.name == "events" else set()
                assert set(actions) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords", *beyond}, (f.name, st)


# ---------------------------------------------------------------- data access


def test_table_access_is_per_table_and_per_need(synthesized, ids):
    imports_arn, ledger_arn = get_att_arn(ids["table:imports"]), get_att_arn(ids["table:ledger"])
    api = function_statements(synthesized, "api")
    assert allows(api, "dynamodb:PutItem", imports_arn)
    assert allows(api, "dynamodb:PutItem", ledger_arn)

    process = function_statements(synthesized, "process")
    assert allows(process, "dynamodb:Query", ledger_arn)
    assert not allows(process, "dynamodb:PutItem", ledger_arn), "process never writes the ledger"

    commit = function_statements(synthesized, "commit")
    assert allows(commit, "dynamodb:BatchWriteItem", ledger_arn)

    # a grant on the imports table also covers its indexes
    imports = [imports_arn, {"Fn::Join": ["", [imports_arn, "/index/*"]]}]

    on_upload = function_statements(synthesized, "on_upload")
    assert allows(on_upload, "dynamodb:UpdateItem", imports_arn)
    assert resources_for(on_upload, "dynamodb:GetItem") == imports, "never the ledger"

    workflow = function_statements(synthesized, "workflow")
    assert allows(workflow, "dynamodb:UpdateItem", imports_arn)
    assert resources_for(workflow, "dynamodb:GetItem") == imports, "never the ledger"

    revert = function_statements(synthesized, "revert")
    assert allows(revert, "dynamodb:DeleteItem", ledger_arn), "a revert deletes ledger lines"
    assert allows(revert, "dynamodb:PutItem", ledger_arn), "and rewrites the balance items of their days"
    assert not allows(revert, "dynamodb:BatchWriteItem", ledger_arn)
    assert sorted(map(str, resources_for(revert, "dynamodb:Query"))) == sorted(map(str, [*imports, ledger_arn]))

    reaper = function_statements(synthesized, "reaper")
    assert resources_for(reaper, "dynamodb:Query") == imports, "the in-flight index, never the ledger"
    assert allows(reaper, "dynamodb:PutItem", imports_arn)


def test_bucket_access_is_by_prefix(synthesized, ids):
    uploads = prefixed_arn(ids["bucket"], "/uploads/*")
    staging = prefixed_arn(ids["bucket"], "/staging/*")
    api = function_statements(synthesized, "api")
    assert allows(api, "s3:PutObject", uploads), "the api presigns upload PUTs"
    assert not allows(api, "s3:PutObject", staging)

    process = function_statements(synthesized, "process")
    assert allows(process, "s3:GetObject", uploads)
    assert allows(process, "s3:PutObject", staging)
    assert not allows(process, "s3:PutObject", uploads), "an upload is never rewritten"

    commit = function_statements(synthesized, "commit")
    assert allows(commit, "s3:GetObject", staging)
    assert resources_for(commit, "s3:PutObject") == []
    assert not allows(commit, "s3:GetObject", uploads)

    # a later PUT over an import's file: on_upload and the workflow list the key's versions (under the
    # upload prefix only), on_upload removes a version committed imports never read; neither reads a file
    list_uploads = {"StringLike": {"s3:prefix": "uploads/*"}}
    for name in ("on_upload", "workflow"):
        statements = [st for st in function_statements(synthesized, name)
                      if any(a.startswith("s3:") for a in as_list(st["Action"]))]
        listing = [st for st in statements if as_list(st["Action"]) == ["s3:ListBucketVersions"]]
        assert [(st["Resource"], st["Condition"]) for st in listing] == [(get_att_arn(ids["bucket"]), list_uploads)]
        assert resources_for(statements, "s3:GetObject") == [], f"{name} never reads a file"
        assert resources_for(statements, "s3:PutObject") == [], f"{name} never writes a file"
    assert allows(function_statements(synthesized, "on_upload"), "s3:DeleteObjectVersion", uploads)
    assert resources_for(function_statements(synthesized, "workflow"), "s3:DeleteObjectVersion") == []

    revert = function_statements(synthesized, "revert")
    assert allows(revert, "s3:GetObject", staging), "a revert reads the staged chunks"
    assert not allows(revert, "s3:GetObject", uploads)
    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert resources_for(revert, action) == [], action

    reconciliations = prefixed_arn(ids["bucket"], "/reconciliations/*")  # tests/infra/test_reconcile_stack.py
    for f in FUNCTIONS:
        for resource in resources_for(function_statements(synthesized, f.name), "s3:GetObject"):
            assert resource in (uploads, staging, reconciliations, get_att_arn(ids["bucket"])), (f.name, resource)


# ---------------------------------------------------------------- storage


def test_bucket_is_private_encrypted_logged_and_tls_only(synthesized, ids):
    for bucket in ("bucket", "log_bucket"):
        props = synthesized.resources[ids[bucket]]["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        synthesized.template.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": {"Ref": ids[bucket]},
                "PolicyDocument": {
                    "Statement": Match.array_with([
                        Match.object_like({
                            "Effect": "Deny",
                            "Action": "s3:*",
                            "Principal": {"AWS": "*"},
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        })
                    ])
                },
            },
        )
    files = synthesized.resources[ids["bucket"]]
    assert files["Properties"]["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": ids["log_bucket"]}
    assert files["DeletionPolicy"] == "Retain"


def test_bucket_lifecycle_expires_uploads_before_staged_chunks_and_outlives_retention(synthesized, ids):
    rules = synthesized.resources[ids["bucket"]]["Properties"]["LifecycleConfiguration"]["Rules"]
    by_prefix = {r.get("Prefix"): r for r in rules}
    retention_days = synthesized.app.node.try_get_context("retentionDays")
    assert by_prefix["uploads/"]["ExpirationInDays"] == 30
    assert by_prefix["staging/"]["ExpirationInDays"] > retention_days
    by_id = {r["Id"]: r for r in rules}
    assert by_id["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert all(r["Status"] == "Enabled" for r in rules)


def test_bucket_keeps_versions_so_a_later_upload_is_caught_and_sweeps_old_ones(synthesized, ids):
    props = synthesized.resources[ids["bucket"]]["Properties"]
    # every PUT over an import's key is a version of its own: processing pins one (FileChanged)
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (sweep,) = [r for r in props["LifecycleConfiguration"]["Rules"] if "NoncurrentVersionExpiration" in r]
    assert sweep["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    assert sweep["ExpiredObjectDeleteMarker"] is True and "Prefix" not in sweep


def test_bucket_accepts_browser_puts_to_presigned_urls(synthesized, ids):
    (cors,) = synthesized.resources[ids["bucket"]]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedMethods"] == ["PUT"]
    assert "ETag" in cors["ExposedHeaders"]


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.key)
def test_tables_are_on_demand_recoverable_expiring_and_retained(synthesized, ids, table):
    resource = synthesized.resources[ids[f"table:{table.key}"]]
    props = resource["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["KeySchema"] == [
        {"AttributeName": table.partition_key, "KeyType": "HASH"},
        {"AttributeName": table.sort_key, "KeyType": "RANGE"},
    ]
    assert {a["AttributeType"] for a in props["AttributeDefinitions"]} == {"S"}
    assert resource["DeletionPolicy"] == "Retain"


# ---------------------------------------------------------------- outputs, cdk-nag, config


def test_outputs_name_the_api_url_bucket_and_state_machine(synthesized, ids):
    outputs = synthesized.template.to_json()["Outputs"]
    assert outputs["BucketName"]["Value"] == {"Ref": ids["bucket"]}
    assert outputs["StateMachineArn"]["Value"] == {"Ref": ids["state_machine"]}
    assert "execute-api" in json.dumps(outputs["ApiUrl"]["Value"])


def test_cdk_nag_reports_no_unacknowledged_finding(synthesized):
    report = AwsSolutionsChecks().validate_scope(synthesized.app)
    findings = [
        (v.rule_name, [r.construct_path for r in v.violating_resources]) for v in report.violations
    ]
    assert report.success and findings == []
    errors = Annotations.from_stack(synthesized.stack).find_error("*", Match.any_value())
    assert errors == []


def test_context_is_validated():
    def config(**overrides: Any) -> StackConfig:
        from infra.app import default_context

        return StackConfig.from_context(App(context={**default_context(), **overrides}))

    assert config(jwtAudience="a, b").jwt_audience == ("a", "b")
    with pytest.raises(ValueError, match="removalPolicy"):
        config(removalPolicy="sometimes")
    with pytest.raises(ValueError, match="uploadRetentionDays"):
        config(uploadRetentionDays=7, confirmationTimeoutSeconds=7 * 86400)
