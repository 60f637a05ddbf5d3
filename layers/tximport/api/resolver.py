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
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder, Route


class ThreadLocalHttpResolver(APIGatewayHttpResolver):
    """An APIGatewayHttpResolver whose per-request state is per thread (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._local = threading.local()
        self._build_lock = threading.Lock()
        super().__init__(*args, **kwargs)

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
