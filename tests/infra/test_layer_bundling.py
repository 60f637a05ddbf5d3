"""The domain layer's local bundling, without running pip: the layout Lambda expects (`python/tximport`),
the wheels pip is asked for, and what is left out. The real pip run happens only at deploy time."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.app import BUNDLING_STACKS, default_context
from infra.constructs import lambda_defaults
from infra.constructs.lambda_defaults import PipLayerBundling, runtime_requirements
from infra.definitions import LAYERS_DIR

pytestmark = pytest.mark.infra


@pytest.fixture
def pip_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record pip invocations instead of running them; pretend pip left a stray `tests` folder."""
    calls: list[dict[str, Any]] = []

    def fake_run(command: list[str], check: bool) -> subprocess.CompletedProcess[str]:
        target = Path(command[command.index("--target") + 1])
        requirements = Path(command[command.index("-r") + 1]).read_text().split()
        (target / "tests").mkdir()
        (target / "somelib").mkdir()
        calls.append({"command": command, "requirements": requirements, "check": check})
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(lambda_defaults.subprocess, "run", fake_run)
    return calls


def test_layer_holds_the_domain_package_under_python(tmp_path, pip_calls):
    assert PipLayerBundling().try_bundle(str(tmp_path)) is True

    package = tmp_path / "python" / "tximport"
    assert (package / "__init__.py").read_bytes() == (LAYERS_DIR / "tximport" / "__init__.py").read_bytes()
    assert (package / "config.py").is_file()
    assert not list(package.rglob("__pycache__")), "bytecode of the build machine stays out"
    assert (tmp_path / "python" / "somelib").is_dir()
    assert not (tmp_path / "python" / "tests").exists(), "stray top-level folders are dropped"
    assert not (tmp_path / "requirements.txt").exists(), "only the layer content is left in the output"


def test_pip_installs_the_pinned_runtime_dependencies_as_lambda_wheels(tmp_path, pip_calls):
    PipLayerBundling().try_bundle(str(tmp_path))

    (call,) = pip_calls
    command = call["command"]
    assert call["check"] is True, "a failed install fails the deployment"
    assert command[command.index("--python-version") + 1] == "3.12"
    assert "--only-binary=:all:" in command
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert "manylinux2014_x86_64" in platforms and all(p.endswith("_x86_64") for p in platforms)
    assert command[command.index("--target") + 1] == str(tmp_path / "python")
    assert call["requirements"] == runtime_requirements()


def test_runtime_requirements_are_pinned_and_exclude_the_tools():
    requirements = runtime_requirements()
    assert requirements and all("==" in r for r in requirements)
    names = {r.split("==")[0].split("[")[0].lower() for r in requirements}
    assert {"pydantic", "aws-lambda-powertools"} <= names
    assert not names & {"moto", "aws-cdk-lib", "cdk-nag", "pytest"}


def test_direct_synthesis_skips_bundling_unless_the_cli_asks():
    # App() applies the CLI's context after these defaults, so `cdk deploy` still bundles
    assert default_context()[BUNDLING_STACKS] == []


def _jwt_uses(path: Path) -> list[str]:
    """Where a module imports a JWT library or calls `jwt.encode`, as `file:line what`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        elif isinstance(node, ast.Attribute) and node.attr == "encode" and getattr(node.value, "id", "") == "jwt":
            modules = ["jwt.encode"]
        else:
            continue
        found += [f"{path.name}:{node.lineno} {m}" for m in modules if m.split(".")[0] in ("jwt", "jose", "authlib")]
    return found


def test_the_layer_verifies_tokens_but_never_issues_one():
    """Tokens come from the deployment's identity provider; the api function verifies them (tximport.auth,
    against the issuer's keys: so a 401 answers in the envelope). Issuing stays in the CLI package."""
    sources = sorted((LAYERS_DIR / "tximport").rglob("*.py"))
    assert len(sources) > 20
    uses = [use for path in sources for use in _jwt_uses(path)]
    assert [use.split(":")[0] for use in uses] == ["auth.py"] and not [u for u in uses if "encode" in u]
    assert not [p for p in sources if "issue_token" in p.read_text(encoding="utf-8")]
    auth = (LAYERS_DIR / "tximport" / "auth.py").read_text(encoding="utf-8")
    assert "HS256" not in auth, "no shared-secret algorithm: the issuer's keys only"


def test_the_check_finds_an_issuer():
    cli_tokens = LAYERS_DIR.parent / "cli" / "tximport_cli" / "local" / "tokens.py"
    assert [use.split(" ")[1] for use in _jwt_uses(cli_tokens)] == ["jwt", "jwt.encode"]
