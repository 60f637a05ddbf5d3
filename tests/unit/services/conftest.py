"""Services on in-memory fakes: a fresh world per test."""

from __future__ import annotations

import pytest

from tests.fakes.container import FakeContainer
from tests.unit.services.world import TENANT, World


@pytest.fixture()
def c() -> FakeContainer:
    return FakeContainer()


@pytest.fixture()
def world(c: FakeContainer) -> World:
    return World(c, TENANT)
