"""The migration job's item format on the single table (``dynamodb_jobs`` stores it): the
job item's attributes, a folder of its plan, and the plan's totals; reading older items too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import as_int
from mailport.catalogue import stored, words_of
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

__all__ = [
    "folder_item",
    "folder_of",
    "job_fields",
    "job_of",
    "queue_sort_key",
]


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


def folder_item(f: FolderPlan) -> dict[str, Any]:
    """A folder of the plan as stored (short names: thousands of them per job)."""
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
        "r": f.retryable,
    }


def folder_of(item: dict[str, Any]) -> FolderPlan:
    """Inverse of ``folder_item``."""
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
        retryable=as_int(item.get("r")),
    )


def queue_sort_key(job: MigrationJob) -> str:
    """The job's place in the queue (GSI1SK): its registration time, then who and which."""
    return keys.queue_order(
        job.created_at.isoformat(), Owner(job.tenant_id, job.user_id), job.job_id
    )


def job_fields(job: MigrationJob) -> dict[str, Any]:
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
        "error_words": stored(job.error.words) if job.error else None,
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
        "r": t.retryable,
        "f": t.folders,
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
        as_int(item.get("r")),
        as_int(item.get("f")),
    )


def _inline_totals(item: dict[str, Any]) -> PlanTotals:
    """The totals of an older item, from its inline plan."""
    plan = tuple(folder_of(f) for f in item.get("plan") or [])
    created = tuple(str(f) for f in item.get("created_folders") or [])
    sketch = MigrationJob(
        "",
        "",
        "",
        SourceServer("manual", "", 0, True, ""),
        JobState.QUEUED,
        dt.datetime.now(dt.UTC),
        plan=plan,
        created_folders=created,
    )
    return sketch.plan_totals()


def job_of(
    item: dict[str, Any],
    plan: Sequence[FolderPlan] | None = None,
    created: Sequence[str] = (),
) -> MigrationJob:
    """A job from its item; ``plan``: its folders (None: not loaded, ``totals`` stand in),
    ``created``: the folders it made.
    """
    server = item["server"]
    error = (
        JobError(
            str(item["error_code"]),
            str(item.get("error_message", "")),
            words_of(item.get("error_words")),
        )
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
        totals=_totals(item.get("totals")) if "totals" in item else _inline_totals(item),
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
