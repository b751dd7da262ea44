"""Migration jobs, their queue and run slots, and IMAP templates on the single mailport table
(key format: ``mailport.adapters.keys``).

* The job: source (no password), the sealed password until the job ends, the plan with every
  folder's checkpoint, counts, state. While queued it is in the queue (GSI1, registration
  order); from its start until its execution's first save, in the starting list (crash
  recovery). Every save is conditional on ``version`` (optimistic locking);
  ``cancel_requested`` is set apart from it, so the API's cancel never collides with a
  worker's checkpoint.
* Running-job counters, overall and per tenant: the limits are conditions on them in the same
  transaction that starts a job.
* Copy slots: a running job holds one while a chunk copies, with a lease (``until``) that
  frees it if the worker dies mid-chunk; beside them the jobs waiting for one, oldest
  ``since`` first.
* Contents a Gmail-style job imported, so the same mail under several labels is copied once
  (TTL a month).
* The tenant's IMAP server templates.
* Messages a job stored are in its GSI2 partition (written by the mailbox adapter).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import random
import time
from collections.abc import Iterator, Sequence
from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import (
    Cancelled,
    ConditionFailed,
    DynamoTable,
    as_int,
    to_ddb,
)
from mailport.adapters.keys import COPYING, QUEUE, STARTING, user_pk
from mailport.domain.mailbox import Owner
from mailport.domain.migration import (
    HOLDS_SLOT,
    Counts,
    FolderPlan,
    ImapTemplate,
    JobError,
    JobState,
    MigrationJob,
    SourceServer,
    Window,
    decode_raw,
    encode_raw,
)
from mailport.errors import Conflict

CONTENT_TTL_S = 30 * 86_400
COPY_WAITER_TTL_S = 300  # a job waiting for a copy slot asks every 30 s; 10 misses and it's out
QUEUE_POSITION_CAP = 100  # jobs ahead counted exactly; more shows as "over 100"


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
    )


def _queue_sort_key(job: MigrationJob) -> str:
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
        "sealed": job.sealed_secret,
        "plan": [_folder_item(f) for f in job.plan],
        "planned": job.planned,
        "created_folders": list(job.created_folders),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "paused_until": _iso(job.paused_until),
        "busy_s": str(round(job.busy_s, 3)),
        "window_start": str(job.window.start),
        "window_used": job.window.used,
        "daily_bytes": job.daily_bytes,
        "pace": job.pace_name,
        "error_code": job.error.code if job.error else None,
        "error_message": job.error.message if job.error else None,
        "rollback_incomplete": job.rollback_incomplete,
        "milestones": list(job.milestones),
        "chunks": job.chunks,
        "executions": job.executions,
        "resumes": job.resumes,
        "slot": job.slot,
    }


def _job(item: dict[str, Any]) -> MigrationJob:
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
        sealed_secret=bytes(sealed) if sealed is not None else None,
        plan=tuple(_folder(f) for f in item.get("plan") or []),
        planned=bool(item.get("planned", False)),
        created_folders=tuple(str(f) for f in item.get("created_folders") or []),
        started_at=_when(item.get("started_at")),
        finished_at=_when(item.get("finished_at")),
        paused_until=_when(item.get("paused_until")),
        busy_s=float(str(item.get("busy_s", "0"))),
        window=Window(float(str(item.get("window_start", "0"))), as_int(item.get("window_used"))),
        daily_bytes=as_int(item["daily_bytes"]) if item.get("daily_bytes") is not None else None,
        pace_name=str(item.get("pace", "generic")),
        cancel_requested=bool(item.get("cancel_requested", False)),
        error=error,
        rollback_incomplete=bool(item.get("rollback_incomplete", False)),
        milestones=tuple(as_int(m) for m in item.get("milestones") or []),
        chunks=as_int(item.get("chunks")),
        executions=as_int(item.get("executions")) or 1,
        resumes=as_int(item.get("resumes")),
        # Items saved before the flag existed: the state said it.
        slot=bool(item["slot"]) if "slot" in item else JobState(str(item["state"])) in HOLDS_SLOT,
        version=as_int(item.get("version")),
    )


class DynamoMigrations(DynamoTable):
    """``Migrations`` on the mailport table."""

    def _job_key(self, tenant_id: str, user_id: str, job_id: str) -> dict[str, Any]:
        return self._key(user_pk(Owner(tenant_id, user_id)), keys.job_sk(job_id))

    def create_job(self, job: MigrationJob) -> None:
        """Save a new, queued job."""
        item = {
            "PK": user_pk(Owner(job.tenant_id, job.user_id)),
            "SK": keys.job_sk(job.job_id),
            "GSI1PK": QUEUE,
            "GSI1SK": _queue_sort_key(job),
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
        """A page of every job of the tenant, newest first (for its admins)."""
        items, next_cursor = self._tenant_page(
            "listing the organisation's migrations", keys.JOBS, tenant_id, limit, cursor
        )
        return [_job(i) for i in items], next_cursor

    def get_job(self, owner: Owner, job_id: str) -> MigrationJob | None:
        """One job, or None."""
        item = self._get(user_pk(owner), keys.job_sk(job_id), "reading the migration")
        return _job(item) if item else None

    def list_jobs(self, owner: Owner) -> list[MigrationJob]:
        """The user's jobs, newest first."""
        items = self._query(
            "listing migrations",
            KeyConditionExpression="PK = :pk AND begins_with(SK, :job)",
            ExpressionAttributeValues=to_ddb({":pk": user_pk(owner), ":job": keys.JOB_PREFIX}),
        )
        return sorted((_job(i) for i in items), key=lambda j: j.created_at, reverse=True)

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

    def save_job(
        self, job: MigrationJob, *, release: bool = False, unless_cancelled: bool = False
    ) -> MigrationJob:
        """Save if unchanged since read; ``release`` gives its run slot back in the same write;
        ``unless_cancelled``: not if a cancel arrived meanwhile (it is set outside ``version``).
        """
        update = self._update(job)
        if unless_cancelled:
            update["ConditionExpression"] += (
                " AND (attribute_not_exists(cancel_requested) OR cancel_requested = :no)"
            )
            update["ExpressionAttributeValues"][":no"] = {"BOOL": False}
        try:
            if release:
                self._transact(
                    "saving the migration",
                    [
                        {"Update": update},
                        {"Update": self._counter(keys.running_pk(), -1)},
                        {"Update": self._counter(keys.running_pk(job.tenant_id), -1)},
                    ],
                )
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
            self._call("cancelling the migration", "update_item", **update)
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
        values.update(to_ddb({":sk": _queue_sort_key(job)}))
        if cancel:
            values[":t"] = {"BOOL": True}
        try:
            self._call("queueing the migration", "update_item", **update)
        except ConditionFailed:
            return False
        return True

    def claim(self, job: MigrationJob, started: MigrationJob, total: int, per_tenant: int) -> str:
        """Start a queued job if a slot is free (one transaction: job, overall, tenant)."""
        # Listed as starting until its execution's first step saves: if this process dies
        # before the execution starts, the next scheduler run starts it (see ``starting``).
        update = self._update(started, extra_remove="", queue=STARTING)
        update["ConditionExpression"] = "version = :old AND #s = :q"
        update["ExpressionAttributeNames"]["#s"] = "state"
        update["ExpressionAttributeValues"][":q"] = to_ddb({"q": JobState.QUEUED.value})["q"]
        try:
            self._transact(
                "starting the migration",
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

    def take_copy_slot(self, holder: str, cap: int, now: dt.datetime, until: dt.datetime) -> bool:
        """One of ``cap`` copy slots for ``holder`` until ``until``; False if all are held.

        A slot whose lease has run out (its worker died mid-chunk) is free; the holder's own
        slot is taken again (a retried step). Jobs that found none wait in line, oldest
        first: a job takes a free slot only if enough are free for every job ahead of it,
        so one that ends a chunk can't take its slot straight back from those waiting. A
        free slot is picked at random so workers asking at once rarely collide.
        """
        now_s = int(now.timestamp())
        slots, waiters = self._copy_state(now_s)
        mine = [n for n, h in slots.items() if h == holder and n < cap]
        if mine and self._put_slot(mine[0], holder, now_s, until):
            return True
        since = waiters.get(holder, now_s)
        ahead = sum(1 for h, s in waiters.items() if h != holder and (s, h) < (since, holder))
        free = [n for n in range(cap) if n not in slots]
        if len(free) > ahead:
            random.shuffle(free)
            for n in free[:3]:
                if self._put_slot(n, holder, now_s, until):
                    if holder in waiters:
                        self._delete_copy_item(keys.waiter_sk(holder), holder)
                    return True
        self._wait_in_line(holder, now_s)
        return False

    def _copy_state(self, now_s: int) -> tuple[dict[int, str], dict[str, int]]:
        """Live slots (number → holder) and live waiters (holder → since when)."""
        slots: dict[int, str] = {}
        waiters: dict[str, int] = {}
        # One partition: the slots (~60 B each) and the jobs waiting for one (~70 B each).
        for item in self._copy_items():
            if as_int(item.get("until")) < now_s:
                continue  # a lease or a place in line that ran out
            slot = keys.slot_of(str(item["SK"]))
            if slot is not None:
                slots[slot] = str(item["holder"])
            else:
                waiters[str(item["holder"])] = as_int(item.get("since"))
        return slots, waiters

    def _put_slot(self, n: int, holder: str, now_s: int, until: dt.datetime) -> bool:
        item = {
            "PK": COPYING,
            "SK": keys.slot_sk(n),
            "holder": holder,
            "until": int(until.timestamp()),
        }
        try:
            self._call(
                "taking a copy slot",
                "put_item",
                TableName=self._table,
                Item=to_ddb(item),
                ConditionExpression="attribute_not_exists(PK) OR #u < :now OR holder = :me",
                ExpressionAttributeNames={"#u": "until"},
                ExpressionAttributeValues=to_ddb({":now": now_s, ":me": holder}),
            )
        except ConditionFailed:
            return False  # another worker took it first
        return True

    def _wait_in_line(self, holder: str, now_s: int) -> None:
        # Keeps the first "since"; a waiter that stops asking (its job ended) drops out.
        self._call(
            "waiting for a copy slot",
            "update_item",
            **self._key(COPYING, keys.waiter_sk(holder)),
            UpdateExpression="SET holder = :me, since = if_not_exists(since, :now), #u = :u",
            ExpressionAttributeNames={"#u": "until"},
            ExpressionAttributeValues=to_ddb(
                {":me": holder, ":now": now_s, ":u": now_s + COPY_WAITER_TTL_S}
            ),
        )

    def _copy_items(self, prefix: str | None = None) -> Iterator[dict[str, Any]]:
        key, values = "PK = :p", {":p": COPYING}
        if prefix:  # DynamoDB refuses an empty string in a key condition
            key, values = f"{key} AND begins_with(SK, :s)", {**values, ":s": prefix}
        return self._query(
            "reading the copy slots",
            KeyConditionExpression=key,
            ExpressionAttributeValues=to_ddb(values),
            ConsistentRead=True,
        )

    def _delete_copy_item(self, sk: str, holder: str) -> None:
        # A failed condition: its lease ran out and another job holds it now.
        with contextlib.suppress(ConditionFailed):
            self._call(
                "freeing a copy slot",
                "delete_item",
                **self._key(COPYING, sk),
                ConditionExpression="holder = :me",
                ExpressionAttributeValues=to_ddb({":me": holder}),
            )

    def give_copy_slot(self, holder: str) -> None:
        """Free ``holder``'s copy slot and its place in line (none is fine: a retried step)."""
        # The slots only (at most the cap), not the line, which can be 20 times longer.
        for item in self._copy_items(keys.SLOT_PREFIX):
            if item.get("holder") == holder:
                self._delete_copy_item(str(item["SK"]), holder)
        self._delete_copy_item(keys.waiter_sk(holder), holder)

    def queued(self, limit: int) -> list[tuple[Owner, str]]:
        """The oldest queued jobs, in registration order."""
        return self._gsi1_jobs(QUEUE, limit)

    def _gsi1_jobs(self, partition: str, limit: int) -> list[tuple[Owner, str]]:
        page = self._call(
            "reading the migration queue",
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
        means "further back"): the queue index holds whole job items, so counting a backlog
        of 100,000 on every page view would read them all (docs/capacity.md).
        """
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": keys.GSI1,
            "KeyConditionExpression": "GSI1PK = :q AND GSI1SK < :me",
            "ExpressionAttributeValues": to_ddb({":q": QUEUE, ":me": _queue_sort_key(job)}),
            "Select": "COUNT",
            "Limit": cap,
        }
        page = self._call("reading the migration queue", "query", **kwargs)
        return min(int(page.get("Count", 0)), cap) + 1

    def job_messages(self, owner: Owner, job_id: str, limit: int) -> list[str]:
        """Ids of messages the job stored that are still there."""
        page = self._call(
            "listing the migration's messages",
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
            str(item["SK"]["S"]) for item in self._batch_get("reading the migration", wanted, "SK")
        }

    def remember_contents(self, owner: Owner, job_id: str, fingerprints: Sequence[str]) -> None:
        """Note contents the job imported (TTL: a month)."""
        pk = keys.contents_pk(owner, job_id)
        expires = int(time.time()) + CONTENT_TTL_S
        self._batch_write(
            "saving the migration",
            [
                {"PutRequest": {"Item": to_ddb({"PK": pk, "SK": fp, "expires_at": expires})}}
                for fp in dict.fromkeys(fingerprints)
            ],
        )

    def list_templates(self, tenant_id: str) -> list[ImapTemplate]:
        """The tenant's IMAP server templates, by name."""
        items = self._query(
            "listing IMAP templates",
            KeyConditionExpression="PK = :pk AND begins_with(SK, :t)",
            ExpressionAttributeValues=to_ddb(
                {":pk": keys.tenant_pk(tenant_id), ":t": keys.TEMPLATE_PREFIX}
            ),
        )
        return sorted((_template(i) for i in items), key=lambda t: t.name.casefold())

    def get_template(self, tenant_id: str, template_id: str) -> ImapTemplate | None:
        """One template of the tenant, or None."""
        item = self._get(
            keys.tenant_pk(tenant_id), keys.template_sk(template_id), "reading the template"
        )
        return _template(item) if item else None

    def put_template(self, tenant_id: str, template: ImapTemplate, *, replace: bool) -> bool:
        """Create a template, or (``replace``) change one that exists."""
        item = {
            "PK": keys.tenant_pk(tenant_id),
            "SK": keys.template_sk(template.template_id),
            "type": "imap_template",
            "template_id": template.template_id,
            "name": template.name,
            "host": template.host,
            "port": template.port,
            "ssl": template.ssl,
        }
        condition = "attribute_exists(PK)" if replace else "attribute_not_exists(PK)"
        try:
            self._call(
                "saving the IMAP template",
                "put_item",
                TableName=self._table,
                Item=to_ddb(item),
                ConditionExpression=condition,
            )
        except ConditionFailed:
            return False
        return True

    def delete_template(self, tenant_id: str, template_id: str) -> bool:
        """Remove a template; False if there was none."""
        try:
            self._call(
                "deleting the IMAP template",
                "delete_item",
                **self._key(keys.tenant_pk(tenant_id), keys.template_sk(template_id)),
                ConditionExpression="attribute_exists(PK)",
            )
        except ConditionFailed:
            return False
        return True


def _template(item: dict[str, Any]) -> ImapTemplate:
    return ImapTemplate(
        str(item["template_id"]),
        str(item["name"]),
        str(item["host"]),
        as_int(item["port"]),
        bool(item.get("ssl", True)),
    )


def _with_version(job: MigrationJob, version: int) -> MigrationJob:
    return dataclasses.replace(job, version=version)
