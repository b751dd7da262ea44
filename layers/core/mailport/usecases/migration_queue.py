"""The migration queue: ``Scheduler`` starts queued jobs in registration order while run
slots are free, recovers executions that ended early, and restarts stalled starts.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from mailport.catalogue import say
from mailport.domain.mailbox import Owner
from mailport.domain.migration import ACTIVE, TERMINAL, JobError, JobState, MigrationJob
from mailport.errors import MailportError, TransientError
from mailport.ports import Executions, JobQueue, JobStore
from mailport.usecases.migration_shared import MigrationConfig, job_ref, owner_of
from mailport.workflow import ErrorName, ExecutionInput, Mode

log = logging.getLogger(__name__)

STALLED_AFTER_S = 60  # a claimed job whose execution never saved: started again after this


def launch_name(job: MigrationJob) -> str:
    """The execution name of a job's (re)start: the job id, then one per resume, so a
    resumed job gets a new execution while a repeated start of the same one is refused.
    """
    return job.job_id if job.resumes == 0 else f"{job.job_id}-resume{job.resumes}"


class Scheduler:
    """Reads jobs without their plans (it never changes a folder).

    Starts queued jobs in registration order while slots are free; reacts to the end of
    an execution (EventBridge), so the next job starts when one ends, without polling.
    """

    def __init__(
        self,
        jobs: JobStore,
        executions: Executions,
        config: MigrationConfig,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        *,
        queue: JobQueue,
    ) -> None:
        self._jobs = jobs
        self._queue = queue
        self._executions = executions
        self._config = config
        self._clock = clock

    def start_next(self, scan: int = 200, newest: tuple[Owner, str] | None = None) -> list[str]:
        """Start as many queued jobs as the limits allow; the ids started.

        ``newest``: a job just created. The queue is read from an index that may lag a
        moment behind the write, so the caller's new job is considered too (last: it is the
        newest, so registration order holds).
        """
        started: list[str] = []
        full_tenants: set[str] = set()
        candidates = self._queue.queued(scan)
        if newest is not None and newest not in candidates:
            candidates.append(newest)
        for owner, job_id in candidates:
            if owner.tenant_id in full_tenants:
                continue  # a later job of a full tenant must not overtake its earlier ones
            job = self._jobs.get_job(owner, job_id, plan=False)
            if job is None or job.state is not JobState.QUEUED:
                continue
            running = replace(
                job,
                state=JobState.RUNNING,
                started_at=job.started_at or self._clock(),
                slot=True,
            )
            outcome = self._queue.claim(
                job, running, self._config.max_running, self._config.max_per_tenant
            )
            if outcome == "full":
                break
            if outcome == "tenant_full":
                full_tenants.add(owner.tenant_id)
                continue
            if outcome == "started":
                self._launch(replace(running, version=job.version + 1))
                started.append(job_id)
        return started

    def sweep(self) -> list[str]:
        """The slow schedule's work: start stalled executions, then queued jobs.

        Not on every API call or execution end: the stalled list is nearly always empty.
        """
        self._relaunch_stalled(200)
        return self.start_next()

    def _relaunch_stalled(self, scan: int) -> None:
        """Start the execution of a job that got its slot over a minute ago but never saved
        from an execution (the process that claimed it died in between). The execution's
        name is the job id, so a start that did happen is not repeated.
        """
        stale = self._clock() - dt.timedelta(seconds=STALLED_AFTER_S)
        for owner, job_id in self._queue.starting(scan):
            job = self._jobs.get_job(owner, job_id, plan=False)
            if job and job.state in ACTIVE and job.started_at and job.started_at < stale:
                log.warning("starting a stalled migration", extra={"job_id": job_id})
                self._executions.start(launch_name(job), {"job": job_ref(job)})

    def _launch(self, job: MigrationJob) -> None:
        try:
            self._executions.start(launch_name(job), {"job": job_ref(job)})
        except MailportError as e:
            if job.planned or isinstance(e, TransientError):
                # A resumed job has mail copied already: failing it here would leave that
                # behind. Step Functions throttling (or a 5xx) is ours to retry, not a reason
                # to fail the user's job. Either way it stays listed as starting, so the
                # sweep starts it again.
                log.exception("could not start the execution yet", extra={"job_id": job.job_id})
                return
            # The slot is taken but nothing runs: fail the job (and free the slot) rather
            # than leave it hanging; the user can start it again.
            log.exception("could not start the execution", extra={"job_id": job.job_id})
            failed = replace(
                job,
                state=JobState.ROLLED_BACK,
                finished_at=self._clock(),
                sealed_secret=None,
                error=JobError.said(
                    "not_started", say("migration.not_started", problem=e.words or e.message)
                ),
            )
            self._jobs.save_job(replace(failed, slot=False), release=job.slot)

    def execution_ended(self, name: str, status: str, payload: Mapping[str, Any]) -> None:
        """An execution ended. If it ended without finishing its job's saga (stopped, timed
        out), start a rollback so the job still ends in a true state; then fill free slots.
        """
        ref = payload.get("job")
        if isinstance(ref, Mapping) and status != "SUCCEEDED" and "tenant_id" in ref:
            owner, job_id = owner_of(ref)
            job = self._jobs.get_job(owner, job_id, plan=False)
            # Queued and parked (waiting for a sign-in) jobs have no execution to recover.
            waiting = (JobState.QUEUED, JobState.NEEDS_SIGNIN)
            if job is not None and job.state not in TERMINAL and job.state not in waiting:
                self._recover(job, name)
        self.start_next()

    def _recover(self, job: MigrationJob, name: str) -> None:
        mode = Mode.REVERT if job.state is JobState.REVERTING else Mode.ROLLBACK
        if job.executions >= 5:  # noqa: PLR2004 - attempts before giving up visibly
            failed = replace(
                job,
                state=JobState.FAILED,
                rollback_incomplete=True,
                finished_at=self._clock(),
                sealed_secret=None,
            )
            # The user is told as after any rollback that could not finish: an execution
            # that only sends that notice (the worker's notify step). Started first (its name
            # makes a repeat a no-op), so a failure in between can't leave the user untold.
            give_up: ExecutionInput = {"job": job_ref(job), "mode": Mode.GIVE_UP}
            self._executions.start(f"{job.job_id}-giveup", give_up)
            self._jobs.save_job(replace(failed, slot=False), release=job.slot)
            return
        log.warning("execution ended early: recovering", extra={"job_id": job.job_id})
        saved = self._jobs.save_job(replace(job, executions=job.executions + 1))
        error = {"Error": ErrorName.EXECUTION_ENDED, "Cause": f"the execution {name} ended early"}
        recovery: ExecutionInput = {"job": job_ref(job), "mode": mode, "error": error}
        self._executions.start(f"{job.job_id}-{mode}{saved.executions}", recovery)
