"""The local stack in this process (moto server + our handlers), shared by the tests of one module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from infra.definitions import local_function_name
from tests.support.client import Api
from tximport_cli.local.lambdas import Handler
from tximport_cli.local.stack import LocalStack
from tximport_cli.local.tokens import dev_token


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """One stack per test module: moto keeps process-wide state, so modules never overlap."""
    # a window no module outlasts, even on a busy machine (the expiry tests start stacks with their own)
    local = LocalStack(port=0, moto_port=0, confirmation_timeout_seconds=1800)
    local.start()
    yield local
    local.stop()


#: the scope tests' tokens carry (the public transactions endpoint needs it)
SCOPES = ("api:transactions:create",)


def new_api(stack: LocalStack) -> Api:
    org, company = f"org-{uuid.uuid4().hex[:8]}", f"co-{uuid.uuid4().hex[:8]}"
    return Api(stack.base_url, dev_token(org, company, scopes=SCOPES), org, company)


@pytest.fixture()
def api(stack: LocalStack) -> Api:
    """A fresh tenant for each test."""
    return new_api(stack)


@pytest.fixture()
def api_handler(stack: LocalStack) -> Handler:
    """The api function's handler as the stack loaded it: Lambda loads a handler in its environment, and
    the handler checks its settings when it is loaded."""
    return stack.handlers[local_function_name("api")]
