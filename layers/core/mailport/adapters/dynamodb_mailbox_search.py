"""Searching the mailbox on DynamoDB: pages of GSI1 (a folder's messages, newest first),
folder after folder, matched in code (``mailport.domain.search``).

DynamoDB's filters can't fold case or width (NFKC), so the matching is ours; the date
range is the sort key's (``<date>T<time>#<id>``, UTC), so a date filter reads only its days.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import (
    DynamoTable,
    decode_cursor,
    encode_cursor,
    from_ddb,
    to_ddb,
)
from mailport.adapters.keys import user_pk
from mailport.catalogue import say
from mailport.domain.mailbox import Owner, StoredMessage
from mailport.domain.search import IndexPage, SearchQuery, gather
from mailport.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class Position:
    """Where a search goes on: which of the folders searched, and the start key in that
    folder (None: its first message).
    """

    index: int
    key: dict[str, Any] | None = None


Page = IndexPage[Position]
_KEY = ("PK", "SK", "GSI1PK", "GSI1SK")


class MailboxSearch(DynamoTable):
    """``Mailbox.search_messages`` on the single mailport table (``DynamoMailbox`` is one,
    and gives ``_message``).
    """

    @staticmethod
    def _message(item: Mapping[str, Any], listed_in: str | None = None) -> StoredMessage:
        """A message from a GSI1 answer (``DynamoMailbox._message``)."""
        raise NotImplementedError

    def search_messages(
        self,
        owner: Owner,
        folder_ids: Sequence[str],
        query: SearchQuery,
        limit: int,
        cursor: str | None,
        *,
        all_folders: bool = False,
    ) -> tuple[list[StoredMessage], str | None]:
        """Up to ``limit`` matches in ``folder_ids`` (in that order, each newest first) and
        the cursor of the next page.
        """
        if not folder_ids:
            return [], None
        dates = _dates(query)
        start = Position(0)
        if cursor:
            start = _decode(owner, folder_ids, dates, cursor, all_folders=all_folders)
        if start.index >= len(folder_ids):  # the last folders were deleted meanwhile
            return [], None

        def read(at: Position, size: int) -> Page:
            return self._page(owner, folder_ids, query, at, size)

        # Not unpacked in place: mypy would infer the position as Optional from the targets.
        result = gather(read, start, query, limit)
        found, after = result
        return found, _encode(folder_ids, dates, after) if after else None

    def _page(
        self,
        owner: Owner,
        folder_ids: Sequence[str],
        query: SearchQuery,
        position: Position,
        size: int,
    ) -> Page:
        index, start_key = position.index, position.key
        folder_id = folder_ids[index]
        condition, values = "GSI1PK = :pk", {":pk": keys.folder_partition(owner, folder_id)}
        # "<date>" sorts before every "<date>T..." of that day: since is in, before is out.
        if query.since or query.before:
            condition += " AND GSI1SK BETWEEN :a AND :b"
            values[":a"] = query.since.isoformat() if query.since else "0"
            values[":b"] = query.before.isoformat() if query.before else "9"
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": keys.GSI1,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_ddb(values),
            "ScanIndexForward": False,
            "Limit": size,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        page = self._call(say("doing.messages_search"), "query", **kwargs)
        entries: list[tuple[StoredMessage, Position]] = [
            (self._message(from_ddb(item), folder_id), Position(index, {k: item[k] for k in _KEY}))
            for item in page.get("Items", [])
        ]
        last = page.get("LastEvaluatedKey")
        if last:
            return IndexPage(entries, Position(index, last))
        return IndexPage(entries, Position(index + 1) if index + 1 < len(folder_ids) else None)


def _dates(query: SearchQuery) -> str:
    """The date range a cursor belongs to: DynamoDB refuses a start key outside the key
    condition, so a cursor is only good for the range it was made in.
    """
    return f"{query.since or ''}/{query.before or ''}"


def _encode(folder_ids: Sequence[str], dates: str, position: Position) -> str:
    key = position.key
    data = {
        "f": folder_ids[position.index],
        "i": position.index,
        "d": dates,
        "k": encode_cursor(from_ddb(key)) if key else "",
    }
    raw = json.dumps(data, sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode(
    owner: Owner, folder_ids: Sequence[str], dates: str, cursor: str, *, all_folders: bool
) -> Position:
    """The cursor's position, refused unless it is in one of the folders searched and in
    the caller's own index (``decode_cursor``): a forged cursor reads nobody else's mail;
    and made for the same dates. Over ``all_folders``, a folder deleted since the cursor was
    made is passed over: the search goes on with the folder now at its place in the list.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as e:
        raise ValidationFailed(say("site.cursor_invalid")) from e
    if not isinstance(data, dict) or data.get("d") != dates:
        raise ValidationFailed(say("site.cursor_invalid"))
    folder_id, key, at = str(data.get("f")), data.get("k"), data.get("i")
    if not isinstance(key, str):
        raise ValidationFailed(say("site.cursor_invalid"))
    partition = keys.folder_partition(owner, folder_id)
    mine = (  # the start key, proven the caller's own
        decode_cursor(key, keys.GSI1, partition, lambda pk: pk == user_pk(owner)) if key else None
    )
    if folder_id in folder_ids:
        return Position(list(folder_ids).index(folder_id), mine)
    if all_folders and isinstance(at, int) and not isinstance(at, bool) and at >= 0:
        return Position(at)
    raise ValidationFailed(say("site.cursor_invalid"))
