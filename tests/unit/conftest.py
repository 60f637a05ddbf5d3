"""The unit tier: domain code, services on in-memory fakes, no network. A test that opens an internet
socket fails (pytest-socket); Unix sockets stay allowed (asyncio's self-pipe)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()
