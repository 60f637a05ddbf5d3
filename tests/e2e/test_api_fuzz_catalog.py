"""Property-based requests from our own OpenAPI document against the local stack, on the routes of the
sessions dialect's catalog (workspaces, cards, categories, tags, recurring, rules, enrichment): whatever a
client sends, the API answers a documented 4xx or a success, never a 5xx. The typed routes, held to their
schemas too: test_api_fuzz.py (a file of its own, so the suite's workers run the two at once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import StackProcess
from tests.e2e.fuzz_data import fuzz, seeded_config

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def config(real_stack: StackProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seeded_config(real_stack, tmp_path_factory.mktemp("fuzz"), "fuzz-catalog-org", "fuzz-catalog-co")


@pytest.mark.timeout(600)
def test_no_request_generated_from_the_openapi_document_gets_a_server_error(real_stack: StackProcess, config: Path):
    fuzz(real_stack, config, "not_a_server_error", "--exclude-path-regex")
