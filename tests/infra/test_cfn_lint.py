"""cfn-lint on the synthesized template: what CloudFormation itself would reject or warn about (property
types and values, references, resource schemas), beyond what cdk-nag checks."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import lint
from cfnlint.config import ManualArgs

from tests.infra.conftest import Synthesized

pytestmark = pytest.mark.infra

#: the region whose resource schemas the environment-agnostic template is checked against (each more
#: region costs about 3 s and the resource types used here are the same everywhere)
REGIONS = ["us-east-1"]

#: rules not applied, each with its reason
IGNORED = {
    # CDK writes DependsOn from each function (and state machine) to its role as well as a GetAtt of the
    # role's ARN: redundant, harmless, and CDK's own template shape rather than ours
    "W3005": "redundant DependsOn written by CDK beside a GetAtt",
}


def test_the_template_passes_cfn_lint(synthesized: Synthesized):
    template = json.dumps(synthesized.template.to_json())
    matches = lint(template, regions=REGIONS, config=ManualArgs(ignore_checks=list(IGNORED), regions=REGIONS))
    assert [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches] == []


def test_cfn_lint_finds_a_broken_template(synthesized: Synthesized):
    """The check is live: a function whose timeout is a string and a dangling reference are reported.

    The broken function is linted alone, with the template's parameters (its references to the other
    resources dangle too, which adds findings, never hides these): linting the whole template a second
    time costs as much as the test above and proves no more."""
    doc = synthesized.template.to_json()
    name, function = next((k, r) for k, r in doc["Resources"].items() if r["Type"] == "AWS::Lambda::Function")
    function["Properties"]["Timeout"] = "a minute"
    function["Properties"]["Role"] = {"Fn::GetAtt": ["NoSuchRole", "Arn"]}
    alone = {k: v for k, v in doc.items() if k != "Resources"} | {"Resources": {name: function}}
    matches = lint(json.dumps(alone), regions=REGIONS, config=ManualArgs(ignore_checks=list(IGNORED), regions=REGIONS))
    found = {(m.rule.id, m.path[3]) for m in matches if list(m.path[:3]) == ["Resources", name, "Properties"]}
    assert found >= {("E3012", "Timeout"), ("E1010", "Role")}, found
