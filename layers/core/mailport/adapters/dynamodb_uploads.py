"""Upload batches and the result of each file on the single mailport table (key format:
``mailport.adapters.keys``). A batch's items expire after a month (TTL ``expires_at``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import ConditionFailed, DynamoTable, as_int, to_ddb
from mailport.adapters.keys import user_pk
from mailport.catalogue import say, stored, words_of
from mailport.domain.mailbox import Owner
from mailport.domain.uploads import BatchHead, FileResult, FileStatus, UploadBatch, UploadFile

UPLOAD_TTL = dt.timedelta(days=30)


def file_item(pk: str, batch_id: str, f: UploadFile, expires: int) -> dict[str, Any]:
    """The item of one file of a batch (also sized by bench/capacity.py)."""
    return {
        "PK": pk,
        "SK": keys.file_sk(batch_id, f.index),
        "type": "upload_file",
        "name": f.name,
        "size": f.size,
        "status": f.status.value,
        "reason": f.reason,
        "message": f.message,
        "message_words": stored(f.message_words),
        "message_id": f.message_id,
        "expires_at": expires,
    }


def finish_update(table: str, owner: Owner, done: FileResult) -> dict[str, Any]:
    """The update that records a file's final state once (the mailbox adapter puts it in the
    message's own transaction).
    """
    result = done.file
    return {
        "TableName": table,
        "Key": to_ddb({"PK": user_pk(owner), "SK": keys.file_sk(done.batch_id, result.index)}),
        "UpdateExpression": "SET #st = :st, reason = :r, message = :m, message_id = :id",
        "ConditionExpression": "#st = :pending",
        "ExpressionAttributeNames": {"#st": "status"},
        "ExpressionAttributeValues": to_ddb(
            {
                ":st": result.status.value,
                ":r": result.reason,
                ":m": result.message,
                ":id": result.message_id,
                ":pending": FileStatus.PENDING.value,
            }
        ),
    }


class DynamoUploads(DynamoTable):
    """``Uploads`` on the single mailport table."""

    def create_batch(self, owner: Owner, batch: UploadBatch) -> None:
        """Record a new batch and its files (files in chunks of 25, batch item last)."""
        pk = user_pk(owner)
        expires = int((batch.created_at + UPLOAD_TTL).timestamp())
        files = [
            {"PutRequest": {"Item": to_ddb(file_item(pk, batch.batch_id, f, expires))}}
            for f in batch.files
        ]
        self._batch_write(say("doing.upload_record"), files)
        self._call(
            say("doing.upload_record"),
            "put_item",
            TableName=self._table,
            Item=to_ddb(
                {
                    "PK": pk,
                    "SK": keys.batch_sk(batch.batch_id),
                    "type": "upload",
                    "folder_id": batch.folder_id,
                    "apply_rules": batch.apply_rules,
                    "created_at": batch.created_at.isoformat(),
                    "file_count": len(batch.files),
                    "sizes": [f.size for f in batch.files],
                    "expires_at": expires,
                }
            ),
            ConditionExpression="attribute_not_exists(PK)",
        )

    def get_batch(self, owner: Owner, batch_id: str) -> UploadBatch | None:
        """A batch with every file's state, or None."""
        head_sk, files_prefix = keys.batch_sk(batch_id), keys.files_prefix(batch_id)
        items = list(
            self._query(
                say("doing.upload_read"),
                KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
                ExpressionAttributeValues=to_ddb({":pk": user_pk(owner), ":sk": head_sk}),
                ConsistentRead=True,
            )
        )
        head = next((i for i in items if i["SK"] == head_sk), None)
        if head is None:
            return None
        files = sorted(
            (_file(i) for i in items if str(i["SK"]).startswith(files_prefix)),
            key=lambda f: f.index,
        )
        return UploadBatch(
            batch_id=batch_id,
            folder_id=str(head["folder_id"]),
            apply_rules=bool(head.get("apply_rules")),
            created_at=dt.datetime.fromisoformat(str(head["created_at"])),
            files=tuple(files),
        )

    def get_head(self, owner: Owner, batch_id: str) -> BatchHead | None:
        """What ingest needs of a batch, or None."""
        item = self._get(user_pk(owner), keys.batch_sk(batch_id), say("doing.upload_read"))
        if item is None:
            return None
        return BatchHead(
            batch_id=batch_id,
            folder_id=str(item["folder_id"]),
            apply_rules=bool(item.get("apply_rules")),
            sizes=tuple(as_int(n) for n in item.get("sizes") or []),
        )

    def finish_file(self, owner: Owner, batch_id: str, result: UploadFile) -> bool:
        """Record a file's final state once; False if it was already final."""
        try:
            self._call(
                say("doing.upload_file_record"),
                "update_item",
                **finish_update(self._table, owner, FileResult(batch_id, result)),
            )
        except ConditionFailed:
            return False  # already final: this S3 event was delivered before
        return True


def _file(item: dict[str, Any]) -> UploadFile:
    return UploadFile(
        index=keys.file_index_of(str(item["SK"])),
        name=str(item["name"]),
        size=as_int(item.get("size")),
        status=FileStatus(item["status"]),
        reason=str(item.get("reason") or ""),
        message=str(item.get("message") or ""),
        message_words=words_of(item.get("message_words")),
        message_id=str(item.get("message_id") or ""),
    )
