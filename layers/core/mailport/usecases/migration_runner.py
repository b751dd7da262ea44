"""The steps the IMAP migration state machine invokes (plan, copy a chunk, finalize, roll
back, notify, suspend, continue as new; ``mailport.workflow.Step``), on the job item as the
single source of truth: Step Functions passes only the job's reference and a small cursor, so
credentials never enter the execution history, and every step reads the latest checkpoint (a
retried step carries on from where the last one saved).

The long steps have modules of their own (``migration_plan``, ``migration_copy``,
``migration_rollback``); each gets a ``StepContext`` built from this runner for the step.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from mailport.domain.migration import TERMINAL, JobState, MigrationJob
from mailport.domain.oauth import OAuthProvider, Purpose
from mailport.errors import MailportError
from mailport.ports import (
    AccessTokens,
    ContentLedger,
    CopySlots,
    Directory,
    Executions,
    ImapConnector,
    JobQueue,
    JobReports,
    JobStore,
    Mailbox,
    Mailer,
    MigrationMetrics,
    SecretBox,
)
from mailport.usecases import migration_copy, migration_plan, migration_rollback
from mailport.usecases.importing import Importer
from mailport.usecases.mailbox import MailboxService
from mailport.usecases.migration_context import (
    JobNotActive,
    StepContext,
    error_of,
    require_active,
)
from mailport.usecases.migration_shared import MigrationConfig, SourceLogin, job_ref
from mailport.workflow import Cursor, ExecutionInput, Mode, Outcome, RollbackResult, cursor

log = logging.getLogger(__name__)

__all__ = ["JobNotActive", "MigrationRunner", "error_of"]  # the last two: tests, the worker


class MigrationRunner:
    """The steps the migration state machine invokes."""

    def __init__(
        self,
        jobs: JobStore,
        connector: ImapConnector,
        *,
        queue: JobQueue,
        copy_slots: CopySlots,
        ledger: ContentLedger,
        reports: JobReports,
        mailbox: Mailbox,
        mailbox_service: MailboxService,
        importer: Importer,
        secrets: SecretBox,
        executions: Executions,
        config: MigrationConfig,
        directory: Directory | None = None,
        mailer: Mailer | None = None,
        metrics: MigrationMetrics | None = None,
        tokens: AccessTokens | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sleep = sleep
        self._tokens = tokens
        self._metrics = metrics
        self._directory = directory
        self._mailer = mailer
        self._jobs = jobs
        self._queue = queue
        self._copy_slots = copy_slots
        self._ledger = ledger
        self._reports = reports
        self._connector = connector
        self._mailbox = mailbox
        self._service = mailbox_service
        self._importer = importer
        self._secrets = secrets
        self._executions = executions
        self._config = config
        self._clock = clock
        self._monotonic = monotonic

    def _context(self) -> StepContext:
        """The collaborators for one step, read afresh (a test may swap one meanwhile)."""
        return StepContext(
            jobs=self._jobs,
            copy_slots=self._copy_slots,
            ledger=self._ledger,
            reports=self._reports,
            login=SourceLogin(self._connector, self._tokens, self._config.ca_file),
            mailbox=self._mailbox,
            mailbox_service=self._service,
            importer=self._importer,
            secrets=self._secrets,
            executions=self._executions,
            config=self._config,
            clock=self._clock,
            monotonic=self._monotonic,
            sleep=self._sleep,
            directory=self._directory,
            mailer=self._mailer,
            metrics=self._metrics,
            tokens=self._tokens,
        )

    def plan(self, ref: Mapping[str, Any]) -> Cursor:
        """Snapshot the source, create the target folders, and announce the start."""
        return migration_plan.plan(self._context(), ref)

    def copy_chunk(self, ref: Mapping[str, Any], cursor: Mapping[str, Any]) -> Cursor:
        """Copy up to a chunk's worth of messages, with a checkpoint after every batch."""
        return migration_copy.copy_chunk(self._context(), ref, cursor)

    def rollback(
        self, ref: Mapping[str, Any], error: object, mode: str = Mode.ROLLBACK
    ) -> RollbackResult:
        """Remove what the job stored and the folders it made, a piece at a time (the state
        machine loops until done). Idempotent: what is gone stays gone.
        """
        return migration_rollback.rollback(self._context(), ref, error, mode)

    def finalize(self, ref: Mapping[str, Any]) -> dict[str, Any]:
        """The job is complete: forget the password, free the slot."""
        ctx = self._context()
        _, job = ctx.load(ref)
        if job.state is not JobState.COMPLETED:
            require_active(job)
            done = replace(
                job, state=JobState.COMPLETED, finished_at=ctx.clock(), sealed_secret=None
            )
            job = ctx.finish(job, done, unless_cancelled=True)
        return {"state": job.state.value, "counts": job.counts.to_json()}

    def notify(self, ref: Mapping[str, Any], outcome: str) -> dict[str, Any]:
        """Tell the user how it ended; a rollback that could not finish marks the job failed."""
        ctx = self._context()
        owner, job = ctx.load(ref)
        if outcome != Outcome.COMPLETED and job.state is JobState.COMPLETED:
            # A late catch after the job completed: it was not rolled back, so say nothing.
            return {"notified": "", "state": job.state.value}
        if outcome == Outcome.ROLLBACK_FAILED and job.state not in TERMINAL:
            failed = replace(
                job,
                state=JobState.FAILED,
                rollback_incomplete=True,
                finished_at=ctx.clock(),
                sealed_secret=None,
            )
            job = ctx.finish(job, failed)
        ctx.notify(owner, job, outcome, retry_email=True)
        return {"notified": outcome, "state": job.state.value}

    def suspend(self, ref: Mapping[str, Any], error: object) -> dict[str, Any]:
        """The sign-in (Microsoft 365 or Google) stopped working: park the job (slot freed,
        mail kept) until the user signs in again, and tell them. Idempotent: a retried step only
        re-sends the same notice; a step of an execution the job has since outlived (it was
        resumed meanwhile) does nothing.
        """
        ctx = self._context()
        owner, job = ctx.load(ref)
        if int(ref.get("resumes", job.resumes)) != job.resumes:
            return {"state": job.state.value, "stale": True}
        if job.state is not JobState.NEEDS_SIGNIN:
            require_active(job)
            waiting = replace(
                job,
                state=JobState.NEEDS_SIGNIN,
                paused_until=None,
                paused_by=None,
                error=replace(error_of(error), code="signin_required"),
            )
            # A cancel that arrives meanwhile wins: the retry then rolls the job back.
            job = ctx.save(job, waiting, unless_cancelled=True)
        ctx.notify(owner, job, f"signin_required:{job.resumes}")
        self._resume_if_signed_in(job)
        return {"state": job.state.value}

    def _resume_if_signed_in(self, job: MigrationJob) -> None:
        """The user may have signed in again between the failed refresh and the parking
        (the sign-in found no parked job to resume then): queue it again now.
        """
        cid = job.server.connection_id
        if self._tokens is None or cid is None:
            return
        try:
            ready = (
                self._tokens.connection_email(
                    job.tenant_id,
                    job.user_id,
                    cid,
                    Purpose.IMAP,
                    job.server.provider or OAuthProvider.MICROSOFT,
                )
                is not None
            )
        except MailportError:  # still needs a sign-in (or unreadable): stays parked
            return
        if ready:
            queued = replace(job, state=JobState.QUEUED, error=None, resumes=job.resumes + 1)
            if self._queue.requeue(queued, cancel=False):
                log.info("signed in meanwhile: queued again", extra={"job_id": job.job_id})

    def continue_as_new(self, ref: Mapping[str, Any]) -> dict[str, Any]:
        """Carry the job on in a fresh execution (the history of one is capped at 25,000
        events; a mailbox's size must not be).
        """
        ctx = self._context()
        _, job = ctx.load(ref)
        # Named by the chunks done so far: a retried step (no chunk in between) names the
        # same execution, which then already exists, so the job never runs twice at once.
        name = f"{job.job_id}-c{job.chunks}"
        payload: ExecutionInput = {"job": job_ref(job), "progress": {"cursor": cursor(False, 0)}}
        if ctx.executions.start(name, payload):
            ctx.save(job, replace(job, executions=job.executions + 1))
        return {"continued_in": name}
