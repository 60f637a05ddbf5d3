"""Property-based requests from our own OpenAPI document against the local stack, on the file-import,
public-transactions, import-sessions (000) and reconciliation (003) routes: whatever a client sends, the API
answers a documented 4xx or a success, never a 5xx, and every answer's body matches the schema the document
gives it (the typed response models are the contract). The other routes: test_api_fuzz_catalog.py.

The requests carry a token with every scope and permission and the X-Workspace-ID of a seeded tenant
(tests/e2e/fuzz_data.py: a session with lines, a completed reconciliation and its entry), and the path ids
are the seeded ones: requests get past the 403 and the 404 and reach the services and their answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import StackProcess
from tests.e2e.fuzz_data import fuzz, seeded_config

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def config(real_stack: StackProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seeded_config(real_stack, tmp_path_factory.mktemp("fuzz"), "fuzz-org", "fuzz-co")


# the document has 85 operations: 8 examples each take minutes on a busy 2-core machine, more than the
# suite's default timeout
@pytest.mark.timeout(600)
def test_our_routes_never_answer_a_server_error_and_every_answer_matches_its_schema(real_stack: StackProcess,
                                                                                    config: Path):
    fuzz(real_stack, config, "not_a_server_error,response_schema_conformance", "--include-path-regex")


def test_the_seeded_ids_and_headers_reach_the_services(config: Path):
    """The config names every path id of the 000 and 003 routes, the workspace and a token; DELETEs aim at
    an id that does not exist, so the seeded data outlive the run."""
    text = config.read_text()
    for name in ("session_id", "staged_id", "reconciliation_id", "entry"):
        assert f'"path.{name}" = "' in text
    assert '"X-Workspace-ID" = "' in text and 'Authorization = "Bearer ' in text
    assert 'include-method = "DELETE"' in text
