"""What every function of the service shares: one runtime, one architecture, the domain layer, active
tracing, its own log group with a retention, and a role that starts empty (grants come from the stack,
resource by resource).

The domain layer and bundling
-----------------------------
The layer holds the `tximport` package under `python/tximport` and the runtime dependencies listed in
`pyproject.toml` ([project] dependencies), installed for Lambda's platform. It is built by
`PipLayerBundling`, a *local* bundler: `pip install --platform manylinux2014_x86_64 (and the newer
manylinux tags Lambda's glibc accepts) --only-binary=:all: --python-version 3.12 --target <out>/python`,
run by the Python that runs the app. No Docker is
needed; the Docker image and command given alongside are the equivalent recipe CDK requires as a
fallback and are used only if local bundling declines (it never does; it raises on failure).

Bundling runs only for the stacks listed in the context key `aws:cdk:bundling-stacks`. `infra/app.py`
defaults that key to `[]`, so `make synth` and the tests synthesize offline in seconds and the layer
asset then holds the *source* only (an unbundled asset, never meant to be deployed). The CDK CLI
(`cdk synth`, `cdk deploy`, `make deploy`) always sets the key to the stacks it works on, which
overrides the default, so a deployment always ships the bundled layer. boto3 is shipped too, pinned,
rather than taking the runtime's copy, so Lambda runs the versions the tests ran.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, Duration, ILocalBundling, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.nag import acknowledge
from infra.definitions import FUNCTIONS_DIR, LAYERS_DIR, ROOT, FunctionDef

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.X86_64
#: pip's platform tags for ARCHITECTURE (the two must change together): the python3.12 runtime runs on
#: Amazon Linux 2023 (glibc 2.34), so wheels built for glibc up to 2.34 load there; newer releases of
#: some dependencies ship manylinux_2_28 wheels only
PIP_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64")
PYTHON_VERSION = "3.12"
DOMAIN_PACKAGE = "tximport"
#: never part of an asset
ASSET_EXCLUDES = ["__pycache__", "*.pyc", ".pytest_cache", "tests"]
#: top-level folders some wheels install beside their package (ofxtools ships `tests` and `docs`,
#: console scripts land in `bin`): never imported on Lambda, so dropped from the layer
STRAY_TOP_LEVEL = ("bin", "docs", "tests")


def runtime_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The pinned runtime dependencies of the domain package, read from pyproject's [project] list."""
    with pyproject.open("rb") as fh:
        return list(tomllib.load(fh)["project"]["dependencies"])


def pip_install_command(target: str, requirements_file: str) -> list[str]:
    """The pip command that installs the runtime dependencies for Lambda's Python and platform."""
    return [
        sys.executable, "-m", "pip", "install",
        *(arg for platform in PIP_PLATFORMS for arg in ("--platform", platform)),
        "--implementation", "cp",
        "--python-version", PYTHON_VERSION,
        "--only-binary=:all:",
        "--no-compile",
        "--disable-pip-version-check",
        "--quiet",
        "--target", target,
        "-r", requirements_file,
    ]  # fmt: skip


@jsii.implements(ILocalBundling)
class PipLayerBundling:
    """Build the layer on the host: copy the domain package and pip-install wheels for Lambda."""

    def __init__(self, source: Path = LAYERS_DIR / DOMAIN_PACKAGE, requirements: list[str] | None = None):
        self.source = source
        self.requirements = runtime_requirements() if requirements is None else requirements

    def try_bundle(self, output_dir: str, *_options: Any, **_kw_options: Any) -> bool:
        # jsii hands the BundlingOptions over positionally; nothing in them changes a local build
        python_dir = Path(output_dir) / "python"
        python_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(
            self.source,
            python_dir / DOMAIN_PACKAGE,
            ignore=shutil.ignore_patterns(*ASSET_EXCLUDES),
            dirs_exist_ok=True,
        )
        requirements_file = Path(output_dir) / "requirements.txt"
        requirements_file.write_text("\n".join(self.requirements) + "\n")
        try:
            subprocess.run(pip_install_command(str(python_dir), str(requirements_file)), check=True)
        finally:
            requirements_file.unlink(missing_ok=True)
        for stray in STRAY_TOP_LEVEL:
            shutil.rmtree(python_dir / stray, ignore_errors=True)
        return True


class DomainLayer(Construct):
    """The `tximport` package and its dependencies as one Lambda layer."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        requirements = runtime_requirements()
        docker_command = (
            f"mkdir -p /asset-output/python && cp -r /asset-input/{DOMAIN_PACKAGE} /asset-output/python/ "
            f"&& pip install --no-cache-dir --target /asset-output/python "
            + " ".join(shlex.quote(r) for r in requirements)
            + " && rm -rf "
            + " ".join(f"/asset-output/python/{stray}" for stray in STRAY_TOP_LEVEL)
        )
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            description="tximport domain package and its runtime dependencies",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            code=lambda_.Code.from_asset(
                str(LAYERS_DIR),
                exclude=ASSET_EXCLUDES,
                bundling=BundlingOptions(
                    local=PipLayerBundling(requirements=requirements),
                    image=DockerImage.from_registry(f"public.ecr.aws/sam/build-python{PYTHON_VERSION}"),
                    command=["bash", "-c", docker_command],
                ),
            ),
        )


class ServiceFunction(Construct):
    """One of the service's functions, built from its `FunctionDef` with the shared defaults."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        definition: FunctionDef,
        layer: lambda_.ILayerVersion,
        environment: Mapping[str, str],
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.definition = definition
        self.log_group = logs.LogGroup(
            self, "Logs", retention=log_retention, removal_policy=removal_policy
        )
        # an empty role instead of the AWSLambdaBasicExecutionRole managed policy, whose log
        # permissions reach every log group in the account: this one may write to its own group only
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"tximport {definition.name} function",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=definition.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            # the asset root is the function's folder, so the module is `handler`, not
            # `functions.<name>.handler` as it is imported locally
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / definition.name), exclude=ASSET_EXCLUDES),
            layers=[layer],
            timeout=Duration.seconds(definition.timeout_seconds),
            memory_size=definition.memory_mb,
            environment={**environment, "POWERTOOLS_SERVICE_NAME": f"tximport-{definition.name}"},
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
        )
        acknowledge(
            self.role,
            {
                "AwsSolutions-IAM5[Resource::*]": "X-Ray PutTraceSegments/PutTelemetryRecords (active "
                "tracing) support no resource-level permissions.",
            },
        )
        acknowledge(
            self.function,
            {
                "AwsSolutions-L1": f"The layer's wheels are built for Python {PYTHON_VERSION}; the "
                "runtime moves together with PYTHON_VERSION and the pip platform, not on its own.",
            },
        )

    @property
    def name(self) -> str:
        return self.definition.name
