"""The mailbox's folders on DynamoDB (key format: ``mailport.adapters.keys``): a folder
item per folder, its children counted on its parent so a folder with subfolders can't be
deleted; every write conditional, so safe to retry. ``DynamoMailbox`` builds on it.
"""

from __future__ import annotations

from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import (
    Cancelled,
    DynamoTable,
    as_int,
    to_ddb,
)
from mailport.adapters.keys import user_pk
from mailport.catalogue import say
from mailport.domain.mailbox import Folder, Owner, SystemFolder
from mailport.errors import Conflict, NotFound


class DynamoFolders(DynamoTable):
    """The folders part of ``Mailbox`` on the single mailport table."""

    def list_folders(self, owner: Owner) -> list[Folder]:
        """Every folder of the user, with counters."""
        items = self._query(
            say("doing.folders_list"),
            KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
            ExpressionAttributeValues=to_ddb({":pk": user_pk(owner), ":sk": keys.FOLDER_PREFIX}),
            ConsistentRead=True,
        )
        return [self._folder(i) for i in items]

    def get_folder(self, owner: Owner, folder_id: str) -> Folder | None:
        """One folder, or None."""
        item = self._get(user_pk(owner), keys.folder_sk(folder_id), "reading the folder")
        return self._folder(item) if item else None

    @staticmethod
    def _folder(item: dict[str, Any]) -> Folder:
        system = item.get("system")
        return Folder(
            folder_id=keys.folder_id_of(str(item["SK"])),
            name=str(item["name"]),
            parent_id=item.get("parent_id") or None,
            system=SystemFolder(system) if system else None,
            total=as_int(item.get("total")),
            unread=as_int(item.get("unread")),
            size=as_int(item.get("size")),
        )

    def create_folder(self, owner: Owner, folder: Folder) -> None:
        """Create a folder; ``Conflict`` if a sibling has the same name."""
        pk = user_pk(owner)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_ddb(
                        {
                            "PK": pk,
                            "SK": keys.folder_sk(folder.folder_id),
                            "type": "folder",
                            "name": folder.name,
                            "parent_id": folder.parent_id,
                            "system": folder.system.value if folder.system else None,
                            "total": 0,
                            "unread": 0,
                            "size": 0,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_ddb(
                        {"PK": pk, "SK": keys.name_lock_sk(folder.parent_id, folder.name)}
                    ),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
        ]
        if folder.parent_id:
            # Counting children on the parent lets a delete refuse atomically (see below).
            items.append(self._children(pk, folder.parent_id, 1))
        try:
            self._transact(say("doing.folder_create"), items)
        except Cancelled as e:
            if e.failed(0):
                raise Conflict(say("mailbox.folder_exists")) from e
            if e.failed(1):
                raise Conflict(say("mailbox.name_taken", name=folder.name)) from e
            if e.failed(2):
                raise NotFound(say("mailbox.no_parent")) from e
            raise Conflict(say("mailbox.changed")) from e

    def _children(self, pk: str, folder_id: str, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                **self._key(pk, keys.folder_sk(folder_id)),
                "UpdateExpression": "ADD children :d",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": to_ddb({":d": delta}),
            }
        }

    def update_folder(self, owner: Owner, before: Folder, after: Folder) -> None:
        """Rename and/or move a folder; ``Conflict`` on a sibling name clash."""
        pk = user_pk(owner)
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    **self._key(pk, keys.folder_sk(before.folder_id)),
                    "UpdateExpression": "SET #n = :n, parent_id = :p",
                    "ConditionExpression": "attribute_exists(PK) AND #n = :old",
                    "ExpressionAttributeNames": {"#n": "name"},
                    "ExpressionAttributeValues": to_ddb(
                        {":n": after.name, ":p": after.parent_id or "", ":old": before.name}
                    ),
                }
            }
        ]
        old_lock, new_lock = (
            keys.name_lock_sk(before.parent_id, before.name),
            keys.name_lock_sk(after.parent_id, after.name),
        )
        if old_lock != new_lock:
            # The old lock must still be there: two concurrent moves can't both release it.
            items.append(
                {
                    "Delete": {
                        **self._key(pk, old_lock),
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                }
            )
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_ddb({"PK": pk, "SK": new_lock}),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
            )
        if before.parent_id != after.parent_id:
            if before.parent_id:
                items.append(self._children(pk, before.parent_id, -1))
            if after.parent_id:
                items.append(self._children(pk, after.parent_id, 1))
        try:
            self._transact(say("doing.folder_change"), items)
        except Cancelled as e:
            if e.failed(0) or (old_lock != new_lock and e.failed(1)):
                raise Conflict(say("mailbox.folder_changed")) from e
            if old_lock != new_lock and e.failed(2):
                raise Conflict(say("mailbox.name_taken", name=after.name)) from e
            raise NotFound(say("mailbox.no_new_parent")) from e

    def delete_folder(self, owner: Owner, folder: Folder) -> None:
        """Delete an empty folder; ``Conflict`` if it holds messages."""
        pk = user_pk(owner)
        try:
            self._transact(
                say("doing.folder_delete"),
                [
                    {
                        "Delete": {
                            **self._key(pk, keys.folder_sk(folder.folder_id)),
                            # The name must be the one whose lock we release (no rename raced).
                            "ConditionExpression": "attribute_exists(PK) AND #t = :zero "
                            "AND #n = :name "
                            "AND (attribute_not_exists(children) OR children = :zero)",
                            "ExpressionAttributeNames": {"#t": "total", "#n": "name"},
                            "ExpressionAttributeValues": to_ddb({":zero": 0, ":name": folder.name}),
                        }
                    },
                    {"Delete": self._key(pk, keys.name_lock_sk(folder.parent_id, folder.name))},
                    *([self._children(pk, folder.parent_id, -1)] if folder.parent_id else []),
                ],
            )
        except Cancelled as e:
            raise Conflict(say("mailbox.not_empty")) from e
