"""The steps the IMAP migration state machine invokes (plan, copy a chunk, finalize, roll
back, notify, continue as new), on the job item as the single source of truth: Step Functions
passes only the job's reference and a small cursor, so credentials never enter the execution
history, and every step reads the latest checkpoint (a retried step carries on from where the
last one saved).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from mailport.domain.mailbox import (
    Flags,
    Folder,
    InsertOutcome,
    Owner,
    Source,
    SourceType,
    message_id_for,
)
from mailport.domain.migration import (
    ACTIVE,
    HOLDS_SLOT,
    TERMINAL,
    Counts,
    FolderMapping,
    FolderPlan,
    JobError,
    JobState,
    MigrationJob,
    advance,
    pace_for,
    pace_wait,
    reached_milestones,
    restart_folder,
)
from mailport.domain.mime import fingerprint
from mailport.domain.notices import migration_notice
from mailport.domain.remote import (
    ImapFolder,
    ImapMessage,
    RemoteTransient,
)
from mailport.errors import Conflict, MailportError, NotFound, TransientError, ValidationFailed
from mailport.ports import (
    AccessTokens,
    Directory,
    Executions,
    ImapConnector,
    ImapMailbox,
    Mailbox,
    Mailer,
    MigrationMetrics,
    Migrations,
    SecretBox,
)
from mailport.usecases.importing import Importer, ImportRequest
from mailport.usecases.mailbox import MailboxService
from mailport.usecases.migration import (
    JobCancelled,
    MigrationConfig,
    Survey,
    credentials_for,
    job_ref,
    owner_of,
    secret_context,
    server_address,
    survey,
)

log = logging.getLogger(__name__)

SIZE_WINDOW = 2000  # UIDs asked for sizes at once inside a chunk


def _folder_id(job_id: str, path: Sequence[str]) -> str:
    """A folder the job creates gets an id derived from the job and path, so a retried plan
    recognises its own folders (and rollback deletes only those).
    """
    digest = hashlib.sha256("\x1f".join([job_id, *path]).encode("utf-8")).hexdigest()
    return "f" + digest[:20]


# -- the state machine's steps --------------------------------------------------------------


def _cursor(
    done: bool, chunks: int, wait_s: int = 0, continue_as_new: bool = False
) -> dict[str, Any]:
    return {"done": done, "wait_s": wait_s, "continue_as_new": continue_as_new, "chunks": chunks}


def error_of(error: object) -> JobError:
    """The user-facing error from Step Functions' ``{"Error", "Cause"}`` of a caught failure."""
    if not isinstance(error, Mapping):
        return JobError("failed", "the migration failed")
    name = str(error.get("Error", "failed"))
    cause = str(error.get("Cause", ""))
    with contextlib.suppress(ValueError, TypeError):
        cause = str(json.loads(cause).get("errorMessage", cause))
    codes = {"JobCancelled": "cancelled", "States.Timeout": "timed_out"}
    # RemoteAuthFailed → remote_auth_failed: the same code the API uses for that error.
    code = (
        codes.get(name) or re.sub(r"(?<!^)(?=[A-Z])", "_", name.rsplit(".", maxsplit=1)[-1]).lower()
    )
    return JobError(code, " ".join(cause.split())[:300] or name)


class MigrationRunner:
    """The steps the migration state machine invokes."""

    def __init__(
        self,
        migrations: Migrations,
        connector: ImapConnector,
        *,
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
        self._migrations = migrations
        self._connector = connector
        self._mailbox = mailbox
        self._service = mailbox_service
        self._importer = importer
        self._secrets = secrets
        self._executions = executions
        self._config = config
        self._clock = clock
        self._monotonic = monotonic

    # -- helpers --------------------------------------------------------------------------

    def _load(self, ref: Mapping[str, Any]) -> tuple[Owner, MigrationJob]:
        owner, job_id = owner_of(ref)
        job = self._migrations.get_job(owner, job_id)
        if job is None:
            raise NotFound(f"migration {job_id} does not exist")
        return owner, job

    def _save(
        self, before: MigrationJob, after: MigrationJob, *, unless_cancelled: bool = False
    ) -> MigrationJob:
        release = before.slot and after.state not in HOLDS_SLOT
        if release:
            after = replace(after, slot=False)
        try:
            return self._migrations.save_job(
                after, release=release, unless_cancelled=unless_cancelled
            )
        except Conflict as e:
            # Someone saved in between (a redelivered step): the retry reads it afresh.
            raise TransientError("the migration changed meanwhile; retrying") from e

    def _finish(
        self, before: MigrationJob, after: MigrationJob, *, unless_cancelled: bool = False
    ) -> MigrationJob:
        """Save a job's end (its state says which), and count it."""
        saved = self._save(before, after, unless_cancelled=unless_cancelled)
        if self._metrics is not None:
            took = None
            if after.started_at and after.finished_at:
                took = (after.finished_at - after.started_at).total_seconds()
            self._metrics.ended(after.state, took)
        return saved

    def _open(self, job: MigrationJob) -> ImapMailbox:
        password = ""
        if job.server.connection_id is None:
            if job.sealed_secret is None:
                raise ValidationFailed("the job's credentials are gone (the job has ended)")
            password = self._secrets.open(job.sealed_secret, secret_context(job))
        return self._connector.open(
            server_address(job.server, self._config.ca_file),
            credentials_for(job, job.server, password, self._tokens),
        )

    def _notify(
        self, owner: Owner, job: MigrationJob, kind: str, *, retry_email: bool = False
    ) -> None:
        """A notice in the user's Inbox; its id comes from the job and kind, so a retried
        step cannot deliver it twice. ``retry_email``: SES being busy fails the step (see
        ``_email``).
        """
        message_id = message_id_for("notice", job.job_id, kind)
        raw = migration_notice(job, kind, self._clock(), message_id)
        self._importer.store_notice(
            owner, raw, message_id, job.job_id, flagged=kind == "rollback_failed"
        )
        self._email(job, kind, message_id, retry=retry_email)

    def _email(self, job: MigrationJob, kind: str, message_id: str, *, retry: bool) -> None:
        """The same notice by email, when a sender is configured, after the Inbox copy. A
        notice must never fail the migration it reports on, so errors are logged, except a
        busy SES (throttling, 5xx) with ``retry``: the notify steps retry ``TransientError``
        and then move on whatever happens (their Catch), so the email is sent on a retry
        instead of being dropped. A retry stores no second Inbox copy (same id).
        """
        sender = self._config.notice_sender
        if not sender or self._mailer is None or self._directory is None:
            return
        try:
            user = self._directory.get_user(job.tenant_id, job.user_id)
            if user is None or not user.email:
                return
            raw = migration_notice(
                job, kind, self._clock(), message_id, sender=sender, to=user.email
            )
            self._mailer.send(sender, user.email, raw)
        except TransientError:
            if retry:
                raise
            log.exception("could not email the notice", extra={"job_id": job.job_id})
        except Exception:  # best effort: an email must never fail the step that reports
            log.exception("could not email the notice", extra={"job_id": job.job_id})

    # -- plan -----------------------------------------------------------------------------

    def plan(self, ref: Mapping[str, Any]) -> dict[str, Any]:
        """Snapshot the source (folders, UIDVALIDITY, UIDNEXT, sizes), create the target
        folders (recording which ones the job made), and announce the start.
        """
        owner, job = self._load(ref)
        _require_active(job)
        if job.planned:  # a retried step: the start notice may not have gone yet (same id)
            self._notify(owner, job, "started")
            return _cursor(job.next_folder() is None, 0)
        session = self._open(job)
        session.stop_after(self._config.chunk_seconds + self._config.cutoff_grace_s)
        try:
            surveyed = survey(session, self._config.max_bytes)
        finally:
            session.logout()
        self._service.ensure_system_folders(owner)
        existing = self._mailbox.list_folders(owner)
        created: list[str] = []
        plan = [self._folder_plan(owner, job, s, existing, created) for s in surveyed]
        pace = pace_for(job.server.host, self._config.daily_bytes_override)
        planned = replace(
            job,
            state=JobState.RUNNING,
            plan=tuple(plan),
            planned=True,
            created_folders=tuple(created),
            started_at=job.started_at or self._clock(),
            pace_name=pace.name,
            daily_bytes=pace.daily_bytes,
        )
        planned = self._save(job, planned)
        self._notify(owner, planned, "started")
        return _cursor(planned.next_folder() is None, 0)

    def _folder_plan(
        self,
        owner: Owner,
        job: MigrationJob,
        s: Survey,
        existing: list[Folder],
        created: list[str],
    ) -> FolderPlan:
        m = s.mapping
        target = None
        if not m.skip_reason:
            target = m.system.value if m.system else self._target(owner, job, m, existing, created)
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
            done=target is None or s.folder.messages == 0,
        )

    def _target(
        self,
        owner: Owner,
        job: MigrationJob,
        mapping: FolderMapping,
        existing: list[Folder],
        created: list[str],
    ) -> str:
        """The user folder for a path, made (parents first) where missing. Names match as
        the mailbox compares them (ignoring case, system folders included), so a source's
        "INBOX/Projects" lands under the Inbox and its "Work" in the user's own "work".
        """
        parent: str | None = None
        for depth, name in enumerate(mapping.path):
            found = _sibling(existing, parent, name)
            if found is None:
                folder = Folder(_folder_id(job.job_id, mapping.path[: depth + 1]), name, parent)
                try:
                    self._mailbox.create_folder(owner, folder)
                    existing.append(folder)
                    found = folder
                except Conflict:  # made meanwhile (a retried plan, the user): use that one
                    existing[:] = self._mailbox.list_folders(owner)
                    found = _sibling(existing, parent, name)
                    if found is None:
                        raise
            mine = found.folder_id == _folder_id(job.job_id, mapping.path[: depth + 1])
            if mine and found.folder_id not in created:
                created.append(found.folder_id)
            parent = found.folder_id
        assert parent is not None
        return parent

    # -- copy -----------------------------------------------------------------------------

    def copy_chunk(self, ref: Mapping[str, Any], cursor: Mapping[str, Any]) -> dict[str, Any]:
        """Copy up to a chunk's worth of messages, with a checkpoint after every batch."""
        owner, job = self._load(ref)
        chunks = int(cursor.get("chunks", 0)) + 1
        if job.state is JobState.COMPLETED:
            return _cursor(True, chunks)
        _require_active(job)
        now = self._clock()
        if job.paused_until and job.paused_until > now:
            return self._waiting(chunks, int((job.paused_until - now).total_seconds()) + 1)
        if job.next_folder() is None:
            return _cursor(True, chunks)
        until = now + dt.timedelta(seconds=self._config.copy_lease_s)
        if not self._migrations.take_copy_slot(job.job_id, self._config.max_copying, now, until):
            log.info("waiting for a copy slot", extra={"job_id": job.job_id})
            return self._waiting(chunks, self._config.copy_wait_s)
        try:
            if job.state is JobState.PAUSED:
                job = self._save(job, replace(job, state=JobState.RUNNING, paused_until=None))
            before, counted, started = job.percent(), job.counts, self._monotonic()
            job, wait_s = self._run_chunk(owner, job)
        finally:
            self._give_copy_slot(job.job_id)
        job = self._save(job, replace(job, chunks=job.chunks + 1))
        if self._metrics is not None:
            self._metrics.chunk(_minus(job.counts, counted), self._monotonic() - started)
        for milestone in reached_milestones(before, job.percent(), job.milestones):
            self._notify(owner, job, f"progress:{milestone}")  # first: a retry sends it again
            job = self._save(job, replace(job, milestones=(*job.milestones, milestone)))
        if wait_s:
            return self._waiting(chunks, wait_s)
        done = job.next_folder() is None
        again = not done and chunks >= self._config.chunks_per_execution
        return _cursor(done, chunks, continue_as_new=again)

    def _waiting(self, chunks: int, wait_s: int) -> dict[str, Any]:
        """Back to the state machine's Wait, at most ``max_pause_s`` at a time. Each wait
        adds ~9 events to the execution's history (25,000 at most), so waits count as steps
        and a long wait goes on in a new execution, like a long copy.
        """
        again = chunks >= self._config.chunks_per_execution
        wait = min(wait_s, self._config.max_pause_s)
        return _cursor(False, chunks, wait_s=wait, continue_as_new=again)

    def _give_copy_slot(self, job_id: str) -> None:
        try:
            self._migrations.give_copy_slot(job_id)
        except MailportError:
            # The chunk's own outcome matters more; the slot's lease frees it in a while.
            log.warning("could not free a copy slot", extra={"job_id": job_id})

    def _run_chunk(self, owner: Owner, job: MigrationJob) -> tuple[MigrationJob, int]:
        """One chunk over one session; the job after it and any wait the server asked for."""
        session = self._open(job)
        # The chunk stops taking messages at chunk_seconds; a server that trickles inside a
        # FETCH is cut later, well before the worker's Lambda timeout would end the step
        # with nothing saved and the migration rolled back.
        session.stop_after(self._config.chunk_seconds + self._config.cutoff_grace_s)
        chunk = _Chunk(self, owner, job, session)
        try:
            return chunk.run()
        except RemoteTransient as e:
            if not e.retry_after_s:
                raise  # the state machine retries with its own backoff
            # The server said how long to back off (Microsoft 365): pause that long, keeping
            # what this chunk already checkpointed.
            wait_s = max(1, int(e.retry_after_s))
            until = self._clock() + dt.timedelta(seconds=wait_s)
            paused = replace(chunk.job, state=JobState.PAUSED, paused_until=until)
            return self._save(chunk.job, paused), wait_s
        finally:
            session.logout()

    # -- finish ---------------------------------------------------------------------------

    def finalize(self, ref: Mapping[str, Any]) -> dict[str, Any]:
        """The job is complete: forget the password, free the slot."""
        _, job = self._load(ref)
        if job.state is not JobState.COMPLETED:
            _require_active(job)
            done = replace(
                job, state=JobState.COMPLETED, finished_at=self._clock(), sealed_secret=None
            )
            job = self._finish(job, done, unless_cancelled=True)
        return {"state": job.state.value, "counts": job.counts.to_json()}

    def notify(self, ref: Mapping[str, Any], outcome: str) -> dict[str, Any]:
        """Tell the user how it ended; a rollback that could not finish marks the job failed."""
        owner, job = self._load(ref)
        if outcome != "completed" and job.state is JobState.COMPLETED:
            # A late catch after the job completed: it was not rolled back, so say nothing.
            return {"notified": "", "state": job.state.value}
        if outcome == "rollback_failed" and job.state not in TERMINAL:
            failed = replace(
                job,
                state=JobState.FAILED,
                rollback_incomplete=True,
                finished_at=self._clock(),
                sealed_secret=None,
            )
            job = self._finish(job, failed)
        self._notify(owner, job, outcome, retry_email=True)
        return {"notified": outcome, "state": job.state.value}

    def suspend(self, ref: Mapping[str, Any], error: object) -> dict[str, Any]:
        """The Microsoft 365 sign-in stopped working: park the job (slot freed, mail kept)
        until the user signs in again, and tell them. Idempotent: a retried step only
        re-sends the same notice; a step of an execution the job has since outlived (it was
        resumed meanwhile) does nothing.
        """
        owner, job = self._load(ref)
        if int(ref.get("resumes", job.resumes)) != job.resumes:
            return {"state": job.state.value, "stale": True}
        if job.state is not JobState.NEEDS_SIGNIN:
            _require_active(job)
            waiting = replace(
                job,
                state=JobState.NEEDS_SIGNIN,
                paused_until=None,
                error=JobError("signin_required", error_of(error).message),
            )
            # A cancel that arrives meanwhile wins: the retry then rolls the job back.
            job = self._save(job, waiting, unless_cancelled=True)
        self._notify(owner, job, f"signin_required:{job.resumes}")
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
            ready = self._tokens.connection_email(job.tenant_id, job.user_id, cid) is not None
        except MailportError:  # still needs a sign-in (or unreadable): stays parked
            return
        if ready:
            queued = replace(job, state=JobState.QUEUED, error=None, resumes=job.resumes + 1)
            if self._migrations.requeue(queued, cancel=False):
                log.info("signed in meanwhile: queued again", extra={"job_id": job.job_id})

    def continue_as_new(self, ref: Mapping[str, Any]) -> dict[str, Any]:
        """Carry the job on in a fresh execution (the history of one is capped at 25,000
        events; a mailbox's size must not be).
        """
        _, job = self._load(ref)
        # Named by the chunks done so far: a retried step (no chunk in between) names the
        # same execution, which then already exists, so the job never runs twice at once.
        name = f"{job.job_id}-c{job.chunks}"
        payload = {"job": job_ref(job), "progress": {"cursor": _cursor(False, 0)}}
        if self._executions.start(name, payload):
            self._save(job, replace(job, executions=job.executions + 1))
        return {"continued_in": name}

    def rollback(
        self, ref: Mapping[str, Any], error: object, mode: str = "rollback"
    ) -> dict[str, Any]:
        """Remove what the job stored and the folders it made, a piece at a time (the state
        machine loops until done). Idempotent: what is gone stays gone.
        """
        owner, job = self._load(ref)
        final = JobState.REVERTED if mode == "revert" else JobState.ROLLED_BACK
        if job.state in TERMINAL and not (mode == "revert" and job.state is JobState.COMPLETED):
            # Ended already (a redelivered step, a second recovery). A completed job is undone
            # only by an explicit revert, never by a late catch.
            return {"done": True, "state": job.state.value}
        working = JobState.REVERTING if mode == "revert" else JobState.ROLLING_BACK
        if job.state is not working:
            failure = job.error or (error_of(error) if mode != "revert" else None)
            job = self._save(job, replace(job, state=working, error=failure))
            # Cancelled or failed while waiting for a copy slot: out of the line at once.
            self._give_copy_slot(job.job_id)
        deadline = self._monotonic() + self._config.rollback_seconds
        removed = 0
        settled = False
        while self._monotonic() < deadline:
            ids = self._migrations.job_messages(owner, job.job_id, 100)
            if not ids and settled:
                break
            if not ids:
                # The job's messages are found through a GSI, which lags its table by a
                # moment: look once more after that moment before calling it done.
                self._sleep(self._config.index_settle_s)
                settled = True
                continue
            for message_id in ids:
                with contextlib.suppress(NotFound):
                    self._service.delete_message(owner, message_id)
                removed += 1
        else:
            return {"done": False, "removed": removed}
        kept = self._remove_folders(owner, job)
        end = replace(
            job,
            state=final,
            finished_at=self._clock(),
            sealed_secret=None,
            created_folders=kept,
        )
        job = self._finish(job, end)
        return {"done": True, "removed": removed, "state": job.state.value}

    def _remove_folders(self, owner: Owner, job: MigrationJob) -> tuple[str, ...]:
        """Delete the folders the job made, children first; one the user has since put mail
        or folders into is kept (mail is never lost), and stays listed on the job.
        """
        kept: list[str] = []
        folders = {f.folder_id: f for f in self._mailbox.list_folders(owner)}
        for folder_id in reversed(job.created_folders):
            folder = folders.get(folder_id)
            if folder is None:
                continue
            has_children = any(f.parent_id == folder_id for f in folders.values())
            if folder.total or has_children:
                kept.append(folder_id)
                continue
            with contextlib.suppress(NotFound):
                self._mailbox.delete_folder(owner, folder)
            folders.pop(folder_id, None)
        return tuple(reversed(kept))


class JobNotActive(MailportError):
    """A step of a job that is no longer running (rolling back, ended): nothing may be
    copied into it. The state machine catches this and rolls back (idempotently).
    """

    code = "job_not_active"


def _require_active(job: MigrationJob) -> None:
    """A step works only on a running (or paused) job the user has not cancelled."""
    if job.state not in ACTIVE:
        raise JobNotActive(f"the migration is {job.state.value}")
    if job.cancel_requested:
        raise JobCancelled("cancelled by the user")


def _sibling(folders: list[Folder], parent: str | None, name: str) -> Folder | None:
    key = name.casefold()
    return next((f for f in folders if f.parent_id == parent and f.name.casefold() == key), None)


def _minus(after: Counts, before: Counts) -> Counts:
    """What a step added to a job's counts."""
    return Counts(
        after.imported - before.imported,
        after.already_present - before.already_present,
        after.skipped_oversize - before.skipped_oversize,
        after.failed - before.failed,
        after.bytes - before.bytes,
    )


@dataclass
class _Batch:
    """A fetched batch whose stores are under way (checkpointed when they are all done)."""

    index: int
    last_uid: int
    counts: Counts  # what needed no store: oversize, already there, seen under a label
    messages: list[ImapMessage] = field(default_factory=list)  # fetched, to store
    known: list[str] = field(default_factory=list)  # contents found already there (dedup)
    stores: list[tuple[ImapMessage, Future[Counts]]] = field(default_factory=list)
    dedup: bool = False
    download: int = 0  # bytes fetched (for the pace before the checkpoint says so)


class _Chunk:
    """One CopyChunk step: batches of messages from the current folder onward.

    Pipelined like the POP3 fetcher: while a batch is being stored (a pool of
    ``store_concurrency``), the next one is fetched over IMAP and queued behind it, so the
    pool never drains between batches (at most two batches in memory). A batch is
    checkpointed once all its stores are done, in order, so a checkpoint never claims what is
    not stored.
    """

    def __init__(
        self, runner: MigrationRunner, owner: Owner, job: MigrationJob, session: ImapMailbox
    ) -> None:
        self.r = runner
        self.cfg = runner._config
        self.owner = owner
        self.job = job
        self.session = session
        self.started = runner._monotonic()
        self.deadline = self.started + self.cfg.chunk_seconds
        self.messages = 0
        self.bytes = 0
        self.examined: int | None = None
        self.batch_messages = min(self.cfg.batch_messages, self.cfg.chunk_messages)
        self.upto: dict[int, int] = {}  # per folder: the last UID fetched (≥ its checkpoint)
        self.window = job.window
        self.pending: deque[_Batch] = deque()  # oldest first
        self.prints: set[str] = set()  # contents on their way in (Gmail-style dedup)
        self.last_flush = self.started
        self.pool: ThreadPoolExecutor | None = None

    def _room(self) -> bool:
        return (
            self.messages < self.cfg.chunk_messages
            and self.bytes < self.cfg.chunk_bytes
            and self.r._monotonic() < self.deadline
        )

    def run(self) -> tuple[MigrationJob, int]:
        """Copy until the chunk is full or the job is done; the job and any pace wait."""
        wait = 0
        with ThreadPoolExecutor(self.cfg.store_concurrency) as pool:
            self.pool = pool
            try:
                while not wait and self._room():
                    index = self.job.next_folder()
                    if index is None:
                        break
                    wait = self._batch(index)
            finally:
                self._flush()  # on an error too: what was stored is checkpointed
        return self.job, wait

    def _examine(self, index: int) -> FolderPlan:
        folder = self.job.plan[index]
        if self.examined == index:
            return folder
        source = ImapFolder(folder.name, folder.raw_name, None, frozenset())
        now = self.session.examine(source)
        self.examined = index
        if now.uidvalidity != folder.uidvalidity:
            log.warning(
                "UIDVALIDITY changed: copying the folder again", extra={"job_id": self.job.job_id}
            )
            self._flush()
            folder = restart_folder(self.job.plan[index], now.uidvalidity, now.uidnext)
            self.upto.pop(index, None)
            self._set(index, folder)
        return folder

    def _set(self, index: int, folder: FolderPlan, **changes: Any) -> None:
        plan = list(self.job.plan)
        plan[index] = folder
        after = replace(self.job, plan=tuple(plan), **changes)
        self.job = self.r._save(self.job, after)

    def _next_uids(self, index: int, folder: FolderPlan) -> dict[int, int]:
        """Sizes of the next UIDs after those fetched, inside the snapshot."""
        last = folder.uidnext - 1
        start = max(folder.done_uid, self.upto.get(index, 0)) + 1
        while start <= last:
            end = min(last, start + SIZE_WINDOW - 1)
            sizes = self.session.sizes(start, end)
            if sizes:
                return dict(sorted(sizes.items()))
            start = end + 1
        return {}

    def _batch(self, index: int) -> int:
        """Fetch one batch from folder ``index`` and start storing it; a pace wait (s) or 0."""
        folder = self._examine(index)
        sizes = self._next_uids(index, folder)
        if not sizes:
            self._flush()
            current = self.job.plan[index]
            self._set(index, advance(current, current.uidnext - 1, Counts(), True))
            return 0
        pace = pace_for(self.job.server.host, self.job.daily_bytes)
        in_flight = sum(b.download for b in self.pending)
        ahead = replace(self.window, used=self.window.used + in_flight)
        # Anything left of today's allowance? (Asked for one byte: a fresh day always says yes.)
        wait, window = pace_wait(pace, ahead, self.r._clock().timestamp(), 1)
        if wait:
            self._flush()
            until = self.r._clock() + dt.timedelta(seconds=wait)
            self._set(
                index,
                self.job.plan[index],
                state=JobState.PAUSED,
                paused_until=until,
                window=self.window,
            )
            return int(wait)
        if window.start != ahead.start:
            self.window = replace(window, used=0)  # a new day: the pending batch counts there
            window = replace(window, used=in_flight)
        budget = self.cfg.batch_bytes
        if pace.daily_bytes is not None:
            budget = max(1, min(budget, pace.daily_bytes - window.used))
        batch = self._take(sizes, budget)
        prepared = self._prepare(index, folder, batch)  # IMAP, while the stores run
        self._submit(folder, prepared)
        self._flush(keep=1)  # the pool always has the next batch while one is waited for
        self.upto[index] = batch[-1][0]
        self.messages += len(batch)
        return 0

    def _flush(self, keep: int = 0) -> None:
        """Checkpoint pending batches, oldest first, until ``keep`` are left."""
        while len(self.pending) > keep:
            try:
                self._checkpoint(self.pending.popleft())
            except BaseException:
                # No later checkpoint past one that failed (it would skip its UIDs): let
                # the stores under way finish, then the retried step finds them by id.
                for batch in self.pending:
                    for _, future in batch.stores:
                        future.exception()
                self.pending.clear()
                raise

    def _checkpoint(self, batch: _Batch) -> None:
        """Wait for a batch's stores and save its checkpoint."""
        counts = batch.counts
        stored: list[str] = list(batch.known)
        for message, future in batch.stores:
            result = future.result()
            counts = counts + result
            if batch.dedup and not result.failed:  # stored now, or found there by content
                stored.append(fingerprint(message.raw))
        if stored:  # after storing: a crash in between may duplicate, never lose
            self.r._migrations.remember_contents(self.owner, self.job.job_id, stored)
        now = self.r._monotonic()
        current = self.job.plan[batch.index]
        # The provider's cap counts what was downloaded, even mail then found already there.
        self.window = replace(self.window, used=self.window.used + batch.download)
        self.bytes += counts.bytes
        self._set(
            batch.index,
            advance(current, batch.last_uid, counts, batch.last_uid >= current.uidnext - 1),
            window=self.window,
            busy_s=self.job.busy_s + (now - self.last_flush),
        )
        self.last_flush = now

    def _take(self, sizes: dict[int, int], budget: int) -> list[tuple[int, int]]:
        """The next batch: at most ``batch_messages`` and ``budget`` bytes to download (the
        first message always, or a message bigger than a day's cap would never go).
        """
        batch: list[tuple[int, int]] = []
        total = 0
        for uid, size in sizes.items():
            counted = size if size < self.cfg.max_bytes else 0  # oversize: not downloaded
            if batch and (len(batch) >= self.batch_messages or total + counted > budget):
                break
            batch.append((uid, size))
            total += counted
        return batch

    def _message_id(self, folder: FolderPlan, uid: int) -> str:
        return message_id_for(
            "imap", self.job.server.key, folder.name, str(folder.uidvalidity), str(uid)
        )

    def _prepare(self, index: int, folder: FolderPlan, batch: list[tuple[int, int]]) -> _Batch:
        """Fetch a batch; what is already in the mailbox is not downloaded again."""
        sizes = dict(batch)
        oversize = [uid for uid, size in batch if size >= self.cfg.max_bytes]
        wanted = {
            uid: self._message_id(folder, uid) for uid, size in batch if size < self.cfg.max_bytes
        }
        present = self.r._mailbox.existing_messages(self.owner, list(wanted.values()))
        counts = Counts(skipped_oversize=len(oversize))
        for uid, mid in wanted.items():
            if mid in present:  # a retried chunk's own work, or an earlier migration's
                mine = present[mid].job_id == self.job.job_id
                counts = counts + (
                    Counts(imported=1, bytes=sizes[uid]) if mine else Counts(already_present=1)
                )
        prepared = _Batch(index, batch[-1][0], counts, dedup=folder.dedup_across)
        if folder.dedup_across:
            # Already in the mailbox (an earlier run): its copies under other labels and in
            # All Mail are "already there" too.
            prepared.known = [present[mid].fingerprint for mid in wanted.values() if mid in present]
            self.prints.update(prepared.known)
        to_fetch = [uid for uid, mid in wanted.items() if mid not in present]
        if not to_fetch:
            return prepared
        messages = list(self.session.fetch(to_fetch))
        prepared.download = sum(len(m.raw) for m in messages)
        if folder.dedup_across:
            messages, prepared.counts = self._drop_seen(messages, prepared.counts)
        prepared.messages = messages
        return prepared

    def _submit(self, folder: FolderPlan, batch: _Batch) -> None:
        """Start storing a fetched batch; it is pending until ``_flush``."""
        assert self.pool is not None
        target = folder.target_id
        assert target is not None
        batch.stores = [
            (m, self.pool.submit(self._store, target, self._message_id(folder, m.uid), m))
            for m in batch.messages
        ]
        batch.messages = []
        self.pending.append(batch)

    def _drop_seen(
        self, messages: list[ImapMessage], counts: Counts
    ) -> tuple[list[ImapMessage], Counts]:
        """Gmail-style sources: the same mail under another label was copied already."""
        prints = [fingerprint(m.raw) for m in messages]
        seen = self.r._migrations.seen_contents(self.owner, self.job.job_id, prints)
        seen |= self.prints  # on their way in, not yet remembered
        keep: list[ImapMessage] = []
        for m, fp in zip(messages, prints, strict=True):
            if fp in seen:
                counts = counts + Counts(already_present=1)
            else:
                seen.add(fp)  # twice in one batch: once
                self.prints.add(fp)
                keep.append(m)
        return keep, counts

    def _store(self, target: str, message_id: str, m: ImapMessage) -> Counts:
        flags = Flags(
            seen="\\Seen" in m.flags,
            flagged="\\Flagged" in m.flags,
            answered="\\Answered" in m.flags,
        )
        try:
            result = self.r._importer.store(
                ImportRequest(
                    owner=self.owner,
                    raw=m.raw,
                    folder_id=target,
                    source=Source(SourceType.IMAP, self.job.job_id),
                    message_id=message_id,
                    job_id=self.job.job_id,
                    flags=flags,
                    received_at=m.internal_date,
                )
            )
        except ValidationFailed:
            log.info("a message could not be imported", extra={"job_id": self.job.job_id})
            return Counts(failed=1)
        mine = result.job_id == self.job.job_id
        if result.outcome is InsertOutcome.STORED or mine:
            return Counts(imported=1, bytes=len(m.raw))
        return Counts(already_present=1, bytes=len(m.raw))
