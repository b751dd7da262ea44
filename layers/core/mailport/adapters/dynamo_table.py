"""Plumbing shared by the adapters on the single mailport table: (de)serialisation, error
translation (a cancelled transaction tells which condition failed), paginated queries.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from mailport.adapters import keys
from mailport.adapters.aws_errors import back_off, translate
from mailport.adapters.clients import ClientSource
from mailport.catalogue import Words, say
from mailport.errors import StorageError, TransientError, ValidationFailed

_SER = TypeSerializer()
_DESER = TypeDeserializer()


# Integers DynamoDB holds exactly (38 digits); beyond, TypeSerializer says why not.
_EXACT = 10**38


def to_ddb(item: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values to DynamoDB's typed JSON (None values are left out)."""
    return {k: _typed(v) for k, v in item.items() if v is not None}


def _typed(value: Any) -> dict[str, Any]:
    """``TypeSerializer.serialize``, the same answer, for the plain types items are made of
    without its Decimal context and type probing (a third of building a message's index
    entry: bench/imap.py); any other value is its to serialize (or refuse).
    """
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is bool:
        return {"BOOL": value}
    if kind is int and -_EXACT < value < _EXACT:
        return {"N": str(value)}
    if kind is list or kind is tuple:
        return {"L": [_typed(v) for v in value]}
    if kind is dict:
        return {"M": {k: _typed(v) for k, v in value.items()}}
    return dict(_SER.serialize(value))


def from_ddb(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed JSON to plain values."""
    return {k: _DESER.deserialize(v) for k, v in item.items()}


def as_int(value: Any) -> int:
    """A number attribute as int (0 when absent)."""
    return int(value) if isinstance(value, (int, Decimal)) else 0


class Cancelled(Exception):
    """A transaction was cancelled because one of its conditions failed."""

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        super().__init__("transaction cancelled")
        self.reasons = reasons

    def failed(self, index: int) -> bool:
        """Whether the condition of item ``index`` failed."""
        return (
            index < len(self.reasons)
            and self.reasons[index].get("Code") == "ConditionalCheckFailed"
        )


class ConditionFailed(StorageError):
    """A single-item write's condition failed (callers that expect it catch it)."""

    code = "conflict_in_storage"


class DynamoTable:
    """A low-level client on the mailport table, with errors translated.

    ``client`` gives the DynamoDB client (a client is thread-safe and costs ~15 ms to make:
    adapters on one table share one).
    """

    def __init__(self, table_name: str, *, client: ClientSource) -> None:
        self._table = table_name
        self._client = client

    def _call(self, what: Words | str, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._client(), method)(**kwargs)
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                raise ConditionFailed(what) from e
            if code == "TransactionCanceledException":
                reasons: list[dict[str, Any]] = [
                    dict(r) for r in e.response.get("CancellationReasons", [])
                ]
                if not any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                    # TransactionConflict, throttling: another writer touched the same item
                    # (every change in a folder updates its counters). A retry fixes it.
                    raise TransientError(say("site.mailbox_busy", what=what)) from e
                raise Cancelled(reasons) from e
            raise translate(e, what) from e
        except BotoCoreError as e:
            raise translate(e, what) from e

    def _get(
        self, pk: str, sk: str, what: Words | str, *, consistent: bool = True
    ) -> dict[str, Any] | None:
        got = self._call(
            what,
            "get_item",
            TableName=self._table,
            Key=to_ddb({"PK": pk, "SK": sk}),
            **({"ConsistentRead": True} if consistent else {}),
        )
        return from_ddb(got["Item"]) if "Item" in got else None

    def _query(self, what: Words | str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        kwargs["TableName"] = self._table
        while True:
            page = self._call(what, "query", **kwargs)
            yield from (from_ddb(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _transact(self, what: Words | str, items: list[dict[str, Any]]) -> None:
        self._call(what, "transact_write_items", TransactItems=items)

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"TableName": self._table, "Key": to_ddb({"PK": pk, "SK": sk})}

    def _batch_get(
        self,
        what: Words | str,
        wanted: list[dict[str, Any]],
        projection: str | None,
        *,
        consistent: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """The items (typed JSON, ``projection`` only) that exist among the ``wanted`` keys, 100
        keys a request, unprocessed ones retried.
        """
        for i in range(0, len(wanted), 100):
            request: dict[str, Any] = {"Keys": wanted[i : i + 100]}
            if projection is not None:
                request["ProjectionExpression"] = projection
            if consistent:
                request["ConsistentRead"] = True
            pending: dict[str, Any] = {self._table: request}
            for attempt in range(8):
                if attempt:
                    back_off(attempt)
                got = self._call(what, "batch_get_item", RequestItems=pending)
                yield from got.get("Responses", {}).get(self._table, [])
                pending = got.get("UnprocessedKeys") or {}
                if not pending:
                    break
            else:
                raise TransientError(say("site.table_busy", what=what))

    def _batch_get_keyed(
        self,
        what: Words | str,
        wanted: Iterable[tuple[str, str]],
        projection: str | None,
        *,
        consistent: bool = False,
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """``_batch_get`` by (PK, SK): the items (typed JSON) that exist, each key asked once."""
        unique = sorted(set(wanted))
        found = self._batch_get(
            what,
            [to_ddb({"PK": pk, "SK": sk}) for pk, sk in unique],
            projection,
            consistent=consistent,
        )
        return {(str(i["PK"]["S"]), str(i["SK"]["S"])): i for i in found}

    def _tenant_page(
        self, what: Words | str, kind: str, tenant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of a tenant's items of ``kind`` (full items, newest first) and the next
        page's cursor.
        """
        partition = keys.tenant_partition(kind, tenant_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": keys.GSI3,
            "KeyConditionExpression": "GSI3PK = :p",
            "ExpressionAttributeValues": to_ddb({":p": partition}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            prefix = keys.user_prefix(tenant_id)
            kwargs["ExclusiveStartKey"] = decode_cursor(
                cursor, keys.GSI3, partition, lambda pk: pk.startswith(prefix)
            )
        page = self._call(what, "query", **kwargs)
        listed = [(str(k["PK"]["S"]), str(k["SK"]["S"])) for k in page.get("Items", [])]
        found = self._batch_get_keyed(what, listed, None)
        items = [from_ddb(found[k]) for k in listed if k in found]
        last = page.get("LastEvaluatedKey")
        return items, encode_cursor(from_ddb(last)) if last else None

    def _batch_write(self, what: Words | str, requests: list[dict[str, Any]]) -> None:
        """Puts and deletes, 25 per request, unprocessed ones retried."""
        for i in range(0, len(requests), 25):
            pending: dict[str, Any] = {self._table: requests[i : i + 25]}
            for attempt in range(8):
                if attempt:
                    back_off(attempt)
                result = self._call(what, "batch_write_item", RequestItems=pending)
                pending = result.get("UnprocessedItems") or {}
                if not pending:
                    break
            else:
                raise TransientError(say("site.table_busy", what=what))


def encode_cursor(key: Mapping[str, Any]) -> str:
    """A page's LastEvaluatedKey as an opaque, URL-safe cursor."""
    data = json.dumps({k: str(v) for k, v in key.items()}, sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def decode_cursor(
    cursor: str, index: str, partition: str, owned: Callable[[str], bool]
) -> dict[str, Any]:
    """The cursor's start key on ``index``, refused unless it points into ``partition`` and
    at an item whose ``PK`` the caller may read (``owned``): a forged cursor can't page
    through somebody else's data.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as e:
        raise ValidationFailed(say("site.cursor_invalid")) from e
    valid = (
        isinstance(key, dict)
        and set(key) == {"PK", "SK", f"{index}PK", f"{index}SK"}
        and all(isinstance(v, str) for v in key.values())
        and key.get(f"{index}PK") == partition
        and owned(str(key.get("PK")))
    )
    if not valid:
        raise ValidationFailed(say("site.cursor_invalid"))
    return to_ddb(key)
