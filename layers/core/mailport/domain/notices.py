"""Messages mailport itself puts in a user's Inbox (fetch warnings, automatic fetch turned
off or paused; a migration's start, progress and end), in the reader's language.

Each says what happened, with the counts, what the other server said, and what to do next;
their words are the catalogue's ``notice.*`` entries. The layout (text and HTML, one
``multipart/alternative`` message, safe against header injection) is ``notices_layout``.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from mailport.catalogue import Words, say
from mailport.domain.accounts import DISABLE_AFTER_FAILURES, PopAccount
from mailport.domain.message import MAX_BYTES
from mailport.domain.migration import JobState, MigrationJob, signin_service
from mailport.domain.migration.report import DELTA_DAYS, can_delta, can_retry, delta_until
from mailport.domain.notices_layout import (
    SENDER,
    Block,
    Facts,
    Link,
    Notice,
    Para,
    Said,
    Steps,
    console_link,
    message,
    one_line,
    said,
    when,
)
from mailport.domain.oauth import OAuthProvider

__all__ = ["SENDER", "fetch_disabled", "fetch_paused", "fetch_warning", "migration_notice"]


def _who(account: PopAccount) -> str:
    return one_line(account.username, 100)


def _account(account: PopAccount) -> Words:
    return say("notice.account", who=_who(account), host=one_line(account.host, 253))


def _times(n: int, language: str) -> str:
    return say("notice.times", n=n).render(language)


def _open_accounts(console_url: str | None) -> tuple[Block, ...]:
    url = console_link(console_url, "accounts")
    if url is None:
        return ()
    return (Link(say("notice.fetch.open_accounts"), say("notice.open_console"), url),)


def _fetch_notice(
    *,
    subject: Words,
    tone: str,
    lead: Words,
    error: tuple[Words, str | Words],
    middle: tuple[Block, ...],
    steps: tuple[Words, ...],
    sent: tuple[dt.datetime, str, str, str | None],
) -> bytes:
    """The shape all three fetch notices share: lead, what the server said, ``middle``, the
    steps, the link to the accounts page. ``sent`` is (now, message id, language, console URL).
    """
    now, message_id, language, console_url = sent
    label, what = error
    notice = Notice(
        subject,
        tone,
        (
            Para(lead),
            Said(label, said(what, language)),
            *middle,
            Steps(steps),
            *_open_accounts(console_url),
        ),
    )
    return message(notice, language, now, message_id)


def fetch_warning(
    account: PopAccount,
    failures: int,
    error: str | Words,
    now: dt.datetime,
    message_id: str,
    *,
    language: str = "en",
    console_url: str | None = None,
) -> bytes:
    """After a few automatic runs failed in a row: what fails and how to fix it."""
    left = max(0, DISABLE_AFTER_FAILURES - failures)
    return _fetch_notice(
        subject=say("notice.fetch_warning.subject", who=_who(account)),
        tone="warn",
        lead=say(
            "notice.fetch_warning.lead",
            account=_account(account),
            failures=failures,
            when=when(now, language),
        ),
        error=(say("notice.last_error"), error),
        middle=(
            Facts(
                (
                    (say("notice.fetch.failures"), _times(failures, language)),
                    (say("notice.fetch.left"), _times(left, language)),
                )
            ),
            Para(say("notice.fetch_warning.cutoff", left=left)),
        ),
        steps=(say("notice.fetch.step_check"), say("notice.fetch.step_edit")),
        sent=(now, message_id, language, console_url),
    )


def fetch_disabled(
    account: PopAccount,
    error: str | Words,
    now: dt.datetime,
    message_id: str,
    *,
    language: str = "en",
    console_url: str | None = None,
) -> bytes:
    """Automatic fetching was switched off: why, and how to turn it back on."""
    return _fetch_notice(
        subject=say("notice.fetch_disabled.subject", who=_who(account)),
        tone="bad",
        lead=say(
            "notice.fetch_disabled.lead",
            account=_account(account),
            failures=DISABLE_AFTER_FAILURES,
            when=when(now, language),
        ),
        error=(say("notice.last_error"), error),
        middle=(Para(say("notice.fetch.nothing_lost")),),
        steps=(
            say("notice.fetch.step_check"),
            say("notice.fetch.step_edit"),
            say("notice.fetch_disabled.step_on"),
        ),
        sent=(now, message_id, language, console_url),
    )


def fetch_paused(
    account: PopAccount,
    error: str | Words,
    now: dt.datetime,
    message_id: str,
    *,
    language: str = "en",
    console_url: str | None = None,
) -> bytes:
    """The account's sign-in stopped working: automatic fetching waits for a new sign-in."""
    return _fetch_notice(
        subject=say("notice.fetch_paused.subject", who=_who(account)),
        tone="warn",
        lead=say("notice.fetch_paused.lead", account=_account(account), when=when(now, language)),
        error=(say("notice.reason"), error),
        middle=(Para(say("notice.fetch.nothing_lost")),),
        steps=(say("notice.fetch_paused.step"),),
        sent=(now, message_id, language, console_url),
    )


def _size(n: int) -> str:
    return f"{n / 1_048_576:.1f} MB"


def _source(job: MigrationJob) -> Words:
    return say(
        "notice.account",
        who=one_line(job.server.username, 100),
        host=one_line(job.server.host, 253),
    )


def _counts(job: MigrationJob, language: str) -> Facts:
    c = job.counts

    def n(value: int) -> str:
        return say("notice.count", n=value).render(language)

    return Facts(
        (
            (say("notice.migration.imported"), n(c.imported)),
            (say("notice.migration.already_present"), n(c.already_present)),
            (
                say("notice.migration.skipped_oversize", limit=MAX_BYTES // 1_048_576),
                n(c.skipped_oversize),
            ),
            (say("notice.migration.failed"), n(c.failed)),
            (say("notice.migration.folders"), str(_folders(job))),
        )
    )


def _folders(job: MigrationJob) -> int:
    if not job.plan_loaded:
        return job.totals.folders
    return sum(1 for f in job.plan if f.target_id)


def _report(job: MigrationJob, console_url: str | None) -> Block:
    url = console_link(console_url, f"migration/{quote(job.job_id, safe='')}")
    if url is None:
        return Para(say("notice.migration.report_where"))
    return Link(say("notice.migration.report_link"), say("notice.migration.report_open"), url)


def _next(job: MigrationJob, now: dt.datetime, language: str) -> Steps:
    """What a completed job offers: retry what failed, bring in newer mail (only if offered)."""
    done = job.state is JobState.COMPLETED
    steps: list[Words] = []
    if can_retry(done, job.retryable):
        steps.append(say("notice.migration.step_retry", count=job.retryable))
    finished = job.finished_at or now
    until = delta_until(finished)
    if until is not None and can_delta(done, finished, now, job.kind):
        steps.append(say("notice.migration.step_delta", until=when(until, language)))
    return Steps(tuple(steps) or (say("notice.migration.step_none"),))


def _error(job: MigrationJob, language: str) -> str:
    if job.error is None:
        return ""
    return said(job.error.words or job.error.message, language)


def _notice(
    job: MigrationJob, kind: str, now: dt.datetime, language: str, console_url: str | None
) -> Notice:
    source, at = _source(job), when(now, language)
    if kind == "started":
        return Notice(
            say("notice.migration.started.subject", source=source),
            "info",
            (
                Para(
                    say(
                        "notice.migration.started.lead",
                        messages=job.total_messages,
                        size=_size(job.total_bytes),
                        folders=_folders(job),
                        source=source,
                        when=at,
                    )
                ),
                Para(say("notice.migration.started.cutoff", days=DELTA_DAYS)),
                Para(say("notice.migration.started.follow")),
            ),
        )
    if kind.startswith("progress:"):
        percent = one_line(kind.split(":", 1)[1], 5)
        return Notice(
            say("notice.migration.progress.subject", source=source, percent=percent),
            "info",
            (
                Para(
                    say("notice.migration.progress.lead", source=source, percent=percent, when=at)
                ),
                _counts(job, language),
            ),
        )
    if kind == "completed":
        c = job.counts
        blocks: list[Block] = [
            Para(say("notice.migration.completed.lead", source=source, when=at)),
            _counts(job, language),
        ]
        if c.failed or c.skipped_oversize:
            blocks.append(_report(job, console_url))
        blocks.append(_next(job, now, language))
        return Notice(
            say("notice.migration.completed.subject", source=source),
            "warn" if c.failed else "good",
            tuple(blocks),
        )
    if kind == "rolled_back":
        error = _error(job, language) or say("notice.migration.cancelled").render(language)
        kept: tuple[Block, ...] = ()
        if job.kept_folders:
            kept = (
                Para(say("notice.migration.rolled_back.kept_folders", folders=job.kept_folders)),
            )
        return Notice(
            say("notice.migration.rolled_back.subject", source=source),
            "bad",
            (
                Para(say("notice.migration.rolled_back.lead", source=source, when=at, error=error)),
                Para(say("notice.migration.rolled_back.kept")),
                *kept,
                Steps((say("notice.migration.step_again"),)),
            ),
        )
    if kind.startswith("signin_required"):
        service = signin_service(job.server.provider or OAuthProvider.MICROSOFT)
        return Notice(
            say("notice.migration.signin.subject", source=source, service=service),
            "warn",
            (
                Para(say("notice.migration.signin.lead", source=source, service=service)),
                _counts(job, language),
                Steps((say("notice.migration.signin.step"),)),
            ),
        )
    # rollback_failed
    return Notice(
        say("notice.migration.rollback_failed.subject", source=source),
        "bad",
        (
            Para(
                say(
                    "notice.migration.rollback_failed.lead",
                    source=source,
                    error=_error(job, language),
                )
            ),
            _counts(job, language),
            _report(job, console_url),
            Steps((say("notice.migration.rollback_failed.step"),)),
        ),
    )


def migration_notice(
    job: MigrationJob,
    kind: str,
    now: dt.datetime,
    message_id: str,
    *,
    sender: str = SENDER,
    to: str = "you",
    language: str = "en",
    console_url: str | None = None,
) -> bytes:
    """A migration's start, progress milestone (``"progress:<percent>"``), completion,
    rollback, failed rollback or wait for a sign-in (``"signin_required[:n]"``), with its
    counts, its report and what to do next (``sender``/``to``: for the copy by email;
    ``console_url``: the console's address, for a link to the job's report).
    """
    notice = _notice(job, kind, now, language, console_url)
    return message(notice, language, now, message_id, sender=sender, to=to)
