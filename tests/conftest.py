"""The order tests are handed to the workers in (`make test` runs two, a file at a time: `--dist loadfile`).

The tiers whose files take longest (the real state machine under concurrency, the local stack over HTTP) go
first and the unit tests, hundreds of short files, last: a worker that finishes early picks up short files
instead of the other waiting through a long one alone at the end (a minute of the suite's wall time)."""

from __future__ import annotations

import pytest

#: the tiers by how long their files take, longest first (a tier not listed goes last)
_TIERS = ("statemachines", "e2e", "integration", "contract", "infra", "unit")


def _tier(item: pytest.Item) -> int:
    parts = item.nodeid.split("/")
    return _TIERS.index(parts[1]) if len(parts) > 2 and parts[1] in _TIERS else len(_TIERS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_tier)  # stable: within a tier, the files and their tests keep their order
