"""What moto's server does differently from AWS where a client (or a race) can tell, corrected in front
of its WSGI application.

- **Presigned URLs are checked** (presigned.py): a URL whose key, expiry or signature was changed, or
  that has expired, answers S3's 403 instead of storing the upload.
- **An upload's body is stored whatever its Content-Type.** moto's server reads a body declared
  `application/x-www-form-urlencoded` (urllib's default for a PUT with data) as an AWS query-protocol
  form: it stores an empty object (werkzeug parsed the bytes as form fields), and a body that is not
  UTF-8 text (a cp1252 statement) is read to sniff the service, fails to decode and is not put back,
  so moto then waits for bytes the client already sent and the PUT hangs until the client gives up.
  S3 stores the bytes; here a PUT to S3 declared as a form reaches moto as `application/octet-stream`
  (the stored object's content type is then that, which no client of ours can read back).
- **DynamoDB requests are atomic.** moto's server runs requests in threads, and its conditional
  writes check and then write without a lock: two conditional writes on one item can both succeed,
  a query can meet a partition in mid-change. DynamoDB does neither. Here one DynamoDB request runs at
  a time (requests to the other services are not held up).

Beware: moto delivers a table's stream to its function inside the write (streams.py), so that function
runs while the DynamoDB lock is held; a stream consumer that called DynamoDB itself would wait for the
lock, and after LOCK_TIMEOUT_SECONDS goes on without it (logged) rather than hang.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tximport_cli.local import presigned

log = logging.getLogger("tximport_cli.local")

LOCK_TIMEOUT_SECONDS = 60.0
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _service_of(environ: Mapping[str, Any]) -> str | None:
    """The AWS service a signed request is for, from its credential scope (query or header); version 2
    query authentication (AWSAccessKeyId, no scope) is S3's only."""
    query = environ.get("QUERY_STRING", "")
    if "AWSAccessKeyId=" in query:
        return "s3"
    for source in (query.replace("%2F", "/").replace("%2f", "/"), environ.get("HTTP_AUTHORIZATION", "")):
        marker = source.find("/aws4_request")
        if marker > 0:
            return source[:marker].rsplit("/", 1)[-1]
    return None


def _headers(environ: Mapping[str, Any]) -> dict[str, str]:
    out = {key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items()
           if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            out[key.replace("_", "-").lower()] = str(environ[key])
    return out


class MotoFront:
    """Installs the corrections on moto's server application (one per process, like moto's state)."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        #: access key id -> secret key, for checking presigned URLs
        self.secrets = dict(secrets)
        self._dynamodb = threading.Lock()
        self._original: Any = None

    def install(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        if self._original is not None:
            return
        original = self._original = DomainDispatcherApplication.__call__
        front = self

        def call(app: Any, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            return front.handle(lambda e, s: original(app, e, s), environ, start_response)

        DomainDispatcherApplication.__call__ = call  # type: ignore[method-assign]

    def uninstall(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        if self._original is not None:
            DomainDispatcherApplication.__call__ = self._original  # type: ignore[method-assign]
            self._original = None

    def handle(self, app: WsgiApp, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """One request through the corrections, then moto."""
        service = _service_of(environ)
        if service == "s3":
            if presigned.is_presigned(environ.get("QUERY_STRING", "")):
                refusal = presigned.check(
                    method=environ.get("REQUEST_METHOD", "GET"),
                    path=environ.get("PATH_INFO", "/").encode("latin-1"),
                    query_string=environ.get("QUERY_STRING", ""), headers=_headers(environ), secrets=self.secrets)
                if refusal is not None:
                    return self._refuse(refusal, environ, start_response)
            content_type = environ.get("CONTENT_TYPE", "").lower()
            if environ.get("REQUEST_METHOD") == "PUT" and content_type.startswith(_FORM_TYPES):
                environ["CONTENT_TYPE"] = "application/octet-stream"
        if service == "dynamodb" or environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self._one_at_a_time(app, environ, start_response)
        return app(environ, start_response)

    def _one_at_a_time(self, app: WsgiApp, environ: dict[str, Any], start_response: StartResponse
                       ) -> Iterable[bytes]:
        held = self._dynamodb.acquire(timeout=LOCK_TIMEOUT_SECONDS)
        if not held:
            log.warning("a DynamoDB request waited %ss for another to finish; running it anyway",
                        LOCK_TIMEOUT_SECONDS)
        try:
            return list(app(environ, start_response))  # the whole answer is made while the lock is held
        finally:
            if held:
                self._dynamodb.release()

    @staticmethod
    def _refuse(refusal: presigned.S3Refusal, environ: dict[str, Any], start_response: StartResponse
                ) -> Iterable[bytes]:
        _drain(environ)
        request_id = uuid.uuid4().hex[:16].upper()
        body = refusal.xml(request_id)
        reason = {400: "Bad Request", 403: "Forbidden"}.get(refusal.status, "Error")
        start_response(f"{refusal.status} {reason}", [("Content-Type", "application/xml"),
                                                      ("Content-Length", str(len(body))),
                                                      ("x-amz-request-id", request_id)])
        return [body]


def _drain(environ: dict[str, Any]) -> None:
    """Read the body nobody will use: on a kept-alive connection it would be taken for the next request."""
    try:
        left = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    stream = environ.get("wsgi.input")
    while stream is not None and left > 0:
        chunk = stream.read(min(left, 1 << 20))
        if not chunk:
            return
        left -= len(chunk)
