"""A local stand-in for API Gateway (HTTP API, payload format 2.0) with its JWT authorizer.

Each HTTP request becomes the proxy event API Gateway would send, the api handler runs in this process
(the same function moto would run), and its answer becomes the HTTP response. The gateway verifies the
local HS256 dev tokens before the function runs and hands the verified claims to the function in
`requestContext.authorizer.jwt.claims` (on AWS the function verifies the issuer's tokens itself and puts
them in the same place); a refusal is the same 401 the function answers on AWS (MissingToken or
InvalidToken in the envelope), and a request no route matches reaches the function as `$default`.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tximport.api.access import PUBLIC_ROUTES
from tximport.auth import bearer_token, gateway_claims
from tximport.errors import Unauthorized
from tximport_cli.local.tokens import verify_token

log = logging.getLogger("tximport_cli.local.gateway")

#: answers the api handler's result for one event (raises what the handler raises)
ApiInvoker = Callable[[dict[str, Any]], Any]

_TEXT_TYPES = ("json", "text/", "xml", "x-www-form-urlencoded", "javascript", "yaml", "csv")

#: API Gateway (HTTP API) refuses request bodies over 10 MB with a 413 before any function runs
MAX_BODY_BYTES = 10 * 1024 * 1024
#: the status logged for a request whose client closed the connection before its answer (no answer is sent)
CLIENT_CLOSED = 499

#: a local-only endpoint: given the verified claims of the caller, answers (status, JSON payload)
LocalEndpoint = Callable[[dict[str, str]], tuple[int, Any]]


class _Server(ThreadingHTTPServer):
    """One thread per connection, as many at once as clients open (API Gateway does not queue a
    client behind another); a listen backlog that holds a burst of new connections."""

    daemon_threads = True
    request_queue_size = 128


@dataclass(frozen=True)
class Route:
    """One API Gateway route: `METHOD /path/{param}` and whether the authorizer guards it."""

    method: str
    path: str
    auth_required: bool

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when this route serves `method path`, else None."""
        if self.method not in ("ANY", method):
            return None
        found = _template_regex(self.path).fullmatch(path)
        return None if found is None else found.groupdict()


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            greedy = name.endswith("+")
            group = name.rstrip("+")
            pattern += f"(?P<{group}>.+)" if greedy else f"(?P<{group}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(pattern)


def routes_from_definitions(raw: Iterable[Any] | None) -> list[Route] | None:
    """Routes from infra/definitions.py's ROUTES (tuples or objects with method/path/auth_required)."""
    if raw is None:
        return None
    routes = []
    for item in raw:
        if isinstance(item, tuple | list):
            method, path, auth_required = item[0], item[1], item[2]
        else:
            method, path, auth_required = item.method, item.path, item.auth_required
        routes.append(Route(str(method).upper(), str(path), bool(auth_required)))
    # literal segments win over parameters, as in API Gateway ("/imports/x" before "/imports/{id}")
    routes.sort(key=lambda r: (r.path.count("{"), -len(r.path)))
    return routes


def envelope_error(code: str, message: str, target: str | None = None) -> dict[str, Any]:
    """The core API's error envelope."""
    error = {"code": code, "message": message, **({"target": target} if target else {})}
    return {"data": None, "links": None, "meta": {}, "error": error}


def unauthorized(path: str, message: str, code: str = "Unauthorized") -> dict[str, Any]:
    """The 401 in the dialect of the path: the one the api function answers on AWS, where it verifies
    tokens itself (tximport.api.app._authenticate)."""
    return in_dialect(path, 401, code, message, "Authorization")


def in_dialect(path: str, status: int, code: str, message: str, target: str | None) -> dict[str, Any]:
    """An error answered by the gateway itself, in the error shape of the path's dialect (the api's own)."""
    from tximport.api.app import refusal  # the api's own shapes (imported when first needed: it is large)

    body: dict[str, Any] = json.loads(refusal(path, status, code, message, target)["body"])
    return body


class Gateway:
    """The HTTP server. `extra_routes` maps `(method, path)` to local-only endpoints (no function); they
    need a valid token like every protected route, and get its claims."""

    def __init__(self, invoke_api: ApiInvoker | None, *, secret: str, issuer: str, audience: str,
                 host: str = "127.0.0.1", port: int = 0, routes: list[Route] | None = None,
                 extra_routes: dict[tuple[str, str], LocalEndpoint] | None = None) -> None:
        self.invoke_api = invoke_api
        self.secret, self.issuer, self.audience = secret, issuer, audience
        self.routes = routes
        self.extra_routes = dict(extra_routes or {})
        self._server = _Server((host, port), self._handler_class())
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._server.server_address[0]}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="tximport-gateway",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    # --- routing and the authorizer ---------------------------------------------------------------
    def resolve(self, method: str, path: str) -> tuple[str, dict[str, str] | None, bool] | None:
        """(routeKey, pathParameters, auth_required) for a request, or None when no route serves it."""
        if self.routes is None:
            # no route table: everything goes to the api handler, as a `$default` route would, and
            # only the routes tximport.api.access lists as public skip the authorizer
            public = any(Route(m, p, False).match(method, path) is not None for m, p in PUBLIC_ROUTES)
            return "$default", None, not public
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return route.route_key, (params or None), route.auth_required
        return None

    def authorize(self, authorization: str | None) -> dict[str, str]:
        """Verify the bearer token as the JWT authorizer would; answer the claims or raise Unauthorized."""
        claims = verify_token(bearer_token(authorization), secret=self.secret, issuer=self.issuer,
                              audience=self.audience)
        return gateway_claims(claims)

    def build_event(self, *, method: str, target: str, headers: list[tuple[str, str]], body: bytes,
                    source_ip: str, route_key: str, path_parameters: dict[str, str] | None,
                    claims: dict[str, str] | None) -> dict[str, Any]:
        """The API Gateway HTTP API payload format 2.0 event for one request."""
        split = urlsplit(target)
        raw_path, raw_query = split.path or "/", split.query
        merged: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in headers:
            key = name.lower()
            if key == "cookie":
                cookies.extend(c.strip() for c in value.split(";") if c.strip())
                continue
            merged[key] = f"{merged[key]},{value}" if key in merged else value
        content_type = merged.get("content-type", "")
        now = datetime.now(UTC)
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": raw_path,
            "rawQueryString": raw_query,
            "headers": merged,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "domainName": merged.get("host", "127.0.0.1"),
                "domainPrefix": "local",
                "http": {
                    "method": method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": merged.get("user-agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": route_key,
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": False,
        }
        if cookies:
            event["cookies"] = cookies
        if raw_query:
            params = parse_qs(raw_query, keep_blank_values=True)
            # HTTP API joins repeated parameters with commas
            event["queryStringParameters"] = {k: ",".join(v) for k, v in params.items()}
        if path_parameters:
            event["pathParameters"] = path_parameters
        if claims is not None:
            event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        if body:
            if any(t in content_type for t in _TEXT_TYPES):
                try:
                    event["body"] = body.decode("utf-8")
                except UnicodeDecodeError:
                    event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
            else:
                event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        return event

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "tximport-local"
            # an answer is written as its head, then its body: with Nagle's algorithm the body waits for the
            # client's delayed ACK of the head (40 ms on Linux), on every request of a kept-alive connection
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                pass  # one line per request is logged by _serve, with timing

            def _serve(self) -> None:
                started = time.monotonic()
                status = 500
                try:
                    status = gateway._dispatch(self)
                finally:
                    log.info("%s %s %s %.0fms", self.command, self.path, status,
                             (time.monotonic() - started) * 1000)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve  # noqa: N815

            def __getattr__(self, name: str) -> Any:
                # any other method (TRACE, PROPFIND ...) reaches the routes too and finds none: 404, as
                # API Gateway answers, instead of http.server's 501
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

        return _Handler

    def _dispatch(self, request: BaseHTTPRequestHandler) -> int:
        method = request.command.upper()
        body = self._read_body(request)
        path = urlsplit(request.path).path or "/"
        if body is None:
            return self._write_json(request, 413, in_dialect(
                path, 413, "RequestTooLarge", f"request bodies are at most {MAX_BODY_BYTES} bytes", "body"))
        try:
            local = self.extra_routes.get((method, path))
            if local is not None:
                try:
                    claims = self.authorize(request.headers.get("authorization"))
                except Unauthorized as exc:  # the same 401 as the api's routes
                    return self._write_json(request, 401, unauthorized(path, exc.message, exc.code))
                status, payload = local(claims)
                return self._write_json(request, status, payload)
            if method == "OPTIONS":
                # HTTP API answers CORS preflights itself when CORS is configured
                return self._write(request, 204, {
                    "access-control-allow-origin": "*",
                    "access-control-allow-methods": "GET,POST,PUT,PATCH,DELETE,OPTIONS",
                    "access-control-allow-headers": "authorization,content-type,idempotency-key",
                }, b"")
            # a request no route matches goes to the function through `$default`, as on AWS, and the
            # function answers 404 RouteNotFound in the envelope
            route_key, path_parameters, auth_required = self.resolve(method, path) or ("$default", None, False)
            claims = None
            if auth_required:
                try:
                    claims = self.authorize(request.headers.get("authorization"))
                except Unauthorized as exc:
                    # the same answer the api function gives on AWS, where it verifies tokens itself
                    return self._write_json(request, 401, unauthorized(path, exc.message, exc.code))
            if self.invoke_api is None:
                return self._write_json(request, 503, envelope_error(
                    "ServiceUnavailable", "the api handler (functions/api/handler.py) is not available"))
            event = self.build_event(method=method, target=request.path,
                                     headers=list(request.headers.items()), body=body,
                                     source_ip=request.client_address[0], route_key=route_key,
                                     path_parameters=path_parameters, claims=claims)
            result = self.invoke_api(event)
            return self._write_result(request, result)
        except (BrokenPipeError, ConnectionResetError):
            # the client closed the connection before its answer was written (it timed out, or was stopped):
            # nothing is left to answer, and nothing failed on our side (logged as nginx's 499)
            request.close_connection = True
            return CLIENT_CLOSED
        except Exception as exc:  # the api handler answers its own errors; reaching here is a bug worth a log
            log.exception("gateway failed on %s %s", method, request.path)
            # on AWS a failed invocation is API Gateway's bare 500; locally the error's type says where to look
            return self._write_json(request, 500, envelope_error(
                "InternalServerError", f"internal error ({type(exc).__name__}; the local stack's log has its trace)"))

    @staticmethod
    def _read_body(request: BaseHTTPRequestHandler) -> bytes | None:
        """The request body, or None when it is over API Gateway's limit (then it is not read, and the
        connection closes after the answer: the unread bytes would be taken for the next request)."""
        try:
            length = max(0, int(request.headers.get("content-length") or 0))
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            request.close_connection = True
            return None
        return request.rfile.read(length) if length else b""

    def _write_result(self, request: BaseHTTPRequestHandler, result: Any) -> int:
        if not isinstance(result, dict) or "statusCode" not in result:
            # payload 2.0: a result without statusCode is taken as a 200 JSON body
            return self._write_json(request, 200, result)
        status = int(result["statusCode"])
        headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        for key, values in (result.get("multiValueHeaders") or {}).items():
            headers[str(key).lower()] = ",".join(str(v) for v in values)
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
        cookies = list(result.get("cookies") or [])
        return self._write(request, status, headers, raw, cookies)

    def _write_json(self, request: BaseHTTPRequestHandler, status: int, payload: Any) -> int:
        return self._write(request, status, {"content-type": "application/json"},
                           json.dumps(payload, default=str).encode("utf-8"))

    @staticmethod
    def _write(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes,
               cookies: list[str] | None = None) -> int:
        if status in (204, 304) or status < 200:
            body = b""  # these carry no body; writing one would corrupt the next response on the connection
        request.send_response(status)
        for key, value in headers.items():
            if key not in ("content-length", "connection", "transfer-encoding"):
                request.send_header(key, value)
        for cookie in cookies or []:
            request.send_header("set-cookie", cookie)
        if status not in (204, 304) and status >= 200:
            request.send_header("content-length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)
        return status
