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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from mailport.catalogue import say
from mailport.domain.mailbox import Owner
from mailport.domain.migration import (
    ACTIVE,
    TERMINAL,
    DeltaUnavailable,
    FollowUpActive,
    FollowUpRequest,
    ImapTemplate,
    JobError,
    JobKind,
    JobNotCancellable,
    JobNotRevertible,
    JobState,
    MigrationJob,
    MigrationRequest,
    NotRetryable,
    Pace,
    PasswordRequired,
    PreviewRequest,
    ReportItem,
    SourceServer,
    TemplateRequest,
    can_delta,
    can_retry,
    delta_until,
    new_job_id,
    pace_for,
    parse_connection,
    parse_template,
)
from mailport.domain.oauth import OAuthProvider, Purpose
from mailport.errors import Conflict, MailportError, NotFound, ValidationFailed
from mailport.ports import (
    AccessTokens,
    Executions,
    ImapConnector,
    ImapMailbox,
    ImapTemplates,
    JobQueue,
    JobReports,
    JobStore,
    SecretBox,
)
from mailport.usecases.migration_queue import STALLED_AFTER_S, Scheduler, launch_name
from mailport.usecases.migration_report import listed
from mailport.usecases.migration_shared import (
    JobCancelled,
    MigrationConfig,
    SourceLogin,
    Survey,
    job_ref,
    kind_words,
    mapped_folders,
    secret_context,
    state_words,
    survey,
)
from mailport.workflow import ExecutionInput, Mode

# Folders examined per preview answer: each costs an EXAMINE and a FETCH of sizes (tens of
# milliseconds on a provider's server), so a page stays well inside API Gateway's 29 s.
PREVIEW_PAGE = 200


def _preview_start(cursor: str | None) -> int:
    """The first folder of a preview page from its cursor (a folder's place)."""
    if cursor is None:
        return 0
    if not cursor.isdigit() or len(cursor) > 6:  # noqa: PLR2004 - MAX_FOLDERS has 4 digits
        raise ValidationFailed(say("site.cursor_invalid"))
    return int(cursor)


log = logging.getLogger(__name__)

__all__ = [  # the shared names callers (wiring, bench, tests) have always imported from here
    "STALLED_AFTER_S",
    "JobCancelled",
    "JobReport",
    "MigrationConfig",
    "MigrationService",
    "Preview",
    "ReportPage",
    "Scheduler",
    "job_ref",
    "launch_name",
]


# -- the API side ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobReport:
    """A job as it stands: its place in the queue (while queued) and the time it still needs
    (while it runs), read at the same moment.
    """

    job: MigrationJob
    queue_position: int | None
    eta_seconds: int | None
    retry_available: bool = False
    delta_until: dt.datetime | None = None  # while a delta pass is offered


@dataclass(frozen=True, slots=True)
class ReportPage:
    """A page of a job's per-item report, and the cursor of the next one."""

    job: MigrationJob
    items: Sequence[ReportItem]
    next_cursor: str | None


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
    folders_total: int = 0  # the source's folders, on every page
    next_cursor: str | None = None  # where the next page of folders starts


class MigrationService:
    """What the API offers: templates, preview, queue a job, list, cancel, revert."""

    def __init__(
        self,
        jobs: JobStore,
        connector: ImapConnector,
        *,
        queue: JobQueue,
        reports: JobReports,
        templates: ImapTemplates,
        secrets: SecretBox,
        executions: Executions,
        config: MigrationConfig,
        tokens: AccessTokens | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._jobs = jobs
        self._queue = queue
        self._reports = reports
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
            raise NotFound(say("migration.template_not_found"))
        return template

    def delete_template(self, owner: Owner, template_id: str) -> None:
        """Remove a template of the caller's tenant."""
        if not self._templates.delete_template(owner.tenant_id, template_id):
            raise NotFound(say("migration.template_not_found"))

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
        first = _preview_start(request.get("cursor"))
        with self._session(owner, server, password) as session:
            mappings = mapped_folders(session)
            if first and first >= len(mappings):
                raise ValidationFailed(say("migration.cursor_past_end"))
            page = (first, PREVIEW_PAGE)
            surveyed = survey(session, self._config.max_bytes, page=page, mappings=mappings)
        after = first + PREVIEW_PAGE
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
            folders_total=len(mappings),
            next_cursor=str(after) if after < len(mappings) else None,
        )

    def create(self, owner: Owner, request: MigrationRequest) -> JobReport:
        """Queue a migration (the login is tried first, so a typo fails here, not later)."""
        if request.get("agreed") is not True:
            raise ValidationFailed(say("migration.agree_first"))
        server, password = self._connection(owner, request)
        return self._queue_job(owner, server, password)

    def follow_up(
        self, owner: Owner, job_id: str, kind: JobKind, request: FollowUpRequest
    ) -> JobReport:
        """Queue a retry of what a completed job could not import, or a delta pass of what
        arrived since its snapshot: a job of its own, over the same source and mapping.
        """
        if request.get("agreed") is not True:
            raise ValidationFailed(say("migration.agree_first"))
        origin = self._job(owner, job_id)
        self._no_follow_up_running(owner, job_id)
        completed = origin.state is JobState.COMPLETED
        if kind is JobKind.RETRY and not (can_retry(completed, origin.retryable)):
            raise NotRetryable(say("migration.not_retryable"))
        if kind is JobKind.DELTA and not can_delta(
            completed, origin.finished_at, self._clock(), origin.kind
        ):
            raise DeltaUnavailable(say("migration.delta_unavailable"))
        password = request.get("password") or ""
        if origin.server.connection_id is None and not password:
            raise PasswordRequired(say("migration.password_required"))
        return self._queue_job(owner, origin.server, password, kind=kind, origin=origin.job_id)

    def _no_follow_up_running(self, owner: Owner, job_id: str) -> None:
        """Refuse while a retry or delta pass of the job is queued or running."""
        for other in self._jobs.list_jobs(owner, plans=False):
            if other.origin_id == job_id and other.state not in TERMINAL:
                raise FollowUpActive(
                    say(
                        "migration.follow_up_active",
                        kind=kind_words(other.kind),
                        state=state_words(other.state),
                    )
                )

    def report(self, owner: Owner, job_id: str, limit: int, cursor: str | None) -> ReportPage:
        """A page of what the job did not import, and why."""
        job = self._job(owner, job_id)
        items, next_cursor = self._reports.page(owner, job_id, limit, cursor)
        return ReportPage(job, listed(items, job.plan), next_cursor)

    def _queue_job(
        self,
        owner: Owner,
        server: SourceServer,
        password: str,
        *,
        kind: JobKind = JobKind.FULL,
        origin: str | None = None,
    ) -> JobReport:
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
            kind=kind,
            origin_id=origin,
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
            raise NotFound(say("migration.not_found"))
        return job

    def _report(self, job: MigrationJob) -> JobReport:
        position = self._queue.queue_position(job) if job.state is JobState.QUEUED else None
        now, completed = self._clock(), job.state is JobState.COMPLETED
        return JobReport(
            job,
            position,
            job.eta_seconds(now),
            retry_available=can_retry(completed, job.retryable),
            delta_until=delta_until(job.finished_at)
            if can_delta(completed, job.finished_at, now, job.kind)
            else None,
        )

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
                    error=JobError.said("cancelled", say("migration.cancelled_by_user")),
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
                    error=JobError.said("cancelled", say("migration.cancelled_before_start")),
                )
                # Only a job that copied nothing: the condition re-checks it in the write.
                if self._queue.cancel_queued(job, finished):
                    return self.get(owner, job_id)
                continue  # it started (or was resumed) meanwhile
            if job.state in ACTIVE and self._jobs.request_cancel(owner, job_id):
                return self.get(owner, job_id)
            raise JobNotCancellable(say("migration.not_cancellable", state=state_words(job.state)))
        raise Conflict(say("migration.cancel_raced"))

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
            for j in self._jobs.list_jobs(owner, plans=False)
        )

    def revert(self, owner: Owner, job_id: str) -> JobReport:
        """Undo a completed migration: remove what it imported."""
        job = self._job(owner, job_id)
        self._no_follow_up_running(owner, job_id)
        if job.state is not JobState.COMPLETED:
            raise JobNotRevertible(say("migration.not_revertible", state=state_words(job.state)))
        reverting = replace(job, state=JobState.REVERTING, executions=job.executions + 1)
        saved = self._jobs.save_job(reverting)
        try:
            start: ExecutionInput = {"job": job_ref(job), "mode": Mode.REVERT}
            self._executions.start(f"{job.job_id}-revert{saved.executions}", start)
        except MailportError:
            self._jobs.save_job(replace(saved, state=JobState.COMPLETED))
            raise
        return self.get(owner, job_id)
