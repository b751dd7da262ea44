"""The per-item reports of migration jobs on the single mailport table (key format:
``mailport.adapters.keys``): one item per message a job did not import, in a partition of the
job's own, ordered by folder and UID. Kept as long as the job is (no TTL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import DynamoTable, as_int, from_ddb, to_ddb
from mailport.catalogue import say
from mailport.domain.mailbox import Owner
from mailport.domain.migration import ItemReason, ReportItem
from mailport.errors import ValidationFailed

MAX_PAGE = 500


def _item(pk: str, r: ReportItem) -> dict[str, Any]:
    return {
        "PK": pk,
        "SK": keys.report_sk(r.folder_index, r.uid),
        "folder": r.folder,
        "uv": r.uidvalidity,
        "reason": r.reason.value,
        "size": r.size,
        "subject": r.subject,
        "sender": r.sender,
        "date": r.date.isoformat() if r.date else None,
        "limit": r.limit,
        "n": r.messages if r.messages != 1 else None,
    }


def _report_item(item: dict[str, Any]) -> ReportItem:
    folder, uid = str(item["SK"]).split("#")
    date = item.get("date")
    return ReportItem(
        folder_index=int(folder),
        folder=str(item.get("folder", "")),
        uidvalidity=as_int(item.get("uv")),
        uid=int(uid),
        reason=ItemReason(str(item["reason"])),
        size=as_int(item.get("size")),
        subject=str(item.get("subject", "")),
        sender=str(item.get("sender", "")),
        date=dt.datetime.fromisoformat(str(date)) if date else None,
        limit=as_int(item["limit"]) if item.get("limit") is not None else None,
        messages=as_int(item.get("n")) or 1,
    )


class DynamoJobReports(DynamoTable):
    """``JobReports`` on DynamoDB."""

    def record(
        self,
        owner: Owner,
        job_id: str,
        folder_index: int,
        uids: tuple[int, int],
        items: Sequence[ReportItem],
    ) -> None:
        """Replace the folder's lines in the UID range (a Query of the range, keys only, then
        BatchWriteItem: the puts, and deletes of lines an earlier attempt left that this one
        did not make — a message found missing then, fetched now).
        """
        pk = keys.report_pk(owner, job_id)
        unique = {r.uid: r for r in items if r.folder_index == folder_index}
        earlier = self._query(
            say("migration.doing_read_report"),
            KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
            ExpressionAttributeValues=to_ddb(
                {
                    ":pk": pk,
                    ":lo": keys.report_sk(folder_index, uids[0]),
                    ":hi": keys.report_sk(folder_index, uids[1]),
                }
            ),
            ProjectionExpression="PK, SK",
        )
        mine = {keys.report_sk(folder_index, uid) for uid in unique}
        stale = [str(i["SK"]) for i in earlier if str(i["SK"]) not in mine]
        puts = [{k: v for k, v in _item(pk, r).items() if v is not None} for r in unique.values()]
        self._batch_write(
            say("migration.doing_save_report"),
            [{"PutRequest": {"Item": to_ddb(item)}} for item in puts]
            + [{"DeleteRequest": {"Key": to_ddb({"PK": pk, "SK": sk})}} for sk in stale],
        )

    def page(
        self, owner: Owner, job_id: str, limit: int, cursor: str | None
    ) -> tuple[list[ReportItem], str | None]:
        """Up to ``limit`` items after ``cursor`` (the last sort key of the page before)."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": to_ddb({":pk": keys.report_pk(owner, job_id)}),
            "Limit": max(1, min(limit, MAX_PAGE)),
        }
        if cursor:
            if not keys.is_report_sk(cursor):
                raise ValidationFailed(say("site.cursor_invalid"))
            kwargs["ExclusiveStartKey"] = to_ddb(
                {"PK": keys.report_pk(owner, job_id), "SK": cursor}
            )
        page = self._call(say("migration.doing_read_report"), "query", **kwargs)
        items = [_report_item(from_ddb(i)) for i in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return items, str(last["SK"]["S"]) if last else None

    def retryable(
        self, owner: Owner, job_id: str, folder_index: int, first_uid: int, limit: int
    ) -> list[ReportItem]:
        """Up to ``limit`` retryable items of one folder from ``first_uid`` on."""
        found: list[ReportItem] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": to_ddb(
                {
                    ":pk": keys.report_pk(owner, job_id),
                    ":lo": keys.report_sk(folder_index, first_uid),
                    ":hi": keys.report_sk(folder_index, 2**32 - 1),
                }
            ),
        }
        for item in self._query(say("migration.doing_read_report"), **kwargs):
            entry = _report_item(item)
            if entry.retryable:
                found.append(entry)
                if len(found) >= limit:
                    break
        return found
