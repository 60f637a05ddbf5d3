"""Property-based requests from our own OpenAPI document against the local stack: whatever a client
sends, the API answers a documented 4xx or a success, never a 5xx; on the file-import, public-transactions,
import-sessions (000) and reconciliation (003) routes every answer's body also matches the schema the
document gives it (the typed response models are the contract).

The requests carry a token with every scope and permission and the X-Workspace-ID of a seeded tenant
(tests/e2e/fuzz_data.py: a session with lines, a completed reconciliation and its entry), and the path ids
are the seeded ones: requests get past the 403 and the 404 and reach the services and their answers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, StackProcess
from tests.e2e.fuzz_data import seed, write_config

pytestmark = pytest.mark.e2e


#: the routes whose answers are typed response models, so every answer must match the schema the document
#: gives it: file import, public transactions, import sessions and staged transactions (000), reconciliations
#: (003); the rest (the sessions dialect's catalog: workspaces, cards, categories, tags, recurring, rules,
#: enrichment) is held to no server error
OURS = (r"^/(fileformats|bankaccounts|imports|transactions|settings|api/public/"
        r"|import-sessions|staged-transactions|baas/)")


@pytest.fixture(scope="module")
def config(real_stack: StackProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    seeded = seed(real_stack.base_url, "fuzz-org", "fuzz-co")
    return write_config(tmp_path_factory.mktemp("fuzz") / "schemathesis.toml", seeded)


def _run(real_stack: StackProcess, config: Path, checks: str, path_option: str) -> None:
    schemathesis = [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()"]
    done = subprocess.run(
        [*schemathesis, "--config-file", str(config), "run", f"{real_stack.base_url}/openapi.json",
         "--url", real_stack.base_url, "--checks", checks, path_option, OURS,
         "--max-examples", "8", "--seed", "20261122", "--no-color"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, _report(done)
    assert " passed" in done.stdout, _report(done)  # it generated and sent requests


def _report(done: subprocess.CompletedProcess[str]) -> str:
    """The failures schemathesis found (with their curl reproductions), then the end of its output."""
    failures = done.stdout.find("=== FAILURES ===")
    head = done.stdout[failures:failures + 6000] if failures >= 0 else ""
    return head + "\n...\n" + done.stdout[-3000:] + done.stderr[-2000:]


# the document has 85 operations: 8 examples each take minutes on a busy 2-core machine, more than the
# suite's default timeout
@pytest.mark.timeout(600)
def test_our_routes_never_answer_a_server_error_and_every_answer_matches_its_schema(real_stack: StackProcess,
                                                                                    config: Path):
    _run(real_stack, config, "not_a_server_error,response_schema_conformance", "--include-path-regex")


@pytest.mark.timeout(600)
def test_no_request_generated_from_the_openapi_document_gets_a_server_error(real_stack: StackProcess, config: Path):
    _run(real_stack, config, "not_a_server_error", "--exclude-path-regex")


def test_the_seeded_ids_and_headers_reach_the_services(config: Path):
    """The config names every path id of the 000 and 003 routes, the workspace and a token; DELETEs aim at
    an id that does not exist, so the seeded data outlive the run."""
    text = config.read_text()
    for name in ("session_id", "staged_id", "reconciliation_id", "entry"):
        assert f'"path.{name}" = "' in text
    assert '"X-Workspace-ID" = "' in text and 'Authorization = "Bearer ' in text
    assert 'include-method = "DELETE"' in text
