"""The `tximport` console script: `dev-token` and `local` as a person runs them."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import ROOT
from tests.support.client import poll
from tximport.errors import Unauthorized
from tximport_cli.local.tokens import DEV_AUDIENCE, DEV_ISSUER, DEV_SECRET, dev_secret, verify_token
from tximport_cli.main import main

pytestmark = pytest.mark.e2e

TXIMPORT = Path(ROOT / ".venv" / "bin" / "tximport")


def _verify(token: str, secret: str) -> dict:
    return verify_token(token, secret=secret, issuer=DEV_ISSUER, audience=DEV_AUDIENCE)


def test_dev_token_names_the_tenant_and_expires(capsys, monkeypatch):
    monkeypatch.delenv("TXIMPORT_DEV_SECRET", raising=False)
    assert main(["dev-token", "--organisation", "org-1", "--company", "co-1", "--ttl", "120"]) == 0
    token = capsys.readouterr().out.strip()
    claims = _verify(token, DEV_SECRET)
    assert (claims["organisationId"], claims["companyId"]) == ("org-1", "co-1")
    assert claims["exp"] - claims["iat"] == 120


def test_dev_token_secret_is_overridable(capsys, monkeypatch):
    monkeypatch.setenv("TXIMPORT_DEV_SECRET", "another-local-secret-with-32-bytes-or-more")
    assert dev_secret() == "another-local-secret-with-32-bytes-or-more"
    main(["dev-token", "--organisation", "o", "--company", "c"])
    token = capsys.readouterr().out.strip()
    assert _verify(token, "another-local-secret-with-32-bytes-or-more")["organisationId"] == "o"
    with pytest.raises(Unauthorized):
        _verify(token, DEV_SECRET)


def test_dev_token_adds_repeatable_permissions_and_roles(capsys, monkeypatch):
    monkeypatch.delenv("TXIMPORT_DEV_SECRET", raising=False)
    assert main(["dev-token", "--organisation", "o", "--company", "c",
                 "--permission", "BAAS_RECONCILIATION_CREATE", "--permission", "BAAS_RECONCILIATION_READ",
                 "--role", "admin"]) == 0
    claims = _verify(capsys.readouterr().out.strip(), DEV_SECRET)
    assert claims["permissions"] == ["BAAS_RECONCILIATION_CREATE", "BAAS_RECONCILIATION_READ"]
    assert claims["roles"] == ["admin"]
    assert main(["dev-token", "--organisation", "o", "--company", "c", "--role", " "]) == 2


def test_dev_token_adds_repeatable_scopes_as_oauth_writes_them(capsys, monkeypatch):
    monkeypatch.delenv("TXIMPORT_DEV_SECRET", raising=False)
    assert main(["dev-token", "--organisation", "o", "--company", "c",
                 "--scope", "api:transactions:create", "--scope", "other"]) == 0
    claims = _verify(capsys.readouterr().out.strip(), DEV_SECRET)
    assert claims["scope"] == "api:transactions:create other"
    assert main(["dev-token", "--organisation", "o", "--company", "c", "--scope", "a b"]) == 2


def test_dev_token_rejects_a_non_positive_ttl(capsys):
    assert main(["dev-token", "--organisation", "o", "--company", "c", "--ttl", "0"]) == 2


def test_console_script_token_is_accepted_by_the_stack(standin_stack):
    env = {k: v for k, v in os.environ.items() if k != "TXIMPORT_DEV_SECRET"}
    token = subprocess.run([str(TXIMPORT), "dev-token", "--organisation", "o9", "--company", "c9"],
                           capture_output=True, text=True, check=True, env=env, timeout=60).stdout.strip()
    response = requests.get(f"{standin_stack.base_url}/imports", headers={"Authorization": f"Bearer {token}"},
                            timeout=10)
    assert response.status_code == 200
    assert response.json()["data"]["requestContext"]["authorizer"]["jwt"]["claims"]["companyId"] == "c9"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_tximport_local_starts_on_port_from_env_serves_and_stops_on_sigint(tmp_path):
    port = _free_port()
    log = tmp_path / "out.log"
    env = {**os.environ, "PORT": str(port), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen([str(TXIMPORT), "local", "--no-demo", "--handlers-module", "tests.e2e.standins"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
        try:
            def url() -> str | None:
                assert process.poll() is None, log.read_text()
                found = re.search(r"tximport local: API (http://127\.0\.0\.1:\d+)", log.read_text())
                return found.group(1) if found else None

            base = poll(url, timeout=60, what="the API URL on stdout")
            assert base == f"http://127.0.0.1:{port}"
            response = requests.get(f"{base}/fileformats", timeout=10)
            assert response.status_code == 200
            assert "curl -s -T statement.csv" in log.read_text()  # the walkthrough was printed
            # on another port than the CLI's default, the banner says how to point the CLI at it
            assert f"export TXIMPORT_API_URL=http://127.0.0.1:{port}" in log.read_text()
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert "Traceback" not in log.read_text()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/fileformats", timeout=5)
