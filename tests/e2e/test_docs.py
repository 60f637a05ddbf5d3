"""The docs page of the local stack, rendered by headless Chromium with no internet: Swagger UI's
assets come from the Powertools package, inlined in the page."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest
import requests

from tests.e2e.conftest import StackProcess

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture()
def chromium() -> str:
    if CHROMIUM is None:
        if IN_CI:
            pytest.fail("chromium is required in CI (CI=true): `make system-deps` installs it")
        pytest.skip("chromium is not installed (apt-get install chromium, or `make system-deps`)")
    return CHROMIUM


def test_docs_page_renders_every_route_offline(real_stack: StackProcess, chromium: str):
    # Given the stack serving /docs and /openapi.json without a token
    spec = requests.get(f"{real_stack.base_url}/openapi.json", timeout=30)
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "tximport API"
    # When a browser with no network but loopback renders the page
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--dump-dom",
             f"{real_stack.base_url}/docs#/Imports"],
            capture_output=True, text=True, timeout=120, check=True).stdout
    # Then Swagger UI drew the operations (rendered elements, not just the spec embedded in the page)
    for path in ("/imports/{import_id}/confirm", "/fileformats/detect", "/bankaccounts/{account_id}/transactions"):
        assert f'class="opblock-summary-path" data-path="{path}"' in dom, path
    assert "Confirm an import" in dom
