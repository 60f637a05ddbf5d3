"""Property-based requests from our own OpenAPI document against the local stack: whatever a client
sends, the API answers a documented 4xx or a success, never a 5xx; on the file-import and public-transactions
routes every answer's body also matches the schema the document gives it (the typed response models are the
contract)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, StackProcess
from tximport_cli.local.tokens import dev_token

pytestmark = pytest.mark.e2e


#: the file-import and public-transactions routes: their answers are the typed response models, so every
#: answer must match the schema the document gives it; the other dialects' routes are held to no server error
OURS = r"^/(fileformats|bankaccounts|imports|transactions|settings|api/public/)"


def _run(real_stack: StackProcess, checks: str, path_option: str) -> None:
    token = dev_token("demo-org", "demo-co", scopes=("api:transactions:create",))
    schemathesis = [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()"]
    done = subprocess.run(
        [*schemathesis, "run", f"{real_stack.base_url}/openapi.json", "--url", real_stack.base_url,
         "-H", f"Authorization: Bearer {token}", "--checks", checks, path_option, OURS,
         "--max-examples", "8", "--seed", "20261122", "--no-color"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, _report(done)
    assert " passed" in done.stdout, _report(done)  # it generated and sent requests


def _report(done: subprocess.CompletedProcess[str]) -> str:
    """The failures schemathesis found (with their curl reproductions), then the end of its output."""
    failures = done.stdout.find("=== FAILURES ===")
    head = done.stdout[failures:failures + 6000] if failures >= 0 else ""
    return head + "\n...\n" + done.stdout[-3000:] + done.stderr[-2000:]


# the document has 85 operations (66 of them the other dialects'): 8 examples each take minutes on a busy
# 2-core machine, more than the suite's default timeout
@pytest.mark.timeout(600)
def test_our_routes_never_answer_a_server_error_and_every_answer_matches_its_schema(real_stack: StackProcess):
    _run(real_stack, "not_a_server_error,response_schema_conformance", "--include-path-regex")


@pytest.mark.timeout(600)
def test_no_request_generated_from_the_openapi_document_gets_a_server_error(real_stack: StackProcess):
    _run(real_stack, "not_a_server_error", "--exclude-path-regex")


def test_reconciliation_routes_with_their_permissions_never_answer_a_server_error(real_stack: StackProcess):
    """The same for the reconciliation dialect, with a token holding its permissions (so requests get past
    the 403 and reach the services)."""
    from tximport_cli.local.stack import DEMO_PERMISSIONS
    from tximport_cli.local.tokens import dev_token

    token = dev_token("fuzz-org", "fuzz-co", 3600, permissions=DEMO_PERMISSIONS)
    schemathesis = [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()"]
    done = subprocess.run(
        [*schemathesis, "run", f"{real_stack.base_url}/openapi.json", "--url", real_stack.base_url,
         "-H", f"Authorization: Bearer {token}", "--checks", "not_a_server_error",
         "--include-path-regex", "^/baas/", "--max-examples", "12", "--seed", "20261130", "--no-color"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, _report(done)
    assert " passed" in done.stdout, _report(done)
