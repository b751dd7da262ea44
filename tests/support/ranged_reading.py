"""For the ranged-reading tests (unit and integration): a raw store that counts what it is
asked for, a mailbox holding messages as their DynamoDB items would give them back, and the
answers of ``content()`` / ``part()`` as the API writes them, to compare the two paths.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace

import api_views_reading

from mailport.adapters.dynamo_table import from_ddb, to_ddb
from mailport.adapters.dynamodb_mailbox import DynamoMailbox
from mailport.domain.mailbox import Flags, Owner, Source, SourceType, StoredMessage
from mailport.domain.mime import fingerprint, summarize
from mailport.domain.mime.partmap import PartMap, part_map_of
from mailport.domain.uploads import ObjectRef
from mailport.errors import MailportError, NotFound
from mailport.usecases.mailbox import MailboxService

OWNER = Owner("acme", "u1")
OPTIONS: list[tuple[str | None, bool]] = [(None, False), ("shift_jis", False), (None, True)]


def url(part_id: str) -> str:
    return f"/v1/messages/m1/parts/{part_id}"


@dataclass
class CountingStore:
    """``RawStore`` in a dict, counting every get: ("get", 0, size) or ("range", a, b)."""

    objects: dict[str, bytes] = field(default_factory=dict)
    reads: list[tuple[str, int, int]] = field(default_factory=list)

    def put(self, key: str, raw: bytes, origin: ObjectRef | None = None) -> None:
        self.objects[key] = raw

    def get(self, key: str) -> bytes:
        if key not in self.objects:
            raise NotFound("absent")
        self.reads.append(("get", 0, len(self.objects[key])))
        return self.objects[key]

    def get_range(self, key: str, start: int, end: int) -> bytes:
        if key not in self.objects:
            raise NotFound("absent")
        got = self.objects[key][start:end]
        self.reads.append(("range", start, start + len(got)))
        return got

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    @property
    def bytes_read(self) -> int:
        return sum(end - start for _, start, end in self.reads)

    @property
    def whole_reads(self) -> int:
        return sum(1 for kind, _, _ in self.reads if kind == "get")


class ItemMailbox:
    """``Mailbox.get_message`` over messages kept as the DynamoDB adapter writes their items
    and reads them back: the index's summary and the map as stored, not as built.
    """

    def __init__(self) -> None:
        self.items: dict[str, dict[str, object]] = {}
        self._adapter = DynamoMailbox("tbl", client=object)

    def add(self, message: StoredMessage) -> dict[str, object]:
        item = to_ddb(self._adapter._message_item(OWNER, message))
        self.items[message.message_id] = item
        return item

    def get_message(self, owner: Owner, message_id: str) -> StoredMessage | None:
        item = self.items.get(message_id)
        return self._adapter._message(from_ddb(item)) if item else None  # type: ignore[arg-type]


def stored(raw: bytes, message_id: str, part_map: PartMap | None) -> StoredMessage:
    summary = summarize(raw)
    return StoredMessage(
        message_id=message_id,
        folder_id="inbox",
        summary=summary,
        flags=Flags(),
        source=Source(SourceType.UPLOAD, "b1"),
        fingerprint=fingerprint(raw),
        raw_key=f"mail/acme/u1/{message_id}.eml",
        received_at=dt.datetime(2026, 12, 7, tzinfo=dt.UTC),
        header_message_id=summary.message_id or "",
        part_map=part_map,
    )


@dataclass
class TwoWays:
    """One message stored twice: "whole" without a map, "mapped" with its map."""

    service: MailboxService
    store: CountingStore
    mailbox: ItemMailbox
    part_map: PartMap


def two_ways(raw: bytes, part_map: PartMap | None = None) -> TwoWays:
    found = part_map or part_map_of(raw)
    assert found is not None
    store, mailbox = CountingStore(), ItemMailbox()
    for message in (stored(raw, "whole", None), stored(raw, "mapped", found)):
        mailbox.add(message)
        store.put(message.raw_key, raw)
    return TwoWays(MailboxService(mailbox, store), store, mailbox, found)  # type: ignore[arg-type]


def content_json(
    service: MailboxService, message_id: str, charset: str | None = None, remote: bool = False
) -> str:
    reading = service.content(OWNER, message_id, url, charset=charset, remote=remote)
    return json.dumps(api_views_reading.content(reading), ensure_ascii=False, sort_keys=True)


def part_answer(service: MailboxService, message_id: str, part_id: str) -> object:
    """The part as downloaded, or the error's class and words (the API's answer either way)."""
    try:
        found = service.part(OWNER, message_id, part_id)
    except MailportError as e:
        return type(e).__name__, str(e)
    return found.content_type, found.filename, found.data


def replaced_leaf(part_map: PartMap, part_id: str, **changes: int) -> PartMap:
    """``part_map`` with one leaf's offsets changed (a map that no longer fits its bytes)."""
    leaves = tuple(
        replace(m, leaf=replace(m.leaf, **changes)) if m.leaf.part_id == part_id else m
        for m in part_map.leaves
    )
    return PartMap(leaves)
