"""The README's import-session walkthrough, run as written (bash and curl) against `tximport local`."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import StackProcess
from tximport_cli.local.stack import DEMO_COMPANY, DEMO_ORGANISATION

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def _walkthrough() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Walkthrough", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_readme_session_walkthrough_runs_as_written(real_stack: StackProcess, tmp_path: Path):
    demo = real_stack.info["demo"]
    if not demo.get("workspaceId") or not demo.get("bankAccountId"):
        pytest.skip("the demo tenant was not created")
    script = _walkthrough().replace("export WORKSPACE=...", "# WORKSPACE from the environment")
    env = {**os.environ, "API": real_stack.base_url, "ACCOUNT": demo["bankAccountId"],
           "WORKSPACE": demo["workspaceId"], "TOKEN": real_stack.token_for(DEMO_ORGANISATION, DEMO_COMPANY)}
    done = subprocess.run(["bash", "-c", f"cd {tmp_path} && ln -s {ROOT / '.venv'} .venv && {script}"], env=env,
                          capture_output=True, text=True, timeout=300)
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert "rule: 201" in out and '"message":"3 linhas processadas"' in out
    assert '"suggested_bindings":1' in out and "confirm: 200" in out
    assert "'context_value': 2438.85" in out and "'status': 'OK'" in out
    assert '"message":"3 transações efetivadas"' in out
    assert "2023-12-05 -49.90 EXPENSE VALIDATING Netflix - Assinatura Mensal" in out
    assert '"code":"AdminRequired"' in out and '"paid":3' in out
