"""IMAP migration, the API side: the use-cases (preview, queue, cancel, revert) and the
scheduler that starts queued jobs. The state machine's steps are ``migration_runner``'s; what
both sides use is in ``migration_shared``.

The job item is the single source of truth: an execution gets only the job's reference
(``workflow.ExecutionInput``), so credentials never enter the execution history.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mailport.domain.mailbox import Owner
from mailport.domain.migration import (
    ACTIVE,
    TERMINAL,
    ImapTemplate,
    JobError,
    JobNotCancellable,
    JobNotRevertible,
    JobState,
    MigrationJob,
    MigrationRequest,
    Pace,
    PreviewRequest,
    SourceServer,
    TemplateRequest,
    new_job_id,
    pace_for,
    parse_connection,
    parse_template,
)
from mailport.domain.oauth import OAuthProvider, Purpose
from mailport.errors import Conflict, MailportError, NotFound, TransientError, ValidationFailed
from mailport.ports import (
    AccessTokens,
    Executions,
    ImapConnector,
    ImapMailbox,
    ImapTemplates,
    JobQueue,
    JobStore,
    SecretBox,
)
from mailport.usecases.migration_shared import (
    JobCancelled,
    MigrationConfig,
    SourceLogin,
    Survey,
    job_ref,
    owner_of,
    secret_context,
    survey,
)
from mailport.workflow import ErrorName, ExecutionInput, Mode

log = logging.getLogger(__name__)

STALLED_AFTER_S = 60  # a claimed job whose execution never saved: started again after this

__all__ = [  # the shared names callers (wiring, bench, tests) have always imported from here
    "JobCancelled",
    "JobReport",
    "MigrationConfig",
    "MigrationService",
    "Preview",
    "Scheduler",
    "job_ref",
    "launch_name",
]


def launch_name(job: MigrationJob) -> str:
    """The execution name of a job's (re)start: the job id, then one per resume, so a
    resumed job gets a new execution while a repeated start of the same one is refused.
    """
    return job.job_id if job.resumes == 0 else f"{job.job_id}-resume{job.resumes}"


# -- the API side ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobReport:
    """A job as it stands: its place in the queue (while queued) and the time it still needs
    (while it runs), read at the same moment.
    """

    job: MigrationJob
    queue_position: int | None
    eta_seconds: int | None


@dataclass(frozen=True, slots=True)
class Preview:
    """A dry run: the source's folders with their targets and sizes, and an estimate."""

    server: SourceServer
    folders: Sequence[Survey]
    total_messages: int
    total_bytes: int
    oversize: int
    estimated_seconds: int
    pace: Pace


class MigrationService:
    """What the API offers: templates, preview, queue a job, list, cancel, revert."""

    def __init__(
        self,
        jobs: JobStore,
        connector: ImapConnector,
        *,
        queue: JobQueue,
        templates: ImapTemplates,
        secrets: SecretBox,
        executions: Executions,
        config: MigrationConfig,
        tokens: AccessTokens | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._jobs = jobs
        self._queue = queue
        self._templates = templates
        self._connector = connector
        self._secrets = secrets
        self._executions = executions
        self._config = config
        self._tokens = tokens
        self._clock = clock
        self.scheduler = Scheduler(jobs, executions, config, clock, queue=queue)

    def templates(self, owner: Owner) -> list[ImapTemplate]:
        """The tenant's IMAP server templates."""
        return self._templates.list_templates(owner.tenant_id)

    def put_template(
        self, owner: Owner, request: TemplateRequest, template_id: str | None = None
    ) -> ImapTemplate:
        """Create (no id) or replace a template of the caller's tenant (admins only: the
        caller checks). Jobs already queued keep the server they were created with.
        """
        template = parse_template(request, template_id or f"t{uuid.uuid4().hex[:12]}")
        if not self._templates.put_template(
            owner.tenant_id, template, replace=template_id is not None
        ):
            raise NotFound("no such IMAP template")
        return template

    def delete_template(self, owner: Owner, template_id: str) -> None:
        """Remove a template of the caller's tenant."""
        if not self._templates.delete_template(owner.tenant_id, template_id):
            raise NotFound("no such IMAP template")

    def _connection(
        self, owner: Owner, request: PreviewRequest | MigrationRequest
    ) -> tuple[SourceServer, str]:
        # Read only for a template connection (one item), not on every manual one.
        return parse_connection(
            request["connection"],
            lambda template_id: self._templates.get_template(owner.tenant_id, template_id),
            None if self._tokens is None else lambda p, cid: self._signed_in(owner, p, cid),
        )

    def _signed_in(
        self, owner: Owner, provider: OAuthProvider, connection_id: str
    ) -> SourceServer | None:
        """The source of a sign-in: the provider's own IMAP server (its token is for that
        server only, never one the request names), as the signed-in mailbox.
        """
        assert self._tokens is not None
        email = self._tokens.connection_email(
            owner.tenant_id, owner.user_id, connection_id, Purpose.IMAP, provider
        )
        if email is None:
            return None
        if provider is OAuthProvider.GOOGLE:
            host, port, kind = self._config.google_host, self._config.google_port, "google"
        else:
            host, port = self._config.microsoft_host, self._config.microsoft_port
            kind = "microsoft365"
        return SourceServer(kind, host, port, True, email, connection_id=connection_id)

    @contextlib.contextmanager
    def _session(self, owner: Owner, server: SourceServer, password: str) -> Iterator[ImapMailbox]:
        login = SourceLogin(self._connector, self._tokens, self._config.ca_file)
        session = login.open(owner, server, password)
        try:
            yield session
        finally:
            session.logout()

    def preview(self, owner: Owner, request: PreviewRequest) -> Preview:
        """A dry run: the source's folders, where each goes, counts, sizes and an estimate."""
        server, password = self._connection(owner, request)
        with self._session(owner, server, password) as session:
            surveyed = survey(session, self._config.max_bytes)
        pace = pace_for(server.host, self._config.daily_bytes_override)
        copied = [s for s in surveyed if not s.mapping.skip_reason]
        total_bytes = sum(s.bytes for s in copied)
        seconds = total_bytes / self._config.assumed_bytes_per_s
        if pace.daily_bytes:
            seconds += (total_bytes // pace.daily_bytes) * 86_400
        return Preview(
            server=server,
            folders=tuple(surveyed),
            total_messages=sum(s.folder.messages for s in copied),
            total_bytes=total_bytes,
            oversize=sum(s.oversize for s in copied),
            estimated_seconds=int(seconds),
            pace=pace,
        )

    def create(self, owner: Owner, request: MigrationRequest) -> JobReport:
        """Queue a migration (the login is tried first, so a typo fails here, not later)."""
        if request.get("agreed") is not True:
            raise ValidationFailed("you must accept the agreement (agreed: true)")
        server, password = self._connection(owner, request)
        with self._session(owner, server, password):
            pass
        now = self._clock()
        job = MigrationJob(
            job_id=new_job_id(),
            tenant_id=owner.tenant_id,
            user_id=owner.user_id,
            server=server,
            state=JobState.QUEUED,
            created_at=now,
        )
        if server.connection_id is None:  # a sign-in keeps its tokens in its connection
            job = replace(job, sealed_secret=self._secrets.seal(password, secret_context(job)))
        self._jobs.create_job(job)
        log.info("migration queued", extra={"job_id": job.job_id})
        try:
            self.scheduler.start_next(newest=(owner, job.job_id))
        except MailportError:
            # The job is queued (the user must not retry and queue it twice); the
            # scheduler's sweep starts it.
            log.exception("could not start queued migrations", extra={"job_id": job.job_id})
        return self.get(owner, job.job_id)

    def _job(self, owner: Owner, job_id: str) -> MigrationJob:
        job = self._jobs.get_job(owner, job_id)
        if job is None:
            raise NotFound("no such migration")
        return job

    def _report(self, job: MigrationJob) -> JobReport:
        position = self._queue.queue_position(job) if job.state is JobState.QUEUED else None
        return JobReport(job, position, job.eta_seconds(self._clock()))

    def list(self, owner: Owner) -> list[JobReport]:
        """The user's migrations, newest first."""
        return [self._report(j) for j in self._jobs.list_jobs(owner)]

    def get(self, owner: Owner, job_id: str) -> JobReport:
        """One migration with its progress."""
        return self._report(self._job(owner, job_id))

    def cancel(self, owner: Owner, job_id: str) -> JobReport:
        """A queued job leaves the queue; a running one is rolled back at its next step; one
        that has copied mail already (waiting for a sign-in, or queued again after one) runs
        again to roll it back. Decided afresh if the job changes meanwhile.
        """
        for _ in range(3):
            job = self._job(owner, job_id)
            if job.state is JobState.NEEDS_SIGNIN or (job.state is JobState.QUEUED and job.planned):
                queued = replace(
                    job,
                    state=JobState.QUEUED,
                    resumes=job.resumes + (job.state is JobState.NEEDS_SIGNIN),
                    error=JobError("cancelled", "cancelled by the user"),
                )
                if self._queue.requeue(queued, cancel=True):
                    self._start_queued(owner, job_id)
                    return self.get(owner, job_id)
                continue
            if job.state is JobState.QUEUED:
                finished = replace(
                    job,
                    state=JobState.ROLLED_BACK,
                    finished_at=self._clock(),
                    sealed_secret=None,
                    error=JobError("cancelled", "cancelled before it started"),
                )
                # Only a job that copied nothing: the condition re-checks it in the write.
                if self._queue.cancel_queued(job, finished):
                    return self.get(owner, job_id)
                continue  # it started (or was resumed) meanwhile
            if job.state in ACTIVE and self._jobs.request_cancel(owner, job_id):
                return self.get(owner, job_id)
            raise JobNotCancellable(f"a {job.state.value} migration can't be cancelled")
        raise Conflict("the migration changed while cancelling; try again")

    def _start_queued(self, owner: Owner, job_id: str) -> None:
        try:
            # Named: the queue's index may not show the job yet.
            self.scheduler.start_next(newest=(owner, job_id))
        except MailportError:
            log.exception("could not start queued migrations", extra={"job_id": job_id})

    def resume_signed_in(self, owner: Owner, connection_id: str) -> tuple[str, ...]:
        """The user signed in again: their jobs waiting on that sign-in queue again, in their
        old place (the queue is ordered by registration), and the queue moves.
        """
        resumed: tuple[str, ...] = ()
        for job in self._jobs.list_jobs(owner):
            if job.state is JobState.NEEDS_SIGNIN and job.server.connection_id == connection_id:
                queued = replace(job, state=JobState.QUEUED, error=None, resumes=job.resumes + 1)
                if self._queue.requeue(queued, cancel=False):
                    resumed = (*resumed, job.job_id)
        if resumed:
            log.info("migrations resumed after sign-in", extra={"jobs": resumed})
            for job_id in resumed:
                self._start_queued(owner, job_id)
        return resumed

    def uses_connection(self, owner: Owner, connection_id: str) -> bool:
        """True if a migration that has not ended still signs in with the connection."""
        return any(
            j.server.connection_id == connection_id and j.state not in TERMINAL
            for j in self._jobs.list_jobs(owner)
        )

    def revert(self, owner: Owner, job_id: str) -> JobReport:
        """Undo a completed migration: remove what it imported."""
        job = self._job(owner, job_id)
        if job.state is not JobState.COMPLETED:
            raise JobNotRevertible(
                f"only a completed migration can be reverted, not a {job.state.value} one"
            )
        reverting = replace(job, state=JobState.REVERTING, executions=job.executions + 1)
        saved = self._jobs.save_job(reverting)
        try:
            start: ExecutionInput = {"job": job_ref(job), "mode": Mode.REVERT}
            self._executions.start(f"{job.job_id}-revert{saved.executions}", start)
        except MailportError:
            self._jobs.save_job(replace(saved, state=JobState.COMPLETED))
            raise
        return self.get(owner, job_id)


# -- the queue ------------------------------------------------------------------------------


class Scheduler:
    """Starts queued jobs in registration order while slots are free; reacts to the end of
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
            job = self._jobs.get_job(owner, job_id)
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
            job = self._jobs.get_job(owner, job_id)
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
                error=JobError("not_started", f"the migration could not start: {e.message}"),
            )
            self._jobs.save_job(replace(failed, slot=False), release=job.slot)

    def execution_ended(self, name: str, status: str, payload: Mapping[str, Any]) -> None:
        """An execution ended. If it ended without finishing its job's saga (stopped, timed
        out), start a rollback so the job still ends in a true state; then fill free slots.
        """
        ref = payload.get("job")
        if isinstance(ref, Mapping) and status != "SUCCEEDED" and "tenant_id" in ref:
            owner, job_id = owner_of(ref)
            job = self._jobs.get_job(owner, job_id)
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
