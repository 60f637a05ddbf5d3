"""Local-stack speed-ups of moto that keep its semantics.

moto's `Query` on a table (no index) lists and sorts every item of the table before it keeps the
partition asked for, so a query costs the size of the table, not of the answer: with an import session
of 10,000 staged lines in it, reading one session took a second. `fast_queries` hands moto's own query
a view of the table that lists only that partition.

moto's `TransactWriteItems` deep-copies every table a transaction touches before it runs (to roll back
on failure), which makes each transaction cost the size of the whole table: an import session of
10,000 staged lines (written 99 per transaction, with their session's counters) would take minutes.
This version checks every action's condition first, writes nothing when one fails (the same
TransactionCanceledException, with the same reasons), and otherwise applies the actions, keeping a
copy of just the items it touches in case an action is malformed.

moto answers every DynamoDB request through its generic serializer, which walks the operation's output
shape attribute by attribute: 2 ms an item, so a query answering the 4,000 lines a file import reads to
check duplicates took 8 s, and a file of 4,000 lines onto an account of 4,000 ran past the Process
function's timeout. What moto's DynamoDB handler returns for the item operations is already the wire
format (DynamoDB's JSON protocol: typed attribute values, binary as base64), so `fast_responses` writes it
with `json.dumps`, 6 times faster; errors and every other operation keep moto's serializer.

moto keeps every instance of its models in a class-wide list (`instances_tracked`, for its dashboard and
resets), and its DynamoDB reads deep-copy every item they answer, so each read added its items to that list
for good: a ledger page of an account with 3,631 days of history kept about 5 MB, and a local stack polled for
hours was killed by the kernel at 22 GB. `untracked_items` makes DynamoDB items plain objects again: a copy
lives as long as the answer that holds it, and the tables hold theirs. S3 objects likewise: an object
overwritten or deleted stayed in that list with its buffer (about 20 per file import, beside the 2 the bucket
keeps); untracked, it goes when nothing holds it, its buffer closed as it goes.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
from collections.abc import Iterator
from typing import Any

#: the routines replaced, by name, while their replacements are installed (`_replaced`)
_originals: dict[str, Any] = {}


@contextlib.contextmanager
def _replaced(owner: Any, name: str, replacement: Any) -> Iterator[None]:
    """`owner.name` replaced for the duration (the replacement finds the original in `_originals[name]`)."""
    _originals[name] = original = getattr(owner, name)
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        setattr(owner, name, original)


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    planned: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    errors: list[tuple[Any, Any, Any]] = []
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(entry.items()))
        table = self.get_table(op["TableName"])
        if op_type == "Put":
            key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = op["Item"][table.range_key_attr]
        else:
            key = op["Key"]
        marker = (op["TableName"], str(dict(sorted(key.items()))))
        if marker in seen:
            raise MultipleTransactionsException()
        seen.add(marker)
        current = self.get_item(op["TableName"], key)
        condition = op.get("ConditionExpression")
        if condition is not None and not get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")).expr(current):
            errors.append(("ConditionalCheckFailed", "The conditional request failed", None))
        else:
            errors.append((None, None, None))
        planned.append((op_type, op["TableName"], key, op))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    backups = [(name, key, copy.deepcopy(self.get_item(name, key))) for _, name, key, _ in planned]
    try:
        for op_type, name, key, op in planned:
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if op_type == "Put":
                self.put_item(name, op["Item"])
            elif op_type == "Delete":
                self.delete_item(name, key)
            elif op_type == "Update":
                self.update_item(name, key, update_expression=op["UpdateExpression"],
                                 expression_attribute_names=names, expression_attribute_values=values)
    except Exception:
        for name, key, item in backups:
            if item is None:
                self.delete_item(name, key)
            else:
                self.put_item(name, item.to_json()["Attributes"])
        raise


class _Partition:
    """A moto table seen through one partition: `all_items` lists only that hash key's items."""

    def __init__(self, table: Any, hash_key: Any) -> None:
        self._table = table
        self._hash_key = hash_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> list[Any]:
        partition = self._table.items.get(self._hash_key) or {}
        return sorted(partition.values(), key=lambda item: item.range_key)


def _query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    # moto's backend passes index_name as the 8th positional argument of Table.query
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    if index_name or hash_key is None or not self.range_key_attr:
        return _originals["query"](self, hash_key, *args, **kwargs)
    return _originals["query"](_Partition(self, hash_key), hash_key, *args, **kwargs)


def _untracked(cls: type, *args: Any, **kwargs: Any) -> Any:
    return object.__new__(cls)


def _disposed(key: Any) -> None:
    key.dispose()  # (moto's own warns of a key it did not dispose of itself: it counted on its list)


def _per_request_models() -> list[type]:
    """moto's models made anew by requests, which nothing reads through its lists of instances: DynamoDB items and
    stream records, S3 objects and their ACLs (each PUT gives an object an ACL of its own, with its grants)."""
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import StreamRecord
    from moto.s3.models import FakeAcl, FakeGrant, FakeGrantee, FakeKey

    return [Item, StreamRecord, FakeKey, FakeAcl, FakeGrant, FakeGrantee]


@contextlib.contextmanager
def untracked_items() -> Iterator[None]:
    """The models moto makes per request (`_per_request_models`) are not added to its lists of model instances for
    the duration: each list kept every instance for good (about 150 a small file import)."""
    from moto.s3.models import FakeKey

    models = _per_request_models()
    for model in models:
        model.__new__ = _untracked  # type: ignore[method-assign]
    try:
        with _replaced(FakeKey, "__del__", _disposed):
            yield
    finally:
        for model in models:
            del model.__new__  # (moto's own, inherited, applies again)


def fast_queries() -> contextlib.AbstractContextManager[None]:
    """Install the partition-only query above on moto's DynamoDB tables for the duration."""
    from moto.dynamodb.models.table import Table

    return _replaced(Table, "query", _query)


def fast_transactions() -> contextlib.AbstractContextManager[None]:
    """Install the transaction above on moto's DynamoDB backend for the duration."""
    from moto.dynamodb.models import DynamoDBBackend

    return _replaced(DynamoDBBackend, "transact_write_items", _transact_write_items)


#: the operations whose answers are items in DynamoDB's JSON wire format as moto's handler returns them
_ITEM_OPERATIONS = frozenset({"Query", "Scan", "GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem",
                              "BatchWriteItem", "TransactGetItems", "TransactWriteItems"})


def _wire(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")  # a B or BS value, as DynamoDB writes binary
    raise TypeError(f"{type(value).__name__} is not part of DynamoDB's wire format")


def _serialized(self: Any, action_result: Any) -> Any:
    result = action_result.result
    if isinstance(result, Exception) or self._get_action() not in _ITEM_OPERATIONS:
        return _originals["serialized"](self, action_result)
    try:
        body = json.dumps(result, default=_wire, separators=(",", ":"))
    except TypeError:  # something only moto's serializer knows how to write
        return _originals["serialized"](self, action_result)
    return 200, {**self.response_headers, "Content-Type": "application/x-amz-json-1.0"}, body


def fast_responses() -> contextlib.AbstractContextManager[None]:
    """Install the item operations' JSON answers above on moto's DynamoDB handler for the duration."""
    from moto.dynamodb.responses import DynamoHandler

    return _replaced(DynamoHandler, "serialized", _serialized)
