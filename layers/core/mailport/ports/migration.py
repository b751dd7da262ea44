"""The IMAP migration's ports: the source session, the job's stores split by job, the state
machine's executions and the metrics.

Who uses which: the admin API reads ``JobStore`` only; the API side
(``usecases/migration.py``) the job store, the queue and the templates; the scheduler the job
store and the queue; the worker's steps the job store, the copy slots and the content ledger
(and the queue, to queue a job again after a sign-in).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping

    from mailport.domain.mailbox import Owner
    from mailport.domain.migration import (
        Counts,
        ImapTemplate,
        JobState,
        MigrationJob,
        ReportItem,
    )
    from mailport.domain.remote import Credentials, ImapFolder, ImapMessage, ServerAddress


class ImapMailbox(Protocol):
    """An open, authenticated IMAP session, used read-only (EXAMINE, BODY.PEEK)."""

    def folders(self) -> list[ImapFolder]:
        """Every folder with its special-use flags (not yet examined)."""
        ...

    def personal_prefix(self) -> str:
        """The personal namespace's prefix ("INBOX." on some servers), "" if none."""
        ...

    def examine(self, folder: ImapFolder) -> ImapFolder:
        """Select read-only; the folder with UIDVALIDITY, UIDNEXT and message count."""
        ...

    def sizes(self, first_uid: int, last_uid: int) -> dict[int, int]:
        """RFC822.SIZE of every message with a UID in the range (in the examined folder)."""
        ...

    def uids(self, first_uid: int, last_uid: int) -> list[int]:
        """The UIDs in the range that exist (UID SEARCH), ascending."""
        ...

    def fetch(self, sized: Mapping[int, int]) -> Iterator[ImapMessage]:
        """The messages with flags, internal date and raw bytes (BODY.PEEK[]); ``sized``
        maps each UID to its RFC822.SIZE as ``sizes()`` gave it (not asked again).
        """
        ...

    def headers(self, uids: Sequence[int]) -> dict[int, bytes]:
        """The From, Subject and Date header lines of each message still there (for a
        report of mail not downloaded).
        """
        ...

    def logout(self) -> None:
        """End the session."""
        ...

    def stop_after(self, seconds: float) -> None:
        """Cut the connection after ``seconds``, even in the middle of a FETCH."""
        ...


class ImapConnector(Protocol):
    """Opens IMAP sessions."""

    def open(self, server: ServerAddress, credentials: Credentials) -> ImapMailbox:
        """Connect (verified TLS), authenticate (LOGIN or XOAUTH2), return the session."""
        ...


class JobStore(Protocol):
    """Migration jobs: create, read, list and save them (optimistic locking)."""

    def create_job(self, job: MigrationJob) -> None:
        """Save a new, queued job (it joins the queue in creation order)."""
        ...

    def tenant_jobs(
        self, tenant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[MigrationJob], str | None]:
        """A page of the tenant's jobs, newest first; the next page's cursor."""
        ...

    def get_job(self, owner: Owner, job_id: str, *, plan: bool = True) -> MigrationJob | None:
        """One job, or None; ``plan``: with its folders (else only their totals, for a
        caller that never changes them: the scheduler).
        """
        ...

    def list_jobs(self, owner: Owner, *, plans: bool = True) -> list[MigrationJob]:
        """The user's jobs, newest first (``plans``: with their folders, else their totals)."""
        ...

    def save_job(
        self,
        job: MigrationJob,
        *,
        release: bool = False,
        unless_cancelled: bool = False,
        plan_changes: Sequence[int] = (),
        created_changed: bool = False,
    ) -> MigrationJob:
        """Save ``job`` if nobody saved it since it was read (``Conflict`` otherwise); with
        ``release`` its run slot is given back in the same write; with ``unless_cancelled``
        a cancel requested meanwhile is a ``Conflict`` too; ``plan_changes``: the indexes of
        the folders of its plan that changed (only those are written), ``created_changed``:
        whether the folders the job made changed. Returns the saved job.
        """
        ...

    def request_cancel(self, owner: Owner, job_id: str) -> bool:
        """Flag a running or paused job for cancelling; False if it is neither."""
        ...


class JobQueue(Protocol):
    """The queue of jobs waiting for a run slot, in registration order, and the slots."""

    def queued(self, limit: int) -> list[tuple[Owner, str]]:
        """The oldest queued jobs, in registration order."""
        ...

    def starting(self, limit: int) -> list[tuple[Owner, str]]:
        """Jobs given a slot whose execution has not yet saved (normally for a moment)."""
        ...

    def queue_position(self, job: MigrationJob) -> int:
        """1-based position of ``job`` in the queue, exact up to 100 jobs ahead; 101 means
        further back (counting further costs a read of every job ahead).
        """
        ...

    def claim(self, job: MigrationJob, started: MigrationJob, total: int, per_tenant: int) -> str:
        """Start a queued job if a slot is free: "started", "not_queued", "full" (overall)
        or "tenant_full".
        """
        ...

    def requeue(self, job: MigrationJob, *, cancel: bool) -> bool:
        """Queue ``job`` again at its registration place (``cancel``: flagged for rollback);
        False if it changed since read.
        """
        ...

    def cancel_queued(self, job: MigrationJob, finished: MigrationJob) -> bool:
        """Take a queued job out of the queue as ``finished``; False if it is not queued."""
        ...


class CopySlots(Protocol):
    """The few slots a running job must hold while a chunk copies, and the line for them."""

    def take_copy_slot(self, holder: str, cap: int, now: dt.datetime, until: dt.datetime) -> bool:
        """One of ``cap`` copy slots for ``holder`` (a job) until ``until``; False if all are
        held, and the holder waits in line (oldest first). An expired lease frees a slot;
        the holder's own is taken again.
        """
        ...

    def give_copy_slot(self, holder: str) -> None:
        """Free ``holder``'s copy slot and its place in line, if it has either."""
        ...


class ContentLedger(Protocol):
    """What a job imported: the contents it copied (the same mail under several labels is
    copied once) and the messages it stored that are still there (what a rollback removes).
    """

    def seen_contents(self, owner: Owner, job_id: str, fingerprints: Sequence[str]) -> set[str]:
        """Which of these contents the job has already imported (in any folder)."""
        ...

    def remember_contents(self, owner: Owner, job_id: str, fingerprints: Sequence[str]) -> None:
        """Note contents the job imported (kept for a month, then expire)."""
        ...

    def job_messages(self, owner: Owner, job_id: str, limit: int) -> list[str]:
        """Ids of (up to ``limit``) messages the job stored that are still there."""
        ...


class JobReports(Protocol):
    """The per-item report of each job: what it did not import, and why."""

    def record(
        self,
        owner: Owner,
        job_id: str,
        folder_index: int,
        uids: tuple[int, int],
        items: Sequence[ReportItem],
    ) -> None:
        """Make ``items`` the folder's lines with UIDs in ``uids`` (first, last): lines there
        from an earlier attempt at the same messages that this one did not make are removed.
        Idempotent.
        """
        ...

    def page(
        self, owner: Owner, job_id: str, limit: int, cursor: str | None
    ) -> tuple[list[ReportItem], str | None]:
        """Up to ``limit`` items in folder and UID order, and where the next page starts."""
        ...

    def retryable(
        self, owner: Owner, job_id: str, folder_index: int, first_uid: int, limit: int
    ) -> list[ReportItem]:
        """Up to ``limit`` items of one folder a retry fetches again, from ``first_uid`` on,
        UIDs ascending (every numbering: the caller keeps the one its folder has).
        """
        ...


class ImapTemplates(Protocol):
    """The IMAP server templates a tenant's admins define."""

    def list_templates(self, tenant_id: str) -> list[ImapTemplate]:
        """The tenant's IMAP server templates."""
        ...

    def get_template(self, tenant_id: str, template_id: str) -> ImapTemplate | None:
        """One template of the tenant, or None."""
        ...

    def put_template(self, tenant_id: str, template: ImapTemplate, *, replace: bool) -> bool:
        """Create a template, or (``replace``) change one; False if there is none to change."""
        ...

    def delete_template(self, tenant_id: str, template_id: str) -> bool:
        """Remove a template; False if there was none."""
        ...


class MigrationMetrics(Protocol):
    """What a migration did, for the operators' metrics."""

    def chunk(self, counts: Counts, seconds: float) -> None:
        """A CopyChunk step copied ``counts`` in ``seconds``."""
        ...

    def ended(self, state: JobState, seconds: float | None) -> None:
        """A job ended (completed, rolled back, reverted, failed) after ``seconds``."""
        ...


class Executions(Protocol):
    """Runs of the migration state machine."""

    def start(self, name: str, payload: Mapping[str, Any]) -> bool:
        """Start an execution named ``name``; False if one of that name exists already."""
        ...
