"""The route list the gateway is built from against the routes the api function serves."""

from __future__ import annotations

import re

import pytest

from infra.definitions import ROUTES

pytestmark = pytest.mark.infra

METHODS = ("get", "post", "put", "patch", "delete")


def shape(path: str) -> str:
    """A path with its parameter names erased: `/imports/{import_id}` -> `/imports/{}`."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_route_the_api_function_serves_is_routed_by_the_gateway():
    from tximport.api.app import app

    served = {
        (method.upper(), shape(path))
        for path, item in app.get_openapi_schema().paths.items()
        for method in METHODS
        if getattr(item, method, None)
    }
    declared = {(r.method, shape(r.path)) for r in ROUTES}
    assert served, "the resolver declares routes"
    assert served <= declared, f"served but unreachable behind API Gateway: {sorted(served - declared)}"


def test_route_list_has_no_duplicates_and_no_catch_all():
    keys = [(r.method, shape(r.path)) for r in ROUTES]
    assert len(keys) == len(set(keys))
    assert not [r for r in ROUTES if "+" in r.path or r.method == "ANY"]
