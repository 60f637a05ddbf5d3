"""End-to-end fixtures: the local stack as `tximport local` in a child process, on free ports.

A child process keeps moto's process-wide state away from the other tiers' in-process `mock_aws`
tests, which may share a pytest worker with these (and reset moto when they start).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.client import poll
from tximport_cli.local.tokens import dev_token

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 180.0  # a cold start on a busy 2-core machine takes 40-60 s


class StackProcess:
    """`tximport local` running in a child process; `info` is what it wrote to its ready file."""

    def __init__(self, tmp: Path, *extra: str) -> None:
        self.ready_file = tmp / "ready.json"
        self.log_file = tmp / "stack.log"
        self.args = [sys.executable, "-m", "tximport_cli.main", "local", "--port", "0", "--moto-port", "0",
                     "--ready-file", str(self.ready_file), *extra]
        self.process: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}

    def start(self) -> StackProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("PORT", None)
        self._log = self.log_file.open("wb")
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT)

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(
                    f"tximport local exited with {self.process.returncode}:\n{self.output()}")
            return self.ready_file.exists()

        poll(ready, timeout=START_TIMEOUT, what="tximport local to start")
        self.info = json.loads(self.ready_file.read_text())
        return self

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def output(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    @property
    def base_url(self) -> str:
        return self.info["baseUrl"]

    def token_for(self, organisation_id: str, company_id: str, ttl_seconds: int = 3600) -> str:
        return dev_token(organisation_id, company_id, ttl_seconds)

    def routed(self, *names: str) -> bool:
        return all(f"tximport-{n.replace('_', '-')}" in self.info["routedFunctions"] for n in names)


@pytest.fixture(scope="session")
def standin_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    """The stack with the stand-in functions of tests/e2e/standins.py: tests the stack itself."""
    stack = StackProcess(tmp_path_factory.mktemp("standin-stack"), "--no-demo",
                         "--handlers-module", "tests.e2e.standins").start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def real_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    """The stack with the service's real functions (and the demo bank account)."""
    stack = StackProcess(tmp_path_factory.mktemp("real-stack"), "--confirmation-timeout", "300").start()
    yield stack
    stack.stop()


@pytest.fixture()
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
