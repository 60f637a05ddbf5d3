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


def test_one_list_of_public_routes_reaches_the_api_the_gateway_and_the_document():
    from tximport.api.access import PUBLIC_ROUTES, route_shape
    from tximport.api.app import openapi_document
    from tximport_cli.local.gateway import routes_from_definitions
    from tximport_cli.local.stack import LOCAL_DOCS_ROUTES

    listed = {route_shape(method, path) for method, path in PUBLIC_ROUTES}
    deployed = {route_shape(r.method, r.path) for r in ROUTES if not r.auth_required}
    local = {route_shape(r.method, r.path)
             for r in routes_from_definitions([*ROUTES, *LOCAL_DOCS_ROUTES]) or [] if not r.auth_required}
    documented = {route_shape(method, path) for path, item in openapi_document()["paths"].items()
                  for method, op in item.items() if method in METHODS and op.get("security") == []}
    assert deployed == {("GET", "/fileformats"), ("GET", "/fileformats/{}/template")}
    assert local == listed == deployed | {("GET", "/docs"), ("GET", "/openapi.json")}
    assert documented == deployed, "the documentation routes are not in the document itself"
