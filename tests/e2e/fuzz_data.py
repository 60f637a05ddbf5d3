"""What the OpenAPI fuzz tests aim at: a tenant's session with staged lines, a completed reconciliation and
its entries, made through the API, so generated requests reach the services and their answers (not only
404s) are held to the document's schemas. Written as a schemathesis config: path ids and headers; `fuzz`
runs schemathesis with it. The two fuzz tests are in two files, so the suite's workers run them at once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tests.e2e.conftest import ROOT, StackProcess
from tximport_cli.local.stack import DEMO_PERMISSIONS, DEMO_SCOPES
from tximport_cli.local.tokens import dev_token

#: the routes whose answers are typed response models, so every answer must match the schema the document
#: gives it: file import, public transactions, import sessions and staged transactions (000), reconciliations
#: (003); the rest (the sessions dialect's catalog: workspaces, cards, categories, tags, recurring, rules,
#: enrichment) is held to no server error
OURS = (r"^/(fileformats|bankaccounts|imports|transactions|settings|api/public/"
        r"|import-sessions|staged-transactions|baas/)")

#: ids of the things the destructive routes (DELETE) aim at: none exists, so the seeded data outlive the run
GONE = "0190f7a2-0000-7000-8000-00000000dead"


def _call(base: str, headers: dict[str, str], method: str, path: str, body: Any = None,
          expect: int = 200) -> Any:
    answer = requests.request(method, base + path, headers={**headers, "Content-Type": "application/json"},
                              data=None if body is None else json.dumps(body), timeout=60)
    assert answer.status_code == expect, f"{method} {path}: {answer.status_code} {answer.text[:500]}"
    return answer.json() if answer.content else None


def seed(base: str, organisation: str, company: str) -> dict[str, str]:
    """A tenant with a workspace, a session with lines, a bank account with a completed reconciliation;
    answers the token, the workspace and the ids, by the path parameter names of the document."""
    token = dev_token(organisation, company, 3600, permissions=DEMO_PERMISSIONS, scopes=DEMO_SCOPES)
    auth = {"Authorization": f"Bearer {token}"}
    account = _call(base, auth, "POST", "/bankaccounts", {"data": {
        "bankId": "b", "countryCode": "BRA", "accountIdentifier": "fuzz-0001", "name": "Conta", "currency": "BRL"}},
        201)["data"]["id"]
    workspace = _call(base, auth, "POST", "/workspaces", {"name": "Fuzz"}, 201)["id"]
    ws = {**auth, "X-Workspace-ID": workspace}
    session = _call(base, ws, "POST", "/import-sessions", {"account_id": account, "billing_month": "2024-01"},
                    201)["id"]
    lines = _call(base, ws, "POST", f"/import-sessions/{session}/staged-transactions", [
        {"amount": -49.9, "transaction_date": "2024-01-10", "description": "NETFLIX"},
        {"amount": 2500, "transaction_date": "2024-01-05", "description": "Salario"}], 201)
    rec = _call(base, auth, "POST", "/baas/api/v1/reconciliations", {"data": {
        "type": "reconciliations", "attributes": {
            "accountId": account, "periodStart": "2024-01-01", "periodEnd": "2024-01-31", "source": "API_IMPORT",
            "entries": [{"type": "DEBIT", "amount": 5000.00, "description": "Pagamento NF 12345",
                         "transactionDate": "2024-01-10", "externalRef": "ERP-PAG-12345"}]}}}, 201)["data"]["id"]
    deadline = time.monotonic() + 120
    while _call(base, auth, "GET", f"/baas/api/v1/reconciliations/{rec}")["data"]["attributes"]["status"] in (
            "PENDING", "PROCESSING"):
        assert time.monotonic() < deadline, "the reconciliation did not finish"
        time.sleep(0.5)
    entry = _call(base, auth, "GET", f"/baas/api/v1/reconciliations/{rec}/entries")["data"][0]["id"]
    return {"token": token, "workspace": workspace, "account_id": account, "session_id": session,
            "staged_id": lines[0]["id"], "reconciliation_id": rec, "entry": entry}


def write_config(path: Path, seeded: dict[str, str]) -> Path:
    """The schemathesis config: the seeded ids for every path parameter of theirs, GONE for DELETEs."""
    ids = {k: v for k, v in seeded.items() if k not in ("token", "workspace")}
    params = ", ".join(f'"path.{k}" = "{v}"' for k, v in ids.items())
    gone = ", ".join(f'"path.{k}" = "{GONE}"' for k in ids)
    path.write_text(
        f'headers = {{ Authorization = "Bearer {seeded["token"]}", "X-Workspace-ID" = "{seeded["workspace"]}" }}\n'
        f"parameters = {{ {params} }}\n\n"
        f'[[operations]]\ninclude-method = "DELETE"\nparameters = {{ {gone} }}\n\n'
        # the coverage phase sends the largest arrays the schemas allow (5,000 lines; 10,000 entries): each
        # takes moto longer than a request may; the fuzzing phase still sends these routes arrays
        '[[operations]]\ninclude-method = "POST"\ninclude-path-regex = "(staged-transactions|bind|reconciliations)$"\n'
        "[operations.phases.coverage]\nenabled = false\n", encoding="utf-8")
    return path


def fuzz(stack: StackProcess, config: Path, checks: str, path_option: str) -> None:
    """Runs schemathesis (every phase, 8 examples an operation, a fixed seed) against the stack on the routes
    `path_option` (--include-path-regex or --exclude-path-regex) picks out of OURS; fails with what it found."""
    schemathesis = [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()"]
    done = subprocess.run(
        [*schemathesis, "--config-file", str(config), "run", f"{stack.base_url}/openapi.json",
         "--url", stack.base_url, "--checks", checks, path_option, OURS,
         "--max-examples", "8", "--seed", "20261122", "--no-color"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, _report(done)
    assert " passed" in done.stdout, _report(done)  # it generated and sent requests


def _report(done: subprocess.CompletedProcess[str]) -> str:
    """The failures schemathesis found (with their curl reproductions), then the end of its output."""
    failures = done.stdout.find("=== FAILURES ===")
    head = done.stdout[failures:failures + 6000] if failures >= 0 else ""
    return head + "\n...\n" + done.stdout[-3000:] + done.stderr[-2000:]


def seeded_config(stack: StackProcess, folder: Path, organisation: str, company: str) -> Path:
    """A tenant seeded on `stack` and the schemathesis config aiming at it, written in `folder`."""
    return write_config(folder / "schemathesis.toml", seed(stack.base_url, organisation, company))
