"""Services on in-memory fakes: a fresh world per test."""

from __future__ import annotations

import pytest

from tests.fakes.container import FakeContainer
from tests.support.reference import row_processing
from tests.unit.services.world import TENANT, World
from tximport.services import line_ids


@pytest.fixture()
def c() -> FakeContainer:
    return FakeContainer()


@pytest.fixture()
def world(c: FakeContainer) -> World:
    return World(c, TENANT)


@pytest.fixture(params=[None, 40], ids=["entries", "few-entries"])
def entry_window(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """The identical-line counters' window as it is, and small enough that unordered days leave it and come
    back (both paths with the same window)."""
    window = request.param or line_ids.ENTRY_WINDOW
    monkeypatch.setattr(line_ids, "ENTRY_WINDOW", window)
    monkeypatch.setattr(row_processing, "ENTRY_WINDOW", window)
    return int(window)
