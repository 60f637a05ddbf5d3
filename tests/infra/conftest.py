"""One synthesis per test session: synthesizing the app takes seconds, every infra test reads the result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra.app import build_app
from infra.stack import TxImportStack

#: context that differs from cdk.json, so the tests see values coming from context, not defaults
TEST_CONTEXT = {
    "jwtIssuer": "https://issuer.test.invalid/realms/tximport",
    "jwtAudience": ["tximport-web", "tximport-cli"],
    "throttleRateLimit": 17,
    "throttleBurstLimit": 34,
}


@dataclass
class Synthesized:
    app: App
    stack: TxImportStack
    template: Template
    resources: dict[str, Any]

    def logical_id(self, construct: Any) -> str:
        """The logical id of a construct's CloudFormation resource."""
        return self.stack.get_logical_id(getattr(construct.node, "default_child", None) or construct)

    def function_id(self, name: str) -> str:
        return self.logical_id(self.stack.functions[name].function)

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r["Type"] == cfn_type}


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    app, stack = build_app(context=TEST_CONTEXT, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    # synthesizes the app, which runs the cdk-nag validation plugin: unacknowledged findings raise here
    template = Template.from_stack(stack)
    return Synthesized(app, stack, template, template.to_json()["Resources"])
