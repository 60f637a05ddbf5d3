"""DynamoDB's single-item and transactional writes are atomic on AWS; in moto's server they are not.

moto serves each request in its own thread, and its conditional `put_item` reads the current item,
checks the condition and then stores: two conditional writes on one item in two threads can both
pass their check and both "win". Its `transact_write_items` deep-copies the tables first and, when a
condition fails, puts those copies back, erasing whatever other threads wrote meanwhile. Everything
this service promises under concurrency (one winner per conditional write on an import's version,
a decision that lands before a confirm or fails after it) rests on that atomicity, so the local stack
holds one lock around each of moto's DynamoDB operations, as if the table served them one at a time.
Reads take the lock too: a query iterating a partition while another thread inserts into it fails
with "dictionary changed size during iteration".

A write that has a stream delivers it inside the operation (streams.py): the events function runs
then, holding the lock, and reaches only EventBridge, so nothing waits for the lock in a cycle.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

#: the operations of moto's DynamoDB backend that read or write items (batch writes go item by item)
_OPERATIONS = ("put_item", "update_item", "delete_item", "transact_write_items", "get_item", "query", "scan",
               "execute_statement", "execute_transaction")


class AtomicDynamoDB:
    """Installs and removes the lock (one per process, like moto's state)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._originals: dict[str, Any] = {}

    def install(self) -> None:
        from moto.dynamodb.models import DynamoDBBackend

        if self._originals:
            return
        for name in _OPERATIONS:
            original = getattr(DynamoDBBackend, name, None)
            if original is None:
                continue
            self._originals[name] = original
            setattr(DynamoDBBackend, name, self._locked(original))

    def uninstall(self) -> None:
        from moto.dynamodb.models import DynamoDBBackend

        for name, original in self._originals.items():
            setattr(DynamoDBBackend, name, original)
        self._originals = {}

    def _locked(self, operation: Any) -> Any:
        lock = self._lock

        @functools.wraps(operation)
        def run(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return operation(*args, **kwargs)

        return run
