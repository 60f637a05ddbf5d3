"""The CDK app: one environment-agnostic stack, checked by cdk-nag (AWS Solutions rules).

`make synth` runs this file directly: it reads the context defaults from cdk.json, skips asset
bundling (context `aws:cdk:bundling-stacks` = []; see infra/constructs/lambda_defaults.py) and writes
the template to cdk.out/ without Docker, network or credentials. Under the CDK CLI (`make deploy`,
`cdk synth`) the CLI's own context wins, bundling included. Synthesis fails if cdk-nag reports a
finding that has not been acknowledged with a reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.definitions import ROOT
from infra.stack import TxImportStack

STACK_NAME = "TxImport"
CDK_JSON = ROOT / "cdk.json"
#: the context key CDK reads to decide which stacks' assets to bundle
BUNDLING_STACKS = "aws:cdk:bundling-stacks"


def default_context() -> dict[str, Any]:
    """cdk.json's context block, plus no bundling unless the CDK CLI asks for it."""
    context = {k: v for k, v in json.loads(CDK_JSON.read_text())["context"].items() if not k.startswith("//")}
    context[BUNDLING_STACKS] = []
    return context


def build_app(
    context: Mapping[str, Any] | None = None, outdir: str | None = None
) -> tuple[App, TxImportStack]:
    """The app and its stack, with cdk-nag attached; `context` overrides the cdk.json defaults.

    Context the CDK CLI passes (CDK_CONTEXT_JSON) takes precedence over both, as App() applies it after
    these defaults.
    """
    app = App(
        context={**default_context(), **(context or {})},
        outdir=outdir or os.environ.get("CDK_OUTDIR") or str(ROOT / "cdk.out"),
    )
    stack = TxImportStack(app, STACK_NAME, description="tximport: bank statement file imports")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app, stack


def main() -> None:
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
