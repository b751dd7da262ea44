"""The migration queue on the single mailport table (key format: ``mailport.adapters.keys``):
the job items in GSI1 (``MIGQ`` in registration order while queued, ``MIGSTART`` from a
start until its execution's first save) and the running-job counters a start takes a run
slot on. The job item's format is in ``dynamodb_jobs``.
"""

from __future__ import annotations

from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import Cancelled, ConditionFailed, to_ddb
from mailport.adapters.dynamodb_job_format import queue_sort_key
from mailport.adapters.dynamodb_jobs import JobItems
from mailport.adapters.keys import QUEUE, STARTING
from mailport.catalogue import say
from mailport.domain.mailbox import Owner
from mailport.domain.migration import JobState, MigrationJob

QUEUE_POSITION_CAP = 100  # jobs ahead counted exactly; more shows as "over 100"


class DynamoJobQueue(JobItems):
    """``JobQueue`` on DynamoDB."""

    def queued(self, limit: int) -> list[tuple[Owner, str]]:
        """The oldest queued jobs, in registration order."""
        return self._gsi1_jobs(QUEUE, limit)

    def _gsi1_jobs(self, partition: str, limit: int) -> list[tuple[Owner, str]]:
        # Only the index's sort key is read: of a job GSI1 projects nothing else but job_id.
        page = self._call(
            say("doing.migration_queue_read"),
            "query",
            TableName=self._table,
            IndexName=keys.GSI1,
            KeyConditionExpression="GSI1PK = :q",
            ExpressionAttributeValues=to_ddb({":q": partition}),
            Limit=limit,
        )
        return [keys.queued_of(str(raw["GSI1SK"]["S"])) for raw in page.get("Items", [])]

    def starting(self, limit: int) -> list[tuple[Owner, str]]:
        """Jobs given a slot whose execution has not yet saved (normally for a moment)."""
        return self._gsi1_jobs(STARTING, limit)

    def queue_position(self, job: MigrationJob, cap: int = QUEUE_POSITION_CAP) -> int:
        """1-based position of a queued job, counted up to ``cap`` jobs ahead (``cap + 1``
        means "further back"): a count reads every index entry it counts (keys and the job id
        in GSI1), so counting a backlog of 100,000 on every page view would read them all
        (docs/capacity.md).
        """
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": keys.GSI1,
            "KeyConditionExpression": "GSI1PK = :q AND GSI1SK < :me",
            "ExpressionAttributeValues": to_ddb({":q": QUEUE, ":me": queue_sort_key(job)}),
            "Select": "COUNT",
            "Limit": cap,
        }
        page = self._call(say("doing.migration_queue_read"), "query", **kwargs)
        return min(int(page.get("Count", 0)), cap) + 1

    def cancel_queued(self, job: MigrationJob, finished: MigrationJob) -> bool:
        """Take a queued job out of the queue as ``finished``."""
        update = self._update(finished)
        # Never a job that has copied mail (queued again after a sign-in): that one must run
        # to roll it back.
        update["ConditionExpression"] = (
            "version = :old AND #s = :q AND (attribute_not_exists(#p) OR #p = :no)"
        )
        update["ExpressionAttributeNames"].update({"#s": "state", "#p": "planned"})
        values = update["ExpressionAttributeValues"]
        values[":q"] = to_ddb({"q": JobState.QUEUED.value})["q"]
        values[":no"] = {"BOOL": False}
        try:
            self._call(say("migration.doing_cancel"), "update_item", **update)
        except ConditionFailed:
            return False
        return True

    def requeue(self, job: MigrationJob, *, cancel: bool) -> bool:
        """Put a job waiting for a sign-in (``cancel``: or to be rolled back) back in the queue
        at its registration place; False if it changed meanwhile.
        """
        update = self._update(job, extra_remove="", queue=QUEUE)
        values = update["ExpressionAttributeValues"]
        update["UpdateExpression"] = update["UpdateExpression"].replace(
            "SET ", "SET GSI1SK = :sk, " + ("cancel_requested = :t, " if cancel else ""), 1
        )
        values.update(to_ddb({":sk": queue_sort_key(job)}))
        if cancel:
            values[":t"] = {"BOOL": True}
        try:
            self._call(say("doing.migration_queue"), "update_item", **update)
        except ConditionFailed:
            return False
        return True

    def claim(self, job: MigrationJob, started: MigrationJob, total: int, per_tenant: int) -> str:
        """Start a queued job if a slot is free: one transaction of the job (to the starting
        list) and the overall and the tenant's running counters (each with its limit).
        """
        # Listed as starting until its execution's first step saves: if this process dies
        # before the execution starts, the next scheduler run starts it (see ``starting``).
        update = self._update(started, extra_remove="", queue=STARTING)
        update["ConditionExpression"] = "version = :old AND #s = :q"
        update["ExpressionAttributeNames"]["#s"] = "state"
        update["ExpressionAttributeValues"][":q"] = to_ddb({"q": JobState.QUEUED.value})["q"]
        try:
            self._transact(
                say("doing.migration_start"),
                [
                    {"Update": update},
                    {"Update": self._counter(keys.running_pk(), 1, total)},
                    {"Update": self._counter(keys.running_pk(job.tenant_id), 1, per_tenant)},
                ],
            )
        except Cancelled as e:
            if e.failed(0):
                return "not_queued"
            return "full" if e.failed(1) else "tenant_full"
        return "started"
