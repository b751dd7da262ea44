"""What a migration job imported, on the single mailport table (key format:
``mailport.adapters.keys``): the contents a Gmail-style job copied, so the same mail under
several labels is copied once (TTL a month), and the messages it stored (the job's partition
of the mailbox's GSI2).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from mailport.adapters import keys
from mailport.adapters.dynamo_table import DynamoTable, to_ddb
from mailport.catalogue import say
from mailport.domain.mailbox import Owner

CONTENT_TTL_S = 30 * 86_400


class DynamoContentLedger(DynamoTable):
    """``ContentLedger`` on DynamoDB."""

    def job_messages(self, owner: Owner, job_id: str, limit: int) -> list[str]:
        """Ids of messages the job stored that are still there: a read of the mailbox's index
        (GSI2, written by ``dynamodb_mailbox`` with each message), not of an item of ours.
        """
        page = self._call(
            say("doing.migration_messages_list"),
            "query",
            TableName=self._table,
            IndexName=keys.GSI2,
            KeyConditionExpression="GSI2PK = :j",
            ExpressionAttributeValues=to_ddb({":j": keys.job_partition(owner, job_id)}),
            Limit=limit,
        )
        return [str(i["GSI2SK"]["S"]) for i in page.get("Items", [])]

    def seen_contents(self, owner: Owner, job_id: str, fingerprints: Sequence[str]) -> set[str]:
        """Which of these contents the job has already imported (BatchGetItem)."""
        pk = keys.contents_pk(owner, job_id)
        wanted = [to_ddb({"PK": pk, "SK": fp}) for fp in dict.fromkeys(fingerprints)]
        return {
            str(item["SK"]["S"])
            for item in self._batch_get(say("migration.doing_read"), wanted, "SK")
        }

    def remember_contents(self, owner: Owner, job_id: str, fingerprints: Sequence[str]) -> None:
        """Note contents the job imported (TTL: a month)."""
        pk = keys.contents_pk(owner, job_id)
        expires = int(time.time()) + CONTENT_TTL_S
        self._batch_write(
            say("migration.doing_save"),
            [
                {"PutRequest": {"Item": to_ddb({"PK": pk, "SK": fp, "expires_at": expires})}}
                for fp in dict.fromkeys(fingerprints)
            ],
        )
