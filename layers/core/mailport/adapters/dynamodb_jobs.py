"""Migration jobs on the single mailport table (key format: ``mailport.adapters.keys``):
the job item's format, and ``JobStore``.

* The job: source (no password), the sealed password until the job ends, state, and what
  its plan adds up to (``totals``). Each folder of the plan, with its checkpoint, is an item
  of its own (``JOBPLAN#…``): a job of thousands of folders stays far from DynamoDB's 400 KB
  item limit, and a checkpoint writes the job and one folder (a few KB), not the whole plan.
  A save writes the folders it changed in the same transaction as the job. While queued it
  is in the queue (GSI1, registration order); from its start until its execution's first
  save, in the starting list (crash recovery; both ``dynamodb_job_queue``). Every save is
  conditional on ``version`` (optimistic locking); ``cancel_requested`` is set apart from it,
  so the API's cancel never collides with a worker's checkpoint.
* Running-job counters, overall and per tenant: a job's start takes a run slot on both
  (``DynamoJobQueue.claim``), the save that ends it gives it back (``DynamoJobStore.save_job``
  with ``release``), each in one transaction with the job.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import (
    Cancelled,
    ConditionFailed,
    DynamoTable,
    as_int,
    to_ddb,
)
from mailport.adapters.dynamodb_job_format import (
    folder_item,
    folder_of,
    job_fields,
    job_of,
    queue_sort_key,
)
from mailport.adapters.keys import QUEUE, user_pk
from mailport.catalogue import say
from mailport.domain.mailbox import Owner
from mailport.domain.migration import (
    FolderPlan,
    JobState,
    MigrationJob,
)
from mailport.errors import Conflict

# DynamoDB's limit on one transaction. A save that changes more folders (only the Plan step
# writes them all) writes them first: a folder item ahead of its job only ever holds a plan
# or checkpoint that is true (stores come before checkpoints), and a redone Plan step writes
# the same folders again.
MAX_TRANSACTION = 100


class JobItems(DynamoTable):
    """The writes of a job item both the job store and the queue make (each its own port)."""

    def _job_key(self, tenant_id: str, user_id: str, job_id: str) -> dict[str, Any]:
        return self._key(user_pk(Owner(tenant_id, user_id)), keys.job_sk(job_id))

    def _update(
        self, job: MigrationJob, extra_remove: str = "GSI1PK, GSI1SK", queue: str | None = None
    ) -> dict[str, Any]:
        """A conditional save of every field. By default it also takes the job off the queue
        and the starting list (``GSI1``): a job is saved there only by the API or a worker of
        an execution that did start. ``queue`` moves it to another GSI1 list instead.
        """
        fields = job_fields(job)
        if not job.plan_loaded:
            # Read without its folders: an older item's inline plan stays where it is (a
            # reader with the plan moves it out, ``_with_plan``).
            fields = {k: v for k, v in fields.items() if k not in ("plan", "created_folders")}
        names = {f"#a{i}": k for i, k in enumerate(fields)}
        values = {f":v{i}": v for i, v in enumerate(fields.values()) if v is not None}
        sets = [f"#a{i} = :v{i}" for i, v in enumerate(fields.values()) if v is not None]
        removes = [f"#a{i}" for i, v in enumerate(fields.values()) if v is None]
        if extra_remove:
            removes.append(extra_remove)
        values.update({":old": job.version, ":new": job.version + 1})
        if queue is not None:
            sets.append("GSI1PK = :queue")
            values[":queue"] = queue
        expression = "SET " + ", ".join([*sets, "version = :new"])
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        return {
            **self._job_key(job.tenant_id, job.user_id, job.job_id),
            "UpdateExpression": expression,
            "ConditionExpression": "version = :old",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_ddb(values),
        }

    def _counter(self, pk: str, delta: int, limit: int | None = None) -> dict[str, Any]:
        update: dict[str, Any] = {
            **self._key(pk, keys.COUNT),
            "UpdateExpression": "ADD n :d",
            "ExpressionAttributeValues": to_ddb({":d": delta}),
        }
        if limit is not None:
            update["ConditionExpression"] = "attribute_not_exists(n) OR n < :max"
            update["ExpressionAttributeValues"] = to_ddb({":d": delta, ":max": limit})
        return update


class DynamoJobStore(JobItems):
    """``JobStore`` on DynamoDB."""

    def create_job(self, job: MigrationJob) -> None:
        """Save a new, queued job."""
        item = {
            "PK": user_pk(Owner(job.tenant_id, job.user_id)),
            "SK": keys.job_sk(job.job_id),
            "GSI1PK": QUEUE,
            "GSI1SK": queue_sort_key(job),
            **keys.tenant_keys(
                keys.JOBS, job.tenant_id, job.created_at.isoformat(), job.user_id, job.job_id
            ),
            "version": 0,
            **job_fields(job),
        }
        self._call(
            say("migration.doing_save"),
            "put_item",
            TableName=self._table,
            Item=to_ddb(item),
            ConditionExpression="attribute_not_exists(PK)",
        )

    def tenant_jobs(
        self, tenant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[MigrationJob], str | None]:
        """A page of every job of the tenant, newest first (for its admins): without their
        folders (a page of 200 jobs of thousands of folders each), their totals stand in.
        """
        items, next_cursor = self._tenant_page(
            say("migration.doing_list_tenant"), keys.JOBS, tenant_id, limit, cursor
        )
        return [job_of(i) for i in items], next_cursor

    def get_job(self, owner: Owner, job_id: str, *, plan: bool = True) -> MigrationJob | None:
        """One job, with its plan (else its totals), or None."""
        item = self._get(user_pk(owner), keys.job_sk(job_id), say("migration.doing_read"))
        if not item:
            return None
        return self._with_plan(owner, item) if plan else job_of(item)

    def list_jobs(self, owner: Owner, *, plans: bool = True) -> list[MigrationJob]:
        """The user's jobs, newest first: with their plans (a strongly consistent Query
        each), or with their totals only.
        """
        items = self._query(
            say("migration.doing_list"),
            KeyConditionExpression="PK = :pk AND begins_with(SK, :job)",
            ExpressionAttributeValues=to_ddb({":pk": user_pk(owner), ":job": keys.JOB_PREFIX}),
        )
        jobs = [self._with_plan(owner, i) if plans else job_of(i) for i in items]
        return sorted(jobs, key=lambda j: j.created_at, reverse=True)

    def _with_plan(self, owner: Owner, item: dict[str, Any]) -> MigrationJob:
        """The job of ``item`` with its folders (strongly consistent: a step carries on from
        the last checkpoint saved).
        """
        job_id = str(item["job_id"])
        if "plan" in item or "created_folders" in item:
            # Saved before folders had items of their own: its plan is inline until the next
            # save moves it out. Written out now too (idempotent), so that save, which writes
            # only the folders it changed, leaves every other folder in its item.
            plan = [folder_of(f) for f in item.get("plan") or []]
            created = [str(f) for f in item.get("created_folders") or []]
            self._move_out(owner, job_id, plan, created)
            return job_of(item, plan, created)
        if not item.get("planned"):  # the Plan step writes the folders with ``planned``
            return job_of(item, [])
        found = self._query(
            say("migration.doing_read"),
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=to_ddb({":pk": keys.plan_pk(owner, job_id)}),
            ConsistentRead=True,
        )
        folders: list[FolderPlan] = []
        created = []
        for f in found:
            if f["SK"] == keys.CREATED:
                created = [str(c) for c in f.get("ids") or []]
            else:
                folders.append(folder_of(f))
        # A Plan step redone after writing its folders may have surveyed fewer: the job's
        # count says which are its plan.
        count = as_int((item.get("totals") or {}).get("f"))
        return job_of(item, folders[:count], created)

    def _folder_put(
        self, owner: Owner, job_id: str, index: int, folder: FolderPlan
    ) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Item": to_ddb(
                {
                    "PK": keys.plan_pk(owner, job_id),
                    "SK": keys.plan_sk(index),
                    **folder_item(folder),
                }
            ),
        }

    def _move_out(
        self, owner: Owner, job_id: str, plan: Sequence[FolderPlan], created: Sequence[str]
    ) -> None:
        """Write an older item's inline plan out, each item only if not there yet: a reader
        that read the item before a worker's save must never put an older checkpoint back.
        """
        puts = [self._folder_put(owner, job_id, i, f) for i, f in enumerate(plan)]
        for put in [*puts, self._created_put(owner, job_id, created)]:
            try:
                self._call(
                    say("migration.doing_save"),
                    "put_item",
                    **put,
                    ConditionExpression="attribute_not_exists(PK)",
                )
            except ConditionFailed:
                continue

    def _created_put(self, owner: Owner, job_id: str, created: Sequence[str]) -> dict[str, Any]:
        item = {"PK": keys.plan_pk(owner, job_id), "SK": keys.CREATED, "ids": list(created)}
        return {"TableName": self._table, "Item": to_ddb(item)}

    def _put_folders(
        self,
        owner: Owner,
        job_id: str,
        folders: dict[int, FolderPlan],
        created: Sequence[str] | None = None,
    ) -> None:
        puts = [self._folder_put(owner, job_id, i, f) for i, f in folders.items()]
        if created is not None:
            puts.append(self._created_put(owner, job_id, created))
        self._batch_write(
            say("migration.doing_save"), [{"PutRequest": {"Item": p["Item"]}} for p in puts]
        )

    def save_job(
        self,
        job: MigrationJob,
        *,
        release: bool = False,
        unless_cancelled: bool = False,
        plan_changes: Sequence[int] = (),
        created_changed: bool = False,
    ) -> MigrationJob:
        """Save if unchanged since read; ``release`` gives its run slot back in the same write
        (one transaction: the job, the overall and the tenant's running counters);
        ``unless_cancelled``: not if a cancel arrived meanwhile (it is set outside ``version``);
        ``plan_changes``: the folders that changed, and ``created_changed``: the folders the
        job made, written in the same transaction (more than one transaction holds, the Plan
        step's: written first, see ``MAX_TRANSACTION``).
        """
        if not job.plan_loaded and (plan_changes or created_changed):
            raise ValueError("a job read without its plan can't save folders")
        update = self._update(job)
        if unless_cancelled:
            update["ConditionExpression"] += (
                " AND (attribute_not_exists(cancel_requested) OR cancel_requested = :no)"
            )
            update["ExpressionAttributeValues"][":no"] = {"BOOL": False}
        owner = Owner(job.tenant_id, job.user_id)
        items: list[dict[str, Any]] = [{"Update": update}]
        if release:
            items.append({"Update": self._counter(keys.running_pk(), -1)})
            items.append({"Update": self._counter(keys.running_pk(job.tenant_id), -1)})
        changed = {i: job.plan[i] for i in sorted(set(plan_changes))}
        created = job.created_folders if created_changed else None
        if len(items) + len(changed) + created_changed > MAX_TRANSACTION:
            self._put_folders(owner, job.job_id, changed, created)
            changed, created = {}, None
        items += [{"Put": self._folder_put(owner, job.job_id, i, f)} for i, f in changed.items()]
        if created is not None:
            items.append({"Put": self._created_put(owner, job.job_id, created)})
        try:
            if len(items) > 1:
                self._transact(say("migration.doing_save"), items)
            else:
                self._call(say("migration.doing_save"), "update_item", **update)
        except (ConditionFailed, Cancelled) as e:
            raise Conflict(say("migration.changed_meanwhile")) from e
        return _with_version(job, job.version + 1)

    def request_cancel(self, owner: Owner, job_id: str) -> bool:
        """Flag a running or paused job for cancelling."""
        try:
            self._call(
                say("migration.doing_cancel"),
                "update_item",
                **self._key(user_pk(owner), keys.job_sk(job_id)),
                UpdateExpression="SET cancel_requested = :t",
                ConditionExpression="#s IN (:r, :p)",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues=to_ddb(
                    {":t": True, ":r": JobState.RUNNING.value, ":p": JobState.PAUSED.value}
                ),
            )
        except ConditionFailed:
            return False
        return True


def _with_version(job: MigrationJob, version: int) -> MigrationJob:
    return dataclasses.replace(job, version=version)
