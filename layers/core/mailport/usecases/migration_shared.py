"""What the API side (``MigrationService``, ``Scheduler``) and the worker side (the state
machine's steps) of the IMAP migration share: the limits, the job's reference and secret
context, how to log in to a source and how to survey it. Both import it; neither imports the
other.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass, replace
from typing import Any

from mailport.catalogue import Words, say
from mailport.domain.mailbox import Owner
from mailport.domain.message import MAX_BYTES
from mailport.domain.migration import (
    MAX_FOLDERS,
    FolderMapping,
    JobKind,
    JobState,
    MigrationJob,
    SourceServer,
    map_folders,
)
from mailport.domain.oauth import Purpose
from mailport.domain.remote import Credentials, ImapFolder, RemoteFolderGone, ServerAddress
from mailport.errors import MailportError, ValidationFailed
from mailport.ports import AccessTokens, ImapConnector, ImapMailbox
from mailport.workflow import JobRef

_STATE_WORDS: Mapping[JobState, Words] = {
    JobState.QUEUED: say("migration.state_queued"),
    JobState.RUNNING: say("migration.state_running"),
    JobState.PAUSED: say("migration.state_paused"),
    JobState.ROLLING_BACK: say("migration.state_rolling_back"),
    JobState.ROLLED_BACK: say("migration.state_rolled_back"),
    JobState.COMPLETED: say("migration.state_completed"),
    JobState.FAILED: say("migration.state_failed"),
    JobState.REVERTING: say("migration.state_reverting"),
    JobState.REVERTED: say("migration.state_reverted"),
    JobState.NEEDS_SIGNIN: say("migration.state_needs_signin"),
}
_KIND_WORDS: Mapping[JobKind, Words] = {
    JobKind.FULL: say("migration.kind_full"),
    JobKind.RETRY: say("migration.kind_retry"),
    JobKind.DELTA: say("migration.kind_delta"),
}


def state_words(state: JobState) -> Words:
    """A job's state as a message names it (in English its value: ``rolling_back``)."""
    return _STATE_WORDS[state]


def kind_words(kind: JobKind) -> Words:
    """A job's kind as a message names it (in English its value: ``retry``)."""
    return _KIND_WORDS[kind]


class JobCancelled(MailportError):
    """The user cancelled the job: the state machine rolls it back."""

    code = "cancelled"


@dataclass(frozen=True, slots=True)
class MigrationConfig:
    """Limits and sizes (settings.py reads them from the environment)."""

    max_running: int = 50  # jobs running at once, overall
    max_per_tenant: int = 10  # and per tenant
    # Of the running jobs, how many copy at once. A job waits in its state machine for a
    # slot, so the number running only decides how long each takes, never the peak load on
    # the table's write quota and the account's Lambda concurrency (docs/capacity.md).
    max_copying: int = 50
    copy_wait_s: int = 30  # then asks again
    copy_lease_s: float = 600.0  # the worker's timeout (template.yaml): no chunk outlives it
    # Per CopyChunk step. Memory is bounded by the batch, not the chunk, so chunks can be
    # big: fewer state transitions (≈ 2 per chunk) and Lambda invocations per message.
    chunk_messages: int = 2000
    chunk_bytes: int = 512 * 1024 * 1024
    chunk_seconds: float = 300.0  # well inside the worker's 600 s timeout
    cutoff_grace_s: float = 120.0  # then a session still busy is cut (300 + 120 < 600)
    batch_messages: int = 100  # a checkpoint after each batch inside a chunk
    batch_bytes: int = 32 * 1024 * 1024
    chunks_per_execution: int = 1000  # ≈ 7 history events each: far below 25,000
    store_concurrency: int = 8
    rollback_seconds: float = 300.0
    max_pause_s: int = 900  # a long pace wait is taken in steps, so a cancel is seen
    max_bytes: int = MAX_BYTES
    ca_file: str | None = None
    daily_bytes_override: int | None = None  # local stack only: exercise pacing
    assumed_bytes_per_s: float = 2 * 1024 * 1024  # the preview's estimate before any rate
    notice_sender: str | None = None  # an SES identity: notices are also emailed
    console_url: str | None = None  # where notices link to (the job's report)
    index_settle_s: float = 1.0  # GSIs are eventually consistent (typically well under 1 s)
    microsoft_host: str = "outlook.office365.com"  # Exchange Online's IMAP endpoint
    microsoft_port: int = 993
    google_host: str = "imap.gmail.com"  # Gmail and Google Workspace
    google_port: int = 993


def secret_context(job: MigrationJob) -> dict[str, str]:
    """KMS encryption context of a job's password: it opens for this job only."""
    return {"tenant": job.tenant_id, "user": job.user_id, "job": job.job_id}


def job_ref(job: MigrationJob) -> JobRef:
    """What an execution knows of its job (no secret); ``resumes``: which run of the job it
    is (a step of an earlier run leaves a resumed job alone).
    """
    return {
        "job_id": job.job_id,
        "tenant_id": job.tenant_id,
        "user_id": job.user_id,
        "resumes": job.resumes,
    }


def owner_of(ref: Mapping[str, Any]) -> tuple[Owner, str]:
    """The owner and job id from an execution's ``job`` reference."""
    try:
        return Owner(str(ref["tenant_id"]), str(ref["user_id"])), str(ref["job_id"])
    except KeyError as e:
        raise ValidationFailed(say("migration.ref_lacks", field=str(e.args[0]))) from e


def credentials_for(
    job_or_owner: MigrationJob | Owner,
    server: SourceServer,
    password: str,
    tokens: AccessTokens | None,
) -> Credentials:
    """How to log in to a source: its password, or a fresh OAuth token for a sign-in."""
    if server.connection_id is None:
        return Credentials(server.username, password)
    if tokens is None:
        raise ValidationFailed(say("migration.signin_not_configured"))
    provider = server.provider
    return tokens.mailbox_token(
        job_or_owner.tenant_id,
        job_or_owner.user_id,
        server.connection_id,
        expect=None if provider is None else (provider, Purpose.IMAP),
    )


def server_address(server: SourceServer, ca_file: str | None) -> ServerAddress:
    """Where to connect for a source (with the extra CA the local stack trusts)."""
    return ServerAddress(
        server.host, server.port, server.ssl, ca_file, any_port=server.kind == "template"
    )


@dataclass(frozen=True, slots=True)
class SourceLogin:
    """How to reach one user's source: the connector, the sign-in tokens and the CA."""

    connector: ImapConnector
    tokens: AccessTokens | None
    ca_file: str | None

    def open(self, who: MigrationJob | Owner, server: SourceServer, password: str) -> ImapMailbox:
        """A logged-in session (the caller logs it out)."""
        return self.connector.open(
            server_address(server, self.ca_file),
            credentials_for(who, server, password, self.tokens),
        )


# -- surveying a source -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Survey:
    """A source folder, examined, with its target and sizes (of the UIDs from ``first_uid``)."""

    mapping: FolderMapping
    folder: ImapFolder
    bytes: int
    oversize: int
    first_uid: int = 1  # a delta pass: the UIDs before are the earlier job's


def mapped_folders(session: ImapMailbox) -> list[FolderMapping]:
    """Every folder of the source, where it goes (LIST and NAMESPACE: nothing examined)."""
    folders = session.folders()
    if len(folders) > MAX_FOLDERS:
        raise ValidationFailed(say("migration.too_many_folders", max=MAX_FOLDERS))
    # Folders listed under a personal namespace ("INBOX.Sent") are the user's top level.
    return list(map_folders(folders, session.personal_prefix()))


def survey(
    session: ImapMailbox,
    max_bytes: int,
    *,
    only: Container[bytes] | None = None,
    since: Mapping[bytes, tuple[int, int]] | None = None,
    page: tuple[int, int] | None = None,
    mappings: list[FolderMapping] | None = None,
) -> list[Survey]:
    """Examine every folder to copy: UIDVALIDITY, UIDNEXT (the snapshot), count and sizes.

    ``only``: the raw names of the folders wanted (a retry's), the others left out.
    ``since``: per raw name, an earlier snapshot's (UIDVALIDITY, UIDNEXT): a folder still
    numbered so is surveyed from that UIDNEXT on (a delta pass); one renumbered, from 1.
    ``page``: (first, count) of the mapped folders only (a preview's page); ``mappings``:
    ``mapped_folders`` if the caller has them already.
    """
    out: list[Survey] = []
    mappings = mapped_folders(session) if mappings is None else mappings
    if page is not None:
        mappings = mappings[page[0] : page[0] + page[1]]
    for mapping in mappings:
        if only is not None and mapping.source.raw_name not in only:
            continue
        if mapping.skip_reason:
            out.append(Survey(mapping, mapping.source, 0, 0))
            continue
        try:
            folder = session.examine(mapping.source)
        except RemoteFolderGone:  # deleted between LIST and EXAMINE: nothing to copy
            gone = replace(mapping, skip_reason="deleted on the server")
            out.append(Survey(gone, mapping.source, 0, 0))
            continue
        first = 1
        before = (since or {}).get(mapping.source.raw_name)
        if before is not None and before[0] == folder.uidvalidity:
            first = max(1, before[1])
        sizes = session.sizes(first, folder.uidnext - 1) if folder.messages else {}
        small = [s for s in sizes.values() if s < max_bytes]
        folder = replace(folder, messages=len(sizes))
        out.append(Survey(mapping, folder, sum(small), len(sizes) - len(small), first))
    return out
