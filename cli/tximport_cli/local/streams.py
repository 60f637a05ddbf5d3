"""DynamoDB streams delivered to our events function in-process, as Lambda's event source mapping does.

moto (server mode) keeps a table's stream records and, once an event source mapping exists, invokes the
function on every write with the records not yet delivered (`StreamShard.add` -> `send_dynamodb_items`
-> `LambdaFunction.invoke` -> the `_invoke_lambda` seam of lambdas.py, so our handler runs). Two things
differ from Lambda; `StreamDelivery` wraps `StreamShard.add` for both:

- moto delivers from whichever request thread wrote, and its list of pending records is shared without
  a lock, so two concurrent writes can deliver a record twice or not at all. Here delivery holds one
  lock per shard: every record reaches the function once, in the order of the writes.
- moto forgets the records whatever the function answered. Here a batch the function failed, or the
  records from the one it reported in `batchItemFailures` on, stay pending and are delivered again
  with the next write (Lambda retries them after a back-off; here the next write is the trigger).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

log = logging.getLogger("tximport_cli.local")

#: records kept for a function that keeps failing, like a stream's 24 hours: the oldest go first
MAX_PENDING = 10_000


class StreamDelivery:
    """Installs and removes the wrapper (one per process, like moto's state)."""

    def __init__(self) -> None:
        self._original_add: Any = None
        self._original_send: Any = None
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()
        self._sent = threading.local()

    def install(self) -> None:
        from moto.awslambda.models import LambdaBackend
        from moto.dynamodb.models.table import StreamShard

        if self._original_add is not None:
            return
        original_add = self._original_add = StreamShard.add
        original_send = self._original_send = LambdaBackend.send_dynamodb_items
        delivery = self

        def send_dynamodb_items(backend: Any, function_arn: str, items: list[Any], source: str) -> Any:
            answer = original_send(backend, function_arn, items, source)
            delivery._sent.batch = (list(items), answer)
            return answer

        def add(shard: Any, old: Any, new: Any) -> None:
            with delivery._lock(shard):
                delivery._sent.batch = None
                original_add(shard, old, new)  # appends the record, delivers, forgets the pending ones
                sent = delivery._sent.batch
                if sent is not None:
                    retry = delivery.undelivered(*sent)[-MAX_PENDING:]
                    if retry:
                        shard.items = retry
                        # moto numbers a record by its place in the pending list: renumber the kept ones
                        # so the next record's number stays unique (their eventID, the dedupe key, stays)
                        for place, record in enumerate(retry):
                            record.record["dynamodb"]["SequenceNumber"] = str(shard.starting_sequence_number
                                                                              + place)

        LambdaBackend.send_dynamodb_items = send_dynamodb_items  # type: ignore[method-assign]
        StreamShard.add = add  # type: ignore[method-assign]

    def uninstall(self) -> None:
        from moto.awslambda.models import LambdaBackend
        from moto.dynamodb.models.table import StreamShard

        if self._original_add is not None:
            StreamShard.add = self._original_add  # type: ignore[method-assign]
            LambdaBackend.send_dynamodb_items = self._original_send  # type: ignore[method-assign]
            self._original_add = self._original_send = None

    def _lock(self, shard: Any) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(id(shard), threading.Lock())

    @staticmethod
    def undelivered(items: list[Any], answer: Any) -> list[Any]:
        """The records to deliver again: all of them when the function failed, those from the first
        reported record on when it answered batchItemFailures, none when it succeeded."""
        try:
            result = json.loads(answer) if isinstance(answer, str | bytes) else answer
        except ValueError:
            result = None
        if not isinstance(result, dict):
            return []
        if "errorType" in result:
            log.warning("the stream's function failed (%s); its %s record(s) are delivered again with the "
                        "next write", result.get("errorType"), len(items))
            return items
        reported = {str(f.get("itemIdentifier")) for f in result.get("batchItemFailures") or []}
        for index, item in enumerate(items):
            if str(item.to_json()["dynamodb"]["SequenceNumber"]) in reported:
                log.warning("the stream's function reported record %s; %s record(s) are delivered again with "
                            "the next write", index, len(items) - index)
                return items[index:]
        return []
