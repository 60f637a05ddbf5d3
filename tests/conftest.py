"""How `make test` spreads the tests over its xdist workers (`--dist loadgroup`).

Expensive fixtures are per module (the in-process local stack, the hostile-requests world) or per worker
session (the `tximport local` child processes of the e2e tier, the synthesized CDK app). With xdist's
default `load` distribution a module's tests land on both workers, so each worker started the module's
stack and built its world, and the e2e stacks and the CDK synthesis ran once per worker. Here every test
goes to its module's group, and every test using one of the session fixtures below to that fixture's
group, so each of those fixtures is built once in the run.
"""

from __future__ import annotations

import pytest

#: session-scoped fixtures that cost seconds to build: the tests using one run on one worker
SHARED_SESSION_FIXTURES = ("real_stack", "standin_stack", "synthesized")


def group_of(item: pytest.Item) -> str:
    """The xdist group of a test: the first expensive session fixture it uses, else its module."""
    names = getattr(item, "fixturenames", ())
    shared = [name for name in SHARED_SESSION_FIXTURES if name in names]
    return shared[0] if shared else item.nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks (it appends the group to the node id)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(group_of(item)))
