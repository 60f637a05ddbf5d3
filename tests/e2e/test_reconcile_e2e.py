"""Reconciliations on `tximport local` (a child process) as a person uses them: the README's curl walkthrough
run by bash, and the `tximport reconcile` commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, StackProcess
from tests.support.client import Api
from tximport_cli.exitcodes import ExitCode
from tximport_cli.local.stack import DEMO_PERMISSIONS, DEMO_SCOPES
from tximport_cli.local.tokens import dev_token

pytestmark = pytest.mark.e2e

MARKER = "<!-- reconcile-walkthrough -->"


def walkthrough_script() -> str:
    """The README's reconciliation walkthrough, less the lines that set what the test provides."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(re.escape(MARKER) + r"\s*```sh\n(.*?)```", text, re.S)
    assert block, "the README has the reconciliation walkthrough"
    lines = [line for line in block.group(1).splitlines()
             if not line.startswith("export ") and not line.lstrip().startswith("#   ")]
    return "\n".join(lines)


class Tenant:
    def __init__(self, stack: StackProcess) -> None:
        self.organisation, self.company = f"org-{uuid.uuid4().hex[:8]}", f"co-{uuid.uuid4().hex[:8]}"
        self.token = dev_token(self.organisation, self.company, 3600, permissions=DEMO_PERMISSIONS,
                               scopes=DEMO_SCOPES)
        self.api = Api(stack.base_url, self.token, self.organisation, self.company)
        self.identifier = uuid.uuid4().hex[:10]
        self.account = self.api.create_account(self.identifier, currency="GBP")
        self.env = {**os.environ, "API": stack.base_url, "TOKEN": self.token, "ACCOUNT": self.account,
                    "IDENTIFIER": self.identifier, "TXIMPORT_API_URL": stack.base_url, "TXIMPORT_TOKEN": self.token,
                    "PYTHONUNBUFFERED": "1"}

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tximport_cli.main", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=180, env=self.env)


def test_the_readme_walkthrough_runs_as_written(real_stack: StackProcess):
    tenant = Tenant(real_stack)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", walkthrough_script()], env=tenant.env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert '"status":"PROCESSING"' in out and '"totalAmount":23000.00' in out
    assert "PARTIALLY_MATCHED" in out
    assert '"externalRef":"ERP-PAG-11111"' in out and '"matchStatus":"UNMATCHED"' in out
    lines = out.strip().splitlines()
    assert "COMPLETED" in lines[-3], lines[-3:]  # after the manual match
    ledger = json.loads(lines[-2])["data"]
    held = [row["reconciliation"]["matchStatus"] for row in ledger if row["reconciliation"]]
    assert sorted(held) == ["MANUAL", "MATCHED", "MATCHED"]
    assert "COMPLETED" in lines[-1]  # the events the local stack captured


def test_cli_reconcile_create_show_and_exit_codes(real_stack: StackProcess, tmp_path: Path):
    tenant = Tenant(real_stack)
    tenant.api.ok("POST", "/api/public/v1/transactions", expect=201, json={"transactions": [
        {"accountIdentifier": tenant.identifier, "transactionId": "B-1", "text": "TED ERP-PAG-12345",
         "creditDebit": "debit", "amount": "5000.00", "currency": "GBP", "valutaAt": "2024-01-10"}]})
    entries = tmp_path / "entries.csv"
    entries.write_text("type,amount,description,transactionDate,externalRef\n"
                       "DEBIT,5000.00,Pagamento NF 12345,2024-01-10,ERP-PAG-12345\n"
                       "DEBIT,3000.00,Pagamento fornecedor XYZ,2024-01-15,ERP-PAG-11111\n")
    done = tenant.cli("reconcile", "create", str(entries), "--account", tenant.identifier, "--period-start",
                      "2024-01-01", "--period-end", "2024-01-31", "--json")
    assert done.returncode == ExitCode.OK, done.stderr
    result = json.loads(done.stdout)
    assert result["reconciliation"]["attributes"]["status"] == "PARTIALLY_MATCHED"
    # qa46b 5: the amounts keep their decimals as the API writes them, never through a float
    assert '"totalAmount": 8000.00' in done.stdout and '"unmatchedAmount": 3000.00' in done.stdout
    assert [e["attributes"]["matchStatus"] for e in result["entries"]] == ["MATCHED", "UNMATCHED"]
    assert result["entries"][0]["attributes"]["match"]["rule"] == "EXACT_REFERENCE"
    rec_id = result["reconciliation"]["id"]
    shown = tenant.cli("reconcile", "show", rec_id)
    assert shown.returncode == 0, shown.stderr
    assert "PARTIALLY_MATCHED" in shown.stdout and "EXACT_REFERENCE" in shown.stdout
    assert "why" in shown.stdout and "no line within the amount tolerance" in shown.stdout
    listed = tenant.cli("reconcile", "list", "--json")
    assert [r["id"] for r in json.loads(listed.stdout)] == [rec_id]
    again = tenant.cli("reconcile", "create", str(entries), "--account", tenant.identifier, "--period-start",
                       "2024-01-10", "--period-end", "2024-02-10")
    assert again.returncode == ExitCode.ERROR and "409 CONFLICT" in again.stderr
    missing = tenant.cli("reconcile", "show", str(uuid.uuid4()))
    assert missing.returncode == ExitCode.ERROR and "404 NOT_FOUND" in missing.stderr
