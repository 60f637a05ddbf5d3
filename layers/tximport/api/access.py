"""Which routes a caller may use without a token: the one list the deployed HTTP API (routes without the
JWT authorizer, `infra.definitions.ROUTES`), the local gateway and the OpenAPI document (operations
without a security requirement) all read.

It lives in the layer because the api function reads it at run time (the OpenAPI document it serves)
and the layer ships the `tximport` package only; `infra` and the CLI import it from here. Nothing here
imports anything heavier than `re`, so the CDK app can read it without loading the API.
"""

from __future__ import annotations

import re

#: (method, path) as API Gateway writes them; a path parameter's name does not matter
#: (`/fileformats/{id}/template` is the resolver's `/fileformats/{file_format}/template`)
PUBLIC_ROUTES: tuple[tuple[str, str], ...] = (
    # the file-format catalogue and its templates, public in the service we follow: no tenant data
    ("GET", "/fileformats"),
    ("GET", "/fileformats/{id}/template"),
    # the API's own documentation, served by the local stack (the deployed API routes neither; the
    # document ships as docs/openapi.json)
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
)

_PARAMETER = re.compile(r"\{[^}]+\}")


def route_shape(method: str, path: str) -> tuple[str, str]:
    """A route with its method upper-cased and its parameter names erased: `/imports/{id}` -> `/imports/{}`."""
    return method.upper(), _PARAMETER.sub("{}", path)


_PUBLIC_SHAPES = frozenset(route_shape(method, path) for method, path in PUBLIC_ROUTES)


def is_public(method: str, path: str) -> bool:
    """True when `method path` (a route template, either notation) needs no token."""
    return route_shape(method, path) in _PUBLIC_SHAPES
