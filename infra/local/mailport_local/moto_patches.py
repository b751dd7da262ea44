"""Fixes to moto's DynamoDB transactions, for the local stack only.

moto 5.2.5's ``TransactWriteItems`` backs up every table it touches with ``copy.deepcopy`` and,
when any condition fails, puts the whole backup back. That costs O(table size) per transaction
(the local stack slowed to 2 messages/s after a few thousand items) and, under concurrency, a
rollback silently undoes other requests' writes made meanwhile (and the deepcopy can crash with
"dictionary changed size during iteration"). Real DynamoDB evaluates every condition against the
state before the transaction and writes all or nothing.

This replacement does what DynamoDB documents: under one lock, check every condition first
against the current state; if any fails, write nothing and cancel with per-item reasons; otherwise
apply the writes, keeping a backup of only the touched items for the unexpected failure. moto is
pinned exactly; tests/integration/test_moto_patches.py covers this.

SQS: moto 5.2.5's ``SendMessage`` reads ``queue.attributes`` to learn one flag
(ContentBasedDeduplication), and that property counts every message in the queue three times
(the Approximate* attributes). Sending is O(queue length): 3,000 messages took 117 s, so the
POP dispatcher (100,000 accounts) could not run locally. While a message is sent, the property
returns only the flags sending reads; everything else (GetQueueAttributes) is unchanged.
"""

from __future__ import annotations

import threading
from typing import Any

_LOCK = threading.RLock()
_INSTALLED = False
_SENDING = threading.local()


def install() -> None:
    """Install the fixes below (idempotent)."""
    global _INSTALLED  # noqa: PLW0603 - a process-wide patch, installed once
    if _INSTALLED:
        return
    import functools

    from moto import backends
    from moto.dynamodb.models import DynamoDBBackend

    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    # Single-item writes take the same lock, so none lands between a transaction's checks
    # and its writes (DynamoDB serialises them per item; one lock is the simple equivalent).
    for name in ("put_item", "update_item", "delete_item", "batch_write_item"):
        setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
    # moto's server lists its own package directory (~150 stat calls) on every request to
    # route it; the list never changes while running. This was 14% of the stack's CPU.
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = functools.cache(lambda: modules)
    _patch_sqs_send()
    _INSTALLED = True


def _patch_sqs_send() -> None:
    import functools

    from moto.sqs.models import Queue, SQSBackend

    full: Any = Queue.__dict__["attributes"]  # the property object itself

    def attributes(queue: Any) -> dict[str, Any]:
        if not getattr(_SENDING, "on", False):
            return dict(full.fget(queue))
        if not queue.fifo_queue:
            return {}  # sending reads only FIFO flags
        flag = queue.content_based_deduplication
        return {"ContentBasedDeduplication": str(flag).lower() if isinstance(flag, bool) else flag}

    Queue.attributes = property(attributes)  # type: ignore[method-assign, assignment]
    send = SQSBackend.send_message

    @functools.wraps(send)
    def send_message(*args: Any, **kwargs: Any) -> Any:
        _SENDING.on = True
        try:
            return send(*args, **kwargs)
        finally:
            _SENDING.on = False

    SQSBackend.send_message = send_message  # type: ignore[method-assign]


def _locked(method: Any) -> Any:
    import functools

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return wrapper


def _key_of(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _check(backend: Any, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> Any:
    """Evaluate one operation's condition: None if it holds, else the reason tuple."""
    from moto.dynamodb.comparisons import get_filter_expression

    if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
        raise ValueError("Unsupported transaction operation")
    current = backend.get_item(op["TableName"], key)
    expression = op.get("ConditionExpression")
    if expression is None:
        return None
    condition = get_filter_expression(
        expression, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    )
    if condition.expr(current):
        return None
    old = None
    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
        old = current.to_json()["Attributes"]
    return ("ConditionalCheckFailed", "The conditional request failed", old)


def _apply(backend: Any, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    if op_type == "Put":
        backend.put_item(op["TableName"], op["Item"])
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], key)
    elif op_type == "Update":
        backend.update_item(
            op["TableName"],
            key,
            update_expression=op["UpdateExpression"],
            expression_attribute_names=names,
            expression_attribute_values=values,
        )


def _plan(
    backend: Any, transact_items: list[dict[str, Any]]
) -> tuple[list[tuple[str, dict[str, Any], dict[str, Any]]], list[tuple[Any, Any, Any]]]:
    """Every operation with its key, and every condition's outcome, before any write."""
    from moto.dynamodb.exceptions import (
        MockValidationException,
        MultipleTransactionsException,
        TransactWriteSingleOpException,
    )

    ops: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    errors: list[tuple[Any, Any, Any]] = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        key = _key_of(backend, op_type, op)
        unique = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if unique in seen:
            raise MultipleTransactionsException()
        seen.add(unique)
        ops.append((op_type, op, key))
        try:
            errors.append(_check(backend, op_type, op, key) or (None, None, None))
        except MockValidationException:
            raise
        except Exception as e:  # as moto does: any other failure cancels with its name
            errors.append((type(e).__name__, str(e), None))
    return ops, errors


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.exceptions import (
        TooManyTransactionsException,
        TransactionCanceledException,
    )

    if len(transact_items) > 100:  # noqa: PLR2004 - DynamoDB's documented limit
        raise TooManyTransactionsException()
    with _LOCK:
        ops, errors = _plan(self, transact_items)
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        backups = []
        for _, op, key in ops:
            current = self.get_item(op["TableName"], key)
            backups.append(
                (op["TableName"], key, current.to_json()["Attributes"] if current else None)
            )
        try:
            for op_type, op, key in ops:
                _apply(self, op_type, op, key)
        except Exception:
            for table_name, key, attrs in backups:
                if attrs is None:
                    self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, attrs)
            raise
