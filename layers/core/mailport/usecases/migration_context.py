"""What every step of the migration state machine works with: ``StepContext`` (the stores,
the clocks, loading and saving the job, opening the source, telling the user), and the rules
all steps share. The runner builds one per step; the chunk, plan and rollback modules take it
explicitly instead of reaching into the runner.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from mailport.catalogue import DEFAULT, say
from mailport.domain.mailbox import Owner, message_id_for
from mailport.domain.migration import (
    ACTIVE,
    HOLDS_SLOT,
    Counts,
    JobError,
    JobState,
    MigrationJob,
    PauseCause,
)
from mailport.domain.notices import migration_notice
from mailport.domain.remote import RemoteTransient
from mailport.errors import (
    Conflict,
    MailportError,
    NotFound,
    TransientError,
    ValidationFailed,
    uncarried,
)
from mailport.ports import (
    AccessTokens,
    ContentLedger,
    CopySlots,
    Directory,
    Executions,
    ImapMailbox,
    JobReports,
    JobStore,
    Mailbox,
    Mailer,
    MigrationMetrics,
    SecretBox,
)
from mailport.usecases.importing import Importer
from mailport.usecases.mailbox import MailboxService
from mailport.usecases.me import language_of_user
from mailport.usecases.migration_shared import (
    JobCancelled,
    MigrationConfig,
    SourceLogin,
    owner_of,
    secret_context,
    state_words,
)
from mailport.workflow import ErrorName, Outcome

log = logging.getLogger(__name__)


class JobNotActive(MailportError):
    """A step of a job that is no longer running (rolling back, ended): nothing may be
    copied into it. The state machine catches this and rolls back (idempotently).
    """

    code = "job_not_active"


# The longest a provider's "slow down" pauses a job at once: Gmail's bandwidth answer asks
# for no time at all (we wait 30 min, parser.throttle_s), a Microsoft hint may be hours off.
MAX_PROVIDER_PAUSE_S = 3600
# How long the provider may hold a job back without it making any progress before the job
# fails (and is rolled back) instead: a day covers Gmail's daily bandwidth reset.
MAX_PROVIDER_HOLD_S = 24 * 3600


def provider_pause(
    ctx: StepContext, job: MigrationJob, e: RemoteTransient
) -> tuple[MigrationJob, int]:
    """The provider asked us to slow down: pause as long as it said (bounded), which is
    neither a failure nor a step towards rollback; anything else transient, or a hold past
    ``MAX_PROVIDER_HOLD_S`` without progress, is re-raised for the state machine.
    """
    if not e.retry_after_s or job.provider_waited_s >= MAX_PROVIDER_HOLD_S:
        raise e
    wait_s = min(MAX_PROVIDER_PAUSE_S, max(1, int(e.retry_after_s)))
    until = ctx.clock() + dt.timedelta(seconds=wait_s)
    log.info("paused by the provider", extra={"job_id": job.job_id, "wait_s": wait_s})
    paused = replace(
        job,
        state=JobState.PAUSED,
        paused_until=until,
        paused_by=PauseCause.PROVIDER,
        provider_waited_s=job.provider_waited_s + wait_s,
    )
    return ctx.save(job, paused), wait_s


def require_active(job: MigrationJob) -> None:
    """A step works only on a running (or paused) job the user has not cancelled."""
    if job.state not in ACTIVE:
        raise JobNotActive(say("migration.not_active", state=state_words(job.state)))
    if job.cancel_requested:
        raise JobCancelled(say("migration.cancelled_by_user"))


def error_of(error: object) -> JobError:
    """The user-facing error from Step Functions' ``{"Error", "Cause"}`` of a caught failure."""
    if not isinstance(error, Mapping):
        return JobError.said("failed", say("migration.failed"))
    name = str(error.get("Error", "failed"))
    cause = str(error.get("Cause", ""))
    with contextlib.suppress(ValueError, TypeError):
        cause = str(json.loads(cause).get("errorMessage", cause))
    codes: dict[str, str] = {ErrorName.JOB_CANCELLED: "cancelled", ErrorName.TIMEOUT: "timed_out"}
    # RemoteAuthFailed → remote_auth_failed: the same code the API uses for that error.
    code = (
        codes.get(name) or re.sub(r"(?<!^)(?=[A-Z])", "_", name.rsplit(".", maxsplit=1)[-1]).lower()
    )
    english, words = uncarried(cause)  # the worker's own errors carry their words
    return JobError(code, " ".join(english.split())[:300] or name, words)


def plan_changes(before: MigrationJob, after: MigrationJob) -> list[int]:
    """The folders of ``after``'s plan that differ from ``before``'s (all of a new plan). A
    step replaces only the folders it changed, so the others are the same objects.
    """
    old = before.plan
    if len(old) != len(after.plan):
        return list(range(len(after.plan)))
    return [i for i, f in enumerate(after.plan) if f is not old[i] and f != old[i]]


def minus(after: Counts, before: Counts) -> Counts:
    """What a step added to a job's counts."""
    return Counts(
        after.imported - before.imported,
        after.already_present - before.already_present,
        after.skipped_oversize - before.skipped_oversize,
        after.failed - before.failed,
        after.bytes - before.bytes,
    )


@dataclass(frozen=True, slots=True)
class StepContext:
    """The collaborators of one step, and what every step does with them."""

    jobs: JobStore
    copy_slots: CopySlots
    ledger: ContentLedger
    reports: JobReports
    login: SourceLogin
    mailbox: Mailbox
    mailbox_service: MailboxService
    importer: Importer
    secrets: SecretBox
    executions: Executions
    config: MigrationConfig
    clock: Callable[[], dt.datetime]
    monotonic: Callable[[], float]
    sleep: Callable[[float], None]
    directory: Directory | None = None
    mailer: Mailer | None = None
    metrics: MigrationMetrics | None = None
    tokens: AccessTokens | None = None

    def load(self, ref: Mapping[str, Any]) -> tuple[Owner, MigrationJob]:
        """The job an execution's reference names (``NotFound`` if it is gone)."""
        owner, job_id = owner_of(ref)
        job = self.jobs.get_job(owner, job_id)
        if job is None:
            raise NotFound(say("migration.job_missing", job_id=job_id))
        return owner, job

    def save(
        self, before: MigrationJob, after: MigrationJob, *, unless_cancelled: bool = False
    ) -> MigrationJob:
        """Save a job's new state (freeing its slot when the state no longer holds one)."""
        release = before.slot and after.state not in HOLDS_SLOT
        if release:
            after = replace(after, slot=False)
        try:
            return self.jobs.save_job(
                after,
                release=release,
                unless_cancelled=unless_cancelled,
                plan_changes=plan_changes(before, after),
                created_changed=before.created_folders != after.created_folders,
            )
        except Conflict as e:
            # Someone saved in between (a redelivered step): the retry reads it afresh.
            raise TransientError(say("migration.changed_retrying")) from e

    def finish(
        self, before: MigrationJob, after: MigrationJob, *, unless_cancelled: bool = False
    ) -> MigrationJob:
        """Save a job's end (its state says which), and count it."""
        saved = self.save(before, after, unless_cancelled=unless_cancelled)
        if self.metrics is not None:
            took = None
            if after.started_at and after.finished_at:
                took = (after.finished_at - after.started_at).total_seconds()
            self.metrics.ended(after.state, took)
        return saved

    def open_source(self, job: MigrationJob) -> ImapMailbox:
        """A session on the job's source (the caller logs it out)."""
        password = ""
        if job.server.connection_id is None:
            if job.sealed_secret is None:
                raise ValidationFailed(say("migration.credentials_gone"))
            password = self.secrets.open(job.sealed_secret, secret_context(job))
        return self.login.open(job, job.server, password)

    def give_copy_slot(self, job_id: str) -> None:
        """Free the job's copy slot; a failure only logs (the slot's lease frees it)."""
        try:
            self.copy_slots.give_copy_slot(job_id)
        except MailportError:
            # The chunk's own outcome matters more; the slot's lease frees it in a while.
            log.warning("could not free a copy slot", extra={"job_id": job_id})

    def notify(
        self, owner: Owner, job: MigrationJob, kind: str, *, retry_email: bool = False
    ) -> None:
        """A notice in the user's Inbox; its id comes from the job and kind, so a retried
        step cannot deliver it twice. ``retry_email``: SES being busy fails the step (see
        ``_email``).
        """
        message_id = message_id_for("notice", job.job_id, kind)
        raw = migration_notice(job, kind, self.clock(), message_id, **self._words_for(job))
        self.importer.store_notice(
            owner, raw, message_id, job.job_id, flagged=kind == Outcome.ROLLBACK_FAILED
        )
        self._email(job, kind, message_id, retry=retry_email)

    def _words_for(self, job: MigrationJob) -> dict[str, Any]:
        """A notice's language (the user's choice; English until they make one) and link."""
        language = (
            language_of_user(self.directory, job.tenant_id, job.user_id, DEFAULT)
            if self.directory is not None
            else DEFAULT
        )
        return {"language": language, "console_url": self.config.console_url}

    def _email(self, job: MigrationJob, kind: str, message_id: str, *, retry: bool) -> None:
        """The same notice by email, when a sender is configured, after the Inbox copy. A
        notice must never fail the migration it reports on, so errors are logged, except a
        busy SES (throttling, 5xx) with ``retry``: the notify steps retry ``TransientError``
        and then move on whatever happens (their Catch), so the email is sent on a retry
        instead of being dropped. A retry stores no second Inbox copy (same id).
        """
        sender = self.config.notice_sender
        if not sender or self.mailer is None or self.directory is None:
            return
        try:
            user = self.directory.get_user(job.tenant_id, job.user_id)
            if user is None or not user.email:
                return
            raw = migration_notice(
                job,
                kind,
                self.clock(),
                message_id,
                sender=sender,
                to=user.email,
                **self._words_for(job),
            )
            self.mailer.send(sender, user.email, raw)
        except TransientError:
            if retry:
                raise
            log.exception("could not email the notice", extra={"job_id": job.job_id})
        except Exception:  # best effort: an email must never fail the step that reports
            log.exception("could not email the notice", extra={"job_id": job.job_id})
