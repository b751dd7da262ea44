"""The Plan step: snapshot the source (folders, UIDVALIDITY, UIDNEXT, sizes), create the
target folders (recording which ones the job made), and announce the start.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mailport.catalogue import say
from mailport.domain.mailbox import Folder, Owner
from mailport.domain.migration import (
    DeltaUnavailable,
    FolderMapping,
    FolderPlan,
    JobKind,
    JobState,
    MigrationJob,
    NotRetryable,
    counts_for,
    pace_for,
)
from mailport.domain.remote import RemoteTransient
from mailport.errors import Conflict, NotFound
from mailport.usecases.migration_context import StepContext, provider_pause, require_active
from mailport.usecases.migration_shared import Survey, state_words, survey
from mailport.workflow import Cursor, cursor


def folder_id(job_id: str, path: Sequence[str]) -> str:
    """A folder the job creates gets an id derived from the job and path, so a retried plan
    recognises its own folders (and rollback deletes only those).
    """
    digest = hashlib.sha256("\x1f".join([job_id, *path]).encode("utf-8")).hexdigest()
    return "f" + digest[:20]


def plan(ctx: StepContext, ref: Mapping[str, Any], chunks: int = 0) -> Cursor:
    """Plan the job (once: a retried step only announces it again). A provider that says
    "slow down" at the first login pauses the plan: CopyChunk plans once the wait is over.
    """
    owner, job = ctx.load(ref)
    require_active(job)
    if job.planned:  # a retried step: the start notice may not have gone yet (same id)
        ctx.notify(owner, job, "started")
        return cursor(job.next_folder() is None, chunks)
    origin = _origin(ctx, owner, job)
    retry = _retry_counts(ctx, owner, origin) if job.kind is JobKind.RETRY else {}
    try:
        surveyed = _survey(ctx, job, origin, retry)
    except RemoteTransient as e:
        _, wait_s = provider_pause(ctx, job, e)
        return cursor(False, chunks, wait_s=min(wait_s, ctx.config.max_pause_s))
    ctx.mailbox_service.ensure_system_folders(owner)
    targets = _Targets(ctx, owner, job, ctx.mailbox.list_folders(owner))
    folders = [targets.folder_plan(s) for s in surveyed]
    if origin is not None and job.kind is JobKind.RETRY:
        folders = _retry_plan(origin, folders, retry)
    pace = pace_for(job.server.host, ctx.config.daily_bytes_override)
    planned = replace(
        job,
        state=JobState.RUNNING,
        paused_until=None,
        paused_by=None,
        provider_waited_s=0.0,
        plan=tuple(folders),
        planned=True,
        created_folders=tuple(targets.created),
        started_at=job.started_at or ctx.clock(),
        pace_name=pace.name,
        daily_bytes=pace.daily_bytes,
    )
    planned = ctx.save(job, planned)
    ctx.notify(owner, planned, "started")
    return cursor(planned.next_folder() is None, chunks)


def _origin(ctx: StepContext, owner: Owner, job: MigrationJob) -> MigrationJob | None:
    """The job a retry or delta pass follows (None for a full one)."""
    if job.kind is JobKind.FULL or job.origin_id is None:
        return None
    origin = ctx.jobs.get_job(owner, job.origin_id)
    if origin is None:
        raise NotFound(say("migration.job_missing", job_id=job.origin_id))
    if origin.state is not JobState.COMPLETED:  # reverted since it was queued: nothing to add to
        error = NotRetryable if job.kind is JobKind.RETRY else DeltaUnavailable
        raise error(say("migration.origin_state", state=state_words(origin.state)))
    return origin


def _retry_counts(
    ctx: StepContext, owner: Owner, origin: MigrationJob | None
) -> dict[int, tuple[int, int]]:
    """Per folder of the earlier job: how many of its listed messages a retry fetches, and
    their bytes (only lines its checkpoints count).
    """
    out: dict[int, tuple[int, int]] = {}
    for index, folder in enumerate(origin.plan if origin else ()):
        if not folder.counts.failed:
            continue
        assert origin is not None
        items = ctx.reports.retryable(owner, origin.job_id, index, 1, 2**31)
        counted = [i for i in items if counts_for(i, folder)]
        if counted:
            out[index] = (len(counted), sum(i.size for i in counted))
    return out


def _survey(
    ctx: StepContext,
    job: MigrationJob,
    origin: MigrationJob | None,
    retry: dict[int, tuple[int, int]],
) -> list[Survey]:
    only = since = None
    if origin is not None and job.kind is JobKind.RETRY:
        only = {origin.plan[i].raw_name for i in retry}
    elif origin is not None:
        since = {f.raw_name: (f.uidvalidity, f.uidnext) for f in origin.plan}
    session = ctx.open_source(job)
    session.stop_after(ctx.config.chunk_seconds + ctx.config.cutoff_grace_s)
    try:
        return survey(session, ctx.config.max_bytes, only=only, since=since)
    finally:
        session.logout()


def _retry_plan(
    origin: MigrationJob, folders: list[FolderPlan], retry: dict[int, tuple[int, int]]
) -> list[FolderPlan]:
    """A retry's folders: where the earlier job's listed messages are, under the numbering
    that job had (a folder renumbered since is copied whole, what is there already
    recognised by content, so nothing is duplicated).
    """
    index_of = {origin.plan[i].raw_name: i for i in retry}
    out: list[FolderPlan] = []
    for folder in folders:
        index = index_of.get(folder.raw_name)
        if index is None:
            continue
        then = origin.plan[index]
        if folder.uidvalidity != then.uidvalidity:
            out.append(folder)  # renumbered since: its UIDs mean nothing, copied whole
            continue
        messages, size = retry[index]
        out.append(
            replace(
                folder,
                uidvalidity=then.uidvalidity,
                uidnext=then.uidnext,
                messages=messages,
                bytes=size,
                oversize=0,
                origin_index=index,
                done=folder.target_id is None or messages == 0,
            )
        )
    return out


@dataclass
class _Targets:
    """The target folders of one plan: the mailbox's folders, and those the job made."""

    ctx: StepContext
    owner: Owner
    job: MigrationJob
    existing: list[Folder]
    created: list[str] = field(default_factory=list)

    def folder_plan(self, s: Survey) -> FolderPlan:
        """Where a surveyed source folder goes, and what there is to copy from it."""
        m = s.mapping
        target = None
        if not m.skip_reason:
            target = m.system.value if m.system else self._target(m)
        return FolderPlan(
            name=m.source.name,
            raw_name=m.source.raw_name,
            uidvalidity=s.folder.uidvalidity,
            uidnext=s.folder.uidnext,
            messages=s.folder.messages,
            bytes=s.bytes,
            oversize=s.oversize,
            target_id=target,
            target_label=m.target_label,
            skip_reason=m.skip_reason,
            dedup_across=m.dedup_across,
            done_uid=s.first_uid - 1,
            done=target is None or s.folder.messages == 0,
        )

    def _target(self, mapping: FolderMapping) -> str:
        """The user folder for a path, made (parents first) where missing. Names match as
        the mailbox compares them (ignoring case, system folders included), so a source's
        "INBOX/Projects" lands under the Inbox and its "Work" in the user's own "work".
        """
        mailbox, existing = self.ctx.mailbox, self.existing
        parent: str | None = None
        for depth, name in enumerate(mapping.path):
            own_id = folder_id(self.job.job_id, mapping.path[: depth + 1])
            found = _sibling(existing, parent, name)
            if found is None:
                folder = Folder(own_id, name, parent)
                try:
                    mailbox.create_folder(self.owner, folder)
                    existing.append(folder)
                    found = folder
                except Conflict:  # made meanwhile (a retried plan, the user): use that one
                    existing[:] = mailbox.list_folders(self.owner)
                    found = _sibling(existing, parent, name)
                    if found is None:
                        raise
            if found.folder_id == own_id and found.folder_id not in self.created:
                self.created.append(found.folder_id)
            parent = found.folder_id
        assert parent is not None
        return parent


def _sibling(folders: list[Folder], parent: str | None, name: str) -> Folder | None:
    key = name.casefold()
    return next((f for f in folders if f.parent_id == parent and f.name.casefold() == key), None)
