"""The Rollback step (also the user's revert of a completed job): remove what the job stored
and the folders it made, a piece at a time; the state machine loops until it is done.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mailport.domain.mailbox import Owner
from mailport.domain.migration import TERMINAL, JobState, MigrationJob
from mailport.errors import NotFound
from mailport.usecases.migration_context import StepContext, error_of
from mailport.workflow import Mode, RollbackResult


def rollback(
    ctx: StepContext, ref: Mapping[str, Any], error: object, mode: str = Mode.ROLLBACK
) -> RollbackResult:
    """One piece of the rollback (``mode`` revert: of the revert). Idempotent: what is gone
    stays gone.
    """
    owner, job = ctx.load(ref)
    revert = mode == Mode.REVERT
    final = JobState.REVERTED if revert else JobState.ROLLED_BACK
    if job.state in TERMINAL and not (revert and job.state is JobState.COMPLETED):
        # Ended already (a redelivered step, a second recovery). A completed job is undone
        # only by an explicit revert, never by a late catch.
        return {"done": True, "state": job.state.value}
    working = JobState.REVERTING if revert else JobState.ROLLING_BACK
    if job.state is not working:
        failure = job.error or (error_of(error) if not revert else None)
        job = ctx.save(job, replace(job, state=working, error=failure))
        # Cancelled or failed while waiting for a copy slot: out of the line at once.
        ctx.give_copy_slot(job.job_id)
    finished, removed = _remove_messages(ctx, owner, job)
    if not finished:
        if removed:  # the job says what it removed, piece by piece
            job = ctx.save(job, replace(job, removed=job.removed + removed))
        return {"done": False, "removed": removed}
    kept = _remove_folders(ctx, owner, job)
    end = replace(
        job,
        state=final,
        finished_at=ctx.clock(),
        sealed_secret=None,
        created_folders=kept,
        removed=job.removed + removed,
    )
    job = ctx.finish(job, end)
    return {"done": True, "removed": removed, "state": job.state.value}


def _remove_messages(ctx: StepContext, owner: Owner, job: MigrationJob) -> tuple[bool, int]:
    """Delete the job's messages for up to ``rollback_seconds``: whether all are gone, and
    how many went.
    """
    deadline = ctx.monotonic() + ctx.config.rollback_seconds
    removed = 0
    settled = False
    while ctx.monotonic() < deadline:
        ids = ctx.ledger.job_messages(owner, job.job_id, 100)
        if not ids and settled:
            return True, removed
        if not ids:
            # The job's messages are found through a GSI, which lags its table by a
            # moment: look once more after that moment before calling it done.
            ctx.sleep(ctx.config.index_settle_s)
            settled = True
            continue
        for message_id in ids:
            with contextlib.suppress(NotFound):
                ctx.mailbox_service.delete_message(owner, message_id)
            removed += 1
    return False, removed


def _remove_folders(ctx: StepContext, owner: Owner, job: MigrationJob) -> tuple[str, ...]:
    """Delete the folders the job made, children first; one the user has since put mail
    or folders into is kept (mail is never lost), and stays listed on the job.
    """
    kept: list[str] = []
    folders = {f.folder_id: f for f in ctx.mailbox.list_folders(owner)}
    for folder_id in reversed(job.created_folders):
        folder = folders.get(folder_id)
        if folder is None:
            continue
        has_children = any(f.parent_id == folder_id for f in folders.values())
        if folder.total or has_children:
            kept.append(folder_id)
            continue
        with contextlib.suppress(NotFound):
            ctx.mailbox.delete_folder(owner, folder)
        folders.pop(folder_id, None)
    return tuple(reversed(kept))
