"""Route moto's Lambda invocations to our handlers, in-process.

moto cannot run Lambda code without Docker. Both of its callers that matter here, the Step Functions
interpreter (`lambda:invoke`, also `.waitForTaskToken`) and S3 bucket notifications, end in
`LambdaFunction._invoke_lambda(self, event)`, which returns `(payload_json, errored, logs)`. Replacing
that one method sends each invocation to `functions/<name>/handler.py:handler` by function name; a
handler that raises answers `errored=True` with `{"errorType", "errorMessage"}`, so the state
machine's Retry and Catch see the same error names they would see on AWS.

S3 invokes a bucket's notification function asynchronously: the PUT is answered once the object is
stored, whatever the function then does. moto invokes it inside the PUT, so an upload would wait for
the on_upload function (and for its place in the function's pool); `async_s3_notifications` hands each
invocation to a thread of its own instead, as S3 and Lambda's event queue do.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from infra.definitions import FUNCTIONS, local_function_name
from tximport_cli.local.faults import FaultInjector, failure, hang_seconds

log = logging.getLogger("tximport_cli.local")

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class FakeLambdaContext:
    """The attributes of a Lambda context object that our handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 900
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handlers(*, missing_ok: bool = False) -> dict[str, Handler]:
    """Our handlers keyed by their local function name (`tximport-process`, ...).

    With `missing_ok`, a function whose `functions/<name>/handler.py` does not exist yet is left out
    (and logged) instead of failing; an import error inside an existing handler still fails.
    """
    handlers: dict[str, Handler] = {}
    for fn in FUNCTIONS:
        module_name = f"functions.{fn.name}.handler"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if not missing_ok or exc.name not in (module_name, f"functions.{fn.name}"):
                raise
            log.warning("no handler at functions/%s/handler.py yet: %s is not routed", fn.name,
                        local_function_name(fn.name))
            continue
        handlers[local_function_name(fn.name)] = module.handler
    return handlers


#: how many invocations of one function run at once. Lambda runs concurrent invocations of a function in
#: separate execution environments; here they are threads of one process, which our handlers allow (they
#: keep no request at module level: the api's resolver keeps its request per thread, see
#: tximport.api.resolver). A bounded pool stands for a function's warm environments: the api gets many,
#: as API Gateway fans requests out, the workflow's functions a few; an invocation beyond the pool waits
#: for a free one (where Lambda would start another environment) instead of failing.
POOL_SIZES: dict[str, int] = {local_function_name("api"): 32}
DEFAULT_POOL_SIZE = 4

_pools: dict[str, threading.BoundedSemaphore] = {}
_pools_guard = threading.Lock()


def _pool(function_name: str) -> threading.BoundedSemaphore:
    with _pools_guard:
        if function_name not in _pools:
            _pools[function_name] = threading.BoundedSemaphore(POOL_SIZES.get(function_name, DEFAULT_POOL_SIZE))
        return _pools[function_name]


def _timeout_of(function_name: str) -> int:
    """The function's Lambda timeout (infra/definitions.py)."""
    return next((f.timeout_seconds for f in FUNCTIONS if local_function_name(f.name) == function_name), 900)


def call_handler(handler: Handler, function_name: str, event: Any) -> Any:
    """Run one handler as Lambda would (a context object; at most the function's pool size of
    invocations at once); a raised exception propagates."""
    context = FakeLambdaContext(function_name=function_name, timeout_seconds=_timeout_of(function_name))
    with _pool(function_name):
        return handler(event, context)


#: TXIMPORT_LOCAL_FAULTS (tximport_cli.local.faults): invocations made to fail on purpose
faults = FaultInjector()
_SHORT_NAMES = {local_function_name(f.name): f.name for f in FUNCTIONS}


def invoke_handler(handler: Handler, function_name: str, event: Any) -> tuple[str, bool, str]:
    """Run one handler the way Lambda would and answer in moto's `_invoke_lambda` shape."""
    if isinstance(event, str | bytes):
        event = json.loads(event or "{}")
    fault = faults.due(_SHORT_NAMES.get(function_name, function_name), event)
    if fault == "timeout":
        seconds = hang_seconds(event, _timeout_of(function_name))
        log.warning("%s: injected hang of %.1f s (past its task's timeout)", function_name, seconds)
        time.sleep(seconds)
    if fault == "before":
        log.warning("%s: injected fault before the handler", function_name)
        return json.dumps(failure(function_name, fault)), True, ""
    try:
        result = call_handler(handler, function_name, event)
        if fault == "after":
            log.warning("%s: injected fault after the handler (its answer is lost)", function_name)
            return json.dumps(failure(function_name, fault)), True, ""
    except Exception as exc:  # a raised error is the function's error, as on AWS
        log.warning("%s raised %s: %s", function_name, type(exc).__name__, exc)
        payload = {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc)[-5:],
        }
        return json.dumps(payload), True, traceback.format_exc()
    return json.dumps(result, default=str), False, ""


@contextlib.contextmanager
def async_s3_notifications() -> Iterator[None]:
    """Patch moto so that a bucket notification's function runs after the PUT is answered, as on AWS."""
    from moto.s3 import notifications

    original = notifications._invoke_awslambda

    def _invoke_later(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        # a daemon thread: moto's own call swallows every error, and so would Lambda's event queue once
        # its retries are spent; a failure here is logged by invoke_handler
        threading.Thread(target=original, args=(account_id, event_body, fn_arn, region_name),
                         name="s3-notification", daemon=True).start()

    notifications._invoke_awslambda = _invoke_later
    try:
        yield
    finally:
        notifications._invoke_awslambda = original


@contextlib.contextmanager
def route_lambdas(handlers: dict[str, Handler] | None = None, *,
                  missing_ok: bool = False) -> Iterator[dict[str, Handler]]:
    """Patch moto so that invoking a function named in `handlers` runs it in this process.

    Without `handlers`, the real ones are loaded (see `load_handlers` for `missing_ok`).
    """
    from moto.awslambda.models import LambdaFunction

    table = load_handlers(missing_ok=missing_ok) if handlers is None else handlers
    original = LambdaFunction._invoke_lambda

    def _invoke(self: Any, event: Any = None) -> tuple[str, bool, str]:
        handler = table.get(self.function_name)
        if handler is None:
            return json.dumps({"errorType": "ResourceNotFound",
                               "errorMessage": f"no local handler for {self.function_name}"}), True, ""
        return invoke_handler(handler, self.function_name, event)

    LambdaFunction._invoke_lambda = _invoke  # type: ignore[method-assign]
    try:
        yield table
    finally:
        LambdaFunction._invoke_lambda = original  # type: ignore[method-assign]
