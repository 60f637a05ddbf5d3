"""Three things moto's Step Functions interpreter does unlike AWS, where a client can tell.

- **Executions end silently.** On AWS a Standard workflow puts a "Step Functions Execution Status
  Change" event on the default bus when an execution ends, and the reaper's rule sends those of the
  import machine to the reaper function. moto announces nothing. The seam is the worker communication
  moto calls once an execution's program ends (`BaseExecutionWorkerCommunication.terminated`, in the
  execution's own thread, after the final status is set): wrapped here, it hands `on_end` the event
  EventBridge would deliver.
- **A timed-out task token still answers.** On AWS, once a `.waitForTaskToken` task times out, its
  token answers `TaskTimedOut`. moto decides the timeout in the state's outer wait and never marks the
  token, so `SendTaskSuccess` keeps succeeding until the execution ends: a confirm sent just after the
  window closed was told it worked. Here a token refuses answers from its task's deadline on (less a
  small guard, so an answer accepted in time still reaches the task before it times out), and is
  marked timed out when the state times out.
- **A starting execution breaks every answer.** moto lists an execution as RUNNING before its thread has
  built the execution's environment, and `SendTaskSuccess` (heartbeat, failure) walks every running
  execution's environment: a token answered while another import's execution starts got a 500. Here an
  execution has an (empty) environment from the moment it is listed, which its thread then replaces.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("tximport_cli.local")

#: a token stops accepting answers this long before its task's deadline (the task must still see one)
DEADLINE_GUARD_SECONDS = 0.05

ExecutionEnded = Callable[[dict[str, Any]], None]


def _millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def status_change_event(execution: Any, *, region: str, account: str) -> dict[str, Any]:
    """The EventBridge event AWS puts on the default bus when `execution` (moto's) changed status."""
    status = execution.exec_status.value
    input_data = execution.input_data
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states", "account": account, "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region, "resources": [execution.exec_arn],
        "detail": {
            "executionArn": execution.exec_arn, "stateMachineArn": execution.state_machine_arn,
            "name": execution.name, "status": status, "startDate": _millis(execution.start_date),
            "stopDate": _millis(execution.stop_date),
            "input": input_data if isinstance(input_data, str) else json.dumps(input_data),
            "output": execution.output if isinstance(execution.output, str | None) else json.dumps(execution.output),
            "error": execution.error, "cause": execution.cause,
        },
    }


def _forget_finished_threads() -> None:
    """moto lists every worker thread its interpreter starts (`TMP_THREADS`, which nothing reads) and never lets go of
    one (about 19 threads a file import, with their locks and events). Finished ones leave the list."""
    from moto.stepfunctions.parser.utils import TMP_THREADS

    for thread in [t for t in TMP_THREADS if not t.is_alive()]:
        with contextlib.suppress(ValueError):  # (another execution's end took it first)
            TMP_THREADS.remove(thread)


class ExecutionSignals:
    """Installs and removes both behaviours (one per process, like moto's state)."""

    def __init__(self, on_end: ExecutionEnded, *, region: str, account: str) -> None:
        self.on_end = on_end
        self.region, self.account = region, account
        self._lock = threading.Lock()
        self._originals: dict[str, Any] = {}

    def install(self) -> None:
        from moto.core.exceptions import AWSError
        from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError
        from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
        from moto.stepfunctions.parser.asl.eval.callback.callback import (
            CallbackConsumerTimeout,
            CallbackPoolManager,
        )
        from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

        if self._originals:
            return
        signals = self
        terminated = self._originals["terminated"] = BaseExecutionWorkerCommunication.terminated
        evaluate = self._originals["evaluate"] = ExecutionState._evaluate_with_timeout
        notify = self._originals["notify"] = CallbackPoolManager.notify
        start = self._originals["start"] = ExecutionWorker.start

        def ended(comm: Any) -> None:
            terminated(comm)
            _forget_finished_threads()
            try:
                signals.on_end(status_change_event(comm.execution, region=signals.region, account=signals.account))
            except Exception:  # the execution has ended either way; the sweep catches what this missed
                log.exception("the execution-ended signal of %s failed", comm.execution.exec_arn)

        def evaluate_with_timeout(state: Any, env: Any) -> Any:
            endpoint = signals._endpoint(env)
            if endpoint is not None:
                state.timeout.eval(env=env)
                endpoint.tximport_deadline = time.monotonic() + env.stack.pop() - DEADLINE_GUARD_SECONDS
            try:
                return evaluate(state, env)
            except EvalTimeoutError:
                if endpoint is not None:
                    with signals._lock:
                        if endpoint.get_outcome() is None:
                            endpoint.report(CallbackConsumerTimeout())
                raise

        def notify_in_time(pool: Any, callback_id: str, outcome: Any) -> bool:
            endpoint = pool.get(callback_id)
            with signals._lock:
                deadline = getattr(endpoint, "tximport_deadline", None)
                if endpoint is not None and (isinstance(endpoint.consumer_error, CallbackConsumerTimeout) or (
                        deadline is not None and time.monotonic() >= deadline and endpoint.get_outcome() is None)):
                    endpoint.report(CallbackConsumerTimeout())
                    # raised here: moto's own path to this error answers a 500 (it cannot build the error)
                    raise AWSError("Task Timed Out: the task's timeout has elapsed", "TaskTimedOut", 400)
                return bool(notify(pool, callback_id, outcome))

        def start_with_environment(worker: Any) -> None:
            if worker.env is None:
                worker.env = worker._get_evaluation_environment()
            start(worker)

        ExecutionWorker.start = start_with_environment  # type: ignore[method-assign]
        BaseExecutionWorkerCommunication.terminated = ended  # type: ignore[method-assign]
        ExecutionState._evaluate_with_timeout = evaluate_with_timeout  # type: ignore[method-assign]
        CallbackPoolManager.notify = notify_in_time  # type: ignore[method-assign]

    def uninstall(self) -> None:
        from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
        from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackPoolManager
        from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

        if not self._originals:
            return
        ExecutionWorker.start = self._originals["start"]  # type: ignore[method-assign]
        BaseExecutionWorkerCommunication.terminated = self._originals["terminated"]  # type: ignore[method-assign]
        ExecutionState._evaluate_with_timeout = self._originals["evaluate"]  # type: ignore[method-assign]
        CallbackPoolManager.notify = self._originals["notify"]  # type: ignore[method-assign]
        self._originals = {}

    @staticmethod
    def _endpoint(env: Any) -> Any:
        """The callback endpoint of the `.waitForTaskToken` task being evaluated, if it is one."""
        token = (env.states.context_object.context_object_data.get("Task") or {}).get("Token")
        return env.callback_pool_manager.get(token) if token else None
