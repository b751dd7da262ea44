"""The CopyChunk step: up to a chunk's worth of messages from the current folder onward,
with a checkpoint after every batch, under the provider's pace and a copy slot.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mailport.domain.mailbox import Owner
from mailport.domain.migration import (
    JobState,
    MigrationJob,
    reached_milestones,
)
from mailport.domain.remote import RemoteTransient
from mailport.usecases.migration_chunk import SEARCH_SPAN, SIZE_WINDOW, Chunk
from mailport.usecases.migration_context import StepContext, minus, provider_pause, require_active
from mailport.usecases.migration_plan import plan
from mailport.workflow import Cursor, cursor

__all__ = ["SEARCH_SPAN", "SIZE_WINDOW", "copy_chunk"]

log = logging.getLogger(__name__)


def copy_chunk(ctx: StepContext, ref: Mapping[str, Any], last: Mapping[str, Any]) -> Cursor:
    """Copy up to a chunk's worth of messages; ``last``: the cursor the machine passed."""
    owner, job = ctx.load(ref)
    chunks = int(last.get("chunks", 0)) + 1
    if job.state is JobState.COMPLETED:
        return cursor(True, chunks)
    require_active(job)
    now = ctx.clock()
    idle = _nothing_to_copy(ctx, ref, job, chunks, now)
    if idle is not None:
        return idle
    until = now + dt.timedelta(seconds=ctx.config.copy_lease_s)
    if not ctx.copy_slots.take_copy_slot(job.job_id, ctx.config.max_copying, now, until):
        log.info("waiting for a copy slot", extra={"job_id": job.job_id})
        return _waiting(ctx, chunks, ctx.config.copy_wait_s)
    try:
        if job.state is JobState.PAUSED:
            job = ctx.save(
                job, replace(job, state=JobState.RUNNING, paused_until=None, paused_by=None)
            )
        before, counted, started = job.percent(), job.counts, ctx.monotonic()
        job, wait_s = _run_chunk(ctx, owner, job)
    finally:
        ctx.give_copy_slot(job.job_id)
    progressed = job.counts != counted
    job = ctx.save(
        job,
        replace(
            job,
            chunks=job.chunks + 1,
            # Progress ends a provider's hold (only a hold without any counts as endless).
            provider_waited_s=0.0 if progressed else job.provider_waited_s,
        ),
    )
    if ctx.metrics is not None:
        ctx.metrics.chunk(minus(job.counts, counted), ctx.monotonic() - started)
    for milestone in reached_milestones(before, job.percent(), job.milestones):
        ctx.notify(owner, job, f"progress:{milestone}")  # first: a retry sends it again
        job = ctx.save(job, replace(job, milestones=(*job.milestones, milestone)))
    if wait_s:
        return _waiting(ctx, chunks, wait_s)
    done = job.next_folder() is None
    again = not done and chunks >= ctx.config.chunks_per_execution
    return cursor(done, chunks, continue_as_new=again)


def _nothing_to_copy(
    ctx: StepContext, ref: Mapping[str, Any], job: MigrationJob, chunks: int, now: dt.datetime
) -> Cursor | None:
    """The cursor of a step that copies nothing (paused, all copied, or its plan still to
    make), else None.
    """
    if job.paused_until and job.paused_until > now:
        return _waiting(ctx, chunks, int((job.paused_until - now).total_seconds()) + 1)
    if not job.planned:  # the provider paused its plan (a throttled login): plan now
        return plan(ctx, ref, chunks)
    if job.next_folder() is None:
        return cursor(True, chunks)
    return None


def _waiting(ctx: StepContext, chunks: int, wait_s: int) -> Cursor:
    """Back to the state machine's Wait, at most ``max_pause_s`` at a time. Each wait
    adds ~9 events to the execution's history (25,000 at most), so waits count as steps
    and a long wait goes on in a new execution, like a long copy.
    """
    again = chunks >= ctx.config.chunks_per_execution
    wait = min(wait_s, ctx.config.max_pause_s)
    return cursor(False, chunks, wait_s=wait, continue_as_new=again)


def _run_chunk(ctx: StepContext, owner: Owner, job: MigrationJob) -> tuple[MigrationJob, int]:
    """One chunk over one session; the job after it and any wait the server asked for."""
    try:
        session = ctx.open_source(job)
    except RemoteTransient as e:  # "too many simultaneous connections" comes at login
        return provider_pause(ctx, job, e)
    # The chunk stops taking messages at chunk_seconds; a server that trickles inside a
    # FETCH is cut later, well before the worker's Lambda timeout would end the step
    # with nothing saved and the migration rolled back.
    session.stop_after(ctx.config.chunk_seconds + ctx.config.cutoff_grace_s)
    chunk = Chunk(ctx, owner, job, session)
    try:
        return chunk.run()
    except RemoteTransient as e:
        return provider_pause(ctx, chunk.job, e)  # what it checkpointed is kept
    finally:
        session.logout()
