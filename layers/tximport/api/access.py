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

#: the scope a token needs to post transactions to the public endpoint
TRANSACTIONS_CREATE = "api:transactions:create"

#: (method, path, scope): routes a token may use only when it carries the scope (else 403 InsufficientScope,
#: answered before the body is read, as API Gateway's authorization scopes would)
SCOPED_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("POST", "/api/public/v1/transactions", TRANSACTIONS_CREATE),
)

_PARAMETER = re.compile(r"\{[^}]+\}")


def route_shape(method: str, path: str) -> tuple[str, str]:
    """A route with its method upper-cased and its parameter names erased: `/imports/{id}` -> `/imports/{}`."""
    return method.upper(), _PARAMETER.sub("{}", path)


_PUBLIC_SHAPES = frozenset(route_shape(method, path) for method, path in PUBLIC_ROUTES)


def is_public(method: str, path: str) -> bool:
    """True when `method path` (a route template, either notation) needs no token."""
    return route_shape(method, path) in _PUBLIC_SHAPES


def _regex(template: str) -> re.Pattern[str]:
    return re.compile("".join("[^/]+" if part.startswith("{") else re.escape(part)
                              for part in re.split(r"(\{[^}]+\})", template) if part))


_PUBLIC_PATHS = tuple((method, _regex(path)) for method, path in PUBLIC_ROUTES)


def is_public_request(method: str, raw_path: str) -> bool:
    """True when a request (`GET /fileformats/CSV%234col%23v1/template`) is for a route needing no token."""
    return any(m == method.upper() and pattern.fullmatch(raw_path) for m, pattern in _PUBLIC_PATHS)


_SCOPED_PATHS = tuple((method, _regex(path), scope) for method, path, scope in SCOPED_ROUTES)


def scope_needed(method: str, raw_path: str) -> str | None:
    """The scope a request's token must carry (SCOPED_ROUTES), or None when its route needs none."""
    return next((scope for m, pattern, scope in _SCOPED_PATHS
                 if m == method.upper() and pattern.fullmatch(raw_path)), None)
