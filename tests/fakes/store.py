"""The import-sessions table in memory: a `tximport.storage.kv.Store` honouring the same conditions as
`DynamoStore` does on DynamoDB (held to it in tests/integration/test_fakes_contract.py)."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tximport.storage.kv import LOCK_OWNER, LOCK_UNTIL, Action, ConditionFailed, Delete, Key, Put


class MemoryStore:
    def __init__(self) -> None:
        self.items: dict[Key, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.writes = 0
        #: get and get_many calls (a request's checks read each item once: `RememberingStore`)
        self.reads = 0

    # --- conditions -------------------------------------------------------------------------------
    @staticmethod
    def _unlocked(item: dict[str, Any] | None, owner: str) -> bool:
        if item is None or LOCK_OWNER not in item:
            return True
        return item[LOCK_OWNER] == owner or int(item.get(LOCK_UNTIL, 0)) < int(time.time())

    def _holds(self, action: Action) -> bool:
        key = (action.item["pk"], action.item["sk"]) if isinstance(action, Put) else action.key
        item = self.items.get(key)
        if isinstance(action, Put):
            if action.if_absent and item is not None:
                return False
            if action.if_version is not None and (item is None or item.get("version") != action.if_version):
                return False
            return action.unlocked_for is None or self._unlocked(item, action.unlocked_for)
        if isinstance(action, Delete):
            if action.if_exists and item is None:
                return False
            return action.if_version is None or (item is not None and item.get("version") == action.if_version)
        if item is None and action.must_exist:
            return False
        if action.if_version is not None and (item or {}).get("version") != action.if_version:
            return False
        if action.unlocked_for is not None and not self._unlocked(item, action.unlocked_for):
            return False
        if any((item or {}).get(name, 0) > limit for name, limit in action.at_most.items()):
            return False
        return action.locked_by is None or (item or {}).get(LOCK_OWNER) == action.locked_by

    def _apply(self, action: Action) -> dict[str, Any] | None:
        self.writes += 1
        if isinstance(action, Put):
            item = copy.deepcopy(action.item)
            self.items[(item["pk"], item["sk"])] = item
            return None
        if isinstance(action, Delete):
            self.items.pop(action.key, None)
            return None
        item = self.items.setdefault(action.key, {"pk": action.key[0], "sk": action.key[1]})
        for name, value in action.add.items():
            item[name] = item.get(name, 0) + (Decimal(value) if isinstance(value, Decimal) else value)
        for name, value in action.set.items():
            item[name] = copy.deepcopy(value)
        for name in action.remove:
            item.pop(name, None)
        return copy.deepcopy(item)

    # --- the Store --------------------------------------------------------------------------------
    def get(self, key: Key) -> dict[str, Any] | None:
        with self.lock:
            self.reads += 1
            item = self.items.get(key)
            return copy.deepcopy(item) if item is not None else None

    def get_many(self, keys: Sequence[Key]) -> list[dict[str, Any]]:
        with self.lock:
            self.reads += 1
            return [copy.deepcopy(self.items[k]) for k in dict.fromkeys(keys) if k in self.items]

    def write(self, action: Action) -> dict[str, Any] | None:
        with self.lock:
            if not self._holds(action):
                raise ConditionFailed([0])
            return self._apply(action)

    def transact(self, actions: Sequence[Action], token: str | None = None) -> None:
        if len(actions) > 100:
            raise ValueError("a transaction holds at most 100 actions")
        with self.lock:
            failed = [i for i, a in enumerate(actions) if not self._holds(a)]
            if failed:
                raise ConditionFailed(failed)
            for action in actions:
                self._apply(action)

    def put_many(self, items: Sequence[dict[str, Any]]) -> None:
        for item in items:
            self.write(Put(item))

    def delete_many(self, keys: Sequence[Key]) -> None:
        for key in keys:
            self.write(Delete(key))

    def query(self, pk: str, *, prefix: str | None = None, after: str | None = None, until: str | None = None,
              limit: int | None = None, reverse: bool = False, fields: Sequence[str] | None = None
              ) -> tuple[list[dict[str, Any]], str | None]:
        with self.lock:
            keys = sorted((sk for p, sk in self.items if p == pk), reverse=reverse)
            if until is not None:
                keys = [k for k in keys if (prefix or "") <= k <= until]
            elif prefix is not None:
                keys = [k for k in keys if k.startswith(prefix)]
            if after is not None:
                keys = [k for k in keys if (k < after if reverse else k > after)]
            page = keys[:limit] if limit else keys
            last = page[-1] if limit and len(keys) > limit else None
            found = [copy.deepcopy(self.items[(pk, k)]) for k in page]
            if fields:
                found = [{k: v for k, v in item.items() if k in fields} for item in found]
            return found, last
