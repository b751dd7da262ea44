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
import datetime as dt
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
from mailport.adapters.keys import QUEUE, user_pk
from mailport.domain.mailbox import Owner
from mailport.domain.migration import (
    HOLDS_SLOT,
    Counts,
    FolderPlan,
    JobError,
    JobKind,
    JobState,
    MigrationJob,
    PauseCause,
    PlanTotals,
    SourceServer,
    Window,
    decode_raw,
    encode_raw,
)
from mailport.errors import Conflict

# DynamoDB's limit on one transaction. A save that changes more folders (only the Plan step
# writes them all) writes them first: a folder item ahead of its job only ever holds a plan
# or checkpoint that is true (stores come before checkpoints), and a redone Plan step writes
# the same folders again.
MAX_TRANSACTION = 100


def _when(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(str(value)) if value else None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _counts_item(c: Counts) -> dict[str, int]:
    return {
        "i": c.imported,
        "a": c.already_present,
        "o": c.skipped_oversize,
        "f": c.failed,
        "b": c.bytes,
    }


def _counts(item: dict[str, Any]) -> Counts:
    return Counts(
        as_int(item.get("i")),
        as_int(item.get("a")),
        as_int(item.get("o")),
        as_int(item.get("f")),
        as_int(item.get("b")),
    )


def _folder_item(f: FolderPlan) -> dict[str, Any]:
    return {
        "name": f.name,
        "raw": encode_raw(f.raw_name),
        "uv": f.uidvalidity,
        "un": f.uidnext,
        "n": f.messages,
        "b": f.bytes,
        "o": f.oversize,
        "target": f.target_id,
        "label": f.target_label,
        "skip": f.skip_reason,
        "dedup": f.dedup_across,
        "done_uid": f.done_uid,
        "done": f.done,
        "counts": _counts_item(f.counts),
        "restarts": f.restarts,
        "origin": f.origin_index,
    }


def _folder(item: dict[str, Any]) -> FolderPlan:
    return FolderPlan(
        name=str(item["name"]),
        raw_name=decode_raw(str(item["raw"])),
        uidvalidity=as_int(item.get("uv")),
        uidnext=as_int(item.get("un")),
        messages=as_int(item.get("n")),
        bytes=as_int(item.get("b")),
        oversize=as_int(item.get("o")),
        target_id=item.get("target"),
        target_label=str(item.get("label", "")),
        skip_reason=item.get("skip"),
        dedup_across=bool(item.get("dedup", False)),
        done_uid=as_int(item.get("done_uid")),
        done=bool(item.get("done", False)),
        counts=_counts(item.get("counts") or {}),
        restarts=as_int(item.get("restarts")),
        origin_index=as_int(item["origin"]) if item.get("origin") is not None else None,
    )


def queue_sort_key(job: MigrationJob) -> str:
    """The job's place in the queue (GSI1SK): its registration time, then who and which."""
    return keys.queue_order(
        job.created_at.isoformat(), Owner(job.tenant_id, job.user_id), job.job_id
    )


def _fields(job: MigrationJob) -> dict[str, Any]:
    """Every attribute a save writes (not the key, the queue entry or the cancel flag)."""
    s = job.server
    return {
        "type": "job",
        "job_id": job.job_id,
        "tenant_id": job.tenant_id,
        "user_id": job.user_id,
        "server": {
            "kind": s.kind,
            "host": s.host,
            "port": s.port,
            "ssl": s.ssl,
            "username": s.username,
            "template_id": s.template_id,
            "connection_id": s.connection_id,
        },
        "state": job.state.value,
        "created_at": job.created_at.isoformat(),
        "kind": job.kind.value,
        "origin_id": job.origin_id,
        "sealed": job.sealed_secret,
        "plan": None,  # the plan's folders are items of their own (removed from older items)
        "totals": _totals_item(job.plan_totals()),
        "planned": job.planned,
        "created_folders": None,  # in the plan's partition (removed from older items)
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "paused_until": _iso(job.paused_until),
        "paused_by": job.paused_by.value if job.paused_by else None,
        "provider_waited_s": str(round(job.provider_waited_s, 3)),
        "busy_s": str(round(job.busy_s, 3)),
        "window_start": str(job.window.start),
        "window_used": job.window.used,
        "daily_bytes": job.daily_bytes,
        "pace": job.pace_name,
        "error_code": job.error.code if job.error else None,
        "error_message": job.error.message if job.error else None,
        "rollback_incomplete": job.rollback_incomplete,
        "removed": job.removed,
        "milestones": list(job.milestones),
        "chunks": job.chunks,
        "executions": job.executions,
        "resumes": job.resumes,
        "slot": job.slot,
    }


def _totals_item(t: PlanTotals) -> dict[str, Any]:
    return {
        "counts": _counts_item(t.counts),
        "n": t.messages,
        "b": t.bytes,
        "next": t.next_folder,
        "created": t.created,
    }


def _totals(item: dict[str, Any] | None) -> PlanTotals:
    if not item:
        return PlanTotals()
    nxt = item.get("next")
    return PlanTotals(
        _counts(item.get("counts") or {}),
        as_int(item.get("n")),
        as_int(item.get("b")),
        as_int(nxt) if nxt is not None else None,
        as_int(item.get("created")),
    )


def _job(
    item: dict[str, Any],
    plan: Sequence[FolderPlan] | None = None,
    created: Sequence[str] = (),
) -> MigrationJob:
    """A job from its item; ``plan``: its folders (None: not loaded, ``totals`` stand in),
    ``created``: the folders it made.
    """
    server = item["server"]
    error = (
        JobError(str(item["error_code"]), str(item.get("error_message", "")))
        if item.get("error_code")
        else None
    )
    sealed = item.get("sealed")
    return MigrationJob(
        job_id=str(item["job_id"]),
        tenant_id=str(item["tenant_id"]),
        user_id=str(item["user_id"]),
        server=SourceServer(
            kind=str(server["kind"]),
            host=str(server["host"]),
            port=as_int(server["port"]),
            ssl=bool(server["ssl"]),
            username=str(server["username"]),
            template_id=server.get("template_id"),
            connection_id=server.get("connection_id"),
        ),
        state=JobState(str(item["state"])),
        created_at=dt.datetime.fromisoformat(str(item["created_at"])),
        kind=JobKind(str(item.get("kind", JobKind.FULL.value))),
        origin_id=str(item["origin_id"]) if item.get("origin_id") else None,
        sealed_secret=bytes(sealed) if sealed is not None else None,
        plan=tuple(plan or ()),
        plan_loaded=plan is not None,
        totals=_totals(item.get("totals")),
        planned=bool(item.get("planned", False)),
        created_folders=tuple(created),
        started_at=_when(item.get("started_at")),
        finished_at=_when(item.get("finished_at")),
        paused_until=_when(item.get("paused_until")),
        paused_by=PauseCause(str(item["paused_by"])) if item.get("paused_by") else None,
        provider_waited_s=float(str(item.get("provider_waited_s", "0"))),
        busy_s=float(str(item.get("busy_s", "0"))),
        window=Window(float(str(item.get("window_start", "0"))), as_int(item.get("window_used"))),
        daily_bytes=as_int(item["daily_bytes"]) if item.get("daily_bytes") is not None else None,
        pace_name=str(item.get("pace", "generic")),
        cancel_requested=bool(item.get("cancel_requested", False)),
        error=error,
        rollback_incomplete=bool(item.get("rollback_incomplete", False)),
        removed=as_int(item.get("removed")),
        milestones=tuple(as_int(m) for m in item.get("milestones") or []),
        chunks=as_int(item.get("chunks")),
        executions=as_int(item.get("executions")) or 1,
        resumes=as_int(item.get("resumes")),
        # Items saved before the flag existed: the state said it.
        slot=bool(item["slot"]) if "slot" in item else JobState(str(item["state"])) in HOLDS_SLOT,
        version=as_int(item.get("version")),
    )


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
        fields = _fields(job)
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
            **_fields(job),
        }
        self._call(
            "saving the migration",
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
            "listing the organisation's migrations", keys.JOBS, tenant_id, limit, cursor
        )
        return [_job(i) for i in items], next_cursor

    def get_job(self, owner: Owner, job_id: str) -> MigrationJob | None:
        """One job with its plan, or None."""
        item = self._get(user_pk(owner), keys.job_sk(job_id), "reading the migration")
        return self._with_plan(owner, item) if item else None

    def list_jobs(self, owner: Owner) -> list[MigrationJob]:
        """The user's jobs with their plans, newest first."""
        items = self._query(
            "listing migrations",
            KeyConditionExpression="PK = :pk AND begins_with(SK, :job)",
            ExpressionAttributeValues=to_ddb({":pk": user_pk(owner), ":job": keys.JOB_PREFIX}),
        )
        jobs = [self._with_plan(owner, i) for i in items]
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
            plan = [_folder(f) for f in item.get("plan") or []]
            created = [str(f) for f in item.get("created_folders") or []]
            self._put_folders(owner, job_id, dict(enumerate(plan)), created)
            return _job(item, plan, created)
        if not item.get("planned"):  # the Plan step writes the folders with ``planned``
            return _job(item, [])
        found = self._query(
            "reading the migration",
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
                folders.append(_folder(f))
        return _job(item, folders, created)

    def _folder_put(
        self, owner: Owner, job_id: str, index: int, folder: FolderPlan
    ) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Item": to_ddb(
                {
                    "PK": keys.plan_pk(owner, job_id),
                    "SK": keys.plan_sk(index),
                    **_folder_item(folder),
                }
            ),
        }

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
            "saving the migration", [{"PutRequest": {"Item": p["Item"]}} for p in puts]
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
        if not job.plan_loaded:
            raise ValueError("a job read without its plan can't be saved")
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
                self._transact("saving the migration", items)
            else:
                self._call("saving the migration", "update_item", **update)
        except (ConditionFailed, Cancelled) as e:
            raise Conflict("the migration changed meanwhile") from e
        return _with_version(job, job.version + 1)

    def request_cancel(self, owner: Owner, job_id: str) -> bool:
        """Flag a running or paused job for cancelling."""
        try:
            self._call(
                "cancelling the migration",
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
