"""The mailbox (folders, message index, rules) on DynamoDB (key format:
``mailport.adapters.keys``).

Counters (total, unread, size) live on the folder item and change in the same transaction as
the message, so they never drift; a fingerprint item per (folder, content) makes the same
content land once per folder; conditions make every write safe to retry.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import (
    Cancelled,
    ConditionFailed,
    as_int,
    decode_cursor,
    encode_cursor,
    from_ddb,
    to_ddb,
)
from mailport.adapters.dynamodb_folders import DynamoFolders
from mailport.adapters.dynamodb_mailbox_search import MailboxSearch
from mailport.adapters.dynamodb_uploads import finish_update
from mailport.adapters.keys import user_pk
from mailport.catalogue import say
from mailport.domain.mailbox import (
    Flags,
    Indexed,
    InsertOutcome,
    Owner,
    Source,
    SourceType,
    StoredMessage,
)
from mailport.domain.message import Address, MessageSummary
from mailport.domain.mime.partmap import decode_map, encode_map
from mailport.domain.uploads import FileResult
from mailport.errors import Conflict, NotFound

MAX_INDEXED_NAMES = 100
MAX_NAME_CHARS = 255

# What a folder's listing reads from a GSI1 answer besides the keys: everything the API's
# message list shows, so a page stays one Query. GSI1 projects exactly these (template.yaml's
# NonKeyAttributes; tests/unit/test_gsi1_projection.py fails if the two drift). Left out: the
# folder (the listing knows it), fingerprint, raw_key, type and GSI2's keys. At most 20.
LISTED_ATTRIBUTES = (
    "subject",
    "from",
    "to",
    "cc",
    "date",
    "header_message_id",
    "attachments",
    "has_attachments",
    "size",
    "seen",
    "flagged",
    "answered",
    "source_type",
    "source_id",
    "received_at",
    "icon",
    "job_id",
    "sha256",
)


def fingerprint_item(pk: str, sk: str, message: StoredMessage) -> dict[str, Any]:
    """A (folder, content) item: which message holds it, and whether it was counted unread
    (so a message item written late, after a crash, is written as it was counted).
    """
    return {"PK": pk, "SK": sk, "message_id": message.message_id, "seen": message.flags.seen}


def _addresses(values: Any) -> tuple[Address, ...]:
    return tuple(Address(str(v.get("n", "")), str(v.get("e", ""))) for v in values or [])


class DynamoMailbox(DynamoFolders, MailboxSearch):
    """``Mailbox`` on the single mailport table (its folders: ``DynamoFolders``; its search:
    ``MailboxSearch``).
    """

    # ------------------------------------------------------------------ messages
    def insert_message(
        self, owner: Owner, message: StoredMessage, finish: FileResult | None = None
    ) -> tuple[InsertOutcome, str]:
        """Index a message (and, atomically, ``finish`` an upload file if given)."""
        pk = user_pk(owner)
        fp_key = keys.fingerprint_sk(message.folder_id, message.fingerprint)
        unread = 0 if message.flags.seen else 1
        items = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_ddb(self._message_item(owner, message)),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_ddb(fingerprint_item(pk, fp_key, message)),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            self._counter(pk, message.folder_id, 1, unread, message.summary.size),
        ]
        if finish is not None:
            items.append({"Update": finish_update(self._table, owner, finish)})
        try:
            self._transact(say("doing.message_store"), items)
        except Cancelled as e:
            if e.failed(0):
                return InsertOutcome.ALREADY_STORED, message.message_id
            if e.failed(1):
                existing = self._get(pk, fp_key, "reading the duplicate") or {}
                if existing.get("message_id") == message.message_id and finish is None:
                    return self._written_late(owner, message, existing)
                return InsertOutcome.DUPLICATE, str(existing.get("message_id", ""))
            if e.failed(2):
                raise NotFound(say("mailbox.folder_gone")) from e
            if e.failed(3):  # the file was finished by an earlier delivery
                return InsertOutcome.ALREADY_STORED, message.message_id
            raise
        return InsertOutcome.STORED, message.message_id

    def _written_late(
        self, owner: Owner, message: StoredMessage, holder: Mapping[str, Any]
    ) -> tuple[InsertOutcome, str]:
        """The message item a grouped index write (``DynamoMessageIndex``) did not get to
        write before a crash: its fingerprint item and counters are there already.
        """
        seen = bool(holder.get("seen", message.flags.seen))
        flags = Flags(seen, message.flags.flagged, message.flags.answered)
        item = self._message_item(owner, replace(message, flags=flags))
        try:
            self._call(
                say("doing.message_store"),
                "put_item",
                TableName=self._table,
                Item=to_ddb(item),
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ConditionFailed:
            return InsertOutcome.ALREADY_STORED, message.message_id
        return InsertOutcome.STORED, message.message_id

    def _counter(
        self, pk: str, folder_id: str, total: int, unread: int, size: int
    ) -> dict[str, Any]:
        return {
            "Update": {
                **self._key(pk, keys.folder_sk(folder_id)),
                "UpdateExpression": "ADD #t :t, unread :u, #s :s",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeNames": {"#t": "total", "#s": "size"},
                "ExpressionAttributeValues": to_ddb({":t": total, ":u": unread, ":s": size}),
            }
        }

    @staticmethod
    def _sort_key(message: StoredMessage) -> str:
        when = (message.summary.date or message.received_at).astimezone(dt.UTC)
        return keys.folder_order(when.strftime("%Y-%m-%dT%H:%M:%S"), message.message_id)

    def _message_item(self, owner: Owner, m: StoredMessage) -> dict[str, Any]:
        s = m.summary
        job_index: dict[str, Any] = {}
        if m.source.type is SourceType.IMAP and m.job_id:
            # A migration's own messages, for its rollback and revert (sparse GSI2).
            job_index = {"GSI2PK": keys.job_partition(owner, m.job_id), "GSI2SK": m.message_id}
        return {
            **job_index,
            "PK": user_pk(owner),
            "SK": keys.message_sk(m.message_id),
            "GSI1PK": keys.folder_partition(owner, m.folder_id),
            "GSI1SK": self._sort_key(m),
            "type": "message",
            "folder_id": m.folder_id,
            "subject": s.subject,
            "from": [{"n": a.name, "e": a.email} for a in s.from_],
            "to": [{"n": a.name, "e": a.email} for a in s.to],
            "cc": [{"n": a.name, "e": a.email} for a in s.cc],
            "date": s.date.isoformat() if s.date else None,
            "header_message_id": m.header_message_id,
            # DynamoDB items are at most 400 KB: index a bounded list of names.
            "attachments": [a[:MAX_NAME_CHARS] for a in s.attachment_names[:MAX_INDEXED_NAMES]],
            "has_attachments": s.has_attachments,
            "size": s.size,
            "seen": m.flags.seen,
            "flagged": m.flags.flagged,
            "answered": m.flags.answered,
            "source_type": m.source.type.value,
            "source_id": m.source.id,
            "fingerprint": m.fingerprint,
            "sha256": m.sha256,
            "raw_key": m.raw_key,
            "received_at": m.received_at.isoformat(),
            "icon": m.icon,
            "job_id": m.job_id,
            # Big messages only (None is left out): ordinary mail's item gains no byte.
            "part_map": encode_map(m.part_map) if m.part_map else None,
        }

    @staticmethod
    def _message(item: Mapping[str, Any], listed_in: str | None = None) -> StoredMessage:
        """A message from its item or, with ``listed_in`` (the folder listed), from a GSI1
        answer: that has only ``LISTED_ATTRIBUTES``, so no fingerprint or raw key (empty),
        and no part map.
        """
        date = item.get("date")
        summary = MessageSummary(
            subject=str(item.get("subject", "")),
            from_=_addresses(item.get("from")),
            to=_addresses(item.get("to")),
            cc=_addresses(item.get("cc")),
            date=dt.datetime.fromisoformat(date) if date else None,
            message_id=item.get("header_message_id") or None,
            attachment_names=tuple(str(a) for a in item.get("attachments") or []),
            has_attachments=bool(item.get("has_attachments")),
            size=as_int(item.get("size")),
        )
        return StoredMessage(
            message_id=keys.message_id_of(str(item["SK"])),
            folder_id=listed_in or str(item["folder_id"]),
            summary=summary,
            flags=Flags(
                seen=bool(item.get("seen")),
                flagged=bool(item.get("flagged")),
                answered=bool(item.get("answered")),
            ),
            source=Source(SourceType(item["source_type"]), str(item["source_id"])),
            fingerprint="" if listed_in else str(item["fingerprint"]),
            raw_key="" if listed_in else str(item["raw_key"]),
            received_at=dt.datetime.fromisoformat(str(item["received_at"])),
            icon=item.get("icon"),
            job_id=item.get("job_id"),
            header_message_id=str(item.get("header_message_id") or ""),
            sha256=str(item.get("sha256") or ""),
            # Not projected to GSI1 (a listing never reads parts); old items have none.
            part_map=None if listed_in else decode_map(item.get("part_map")),
        )

    def get_message(self, owner: Owner, message_id: str) -> StoredMessage | None:
        """One message, or None."""
        item = self._get(user_pk(owner), keys.message_sk(message_id), say("doing.message_read"))
        return self._message(item) if item else None

    def existing_messages(self, owner: Owner, message_ids: Sequence[str]) -> dict[str, Indexed]:
        """Which of ``message_ids`` are indexed, with their job and fingerprint."""
        pk = user_pk(owner)
        wanted = [to_ddb({"PK": pk, "SK": keys.message_sk(i)}) for i in dict.fromkeys(message_ids)]
        items = self._batch_get(say("doing.messages_read"), wanted, "SK, job_id, fingerprint")
        return {
            keys.message_id_of(str(item["SK"]["S"])): Indexed(
                item.get("job_id", {}).get("S"), str(item.get("fingerprint", {}).get("S", ""))
            )
            for item in items
        }

    def list_messages(
        self, owner: Owner, folder_id: str, limit: int, cursor: str | None
    ) -> tuple[list[StoredMessage], str | None]:
        """A page of a folder's messages, newest first, and the cursor of the next page.

        One Query of GSI1, which projects only ``LISTED_ATTRIBUTES``: a listed message has no
        fingerprint or raw key (``get_message`` reads the whole item).
        """
        partition = keys.folder_partition(owner, folder_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": keys.GSI1,
            "KeyConditionExpression": "GSI1PK = :pk",
            "ExpressionAttributeValues": to_ddb({":pk": partition}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = decode_cursor(
                cursor, keys.GSI1, partition, lambda pk: pk == user_pk(owner)
            )
        page = self._call(say("doing.messages_list"), "query", **kwargs)
        messages = [self._message(from_ddb(i), folder_id) for i in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return messages, encode_cursor(from_ddb(last)) if last else None

    def update_message(self, owner: Owner, before: StoredMessage, after: StoredMessage) -> None:
        """Change flags and/or folder, keeping the counters right."""
        pk = user_pk(owner)
        was_unread, is_unread = int(not before.flags.seen), int(not after.flags.seen)
        size = before.summary.size
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    **self._key(pk, keys.message_sk(before.message_id)),
                    "UpdateExpression": "SET seen = :s, flagged = :f, answered = :a, "
                    "folder_id = :fid, GSI1PK = :g",
                    # Guard on the state we read, so concurrent changes can't skew counters.
                    "ConditionExpression": "folder_id = :old AND seen = :oldseen",
                    "ExpressionAttributeValues": to_ddb(
                        {
                            ":s": after.flags.seen,
                            ":f": after.flags.flagged,
                            ":a": after.flags.answered,
                            ":fid": after.folder_id,
                            ":g": keys.folder_partition(owner, after.folder_id),
                            ":old": before.folder_id,
                            ":oldseen": before.flags.seen,
                        }
                    ),
                }
            }
        ]
        if before.folder_id == after.folder_id:
            if was_unread != is_unread:
                items.append(self._counter(pk, before.folder_id, 0, is_unread - was_unread, 0))
        else:
            items += [
                self._counter(pk, before.folder_id, -1, -was_unread, -size),
                self._counter(pk, after.folder_id, 1, is_unread, size),
                {
                    "Delete": self._key(
                        pk, keys.fingerprint_sk(before.folder_id, before.fingerprint)
                    )
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_ddb(
                            fingerprint_item(
                                pk, keys.fingerprint_sk(after.folder_id, after.fingerprint), after
                            )
                        ),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        try:
            self._transact(say("doing.message_change"), items)
        except Cancelled as e:
            if e.failed(0):
                raise Conflict(say("mailbox.message_changed")) from e
            if before.folder_id != after.folder_id and e.failed(4):
                raise Conflict(say("mailbox.already_there")) from e
            raise NotFound(say("mailbox.no_target")) from e

    def delete_message(self, owner: Owner, message: StoredMessage) -> None:
        """Remove a message from the index, keeping the counters right."""
        pk = user_pk(owner)
        try:
            self._transact(
                say("doing.message_delete"),
                [
                    {
                        "Delete": {
                            **self._key(pk, keys.message_sk(message.message_id)),
                            "ConditionExpression": "folder_id = :f AND seen = :s",
                            "ExpressionAttributeValues": to_ddb(
                                {":f": message.folder_id, ":s": message.flags.seen}
                            ),
                        }
                    },
                    {
                        "Delete": self._key(
                            pk, keys.fingerprint_sk(message.folder_id, message.fingerprint)
                        )
                    },
                    self._counter(
                        pk,
                        message.folder_id,
                        -1,
                        -int(not message.flags.seen),
                        -message.summary.size,
                    ),
                ],
            )
        except Cancelled as e:
            raise Conflict(say("mailbox.message_changed")) from e

    # ------------------------------------------------------------------ rules
    def get_rules_document(self, owner: Owner) -> dict[str, object] | None:
        """The stored auto-sort rules (JSON), or None."""
        item = self._get(user_pk(owner), keys.RULES, "reading the rules")
        return json.loads(str(item["document"])) if item else None

    def put_rules_document(self, owner: Owner, document: dict[str, object]) -> None:
        """Replace the auto-sort rules."""
        self._call(
            say("doing.rules_save"),
            "put_item",
            TableName=self._table,
            Item=to_ddb({"PK": user_pk(owner), "SK": keys.RULES, "document": json.dumps(document)}),
        )
