"""Powertools' HTTP API resolver, with the request it is resolving kept per thread.

Powertools keeps the request being resolved on the resolver: `current_event` and `lambda_context`
(`resolve()` even sets them on the `BaseRouter` class), the routing `context` (route, path arguments)
and the debug stack frames. Lambda runs one request at a time per process, so that is harmless there;
a server that resolves requests concurrently in threads (the local stack's gateway, as API Gateway
runs concurrent invocations) would let one request read another's event, and with it another tenant's
claims. Here that state lives in a `threading.local`: each thread sees the request it resolves, the
routers (which delegate to their resolver) read their thread's request, and in Lambda it is one
resolver per process as before.

Powertools also builds a route's middleware stack on its first call without a lock; two first calls at
once would wrap the stack twice. The first call of each route builds it under a lock.

Its request validation reads a JSON array sent where a route takes one object as the array's first item (a
`[{"account_id": ...}]` to `POST /import-sessions` was told `InvalidBillingMonth`, and the same array to `PUT
/import-sessions/{id}` changed the session). Here such a body is the validation error an array is for a model (400
ValidationError, field `body`), as `[]` or a number already was.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder, Route
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import RootModel

_ARRAYS = (list, tuple, set, frozenset, Sequence)


def takes_array(annotation: Any) -> bool:
    """Whether a body of this type may be a JSON array: a list, a RootModel of one, or a union with one of them."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return takes_array(get_args(annotation)[0])
    if origin is Union or origin is UnionType:
        return any(takes_array(member) for member in get_args(annotation))
    if annotation is Any or origin in _ARRAYS or annotation in _ARRAYS:
        return True
    if isinstance(annotation, type) and issubclass(annotation, RootModel):
        return takes_array(annotation.model_fields["root"].annotation)
    return False


class WholeBodyValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, except that a JSON array sent to a route whose body is one object is refused
    (Powertools validates the array's first item as the body: see the module docstring)."""

    def handler(self, app: Any, next_middleware: NextMiddleware) -> Any:
        route = app.context.get("_route")
        params = route.dependant.body_params if route is not None else []
        if len(params) == 1 and not takes_array(params[0].field_info.annotation) and _json_array(app.current_event):
            raise RequestValidationError([{
                "type": "model_attributes_type", "loc": ("body",), "input": [],
                "msg": "Input should be a valid dictionary or object to extract fields from"}])
        return super().handler(app, next_middleware)


def _json_array(event: Any) -> bool:
    """Whether the request's body is a JSON array (read as JSON where the validation reads it as JSON: a JSON media
    type, or none). A body that is no JSON is left to the validation, which tells the decoding error."""
    content_type = str((event.headers or {}).get("content-type") or "").strip().lower()
    body = event.decoded_body
    if (content_type and not content_type.startswith("application/json")) or not body \
            or not body.lstrip().startswith("["):
        return False
    try:
        return isinstance(event.json_body, list)
    except ValueError:  # (JSONDecodeError, a member given twice)
        return False


class ThreadLocalHttpResolver(APIGatewayHttpResolver):
    """An APIGatewayHttpResolver whose per-request state is per thread (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._local = threading.local()
        self._build_lock = threading.Lock()
        super().__init__(*args, **kwargs)
        if getattr(self, "_request_validation_middleware", None) is not None:  # enable_validation=True
            # (Powertools leaves the middleware's __init__ untyped)
            self._request_validation_middleware = WholeBodyValidation()  # type: ignore[no-untyped-call]

    # --- per-request state, per thread ---------------------------------------------------------------
    @property
    def current_event(self) -> Any:
        return getattr(self._local, "current_event", None)

    @current_event.setter
    def current_event(self, value: Any) -> None:
        self._local.current_event = value

    @property
    def lambda_context(self) -> Any:
        return getattr(self._local, "lambda_context", None)

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._local.lambda_context = value

    @property
    def context(self) -> dict[str, Any]:
        if not hasattr(self._local, "context"):
            self._local.context = {}
        context: dict[str, Any] = self._local.context
        return context

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        self._local.context = value

    @property
    def processed_stack_frames(self) -> list[str]:
        if not hasattr(self._local, "frames"):
            self._local.frames = []
        frames: list[str] = self._local.frames
        return frames

    @processed_stack_frames.setter
    def processed_stack_frames(self, value: list[str]) -> None:
        self._local.frames = value

    # --- resolving ---------------------------------------------------------------------------------
    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        """Resolve one event on this thread (Powertools also sets its class-wide copies; nothing here
        reads them: the properties above shadow them)."""
        self.current_event = self._to_proxy_event(dict(event))
        self.lambda_context = context
        try:
            return super().resolve(event, context)
        finally:
            self.current_event = self.lambda_context = None

    def _call_route(self, route: Route, route_arguments: dict[str, str]) -> ResponseBuilder[Any]:
        if not route._middleware_stack_built:
            with self._build_lock:
                if not route._middleware_stack_built:
                    route._build_middleware_stack(router_middlewares=self._router_middlewares, app=self)
        return super()._call_route(route, route_arguments)
