"""The small interfaces the domain needs from the outside world. Adapters implement them;
the domain never imports an adapter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

# Annotations only (postponed above): importing every domain module at run time, for names
# no code here evaluates, cost each handler that imports a port ~30 ms of cold start.
if TYPE_CHECKING:
    import datetime as dt

    from mailport.domain.accounts import (
        FetchRequest,
        FetchRun,
        FetchState,
        PopAccount,
        Receipt,
        Seen,
    )
    from mailport.domain.identity import Tenant, User
    from mailport.domain.mailbox import Folder, Indexed, InsertOutcome, Owner, StoredMessage
    from mailport.domain.migration import Counts, ImapTemplate, JobState, MigrationJob
    from mailport.domain.oauth import AccessToken, OAuthConnection, OAuthFlow, TokenGrant
    from mailport.domain.remote import Credentials, ImapFolder, ImapMessage, PopEntry, ServerAddress
    from mailport.domain.uploads import (
        BatchHead,
        Fetched,
        FileResult,
        ObjectRef,
        UploadBatch,
        UploadFile,
    )


class Directory(Protocol):
    """Tenants and users."""

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        """The tenant, or None."""
        ...

    def put_tenant(self, tenant: Tenant) -> None:
        """Create or replace a tenant."""
        ...

    def get_user(self, tenant_id: str, user_id: str) -> User | None:
        """The user, or None."""
        ...

    def put_user(self, user: User) -> None:
        """Create or replace a user."""
        ...


class RawStore(Protocol):
    """Raw message bytes, stored byte for byte."""

    def put(self, key: str, raw: bytes, origin: ObjectRef | None = None) -> None:
        """Store ``raw`` under ``key`` (overwrites: keys are deterministic). ``origin``, if
        given, is an object said to hold exactly ``raw``: the store may copy it instead of
        sending the bytes, but must end up holding ``raw`` either way.
        """
        ...

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; ``NotFound`` if absent."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` (absent is fine)."""
        ...


class Mailbox(Protocol):
    """Folders, the message index and the rules of one user's mailbox."""

    def list_folders(self, owner: Owner) -> list[Folder]:
        """Every folder of the user, with counters."""
        ...

    def get_folder(self, owner: Owner, folder_id: str) -> Folder | None:
        """One folder, or None."""
        ...

    def create_folder(self, owner: Owner, folder: Folder) -> None:
        """Create a folder; ``Conflict`` if a sibling has the same name."""
        ...

    def update_folder(self, owner: Owner, before: Folder, after: Folder) -> None:
        """Rename and/or move a folder; ``Conflict`` on a sibling name clash."""
        ...

    def delete_folder(self, owner: Owner, folder: Folder) -> None:
        """Delete an empty folder; ``Conflict`` if it holds messages."""
        ...

    def insert_message(
        self, owner: Owner, message: StoredMessage, finish: FileResult | None = None
    ) -> tuple[InsertOutcome, str]:
        """Index a message (and, atomically, ``finish`` an upload file if given).

        Returns the outcome and the id of the message now indexed.
        """
        ...

    def get_message(self, owner: Owner, message_id: str) -> StoredMessage | None:
        """One message, or None."""
        ...

    def existing_messages(self, owner: Owner, message_ids: Sequence[str]) -> dict[str, Indexed]:
        """Which of ``message_ids`` are indexed, each with its job and content fingerprint."""
        ...

    def list_messages(
        self, owner: Owner, folder_id: str, limit: int, cursor: str | None
    ) -> tuple[list[StoredMessage], str | None]:
        """A page of a folder's messages, newest first, and the cursor of the next page."""
        ...

    def update_message(self, owner: Owner, before: StoredMessage, after: StoredMessage) -> None:
        """Change flags and/or folder, keeping the counters right."""
        ...

    def delete_message(self, owner: Owner, message: StoredMessage) -> None:
        """Remove a message from the index, keeping the counters right."""
        ...

    def get_rules_document(self, owner: Owner) -> dict[str, object] | None:
        """The stored auto-sort rules (JSON), or None."""
        ...

    def put_rules_document(self, owner: Owner, document: dict[str, object]) -> None:
        """Replace the auto-sort rules."""
        ...


class Uploads(Protocol):
    """Upload batches and the result of each file."""

    def create_batch(self, owner: Owner, batch: UploadBatch) -> None:
        """Record a new batch and its files."""
        ...

    def get_batch(self, owner: Owner, batch_id: str) -> UploadBatch | None:
        """A batch with every file's state, or None."""
        ...

    def get_head(self, owner: Owner, batch_id: str) -> BatchHead | None:
        """What ingest needs of a batch, or None."""
        ...

    def finish_file(self, owner: Owner, batch_id: str, result: UploadFile) -> bool:
        """Record a file's final state once; False if it was already final."""
        ...


class UploadObjects(Protocol):
    """The bucket browsers upload into."""

    def presign(self, key: str, size: int, expires_s: int) -> dict[str, Any]:
        """A presigned POST (``{"url", "fields"}``) for exactly ``key`` and ``size`` bytes."""
        ...

    def size(self, key: str) -> int | None:
        """The object's size, or None if it is not there."""
        ...

    def read(self, key: str) -> Fetched:
        """The object's bytes and the version read; ``NotFound`` if absent."""
        ...

    def delete(self, keys: list[str]) -> list[str]:
        """Remove uploads once they have been dealt with (one request for many); the keys
        that could not be removed.
        """
        ...


class PopMailbox(Protocol):
    """An open, authenticated POP3 session (RFC 1939)."""

    def entries(self) -> list[PopEntry]:
        """Every message: number, UIDL (None if the server has no UIDL) and size."""
        ...

    def retrieve(self, numbers: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        """The raw messages, in order (pipelined where the server offers PIPELINING)."""
        ...

    def delete(self, numbers: Sequence[int]) -> None:
        """Mark messages deleted; the server removes them at ``quit``."""
        ...

    def quit(self) -> None:
        """End the session, committing deletions."""
        ...

    def close(self) -> None:
        """Drop the connection without committing deletions."""
        ...

    def stop_after(self, seconds: float) -> None:
        """Cut the connection after ``seconds``, even in the middle of a RETR."""
        ...


class PopConnector(Protocol):
    """Opens POP3 sessions."""

    def open(self, server: ServerAddress, credentials: Credentials) -> PopMailbox:
        """Connect (verified TLS), authenticate, return the session."""
        ...


class ImapMailbox(Protocol):
    """An open, authenticated IMAP session, used read-only (EXAMINE, BODY.PEEK)."""

    def folders(self) -> list[ImapFolder]:
        """Every folder with its special-use flags (not yet examined)."""
        ...

    def examine(self, folder: ImapFolder) -> ImapFolder:
        """Select read-only; the folder with UIDVALIDITY, UIDNEXT and message count."""
        ...

    def sizes(self, first_uid: int, last_uid: int) -> dict[int, int]:
        """RFC822.SIZE of every message with a UID in the range (in the examined folder)."""
        ...

    def fetch(self, uids: Sequence[int]) -> Iterator[ImapMessage]:
        """The messages with flags, internal date and raw bytes (BODY.PEEK[])."""
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


class SecretBox(Protocol):
    """Small secrets sealed to an owner (the encryption context names tenant, user, account)."""

    def seal(self, secret: str, context: Mapping[str, str]) -> bytes:
        """The sealed form of ``secret``."""
        ...

    def open(self, sealed: bytes, context: Mapping[str, str]) -> str:
        """The secret; ``SecretUnreadable`` if ``context`` is not the one it was sealed with."""
        ...


class AccountStore(Protocol):
    """External POP accounts: settings, the per-user limit, and clearing what a deleted one
    leaves behind.
    """

    def list_accounts(self, owner: Owner) -> list[PopAccount]:
        """Every account of the user, oldest first."""
        ...

    def get_account(self, owner: Owner, account_id: str) -> PopAccount | None:
        """One account, or None."""
        ...

    def tenant_accounts(
        self, tenant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[tuple[Owner, PopAccount]], str | None]:
        """A page of the tenant's accounts with their owners, newest first; next cursor."""
        ...

    def create_account(self, owner: Owner, account: PopAccount, limit: int) -> None:
        """Save a new account; ``LimitExceeded`` if the user already has ``limit``."""
        ...

    def update_account(self, owner: Owner, before: PopAccount, after: PopAccount) -> None:
        """Save changed settings; ``Conflict`` if the account changed meanwhile."""
        ...

    def delete_account(self, owner: Owner, account: PopAccount) -> None:
        """Remove the account (``NotFound`` if it is gone already)."""
        ...

    def forget(self, owner: Owner, account_id: str, limit: int) -> bool:
        """Delete up to ``limit`` runs and receipts of a deleted account; True if more remain."""
        ...


class RunLedger(Protocol):
    """An account's run lease, the fetch state each run leaves, and the runs' records."""

    def begin_run(
        self, owner: Owner, account_id: str, run: FetchRun, lease_s: int, tick: str | None
    ) -> bool:
        """Take the account's run lease; False if a run holds it or ``tick`` already ran.

        A manual run's record is written in the same step, so it is listed at once.
        """
        ...

    def claim_run(self, owner: Owner, account_id: str, run_id: str) -> bool:
        """Mark a recorded run as picked up by a worker; False if it was already."""
        ...

    def finish_run(
        self,
        owner: Owner,
        account: PopAccount,
        run: FetchRun,
        state: FetchState,
        *,
        disable: bool,
        record: bool,
    ) -> None:
        """Release the lease, save the new state (``disable``: automatic fetching off) and,
        if ``record``, the run's record.
        """
        ...

    def fail_stale_run(self, owner: Owner, account_id: str, run_id: str, message: str) -> None:
        """Mark a recorded run that never finished (its worker died) as failed."""
        ...

    def list_runs(self, owner: Owner, account_id: str, limit: int) -> list[FetchRun]:
        """Recorded runs, newest first."""
        ...


class Receipts(Protocol):
    """What each account has dealt with: UIDLs and message contents."""

    def imported(self, owner: Owner, account_id: str) -> Seen:
        """Every UIDL and content the account has dealt with (one read for the run)."""
        ...

    def record(self, owner: Owner, account_id: str, receipts: Sequence[Receipt]) -> None:
        """Remember UIDLs and contents dealt with (idempotent)."""
        ...

    def drop_receipts(self, owner: Owner, account_id: str, uidls: Sequence[str]) -> None:
        """Drop the receipts of these UIDLs (idempotent: absent ones are fine)."""
        ...


class Schedule(Protocol):
    """Which accounts the automatic fetch is due for."""

    def due(self, minute: int) -> Iterator[tuple[Owner, str, int]]:
        """Accounts with automatic fetching on whose slot is in ``minute`` of the window:
        (owner, account id, second of the window).
        """
        ...


class FetchQueue(Protocol):
    """Work for the fetch workers."""

    def send(self, requests: Sequence[FetchRequest]) -> None:
        """Queue fetches (each with its own delay)."""
        ...


class Migrations(Protocol):
    """Migration jobs, their queue and run slots, and admin-defined IMAP templates."""

    def create_job(self, job: MigrationJob) -> None:
        """Save a new, queued job (it joins the queue in creation order)."""
        ...

    def tenant_jobs(
        self, tenant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[MigrationJob], str | None]:
        """A page of the tenant's jobs, newest first; the next page's cursor."""
        ...

    def get_job(self, owner: Owner, job_id: str) -> MigrationJob | None:
        """One job, or None."""
        ...

    def list_jobs(self, owner: Owner) -> list[MigrationJob]:
        """The user's jobs, newest first."""
        ...

    def save_job(
        self, job: MigrationJob, *, release: bool = False, unless_cancelled: bool = False
    ) -> MigrationJob:
        """Save ``job`` if nobody saved it since it was read (``Conflict`` otherwise); with
        ``release`` its run slot is given back in the same write; with ``unless_cancelled``
        a cancel requested meanwhile is a ``Conflict`` too. Returns the saved job.
        """
        ...

    def request_cancel(self, owner: Owner, job_id: str) -> bool:
        """Flag a running or paused job for cancelling; False if it is neither."""
        ...

    def cancel_queued(self, job: MigrationJob, finished: MigrationJob) -> bool:
        """Take a queued job out of the queue as ``finished``; False if it is not queued."""
        ...

    def requeue(self, job: MigrationJob, *, cancel: bool) -> bool:
        """Queue ``job`` again at its registration place (``cancel``: flagged for rollback);
        False if it changed since read.
        """
        ...

    def claim(self, job: MigrationJob, started: MigrationJob, total: int, per_tenant: int) -> str:
        """Start a queued job if a slot is free: "started", "not_queued", "full" (overall)
        or "tenant_full".
        """
        ...

    def take_copy_slot(self, holder: str, cap: int, now: dt.datetime, until: dt.datetime) -> bool:
        """One of ``cap`` copy slots for ``holder`` (a job) until ``until``; False if all are
        held, and the holder waits in line (oldest first). An expired lease frees a slot;
        the holder's own is taken again.
        """
        ...

    def give_copy_slot(self, holder: str) -> None:
        """Free ``holder``'s copy slot and its place in line, if it has either."""
        ...

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

    def job_messages(self, owner: Owner, job_id: str, limit: int) -> list[str]:
        """Ids of (up to ``limit``) messages the job stored that are still there."""
        ...

    def seen_contents(self, owner: Owner, job_id: str, fingerprints: Sequence[str]) -> set[str]:
        """Which of these contents the job has already imported (in any folder)."""
        ...

    def remember_contents(self, owner: Owner, job_id: str, fingerprints: Sequence[str]) -> None:
        """Note contents the job imported (kept for a month, then expire)."""
        ...

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


class Mailer(Protocol):
    """Email out (notices), when the deployment has a sender."""

    def send(self, sender: str, to: str, raw: bytes) -> None:
        """Send ``raw`` (a complete message) from ``sender`` to ``to``."""
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


class IdentityProvider(Protocol):
    """An OAuth2 identity provider (Microsoft's identity platform through msal)."""

    def begin(self, email: str, redirect_uri: str) -> tuple[str, dict[str, Any]]:
        """The URL to send the browser to, and the flow's details to keep until the
        callback (``OAuthNotConfigured`` if the deployment has no app registration).
        """
        ...

    def complete(self, details: Mapping[str, Any], params: Mapping[str, str]) -> TokenGrant:
        """Redeem the callback's code (``OAuthDenied`` if refused)."""
        ...

    def access_token(self, cache: str, account_id: str) -> AccessToken:
        """A fresh access token from a token cache, refreshed silently when needed
        (``SignInRequired`` if the refresh token no longer works; transient errors otherwise).
        """
        ...


class OAuthStore(Protocol):
    """Sign-in flows in progress and the connections they leave."""

    def put_flow(self, flow: OAuthFlow) -> None:
        """Keep a new flow until it is used or expires."""
        ...

    def take_flow(self, state: str) -> OAuthFlow | None:
        """Remove and return the flow (once: a second call gets None); None if expired."""
        ...

    def list_connections(self, tenant_id: str, user_id: str) -> list[OAuthConnection]:
        """The user's connections, oldest first."""
        ...

    def get_connection(
        self, tenant_id: str, user_id: str, connection_id: str
    ) -> OAuthConnection | None:
        """One connection, or None."""
        ...

    def save_connection(self, connection: OAuthConnection, *, new: bool = False) -> OAuthConnection:
        """Create (``new``) or update if unchanged since read (``Conflict`` otherwise)."""
        ...

    def delete_connection(self, tenant_id: str, user_id: str, connection_id: str) -> None:
        """Remove a connection (no error if gone)."""
        ...


class AccessTokens(Protocol):
    """Access tokens for a user's OAuth connection (what a migration logs in with)."""

    def connection_email(self, tenant_id: str, user_id: str, connection_id: str) -> str | None:
        """The mailbox of the user's connection; None if there is no such connection
        (``SignInRequired`` if it needs a new sign-in first).
        """
        ...

    def mailbox_token(self, tenant_id: str, user_id: str, connection_id: str) -> Credentials:
        """XOAUTH2 credentials (``SignInRequired`` when the user must sign in again)."""
        ...
